"""A rebuild replays the files users imported into the previous DB (imports/ beside it):
their actions and schemes survive new official data; a file that no longer imports is
reported, never half-loaded."""
import json

import duckdb
import pytest

from etl.build import build
from etl.config import DEMO_DIR
from etl.importer import apply, archived_imports
from tests.importer_support import action_row, csv_bytes, scheme_row

QUIET = {"progress": lambda *_: None}


def rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture
def built(tmp_path):
    db = tmp_path / "atlas.duckdb"
    build(DEMO_DIR, db, fictional=True, **QUIET)
    return db


def test_rebuild_replays_imports_in_order_with_mapping_and_quarantine(built, tmp_path):
    db = built
    n_demo = rows(db, "SELECT count(*) FROM action")[0][0]
    rep = apply(csv_bytes([scheme_row(id_dispositif="ASV-REPLAY")]), "schemes", db=db, filename="dispositifs.csv",
                offline=True)
    assert rep.applied, rep.summary()
    # An export with other column names, read through a mapping, one row rejected into quarantine.
    other = [{"Identifiant": "R1", "Intitulé": "Atelier rejoué", "Début": "2024", "Thème": "nutrition",
              "Quartier": "QN09601M", "Dispositif": "ASV-REPLAY"},
             {"Identifiant": "R2", "Intitulé": "Ligne refusée", "Début": "2024", "Thème": "Jardinage",
              "Quartier": "QN09601M", "Dispositif": ""}]
    mapping = {"colonnes": {"id_action": "Identifiant", "titre": "Intitulé", "annee_debut": "Début",
                           "thematiques": "Thème", "qpv": "Quartier", "id_dispositif": "Dispositif"}}
    rep = apply(csv_bytes(other), "actions", db=db, filename="export.csv", mapping=mapping, quarantine=True,
                offline=True)
    assert rep.applied and rep.n_inserted == 1 and rep.n_rejected == 1, rep.summary()
    # A later correction of R1 by stable key.
    rep = apply(csv_bytes([action_row(id_action="R1", titre="Atelier rejoué (corrigé)", id_dispositif="ASV-REPLAY")]),
                "actions", db=db, filename="correction.csv", offline=True)
    assert rep.applied and rep.n_updated == 1, rep.summary()
    kept = archived_imports(db.parent / "imports")
    assert [m["file_name"] for _, m in kept] == ["dispositifs.csv", "export.csv", "correction.csv"]
    assert kept[1][1]["quarantine"] is True and kept[1][1]["mapping"]["columns"]["titre"] == ["Intitulé"]

    refs = rows(db, "SELECT file_name, import_ref FROM import_log ORDER BY import_id")
    build(DEMO_DIR, db, fictional=True, **QUIET)               # new official data, same DB path
    # issue 21, item 7: the reference each import was given stays its reference after a rebuild
    assert rows(db, "SELECT file_name, import_ref FROM import_log ORDER BY import_id") == refs
    assert len({r for _, r in refs}) == len(refs) and all(r for _, r in refs)
    assert rows(db, "SELECT count(*) FROM action")[0][0] == n_demo + 1
    assert rows(db, "SELECT title, scheme_id FROM action WHERE action_id = 'R1'") == [
        ("Atelier rejoué (corrigé)", "ASV-REPLAY")]
    assert rows(db, "SELECT count(*) FROM action WHERE action_id = 'R2'")[0][0] == 0
    assert rows(db, "SELECT count(*) FROM scheme WHERE scheme_id = 'ASV-REPLAY'")[0][0] == 1
    log = [r[0] for r in rows(db, "SELECT file_name FROM import_log ORDER BY import_id")]
    assert log[-3:] == ["dispositifs.csv", "export.csv", "correction.csv"]       # after the demo's own files
    assert rows(db, "SELECT count(*) FROM load_issue WHERE kind = 'rejected'")[0][0] == 0

    build(DEMO_DIR, db, fictional=True, replay=False, **QUIET)  # --no-replay: official data only
    assert rows(db, "SELECT count(*) FROM action")[0][0] == n_demo


def test_a_file_that_no_longer_imports_is_reported_not_loaded(built):
    db = built
    rep = apply(csv_bytes([action_row(id_action="GONE")]), "actions", db=db, filename="anciennes.csv", offline=True)
    assert rep.applied
    (path, meta), = archived_imports(db.parent / "imports")
    # The archived file now names a QPV that the new geography does not have.
    path.write_bytes(csv_bytes([action_row(id_action="GONE", qpv="QN09699Z")]))
    build(DEMO_DIR, db, fictional=True, **QUIET)
    assert rows(db, "SELECT count(*) FROM action WHERE action_id = 'GONE'")[0][0] == 0
    (file, reason), = rows(db, "SELECT file, reason FROM load_issue WHERE kind = 'rejected'")
    assert file.endswith(path.name) and "non rejoué" in reason and "qpv" in reason


def test_files_archived_before_the_sidecar_are_replayed_by_their_name(built):
    db = built
    folder = db.parent / "imports"
    folder.mkdir()
    (folder / "20260101-120000_actions_0123abcd_vieux.csv").write_bytes(
        csv_bytes([action_row(id_action="OLD1")]))
    (folder / "notes.txt").write_text("pas un import", encoding="utf-8")
    kept = archived_imports(folder)
    assert [(p.name, m["kind"], m["file_name"], m["mapping"]) for p, m in kept] == [
        ("20260101-120000_actions_0123abcd_vieux.csv", "actions", "vieux.csv", None)]
    build(DEMO_DIR, db, fictional=True, **QUIET)
    assert rows(db, "SELECT count(*) FROM action WHERE action_id = 'OLD1'")[0][0] == 1
    assert json.loads(json.dumps(kept[0][1]))["quarantine"] is False
