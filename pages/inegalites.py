"""Inégalités: a catalogue indicator mapped on the 2024 QPVs, as values or as gaps to each
QPV's own reference (commune, EPCI, département, région, France), with a legend that counts
QPVs per class, secret and missing values drawn apart, and a table of the same figures (the
accessible alternative to the map), paged and sorted on the server.

Every figure comes from the memoized view of data.views.inegalites. One interaction, one small
round trip: a control change is one callback (`restyle`) whose map part is one character per
QPV (`style`); a selection is one callback (`select`); tooltip text is fetched when a tooltip
opens (/tooltip/inegalites); the layout built for a URL already holds the map's style, its
legend and the first table page, so nothing but Dash's page callback runs on load.
The whole view is in the URL (state_query), so a shared link restores it. What the page shows of a
view (legend, notes, table columns, panel, controls) is built by components/inegalites_view.py.
"""
import dash
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, ctx, html, no_update
from dash_extensions.javascript import Namespace

from components import funnel, guard
from components.charts import defer_graphs
from components.geo_routes import layer_url
from components.inegalites_view import (classes_summary, controls, legend_block, notes, palette_options,
                                        panel, reference_options, source_line, table_columns, year_options)
from components.maps import (atlas_map, commune_layer_url, live_style, live_style_ref, register_tooltips,
                             territory_layer)
from components.notices import url_notices
from components.scope import checked_scope, scope_label
from components.search_dropdown import initial_options, option_index, register_search, search_dropdown
from components.tables import paged_table, register_table_export, table_ref
from data import access
from data import analysis as an
from data.provenance import parse_period
from data import stats
from data.stats import DEFAULT_LEVEL
from data.views import funnel as fn
from data.views import inegalites as iv
from data.views.inegalites import ViewState, compute_view, parse_state, state_query

dash.register_page(__name__, path="/inegalites", name="Inégalités", title="Atlas ASV — Inégalités", order=1)

MAP_ID = "ineg-map"
QPV_LAYER = "ineg-qpv"
BASE_PREFIX = "ineg-base"
TABLE_ID = "ineg-table"
EXPORT_NAME = "inegalites"


def _view_param(center, zoom) -> str | None:
    """Map view for the URL from dl.Map center ({lat, lng} or [lat, lng]) and zoom."""
    if center is None or zoom is None:
        return None
    if isinstance(center, dict):
        lat, lon = center.get("lat"), center.get("lng", center.get("lon"))
    else:
        lat, lon = center[0], center[1]
    try:
        return f"{float(lat):.5f},{float(lon):.5f},{float(zoom):g}"
    except (TypeError, ValueError):
        return None


def qpv_options(scope) -> list[dict]:
    df = access.territories("qpv", scope)
    return [{"label": f"{n} ({c})", "value": c} for c, n in zip(df.code, df.name)]


def qpv_pick_options(scope_val) -> list[dict]:
    """Every option of the QPV picker: the QPVs of the scope picker's value."""
    return qpv_options(access.parse_scope(scope_val))


# The QPV picker lists up to 1,600 QPVs at national scale: searched on the server. A selection
# made elsewhere (map, table) gets its option from `select`, in the same round trip.
register_search("ineg-qpv-pick", qpv_pick_options, State("ineg-scope", "value"), follow_value=False)


def scope_bounds(scope) -> tuple | None:
    if scope:
        return access.bounds(*scope)
    for level in ("qpv", "departement"):
        box = access.extent(level)
        if box:
            return box
    return None


def _find(component, cid: str):
    if getattr(component, "id", None) == cid:
        return component
    kids = getattr(component, "children", None)
    for k in (kids if isinstance(kids, (list, tuple)) else [kids]):
        if hasattr(k, "to_plotly_json"):
            found = _find(k, cid)
            if found is not None:
                return found
    return None


def _fix_view(m, view: str | None) -> None:
    """Initial view: the URL's center/zoom when given (else atlas_map fits the scope's bounds)."""
    parsed = iv.parse_view(view)
    if parsed:
        m.center, m.zoom = [parsed[0], parsed[1]], parsed[2]
        if getattr(m, "bounds", None) is not None:
            del m.bounds


def _selected_style(code: str | None) -> list[dict]:
    if not code or not iv.CODE_RE.match(code):
        return []
    return [{"if": {"filter_query": f'{{id}} = "{code}"'}, "backgroundColor": "#fff4d6", "fontWeight": "700"}]


def _page_for(v: iv.View, code: str | None, sort_by=None) -> int:
    page = iv.page_of(v, code, sort_by)
    return 0 if page is None else page


def layout(**query):
    try:
        access.meta()
    except FileNotFoundError as exc:
        return html.Div([html.H1("Inégalités entre quartiers"), html.P(str(exc), className="note")])
    cat = iv.qpv_indicators()
    if cat.empty:
        return html.Div([html.H1("Inégalités entre quartiers"),
                         html.P("Aucun indicateur n'a de valeur à l'échelle des quartiers dans la base chargée.",
                                className="note")])
    st = parse_state(query, cat)
    _, notices = checked_scope(query.get("scope"))
    scope = access.parse_scope(st.scope)
    pick_index = option_index(qpv_pick_options, access.scope_value(scope))
    if st.qpv not in pick_index:
        st = ViewState(**{**st.__dict__, "qpv": None})
    v = compute_view(st)
    qpv_layer = territory_layer(QPV_LAYER, "qpv", scope, hideout=iv.style(v, st.qpv))
    qpv_layer.onEachFeature = Namespace("atlas", "qpvmap")("onEachFeature")
    m = atlas_map(MAP_ID, [("Quartiers prioritaires (2024)", qpv_layer, True)], within=scope,
                  bounds=scope_bounds(scope), height="560px", base_prefix=BASE_PREFIX)
    _fix_view(m, st.view)
    communes = _find(m, f"{BASE_PREFIX}-communes")
    if communes is not None:
        communes.url = commune_layer_url(scope)
    page = _page_for(v, st.qpv)
    table = paged_table(TABLE_ID, iv.table_page(v, None, page), table_columns(st, v), iv.page_count(v),
                        EXPORT_NAME, state_query(st), page_size=iv.PAGE_SIZE,
                        style_data_conditional=_selected_style(st.qpv))
    _find(table, table_ref(TABLE_ID)).page_current = page
    return html.Div([
        html.H1("Inégalités entre quartiers prioritaires"),
        html.P("Chaque quartier prioritaire (géographie 2024) coloré selon un indicateur, ou selon son écart à sa "
               "commune, son EPCI, son département, sa région ou la France ; le tableau sous la carte donne les "
               "mêmes chiffres.", className="lead page-intro"),
        url_notices(notices),
        controls(st, cat),
        html.Div([
            html.Div([
                live_style(QPV_LAYER),
                html.Div(m, className="map-frame", role="region",
                         **{"aria-label": "Carte des quartiers prioritaires (le tableau ci-dessous en donne les "
                                          "mêmes chiffres)"}),
                html.Div(notes(st, v), id="ineg-notes", **{"aria-live": "polite"}),
                html.P(source_line(st, v), className="source-line", id="ineg-source"),
            ], className="ineg-map-col"),
            html.Aside([
                html.Div(legend_block(st, v), id="ineg-legend"),
                html.Div([
                    html.H2("Quartier sélectionné", className="panel-heading"),
                    html.Div([html.Label("Choisir un quartier", htmlFor="ineg-qpv-pick"),
                              search_dropdown("ineg-qpv-pick", st.qpv, pick_index, clearable=True,
                                              placeholder="Rechercher un quartier…")], className="control"),
                    html.Div(panel(st, st.qpv), id="ineg-panel", **{"aria-live": "polite"}),
                ], className="ineg-panel"),
            ], className="ineg-side"),
        ], className="ineg-grid"),
        html.H2("Tableau des quartiers", id="ineg-table-title"),
        html.P("Cliquez sur une ligne pour sélectionner le quartier sur la carte. Les valeurs secrètes ou "
               "absentes sont écrites en toutes lettres et restent en fin de tri.", className="muted"),
        table,
        funnel.block(),
    ], className="page-inegalites")


def view_title(**query) -> str:
    """The view in words (a slide's title): indicator and year described, the gap's reference
    when the map shows gaps, territory."""
    st = parse_state(query)
    ind = access.indicator(st.indicator) or {}
    year = access.year_labels(st.indicator, "qpv").get(st.year, "") if st.indicator else ""
    what = ind.get("label") or "Inégalités entre quartiers prioritaires"
    if year:
        what += f" ({year})"
    if st.mode == "ecart":
        what += f", écart à la référence « {an.REFERENCE_LEVELS.get(st.ref, st.ref)} »"
    return f"{what} — {scope_label(access.parse_scope(st.scope))}"


_RENDER = {"legend": legend_block, "notes": notes, "source": source_line, "columns": table_columns}


def rendered(v: iv.View, part: str):
    """A part of the page drawn from a view, once per view (views are shared and memoized)."""
    return v.memo(("rendered", part), lambda: _RENDER[part](v.state, v))


# --- Server routes: tooltips and the full table ----------------------------------------------

def _tooltip(query: dict, code: str) -> list[str] | None:
    return iv.tooltip(compute_view(parse_state(query)), code)


def _export_rows(query: dict, sort_by) -> tuple[pd.DataFrame, str]:
    st = parse_state(query)
    v = compute_view(st)
    cols = table_columns(st, v)
    rows = iv.table_rows(v, sort_by)
    df = pd.DataFrame(rows, columns=[c["id"] for c in cols]).rename(columns={c["id"]: c["name"] for c in cols})
    for name, values in iv.interval_columns(v, [r["code"] for r in rows]).items():
        df[name] = values
    ind = v.indicator
    title = f"Inégalités entre quartiers prioritaires : {ind['label']}"
    if st.mode == "ecart":
        title += f", écart à la référence « {an.REFERENCE_LEVELS[st.ref]} »"
    meta = [("Titre", title),
            ("Territoire", scope_label(access.parse_scope(st.scope))),
            ("Années décrites", years_described(v)),
            ("Source", " ".join(p.children.strip() for p in source_line(st, v))),
            ("Géographie", "quartiers prioritaires 2024 (valeurs de la géographie 2015 signalées « périmètre 2015 »)"),
            ("Intervalles", f"intervalles de confiance à {stats.LEVEL_LABELS[st.ci]} ; " + iv.TEST_RULE)]
    return df, "inegalites_qpv", meta, cols


def years_described(v: iv.View) -> str:
    """Every year the exported figures describe: the QPVs' and their references'."""
    f = v.frame
    own = list(dict.fromkeys(f.loc[f.status.isin(["ok", "secret"]), "year_label"].dropna()))
    ref = list(dict.fromkeys(f.loc[f.ref_status.isin(["ok", "secret"]), "ref_year_label"].dropna()))
    out = f"quartiers : {', '.join(own) or 'n.d.'}"
    return out + (f" ; référence ({an.REFERENCE_LEVELS[v.state.ref]}) : {', '.join(ref)}" if ref else "")


register_tooltips("inegalites", _tooltip)
register_table_export(EXPORT_NAME, _export_rows)


# --- Callbacks ------------------------------------------------------------------------------

CONTROL_IDS = ["ineg-indicator", "ineg-year", "ineg-mode", "ineg-ref", "ineg-gap", "ineg-method", "ineg-k",
               "ineg-breaks", "ineg-palette", "ineg-scope"]
CONTROL_INPUTS = [Input(c, "value") for c in CONTROL_IDS]
CONTROL_STATES = [State(c, "value") for c in CONTROL_IDS]


def _controls(indicator, year, mode, ref, gap, method, k, breaks, palette, scope) -> tuple:
    """The controls' values as any client may post them, each of its kind or None (parse_state then
    refuses the unknown ones): texts, and the number of classes."""
    texts = [guard.one(v) for v in (indicator, year, mode, ref, gap, method)]
    k = k if isinstance(k, int) and not isinstance(k, bool) else None
    return (*texts, k, guard.one(breaks), guard.one(palette), guard.one(scope))


def _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, qpv=None, view=None,
           ci=None) -> ViewState:
    return parse_state({"indicator": indicator, "year": year, "mode": mode, "ref": ref, "gap": gap,
                        "method": method, "k": k, "breaks": breaks, "palette": palette, "scope": scope,
                        "qpv": qpv, "view": view, "ic": guard.one(ci)})


def next_year(indicator, year, previous_options):
    """Period shown after an indicator change (URL tokens): its most recent year described, unless
    an earlier period was chosen and the new indicator has it too."""
    opts = year_options(indicator)
    periods = {parse_period(o["value"]): o["value"] for o in opts}
    previous = [p for p in (parse_period(o.get("value")) for o in previous_options or [] if isinstance(o, dict))
                if p is not None]
    chosen = parse_period(year)
    was_latest = not previous or chosen == max(previous)
    keep = chosen in periods and not was_latest
    default = access.default_period(indicator, "qpv") if periods else None
    return opts, (periods[chosen] if keep else (periods.get(default) if periods else None))


RESTYLE_OUTPUTS = [
    Output(live_style_ref(QPV_LAYER), "data"), Output("ineg-legend", "children"),
    Output(table_ref(TABLE_ID), "data"), Output(table_ref(TABLE_ID), "columns"),
    Output(table_ref(TABLE_ID), "page_count"), Output(table_ref(TABLE_ID), "page_current"),
    Output("ineg-notes", "children"), Output("ineg-source", "children"),
    Output("ineg-year", "options"), Output("ineg-year", "value"), Output("ineg-ref", "options"),
    Output("ineg-palette", "options"), Output("ineg-palette", "value"),
    Output("ineg-breaks", "disabled"), Output("ineg-gap-controls", "className"),
    Output("ineg-panel", "children"),
    # a scope change: new geometry, view, QPV list
    Output(QPV_LAYER, "url"), Output(f"{BASE_PREFIX}-communes", "url"), Output(MAP_ID, "viewport"),
    Output("ineg-qpv-pick", "options"), Output("ineg-qpv-pick", "value"),
    Output("ineg-classes-summary", "children"),
]


@callback(*RESTYLE_OUTPUTS, *CONTROL_INPUTS, State("ineg-qpv-pick", "value"), State("ineg-year", "options"),
          State(table_ref(TABLE_ID), "sort_by"), State(table_ref(TABLE_ID), "page_current"), Input("ineg-ci", "value"),
          prevent_initial_call=True)
def restyle(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, year_opts, sort_by, page,
            ci=None):
    return restyle_outputs(ctx.triggered_id, indicator, year, mode, ref, gap, method, k, breaks, palette, scope,
                           picked, year_opts, sort_by, page, ci)


def restyle_outputs(trig, indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked=None,
                    year_opts=None, sort_by=None, page=0, ci=None):
    """A control changed (`trig`: its id): in one round trip, the map's new style (one
    character per QPV, restyled in place in the browser), legend, table page, notes, source,
    the controls that follow the indicator (years, reference levels) and the mode (palettes,
    manual breaks, gap options), the selected QPV's panel, and on a scope change the new
    geometry URL, view and QPV list."""
    indicator, year, mode, ref, gap, method, k, breaks, palette, scope = _controls(
        indicator, year, mode, ref, gap, method, k, breaks, palette, scope)
    picked = picked if isinstance(picked, str) and iv.CODE_RE.match(picked) else None
    years_out = year_value = refs_out = pal_opts = no_update
    if trig == "ineg-indicator":
        years_out, year = next_year(indicator, year, year_opts)
        year_value, refs_out = year, reference_options(indicator)
    if trig in ("ineg-indicator", "ineg-mode"):
        pal_opts = palette_options(mode, iv.high_is_bad_of(iv.qpv_indicators(), indicator))
    scope_changed = trig == "ineg-scope"
    layer = communes = viewport = pick_opts = pick_value = no_update
    if scope_changed:
        sc = access.parse_scope(scope)
        b = scope_bounds(sc)
        viewport = {"bounds": [[b[1], b[0]], [b[3], b[2]]], "transition": "fitBounds"} if b else no_update
        index = option_index(qpv_pick_options, scope)
        keep = picked if picked in index else None
        pick_opts = initial_options(index, keep)
        if keep != picked:
            pick_value, picked = keep, keep
        layer, communes = layer_url("qpv", sc), commune_layer_url(sc)
    st = _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, ci=ci)
    v = compute_view(st)
    n_pages = iv.page_count(v)
    page = int(page or 0)
    page_out = no_update
    if page >= n_pages:
        page, page_out = 0, 0
    pal_value = st.palette if st.palette != palette else no_update
    panel_out = panel(st, picked) if picked and trig != "ineg-palette" else no_update     # its class may change
    return (iv.style(v, picked if scope_changed else None, with_codes=scope_changed), rendered(v, "legend"),
            iv.table_page(v, sort_by, page), rendered(v, "columns"), n_pages, page_out, rendered(v, "notes"),
            rendered(v, "source"), years_out, year_value, refs_out, pal_opts, pal_value,
            method != "manual", "control-group" + ("" if mode == "ecart" else " is-secondary"), panel_out,
            layer, communes, viewport, pick_opts, pick_value, classes_summary(st))


@callback(Output(live_style_ref(QPV_LAYER), "data", allow_duplicate=True),
          Output(table_ref(TABLE_ID), "style_data_conditional"),
          Output(table_ref(TABLE_ID), "data", allow_duplicate=True),
          Output(table_ref(TABLE_ID), "page_current", allow_duplicate=True),
          Output("ineg-panel", "children", allow_duplicate=True),
          Output("ineg-qpv-pick", "options", allow_duplicate=True),
          Input("ineg-qpv-pick", "value"), Input(table_ref(TABLE_ID), "page_current"),
          Input(table_ref(TABLE_ID), "sort_by"), *CONTROL_STATES, State("ineg-qpv-pick", "options"),
          State("ineg-ci", "value"), prevent_initial_call=True)
def select(code, page, sort_by, *controls_and_options):
    return select_outputs(ctx.triggered_id, code, page, sort_by, *controls_and_options)


def select_outputs(trig, code, page, sort_by, indicator, year, mode, ref, gap, method, k, breaks, palette, scope,
                   options=None, ci=None):
    """A QPV was selected (map, picker, table) or the table turned a page or its sort: in one
    round trip, the QPV outlined on the map, its table row highlighted on the page that holds it
    (as currently sorted), its panel, and its option in the picker when the picker lacks it."""
    code = code if isinstance(code, str) and iv.CODE_RE.match(code) else None
    indicator, year, mode, ref, gap, method, k, breaks, palette, scope = _controls(
        indicator, year, mode, ref, gap, method, k, breaks, palette, scope)
    st = _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, code, ci=ci)
    v = compute_view(st)
    if trig != "ineg-qpv-pick":
        return no_update, no_update, iv.table_page(v, sort_by, page), no_update, no_update, no_update
    page = iv.page_of(v, code, sort_by)
    have = {o.get("value") for o in options or [] if isinstance(o, dict)}
    opts = no_update
    if code and code not in have:
        opts = initial_options(option_index(qpv_pick_options, scope), code)
    return ({"selected": code}, _selected_style(code),
            iv.table_page(v, sort_by, page) if page is not None else no_update,
            page if page is not None else no_update, panel(st, code), opts)


# Map clicks and table clicks select in the browser: the pick's value then drives `select`.
clientside_callback(
    """function (feature) {
        if (!feature || !feature.properties || !feature.properties.code) {
            return window.dash_clientside.no_update;
        }
        return feature.properties.code;
    }""",
    Output("ineg-qpv-pick", "value", allow_duplicate=True), Input(QPV_LAYER, "clickData"),
    prevent_initial_call=True)

clientside_callback(
    """function (cell, rows) {
        const nu = window.dash_clientside.no_update;
        if (!cell) { return nu; }
        const r = (rows || [])[cell.row];
        const code = cell.row_id || (r && r.id);
        if (!code) { return nu; }
        window.atlas.reveal("%s", "%s", code);     // the map back into view, the QPV in it
        return code;
    }""" % (MAP_ID, QPV_LAYER),
    Output("ineg-qpv-pick", "value", allow_duplicate=True),
    Input(table_ref(TABLE_ID), "active_cell"), State(table_ref(TABLE_ID), "data"),
    prevent_initial_call=True)


# The URL follows the view in the browser (map moves fire often: no server round trip). Same
# parameters, order and encoding as state_query; an unchanged URL is not written again.
clientside_callback(
    """function (indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, center, zoom, ci) {
        const p = new URLSearchParams();
        const add = function (key, v) { if (v !== null && v !== undefined && v !== "") { p.append(key, String(v)); } };
        add("indicator", indicator); add("year", year); add("mode", mode); add("ref", ref); add("gap", gap);
        add("method", method); add("k", k); add("palette", palette);
        if (method === "manual") { add("breaks", breaks); }
        add("scope", scope); add("qpv", picked);
        if (center && zoom !== null && zoom !== undefined) {
            const lat = Array.isArray(center) ? center[0] : center.lat;
            const lng = Array.isArray(center) ? center[1] : (center.lng !== undefined ? center.lng : center.lon);
            if (isFinite(lat) && isFinite(lng) && isFinite(zoom)) {
                add("view", Number(lat).toFixed(5) + "," + Number(lng).toFixed(5) + "," + String(Number(zoom)));
            }
        }
        if (ci && ci !== "%s") { add("ic", ci); }
        const q = "?" + p.toString();
        return q === window.location.search ? window.dash_clientside.no_update : q;
    }""" % DEFAULT_LEVEL,
    Output("url-state", "search", allow_duplicate=True),
    *CONTROL_INPUTS, Input("ineg-qpv-pick", "value"), Input(MAP_ID, "center"), Input(MAP_ID, "zoom"),
    Input("ineg-ci", "value"), prevent_initial_call=True)


# --- Funnel plot ----------------------------------------------------------------------------------

# The chart is mounted (and Plotly loaded) once the map has drawn.
defer_graphs(MAP_ID, [funnel.GRAPH_ID], {funnel.GRAPH_ID: funnel.COMPANIONS})


def funnel_outputs(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, ci=None) -> tuple:
    """(figure, graph style, texts, source line) of the funnel plot for the controls' values."""
    st = _state(*_controls(indicator, year, mode, ref, gap, method, k, breaks, palette, scope), ci=ci)
    v = compute_view(st)

    def render():
        fu = fn.funnel(v)
        src = funnel.source(v, fu)
        if src:
            src += " " + " ".join(p.children.strip() for p in source_line(st, v))
        return funnel.figure(v, fu), funnel.graph_style(fu), funnel.texts(v, fu), src
    return v.memo("funnel_render", render)         # rendered once per view: fifty people pay it once


@callback(Output(funnel.GRAPH_ID, "figure"), Output(funnel.GRAPH_ID, "style"), Output("ineg-funnel-source", "children"),
          Output("ineg-funnel-text", "children"), *CONTROL_INPUTS, Input("ineg-ci", "value"))
def update_funnel(*controls):
    """The funnel's figure (hidden when there is none, its export buttons with it: assets/style.css),
    source line and text: when the chart is inserted (after the map, with its texts), then at each
    change. Every output is inserted with the chart: the callback never runs before it exists."""
    fig, style, texts, src = funnel_outputs(*controls)
    return fig, style, src, texts
