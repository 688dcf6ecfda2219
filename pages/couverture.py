"""Couverture ASV (like the OSCARS map): 2024 QPVs coloured by coverage (ASV; CLS only;
none; unknown where the scheme registry is not loaded: never "none"), toggleable layers for ASV, CLS, CLSM and CPTS territories and the ARS GP zoning
(ZIP, ZAC, ZAR, ZV); a scheme's fiche in a side panel; the QPVs without an ASV ranked by a need
indicator.

URL state: ?scope=level:code&layers=qpv,asv,...&need=<indicator_id>&scheme=<scheme_id>.
Geometry comes once from /geo/*.pbf; callbacks only change urls (scope) and hideouts.
"""
from __future__ import annotations

from urllib.parse import quote

import dash
import dash_leaflet as dl
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.dash_table.Format import Format, Group, Scheme
from dash.exceptions import PreventUpdate
from dash_extensions.javascript import Namespace

from components import guard
from components.charts import graph
from components.geo_routes import layer_url
from components.maps import SPECK_NOTE, atlas_map, commune_layer_url, legend
from components.layout import new_search
from components.portrait import bar_counts
from components.notices import folded_notes, url_notices
from components.scope import checked_scope, parse_scope, scope_dropdown, scope_label, scope_value
from components.search_dropdown import option_index, register_search, search_dropdown
from components.tables import data_table
from data import access, stats
from data.views.couverture import (DEFAULT_LAYERS, KIND_LABELS, KINDS, LAYERS, coverage_frame, layers_from_overlays,
                                    map_sources, need_options, padded_bounds, parse_layers, population_note,
                                    qpv_tooltips, ranking_frame, registry_coverage_text, scheme_fiche_data,
                                    scheme_tooltips,
                                    schemes_in_scope, scope_bounds, state_search, valid_need)
from data.analysis import COVERAGE_LABELS, coverage_counts, fmt
from data.views import intervals

dash.register_page(__name__, path="/couverture", name="Couverture ASV", title="Atlas ASV — Couverture ASV",
                   order=2)

ns_cov = Namespace("atlas", "coverage")
ns_tip = Namespace("atlas", "choropleth")


# QPV fills: a solid colour, stripes and dots (patterns defined in assets/atlas.js),
# each with its own border style, so the categories do not rest on colour alone.
# "speck": the colour of a QPV drawn as a disc at small scale (no pattern left to see there):
# dark and light blue at 4:1 from each other and at least 3:1 from the base map, and red.
COVERAGE_STYLES = {
    "asv": {"fill": "#1f5f8b", "color": "#0b2f4a", "dash": None, "weight": 1.5, "speck": "#0b2f4a"},
    "cls": {"fill": "url(#atlas-pat-cls)", "color": "#1d5f91", "dash": "5 3", "weight": 1.8, "speck": "#3a8fd0"},
    "none": {"fill": "url(#atlas-pat-none)", "color": "#9c1426", "dash": "2 3", "weight": 1.8, "speck": "#b2182b"},
    # unknown (no registry loaded there): neutral grey, no hue of the three known states
    "unknown": {"fill": "#d9d9d9", "color": "#5f5f5f", "dash": "1 4", "weight": 1.6, "speck": "#6e6e6e"},
}
COVERAGE_SWATCHES = {
    "asv": "#1f5f8b",
    "cls": "repeating-linear-gradient(45deg, #2c7bb6 0 3px, #d1e5f0 3px 7px)",
    "none": "radial-gradient(circle, #b2182b 1.4px, #fddbc7 1.8px) 0 0 / 6px 6px",
    "unknown": "#d9d9d9",
}
SCHEME_STYLES = {
    "ASV": {"color": "#0b5e7e", "dash": None, "weight": 3},
    "CLS": {"color": "#6a3d9a", "dash": "9 5", "weight": 3},
    "CLSM": {"color": "#1b7837", "dash": "2 5", "weight": 3.5},
    "CPTS": {"color": "#a34a00", "dash": "12 4 3 4", "weight": 3},
}
ZONING_STYLES = {
    "ZIP": {"color": "#40004b", "dash": None, "weight": 4},
    "ZAC": {"color": "#c51b7d", "dash": "6 4", "weight": 3},
    "ZAR": {"color": "#7f3b08", "dash": "2 3", "weight": 3.5},
    "ZV": {"color": "#4d4d4d", "dash": "10 3 2 3", "weight": 3},
}
ZONING_LABELS = {"ZIP": "ZIP — zone d'intervention prioritaire",
                 "ZAC": "ZAC — zone d'action complémentaire",
                 "ZAR": "ZAR — zone d'accompagnement régional",
                 "ZV": "ZV — zone de vigilance"}


# --- Map --------------------------------------------------------------------------------

def qpv_hideout(cov: pd.DataFrame) -> dict:
    return {"cats": dict(zip(cov.code, cov.category)), "styles": COVERAGE_STYLES, "tooltips": qpv_tooltips(cov)}


def zoning_hideout(cov: pd.DataFrame) -> dict:
    return {"zones": {c: z for c, z in zip(cov.code, cov.zone) if isinstance(z, str)}, "styles": ZONING_STYLES}


def scheme_hideout(kind: str, selected: str | None) -> dict:
    return dict(SCHEME_STYLES[kind], selected=selected, tooltips=scheme_tooltips(kind))


def coverage_map(scope, layers: list[str], selected: str | None, cov: pd.DataFrame) -> dl.Map:
    def pane(key: str, child):
        # One pane per layer: schemes below QPVs (CSS z-index), so a QPV's tooltip stays reachable.
        return dl.Pane(child, name=f"cov-pane-{key}", className=f"cov-pane cov-pane-{key}")

    qpv = dl.GeoJSON(id="cov-qpv", url=layer_url("qpv", scope), format="geobuf", style=ns_cov("style"),
                     onEachFeature=ns_tip("onEachFeature"), hideout=qpv_hideout(cov))
    zoning = dl.GeoJSON(id="cov-zoning", url=layer_url("qpv", scope), format="geobuf",
                        style=ns_cov("zoningStyle"), hideout=zoning_hideout(cov), interactive=False)
    overlays = []
    for kind in KINDS:
        key = kind.lower()
        layer = dl.GeoJSON(id={"type": "cov-scheme-layer", "kind": kind}, url=layer_url("scheme", kind=kind),
                           format="geobuf", style=ns_cov("schemeStyle"), onEachFeature=ns_tip("onEachFeature"),
                           hideout=scheme_hideout(kind, selected))
        overlays.append((LAYERS[key], pane(key, layer), key in layers))
    overlays.append((LAYERS["qpv"], pane("qpv", qpv), "qpv" in layers))
    overlays.append((LAYERS["zonage"], pane("zonage", zoning), "zonage" in layers))
    m = atlas_map("cov-map", overlays, within=scope, bounds=padded_bounds(scope_bounds(scope)), height="600px")
    # dash-leaflet's overlayremove handler filters the control's initial `overlays`: give it one.
    m.children[0].overlays = [name for name, _, checked in overlays if checked]
    return m


def _dash_background(color: str, dash: str | None) -> str:
    """A CSS background drawing a line with the map's dash pattern (legend swatch)."""
    if not dash:
        return color
    stops, pos, on = [], 0, True
    for seg in (float(x) for x in dash.split()):
        stops.append(f"{color if on else 'transparent'} {pos:g}px {pos + seg:g}px")
        pos += seg
        on = not on
    return f"repeating-linear-gradient(90deg, {', '.join(stops)})"


def _line_legend(rows: list[tuple[dict, str, str]], title: str, legend_id: str) -> html.Div:
    items = [html.Li([html.Span(className="swatch swatch-line", **{"aria-hidden": "true"},
                                style={"background": _dash_background(s["color"], s.get("dash")),
                                       "height": f"{max(3, s.get('weight', 3))}px"}),
                      html.Span(label, className="legend-label"), html.Span(count, className="legend-count")])
             for s, label, count in rows]
    return html.Div([html.Div(title, className="legend-title"), html.Ul(items, className="legend-list")],
                    className="legend", id=legend_id, role="group", **{"aria-label": title})






def legends(cov: pd.DataFrame, sch: pd.DataFrame) -> list:
    counts = coverage_counts(cov.category)
    pop = cov.groupby("category").population.sum(min_count=1) if len(cov) else pd.Series(dtype=float)

    def label(cat):
        p = pop.get(cat)
        return COVERAGE_LABELS[cat] + (f" — {fmt(p, 0)} hab." if p is not None and not pd.isna(p) else "")

    note = [("Gris : {} QPV dont la couverture est inconnue, le registre des dispositifs n'étant pas chargé pour "
             "leur territoire (ce n'est pas une absence d'ASV).".format(counts["unknown"])) if counts["unknown"] else None,
            "Un QPV est couvert par un dispositif qui le cite ou qui couvre sa commune. Rayures : CLS seulement ; "
            "points : ni ASV ni CLS.", population_note(cov), SPECK_NOTE,
            "Pastilles : bleu foncé pour un ASV, bleu clair pour un CLS seulement, rouge pour ni ASV ni CLS"
            + (", gris pour une couverture inconnue" if counts["unknown"] else "")
            + " ; l'infobulle et la liste des quartiers sans ASV disent la catégorie."]
    shown = [c for c in ("asv", "cls", "none", "unknown") if c != "unknown" or counts[c]]
    cov_legend = legend([(COVERAGE_SWATCHES[c], label(c), f"{counts[c]} QPV") for c in shown],
                        "Couverture des QPV 2024", note=note, legend_id="cov-legend")
    kind_counts = sch.kind.value_counts() if len(sch) else {}
    scheme_legend = _line_legend(
        [(SCHEME_STYLES[k], f"{k} — {KIND_LABELS[k]}", f"{int(kind_counts.get(k, 0))}") for k in KINDS],
        "Territoires des dispositifs (contours)", "cov-legend-schemes")
    zc = cov.zone.value_counts()
    zoning_legend = _line_legend([(ZONING_STYLES[z], ZONING_LABELS[z], f"{int(zc.get(z, 0))} QPV") for z in ZONING_STYLES
                                  if z in ("ZIP", "ZAC") or zc.get(z, 0)],
                                 "Zonage ARS médecins généralistes", "cov-legend-zoning")
    return [cov_legend, scheme_legend, zoning_legend]


# --- Schemes: list and fiche --------------------------------------------------------------------

def scheme_list(sch: pd.DataFrame, selected: str | None, scope=None) -> html.Div:
    if sch.empty:
        if access.registry_state("schemes", scope) != "complete":
            return html.P("Registre des dispositifs non chargé pour ce territoire : les dispositifs qui le "
                          "couvrent ne sont pas connus.", id="cov-scheme-items", className="note")
        return html.P("Aucun dispositif recensé sur ce territoire.", id="cov-scheme-items")
    order = {k: i for i, k in enumerate(KINDS)}
    sch = sch.assign(_o=sch.kind.map(order)).sort_values(["_o", "name"])
    search = [html.Label("Rechercher un dispositif", htmlFor="cov-scheme-pick"),
              search_dropdown("cov-scheme-pick", selected, option_index(scheme_pick_options, scope_value(scope)),
                              placeholder="Nom du dispositif, ASV, CLS…")]
    if len(sch) > SCHEME_LIST_MAX:   # a région or France: searched on the server, never listed whole
        return html.Div([html.P(f"{len(sch)} dispositifs : recherchez-en un par son nom ou son type (ou cliquez "
                                "sur son territoire sur la carte) pour ouvrir sa fiche.", className="muted",
                                id="cov-scheme-items")] + search)
    items = [html.Li(html.Button(
        [html.Span(r.kind, className="kind-badge"), html.Span(r.name)],
        id={"type": "cov-scheme-item", "scheme": r.scheme_id}, className="scheme-item", n_clicks=0,
        title=f"Ouvrir la fiche : {KIND_LABELS.get(r.kind, r.kind)}",
        **{"aria-pressed": "true" if r.scheme_id == selected else "false"}))
        for r in sch.itertuples()]
    return html.Div([html.P(f"{len(sch)} dispositifs — cliquez sur l'un d'eux (ou sur son territoire "
                            "sur la carte) pour ouvrir sa fiche.", className="muted"),
                     html.Ul(items, className="scheme-list", id="cov-scheme-items")] + search)


SCHEME_LIST_MAX = 40     # above: a search field instead of one button per scheme


def scheme_pick_options(scope_raw) -> list[dict]:
    """The schemes of a scope, as search options ("ASV — Atelier santé ville de …")."""
    sc = parse_scope(scope_raw)
    sch = schemes_in_scope(sc, coverage_frame(sc))
    order = {k: i for i, k in enumerate(KINDS)}
    sch = sch.assign(_o=sch.kind.map(order)).sort_values(["_o", "name"])
    return [{"label": f"{k} — {n}", "value": i} for k, n, i in zip(sch.kind, sch.name, sch.scheme_id)]


register_search("cov-scheme-pick", scheme_pick_options, State("cov-scope", "value"))


def themes_figure(by_theme: pd.DataFrame):
    """Actions by theme axis (the fiche page's bar chart), with room for the counts."""
    fig = bar_counts(by_theme, None)
    fig.update_traces(cliponaxis=False)
    top = max(1, int(by_theme.n.max()))
    fig.update_xaxes(range=[0, top * 1.18], title_text="Nombre d'actions", tickformat="d",
                     dtick=max(1, round(top / 5)))
    return fig


def actions_link_text(n: int) -> str:
    if n == 0:
        return "Ouvrir la page Actions filtrée sur ce dispositif"
    if n == 1:
        return "Voir son action sur la page Actions"
    return f"Voir ses {fmt(n, 0)} actions sur la page Actions"


def _text(v) -> str:
    return "n.d." if v is None or (isinstance(v, float) and pd.isna(v)) or v == "" else str(v)


def _safe_url(url) -> str | None:
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) else None


def qpv_fiche_href(code: str) -> str:
    return f"/fiche?level=qpv&code={quote(str(code), safe='')}"


def scheme_fiche(scheme_id: str | None) -> list:
    if not scheme_id:
        return [html.H2("Fiche du dispositif"),
                html.P("Choisissez un dispositif dans la liste ou cliquez sur son territoire sur la carte "
                       "(couches ASV, CLS, CLSM, CPTS).", className="muted", id="cov-fiche-empty")]
    d = scheme_fiche_data(scheme_id)
    if d is None:
        return [html.H2("Fiche du dispositif"), html.P("Dispositif introuvable.", className="note")]
    url = _safe_url(d["url"])
    rows = [("Type", f"{d['kind']} — {d['kind_label']}"), ("Porteur", _text(d["porteur"])),
            ("Année de création", _text(d["year_created"])), ("Statut", _text(d["status"]))]
    dl_items = []
    for k, v in rows:
        dl_items += [html.Dt(k), html.Dd(v)]
    if url:
        dl_items += [html.Dt("Site"), html.Dd(html.A(url, href=url, target="_blank", rel="noopener noreferrer"))]
    qpvs, communes = d["qpvs"], d["communes"]
    by_theme = d["actions_by_theme"]
    actions_href = f"/actions?scheme={quote(scheme_id, safe='')}"
    return [
        html.Div([
            html.H2([html.Span(d["kind"], className="kind-badge"), " ", d["name"]], id="cov-fiche-title"),
            html.Button("Fermer la fiche", id={"type": "cov-fiche-close", "id": "close"}, n_clicks=0,
                        className="btn btn-secondary"),
        ], style={"display": "flex", "justifyContent": "space-between", "alignItems": "start", "gap": ".5rem"}),
        html.Dl(dl_items, id="cov-fiche-identity"),
        html.H3(f"QPV 2024 couverts ({len(qpvs)})"),
        html.Ul([html.Li(dcc.Link(f"{r.name} ({r.code})", href=qpv_fiche_href(r.code))) for r in qpvs.itertuples()],
                className="compact", id="cov-fiche-qpvs") if len(qpvs)
        else html.P("Aucun QPV 2024 couvert.", id="cov-fiche-qpvs"),
        html.H3(("Communes de ses QPV" if d["communes_via_qpv"] else "Communes couvertes") + f" ({len(communes)})"),
        html.Ul([html.Li(f"{_text(r.name)} ({r.code})") for r in communes.itertuples()], className="compact",
                id="cov-fiche-communes") if len(communes) else html.P("Aucune commune.", id="cov-fiche-communes"),
        html.H3("Actions par axe thématique"),
        graph("cov-fiche-themes", themes_figure(by_theme),
              source="Source : actions importées rattachées à ce dispositif (une action peut relever de "
                     "plusieurs axes).") if len(by_theme)
        else html.P("Aucune action rattachée à ce dispositif.", id="cov-fiche-no-actions"),
        html.P(dcc.Link(actions_link_text(d["n_actions"]), href=actions_href, id="cov-fiche-actions-link")),
        html.P(f"Source du dispositif : {d['source'] or 'n.d.'}.", className="source-line"),
    ]


def registry_note(scope) -> list:
    """Where the registry is not loaded, folded in one line under the map (the legend's grey row
    already says "Couverture inconnue")."""
    text = registry_coverage_text(scope)
    return folded_notes([html.P([html.Strong("Couverture inconnue : "), text], className="note")] if text else [],
                        "Remarques sur la couverture")


def source_list(parts: list[str]) -> list:
    """The map's sources, one per line."""
    return [html.Span("Sources :"), html.Ul([html.Li(p) for p in parts], className="source-items")]


# --- Ranking of QPVs without an ASV -----------------------------------------------------------

def ranking_table_frame(ranked: pd.DataFrame, decimals: int = 1) -> pd.DataFrame:
    communes = access.territory_names("commune")
    display = []
    for r in ranked.itertuples():
        if r.status == "ok":
            display.append(float(r.value))
        else:
            display.append("secret" if r.status == "secret" else "n.d.")
    return pd.DataFrame({
        "rang": [int(x) if x is not None and not pd.isna(x) else "—" for x in ranked["rank"]],
        "qpv": ranked.name, "code": ranked.code,
        "commune": [communes.get(c, c) if isinstance(c, str) else "" for c in ranked.commune],
        "couverture": ranked.category.map({"cls": "CLS seulement", "none": "Ni ASV ni CLS"}),
        "valeur": display,
        "ic": [(intervals.interval_text(lo, hi, decimals) or "").replace(" ", "\u00a0")   # never cut
               or ("sans objet" if w == intervals.NO_METHOD else "non calculable" if s == "ok" else "—")
               for lo, hi, w, s in zip(ranked.ci_lo, ranked.ci_hi, ranked.ci_why, ranked.status)],
        "test": [stats.outcome_text(t) for t in ranked.test],
        "annee": [y if isinstance(y, str) else "—" for y in ranked.year_label],
        "note": ["périmètre 2015" if p == "perimetre_2015" else "" for p in ranked.perimeter],
        "fiche": [f"[Fiche]({qpv_fiche_href(c)})" for c in ranked.code],
    })


def ranking_caution(ranked: pd.DataFrame, bench: str | None) -> str:
    """What a rank is worth: the order of the values, not of proven gaps."""
    ok = ranked[ranked.status == "ok"]
    head = ("Le rang ordonne les valeurs, il ne prouve pas d'écart : deux quartiers dont les intervalles de "
            "confiance se chevauchent ne se distinguent pas avec certitude. ")
    if ok.empty or ok.ci_basis.isna().all():
        why = ok.ci_why.dropna().iloc[0] if len(ok) and ok.ci_why.notna().any() else intervals.NO_COUNTS
        return head + f"Ici, pas d'intervalle ni de test ({why}) : lire le rang avec prudence."
    tested = ok[ok.test != "not_tested"]
    counts = tested.test.value_counts()
    said = ", ".join(f"{int(counts[k])} {stats.OUTCOME_WORDS[k].lower()}" for k in stats.OUTCOME_WORDS if k in counts)
    approx = (" Dénominateur approché pour une partie des quartiers (population du quartier)."
              if (ok.ci_basis == "approx").any() else "")
    return (head + f"Comparaison testée (IC 95 %, règle de Fingertips) avec {bench or 'une référence nationale'} : "
            f"{said or 'aucun quartier testé'}." + approx)


def ranking_block(scope, need: str | None, cov: pd.DataFrame | None = None) -> list:
    if not need:
        return [html.P("Aucun indicateur disponible à l'échelle des QPV.", className="note")]
    info = access.indicator(need) or {}
    cov = coverage_frame(scope) if cov is None else cov
    ranked = ranking_frame(scope, need, cov)
    dec = int(info.get("decimals") or 0) if not pd.isna(info.get("decimals")) else 1
    table = ranking_table_frame(ranked, dec)
    bench = ranked.attrs.get("benchmark")
    unit = info.get("unit", "")
    hib = info.get("high_is_bad")
    hib = None if hib is None or pd.isna(hib) else bool(hib)
    order = {True: "des valeurs les plus élevées (besoin le plus fort) aux plus faibles",
             False: "des valeurs les plus faibles (besoin le plus fort) aux plus élevées",
             None: "par valeur décroissante (indicateur sans sens favorable ou défavorable)"}[hib]
    n_cls = int((ranked.category == "cls").sum())
    n_hidden = int((ranked.status != "ok").sum())
    columns = [
        {"name": "Rang", "id": "rang", "type": "numeric"},
        {"name": "Quartier (QPV)", "id": "qpv"},
        {"name": "Code", "id": "code"},
        {"name": "Commune", "id": "commune"},
        {"name": "Couverture", "id": "couverture"},
        {"name": f"{info.get('short_label') or info.get('label', need)} ({unit})", "id": "valeur", "type": "numeric",
         "format": Format(precision=dec, scheme=Scheme.fixed, group=Group.yes, groups=3,
                          group_delimiter="\u202f", decimal_delimiter=",", nully="n.d.")},
        {"name": "IC 95 %", "id": "ic"},
        {"name": f"Comparaison testée avec {bench or 'une référence nationale'}", "id": "test"},
        {"name": "Année décrite", "id": "annee"},
        {"name": "Note", "id": "note"},
        {"name": "Fiche du quartier", "id": "fiche", "presentation": "markdown"},
    ]
    ok = ranked[ranked.status == "ok"]
    srcs = sorted({f"{t} ({p}), millésime {v}" for t, p, v in zip(ok.source_title, ok.publisher, ok.vintage)
                   if isinstance(t, str)})
    years = list(dict.fromkeys(ok.sort_values("year_label")["year_label"].dropna()))
    n_unknown = int((cov.category == "unknown").sum()) if len(cov) else 0
    notes = [html.P(ranking_caution(ranked, bench), className="note", id="cov-ranking-caution")]
    if (ranked.perimeter == "perimetre_2015").any():
        notes.append(html.P("« périmètre 2015 » : valeur calculée sur le contour 2015 du quartier, modifié en 2024 ; "
                            "à comparer avec prudence.", className="note", id="cov-ranking-2015"))
    unknown = (f"{n_unknown} QPV dont la couverture est inconnue (registre des dispositifs non chargé pour "
               "leur territoire) ne sont pas classés : on ne sait pas s'ils ont un ASV. ") if n_unknown else ""
    if cov.empty:
        summary = "Aucun quartier prioritaire (géographie 2024) dans ce territoire."
    elif ranked.empty and n_unknown == len(cov):
        summary = ("Registre des dispositifs non chargé pour ce territoire : aucun QPV ne peut être dit sans ASV. "
                   + unknown)
    elif ranked.empty and not n_unknown:
        summary = "Tous les QPV de ce territoire sont couverts par un ASV."
    elif ranked.empty:
        summary = "Tous les QPV de ce territoire dont la couverture est connue ont un ASV. " + unknown
    else:
        summary = (f"{len(ranked)} QPV sans ASV dans ce territoire (dont {n_cls} couverts par un CLS seulement), "
                   f"classés {order}. " + unknown)
    summary_p = html.P([summary,
                        f"{n_hidden} QPV sans valeur disponible (secret statistique ou donnée manquante) sont listés "
                        "en dernier, sans rang." if n_hidden else ""], id="cov-ranking-summary")
    if ranked.empty:
        return [summary_p]
    return [
        summary_p,
        data_table("cov-ranking", table, columns, page_size=20, filename=f"qpv_sans_asv_{need}",
                   sort_as_null=["secret", "n.d.", "—", ""],
                   style_data_conditional=[{"if": {"filter_query": '{valeur} = "secret" || {valeur} = "n.d."',
                                                   "column_id": "valeur"},
                                            "fontStyle": "italic", "color": "#4a4a4f"}]),
        *notes,
        html.P(f"Indicateur : {info.get('label', need)} — dernière année disponible"
               f"{' (' + ', '.join(years) + ')' if years else ''}. Source : "
               f"{' ; '.join(srcs) if srcs else 'n.d'}."
               + (f" Référence des comparaisons testées : {bench}, {ranked.attrs['benchmark_source']}."
                  if bench else ""), className="source-line", id="cov-ranking-source"),
    ]


# --- Layout ----------------------------------------------------------------------------------

def view_title(scope: str | None = None, **_) -> str:
    """The territory the Couverture page shows (a slide's title)."""
    sc, _notices = checked_scope(scope if isinstance(scope, str) else None)
    return f"Couverture par les ASV et les dispositifs locaux de santé — {scope_label(sc)}"


def layout(scope: str | None = None, layers: str | None = None, need: str | None = None,
           scheme: str | None = None, **_):
    try:
        access.meta()
    except FileNotFoundError as exc:
        return html.Div([html.H1("Couverture ASV"), html.P(str(exc), className="note")])
    sc, notices = checked_scope(scope if isinstance(scope, str) else None)
    lay = parse_layers(layers)
    opts = need_options()
    need = valid_need(need, opts)
    selected = scheme if scheme and access.scheme(scheme) is not None else None
    cov = coverage_frame(sc)
    sch = schemes_in_scope(sc, cov)
    return html.Div([
        html.H1("Couverture des quartiers prioritaires par les dispositifs locaux de santé"),
        html.P("Quels quartiers prioritaires (QPV) ont un Atelier santé ville (ASV), un Contrat local de santé "
               "(CLS) seulement, ou aucun des deux ? Les territoires des CLSM et des CPTS et le zonage de l'ARS "
               "(médecins généralistes) sont des couches de la carte.", className="lead page-intro"),
        url_notices(notices),
        html.Div([
            scope_dropdown("cov-scope", scope_value(sc)),
            html.Div([html.Label("Indicateur de besoin (classement des QPV sans ASV)", htmlFor="cov-need"),
                      dcc.Dropdown(id="cov-need", options=opts, value=need, clearable=False,
                                   style={"minWidth": "420px"})], className="control"),
        ], className="controls"),
        dcc.Store(id="cov-scheme", data=selected),
        # Names of the checked overlays, written by assets/atlas.js when a layer is toggled.
        dcc.Store(id="cov-layers", data=[LAYERS[k] for k in lay]),
        html.H2(scope_label(sc), id="cov-scope-title", className="map-heading"),
        html.Div([
            html.Div([
                html.Div(coverage_map(sc, lay, selected, cov), id="cov-map-wrap"),
                html.Div(registry_note(sc), id="cov-registry-note"),
                html.P("Cochez ou décochez les couches dans le panneau de la carte. La liste des QPV sans ASV "
                       "ci-dessous présente les mêmes informations sous forme de tableau.", className="muted"),
                html.Div(legends(cov, sch), id="cov-legends", className="cov-legends"),
                html.Div(source_list(map_sources(cov)), className="source-line", id="cov-map-source"),
            ]),
            html.Div([
                html.Section(scheme_fiche(selected), id="cov-scheme-fiche", className="scheme-fiche",
                             **{"aria-live": "polite", "aria-label": "Fiche du dispositif"}),
                html.Section([html.H2("Dispositifs du territoire"),
                              html.Div(scheme_list(sch, selected, sc), id="cov-scheme-list")],
                             **{"aria-label": "Liste des dispositifs"}),
            ], className="cov-side"),
        ], className="grid-2"),
        html.H2("Quartiers prioritaires sans ASV, classés par besoin"),
        html.Div(ranking_block(sc, need, cov), id="cov-ranking-block"),
    ])


# --- Callbacks ---------------------------------------------------------------------------------

@callback(Output("cov-qpv", "url"), Output("cov-qpv", "hideout"),
          Output("cov-zoning", "url"), Output("cov-zoning", "hideout"),
          Output("cov-map-base-communes", "url"), Output("cov-map", "viewport"),
          Output("cov-legends", "children"), Output("cov-map-source", "children"),
          Output("cov-scope-title", "children"), Output("cov-registry-note", "children"),
          Input("cov-scope", "value"), prevent_initial_call=True)
def change_scope(scope_raw):
    """A new scope changes layer urls and hideouts only; the geometry is fetched by the browser."""
    sc = parse_scope(scope_raw)
    cov = coverage_frame(sc)
    sch = schemes_in_scope(sc, cov)
    b = padded_bounds(scope_bounds(sc))
    viewport = {"bounds": [[b[1], b[0]], [b[3], b[2]]], "transition": "fitBounds"} if b else no_update
    return (layer_url("qpv", sc), qpv_hideout(cov), layer_url("qpv", sc), zoning_hideout(cov),
            commune_layer_url(sc), viewport, legends(cov, sch), source_list(map_sources(cov)), scope_label(sc),
            registry_note(sc))


@callback(Output("cov-ranking-block", "children"),
          Input("cov-scope", "value"), Input("cov-need", "value"), prevent_initial_call=True)
def update_ranking(scope_raw, need):
    return ranking_block(parse_scope(scope_raw), valid_need(guard.one(need), need_options()))


@callback(Output("cov-scheme", "data"),
          Input({"type": "cov-scheme-item", "scheme": ALL}, "n_clicks"),
          Input({"type": "cov-scheme-layer", "kind": ALL}, "n_clicks"),
          Input({"type": "cov-fiche-close", "id": ALL}, "n_clicks"),
          Input("cov-scheme-pick", "value"),
          State({"type": "cov-scheme-layer", "kind": ALL}, "clickData"), State("cov-scheme", "data"),
          prevent_initial_call=True)
def select_scheme(_items, layer_clicks, _close, _picked, click_data, current=None):
    """A click on a scheme in the list or on its territory on the map, or its choice in the search
    field, selects it."""
    trig = ctx.triggered_id
    if trig == "cov-scheme-pick":      # also fired when the list is drawn again with the selection
        picked = guard.one(_picked)
        return picked if picked and picked != current else no_update
    if not isinstance(trig, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    if trig.get("type") == "cov-fiche-close":
        return None
    if trig.get("type") == "cov-scheme-item":
        return trig["scheme"]
    if trig.get("type") == "cov-scheme-layer":
        kinds = [o["id"]["kind"] for o in ctx.inputs_list[1]]
        feat = click_data[kinds.index(trig["kind"])] if trig["kind"] in kinds else None
        code = ((feat or {}).get("properties") or {}).get("code")
        return code or no_update
    return no_update


@callback(Output("cov-scheme-fiche", "children"),
          Output({"type": "cov-scheme-layer", "kind": ALL}, "hideout"),
          Input("cov-scheme", "data"), prevent_initial_call=True)
def show_scheme(scheme_id):
    """Open (or close) the fiche and highlight the scheme's territory on the map."""
    kinds = [(o.get("id") or {}).get("kind") for o in ctx.outputs_list[1]]
    if any(k not in SCHEME_STYLES for k in kinds):     # layers the page never drew
        raise PreventUpdate
    return scheme_fiche(scheme_id), [scheme_hideout(k, scheme_id) for k in kinds]


@callback(Output("cov-scheme-list", "children"),
          Input("cov-scheme", "data"), Input("cov-scope", "value"), prevent_initial_call=True)
def update_scheme_list(scheme_id, scope_raw):
    sc = parse_scope(scope_raw)
    return scheme_list(schemes_in_scope(sc, coverage_frame(sc)), scheme_id, sc)


@callback(Output("url-state", "search", allow_duplicate=True),
          Input("cov-scope", "value"), Input("cov-need", "value"), Input("cov-layers", "data"),
          Input("cov-scheme", "data"), State("url-state", "search"), prevent_initial_call=True)
def write_url(scope_raw, need, layer_names, scheme_id, current=None):
    layers = layers_from_overlays(guard.many(layer_names)) if layer_names is not None else DEFAULT_LAYERS
    return new_search(state_search(parse_scope(scope_raw), layers, valid_need(guard.one(need), need_options()),
                                   guard.one(scheme_id)), current)
