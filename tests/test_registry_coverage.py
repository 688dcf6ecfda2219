"""Unknown is never none: each import of schemes or actions says the territory where its registry is
complete (declared, or by default the communes its rows name), the build folder's files say it in a
`<stem>.territoire.txt` sidecar, a rebuild replays it; the data layer tells known from unknown.
Fictional territory of tests/importer_support.py (communes 96003, 96009, 96015)."""
from __future__ import annotations

import duckdb
import pytest

from etl.__main__ import main as etl_main
from etl.build import build
from etl.config import DEMO_DIR
from etl.importer import apply, archived_imports, validate
from etl.importer.coverage import parse_coverage
from tests.importer_support import action_row, copy_db, csv_bytes, make_territory_db, scheme_row

QUIET = {"progress": lambda *_: None}


def rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    return make_territory_db(tmp_path_factory.mktemp("coverage") / "base.duckdb")


@pytest.fixture
def db(base_db, tmp_path):
    return copy_db(base_db, tmp_path / "atlas.duckdb")


def test_parse_coverage():
    assert parse_coverage("departement:96, commune:96003") == [("departement", "96"), ("commune", "96003")]
    assert parse_coverage(["# comment", "region:99", "", "region:99"]) == [("region", "99")]
    for bad in ("96003", "quartier:QN09601M", "commune:", "departement 96"):
        with pytest.raises(ValueError, match="niveau:code"):
            parse_coverage(bad)


def test_default_coverage_is_the_communes_the_file_names(db):
    rep = apply(csv_bytes([action_row(id_action="A1", qpv="QN09601M"),
                           action_row(id_action="A2", qpv="", commune="96009")]), "actions", db=db,
                filename="a.csv", offline=True)
    assert rep.applied and not rep.coverage_declared
    assert rep.coverage == [["commune", "96003"], ["commune", "96009"]]          # QN09601M lies in 96003
    assert "Bourg-Fictif (96003)" in rep.coverage_text and "par défaut" in rep.summary()
    assert rows(db, "SELECT kind, level, code, declared FROM registry_coverage ORDER BY code") == [
        ("actions", "commune", "96003", False), ("actions", "commune", "96009", False)]


def test_declared_coverage_is_checked_and_kept(db):
    rep = apply(csv_bytes([scheme_row()]), "schemes", db=db, filename="d.csv", offline=True,
                coverage="departement:96")
    assert rep.applied and rep.coverage_declared and rep.coverage == [["departement", "96"]]
    assert rows(db, "SELECT kind, level, code, declared FROM registry_coverage") == [
        ("schemes", "departement", "96", True)]
    (_, meta), = archived_imports(db.parent / "imports")
    assert meta["coverage"] == [["departement", "96"]] and meta["coverage_declared"] is True
    # an unknown territory is refused before anything is written
    before = rows(db, "SELECT count(*) FROM import_log")
    bad = validate(csv_bytes([scheme_row(id_dispositif="X2")]), "schemes", db=db, filename="x.csv",
                   offline=True, coverage="departement:13")
    assert bad.fatal and "territoire inconnu" in bad.problems[0].reason
    assert rows(db, "SELECT count(*) FROM import_log") == before


def test_cli_territoire_option_and_its_error(db, tmp_path, capsys):
    f = tmp_path / "actions.csv"
    f.write_bytes(csv_bytes([action_row()]))
    assert etl_main(["import", "actions", str(f), "--db", str(db), "--offline", "--territoire",
                     "commune:96003,commune:96015", "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "Territoire où le registre est complet (déclaré) : commune Bourg-Fictif (96003) ; commune " \
           "Licorneville (96015)" in out
    assert etl_main(["import", "actions", str(f), "--db", str(db), "--offline", "--territoire", "canton:12",
                     "--report", str(tmp_path / "r")]) == 2
    assert "niveau:code" in capsys.readouterr().out


def test_data_layer_knows_where_registries_are_complete(db):
    from data import access

    apply(csv_bytes([action_row()]), "actions", db=db, filename="a.csv", offline=True, coverage="commune:96003")
    previous = access.db_path()
    access.configure(db)
    try:
        known = access.qpv_registry_known("actions")
        assert known == {"QN09601M": True, "QN09602I": True, "QN09605I": False}
        assert access.registry_state("actions") == "partial"
        assert access.registry_state("actions", ("commune", "96003")) == "complete"
        assert access.registry_state("schemes") == "absent" and not access.registry_loaded("schemes")
        assert access.territory_registry_known("actions", "commune", "96009") is False
    finally:
        access.configure(previous)


def test_build_folder_sidecar_and_replay_keep_the_coverage(tmp_path):
    db = tmp_path / "atlas.duckdb"
    build(DEMO_DIR, db, fictional=True, **QUIET)
    # the demo declares its schemes registry complete on départements 96 and 99 only
    assert sorted(rows(db, "SELECT kind, level, code FROM registry_coverage")) == [
        ("actions", "region", "99"), ("schemes", "departement", "96"), ("schemes", "departement", "99")]
    cats = dict(rows(db, "SELECT code, departement FROM territory WHERE level = 'qpv' AND generation = '2024'"))
    assert any(d == "98" for d in cats.values())
    rep = apply(csv_bytes([scheme_row(id_dispositif="CLS-98", type="CLS", nom="CLS fictif du 98",
                                      communes="98019", qpv="")]), "schemes", db=db, filename="cls98.csv",
                offline=True, coverage="departement:98")
    assert rep.applied, rep.summary()
    build(DEMO_DIR, db, fictional=True, **QUIET)            # new official data: the import is replayed
    assert ("schemes", "departement", "98") in rows(db, "SELECT kind, level, code FROM registry_coverage")
    # superseded by a later file of the same keys: its territory still counts after compaction
    apply(csv_bytes([scheme_row(id_dispositif="CLS-98", type="CLS", nom="CLS fictif du 98 (corrigé)",
                                communes="98019", qpv="")]), "schemes", db=db, filename="cls98b.csv", offline=True)
    build(DEMO_DIR, db, fictional=True, **QUIET)
    build(DEMO_DIR, db, fictional=True, **QUIET)
    assert (db.parent / "imports" / "remplaces").is_dir()
    assert ("schemes", "departement", "98") in rows(db, "SELECT kind, level, code FROM registry_coverage")
