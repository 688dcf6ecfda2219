"""Build orchestration: atomic swap, determinism, CLI, report."""
import shutil
import subprocess
import sys

import duckdb
import pytest

from etl.build import build
from etl.config import DEMO_DIR
from etl.errors import InputError

TABLES_EXCEPT_RUN = ["territory", "qpv_commune", "qpv_correspondence", "gp_zoning", "indicator",
                     "indicator_value", "theme", "public_group", "scheme", "scheme_territory", "action",
                     "action_theme", "action_public", "source", "load_issue"]


def _dump(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in TABLES_EXCEPT_RUN:
            cols = [r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()
                    if r[1] != "GEOMETRY" and r[0] not in ("run_id", "import_id", "retrieved_at")]
            out[t] = con.execute(f"SELECT {', '.join(cols)} FROM {t} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("b") / "a.duckdb"
    build(DEMO_DIR, db, fictional=True, progress=lambda *_: None)
    return db


def test_same_inputs_same_db(demo_db, tmp_path):
    other = tmp_path / "b.duckdb"
    build(DEMO_DIR, other, fictional=True, progress=lambda *_: None)
    assert _dump(demo_db) == _dump(other)


def test_demo_db_is_labelled_fictional(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'fictional'").fetchone()[0] == "true"
    assert con.execute("SELECT bool_and(fictional) FROM source").fetchone()[0] is True
    titles = [r[0] for r in con.execute("SELECT title FROM source").fetchall()]
    assert all("fictives" in t for t in titles)
    con.close()


def test_a_folder_marked_fictional_builds_a_fictional_db(tmp_path):
    """`build --from` a copy of the demo folder (not `--demo`): its marker file still labels the
    DB fictional, so the app shows the demo banner; the marker is what decides."""
    from etl.config import FICTIONAL_MARKER

    folder = tmp_path / "copie"
    shutil.copytree(DEMO_DIR, folder)
    assert (folder / FICTIONAL_MARKER).is_file()
    db = tmp_path / "copie.duckdb"
    run = subprocess.run([sys.executable, "-m", "etl", "build", "--from", str(folder), "--db", str(db),
                          "--no-replay"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'fictional'").fetchone()[0] == "true"
        assert con.execute("SELECT bool_and(fictional) FROM source").fetchone()[0] is True
    finally:
        con.close()


def test_failed_build_leaves_previous_db_untouched(demo_db, tmp_path):
    target = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, target)
    before = target.read_bytes()
    bad = tmp_path / "in"
    shutil.copytree(DEMO_DIR, bad)
    rev = sorted(bad.glob("REVN_*.csv"))[-1]
    # Saved again by Excel in Windows-1252: the official format is UTF-8.
    rev.write_bytes((rev.read_text(encoding="utf-8-sig") + "QP096999;Cité des Chimères\r\n").encode("cp1252", errors="replace"))
    with pytest.raises(InputError) as e:
        build(bad, target, fictional=True, progress=lambda *_: None)
    assert rev.name in str(e.value)
    assert target.read_bytes() == before
    assert not list(tmp_path.glob(".atlas.duckdb.building-*"))


def test_cli_build_error_exit_code_and_report(demo_db, tmp_path):
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "REVN_2022.csv").write_bytes(b"")
    db = tmp_path / "x.duckdb"
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "build", "--from", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "REVN_2022.csv" in r.stderr and "n'a pas été modifiée" in r.stderr
    assert not db.exists()
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(demo_db), "report"], capture_output=True, text=True)
    assert r.returncode == 0
    assert "DONNÉES FICTIVES" in r.stdout and "Sources" in r.stdout and "QPV 2024" in r.stdout
