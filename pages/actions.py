"""Actions: local health actions per theme per 10,000 inhabitants (QPV or commune).

Filters (theme and sub-theme, public, years, porteur, scheme, scope) drive a density
choropleth with the actions as clustered points, a theme x territory heatmap, the list of
actions with their fiche, and the "besoins / actions" scatter (proportionate universalism).
Every filter, the level, the need indicator and the selected action live in the URL.
"""

from urllib.parse import urlencode

import dash
import dash_leaflet as dl
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate
from dash_extensions.javascript import Namespace
from dash.dash_table.Format import Format, Group, Scheme

from components import guard
from components.charts import french_layout, graph
from components.geo_routes import layer_url
from components.maps import SPECK_NOTE, atlas_map, commune_layer_url, legend, live_style, live_style_ref, ns, ns_points
from components.notices import url_notices
from components.scope import checked_scope, scope_dropdown, scope_label, scope_value
from components.search_dropdown import initial_options, register_search, remember, search_dropdown
from components.tables import data_table, table_ref
from data import access
from data.views.actions import (HEAT_MODES, LEVELS, LEVEL_SHORT, MULTI_AXIS, MULTI_COLOR, PLACEMENT_TEXT, View,
                                 ViewState, ZERO_COLOR, action_axis, axes, axis_colors, centroids, clean_value,
                                 compute, density_classes, filtered_actions, first_of, json_records, need_options,
                                 parse_state, point_features, population_frame, ref, state_from_controls,
                                 state_search, theme_labels, theme_parents, years_text)
from data.analysis import QUADRANT_LABELS, fmt, need_action_quadrants, place_points

ns_actions = Namespace("atlas", "actions")

HEATMAP_MAX = 30         # territories shown as heatmap columns (the table holds them all)

dash.register_page(__name__, path="/actions", name="Actions", title="Atlas ASV — Actions", order=3,
                   multi_params=("theme", "public", "porteur"))



# --- Pieces of the view ----------------------------------------------------------------------

def _plotly_text(s) -> str:
    """Plotly reads a few HTML tags in labels: escape data so names show as typed."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def count_summary(v: View) -> list:
    placed = v.placed.placement.value_counts().to_dict()
    n = len(v.acts)
    located = int(v.dens.n.sum()) if len(v.dens) else 0
    parts = [html.Strong(f"{fmt(n, 0)} action{'s' if n > 1 else ''}", id="act-count-n"),
             f" correspond{'ent' if n > 1 else ''} aux filtres (sur {fmt(v.n_total, 0)} actions chargées). "
             f"{fmt(located, 0)} sont rattachées à {'un QPV' if v.state.level == 'qpv' else 'une commune'} "
             f"du territoire choisi. Sur la carte : {fmt(placed.get('coordonnees', 0), 0)} par leurs coordonnées, "
             f"{fmt(placed.get('qpv', 0), 0)} au centre de leur QPV, "
             f"{fmt(placed.get('commune', 0), 0)} au centre de leur commune"]
    unplaced = n - sum(placed.values())
    if unplaced:
        parts.append(f" ; {fmt(unplaced, 0)} sans localisation (seulement dans la liste)")
    parts.append(".")
    unlisted = int((~v.dens.listed).sum()) if "listed" in v.dens else 0
    note = None
    if v.n_total == 0 and not access.registry_loaded("actions"):
        note = ("Aucune liste d'actions n'est chargée dans cette base : les actions de ce territoire ne sont pas "
                "recensées (ce n'est pas « 0 action »). Importez la liste des actions (page Importer, ou "
                "« python -m etl import actions FICHIER --territoire … ») pour remplir cette page.")
    elif unlisted:
        unit = "QPV" if v.state.level == "qpv" else "communes"
        note = (f"Actions non recensées pour {fmt(unlisted, 0)} {unit} (en gris) : aucune liste d'actions n'est "
                "chargée pour leur territoire ; leur nombre d'actions n'est pas connu, ce n'est pas 0.")
    if note:
        parts.append(html.Span(" " + note, className="note", id="act-unlisted-note",
                               style={"display": "block", "marginTop": ".4rem"}))
    return parts


def territory_hideout(v: View) -> dict:
    cl, colors, classes, status = density_classes(v.dens)
    perim = dict(zip(v.terr.code, v.terr.pop_perimeter))
    pop_year = dict(zip(v.terr.code, v.terr.pop_year))
    tips = {}
    for r in v.dens.astype(object).itertuples():     # object: fast row access
        pop = clean_value(r.population)
        p15 = " (périmètre 2015 du quartier)" if perim.get(r.code) == "perimetre_2015" else ""
        p15 += f" ({pop_year[r.code]})" if isinstance(pop_year.get(r.code), str) else ""
        if not r.listed:
            tips[r.code] = ["Actions non recensées : aucune liste d'actions chargée pour ce territoire",
                            f"Population : {fmt(pop, 0)}{p15}" if pop is not None else "Population inconnue"]
            continue
        lines = [f"{fmt(r.n, 0)} action{'s' if r.n > 1 else ''}",
                 f"Population : {fmt(pop, 0)}{p15}" if pop is not None else "Population inconnue",
                 (f"{fmt(r.density, 1)} pour 10 000 habitants" if not pd.isna(r.density)
                  else "Densité non calculable (population inconnue)")]
        tips[r.code] = lines
    return {"classes": classes, "colors": colors, "status": status, "tooltips": tips}


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
    acts = v.acts.merge(v.placed, on="action_id", suffixes=("_own", ""))
    acts = acts[acts.placement.notna()]
    ax = action_axis(acts, theme_parents()).value_counts().to_dict() if len(acts) else {}
    labels = theme_labels()
    cols = axis_colors()
    items = [(cols[a], labels.get(a, a), fmt(ax.get(a, 0), 0)) for a in axes()]
    items.append((MULTI_COLOR, "Plusieurs axes", fmt(ax.get(MULTI_AXIS, 0), 0)))
    approx = int(acts.placement.isin(["qpv", "commune"]).sum()) if len(acts) else 0
    note = (f"Points regroupés quand ils sont proches (cliquer pour zoomer). {fmt(approx, 0)} action(s) sans "
            "coordonnées sont placées au centre de leur QPV ou de leur commune : l'infobulle l'indique.")
    return legend(items, "Actions (couleur : axe du référentiel ASV)", note, legend_id="act-points-legend")


def action_source_text() -> str:
    """Where the actions come from: source file, vintage, import."""
    parts = []
    src = ref("action_sources")
    for r in src.itertuples():
        t = f"{r.title or 'source inconnue'}"
        if isinstance(r.publisher, str):
            t += f" ({r.publisher}"
            t += f", millésime {r.vintage})" if isinstance(r.vintage, str) else ")"
        if isinstance(r.import_file, str):
            t += f", import du fichier {r.import_file} le {str(r.imported_at)[:10]}"
        parts.append(f"{t} : {fmt(r.n_actions, 0)} actions")
    return "Sources — actions : " + (" ; ".join(parts) or "aucune action chargée") + "."


def source_line(v: View, line_id: str = "act-sources") -> html.P:
    """Where the actions and the populations come from (title, publisher, vintage)."""
    return html.P([html.Span(action_source_text() + " "),
                   html.Span(population_source_text(v.terr, v.state.level))],
                  className="source-line", id=line_id)


def _wrap(label: str, width: int = 16) -> str:
    """Wrap an axis label on several lines (plotly line breaks)."""
    words, lines, cur = label.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "<br>".join(lines)


def population_source_text(terr: pd.DataFrame, level: str) -> str:
    """Population: which source and vintage for how many territories, 2015-perimeter figures
    and unknown populations stated."""
    unit = "QPV" if level == "qpv" else "communes"
    parts = []
    ind = terr[terr.pop_origin == "indicateur"]
    for (title, pub, vint), grp in ind.groupby(["pop_source", "pop_publisher", "pop_vintage"], dropna=False):
        n15 = int((grp.pop_perimeter == "perimetre_2015").sum())
        t = f"{title} ({pub}, millésime {vint}) pour {fmt(len(grp), 0)} {unit}"
        if n15:
            t += f", dont {fmt(n15, 0)} sur le périmètre 2015 du quartier (valeur approchée)"
        parts.append(t)
    n_ref = int((terr.pop_origin == "referentiel").sum())
    if n_ref:
        srcs = ref("population_sources", level)
        names = " ; ".join(f"{r.title} ({r.publisher}, millésime {r.vintage})"
                           for r in srcs[srcs.n_known > 0].itertuples()) or "référentiel géographique"
        parts.append(f"{names} pour {fmt(n_ref, 0)} {unit}")
    n_unknown = int(terr.pop_origin.isna().sum())
    txt = "Population : " + (" ; ".join(parts) or "non disponible")
    if n_unknown:
        txt += f". Population inconnue pour {fmt(n_unknown, 0)} {unit} : densité non calculée"
    return txt + "."


def heatmap_figure(v: View) -> go.Figure:
    """Territories (rows, the most active first) x themes (columns); counts or densities."""
    labels = theme_labels()
    bt = v.by_theme
    mode = v.state.heat
    totals = v.dens.set_index("code").n.astype("float64").fillna(0)      # unlisted territories: not drawn
    rows = [c for c in totals.sort_values(ascending=False, kind="stable").index if totals[c] > 0][:HEATMAP_MAX]
    fig = go.Figure()
    if not rows or not v.groups:
        fig.add_annotation(text="Aucune action rattachée à un territoire pour ces filtres", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return french_layout(fig, height=220)
    names = v.dens.set_index("code").name
    piv_n = bt.pivot(index="code", columns="group", values="n").reindex(index=rows, columns=v.groups)
    piv_d = bt.pivot(index="code", columns="group", values="density").reindex(index=rows, columns=v.groups)
    z = piv_n if mode == "count" else piv_d
    text = [[(fmt(n, 0) if mode == "count" else fmt(d, 1)) for n, d in zip(rn, rd)]
            for rn, rd in zip(piv_n.to_numpy(), piv_d.to_numpy())]
    y = [_plotly_text(f"{names[c]} ({c})") for c in rows]
    x_full = [_plotly_text(labels.get(g, g)) for g in v.groups]
    hover = [[f"{yy}<br>{xx}<br>{fmt(n, 0)} action(s)<br>" +
              (f"{fmt(d, 1)} pour 10 000 hab." if not pd.isna(d) else "densité n.d. (population inconnue)")
              for xx, n, d in zip(x_full, rn, rd)] for yy, rn, rd in zip(y, piv_n.to_numpy(), piv_d.to_numpy())]
    fig.add_trace(go.Heatmap(
        z=z.to_numpy(dtype="float64"), x=[_wrap(t) for t in x_full], y=y, colorscale="Blues",
        hoverongaps=False, text=text, texttemplate="%{text}" if len(rows) * len(v.groups) <= 600 else None,
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        colorbar={"title": {"text": "Nombre" if mode == "count" else "Pour<br>10 000 hab."}, "thickness": 14},
        xgap=2, ygap=2))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top", tickangle=0)
    n_pos = int((totals > 0).sum())
    title = (HEAT_MODES[mode] + " par thème et par territoire"
             + (f" ({HEATMAP_MAX} territoires les plus dotés sur {n_pos})" if n_pos > HEATMAP_MAX else ""))
    fig = french_layout(fig, title, height=170 + 30 * len(rows))
    fig.update_layout(margin={"t": 110})
    return fig


NUM1 = Format(precision=1, scheme=Scheme.fixed, group=Group.yes, group_delimiter="\u202f",
              decimal_delimiter=",").nully("n.d.")
NUM0 = Format(precision=0, scheme=Scheme.fixed, group=Group.yes, group_delimiter="\u202f",
              decimal_delimiter=",").nully("n.d.")


def density_table(v: View) -> tuple[list[dict], list[dict]]:
    """The accessible alternative to the map and the heatmap: one row per territory."""
    labels = theme_labels()
    df = v.dens[["name", "code", "population", "n", "density"]].copy()
    df["recensement"] = np.where(v.dens.listed, "liste chargée", "actions non recensées")
    df["pop_year"] = df.code.map(dict(zip(v.terr.code, v.terr.pop_year)))
    cols = [{"name": LEVEL_SHORT[v.state.level].capitalize(), "id": "name"}, {"name": "Code", "id": "code"},
            {"name": "Population", "id": "population", "type": "numeric", "format": NUM0},
            {"name": "Année de la population", "id": "pop_year"},
            {"name": "Recensement des actions", "id": "recensement"},
            {"name": "Actions", "id": "n", "type": "numeric", "format": NUM0},
            {"name": "Pour 10 000 hab.", "id": "density", "type": "numeric", "format": NUM1}]
    val = "n" if v.state.heat == "count" else "density"
    if len(v.by_theme):
        piv = v.by_theme.pivot(index="code", columns="group", values=val)
        for i, g in enumerate(v.groups):
            key = f"g{i}"
            df[key] = df.code.map(piv[g]) if g in piv.columns else np.nan
            unit = "" if val == "n" else " /10 000"
            cols.append({"name": f"{labels.get(g, g)}{unit}", "id": key, "type": "numeric",
                         "format": NUM0 if val == "n" else NUM1})
    df = df.sort_values(["n", "name"], ascending=[False, True], na_position="last")
    return json_records(df), cols


ACTION_COLUMNS = [{"name": "Titre", "id": "title"}, {"name": "Années", "id": "years"},
                  {"name": "Porteur", "id": "porteur"}, {"name": "Thématiques", "id": "themes"},
                  {"name": "Publics", "id": "publics"}, {"name": "QPV", "id": "qpv_name"},
                  {"name": "Commune", "id": "commune_name"}, {"name": "Dispositif", "id": "scheme_name"},
                  {"name": "Identifiant", "id": "id"}]


def action_rows(v: View) -> list[dict]:
    a = v.acts
    df = pd.DataFrame({"id": a.action_id, "title": a.title,
                       "years": [years_text(y0, y1) for y0, y1 in zip(a.year_start, a.year_end)],
                       "porteur": a.porteur, "themes": a.themes, "publics": a.publics,
                       "qpv_name": a.qpv_name, "commune_name": a.commune_name, "scheme_name": a.scheme_name})
    return json_records(df)


def selected_style(action_id: str | None) -> list[dict]:
    if not action_id:
        return []
    safe = str(action_id).replace('"', "")
    return [{"if": {"filter_query": f'{{id}} = "{safe}"'}, "backgroundColor": "#fff4d6", "fontWeight": "700"}]


def need_source_text(ind: dict | None, vals: pd.DataFrame) -> str:
    if ind is None:
        return "Aucun indicateur de besoin disponible."
    ok = vals[vals.status == "ok"]
    srcs = ok.drop_duplicates(["source_title", "vintage"]) if len(ok) else ok
    txt = " ; ".join(f"{r.source_title} ({r.publisher}, millésime {r.vintage})" for r in srcs.itertuples()) \
        or "n.d."
    return f"Besoin : {ind['label']} — {txt}."


def scatter(v: View):
    """(figure, quadrant list, note, source text) of the besoins / actions view, per QPV."""
    st = v.state
    ind = access.indicator(st.need) if st.need else None
    ind = None if ind is None else dict(ind)
    qd = v.qpv_dens
    if ind is None or qd.empty or v.n_total == 0:
        fig = french_layout(go.Figure(), height=300)
        fig.add_annotation(text="Actions non recensées : aucune liste d'actions chargée" if v.n_total == 0 and ind is not None
                           else "Aucun indicateur de besoin disponible au niveau QPV", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig, [], "", need_source_text(ind, pd.DataFrame(columns=["status"]))
    vals = access.values(st.need, "qpv", st.scope)
    need = qd.code.map(vals.set_index("code").value)
    status = qd.code.map(vals.set_index("code").status).fillna("missing")
    high_is_bad = ind.get("high_is_bad")
    high_is_bad = None if high_is_bad is None or pd.isna(high_is_bad) else bool(high_is_bad)
    q = need_action_quadrants(qd.code, need.where(status == "ok"), qd.density, high_is_bad)
    df = q.frame.merge(qd[["code", "name", "n", "population"]], on="code")
    unit = ind.get("unit") or ""
    dec = int(ind.get("decimals") or 1)
    fig = go.Figure()
    ok = df[df.quadrant.notna()]
    if len(ok) and q.need_median is not None:
        xmin, xmax = float(ok.need.min()), float(ok.need.max())
        ymax = float(ok.density.max())
        pad = (xmax - xmin) * 0.05 or 1.0
        x0, x1 = (q.need_median, xmax + pad) if high_is_bad is not False else (xmin - pad, q.need_median)
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=-0.02 * (ymax or 1), y1=q.density_median,
                      fillcolor="rgba(213,94,0,0.13)", line={"width": 0}, layer="below")
        fig.add_annotation(x=(x0 + x1) / 2, y=q.density_median, yanchor="bottom", showarrow=False,
                           text="Besoin élevé, peu d'actions", font={"color": "#8a3b00", "size": 13})
        fig.add_vline(x=q.need_median, line_dash="dash", line_color="#555",
                      annotation_text=f"médiane {fmt(q.need_median, dec)}", annotation_position="top")
        fig.add_hline(y=q.density_median, line_dash="dot", line_color="#555",
                      annotation_text=f"médiane {fmt(q.density_median, 1)}", annotation_position="bottom left")
    for key, name, sym, col, size in [
            ("other", "Autres QPV", "circle", "#0072B2", 10),
            ("target", "Besoin élevé, peu d'actions", "diamond", "#D55E00", 14)]:
        part = ok[(ok.quadrant == "besoin_eleve_peu_actions") == (key == "target")]
        fig.add_trace(go.Scatter(
            x=part.need, y=part.density, mode="markers", name=name,
            marker={"symbol": sym, "color": col, "size": size, "line": {"color": "#fff", "width": 1}},
            customdata=[[_plotly_text(n), fmt(x, dec, unit), fmt(d, 1), f"{fmt(k, 0)} action{'s' if k > 1 else ''}",
                         QUADRANT_LABELS[qq]]
                        for n, x, d, k, qq in zip(part.name, part.need, part.density, part.n, part.quadrant)],
            hovertemplate="<b>%{customdata[0]}</b><br>Besoin : %{customdata[1]}<br>"
                          "%{customdata[2]} actions pour 10 000 hab. (%{customdata[3]})<br>"
                          "%{customdata[4]}<extra></extra>"))
    direction = {True: "une valeur élevée est défavorable", False: "une valeur basse est défavorable",
                 None: "indicateur sans sens défini : une valeur élevée est lue comme un besoin"}[high_is_bad]
    fig.update_xaxes(title_text=_plotly_text(f"{ind['label']} ({unit})"))
    fig.update_yaxes(title_text="Actions pour 10 000 habitants", rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    french_layout(fig, "Besoins et actions par QPV", height=460)
    target = df[df.quadrant == "besoin_eleve_peu_actions"].sort_values(
        "need", ascending=high_is_bad is False)
    items = [html.Li(f"{r.name} ({r.code}) — besoin : {fmt(r.need, dec, unit)} ; "
                     f"{fmt(r.density, 1)} actions pour 10 000 hab. ({fmt(r.n, 0)} action{'s' if r.n > 1 else ''})")
             for r in target.itertuples()]
    excluded = df[df.quadrant.isna()]
    ex_secret = int((status == "secret").sum())
    note = (f"Lecture : {direction}. Quadrants séparés par les médianes des QPV placés. "
            f"{fmt(len(ok), 0)} QPV placés ; {fmt(len(excluded), 0)} non placés"
            + (f" (dont {fmt(ex_secret, 0)} valeur(s) secrète(s))" if ex_secret else "")
            + " : indicateur secret ou manquant, ou population inconnue.")
    perim = vals[(vals.perimeter == "perimetre_2015") & (vals.status == "ok")]
    if len(perim):
        note += (f" Attention : pour {fmt(len(perim), 0)} QPV, la valeur est calculée sur le périmètre 2015 "
                 "du quartier.")
    src = " ".join([need_source_text(ind, vals), action_source_text(),
                    population_source_text(population_frame("qpv", st.scope), "qpv")])
    return fig, items, note, src


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
    """(minx, miny, maxx, maxy) of the scope, or of everything loaded."""
    b = access.bounds(*scope) if scope else None
    if b is None:
        for level in ("departement", "qpv"):
            g = access.geometries(level)
            if not g.empty:
                return tuple(shapely.union_all(g.geometry.values).bounds)
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


def layout(**query):
    try:
        access.meta()
    except FileNotFoundError as exc:
        return html.Div([html.H1("Actions"), html.P(str(exc), className="note")])
    st = parse_state(query)
    _, notices = checked_scope(first_of(query.get("scope")))
    v = compute(st)
    heat_fig = heatmap_figure(v)
    sc_fig, sc_items, sc_note, sc_source = scatter(v)
    rows, cols = density_table(v)
    needs = need_options()
    return html.Div([
        dcc.Store(id="act-selected", data=st.action),
        html.H1("Actions de santé par thème"),
        html.P("Combien d'actions de santé sont menées pour 10 000 habitants dans chaque quartier prioritaire ou "
               "chaque commune, sur quels thèmes, et là où les besoins sont les plus forts\u202f?", className="lead"),
        url_notices(notices),
        controls(st),
        html.P(count_summary(v), id="act-count", role="status"),
        html.H2(["Densité d'actions — ", html.Span(scope_label(st.scope), id="act-scope-title")]),
        html.Div([
            html.Div([
                live_style("act-territories"),       # restyled in place: see components.maps.live_style
                atlas_map("act-map", [
                    ("Densité d'actions", dl.GeoJSON(
                        id="act-territories", url=territory_url(st, v.too_many), format="geobuf", style=ns("style"), onEachFeature=ns("onEachFeature"),
                        hideout=territory_hideout(v)), True),
                    ("Actions (points)", dl.GeoJSON(
                        id="act-points", data=point_features(v.acts, v.placed, theme_parents()),
                        cluster=True, zoomToBoundsOnClick=True, spiderfyOnMaxZoom=True,
                        superClusterOptions={"radius": 45, "maxZoom": 17},
                        pointToLayer=ns_points("pointToLayer"), onEachFeature=ns_points("onEachFeature"),
                        clusterToLayer=ns_actions("clusterToLayer"),
                        hideout={"colors": axis_colors()}), bool(st.action)),   # density first; points on demand
                ], within=st.scope, bounds=scope_bbox(st.scope), height="580px"),
                html.P("Trop de communes pour ce territoire : choisissez un département ou un EPCI.",
                       className="note", id="act-too-many", hidden=not v.too_many),
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
        graph("act-heatmap", heat_fig, None),
        source_line(v, "act-heat-sources"),
        html.P("Mêmes chiffres en tableau (tous les territoires) :", className="muted"),
        data_table("act-density", pd.DataFrame(rows), columns=cols, page_size=10, filename="densite_actions"),
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
            graph("act-scatter", sc_fig, None),
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
                           search_dropdown("act-pick", None, layout_pick_index(v),
                                           placeholder="Rechercher une action par son titre",
                                           style={"minWidth": "420px"}), "act-pick")], className="controls"),
        data_table("act-list", pd.DataFrame(action_rows(v), columns=[c["id"] for c in ACTION_COLUMNS]),
                   columns=ACTION_COLUMNS, page_size=12, filename="actions",
                   style_data_conditional=selected_style(st.action)),
        html.P(action_source_text(), className="source-line", id="act-list-source"),
    ], className="actions-page")


def pick_options(v: View) -> list[dict]:
    return action_options(v.acts)


def layout_pick_index(v: View):
    """pick_options(v), remembered for the first search under the values the filter controls
    of the page show (see controls())."""
    st = v.state
    return remember(filtered_action_options, pick_options(v), scope_value(st.scope), st.themes, st.publics,
                    list(st.years or year_bounds()), st.porteurs, st.scheme)


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


@callback(
    Output("act-territories", "url"), Output(live_style_ref("act-territories"), "data"),
    Output("act-points", "data"), Output("act-map-base-communes", "url"), Output("act-map", "viewport"),
    Output("act-legend-wrap", "children"), Output("act-points-legend-wrap", "children"),
    Output("act-count", "children"), Output("act-scope-title", "children"), Output("act-too-many", "hidden"),
    Output("act-sources", "children"), Output("act-heat-sources", "children"), Output("act-heatmap", "figure"),
    Output(table_ref("act-density"), "data"), Output(table_ref("act-density"), "columns"),
    Output("act-scatter", "figure"), Output("act-quadrant-list", "children"), Output("act-scatter-note", "children"),
    Output("act-scatter-source", "children"), Output(table_ref("act-list"), "data"), Output("act-pick", "options"),
    Output("act-years-label", "children"), Output("url-state", "search", allow_duplicate=True),
    *FILTER_INPUTS, State("act-selected", "data"), State("act-map-base-communes", "url"),
    State("act-pick", "value"), prevent_initial_call=True)
def update_view(level, scope, themes, publics, years, porteurs, scheme, need, heat, selected, base_url,
                pick=None):
    if initial_call():
        raise PreventUpdate  # the layout already shows this state
    st = state_from_controls(level, scope, themes, publics, years, porteurs, scheme, need, heat, selected)
    v = compute(st)
    sc_fig, sc_items, sc_note, sc_source = scatter(v)
    rows, cols = density_table(v)
    new_base = commune_layer_url(st.scope)
    viewport = {"bounds": map_bounds(st.scope), "transition": "flyToBounds"} if new_base != base_url else no_update
    yb = list(st.years) if st.years else list(ref("action_years") or (None, None))
    return (
        territory_url(st, v.too_many),
        territory_hideout(v),
        point_features(v.acts, v.placed, theme_parents()),
        new_base if new_base != base_url else no_update,
        viewport,
        territory_legend(v), points_legend(v), count_summary(v), scope_label(st.scope), not v.too_many,
        source_line(v).children, source_line(v).children, heatmap_figure(v), rows, cols,
        sc_fig, sc_items or [html.Li("Aucun QPV dans ce quadrant.")], sc_note, sc_source,
        action_rows(v),
        initial_options(remember(filtered_action_options, pick_options(v), scope, themes, publics, years,
                                 porteurs, scheme), pick),
        f"Années (actions en cours) : {yb[0]}–{yb[1]}",
        state_search(st),
    )


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
