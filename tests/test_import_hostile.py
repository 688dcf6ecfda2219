"""Hostile import files (issue 10): budgets enforced while streaming, mixed encodings, broken or
DTD-carrying XLSX, a huge cell, a full disk. Each gets a clear message naming where, exit code 2,
and leaves the DB as it was."""
from __future__ import annotations

import errno
import io
import shutil
import subprocess
import sys
import zipfile

import openpyxl
import pytest

from etl.config import REPO_ROOT
from etl.errors import InputError
from etl.importer import apply, spec, validate
from tests.importer_support import (ACTION_HEADER, action_row, copy_db, csv_bytes, file_sha, make_territory_db)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    return make_territory_db(tmp_path_factory.mktemp("hostile") / "base.duckdb")


@pytest.fixture
def db(base_db, tmp_path):
    return copy_db(base_db, tmp_path / "atlas.duckdb")


def xlsx(rows: list[list], sheet_xml: callable | None = None) -> bytes:
    """A workbook with the given rows; `sheet_xml(xml) -> xml` rewrites its sheet afterwards."""
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    if sheet_xml is None:
        return buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml(data.decode("utf-8")).encode("utf-8")
            z.writestr(info.filename, data)
    return out.getvalue()


def action_cells(**kw) -> list:
    row = action_row(**kw)
    return [row[h] for h in ACTION_HEADER]


def empty_rows_after(n: int):
    """Thousands of empty formatted rows after the data, as a spreadsheet that once held them writes."""
    def rewrite(xml: str) -> str:
        rows = "".join(f'<row r="{i}">' + "".join(f'<c r="{c}{i}" s="1"/>' for c in "ABCDEFGHIJKLMNO") + "</row>"
                       for i in range(3, 3 + n))
        return xml.replace("</sheetData>", rows + "</sheetData>")
    return rewrite


def fatal_reason(report) -> str:
    assert report.fatal, report.summary()
    return str(report.problems[0])


def test_an_xlsx_of_empty_rows_stops_within_its_time_budget_with_a_message(db, monkeypatch):
    data = xlsx([ACTION_HEADER, action_cells()], empty_rows_after(30_000))
    assert len(data) < 1_000_000
    monkeypatch.setattr(spec, "MAX_READ_SECONDS", 0.0)       # every check after the first rows is late
    reason = fatal_reason(validate(data, "actions", db=db, filename="vides.xlsx"))
    assert "lecture trop longue" in reason and "lignes vides" in reason and "ligne " in reason
    monkeypatch.setattr(spec, "MAX_READ_SECONDS", 60.0)
    monkeypatch.setattr(spec, "MAX_CELLS", 50_000)
    reason = fatal_reason(validate(data, "actions", db=db, filename="vides.xlsx"))
    assert "trop de cellules" in reason and "ligne" in reason
    monkeypatch.setattr(spec, "MAX_XLSX_UNCOMPRESSED", 1_000_000)
    reason = fatal_reason(validate(data, "actions", db=db, filename="vides.xlsx"))
    assert "trop volumineux une fois décompressé" in reason


def test_the_cli_dry_run_of_such_a_file_exits_2_with_the_message(db, tmp_path):
    path = tmp_path / "vides.xlsx"
    path.write_bytes(xlsx([ACTION_HEADER, action_cells()], empty_rows_after(30_000)))
    env = {"ATLAS_IMPORT_MAX_SECONDS": "0", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "import", "actions", str(path),
                           "--dry-run", "--offline", "--report", str(tmp_path / "rapports")],
                          cwd=REPO_ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "lecture trop longue" in proc.stdout and "Traceback" not in proc.stderr


def test_a_utf8_csv_with_one_windows_1252_line_is_refused_naming_the_line(db):
    data = csv_bytes([action_row(id_action="E1", titre="Atelier équilibré")])
    data += ";".join(action_row(id_action="E2", titre="Goûter santé").values()).encode("cp1252") + b"\r\n"
    before = file_sha(db)
    rep = apply(data, "actions", db=db, filename="melange.csv", offline=True)
    reason = fatal_reason(rep)
    assert "encodage mélangé" in reason and "ligne 3" in reason
    assert not rep.applied and file_sha(db) == before
    # A file entirely in Windows-1252 is still read, and said to be.
    whole = csv_bytes([action_row(id_action="E1", titre="Atelier équilibré")], encoding="cp1252")
    rep = validate(whole, "actions", db=db, filename="excel.csv")
    assert rep.ok and rep.encoding == "cp1252", rep.summary()


def test_an_xlsx_with_broken_xml_or_a_dtd_gets_a_message_not_a_traceback(db, tmp_path):
    broken = xlsx([ACTION_HEADER, action_cells()],
                  lambda xml: xml.replace("</sheetData>", "<row r=\"9\"><c r=\"A9\"><v>1</v></row></sheetData>"))
    reason = fatal_reason(validate(broken, "actions", db=db, filename="casse.xlsx"))
    assert "illisible" in reason and "endommagé" in reason and "Sheet" in reason
    dtd = xlsx([ACTION_HEADER, action_cells()],
               lambda xml: xml.replace("<worksheet", '<!DOCTYPE worksheet [<!ENTITY x "x">]><worksheet', 1))
    reason = fatal_reason(validate(dtd, "actions", db=db, filename="dtd.xlsx"))
    assert "DTD" in reason and "sécurité" in reason
    path = tmp_path / "casse.xlsx"
    path.write_bytes(broken)
    proc = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "import", "actions", str(path),
                           "--offline", "--report", str(tmp_path / "rapports")], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr


def test_a_huge_cell_names_its_row_and_column(db):
    rows = [action_row(id_action=f"H{i}") for i in range(1, 4)]
    rows[2]["description"] = "x" * 200_000                         # the third data row: line 4
    reason = fatal_reason(validate(csv_bytes(rows), "actions", db=db, filename="long.csv"))
    assert "ligne 4" in reason and "description" in reason and "cellule trop longue" in reason
    # A spreadsheet cell holds 32,767 characters at most: the row's own check names it.
    sheet = xlsx([ACTION_HEADER] + [[r[h] for h in ACTION_HEADER] for r in rows])
    rep = validate(sheet, "actions", db=db, filename="long.xlsx")
    assert [(p.row, p.column) for p in rep.errors] == [(4, "description")] and "trop long" in rep.errors[0].reason


def test_a_full_disk_gives_a_clear_message_and_leaves_nothing_behind(db, monkeypatch):
    from etl import dbswap

    before = file_sha(db)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(dbswap.shutil, "copyfile", full)
    with pytest.raises(InputError, match="disque plein"):
        apply(csv_bytes([action_row(id_action="FULL")]), "actions", db=db, filename="plein.csv", offline=True)
    monkeypatch.setattr(dbswap.shutil, "copyfile", shutil.copyfile)
    import duckdb

    real = dbswap.connect

    class Failing:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *a):
            if sql.strip().upper() == "CHECKPOINT":
                raise duckdb.IOException("IO Error: No space left on device")
            return self.con.execute(sql, *a)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(dbswap, "connect", lambda *a, **k: Failing(real(*a, **k)))
    with pytest.raises(InputError, match="disque plein"):
        apply(csv_bytes([action_row(id_action="FULL")]), "actions", db=db, filename="plein.csv", offline=True)
    assert file_sha(db) == before
    leftovers = [p.name for p in db.parent.iterdir() if ".import-" in p.name or ".pending-" in p.name]
    archive = db.parent / "imports"
    if archive.is_dir():
        leftovers += [p.name for p in archive.iterdir() if p.name.startswith(".pending-")]
    assert leftovers == []
