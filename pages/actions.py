"""Actions: local health actions per theme per 10,000 inhabitants (QPV or commune).

Filters (theme and sub-theme, public, years, porteur, scheme, scope) drive a density
choropleth with the actions as clustered points, a theme x territory heatmap, the list of
actions with their fiche, and the "besoins / actions" scatter (proportionate universalism).
Every filter, the level, the need indicator and the selected action live in the URL.
"""

from dataclasses import replace
from functools import lru_cache
from urllib.parse import urlencode

import dash
import dash_leaflet as dl
import pandas as pd
import shapely
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from components import action_map, guard
from components.action_charts import (ACTION_COLUMNS, DENSITY_PAGE_SIZE, PAGE_SIZE, action_page, action_source_text,
                                      density_columns, density_page, heatmap_figure, scatter, selected_style,
                                      source_line)
from components.charts import defer_graphs, deferred_graph
from components.geo_routes import layer_url
from components.maps import (SPECK_NOTE, atlas_map, commune_layer_url, legend, live_style, live_style_ref, ns,
                             register_tooltips)
from components.notices import folded_notes, url_notices
from components.scope import checked_scope, scope_dropdown, scope_label, scope_value
from components.search_dropdown import initial_options, register_search, remember, search_dropdown
from components.tables import paged_table, table_ref
from data import access
from data.views.actions import (HEAT_MODES, LEVELS, LEVEL_SHORT, MULTI_AXIS, MULTI_COLOR, PLACEMENT_TEXT, View,
                                ViewState, ZERO_COLOR, axes, axis_colors, centroids, clean_value, compute,
                                density_classes, filtered_actions, first_of, need_options, parse_state, ref,
                                state_from_controls, state_search, theme_labels, years_text)
from data.action_analysis import place_points
from data.analysis import fmt

dash.register_page(__name__, path="/actions", name="Actions", title="Atlas ASV — Actions", order=3,
                   multi_params=("theme", "public", "porteur"))



# --- Pieces of the view ----------------------------------------------------------------------

def count_summary(v: View) -> list:
    """One line above the map: how many actions pass the filters, and how many belong to the
    territory; where no list of actions is loaded at all, that it is not (never "0 action")."""
    if v.n_total == 0 and not access.registry_loaded("actions"):
        return [html.Span([html.Strong("Actions non recensées : "),
                           "aucune liste d'actions n'est chargée dans cette base (ce n'est pas « 0 action »). "
                           "Importez-la (page Importer, ou « python -m etl import actions FICHIER "
                           "--territoire … »)."], className="note", id="act-unlisted-note",
                          style={"display": "block"})]
    n = len(v.acts)
    located = int(v.dens.n.sum()) if len(v.dens) else 0
    return [html.Strong(f"{fmt(n, 0)} action{'s' if n > 1 else ''}", id="act-count-n"),
            f" correspond{'ent' if n > 1 else ''} aux filtres (sur {fmt(v.n_total, 0)} actions chargées) ; "
            f"{fmt(located, 0)} rattachée{'s' if located > 1 else ''} à "
            f"{'un QPV' if v.state.level == 'qpv' else 'une commune'} du territoire choisi."]


def map_notes(v: View) -> list:
    """Under the map: where its points stand, and the territories whose actions are not listed
    (folded in one line that opens)."""
    placed = v.placed.placement.value_counts().to_dict()
    text = (f"Sur la carte : {fmt(placed.get('coordonnees', 0), 0)} actions placées par leurs coordonnées, "
            f"{fmt(placed.get('qpv', 0), 0)} au centre de leur QPV, {fmt(placed.get('commune', 0), 0)} au centre "
            "de leur commune")
    unplaced = len(v.acts) - sum(placed.values())
    if unplaced:
        text += f" ; {fmt(unplaced, 0)} sans localisation (seulement dans la liste)"
    unlisted = int((~v.dens.listed).sum()) if "listed" in v.dens else 0
    notes = []
    if unlisted and v.n_total:
        unit = "QPV" if v.state.level == "qpv" else "communes"
        notes.append(html.P([html.Strong("Actions non recensées : "),
                             f"pour {fmt(unlisted, 0)} {unit} (en gris), aucune liste d'actions n'est chargée ; "
                             "leur nombre d'actions n'est pas connu, ce n'est pas 0."],
                            className="note", id="act-unlisted-note"))
    return [html.P(text + ".", className="muted map-caption", id="act-placement")] + folded_notes(
        notes, "Remarques sur ces chiffres")


def territory_hideout(v: View) -> dict:
    """The density layer's style data: classes and statuses; the tooltips are fetched when one opens
    (/tooltip/actions, tooltip_lines), not sent for every territory."""
    cl, colors, classes, status = density_classes(v.dens)
    tip = "/tooltip/actions?" + urlencode({"q": state_search(replace(v.state, action=None)).lstrip("?")})
    return {"classes": classes, "colors": colors, "status": status, "tip": tip}


def tooltip_lines(v: View, code: str) -> list[str] | None:
    """A territory's tooltip lines in a view (None: not in it)."""
    rows = v.memo("dens_by_code", lambda: v.dens.set_index("code", drop=False))
    if code not in rows.index:
        return None
    r = rows.loc[code]
    terr = v.memo("terr_by_code", lambda: v.terr.set_index("code"))
    pop = clean_value(r.population)
    p15 = " (périmètre 2015 du quartier)" if terr.pop_perimeter.get(code) == "perimetre_2015" else ""
    p15 += f" ({terr.pop_year[code]})" if isinstance(terr.pop_year.get(code), str) else ""
    pop_line = f"Population : {fmt(pop, 0)}{p15}" if pop is not None else "Population inconnue"
    if not r.listed:
        return ["Actions non recensées : aucune liste d'actions chargée pour ce territoire", pop_line]
    return [f"{fmt(r.n, 0)} action{'s' if r.n > 1 else ''}", pop_line,
            (f"{fmt(r.density, 1)} pour 10 000 habitants" if not pd.isna(r.density)
             else "Densité non calculable (population inconnue)")]


def _tooltip(query: dict, code: str) -> list[str] | None:
    from urllib.parse import parse_qs

    return tooltip_lines(compute(parse_state(parse_qs(str(query.get("q") or "")))), code)


register_tooltips("actions", _tooltip)


def territory_legend(v: View) -> html.Div:
    cl, colors, classes, status = density_classes(v.dens)
    n_zero = sum(1 for i in classes.values() if i == 0)
    items = [(ZERO_COLOR, "Aucune action", fmt(n_zero, 0))]
    if cl:
        items += [(colors[i + 1], lab, fmt(cnt, 0)) for i, (lab, cnt) in enumerate(zip(cl.labels(1), cl.counts))]
    n_missing = sum(1 for s in status.values() if s == "missing")
    n_unknown = sum(1 for s in status.values() if s == "unknown")
    items.append(("missing", "Population inconnue : densité non calculable", fmt(n_missing, 0)))
    if n_unknown:
        items.append(("unknown", "Actions non recensées (liste d'actions non chargée)", fmt(n_unknown, 0)))
    note = ("Classes par quantiles des densités non nulles. Blanc hachuré : la population du territoire "
            "n'est pas connue, sa densité n'est donc pas calculée ; ce n'est pas « 0 action » (ses actions "
            "restent sur la carte et dans la liste).")
    if n_unknown:
        note += (" Gris : aucune liste d'actions n'est chargée pour ce territoire ; son nombre d'actions n'est "
                 "pas connu, ce n'est pas « aucune action ».")
    n15 = int((v.terr.pop_perimeter == "perimetre_2015").sum())
    if n15:
        note += (f" Pour {fmt(n15, 0)} {LEVEL_SHORT[v.state.level]}, la population est celle du périmètre 2015 "
                 "du quartier : densité approchée.")
    if v.state.level == "qpv":
        note += " " + SPECK_NOTE
    return legend(items, f"Actions pour 10 000 habitants, par {LEVEL_SHORT[v.state.level]}", note,
                  legend_id="act-legend")


def points_legend(v: View) -> html.Div:
    placed = v.placed[v.placed.placement.notna()]
    ax = placed.axis.value_counts().to_dict() if len(placed) else {}
    labels = theme_labels()
    cols = axis_colors()
    items = [(cols[a], labels.get(a, a), fmt(ax.get(a, 0), 0)) for a in axes()]
    items.append((MULTI_COLOR, "Plusieurs axes", fmt(ax.get(MULTI_AXIS, 0), 0)))
    approx = int(placed.placement.isin(["qpv", "commune"]).sum()) if len(placed) else 0
    note = (f"Points regroupés quand ils sont proches (cliquer pour zoomer), au plus un repère par carré de "
            f"64 pixels : la carte ne reçoit que ce qu'elle montre. {fmt(approx, 0)} action(s) sans coordonnées "
            "sont placées au centre de leur QPV ou de leur commune : l'infobulle l'indique ; à fort zoom, les "
            "actions placées au même endroit sont disposées en cercle autour de lui.")
    return legend(items, "Actions (couleur : axe du référentiel ASV)", note, legend_id="act-points-legend")


def fiche(rec: dict | None, placement: str | None) -> list:
    """The fiche of one action. Every string from data goes through Dash components (escaped)."""
    if not rec:
        return [html.P("Cliquez sur une action (carte ou liste) pour afficher sa fiche.", className="muted",
                       id="act-fiche-empty")]

    def row(label, value, empty="n.d."):
        value = clean_value(value)
        return [html.Dt(label), html.Dd(value if value not in (None, "") else empty)]

    where = PLACEMENT_TEXT.get(placement, "Non placée sur la carte (aucune localisation)")
    if placement == "coordonnees":
        where += f" ({fmt(rec['lon'], 5)} ; {fmt(rec['lat'], 5)})"
    qpv = f"{rec['qpv_name']} ({rec['qpv_code']})" if clean_value(rec.get("qpv_code")) else None
    commune = f"{rec['commune_name']} ({rec['commune_code']})" if clean_value(rec.get("commune_code")) else None
    scheme = None
    if clean_value(rec.get("scheme_id")):
        scheme = [f"{rec.get('scheme_kind') or ''} {rec.get('scheme_name') or rec['scheme_id']}".strip(), " — ",
                  dcc.Link("ses actions", href="/actions?" + urlencode({"scheme": rec["scheme_id"]}))]
    source = clean_value(rec.get("source_title"))
    if source and clean_value(rec.get("source_vintage")):
        source += f" (millésime {rec['source_vintage']})"
    if clean_value(rec.get("import_file")):
        source = f"{source or ''} — import {rec['import_file']} du {str(rec['imported_at'])[:10]}"
    dl_rows = (row("Années", years_text(rec.get("year_start"), rec.get("year_end"))) + row("Porteur", rec.get("porteur"))
               + row("Thématiques", rec.get("themes")) + row("Publics", rec.get("publics"))
               + row("Quartier (QPV)", qpv, "aucun (action rattachée à la commune)" if commune else "n.d.")
               + row("Commune", commune) + row("Sur la carte", where)
               + row("Dispositif", scheme, "aucun dispositif renseigné")
               + row("Financeurs", rec.get("funders"), "non renseignés")
               + row("Identifiant", rec.get("action_id")) + row("Source", source))
    return [
        html.H3(rec["title"], id="act-fiche-title"),
        html.P(clean_value(rec.get("description")) or "Pas de description.", id="act-fiche-description"),
        html.Dl(dl_rows, className="fiche-dl"),
    ]


def placement_of(action_id: str | None) -> str | None:
    if not action_id:
        return None
    rec = access.action_record(action_id)
    if rec is None:
        return None
    p = place_points(pd.DataFrame([rec])[["action_id", "lon", "lat", "qpv_code", "commune_code"]],
                     centroids("qpv"), centroids("commune"))
    return p.placement.iloc[0]


def fiche_for(action_id: str | None) -> list:
    rec = access.action_record(action_id) if action_id else None
    return fiche(rec, placement_of(action_id) if rec else None)


def scope_bbox(scope) -> tuple | None:
    """(minx, miny, maxx, maxy) of the scope, or of everything loaded (once per DB version)."""
    return _scope_bbox(access.version(), tuple(scope) if scope else None)


@lru_cache(maxsize=64)
def _scope_bbox(ver, scope) -> tuple | None:
    b = access.bounds(*scope) if scope else None
    if b is None:
        for level in ("departement", "qpv"):
            g = access.geometries(level)
            if not g.empty:
                return tuple(shapely.bounds(g.geometry.values).reshape(-1, 4).min(axis=0)[:2]) + \
                    tuple(shapely.bounds(g.geometry.values).reshape(-1, 4).max(axis=0)[2:])
    return b


def map_bounds(scope) -> list | None:
    b = scope_bbox(scope)
    return None if b is None else [[b[1], b[0]], [b[3], b[2]]]


def territory_url(st: ViewState, too_many: bool = False) -> str:
    """Geometry URL of the density layer; an empty layer when the scope holds too many communes."""
    if too_many:
        return layer_url("commune", ("commune", "-"))
    return layer_url(st.level, st.scope)


# --- Layout -----------------------------------------------------------------------------------

def _shown(visible: bool) -> dict:
    """Inline display toggle (the `hidden` attribute loses against classes that set display)."""
    return {} if visible else {"display": "none"}


def _control(label: str, component, cid: str, **kw) -> html.Div:
    return html.Div([html.Label(label, htmlFor=cid), component], className="control", **kw)


def _radio_group(label: str, cid: str, value: str, options: dict) -> html.Fieldset:
    """Radio buttons grouped under a legend (read out by screen readers)."""
    return html.Fieldset([
        html.Legend(label, className="control-label", style={"padding": 0}),
        dcc.RadioItems(id=cid, value=value, inline=True,
                       options=[{"label": lab, "value": k} for k, lab in options.items()],
                       inputStyle={"marginRight": ".3rem"}, labelStyle={"marginRight": "1rem"}),
    ], className="control", style={"border": "none", "padding": 0, "margin": 0})


def theme_options() -> list[dict]:
    th = ref("themes")
    labels = dict(zip(th.theme_id, th.label))
    return [{"label": labels[t] if not isinstance(p, str) else f"{labels[p]} › {labels[t]}", "value": t}
            for t, p in zip(th.theme_id, th.parent_id)]


def porteur_options() -> list[dict]:
    return [{"label": p, "value": p} for p in ref("porteurs")]


def scheme_options() -> list[dict]:
    sch = ref("schemes")
    return [{"label": f"{k} — {n}", "value": s} for s, k, n in zip(sch.scheme_id, sch.kind, sch.name)]


# Porteurs and schemes grow with the territory loaded (hundreds in France): searched on the server.
register_search("act-porteurs", porteur_options)
register_search("act-scheme", scheme_options)


def year_bounds() -> tuple[int, int]:
    return ref("action_years") or (2020, 2024)


def controls(st: ViewState) -> html.Div:
    yb = year_bounds()
    years = list(st.years or yb)
    pub = ref("publics")
    step = 1 if yb[1] - yb[0] <= 6 else (2 if yb[1] - yb[0] <= 14 else 5)
    marks = {y: str(y) for y in range(yb[0], yb[1] + 1, step)}
    return html.Div([
        _radio_group("Niveau", "act-level", st.level, LEVELS),
        scope_dropdown("act-scope", scope_value(st.scope)),
        _control("Thèmes et sous-thèmes (référentiel ASV)",
                 dcc.Dropdown(id="act-themes", options=theme_options(), value=st.themes, multi=True,
                              placeholder="Tous les thèmes", style={"minWidth": "300px"}), "act-themes"),
        _control("Publics", dcc.Dropdown(id="act-publics", value=st.publics, multi=True,
                                         options=[{"label": lab, "value": p} for p, lab in zip(pub.public_id, pub.label)],
                                         placeholder="Tous les publics", style={"minWidth": "240px"}), "act-publics"),
        _control("Porteur", search_dropdown("act-porteurs", st.porteurs, multi=True,
                                            placeholder="Tous les porteurs", style={"minWidth": "240px"}),
                 "act-porteurs"),
        _control("Dispositif (ASV, CLS…)",
                 search_dropdown("act-scheme", st.scheme, placeholder="Tous les dispositifs",
                                 style={"minWidth": "240px"}), "act-scheme"),
        html.Div([html.Span(f"Années (actions en cours) : {years[0]}–{years[1]}", className="control-label",
                            id="act-years-label"),
                  dcc.RangeSlider(id="act-years", min=yb[0], max=yb[1], step=1, value=years, marks=marks,
                                  allowCross=False, tooltip={"placement": "bottom"})],
                 className="control", style={"minWidth": "320px", "flex": "1"}),
        html.Div(dcc.Link("Réinitialiser les filtres", href="/actions", refresh=True), className="control",
                 style={"minWidth": "auto"}),
    ], className="controls", role="group", **{"aria-label": "Filtres des actions"})


def view_title(**query) -> str:
    """The filters of the Actions page in words (a slide's title): themes, territory, years."""
    st = parse_state(query)
    labels = theme_labels()
    themes = ", ".join(labels.get(t, t) for t in st.themes) or "tous les thèmes"
    years = f"{st.years[0]}–{st.years[1]}" if st.years else "toutes les années"
    return f"Actions de santé ({themes}) — {scope_label(st.scope)} — {years}"


def layout(**query):
    try:
        access.meta()
    except FileNotFoundError as exc:
        return html.Div([html.H1("Actions"), html.P(str(exc), className="note")])
    st = parse_state(query)
    _, notices = checked_scope(first_of(query.get("scope")))
    v = compute(st)
    _, sc_items, sc_note, sc_source = v.memo("scatter", lambda: scatter(v))
    dens_rows, dens_pages = density_page(v)
    act_rows, act_pages = action_page(v)
    needs = need_options()
    bbox = scope_bbox(st.scope)
    return html.Div([
        dcc.Store(id="act-selected", data=st.action), action_map.query_store(st),
        html.H1("Actions de santé par thème"),
        html.P("Combien d'actions de santé pour 10 000 habitants, par quartier prioritaire ou commune et par "
               "thème, et là où les besoins sont les plus forts\u202f?", className="lead page-intro"),
        url_notices(notices),
        controls(st),
        html.P(count_summary(v), id="act-count", role="status", className="count-line"),
        html.H2(["Densité d'actions — ", html.Span(scope_label(st.scope), id="act-scope-title")],
                className="map-heading"),
        html.Div([
            html.Div([
                live_style("act-territories"),       # restyled in place: see components.maps.live_style
                atlas_map("act-map", [
                    ("Densité d'actions", dl.GeoJSON(
                        id="act-territories", url=territory_url(st, v.too_many), format="geobuf", style=ns("style"), onEachFeature=ns("onEachFeature"),
                        hideout=territory_hideout(v)), True),
                    # the server sends what the view shows (components/action_map.py): density first,
                    # points on demand
                    ("Actions (points)", action_map.points_layer(st, bbox), bool(st.action)),
                ], within=st.scope, bounds=bbox, height="580px"),
                html.P("Trop de communes pour ce territoire : choisissez un département ou un EPCI.",
                       className="note", id="act-too-many", hidden=not v.too_many),
                html.Div(map_notes(v), id="act-map-notes"),
                source_line(v),
            ]),
            html.Div([
                html.Section([
                    html.Div([html.H2("Fiche de l'action", style={"margin": 0}),
                              html.Button("Fermer la fiche", id="act-fiche-close", className="btn btn-secondary",
                                          n_clicks=0, style=_shown(bool(st.action)))],
                             style={"display": "flex", "justifyContent": "space-between", "alignItems": "center"}),
                    html.Div(fiche_for(st.action), id="act-fiche"),
                ], className="card fiche-panel", id="act-fiche-panel", tabIndex="-1",
                    **{"aria-live": "polite", "aria-label": "Fiche de l'action"}),
                html.Div(territory_legend(v), id="act-legend-wrap"),
                html.Div(points_legend(v), id="act-points-legend-wrap", style={"marginTop": ".6rem"}),
            ]),
        ], className="grid-2"),
        html.H2("Thèmes et territoires"),
        html.Div([
            _radio_group("Valeurs affichées", "act-heat", st.heat, HEAT_MODES),
        ], className="controls"),
        deferred_graph("act-heatmap"),
        source_line(v, "act-heat-sources"),
        html.P("Mêmes chiffres en tableau (tous les territoires) :", className="muted"),
        paged_table("act-density", dens_rows, density_columns(v), dens_pages, "densite_actions",
                    export_query=state_search(st), page_size=DENSITY_PAGE_SIZE),
        html.H2("Besoins et actions (universalisme proportionné)"),
        html.P("Chaque point est un QPV : en abscisse un indicateur de besoin, en ordonnée le nombre d'actions pour "
               "10 000 habitants. La zone orangée regroupe les quartiers où le besoin dépasse la médiane et où les "
               "actions sont au plus à la médiane : ceux vers lesquels renforcer l'effort en priorité.",
               className="lead"),
        html.Div([_control("Indicateur de besoin (dernière année disponible)",
                           dcc.Dropdown(id="act-need", value=st.need, clearable=False,
                                        options=[{"label": f"{r.label} ({r.unit})", "value": r.indicator_id}
                                                 for r in needs.itertuples()], style={"minWidth": "420px"}),
                           "act-need")], className="controls"),
        html.Div([
            deferred_graph("act-scatter"),
            html.Div([html.H3("QPV à besoin élevé et peu d'actions"),
                      html.Ol(sc_items or [html.Li("Aucun QPV dans ce quadrant.")], id="act-quadrant-list",
                              className="quadrant-list")]),
        ], className="grid-2"),
        html.P(sc_note, className="muted", id="act-scatter-note"),
        html.P(sc_source, className="source-line", id="act-scatter-source"),
        html.H2("Liste des actions"),
        html.P("Cliquez sur une ligne pour ouvrir la fiche de l'action (à côté de la carte), ou choisissez-la "
               "ci-dessous au clavier.", className="muted"),
        html.Div([_control("Ouvrir la fiche de l'action",
                           search_dropdown("act-pick", None, pick_index(v),
                                           placeholder="Rechercher une action par son titre",
                                           style={"minWidth": "420px"}), "act-pick")], className="controls"),
        paged_table("act-list", act_rows, ACTION_COLUMNS, act_pages, "actions", export_query=state_search(st),
                    page_size=PAGE_SIZE, style_data_conditional=selected_style(st.action)),
        html.P(action_source_text(), className="source-line", id="act-list-source"),
    ], className="actions-page")


def pick_index(v: View, deps: tuple | None = None):
    """The act-pick options of a view (built once per view), remembered for the first search under
    `deps`: the values of the filter controls (by default, those the layout gives them, see controls())."""
    st = v.state
    if deps is None:
        deps = (scope_value(st.scope), st.themes, st.publics, list(st.years or year_bounds()), st.porteurs, st.scheme)
    return remember(filtered_action_options, v.memo("pick", lambda: action_options(v.acts)), *deps)


def action_options(acts: pd.DataFrame) -> list[dict]:
    return [{"label": f"{t} ({years_text(y0, y1)})", "value": a}
            for a, t, y0, y1 in zip(acts.action_id, acts.title, acts.year_start, acts.year_end)]


def filtered_action_options(scope, themes, publics, years, porteurs, scheme) -> list[dict]:
    """The act-pick options for the current filter controls (as the list shows them)."""
    st = state_from_controls("qpv", scope, themes, publics, years, porteurs, scheme, None, "count", None)
    return action_options(filtered_actions(st))


# Every action passing the filters (thousands at national scale): searched on the server.
register_search("act-pick", filtered_action_options,
                State("act-scope", "value"), State("act-themes", "value"), State("act-publics", "value"),
                State("act-years", "value"), State("act-porteurs", "value"), State("act-scheme", "value"))


# --- Callbacks --------------------------------------------------------------------------------

FILTER_INPUTS = [Input("act-level", "value"), Input("act-scope", "value"), Input("act-themes", "value"),
                 Input("act-publics", "value"), Input("act-years", "value"), Input("act-porteurs", "value"),
                 Input("act-scheme", "value"), Input("act-need", "value"), Input("act-heat", "value")]


TABLE_OUTPUTS = [Output(table_ref(t), p, allow_duplicate=True) for t in ("act-density", "act-list")
                 for p in ("data", "page_count", "page_current")]


@callback(
    Output("act-territories", "url"), Output(live_style_ref("act-territories"), "data"),
    Output(action_map.QUERY_STORE, "data"), Output("act-map-base-communes", "url"), Output("act-map", "viewport"),
    Output("act-legend-wrap", "children"), Output("act-points-legend-wrap", "children"),
    Output("act-count", "children"), Output("act-scope-title", "children"), Output("act-too-many", "hidden"),
    Output("act-sources", "children"), Output("act-heat-sources", "children"),
    Output(table_ref("act-density"), "columns"),
    Output("act-quadrant-list", "children"), Output("act-scatter-note", "children"),
    Output("act-scatter-source", "children"), Output("act-pick", "options"),
    Output("act-years-label", "children"), Output("url-state", "search", allow_duplicate=True), *TABLE_OUTPUTS,
    Output("act-map-notes", "children"), *FILTER_INPUTS, State("act-selected", "data"), State("act-map-base-communes", "url"),
    State("act-pick", "value"), State(table_ref("act-density"), "sort_by"), State(table_ref("act-list"), "sort_by"),
    prevent_initial_call=True)
def update_view(level, scope, themes, publics, years, porteurs, scheme, need, heat, selected, base_url,
                pick=None, dens_sort=None, list_sort=None):
    """A filter changed: every piece of the page in one round trip, the tables back to their first
    page (as sorted), the points layer told the new filters (it then asks for its view)."""
    if initial_call():
        raise PreventUpdate  # the layout already shows this state
    st = state_from_controls(level, scope, themes, publics, years, porteurs, scheme, need, heat, selected)
    v = compute(st)
    _, sc_items, sc_note, sc_source = v.memo("scatter", lambda: scatter(v))
    new_base = commune_layer_url(st.scope)
    viewport = {"bounds": map_bounds(st.scope), "transition": "flyToBounds"} if new_base != base_url else no_update
    yb = list(st.years) if st.years else list(ref("action_years") or (None, None))
    dens_rows, dens_pages = density_page(v, dens_sort, 0)
    act_rows, act_pages = action_page(v, list_sort, 0)
    return (
        territory_url(st, v.too_many),
        territory_hideout(v),
        action_map.points_query(st),
        new_base if new_base != base_url else no_update,
        viewport,
        territory_legend(v), points_legend(v), count_summary(v), scope_label(st.scope), not v.too_many,
        source_line(v).children, source_line(v).children, density_columns(v),
        sc_items or [html.Li("Aucun QPV dans ce quadrant.")], sc_note, sc_source,
        initial_options(pick_index(v, (scope, themes, publics, years, porteurs, scheme)), guard.one(pick)),
        f"Années (actions en cours) : {yb[0]}–{yb[1]}",
        state_search(st), dens_rows, dens_pages, 0, act_rows, act_pages, 0, map_notes(v),
    )


FILTER_STATES = [State(i.component_id, i.component_property) for i in FILTER_INPUTS]

# The charts come after the map (their Plotly library is loaded once the map has drawn).
defer_graphs("act-map", ["act-heatmap", "act-scatter"])


@callback(Output("act-heatmap", "figure"), Output("act-scatter", "figure"), *FILTER_INPUTS)
def update_charts(level, scope, themes, publics, years, porteurs, scheme, need, heat):
    """The two charts of the view: when they are inserted (after the map), then at each filter change."""
    v = compute(state_from_controls(level, scope, themes, publics, years, porteurs, scheme, need, heat, None))
    return v.memo("heatmap", lambda: heatmap_figure(v)), v.memo("scatter", lambda: scatter(v))[0]


@callback(Output(table_ref("act-list"), "data"), Output(table_ref("act-list"), "page_count"),
          Input(table_ref("act-list"), "page_current"), Input(table_ref("act-list"), "sort_by"), *FILTER_STATES,
          prevent_initial_call=True)
def turn_action_page(page, sort_by, *filters):
    """A page turned or a sort asked: that page of the list, sorted on the server."""
    rows, n_pages = action_page(compute(state_from_controls(*filters, None)), sort_by, page)
    return rows, n_pages


@callback(Output(table_ref("act-density"), "data"), Output(table_ref("act-density"), "page_count"),
          Input(table_ref("act-density"), "page_current"), Input(table_ref("act-density"), "sort_by"),
          *FILTER_STATES, prevent_initial_call=True)
def turn_density_page(page, sort_by, *filters):
    rows, n_pages = density_page(compute(state_from_controls(*filters, None)), sort_by, page)
    return rows, n_pages


def initial_call() -> bool:
    """Dash calls a page's callbacks when the page is inserted, with every input marked as
    triggered (prevent_initial_call does not stop it for outputs outside the page, such as
    url-state). A user changes one control at a time."""
    return len(dash.ctx.triggered_prop_ids) > 1


def chosen_action(trigger, active_cell, click, pick) -> str | None | bool:
    """The action a click designates; False when the event selects nothing (e.g. a cluster)."""
    if trigger == "act-fiche-close":
        return None
    if trigger == "act-pick":
        return guard.one(pick) or False
    if trigger == "act-points":
        props = (click or {}).get("properties") if isinstance(click, dict) else None
        props = props if isinstance(props, dict) else {}
        if props.get("cluster"):
            return False
        return guard.one(props.get("action_id")) or False
    if isinstance(trigger, dict) and trigger.get("table") == "act-list":
        return guard.one((active_cell or {}).get("row_id")) or False
    return False


@callback(
    Output("act-fiche", "children"), Output("act-selected", "data"), Output("act-fiche-close", "style"),
    Output(table_ref("act-list"), "style_data_conditional"), Output("url-state", "search", allow_duplicate=True),
    Output(table_ref("act-list"), "active_cell"), Output("act-pick", "value"),
    Input(table_ref("act-list"), "active_cell"), Input("act-points", "clickData"), Input("act-pick", "value"),
    Input("act-fiche-close", "n_clicks"),
    State("act-level", "value"), State("act-scope", "value"), State("act-themes", "value"),
    State("act-publics", "value"), State("act-years", "value"), State("act-porteurs", "value"),
    State("act-scheme", "value"), State("act-need", "value"), State("act-heat", "value"),
    prevent_initial_call=True)
def select_action(active_cell, click, pick, _close, level, scope, themes, publics, years, porteurs, scheme,
                  need, heat):
    if initial_call():
        raise PreventUpdate
    aid = chosen_action(dash.ctx.triggered_id, active_cell, click, pick)
    if aid is False or (aid is not None and access.action_record(aid) is None):
        return (no_update,) * 7
    st = state_from_controls(level, scope, themes, publics, years, porteurs, scheme, need, heat, aid)
    # Closing clears the table's active cell and the picker, so the same action can be reopened.
    reset = (None, None) if aid is None else (no_update, no_update)
    return (fiche_for(aid), aid, _shown(aid is not None), selected_style(aid), state_search(st)) + reset


# Bring the fiche into view when it changes (a row far down the list was clicked).
clientside_callback(
    """function (children, selected) {
        const el = document.getElementById('act-fiche-panel');
        if (el && selected) { el.scrollIntoView({block: 'nearest'}); el.focus({preventScroll: true}); }
        return window.dash_clientside.no_update;
    }""",
    Output("act-fiche-panel", "className"), Input("act-fiche", "children"), State("act-selected", "data"),
    prevent_initial_call=True)
