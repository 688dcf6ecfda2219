"""Spreadsheet exports that never turn text into a live formula (CSV and XLSX).

The one implementation shared by the importer (reports, templates) and the app's
table downloads (components.tables):

    safe_cell(value)                      # CSV cell: "=HYPERLINK(...)" -> "'=HYPERLINK(...)"
    safe_xlsx_cell(cell, value)           # openpyxl cell: text is always typed text
    write_safe_csv(target, header, rows)  # ';', UTF-8 with BOM
    write_safe_xlsx(target, {sheet: df or (header, rows)})
    frame_csv_bytes(df) / frame_xlsx_bytes(df)   # a DataFrame as French-Excel CSV / XLSX bytes

CSV has no cell types, so text that a spreadsheet would evaluate (starting with = + - @,
a tab or a carriage return, or their full-width forms) gets a leading apostrophe; plain
numbers such as "-4.5" are left alone. XLSX cells are typed: such text is stored as a
string cell, exactly as given, and no formula element is ever written.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from typing import Any, Iterable

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER_RE = re.compile(r"^[+-]?\d+([.,]\d+)?([eE][+-]?\d+)?$")
LIST_JOIN = " ; "


def is_formula_like(value: Any) -> bool:
    return (isinstance(value, str) and value.startswith(FORMULA_START)
            and not _PLAIN_NUMBER_RE.match(value))


def safe_cell(value: Any) -> Any:
    """A value safe to write into a CSV that a spreadsheet will open.

    Text that a spreadsheet would read as a formula is prefixed with an apostrophe, so
    "=HYPERLINK(...)" shows as text and is never evaluated. Other values are returned
    unchanged. For XLSX use `safe_xlsx_cell` (typed text, no prefix)."""
    if is_formula_like(value):
        return "'" + value
    return value


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python; lists and tuples -> 'a ; b'; missing -> None."""
    if isinstance(value, (list, tuple)):
        return LIST_JOIN.join(str(v) for v in value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()          # numpy scalar or array
        if isinstance(value, list):
            return LIST_JOIN.join(str(v) for v in value)
    return None if _is_missing(value) else value


def safe_xlsx_cell(cell, value: Any) -> None:
    """Set an openpyxl cell so that text is always stored as text, never as a formula."""
    value = _plain(value)
    if isinstance(value, (dt.datetime, dt.date, int, float, bool)) or value is None:
        cell.value = value
        return
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    if cell.data_type == "f" or str(value).startswith("="):
        cell.data_type = "s"


def _csv_value(value: Any, decimal: str) -> Any:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float) and decimal != ".":
        return repr(value).replace(".", decimal)
    return safe_cell(value)


def write_safe_csv(target, header: list[str], rows: Iterable[Iterable[Any]], delimiter: str = ";",
                   decimal: str = ".") -> None:
    """CSV for spreadsheets: UTF-8 with BOM, ';', every cell passed through safe_cell.
    `target` is a path or a text file object. With decimal=",", floats are written with a
    decimal comma (French Excel)."""
    own = isinstance(target, (str, os.PathLike))
    f = open(target, "w", encoding="utf-8-sig", newline="") if own else target
    try:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow([_csv_value(h, ".") for h in header])
        for r in rows:
            w.writerow([_csv_value(v, decimal) for v in r])
    finally:
        if own:
            f.close()


def _frame_rows(df: pd.DataFrame):
    return df.astype(object).where(df.notna(), None).itertuples(index=False, name=None)


def write_safe_xlsx(target, sheets: dict[str, pd.DataFrame | tuple[list[str], list[list[Any]]]],
                    notice: str | None = None) -> None:
    """Write one sheet per entry (a DataFrame, or (header, rows)); text is never a formula.
    `notice` (the fictional-data warning) is written above the table of every sheet. `target` is a
    path or a binary buffer (e.g. io.BytesIO for dcc.send_bytes)."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    top = 3 if notice else 1            # the notice, an empty row, then the header
    for name, content in sheets.items():
        if isinstance(content, pd.DataFrame):
            header = [str(c) for c in content.columns]
            rows = _frame_rows(content)
        else:
            header, rows = content
        ws = wb.create_sheet(re.sub(r"[\[\]:*?/\\]", "_", str(name))[:31] or "Feuille")
        if notice:
            safe_xlsx_cell(ws.cell(1, 1), notice)
            ws.cell(1, 1).font = Font(bold=True, color="8A3B00")
        for j, h in enumerate(header, start=1):
            c = ws.cell(top, j)
            safe_xlsx_cell(c, h)
            c.font = Font(bold=True)
        for i, r in enumerate(rows, start=top + 1):
            for j, v in enumerate(r, start=1):
                safe_xlsx_cell(ws.cell(i, j), v)
        ws.freeze_panes = f"A{top + 1}"
    wb.save(target)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The DataFrame as a CSV export writes its text cells (formula-like text prefixed)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(safe_cell)
    return out


def frame_csv_bytes(df: pd.DataFrame, meta: list[tuple[str, str]] | None = None) -> bytes:
    """French-Excel-friendly CSV: UTF-8 with BOM, ';' separator, decimal comma. `meta` (label,
    text) lines come first (title, source, year...), then an empty line, then the table."""
    buf = io.StringIO(newline="")
    if meta:
        w = csv.writer(buf, delimiter=";")
        for label, text in meta:
            w.writerow([safe_cell(label), safe_cell(text)])
        w.writerow([])
    write_safe_csv(buf, [str(c) for c in df.columns], _frame_rows(df), delimiter=";", decimal=",")
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


FICTIONAL_LABEL = "Avertissement"     # the meta line that says the data is fictional (components.tables.export_meta)


def frame_xlsx_bytes(df: pd.DataFrame, sheet: str = "Données", meta: list[tuple[str, str]] | None = None) -> bytes:
    """The table in `sheet`, and `meta` in a "Métadonnées" sheet (label, text); the fictional-data
    warning, when `meta` has it, above the table of every sheet."""
    buf = io.BytesIO()
    sheets: dict = {sheet: df}
    if meta:
        sheets["Métadonnées"] = (["Champ", "Valeur"], [list(m) for m in meta])
    notice = next((str(v) for k, v in (meta or []) if k == FICTIONAL_LABEL), None)
    write_safe_xlsx(buf, sheets, notice=notice)
    return buf.getvalue()
