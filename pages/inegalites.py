"""Inégalités: a catalogue indicator mapped on the 2024 QPVs, as values or as gaps to each
QPV's own reference (commune, EPCI, département, région, France), with a legend that counts
QPVs per class, secret and missing values drawn apart, and a table of the same figures (the
accessible alternative to the map), paged and sorted on the server.

Every figure comes from the memoized view of data.views.inegalites. One interaction, one small
round trip: a control change is one callback (`restyle`) whose map part is one character per
QPV (`style`); a selection is one callback (`select`); tooltip text is fetched when a tooltip
opens (/tooltip/inegalites); the layout built for a URL already holds the map's style, its
legend and the first table page, so nothing but Dash's page callback runs on load.
The whole view is in the URL (state_query), so a shared link restores it.
"""
from urllib.parse import urlencode

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash_extensions.javascript import Namespace

from components import guard
from components.geo_routes import layer_url
from components.maps import (SPECK_NOTE, atlas_map, commune_layer_url, legend, live_style, live_style_ref,
                             register_tooltips, territory_layer)
from components.notices import url_notices
from components.scope import LEVEL_LABELS, checked_scope, scope_dropdown, scope_label
from components.search_dropdown import initial_options, option_index, register_search, search_dropdown
from components.tables import paged_table, register_table_export, table_ref
from data import palettes as pal
from data import access
from data import analysis as an
from data.provenance import parse_period, period_token, source_text
from data.views import inegalites as iv
from data.views.inegalites import MODES, ViewState, compute_view, parse_state, state_query

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


# --- Rendering of a view ----------------------------------------------------------------------

def legend_block(st: ViewState, v: iv.View) -> html.Div:
    ind, cls = v.indicator, v.classification
    items = []
    if cls:
        for color, label, n in zip(v.colors, v.labels, cls.counts):
            items.append((color, label, f"{n} QPV"))
    counts = v.status.value_counts().to_dict()
    if counts.get("secret"):
        items.append(("secret", "Secret statistique (non diffusé)", f"{counts['secret']} QPV"))
    if counts.get("missing"):
        items.append(("missing", "Pas de donnée", f"{counts['missing']} QPV"))
    if counts.get("noref"):
        items.append(("missing", "Écart non calculable : référence secrète ou absente", f"{counts['noref']} QPV"))
    labels = access.year_labels(st.indicator, "qpv")
    label = labels.get(st.year if st.year else max(labels or [0]))
    year = f" ({label})" if label else ""
    method = st.method if not v.message else "quantiles"
    if st.mode == "ecart":
        kind = "rapport" if st.gap == "ratio" else "différence"
        ref_years = list(dict.fromkeys(v.frame.loc[v.frame.gap_status.eq("ok"), "ref_year_label"].dropna()))
        ref_year = f", référence : {', '.join(ref_years)}" if ref_years and [label] != ref_years else ""
        title = (f"{ind['short_label']}{year} : écart à la référence « {an.REFERENCE_LEVELS[st.ref]} » "
                 f"({kind}{ref_year})")
        centre = ("1 = même niveau que la référence ; 1,5 = une fois et demie la référence."
                  if st.gap == "ratio" else "0 = même niveau que la référence.")
        note = [centre, f"Classes : {an.GAP_METHODS[method]}.", _direction_text(ind, gap=True)]
    else:
        title = f"{ind['short_label']}{year} ({ind['unit']})"
        note = [f"Classes : {an.METHODS[method].lower()}.", _direction_text(ind)]
    if counts.get("secret") or counts.get("missing") or counts.get("noref"):
        note.append("Les quartiers hachurés (secret) ou en blanc pointillé (sans donnée) ne sont dans "
                    "aucune classe : leur valeur n'est pas connue, elle n'est jamais comptée comme 0.")
    if not cls:
        note.append("Aucune valeur disponible pour ce choix : aucune classe.")
    note.append(SPECK_NOTE)
    return legend(items, title, " ".join(n for n in note if n), legend_id="ineg-legend-box")


def _direction_text(ind: dict, gap: bool = False) -> str:
    hib = ind.get("high_is_bad")
    if iv._nan(hib):
        return "Indicateur sans sens favorable ou défavorable."
    if gap:
        return ("Teintes chaudes : quartier en situation moins favorable que sa référence (valeur plus élevée)."
                if hib else
                "Teintes chaudes : quartier en situation moins favorable que sa référence (valeur plus faible).")
    return ("Couleurs les plus foncées : situation la plus défavorable (valeur élevée)." if hib else
            "Couleurs les plus foncées : situation la plus défavorable (valeur faible).")


def table_columns(st: ViewState, v: iv.View) -> list[dict]:
    ind = v.indicator
    d = iv.decimals_of(ind)
    gap_unit = "" if st.gap == "ratio" else (" (pts)" if ind["unit"] == "%" else f" ({ind['unit']})")
    return [
        {"name": "Quartier (QPV)", "id": "name"},
        {"name": "Code", "id": "code"},
        {"name": "Commune(s)", "id": "communes"},
        _num(f"{ind['short_label']} ({ind['unit']})", "value", d),
        {"name": "Statut", "id": "statut"},
        {"name": "Année décrite", "id": "year"},
        {"name": f"Référence ({an.REFERENCE_LEVELS[st.ref]})", "id": "ref_name"},
        _num("Valeur de référence", "ref_value", d),
        {"name": "Année de la référence", "id": "ref_year"},
        _num(("Écart (rapport)" if st.gap == "ratio" else "Écart (différence)") + gap_unit, "gap",
             2 if st.gap == "ratio" else d),
        {"name": "Classe sur la carte", "id": "classe"},
        {"name": "Périmètre", "id": "perimetre"},
    ]


def _num(name: str, col: str, decimals: int) -> dict:
    return {"name": name, "id": col, "type": "numeric",
            "format": {"locale": {"decimal": ",", "group": "\u202f", "separate_4digits": True},
                       "specifier": f",.{decimals}f"}}


def table_records(st: ViewState, v: iv.View) -> list[dict]:
    """Every table row, in name order (the table shows one page of them)."""
    return list(v.records)


def _names_where(v: iv.View, mask: np.ndarray) -> list[str]:
    return list(v.frame["name"].to_numpy(dtype=object)[mask])


def notes(st: ViewState, v: iv.View) -> list:
    f = v.frame
    status = f["status"].to_numpy(dtype=object)
    perimeter = f["perimeter"].to_numpy(dtype=object)
    geography = f["geography"].to_numpy(dtype=object)
    known = (status == "ok") | (status == "secret")
    out = []
    if v.message:
        out.append(html.P(v.message, className="note", id="ineg-breaks-note"))
    p2015 = known & (perimeter == "perimetre_2015")
    if p2015.any():
        listed = _names_where(v, p2015)
        names = ", ".join(listed[:8]) + (" …" if len(listed) > 8 else "")
        out.append(html.P([html.Strong("Périmètre 2015 : "),
                           f"pour {len(listed)} quartier(s) ({names}), la valeur a été calculée sur le "
                           "périmètre 2015 du quartier, modifié en 2024 : elle décrit un territoire un peu "
                           "différent du quartier actuel. Colonne « Périmètre » du tableau."],
                          className="note", id="ineg-perimeter-note"))
    other = known & (perimeter == "exact") & np.array([isinstance(g, str) and g != "QPV2024" for g in geography],
                                                      dtype=bool)
    if other.any():
        geos = ", ".join(sorted(set(geography[other])))
        out.append(html.P([html.Strong("Autre géographie : "),
                           f"pour {int(other.sum())} quartier(s), la valeur a été publiée sur la géographie {geos} ; "
                           "leur périmètre n'a pas changé en 2024."],
                          className="note", id="ineg-geography-note"))
    ref_ok = f["ref_status"].to_numpy(dtype=object) == "ok"
    years = f["year_label"].to_numpy(dtype=object)
    ref_years = f["ref_year_label"].to_numpy(dtype=object)
    other = (status == "ok") & ref_ok & (years != ref_years)
    if other.any():
        pairs = list(dict.fromkeys(zip(years[other], ref_years[other])))
        said = " ; ".join(f"{y} comparé à {r}" for y, r in pairs[:4])
        out.append(html.P([html.Strong("Années différentes : "),
                           f"pour {int(other.sum())} quartier(s), la référence n'a pas de valeur de la même année : "
                           f"l'écart la compare à celle de l'année la plus proche avant, sinon après ({said}). "
                           "Colonnes « Année décrite » et « Année de la référence » du tableau."],
                          className="note", id="ineg-years-note"))
    if v.refs is None or v.refs.empty:
        avail = [an.REFERENCE_LEVELS[x] for x in v.ref_levels]
        out.append(html.P([html.Strong("Référence : "),
                           f"aucune valeur de cet indicateur à l'échelle « {an.REFERENCE_LEVELS[st.ref]} » ; "
                           + (f"niveaux disponibles : {', '.join(avail)}." if avail else
                              "cet indicateur n'a de valeur de référence à aucune échelle, l'écart ne peut "
                              "pas être calculé.")],
                          className="note", id="ineg-reference-note"))
    if st.ref == "commune" and any(" ; " in c for c in f["communes"].to_numpy(dtype=object)):
        out.append(html.P("Un quartier qui s'étend sur plusieurs communes est comparé à celle qui contient la plus "
                          "grande part de sa surface (le panneau du quartier dit laquelle, et cette part).",
                          className="muted"))
    return out


def source_line(st: ViewState, v: iv.View) -> list:
    f = v.frame
    status = f["status"].to_numpy(dtype=object)
    known = (status == "ok") | (status == "secret")
    col = lambda c: f[c].to_numpy(dtype=object)[known]   # noqa: E731
    srcs = dict.fromkeys(zip(col("source_title"), col("publisher"), col("vintage"), col("geography")))
    parts = []
    if srcs:
        parts.append("Source : " + " ; ".join(
            source_text(title, pub, vint, geo) for title, pub, vint, geo in srcs) + ".")
    else:
        parts.append("Source : aucune valeur pour ce choix.")
    refs = v.refs
    if refs is not None and len(refs):
        rs = dict.fromkeys(zip(refs["source_title"], refs["publisher"], refs["vintage"]))
        years = list(dict.fromkeys(refs.sort_values("period")["year_label"].dropna()))
        parts.append(f"Référence ({an.REFERENCE_LEVELS[st.ref]}) : " + " ; ".join(
            source_text(title, pub, vint) for title, pub, vint in rs)
            + f", année(s) décrite(s) : {', '.join(years)}.")
    else:
        parts.append(f"Référence ({an.REFERENCE_LEVELS[st.ref]}) : aucune valeur disponible.")
    parts.append("Fond de carte : contours des communes et départements de la base (hors ligne) ; "
                 "tuiles OpenStreetMap en option.")
    return [html.Span(p + " ") for p in parts]


# --- Side panel -------------------------------------------------------------------------------

def panel(st: ViewState, code: str | None) -> list:
    """Figures of the selected QPV against every reference level, and a link to its fiche."""
    if not code:
        return [html.P("Cliquez sur un quartier de la carte, ou choisissez-le dans la liste ou le tableau, "
                       "pour voir ses chiffres.", className="muted", id="ineg-panel-empty")]
    t = access.territory("qpv", code)
    if t is None:
        return [html.P("Quartier inconnu.", className="muted")]
    ind = access.indicator(st.indicator)
    d, unit = iv.decimals_of(ind), ind["unit"]
    own = access.values(st.indicator, "qpv", None, st.year)
    own = own[own.code == code]
    r = own.iloc[0] if len(own) else None
    status = r.status if r is not None else "missing"
    value = r.value if r is not None else None
    communes = access.qpv_communes([code])
    rows, ref_sources = [], []
    for level, ref_code in access.reference_chain("qpv", code):
        ref = access.reference_values_at(st.indicator, level, [ref_code], st.year)
        rr = ref.iloc[0] if len(ref) else None
        if rr is not None and isinstance(rr.source_title, str):
            ref_sources.append(source_text(rr.source_title, rr.publisher, rr.vintage))
        rstat = rr.status if rr is not None else "missing"
        rval = rr.value if rr is not None else None
        g = an.gap([value if status == "ok" else float("nan")], [rval if rstat == "ok" else float("nan")], st.gap)[0]
        name = rr["name"] if rr is not None else (access.territory(level, ref_code) or {}).get("name", ref_code)
        rows.append(html.Tr([
            html.Td(f"{LEVEL_LABELS.get(level, level)} — {name}"),
            html.Td([an.fmt_status(rval, rstat, d, unit)]
                    + ([html.Span(f"({rr.year_label})", className="ref-year")] if rr is not None else []),
                    className="num"),
            html.Td(an.fmt_gap(g, st.gap, d, unit), className="num"),
        ]))
    val_text = an.fmt_status(value, status, d, unit)
    year = f" ({r.year_label})" if r is not None and isinstance(r.year_label, str) else ""
    out = [
        html.H3(t["name"], id="ineg-panel-title"),
        html.P([f"QPV {code}", " · ", "commune(s) : ",
                " ; ".join(n for n in communes.commune_name if isinstance(n, str)) or "n.d."], className="muted"),
        html.P([html.Strong(f"{ind['short_label']}{year} : "), html.Span(val_text, id="ineg-panel-value")]
               + ([" ", html.Span("(secret statistique : valeur non diffusée)", className="muted")]
                  if status == "secret" else [])),
    ]
    v = iv.compute_view(st)
    klass = v.class_text(code)
    if klass:
        out.append(html.P([html.Strong("Classe sur la carte : "),
                           html.Span(klass + (f" (sur {len(v.labels)})" if klass[:1].isdigit() else ""),
                                     id="ineg-panel-class")]))
    ref_commune = access.reference_commune_text(code)
    if ref_commune:
        out.insert(2, html.P(ref_commune + ".", className="muted", id="ineg-panel-ref-commune"))
    if r is not None and r.perimeter == "perimetre_2015":
        out.append(html.P("Valeur calculée sur le périmètre 2015 du quartier (contour modifié en 2024, ou statut "
                          "incertain : voir sa fiche).", className="note"))
    out.append(html.Table([
        html.Thead(html.Tr([html.Th("Référence"), html.Th("Valeur (année)", className="num"),
                            html.Th("Écart" + (" (rapport)" if st.gap == "ratio" else " (différence)"),
                                    className="num")])),
        html.Tbody(rows)], className="simple", id="ineg-panel-table"))
    # every figure of the panel says where it comes from: the QPV's value, then its references'
    own = source_text(r.source_title, r.publisher, r.vintage) if r is not None and isinstance(r.source_title, str) \
        else None
    refs_text = " ; ".join(dict.fromkeys(ref_sources))
    text = (f"Source : {own}" + (f" ; références : {refs_text}" if refs_text else "") if own
            else f"Sources des références : {refs_text}" if refs_text else "")
    if text:
        out.append(html.P(text + ".", className="source-line", id="ineg-panel-source"))
    out.append(html.P(dcc.Link("Ouvrir la fiche du quartier", href=f"/fiche?{urlencode({'level': 'qpv', 'code': code})}",
                               id="ineg-fiche-link", className="btn")))
    return out


# --- Controls ---------------------------------------------------------------------------------

def _radio(cid: str, label: str, options: dict, value) -> html.Fieldset:
    return html.Fieldset([
        html.Legend(label, className="control-label"),
        dcc.RadioItems(id=cid, options=[{"label": v, "value": k} for k, v in options.items()], value=value,
                       inline=True, className="radio-inline"),
    ], className="control fieldset")


def _dropdown(cid: str, label: str, options: list, value, **kw) -> html.Div:
    return html.Div([html.Label(label, htmlFor=cid),
                     dcc.Dropdown(id=cid, options=options, value=value, clearable=False, **kw)],
                    className="control")


def palette_options(mode: str, high_is_bad=None) -> list[dict]:
    opts = []
    for name in pal.palettes_for(mode):
        cols = pal.palette(name, 5, high_is_bad)
        opts.append({"label": html.Span([html.Span(className="pal-swatch", style={"background": c}) for c in cols]
                                        + [html.Span(pal.PALETTE_LABELS.get(name, name), className="pal-name")]),
                     "value": name, "search": pal.PALETTE_LABELS.get(name, name)})
    return opts


def reference_label(level: str) -> str:
    v = an.REFERENCE_LEVELS[level]
    return (f"Sa {v}" if level in ("commune", "region") else f"Son {v}" if level in ("epci", "departement")
            else v[:1].upper() + v[1:])


def reference_options(indicator: str | None) -> list[dict]:
    """Reference levels; those without any value of the indicator say so."""
    avail = iv.reference_levels_with_values(indicator) if indicator else []
    return [{"label": reference_label(k) if k in avail else f"{reference_label(k)} (pas de valeur)", "value": k}
            for k in an.REFERENCE_LEVELS]


def indicator_options(cat: pd.DataFrame) -> list[dict]:
    """One option per indicator, saying at which levels a reference exists."""
    out = []
    for r in cat.itertuples(index=False):
        levels = [an.REFERENCE_LEVELS[lv] for lv in iv.reference_levels_with_values(r.indicator_id)]
        refs = f"références : {', '.join(levels)}" if levels else "aucune référence"
        out.append({"label": f"{r.family.capitalize()} — {r.label} ({refs})", "value": r.indicator_id,
                    "search": f"{r.family} {r.label}"})
    return out


def year_options(indicator: str | None) -> list[dict]:
    """One option per period, most recent year described first: "2019" when the year the figures
    describe is known, "millésime de diffusion 2022" otherwise (a vintage repeating an earlier one
    says so). Values are URL tokens (data.provenance.period_token)."""
    labels = access.year_labels(indicator, "qpv") if indicator else {}
    return [{"label": labels[p], "value": period_token(p)} for p in sorted(labels, reverse=True)]


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


def controls(st: ViewState, cat: pd.DataFrame) -> html.Div:
    hib = iv.high_is_bad_of(cat, st.indicator)
    gap_cls = "control-group" + ("" if st.mode == "ecart" else " is-secondary")
    return html.Div([
        html.Div([
            scope_dropdown("ineg-scope", st.scope),
            _dropdown("ineg-indicator", "Indicateur", indicator_options(cat), st.indicator,
                      style={"minWidth": "380px"}),
            _dropdown("ineg-year", "Année décrite (ou millésime)", year_options(st.indicator),
                      period_token(st.year), style={"minWidth": "230px"}),
        ], className="control-row"),
        html.Div([
            _radio("ineg-mode", "Afficher", MODES, st.mode),
            html.Div([
                _dropdown("ineg-ref", "Référence de chaque quartier", reference_options(st.indicator), st.ref),
                _radio("ineg-gap", "Écart calculé en", an.GAP_TYPES, st.gap),
            ], className=gap_cls, id="ineg-gap-controls"),
        ], className="control-row"),
        html.Div([
            _dropdown("ineg-method", "Classes", [{"label": v, "value": k} for k, v in an.METHODS.items()],
                      st.method),
            _radio("ineg-k", "Nombre de classes", {k: str(k) for k in range(3, 8)}, st.k),
            html.Div([html.Label("Seuils manuels (séparés par « ; »)", htmlFor="ineg-breaks"),
                      dcc.Input(id="ineg-breaks", type="text", value=st.breaks, debounce=True,
                                placeholder="ex. 20 ; 30 ; 40", disabled=st.method != "manual",
                                className="text-input")], className="control"),
            _dropdown("ineg-palette", "Couleurs (adaptées aux daltoniens)", palette_options(st.mode, hib),
                      st.palette, style={"minWidth": "260px"}),
        ], className="control-row"),
    ], className="controls ineg-controls")


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
        html.P("Chaque quartier prioritaire (géographie 2024) est coloré selon la valeur d'un indicateur, ou "
               "selon son écart à sa propre commune, son EPCI, son département, sa région ou la France. "
               "Le tableau sous la carte donne les mêmes chiffres.", className="lead"),
        url_notices(notices),
        controls(st, cat),
        html.Div(notes(st, v), id="ineg-notes", **{"aria-live": "polite"}),
        html.Div([
            html.Div([
                live_style(QPV_LAYER),
                html.Div(m, className="map-frame", role="region",
                         **{"aria-label": "Carte des quartiers prioritaires (le tableau ci-dessous en donne les "
                                          "mêmes chiffres)"}),
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
    ], className="page-inegalites")


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
    ind = v.indicator
    title = f"Inégalités entre quartiers prioritaires : {ind['label']}"
    if st.mode == "ecart":
        title += f", écart à la référence « {an.REFERENCE_LEVELS[st.ref]} »"
    meta = [("Titre", title),
            ("Territoire", scope_label(access.parse_scope(st.scope))),
            ("Années décrites", years_described(v)),
            ("Source", " ".join(p.children.strip() for p in source_line(st, v))),
            ("Géographie", "quartiers prioritaires 2024 (valeurs de la géographie 2015 signalées « périmètre 2015 »)")]
    return df, "inegalites_qpv", meta


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


def _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, qpv=None, view=None) -> ViewState:
    return parse_state({"indicator": indicator, "year": year, "mode": mode, "ref": ref, "gap": gap,
                        "method": method, "k": k, "breaks": breaks, "palette": palette, "scope": scope,
                        "qpv": qpv, "view": view})


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
]


@callback(*RESTYLE_OUTPUTS, *CONTROL_INPUTS, State("ineg-qpv-pick", "value"), State("ineg-year", "options"),
          State(table_ref(TABLE_ID), "sort_by"), State(table_ref(TABLE_ID), "page_current"),
          prevent_initial_call=True)
def restyle(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, year_opts, sort_by, page):
    return restyle_outputs(ctx.triggered_id, indicator, year, mode, ref, gap, method, k, breaks, palette, scope,
                           picked, year_opts, sort_by, page)


def restyle_outputs(trig, indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked=None,
                    year_opts=None, sort_by=None, page=0):
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
    st = _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked)
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
            layer, communes, viewport, pick_opts, pick_value)


@callback(Output(live_style_ref(QPV_LAYER), "data", allow_duplicate=True),
          Output(table_ref(TABLE_ID), "style_data_conditional"),
          Output(table_ref(TABLE_ID), "data", allow_duplicate=True),
          Output(table_ref(TABLE_ID), "page_current", allow_duplicate=True),
          Output("ineg-panel", "children", allow_duplicate=True),
          Output("ineg-qpv-pick", "options", allow_duplicate=True),
          Input("ineg-qpv-pick", "value"), Input(table_ref(TABLE_ID), "page_current"),
          Input(table_ref(TABLE_ID), "sort_by"), *CONTROL_STATES, State("ineg-qpv-pick", "options"),
          prevent_initial_call=True)
def select(code, page, sort_by, *controls_and_options):
    return select_outputs(ctx.triggered_id, code, page, sort_by, *controls_and_options)


def select_outputs(trig, code, page, sort_by, indicator, year, mode, ref, gap, method, k, breaks, palette, scope,
                   options=None):
    """A QPV was selected (map, picker, table) or the table turned a page or its sort: in one
    round trip, the QPV outlined on the map, its table row highlighted on the page that holds it
    (as currently sorted), its panel, and its option in the picker when the picker lacks it."""
    code = code if isinstance(code, str) and iv.CODE_RE.match(code) else None
    indicator, year, mode, ref, gap, method, k, breaks, palette, scope = _controls(
        indicator, year, mode, ref, gap, method, k, breaks, palette, scope)
    st = _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, code)
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
        if (cell.row_id) { return cell.row_id; }
        const r = (rows || [])[cell.row];
        return r && r.id ? r.id : nu;
    }""",
    Output("ineg-qpv-pick", "value", allow_duplicate=True),
    Input(table_ref(TABLE_ID), "active_cell"), State(table_ref(TABLE_ID), "data"),
    prevent_initial_call=True)


# The URL follows the view in the browser (map moves fire often: no server round trip). Same
# parameters, order and encoding as state_query; an unchanged URL is not written again.
clientside_callback(
    """function (indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, center, zoom) {
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
        const q = "?" + p.toString();
        return q === window.location.search ? window.dash_clientside.no_update : q;
    }""",
    Output("url-state", "search", allow_duplicate=True),
    *CONTROL_INPUTS, Input("ineg-qpv-pick", "value"), Input(MAP_ID, "center"), Input(MAP_ID, "zoom"),
    prevent_initial_call=True)
