"""Builds and imports form one serialized history (etl.importer.archive, etl.dbswap): an import
acknowledged to the user is never lost, whatever a concurrent build does and wherever a
writer is killed; what dead writers leave behind is removed by the next writer."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl.importer import archive
from etl.build import build
from etl.config import DEMO_DIR, REPO_ROOT
from etl.dbswap import remove_leftovers
from etl.importer import apply, archived_imports, recover_archive
from tests.importer_support import action_row, csv_bytes, rows_of_db

QUIET = {"progress": lambda *_: None}
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def action_ids(db: Path) -> set[str]:
    return {r[0] for r in rows_of_db(db, "SELECT action_id FROM action")}


def leftovers(db: Path) -> list[str]:
    names = [p.name for p in db.parent.iterdir() if p.name.startswith(f".{db.name}.")]
    folder = archive.archive_dir(db)
    if folder.is_dir():
        names += [p.name for p in folder.iterdir() if p.name.startswith(archive.PENDING_PREFIX)]
    return sorted(names)


def etl(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", "--db", str(db), *args], cwd=REPO_ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def demo_db(tmp_path):
    db = tmp_path / "atlas.duckdb"
    build(DEMO_DIR, db, fictional=True, **QUIET)
    return db


def test_imports_at_random_moments_of_builds_are_never_lost(demo_db):
    db = demo_db
    rng = random.Random(20261202)
    acknowledged: list[str] = []
    for rnd in range(6):
        builder = etl(db, "build", "--demo")
        time.sleep(rng.uniform(0.0, 3.5))          # anywhere in the build, replay and rename included
        for j in range(rng.randint(1, 2)):
            aid = f"RACE-{rnd}-{j}"
            rep = apply(csv_bytes([action_row(id_action=aid, titre=f"Atelier {aid}")]), "actions", db=db,
                        filename=f"{aid}.csv", offline=True, lock_timeout=300)
            assert rep.applied, rep.summary()
            acknowledged.append(aid)
        out, _ = builder.communicate(timeout=300)
        assert builder.returncode == 0, out
        missing = set(acknowledged) - action_ids(db)
        assert not missing, f"round {rnd}: acknowledged imports lost by the build: {sorted(missing)}"
    build(DEMO_DIR, db, fictional=True, **QUIET)
    assert set(acknowledged) <= action_ids(db)
    assert leftovers(db) == []


def test_kill_9_anywhere_leaves_the_old_or_the_new_db_and_no_leftovers_after_the_next_write(demo_db, tmp_path):
    db = demo_db
    rng = random.Random(7)
    acknowledged: set[str] = set()
    for i in range(8):
        before = action_ids(db)
        aid = f"KILL-{i}"
        if i % 2 == 0:
            src = tmp_path / f"{aid}.csv"
            src.write_bytes(csv_bytes([action_row(id_action=aid, titre=f"Atelier {aid}")]))
            proc = etl(db, "import", "actions", str(src), "--offline")
        else:
            proc = etl(db, "build", "--demo")
        time.sleep(rng.uniform(0.3, 3.0))
        proc.kill()
        out, _ = proc.communicate(timeout=60)
        after = action_ids(db)                       # the DB opens: old file or new file, never half of one
        if i % 2 == 0:
            assert after in (before, before | {aid}), sorted(after ^ before)
            if "Import effectué" in out:
                acknowledged.add(aid)
        assert acknowledged <= after, f"lost: {sorted(acknowledged - after)}"
    rep = apply(csv_bytes([action_row(id_action="AFTER")]), "actions", db=db, filename="after.csv", offline=True)
    assert rep.applied
    assert leftovers(db) == []
    build(DEMO_DIR, db, fictional=True, **QUIET)
    assert acknowledged | {"AFTER"} <= action_ids(db)
    assert leftovers(db) == []


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_writer_killed_between_the_db_rename_and_the_archive_is_settled_by_the_next_one(demo_db):
    db = demo_db
    rep = apply(csv_bytes([action_row(id_action="DONE")]), "actions", db=db, filename="done.csv", offline=True)
    assert rep.applied
    (path, meta), = archived_imports(archive.archive_dir(db))
    dead = _dead_pid()
    # As if the writer had died after renaming the DB (its import is in import_log) ...
    tag = f"{archive.PENDING_PREFIX}{dead}-"
    os.replace(path, path.with_name(tag + path.name))
    os.replace(path.with_name(path.name + archive.META_SUFFIX), path.with_name(tag + path.name + archive.META_SUFFIX))
    # ... and another one before (its import never reached the DB).
    ghost = path.with_name(f"{tag}20990101-000000-000000_actions_deadbeef_ghost.csv")
    ghost.write_bytes(csv_bytes([action_row(id_action="GHOST")]))
    ghost.with_name(ghost.name + archive.META_SUFFIX).write_text(json.dumps(
        {"kind": "actions", "file_name": "ghost.csv", "import_id": 999, "sha256": "0" * 64, "keys": ["GHOST"]}),
        encoding="utf-8")
    # Dead writers' copies and build files.
    for name in (f".{db.name}.import-{dead}", f".{db.name}.building-{dead}", f".{db.name}.building-{dead}.wal"):
        (db.parent / name).write_bytes(b"partial")
    live = db.parent / f".{db.name}.building-{os.getpid()}"
    live.write_bytes(b"a build of a live process")

    done = recover_archive(db)
    assert len(done) == 2 and any("archivé" in d for d in done) and any("abandonné" in d for d in done)
    assert [p.name for p, _ in archived_imports(archive.archive_dir(db))] == [path.name]
    assert sorted(p.name for p in remove_leftovers(db)) == sorted(
        [f".{db.name}.import-{dead}", f".{db.name}.building-{dead}", f".{db.name}.building-{dead}.wal"])
    assert live.exists()
    live.unlink()
    build(DEMO_DIR, db, fictional=True, **QUIET)
    assert "DONE" in action_ids(db) and "GHOST" not in action_ids(db)


def test_replay_takes_each_key_from_its_latest_file_and_sets_superseded_files_aside(demo_db):
    db = demo_db
    for n, titles in enumerate([("v1", "v1"), ("v2", "v2"), ("v3", None)]):
        rows = [action_row(id_action="K1", titre=f"K1 {titles[0]}")]
        if titles[1]:
            rows.append(action_row(id_action="K2", titre=f"K2 {titles[1]}"))
        assert apply(csv_bytes(rows), "actions", db=db, filename=f"lot{n}.csv", offline=True).applied
    # A quarantined row never imported: kept from the last file that held it.
    bad = [action_row(id_action="K3", titre="sans thème", thematiques="Jardinage")]
    rep = apply(csv_bytes(bad + [action_row(id_action="K4")]), "actions", db=db, filename="lot3.csv",
                offline=True, quarantine=True)
    assert rep.applied and rep.n_rejected == 1
    folder = archive.archive_dir(db)
    first = archived_imports(folder)[0][0].name
    messages: list[str] = []
    build(DEMO_DIR, db, fictional=True, progress=messages.append)
    assert rows_of_db(db, "SELECT action_id, title FROM action WHERE action_id IN ('K1', 'K2') ORDER BY 1") == [
        ("K1", "K1 v3"), ("K2", "K2 v2")]
    assert [m["file_name"] for _, m in archived_imports(folder)] == ["lot1.csv", "lot2.csv", "lot3.csv"]
    assert (folder / archive.SUPERSEDED_DIR / first).is_file()
    assert any("lot0.csv" in m and "remplacé" in m for m in messages)
    log = rows_of_db(db, "SELECT file_name, n_rows FROM import_log WHERE file_name LIKE 'lot%' ORDER BY import_id")
    assert log == [("lot1.csv", 1), ("lot2.csv", 1), ("lot3.csv", 2)]     # lot1: K2 only, K1 is in lot2
    assert rows_of_db(db, "SELECT count(*) FROM import_quarantine q JOIN import_log l USING (import_id) "
                          "WHERE l.file_name = 'lot3.csv'") == [(1,)]
    build(DEMO_DIR, db, fictional=True, **QUIET)                     # stable: the same state again
    assert rows_of_db(db, "SELECT action_id, title FROM action WHERE action_id IN ('K1', 'K2') ORDER BY 1") == [
        ("K1", "K1 v3"), ("K2", "K2 v2")]
