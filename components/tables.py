"""Tables with CSV and XLSX downloads beside them.

`data_table(table_id, df, columns)` returns a sortable DataTable (HTML in cells is shown
as text) and two export buttons. One pattern-matching callback serves every table's
exports from the rows currently shown, through etl.safe_export (the importer uses the
same code) so that a value such as "=HYPERLINK(...)" never comes back as a live formula.
"""
from __future__ import annotations

import pandas as pd
from dash import MATCH, Input, Output, State, callback, dash_table, dcc, html, no_update

# One implementation of formula-safe exports, shared with the importer (etl/safe_export.py).
from etl.safe_export import FORMULA_START as FORMULA_PREFIXES  # noqa: F401  (public names kept)
from etl.safe_export import frame_csv_bytes, frame_xlsx_bytes, safe_cell, safe_frame  # noqa: F401


def export_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table as its CSV export writes it (formula-like text prefixed with an apostrophe)."""
    return safe_frame(df)


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """French-Excel-friendly CSV: UTF-8 with BOM, ';' separator, decimal comma."""
    return frame_csv_bytes(df)


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "Données") -> bytes:
    """XLSX with typed cells: text (even "=HYPERLINK(...)") is stored as text, never as a formula."""
    return frame_xlsx_bytes(df, sheet)


def data_table(table_id: str, df: pd.DataFrame, columns: list[dict] | None = None,
               page_size: int = 15, caption: str | None = None, filename: str | None = None,
               **kwargs) -> html.Div:
    """`columns`: DataTable column dicts (name, id, type, format). Defaults to df's columns."""
    cols = columns or [{"name": c, "id": c} for c in df.columns]
    table = dash_table.DataTable(
        id=table_ref(table_id),
        data=df.to_dict("records"),
        columns=cols,
        sort_action="native",
        filter_action="none",
        page_action="native",
        page_size=page_size,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "DejaVu Sans, Segoe UI, Arial, sans-serif", "fontSize": "0.9rem", "padding": "4px 8px",
                    "textAlign": "left", "whiteSpace": "normal", "height": "auto"},
        style_header={"fontWeight": "700", "backgroundColor": "#f5f5f3"},
        markdown_options={"html": False},
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
        ], className="table-exports no-print", style={"display": "flex", "gap": ".5rem", "marginTop": ".4rem"}),
    ], className="data-table-wrap")


def table_ref(table_id: str) -> dict:
    """The DataTable's id, for callbacks that update a table's data or columns."""
    return {"type": "atlas-table", "table": table_id}


def _frame(rows, columns) -> pd.DataFrame:
    ids = [c["id"] for c in columns or []]
    names = {c["id"]: (c["name"] if isinstance(c["name"], str) else " ".join(c["name"])) for c in columns or []}
    return pd.DataFrame(rows or [], columns=ids).rename(columns=names)


def _export(n, rows, columns, filename, fmt):
    if not n:
        return no_update
    df = _frame(rows, columns)
    if fmt == "csv":
        return dcc.send_bytes(to_csv_bytes(df), f"{filename}.csv")
    return dcc.send_bytes(to_xlsx_bytes(df), f"{filename}.xlsx")


@callback(Output({"type": "table-download", "table": MATCH}, "data"),
          Input({"type": "table-export", "table": MATCH}, "n_clicks"),
          State({"type": "atlas-table", "table": MATCH}, "derived_virtual_data"),
          State({"type": "atlas-table", "table": MATCH}, "columns"),
          State({"type": "table-filename", "table": MATCH}, "data"),
          prevent_initial_call=True)
def export_csv(n, rows, columns, filename):
    """Rows as shown (sorted), columns with their displayed names."""
    return _export(n, rows, columns, filename, "csv")


@callback(Output({"type": "table-download-xlsx", "table": MATCH}, "data"),
          Input({"type": "table-export-xlsx", "table": MATCH}, "n_clicks"),
          State({"type": "atlas-table", "table": MATCH}, "derived_virtual_data"),
          State({"type": "atlas-table", "table": MATCH}, "columns"),
          State({"type": "table-filename", "table": MATCH}, "data"),
          prevent_initial_call=True)
def export_xlsx(n, rows, columns, filename):
    return _export(n, rows, columns, filename, "xlsx")
