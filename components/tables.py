"""Tables with CSV and XLSX downloads beside them.

`data_table(table_id, df, columns)` returns a sortable DataTable (HTML in cells is shown
as text) and two export buttons. One pattern-matching callback serves every table's
exports from the rows currently shown, through etl.safe_export (the importer uses the
same code) so that a value such as "=HYPERLINK(...)" never comes back as a live formula.

`paged_table(...)` is the same table paged and sorted on the server (the browser holds one
page): its owner answers page and sort changes, and its exports are links to
`/export/table/<name>.{csv,xlsx}?<view query>&sort=<column>:<asc|desc>`, served from every row
by the function registered with `register_table_export(name, fn)`.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from dash import MATCH, Input, Output, State, callback, clientside_callback, dash_table, dcc, html, no_update
from flask import Response, abort, request

# One implementation of formula-safe exports, shared with the importer (etl/safe_export.py).
from etl.safe_export import FORMULA_START as FORMULA_PREFIXES  # noqa: F401  (public names kept)
from etl.safe_export import FICTIONAL_LABEL, frame_csv_bytes, frame_xlsx_bytes, safe_cell, safe_frame  # noqa: F401
from etl.importer.spec import safe_file_name


def export_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table as its CSV export writes it (formula-like text prefixed with an apostrophe)."""
    return safe_frame(df)


def to_csv_bytes(df: pd.DataFrame, meta: list | None = None) -> bytes:
    """French-Excel-friendly CSV: UTF-8 with BOM, ';' separator, decimal comma; `meta` lines first."""
    return frame_csv_bytes(df, meta)


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "Données", meta: list | None = None) -> bytes:
    """XLSX with typed cells: text (even "=HYPERLINK(...)") is stored as text, never as a formula;
    `meta` in a "Métadonnées" sheet."""
    return frame_xlsx_bytes(df, sheet, meta)


def data_table(table_id: str, df: pd.DataFrame, columns: list[dict] | None = None,
               page_size: int = 15, caption: str | None = None, filename: str | None = None,
               meta: list[tuple[str, str]] | None = None, **kwargs) -> html.Div:
    """`columns`: DataTable column dicts (name, id, type, format). Defaults to df's columns.
    `meta`: what the exported files say of the table (title, territory, source, year,
    geography), completed by export_meta."""
    cols = columns or [{"name": c, "id": c} for c in df.columns]
    table = dash_table.DataTable(
        id=table_ref(table_id),
        data=df.to_dict("records"),
        columns=cols,
        sort_action="native",
        filter_action="none",
        page_action="native",
        page_size=page_size,
        **_table_style(),
        **kwargs,
    )
    return html.Div([
        html.Div(caption, className="table-caption") if caption else None,
        table,
        html.Div([
            html.Button("Télécharger CSV", id={"type": "table-export", "table": table_id},
                        className="btn btn-secondary", n_clicks=0),
            html.Button("Télécharger XLSX", id={"type": "table-export-xlsx", "table": table_id},
                        className="btn btn-secondary", n_clicks=0),
            dcc.Download(id={"type": "table-download", "table": table_id}),
            dcc.Download(id={"type": "table-download-xlsx", "table": table_id}),
            dcc.Store(id={"type": "table-filename", "table": table_id}, data=filename or table_id),
            dcc.Store(id={"type": "table-meta", "table": table_id},
                      data=[list(m) for m in meta] if meta else [["Tableau", caption or filename or table_id]]),
        ], className="table-exports no-print", style={"display": "flex", "gap": ".5rem", "marginTop": ".4rem"}),
    ], className="data-table-wrap")


def table_ref(table_id: str) -> dict:
    """The DataTable's id, for callbacks that update a table's data or columns."""
    return {"type": "atlas-table", "table": table_id}


def _decimals(column: dict) -> int:
    """Decimals a column is displayed with: its DataTable format's precision, else 2 (5 for
    coordinates, which 2 decimals would move by a kilometre)."""
    form = column.get("format") or {}
    if hasattr(form, "to_plotly_json"):             # a dash_table Format object
        form = form.to_plotly_json()
    m = re.search(r"\.(\d+)[f%]", str(form.get("specifier", "")) if isinstance(form, dict) else "")
    if m:
        return int(m.group(1))
    return 5 if re.search(r"\b(lon|lat|longitude|latitude)\b", str(column.get("id", "")).lower()) else 2


def _column_name(c: dict) -> str:
    name = c.get("name", c["id"])
    return name if isinstance(name, str) else " ".join(str(x) for x in name) if isinstance(name, list) else str(name)


def _frame(rows, columns) -> pd.DataFrame:
    """The rows with their displayed column names, numbers rounded as displayed. Both come from the
    browser: rows that are not records and columns without a text id are left out."""
    columns = [c for c in columns if isinstance(c, dict) and isinstance(c.get("id"), str)] \
        if isinstance(columns, list) else []
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    ids = list(dict.fromkeys(c["id"] for c in columns))
    columns = [next(c for c in columns if c["id"] == i) for i in ids]
    names = {c["id"]: _column_name(c) for c in columns}
    return round_as_displayed(pd.DataFrame(rows or [], columns=ids), columns, "id").rename(columns=names)


def round_as_displayed(df: pd.DataFrame, columns: list[dict], key: str = "name") -> pd.DataFrame:
    """Numbers rounded as the table shows them (each column's format: _decimals), in the
    columns of `df` named by each DataTable column's `key` ("id", or its displayed "name")."""
    out = df.copy()
    for c in columns:
        col = c["id"] if key == "id" else _column_name(c)
        if col in out.columns:
            dec = _decimals(c)
            out[col] = out[col].map(lambda v, d=dec: round(float(v), d)
                                    if isinstance(v, (float, np.floating)) and np.isfinite(v) else v)
    return out


def export_meta(df: pd.DataFrame, meta: list | None = None) -> list[tuple[str, str]]:
    """What an exported table says of itself: the caller's lines (title, territory, source, year,
    geography), the sources and years of its own "Source" and "Année décrite" columns, the
    fictional-data warning on the demo, and where and when it was exported."""
    import datetime as dt

    from data import access

    out = [tuple(m) for m in (meta or []) if isinstance(m, (list, tuple)) and len(m) == 2]
    have = {k for k, _ in out}
    for col, label in (("Source", "Sources"), ("Année décrite", "Années décrites")):
        if col in df and label not in have:
            values = [str(v) for v in dict.fromkeys(df[col].dropna()) if str(v).strip()]
            if values:
                out.append((label, " ; ".join(values)))
    if not any(k.startswith("Source") for k, _ in out):
        out.append(("Sources", "voir la page Données de l'atlas (sources, millésimes, licences)"))
    try:
        fictional = access.is_fictional()
    except FileNotFoundError:
        fictional = False
    if fictional:
        out.insert(0, (FICTIONAL_LABEL, "Données fictives de démonstration : aucun chiffre ne décrit un lieu réel."))
    out.append(("Exporté", f"depuis Atlas ASV le {dt.date.today().isoformat()}"))
    return out


def _export(n, rows, columns, filename, meta, fmt):
    if not n:
        return no_update
    df = _frame(rows, columns)
    lines = export_meta(df, meta if isinstance(meta, list) else None)
    filename = safe_file_name(filename if isinstance(filename, str) else None, "tableau")
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(df, lines), f"{filename}.csv")
    return dcc.send_bytes(to_xlsx_bytes(df, meta=lines), f"{filename}.xlsx")


@callback(Output({"type": "table-download", "table": MATCH}, "data"),
          Input({"type": "table-export", "table": MATCH}, "n_clicks"),
          State({"type": "atlas-table", "table": MATCH}, "derived_virtual_data"),
          State({"type": "atlas-table", "table": MATCH}, "columns"),
          State({"type": "table-filename", "table": MATCH}, "data"),
          State({"type": "table-meta", "table": MATCH}, "data"),
          prevent_initial_call=True)
def export_csv(n, rows, columns, filename, meta):
    """Rows as shown (sorted), columns with their displayed names, provenance lines first."""
    return _export(n, rows, columns, filename, meta, "csv")


@callback(Output({"type": "table-download-xlsx", "table": MATCH}, "data"),
          Input({"type": "table-export-xlsx", "table": MATCH}, "n_clicks"),
          State({"type": "atlas-table", "table": MATCH}, "derived_virtual_data"),
          State({"type": "atlas-table", "table": MATCH}, "columns"),
          State({"type": "table-filename", "table": MATCH}, "data"),
          State({"type": "table-meta", "table": MATCH}, "data"),
          prevent_initial_call=True)
def export_xlsx(n, rows, columns, filename, meta):
    return _export(n, rows, columns, filename, meta, "xlsx")


# --- Server-paged tables ----------------------------------------------------------------------

_TABLE_EXPORTS: dict[str, Callable] = {}


def _table_style() -> dict:
    return dict(
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "DejaVu Sans, Segoe UI, Arial, sans-serif", "fontSize": "0.9rem",
                    "padding": "4px 8px", "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                    "overflowWrap": "anywhere", "maxWidth": "28rem", "minWidth": "6.5rem"},   # long URLs wrap; wide tables scroll
        style_header={"fontWeight": "700", "backgroundColor": "#f5f5f3"},
        markdown_options={"html": False})


def paged_table(table_id: str, rows: list[dict], columns: list[dict], page_count: int, export_name: str,
                export_query: str = "", page_size: int = 15, **kwargs) -> html.Div:
    """A DataTable holding one page of rows (`rows`), sorted and paged by its owner's callback
    (Inputs page_current and sort_by of table_ref(table_id)); CSV and XLSX links export every
    row through the function registered for `export_name`, in the table's current sort order
    (kept in sync in the browser)."""
    table = dash_table.DataTable(
        id=table_ref(table_id), data=rows, columns=columns, sort_action="custom", sort_mode="single",
        sort_by=[], filter_action="none", page_action="custom", page_current=0, page_size=page_size,
        page_count=page_count, **_table_style(), **kwargs)
    base = f"/export/table/{export_name}"
    links = html.Div([
        html.A("Télécharger CSV", href=f"{base}.csv{export_query}", className="btn btn-secondary",
               id={"type": "table-link-csv", "table": table_id}, download=""),
        html.A("Télécharger XLSX", href=f"{base}.xlsx{export_query}", className="btn btn-secondary",
               id={"type": "table-link-xlsx", "table": table_id}, download=""),
    ], className="table-exports no-print", style={"display": "flex", "gap": ".5rem", "marginTop": ".4rem"})
    return html.Div([table, links], className="data-table-wrap", id=f"{table_id}-wrap")


def frame_order(df: pd.DataFrame, sort_by, allowed: set, numeric: set = frozenset(),
                tiebreak: str | None = None) -> np.ndarray:
    """Row order of a server-sorted table for a DataTable `sort_by` (its first column among
    `allowed`): numbers as numbers (`numeric` columns), text compared without case or accents;
    empty and unknown values last whatever the direction; ties by `tiebreak`, then by position."""
    spec = next((s for s in (sort_by or []) if isinstance(s, dict) and s.get("column_id") in allowed
                 and s.get("column_id") in df.columns and s.get("direction") in ("asc", "desc")), None)
    n = len(df)
    if spec is None or n == 0:
        return np.arange(n)
    col, desc = spec["column_id"], spec["direction"] == "desc"

    def text_key(values) -> np.ndarray:
        return np.array([_fold(v) if isinstance(v, str) else "" for v in values], dtype=object)

    tie = text_key(df[tiebreak]) if tiebreak in df.columns else np.zeros(n)
    if col in numeric:
        num = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(num)
        main = np.where(known, -num if desc else num, 0)
    else:
        folded = text_key(df[col])
        known = folded != ""
        _, rank = np.unique(folded, return_inverse=True)
        main = np.where(known, -rank if desc else rank, 0)
    return np.lexsort((np.arange(n), tie, main, ~known))


def _fold(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def register_table_export(name: str, rows_fn: Callable[[dict, list], tuple]) -> None:
    """rows_fn(query: dict of the URL's parameters (each a list of values), sort_by) -> (every
    row with display column names, file stem[, provenance lines (label, text) for export_meta[, the
    table's DataTable columns, whose formats round the numbers as displayed]]). Call once, at import
    time of the owner."""
    _TABLE_EXPORTS[name] = rows_fn


def parse_sort(text) -> list[dict]:
    """"gap:desc" -> [{"column_id": "gap", "direction": "desc"}] (anything else: no sort)."""
    col, _, direction = str(text or "").partition(":")
    if not col or direction not in ("asc", "desc") or len(col) > 40:
        return []
    return [{"column_id": col, "direction": direction}]


def register_routes(server) -> None:
    @server.route("/export/table/<name>.<fmt>")
    def export_full_table(name: str, fmt: str):
        fn = _TABLE_EXPORTS.get(name)
        if fn is None or fmt not in ("csv", "xlsx"):
            abort(404)
        query = {k: v for k, v in request.args.to_dict(flat=False).items() if k != "sort"}   # lists: theme=a&theme=b
        df, stem, *rest = fn(query, parse_sort(request.args.get("sort")))
        if len(rest) > 1 and rest[1]:          # the table's columns: numbers rounded as displayed
            df = round_as_displayed(df, rest[1])
        lines = export_meta(df, rest[0] if rest else None)
        if fmt == "csv":
            data, mime = to_csv_bytes(df, lines), "text/csv; charset=utf-8"
        else:
            data, mime = to_xlsx_bytes(df, meta=lines), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        resp = Response(data, mimetype=mime)
        resp.headers["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp


# The export links follow the page's URL (the view) and the table's sort, in the browser.
clientside_callback(
    """function (search, sortBy, csv, xlsx) {
        const s = (sortBy && sortBy.length) ? sortBy[0] : null;
        const p = new URLSearchParams(search || window.location.search);
        ["sort", "export", "present", "print"].forEach(function (k) { p.delete(k); });
        if (s && s.column_id) { p.set("sort", s.column_id + ":" + (s.direction === "desc" ? "desc" : "asc")); }
        const q = p.toString();
        const href = function (h) { const base = String(h || "").split("?")[0]; return q ? base + "?" + q : base; };
        return [href(csv), href(xlsx)];
    }""",
    Output({"type": "table-link-csv", "table": MATCH}, "href"),
    Output({"type": "table-link-xlsx", "table": MATCH}, "href"),
    Input("url-state", "search"), Input({"type": "atlas-table", "table": MATCH}, "sort_by"),
    State({"type": "table-link-csv", "table": MATCH}, "href"),
    State({"type": "table-link-xlsx", "table": MATCH}, "href"),
    prevent_initial_call=True)
