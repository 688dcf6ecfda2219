"""Property: random rows never crash the importer (only its own validation result or
InputError) and never leave a partial import: either the DB file is byte-for-byte
unchanged, or it holds exactly the rows that were reported valid."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from etl.errors import InputError
from etl.importer import Geocoder, apply
from tests.importer_support import (ACTION_HEADER, copy_db, csv_bytes, file_sha, make_territory_db,
                                    rows_of_db, scheme_row)

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25)


def _mix(*choices, text=TEXT):
    return st.one_of(st.sampled_from(list(choices)), text)


ROW = st.fixed_dictionaries({
    "id_action": _mix("A1", "A2", "A3", "A4", "", " A1 "),
    "titre": _mix("Atelier", "=HYPERLINK(\"x\")", "<script>x</script>", ""),
    "description": _mix("", "Ligne 1\nLigne 2"),
    "annee_debut": _mix("2024", "01/09/2021", "44197", "2021-13-01", "1800", "", "2024.0", "=2020+1"),
    "annee_fin": _mix("", "2025", "2020", "abc"),
    "porteur": _mix("", "Mairie de Bourg-Fictif"),
    "thematiques": _mix("nutrition", "Nutrition|SANTE MENTALE", "Jardinage", "", "nutrition,|", "sante_mentale"),
    "publics": _mix("", "femmes", "Martiens", "personnes agees, vieillissement"),
    "qpv": _mix("QN09601M", "QP096001", "QP096009", "QN09699M", "", "QP096999", "qn09605i"),
    "commune": _mix("", "96003", "96009", "9600", "2A004", "96015"),
    "longitude": _mix("", "-6.79", "-6,60", "45.90", "2.35", "-30", "893000", "nan", "inf", "1e308"),
    "latitude": _mix("", "45.90", "45,9", "-6.79", "48.85", "40", "6250000", "-91"),
    "adresse": _mix("", "1 rue Fictive"),
    "id_dispositif": _mix("", "ASV-96-001", "INCONNU"),
    "financeurs": _mix("", "ARS|Ville", "-1+2"),
})


@pytest.fixture(scope="module")
def base_with_scheme(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop")
    db = make_territory_db(folder / "base.duckdb")
    rep = apply(csv_bytes([scheme_row()]), "schemes", db=db, filename="d.csv", offline=True, archive=False)
    assert rep.applied
    return db


def _expected_valid_ids(rows: list[dict], rejected: set[int]) -> set[str]:
    out = set()
    for i, r in enumerate(rows):
        if not any(v.strip() for v in r.values()):
            continue                 # blank rows are skipped, not counted
        if i + 2 not in rejected:    # header on line 1
            out.add(r["id_action"].strip())
    return out


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=0, max_size=8), quarantine=st.booleans(), delimiter=st.sampled_from([";", ","]))
def test_random_rows_never_crash_nor_leave_a_partial_import(base_with_scheme, tmp_path, rows, quarantine, delimiter):
    db = copy_db(base_with_scheme, tmp_path / f"{uuid.uuid4().hex}.duckdb")
    data = csv_bytes(rows, header=ACTION_HEADER, delimiter=delimiter)
    before_sha = file_sha(db)
    before_actions = rows_of_db(db, "SELECT count(*) FROM action")[0][0]
    assert before_actions == 0
    try:
        rep = apply(data, "actions", db=db, filename="hasard.csv", quarantine=quarantine, archive=False,
                    geocoder=Geocoder(offline=True, cache_dir=tmp_path / "ban"))
    except InputError:
        assert file_sha(db) == before_sha
        return
    event("rejected" if not rep.applied else "applied with rejections" if rep.errors else "applied")
    if not rep.applied:
        assert file_sha(db) == before_sha
        assert rep.fatal or rep.errors
        return
    if not quarantine:
        assert rep.ok
    ids = {r[0] for r in rows_of_db(db, "SELECT action_id FROM action")}
    assert ids == _expected_valid_ids(rows, set(rep.rejected_rows))
    assert rep.n_inserted == len(ids)
    quarantined = {r[0] for r in rows_of_db(db, "SELECT DISTINCT row_number FROM import_quarantine")}
    assert quarantined == set(rep.rejected_rows)
    orphans = rows_of_db(db, "SELECT count(*) FROM action_theme WHERE action_id NOT IN (SELECT action_id FROM action)")
    assert orphans == [(0,)]
    # every loaded action has at least one theme and a start year
    assert rows_of_db(db, "SELECT count(*) FROM action WHERE year_start IS NULL OR action_id NOT IN "
                          "(SELECT action_id FROM action_theme)") == [(0,)]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(blob=st.binary(max_size=3000), kind=st.sampled_from(["actions", "schemes"]))
def test_random_bytes_are_rejected_cleanly(base_with_scheme, tmp_path, blob, kind):
    db = copy_db(base_with_scheme, tmp_path / f"{uuid.uuid4().hex}.duckdb")
    before = file_sha(db)
    try:
        rep = apply(blob, kind, db=db, filename="hasard.bin", archive=False, offline=True)
    except InputError:
        rep = None
    assert rep is None or not rep.applied
    assert file_sha(db) == before
