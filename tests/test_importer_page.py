"""Importer page (pages/importer.py): admin token, the callbacks that validate and apply a
file (on a copy of the demo DB), server-side pending files, and the formula-safe table
exports shared with the importer (etl/safe_export.py)."""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import sys
import time
import zipfile
from contextvars import copy_context

import openpyxl
import pytest
from dash.exceptions import PreventUpdate

from components import import_pending as pend
from data import access
from tests.importer_support import ACTION_HEADER, action_row, csv_bytes
from tests.layout_utils import find, walk

TOKEN = "jeton-de-test-fictif-0123456789"
HOSTILE_TITLE = "<script>alert(1)</script> Atelier des Licornes"
HOSTILE_VALUE = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://exemple.invalid","clic")'


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory):
    from etl.build import build
    from etl.config import DEMO_DIR

    db = tmp_path_factory.mktemp("imp-demo") / "demo.duckdb"
    build(DEMO_DIR, db, fictional=True, progress=lambda *_: None)
    return db


@pytest.fixture(scope="module")
def page_mod(demo_base):
    previous = access.db_path()
    access.configure(demo_base)
    import app  # noqa: F401  (registers the pages once per process)

    yield sys.modules["pages.importer"]
    access.configure(previous)


@pytest.fixture
def db(demo_base, page_mod, tmp_path, monkeypatch):
    """A writable copy of the demo DB, configured for the app; the admin token is set."""
    path = tmp_path / "atlas.duckdb"
    shutil.copyfile(demo_base, path)
    previous = access.db_path()
    access.configure(path)
    monkeypatch.setenv("ATLAS_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("ATLAS_IMPORT_OFFLINE", "1")
    yield path
    access.configure(previous)


def _run(fn, triggered, *args):
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    def inner():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": p, "value": None} for p in triggered]))
        return fn(*args)
    return copy_context().run(inner)


def _upload(data: bytes, mime: str = "text/csv") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


_walk = walk
_find = find


def _text(node) -> str:
    if node is None:
        return ""
    if isinstance(node, (str, int, float)):
        return str(node)
    if isinstance(node, (list, tuple)):
        return " ".join(_text(c) for c in node)
    return _text(getattr(node, "children", None))


def _table(layout, table_id):
    return _find(layout, {"type": "atlas-table", "table": table_id})


def _two_rows() -> bytes:
    """One valid new action with an HTML title, one row with an unknown (hostile) theme."""
    return csv_bytes([
        action_row(id_action="IMP-T-0001", titre=HOSTILE_TITLE, annee_debut="2024", thematiques="nutrition",
                   qpv="QN09601M", porteur="Association fictive des Licornes"),
        action_row(id_action="IMP-T-0002", titre="Atelier rejeté", annee_debut="2024", thematiques=HOSTILE_VALUE,
                   qpv="QN09601M"),
    ], header=ACTION_HEADER)


def _check(page_mod, data: bytes, kind="actions", token=TOKEN, pending=None, mapping=None, mapping_name=None,
           filename="actions_test.csv"):
    return _run(page_mod.check_file, ["imp-upload.contents"], _upload(data), kind, mapping, None,
                filename, mapping_name, token, pending)


def _stat(path):
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


# --- Token ---------------------------------------------------------------------------------

def test_token_check_and_disabled_page(page_mod, monkeypatch):
    from components import admin
    from components.layout import nav_items

    monkeypatch.delenv("ATLAS_ADMIN_TOKEN", raising=False)
    assert not admin.import_enabled() and not admin.token_ok("n'importe quoi") and not admin.token_ok("")
    assert "/importer" not in [h for h, _ in nav_items()]
    off = page_mod.layout()
    assert "désactivé" in _text(off) and "ATLAS_ADMIN_TOKEN" in _text(off)
    with pytest.raises(KeyError):
        _find(off, "imp-upload")

    monkeypatch.setenv("ATLAS_ADMIN_TOKEN", "  " + TOKEN + "\n")      # surrounding blanks ignored
    assert admin.import_enabled() and ("/importer", "Importer") in nav_items()
    assert admin.token_ok(TOKEN) and admin.token_ok(TOKEN + " ")
    for bad in (TOKEN[:-1], TOKEN + "x", TOKEN.upper(), None, "", "   ", 12345):
        assert not admin.token_ok(bad)
    on = page_mod.layout(type="dispositifs")
    assert _find(on, "imp-kind").value == "schemes"
    upload = _find(on, "imp-upload")
    assert upload.max_size == page_mod.importer.spec.MAX_FILE_MB * 1024 * 1024
    assert f"Taille maximale : {page_mod.importer.spec.MAX_FILE_MB} Mo" in _text(_find(on, "imp-limit"))
    assert _find(on, "imp-steps").hidden is True                      # shown once the token is accepted
    status, hidden = page_mod.unlock(1, None, "mauvais")
    assert hidden is True and "incorrect" in _text(status)
    status, hidden = page_mod.unlock(1, None, TOKEN)
    assert hidden is False and "accepté" in _text(status)


# --- Validation ------------------------------------------------------------------------------

def test_validate_keeps_bytes_server_side_and_reports_as_text(page_mod, db):
    before = _stat(db)
    data = _two_rows()
    report, pending, contents, result, _ = _check(page_mod, data)
    assert contents is None and result is None                       # the bytes leave the browser
    assert set(pending) >= {"id", "sha256", "n_errors", "n_valid"}
    assert len(json.dumps(pending)) < 1000 and base64.b64encode(data).decode()[:40] not in json.dumps(pending)
    folder = pend.pending_dir(pending["id"])
    assert folder.parent == db.parent / "imports" / "pending"
    assert (folder / "data").read_bytes() == data
    assert json.loads((folder / "meta.json").read_text())["kind"] == "actions"
    assert pending["n_rows"] == 2 and pending["n_valid"] == 1 and pending["n_errors"] == 1
    assert pending["n_inserted"] == 1 and not pending["fatal"]

    assert "1 erreur(s) dans 1 ligne(s) sur 2" in _text(_find(report, "imp-report-status"))
    assert _text(_find(report, "imp-n-valid")).startswith("1")
    rows = _table(report, "imp-problems").data
    bad = [r for r in rows if r["gravite"] == "erreur"]
    assert len(bad) == 1 and bad[0]["ligne"] == 3 and bad[0]["colonne"] == "thematiques"
    assert HOSTILE_VALUE in bad[0]["valeur"] and "thématique inconnue" in bad[0]["motif"].lower()
    cols = _table(report, "imp-problems").columns
    assert all(c.get("presentation") != "markdown" for c in cols)       # shown as text, never as HTML
    assert _stat(db) == before                                          # validation writes nothing

    disabled, hint = page_mod.confirm_hint(pending, "all")
    assert disabled and "tout ou rien" in hint.lower()
    disabled, hint = page_mod.confirm_hint(pending, "quarantine")
    assert not disabled and "1 nouvelle(s)" in hint and "quarantaine" in hint


def test_apply_through_single_writer_path_and_new_action_is_visible(page_mod, db):
    _, pending, _, _, _ = _check(page_mod, _two_rows())
    assert access.action_record("IMP-T-0001") is None
    before = _stat(db)
    result, new_pending, report = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, pending,
                                       "quarantine")
    assert new_pending is None and report is None
    assert "Import effectué" in _text(result)
    assert _text(_find(result, "imp-done-inserted")).startswith("1")
    assert _text(_find(result, "imp-done-rejected")).startswith("1")
    assert _find(result, "imp-link-actions").href == "/actions"
    assert _find(result, "imp-link-couverture").href == "/couverture"
    # The file was replaced (os.replace of an updated copy), under the writer lock, no copy left behind.
    assert _stat(db)[0] != before[0]
    assert (db.parent / (db.name + ".lock")).exists()
    assert not list(db.parent.glob(f".{db.name}.import-*"))
    assert not pend.pending_dir(pending["id"]).exists()           # pending file cleaned up
    assert list((db.parent / "imports").glob("*_actions_*_actions_test.csv"))   # archived for replay
    # The app's read-only access sees the new action at its next query, title as given.
    rec = access.action_record("IMP-T-0001")
    assert rec is not None and rec["title"] == HOSTILE_TITLE
    acts = access.actions(porteurs=["Association fictive des Licornes"])
    assert list(acts.action_id) == ["IMP-T-0001"]
    assert access.action_record("IMP-T-0002") is None                 # rejected row: quarantined only
    log = access.import_log()
    assert log.iloc[-1]["mode"] == "quarantine" and int(log.iloc[-1]["n_inserted"]) == 1

    # The same file again changes nothing.
    _, pending2, _, _, _ = _check(page_mod, _two_rows())
    assert pending2["n_inserted"] == 0 and pending2["n_unchanged"] == 1
    result2, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, pending2, "quarantine")
    assert _text(_find(result2, "imp-done-unchanged")).startswith("1")
    assert len(access.actions(porteurs=["Association fictive des Licornes"])) == 1


def test_all_or_nothing_refuses_even_a_forged_confirmation(page_mod, db):
    _, pending, _, _, _ = _check(page_mod, _two_rows())
    before = _stat(db)
    result, new_pending, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, pending, "all")
    assert "Import refusé" in _text(result) and "pas été modifiée" in _text(result)
    assert new_pending is page_mod.no_update                           # the file can still be imported
    assert _stat(db) == before
    assert access.action_record("IMP-T-0001") is None


def test_wrong_token_is_refused_by_every_callback(page_mod, db):
    before = _stat(db)
    report, pending, contents, _, _ = _check(page_mod, _two_rows(), token="mauvais-jeton")
    assert pending is None and contents is None and "incorrect" in _text(report)
    assert not (db.parent / "imports" / "pending").exists() or not any((db.parent / "imports" / "pending").iterdir())
    _, good, _, _, _ = _check(page_mod, _two_rows())
    result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, "mauvais-jeton", good, "quarantine")
    assert "incorrect" in _text(result)
    result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, None, good, "quarantine")
    assert "incorrect" in _text(result)
    assert _stat(db) == before
    # A forged pending id cannot reach outside the pending folder.
    result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN,
                        {**good, "id": "../../atlas.duckdb"}, "quarantine")
    assert "Aucun fichier vérifié" in _text(result)
    result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, "pas un dict", "quarantine")
    assert "Aucun fichier vérifié" in _text(result)
    assert _stat(db) == before


def test_long_report_is_truncated_on_screen_and_downloadable_in_full(page_mod, db, monkeypatch):
    monkeypatch.setattr(page_mod, "MAX_SHOWN", 3)
    rows = [action_row(id_action=f"IMP-T-1{i:03d}", thematiques="inconnue") for i in range(5)]
    report, pending, _, _, _ = _check(page_mod, csv_bytes(rows, header=ACTION_HEADER))
    assert len(_table(report, "imp-problems").data) == 3
    assert "Seuls les 3 premiers" in _text(report) and _find(report, "imp-full-report")
    sent = _run(page_mod.download_full_report, ["imp-full-report.n_clicks"], 1, TOKEN, pending)
    text = base64.b64decode(sent["content"]).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == ["gravite", "ligne", "colonne", "valeur", "motif"] and len(lines) == 6
    assert sent["filename"] == "rapport-import-actions_test.csv"
    with pytest.raises(PreventUpdate):   # nothing without the token
        _run(page_mod.download_full_report, ["imp-full-report.n_clicks"], 1, "mauvais", pending)


def test_too_big_file_is_refused_and_not_stored(page_mod, db, monkeypatch):
    monkeypatch.setattr(page_mod.importer.spec, "MAX_FILE_MB", 1)
    big = csv_bytes([action_row(id_action="IMP-T-BIG", description="x" * 1_200_000)], header=ACTION_HEADER)
    report, pending, contents, _, _ = _check(page_mod, big)
    assert contents is None and pending["fatal"] and pending["id"] is None
    assert "trop volumineux" in _text(report) and "1 Mo" in _text(report)
    assert not (db.parent / "imports" / "pending").exists() or not any((db.parent / "imports" / "pending").iterdir())
    assert page_mod.confirm_hint(pending, "quarantine")[0] is True


def test_mapping_file_and_kind_change_revalidate_the_pending_file(page_mod, db):
    from etl import importer

    export = io.StringIO(newline="")
    w = csv.writer(export, delimiter=",")
    w.writerow(importer.EXAMPLE_EXPORT_HEADER)
    w.writerows(importer.EXAMPLE_EXPORT_ROWS)
    data = export.getvalue().encode("utf-8")
    # Without the mapping: refused (no template header), but the file stays pending.
    report, pending, _, _, _ = _check(page_mod, data, filename="export_oscars.csv")
    assert pending["fatal"] and pending["id"] and "en-tête introuvable" in _text(report)
    # With the mapping (the upload of the mapping re-checks the pending file).
    mapping = _upload(importer.EXAMPLE_MAPPING.encode("utf-8"), "text/plain")
    report, pending, _, _, status = _run(page_mod.check_file, ["imp-mapping.contents"], None, "actions", mapping,
                                         None, None, "correspondance.toml", TOKEN, pending)
    assert not pending["fatal"] and pending["n_rows"] == 3 and pending["mapping"] == "correspondance.toml"
    assert "correspondance.toml" in _text(status)
    assert pend.pending_mapping(pending["id"], TOKEN)[1] == "correspondance.toml"
    assert pend.pending_mapping(pending["id"], TOKEN + "x") is None           # bound to the token
    # A broken mapping names the file and blocks the confirmation.
    broken = _upload(b"[colonnes]\nid_inconnu = \"N\"\n", "text/plain")
    report, kept, _, _, status = _run(page_mod.check_file, ["imp-mapping.contents"], None, "actions", broken,
                                      None, None, "ma_correspondance.toml", TOKEN, pending)
    assert "ma_correspondance.toml" in _text(status) and "id_inconnu" in _text(status)
    assert kept["fatal"] and kept["id"] == pending["id"]


def test_changing_the_type_rechecks_the_pending_file(page_mod, db):
    _, pending, _, _, _ = _check(page_mod, _two_rows())
    report, as_schemes, _, _, _ = _run(page_mod.check_file, ["imp-kind.value"], None, "schemes", None, None,
                                       None, None, TOKEN, pending)
    assert as_schemes["fatal"] and as_schemes["id"] == pending["id"]
    assert "ressemble à un fichier d'actions" in _text(report)
    assert page_mod.confirm_hint(as_schemes, "quarantine")[0] is True
    _, back, _, _, _ = _run(page_mod.check_file, ["imp-kind.value"], None, "actions", None, None, None, None,
                            TOKEN, as_schemes)
    assert not back["fatal"] and back["n_valid"] == 1 and back["id"] == pending["id"]


# --- Pending folder -----------------------------------------------------------------------

def test_pending_ids_are_checked_and_old_files_swept(page_mod, db):
    for bad in (None, "", "../x", "a" * 10, "../../etc/passwd" + "a" * 20, {"x": 1}):
        assert pend.pending_dir(bad) is None and pend.read_pending(bad, TOKEN) is None
    pid = pend.save_pending(b"id_action;titre\n", "../../evil\x00 name\x1b.csv", TOKEN)
    data, meta = pend.read_pending(pid, TOKEN)
    assert data == b"id_action;titre\n" and meta["file_name"] == "evil name.csv"
    assert TOKEN not in json.dumps(meta)                                 # a keyed digest, never the token
    old = pend.pending_dir(pid)
    past = time.time() - pend.PENDING_TTL - 60
    os.utime(old, (past, past))
    fresh = pend.save_pending(b"x", "y.csv", TOKEN)                      # saving sweeps the old ones
    assert not old.exists() and pend.pending_dir(fresh).exists()
    pend.drop_pending(fresh, TOKEN)
    assert not pend.pending_dir(fresh).exists()
    with pytest.raises(PermissionError):
        pend.save_pending(b"x", "y.csv", "mauvais jeton")


def test_a_pending_upload_is_bound_to_the_token_that_sent_it(page_mod, db, monkeypatch):
    """Issue 21, item 6: a re-check without the token, with someone's pending id, neither uses nor
    deletes their file; nor does a later admin token (rotated)."""
    _, pending, _, _, _ = _check(page_mod, _two_rows())
    folder = pend.pending_dir(pending["id"])
    for token in (None, "", "devine", TOKEN + "x"):
        report, kept, _, _, _ = _run(page_mod.check_file, ["imp-recheck.n_clicks"], None, "actions", None, 1,
                                     None, None, token, pending)
        assert "jeton" in _text(report).lower() and folder.is_dir()
        result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, token, pending, "quarantine")
        assert "jeton" in _text(result).lower() and folder.is_dir()
    assert pend.read_pending(pending["id"], "devine") is None
    pend.drop_pending(pending["id"], "devine")
    assert folder.is_dir()
    # the admin token changed: the file uploaded under the old one is not usable
    monkeypatch.setenv("ATLAS_ADMIN_TOKEN", TOKEN + "-nouveau")
    result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN + "-nouveau", pending,
                        "quarantine")
    assert "Aucun fichier vérifié" in _text(result) and access.action_record("IMP-T-0001") is None


def test_a_nul_byte_in_the_file_name_never_turns_an_import_into_an_error(page_mod, db):
    """Issue 21, item 2: the name is made harmless before any use; once applied, the user reads
    "Import effectué", with the counts the written report gives."""
    name = "actions\x00\x07/..\\évil\n.csv"
    _, pending, _, _, _ = _check(page_mod, _two_rows(), filename=name)
    assert pending["file_name"] == "évil.csv"
    result, new_pending, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, pending,
                                  "quarantine")
    text = _text(result)
    assert "Import effectué" in text and new_pending is None
    assert access.action_record("IMP-T-0001") is not None
    reports = sorted((db.parent / "imports" / "rapports").glob("*.html"))
    assert reports and "évil.csv" in reports[-1].read_text(encoding="utf-8")
    assert "Import effectué (référence" in reports[-1].read_text(encoding="utf-8")


def test_the_acknowledgement_survives_a_failure_after_the_swap(page_mod, db, monkeypatch):
    """Nothing after importer.apply can make an applied import read as "not imported"."""
    from etl.importer.report import ImportReport

    def broken(*_a, **_k):
        raise ValueError("embedded null byte")
    monkeypatch.setattr(ImportReport, "write", broken)
    monkeypatch.setattr(page_mod, "result_view", broken)
    _, pending, _, _, _ = _check(page_mod, _two_rows())
    result, new_pending, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, pending,
                                  "quarantine")
    assert "Import effectué (référence" in _text(result) and new_pending is None
    assert access.action_record("IMP-T-0001") is not None


def test_kind_goes_to_the_url_and_templates_download(page_mod):
    assert page_mod.kind_to_url("schemes") == "?type=dispositifs"
    assert page_mod.kind_to_url("actions") == ""
    sent = _run(page_mod.download_template, ["imp-template-xlsx.n_clicks"], 0, 1, "schemes")
    assert sent["filename"] == "modele_dispositifs.xlsx"
    ws = openpyxl.load_workbook(io.BytesIO(base64.b64decode(sent["content"]))).active
    assert ws["A1"].value == "id_dispositif"
    sent = _run(page_mod.download_template, ["imp-template-csv.n_clicks"], 1, 0, "actions")
    assert sent["filename"] == "modele_actions.csv"
    head = base64.b64decode(sent["content"]).decode("utf-8-sig").splitlines()[0]
    assert head.split(";") == ACTION_HEADER


# --- Formula-safe table exports (one implementation with the importer) ----------------------

def test_table_exports_never_write_a_live_formula():
    from components import tables
    from etl import importer, safe_export

    assert tables.safe_cell is importer.safe_cell is safe_export.safe_cell
    rows = [{"titre": FORMULA, "valeur": 12.5, "porteur": HOSTILE_VALUE},
            {"titre": "-2", "valeur": None, "porteur": "@SUM(A1:A2)"}]
    columns = [{"name": "Titre", "id": "titre"}, {"name": "Valeur", "id": "valeur"},
               {"name": "Porteur", "id": "porteur"}]

    sent = tables.export_csv(1, rows, columns, "essai", [["Titre", FORMULA]])
    raw = base64.b64decode(sent["content"]) if sent.get("base64") else sent["content"].encode()
    assert sent["filename"] == "essai.csv" and raw.startswith(b"\xef\xbb\xbf")
    every = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    blank = every.index([])                                            # provenance lines, then the table
    assert ["Titre", "'" + FORMULA] in every[:blank]                  # provenance text is neutralised too
    cells = every[blank + 1:]
    assert cells[0] == ["Titre", "Valeur", "Porteur"]
    assert cells[1] == ["'" + FORMULA, "12,5", HOSTILE_VALUE]          # apostrophe: text in any spreadsheet
    assert cells[2] == ["-2", "", "'@SUM(A1:A2)"]                      # a plain number stays a number

    sent = tables.export_xlsx(1, rows, columns, "essai", [["Titre", FORMULA]])
    raw = base64.b64decode(sent["content"])
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    ws = openpyxl.load_workbook(io.BytesIO(raw)).active
    top = next(r for r in range(1, 5) if ws.cell(r, 1).value == "Titre")  # under the fictional-data line, if any
    assert top == 1 or "fictives" in str(ws.cell(1, 1).value)
    first, second = ws[f"A{top + 1}"], ws[f"B{top + 1}"]
    assert first.value == FORMULA and first.data_type == "s"          # typed text, exactly as given
    assert second.value == 12.5 and ws[f"B{top + 2}"].value is None and ws[f"C{top + 2}"].value == "@SUM(A1:A2)"


def test_the_page_asks_where_the_registry_is_complete(page_mod, db):
    report, pending, _, _, _ = _check(page_mod, _two_rows())
    default = _text(_find(report, "imp-coverage-default"))
    assert "par défaut, les communes que nomme le fichier" in default and "non recensées" in default
    assert any(o["value"].startswith("departement:") for o in page_mod.coverage_options())
    result, _, _ = _run(page_mod.confirm_import, ["imp-confirm.n_clicks"], 1, TOKEN, pending, "quarantine",
                        ["departement:96"])
    assert "Import effectué" in _text(result)
    assert "(déclaré)" in _text(_find(result, "imp-result-coverage"))
    from data import access as data_access

    assert data_access.registry_state("actions", ("departement", "96")) == "complete"
