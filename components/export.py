"""Exports: Flask routes and the buttons that sit next to what they export.

Routes (registered from app.py, like components.geo_routes):
  GET  /export/png?url=/page?query[&width=1600&scale=1]   an app page as a finished figure (PNG)
  GET  /export/pdf?url=/page?query                        one landscape A4 page (maps), or the
                                                          fiche as portrait A4 pages (print CSS)
  POST /export/chart.{png,svg,pdf}                        a plotly figure (kaleido), with its title
                                                          and source line drawn on the image
  POST /export/table.{csv,xlsx}                           a simple HTML table (rows as shown)
  GET  /export/portrait.pdf?level=qpv&code=QN...          the "portrait de territoire" (publish.portrait)

Only same-app relative URLs of registered pages are rendered (publish.render.check_path, then
the page registry); rendering is bounded in time and done by one Chromium per process.
Buttons: `chart_exports` (under every chart: components.charts.graph adds it), map export
buttons are added on every map by assets/export.js, table CSV/XLSX are in components.tables.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import textwrap
import unicodedata
from urllib.parse import urlencode, urlsplit

import dash
import pandas as pd
from dash import Input, Output, State, callback, html
from flask import Response, request, send_file

from components import guard
from publish import render

MAX_BODY = 6 * 1024 * 1024
MAX_TABLE_ROWS = 20000
NOT_RENDERED = {"/presentation"}


# --- Helpers ------------------------------------------------------------------------------

def slug(text: str, default: str = "export") -> str:
    """An ASCII file-name part."""
    s = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()[:60]
    return s or default


def dated_name(stem: str, ext: str) -> str:
    return f"atlas_{slug(stem)}_{dt.date.today().isoformat()}.{ext}"


def page_paths() -> set[str]:
    return {p["path"] for p in dash.page_registry.values()}


def check_page_url(url: str | None) -> str:
    """A same-app page URL ("/inegalites?..."): relative, of a registered page."""
    path = render.check_path(url or "")
    page = urlsplit(path).path
    if page not in page_paths() or page in NOT_RENDERED:
        raise render.RenderError(f"Page inconnue ou non exportable : {page[:80]}")
    return path


def _error(exc: Exception) -> Response:
    status = 503 if isinstance(exc, render.RenderBusy) else 504 if isinstance(exc, render.RenderTimeout) else (
        400 if isinstance(exc, render.RenderError) else 500)
    text = str(exc) if isinstance(exc, render.RenderError) else "Erreur interne pendant l'export."
    resp = Response(text, status=status, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    if status == 503:
        resp.headers["Retry-After"] = "5"
    return resp


def _file(data: bytes, mime: str, name: str, headers: dict | None = None) -> Response:
    resp = send_file(io.BytesIO(data), mimetype=mime, as_attachment=True, download_name=name)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _json_body() -> dict:
    """The request's JSON object, read at most MAX_BODY bytes (with or without Content-Length)."""
    if (request.content_length or 0) > MAX_BODY:
        raise render.RenderError("Contenu trop volumineux pour être exporté.")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise render.RenderError("Contenu trop volumineux pour être exporté.")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        body = None
    if not isinstance(body, dict):
        raise render.RenderError("Contenu invalide : JSON attendu.")
    return body


def _plotly_text(text: str) -> str:
    """Plotly reads a subset of HTML in titles and annotations: escape it."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def figure_for_export(fig_json: dict, title: str | None = None, source: str | None = None):
    """A plotly Figure from the browser's JSON, with a title (when it has none) and the
    source line drawn under the plot, French separators."""
    import plotly.io as pio

    if not isinstance(fig_json, dict) or not isinstance(fig_json.get("data", []), list):
        raise render.RenderError("Graphique invalide.")
    try:
        fig = pio.from_json(json.dumps({"data": fig_json.get("data") or [], "layout": fig_json.get("layout") or {}}),
                            skip_invalid=True)
    except (ValueError, TypeError) as exc:
        raise render.RenderError("Graphique invalide.") from exc
    has_title = bool(fig.layout.title and fig.layout.title.text)
    margin_t = max(int(fig.layout.margin.t or 0), 60)
    if title and not has_title:
        fig.update_layout(title={"text": _plotly_text(title[:200]), "x": 0, "xanchor": "left", "y": 0.995,
                                 "yanchor": "top", "yref": "container"})
        # subplot titles sit just above their plots: the figure title gets its own band above them
        if any((a.yref or "").startswith("paper") and (a.y or 0) >= 0.9 for a in fig.layout.annotations):
            margin_t = max(margin_t, 110)
    try:
        from data import access
        fictional = access.is_fictional()
    except FileNotFoundError:
        fictional = False
    if fictional and "fictiv" not in str(source or "").lower():
        source = (str(source).rstrip(". ") + ". " if source else "") + "Données fictives de démonstration."
    margin_b = int(fig.layout.margin.b or 20)
    if source:
        lines = textwrap.wrap(str(source)[:1200], width=150) or [""]
        fig.add_annotation(text="<br>".join(_plotly_text(x) for x in lines), xref="paper", yref="paper",
                           x=0, y=0, xanchor="left", yanchor="top", yshift=-45, showarrow=False, align="left",
                           font={"size": 11, "color": "#4a4a4f"})
        margin_b += 45 + 15 * len(lines)
    fig.update_layout(margin={"t": margin_t, "b": margin_b}, paper_bgcolor="white")
    return fig


# --- Routes -------------------------------------------------------------------------------

def register(server) -> None:
    @server.route("/export/png")
    def export_png():
        try:
            url = check_page_url(request.args.get("url"))
            width = int(request.args.get("width", 1600))
            scale = float(request.args.get("scale", 1))
            out = render.get_renderer(server).page_png(url, width=width, scale=scale)
        except (ValueError, render.RenderError) as exc:
            return _error(exc if isinstance(exc, render.RenderError) else render.RenderError("Paramètre invalide."))
        except Exception as exc:  # noqa: BLE001
            server.logger.exception("export png")
            return _error(exc)
        box = out.meta.get("map_box")
        headers = {"X-Atlas-Map-Box": ",".join(str(box[k]) for k in ("x", "y", "width", "height"))} if box else {}
        return _file(out.data, out.mime, dated_name(urlsplit(url).path.strip("/") or "accueil", "png"), headers)

    @server.route("/export/pdf")
    def export_pdf():
        try:
            url = check_page_url(request.args.get("url"))
            layout = "document" if urlsplit(url).path == "/fiche" else "figure"
            out = render.get_renderer(server).page_pdf(url, layout=layout)
        except render.RenderError as exc:
            return _error(exc)
        except Exception as exc:  # noqa: BLE001
            server.logger.exception("export pdf")
            return _error(exc)
        return _file(out.data, out.mime, dated_name(urlsplit(url).path.strip("/") or "accueil", "pdf"))

    @server.route("/export/chart.<fmt>", methods=["POST"])
    def export_chart(fmt: str):
        try:
            if fmt not in render.CHART_FORMATS:
                raise render.RenderError("Format inconnu : png, svg ou pdf.")
            body = _json_body()
            fig = figure_for_export(body.get("figure"), body.get("title"), body.get("source"))
            width = min(max(int(body.get("width") or 1000), 400), 2400)
            data = render.chart_bytes(fig, fmt, width=width)
        except (ValueError, TypeError) as exc:
            return _error(render.RenderError(f"Paramètre invalide ({type(exc).__name__})."))
        except render.RenderError as exc:
            return _error(exc)
        except Exception as exc:  # noqa: BLE001
            server.logger.exception("export chart")
            return _error(exc)
        return _file(data, render.CHART_FORMATS[fmt], dated_name(body.get("filename") or "graphique", fmt))

    @server.route("/export/table.<fmt>", methods=["POST"])
    def export_table(fmt: str):
        from components.tables import export_meta, to_csv_bytes, to_xlsx_bytes

        try:
            if fmt not in ("csv", "xlsx"):
                raise render.RenderError("Format inconnu : csv ou xlsx.")
            body = _json_body()
            df = table_frame(body)
        except render.RenderError as exc:
            return _error(exc)
        name = dated_name(body.get("filename") or "tableau", fmt)
        meta = export_meta(df, table_meta(body))
        if fmt == "csv":
            return _file(to_csv_bytes(df, meta), "text/csv", name)
        return _file(to_xlsx_bytes(df, meta=meta),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", name)

    @server.route("/export/portrait.pdf")
    def export_portrait():
        from publish import portrait

        level, code = request.args.get("level", ""), request.args.get("code", "")
        try:
            doc = portrait.portrait_html(level, code, ci=request.args.get("ic"), test_ref=request.args.get("test"))
            out = render.get_renderer(server).html_pdf(doc)
        except portrait.PortraitError as exc:
            return _error(render.RenderError(str(exc)))
        except render.RenderError as exc:
            return _error(exc)
        except Exception as exc:  # noqa: BLE001
            server.logger.exception("export portrait")
            return _error(exc)
        return _file(out.data, out.mime, dated_name(f"portrait_{level}_{code}", "pdf"))


def table_frame(body: dict) -> pd.DataFrame:
    """A DataFrame from {"columns": [...], "rows": [[...], ...]} (texts as shown on screen)."""
    cols, rows = body.get("columns"), body.get("rows")
    if not isinstance(cols, list) or not isinstance(rows, list) or len(rows) > MAX_TABLE_ROWS \
            or len(cols) > 200 or any(not isinstance(r, list) or len(r) != len(cols) for r in rows):
        raise render.RenderError("Tableau invalide.")
    clean = [[None if v is None else str(v)[:5000] for v in r] for r in rows]
    names = [str(c)[:200] for c in cols]
    return pd.DataFrame(clean, columns=pd.Index(names))


def table_meta(body: dict) -> list[tuple[str, str]]:
    """The lines a simple table's export says of itself: the title and source line its page showed
    around it, the territory of the page's address (its scope, or the Fiche's territory) and the
    address itself; texts only, shortened."""
    def text(key):
        v = body.get(key)
        return v.strip()[:2000] if isinstance(v, str) and v.strip() else None

    page = text("page")
    out = [("Titre", text("title")), ("Territoire", page_territory(page) if page else None),
           ("Source", text("source")), ("Page", page)]
    return [(k, v) for k, v in out if v]


def page_territory(page: str) -> str | None:
    """The territory a page address shows, in the words of its scope picker."""
    from urllib.parse import parse_qs

    from components.scope import LEVEL_LABELS, checked_scope, scope_label
    from data import access

    parts = urlsplit(page)
    q = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
    if parts.path == "/fiche":
        t = access.territory(q.get("level", ""), q.get("code", "")) if q.get("level") in LEVEL_LABELS else None
        return f"{LEVEL_LABELS[q['level']]} — {t['name']}" if t else None
    if parts.path in ("/", "/inegalites", "/couverture", "/actions"):
        return scope_label(checked_scope(q.get("scope"))[0])
    return None


# --- Buttons ------------------------------------------------------------------------------

def chart_exports(graph_id, filename: str | None = None, title: str | None = None,
                  block_id: str | None = None) -> html.Div:
    """PNG / SVG / PDF buttons under a chart (handled by assets/export.js): the figure as
    currently shown, with its title and the source line of its block. `block_id`: the buttons'
    container's id, for a callback that hides them with a chart it hides."""
    stem = filename or (graph_id if isinstance(graph_id, str) else "graphique")
    extra = {"data-title": title} if title else {}
    return html.Div(
        [html.Span("Exporter le graphique :", className="export-label")]
        + [html.Button(label, type="button", className="btn btn-secondary btn-small chart-export",
                       title=f"Exporter le graphique en {label}",
                       **{"data-format": fmt, "data-filename": stem, "aria-label": f"Exporter le graphique en {label}"},
                       **extra)
           for fmt, label in (("png", "PNG"), ("svg", "SVG"), ("pdf", "PDF"))],
        className="chart-exports no-print", **({"id": block_id} if block_id else {}))


def graph_with_exports(graph_id, fig, source: str | None = None, filename: str | None = None, **kwargs) -> html.Div:
    """components.charts.graph, whose block carries the export buttons."""
    from components.charts import graph

    return graph(graph_id, fig, source=source, export_name=filename, **kwargs)


def fiche_url(level: str | None, code: str | None, ci: str | None = None, test: str | None = None) -> str:
    """The PDF of a territory's fiche: its portrait de territoire (publish/portrait.py), with the
    Fiche's test settings (reference, confidence level) when given."""
    q = {"level": level or "qpv", "code": code or ""}
    q.update({k: v for k, v in (("test", test), ("ic", ci)) if isinstance(v, str) and v})
    return f"/export/portrait.pdf?{urlencode(q)}"


def fiche_exports(level: str | None, code: str | None, ci: str | None = None, test: str | None = None) -> html.Div:
    """The Fiche page's one PDF: the portrait de territoire (the page itself prints too)."""
    return html.Div([
        html.A("Fiche en PDF (portrait de territoire)", href=fiche_url(level, code, ci, test),
               id="fiche-portrait-link", className="btn btn-secondary export-link",
               title="Base d'un diagnostic partagé : déterminants et références, couverture, actions, sources"),
    ], className="export-actions")


@callback(Output("fiche-portrait-link", "href"),
          Input("fiche-code", "value"), Input("fiche-test", "value"), Input("fiche-ci", "value"),
          State("fiche-level", "value"), prevent_initial_call=True)
def update_fiche_links(code, test, ci, level):
    return fiche_url(guard.one(level), guard.one(code), guard.one(ci), guard.one(test))
