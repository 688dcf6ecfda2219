"""Integration: the whole real PACA folder (../shared/data/real) through `build --from`.
Skips cleanly when the shared folder is absent."""
import subprocess
import sys

import duckdb
import pytest


@pytest.fixture(scope="module")
def real_db(real_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("real") / "real.duckdb"
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "build", "--from", str(real_dir)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return db


def test_real_build_counts(real_db):
    con = duckdb.connect(str(real_db), read_only=True)
    q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    assert q("SELECT count(*) FROM territory WHERE level = 'qpv' AND generation = '2024'") == 135
    assert q("SELECT count(*) FROM territory WHERE level = 'commune'") == 946
    assert q("SELECT count(*) FROM territory WHERE level = 'departement'") == 6
    assert q("SELECT count(*) FROM (SELECT qpv_code FROM qpv_commune GROUP BY 1 HAVING count(*) > 1)") >= 4
    assert q("SELECT count(*) FROM gp_zoning WHERE zone = 'ZIP'") == 67
    assert q("SELECT count(*) FROM gp_zoning WHERE zone = 'ZAC'") == 68
    # indicators reach 2024 QPVs through the correspondence, flagged when the perimeter changed
    assert q("SELECT count(DISTINCT code) FROM indicator_value WHERE level = 'qpv' AND code LIKE 'QN%'") > 100
    assert q("SELECT count(*) FROM indicator_value WHERE perimeter = 'perimetre_2015' AND code LIKE 'QN%M'") > 0
    assert q("SELECT count(*) FROM indicator_value WHERE code LIKE 'QN%N'") == 0
    # secret cells are never 0
    assert q("SELECT count(*) FROM indicator_value WHERE status <> 'ok' AND value IS NOT NULL") == 0
    # Filosofi references for communes and France
    assert q("SELECT count(*) FROM indicator_value WHERE level = 'commune' AND indicator_id = 'revenu_median_uc'") > 800
    assert q("SELECT count(*) FROM territory WHERE level = 'france'") == 1
    assert q("SELECT bool_or(fictional) FROM source") is False
    con.close()


def test_real_report_lists_unlinked_and_why(real_db):
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(real_db), "report", "--limit", "5"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    out = r.stdout
    assert "DONNÉES FICTIVES" not in out
    assert "Hors du territoire chargé" in out and "Codes non rattachés" in out
    assert "plusieurs" in out  # a 2024 QPV born from several 2015 QPVs gets no carried figure
