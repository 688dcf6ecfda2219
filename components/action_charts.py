"""The Actions page's charts and tables (pages/actions.py lays them out): the theme x territory
heatmap, the besoins / actions scatter, the density table and the list of actions, with the lines
that name their sources.

Both tables are paged and sorted on the server: at France scale (100,000 actions, thousands of
communes) the page holds one page of rows, never the whole list; their CSV/XLSX exports hold
every row (components.tables.register_table_export).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import html
from dash.dash_table.Format import Format, Group, Scheme

from components.charts import french_layout
from components.tables import frame_order, register_table_export
from data import access
from data.action_analysis import QUADRANT_LABELS, need_action_quadrants
from data.analysis import fmt
from data.views.actions import (HEAT_MODES, LEVEL_SHORT, View, compute, json_records, parse_state, population_frame,
                                ref, theme_labels, years_text)

HEATMAP_MAX = 30         # territories shown as heatmap columns (the table holds them all)
PAGE_SIZE = 12
DENSITY_PAGE_SIZE = 10
QUADRANT_SHOWN = 25      # QPVs listed under the scatter (the most in need first)


def _plotly_text(s) -> str:
    """Plotly reads a few HTML tags in labels: escape data so names show as typed."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
             for r in target.head(QUADRANT_SHOWN).itertuples()]
    if len(target) > QUADRANT_SHOWN:
        items.append(html.Li(f"… et {fmt(len(target) - QUADRANT_SHOWN, 0)} autres QPV de ce quadrant (tous dans le "
                             "tableau des densités, et sur le graphique)", className="muted"))
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


# --- Density table (one row per territory) -------------------------------------------------------

def density_columns(v: View) -> list[dict]:
    labels = theme_labels()
    cols = [{"name": LEVEL_SHORT[v.state.level].capitalize(), "id": "name"}, {"name": "Code", "id": "code"},
            {"name": "Population", "id": "population", "type": "numeric", "format": NUM0},
            {"name": "Année de la population", "id": "pop_year"},
            {"name": "Recensement des actions", "id": "recensement"},
            {"name": "Actions", "id": "n", "type": "numeric", "format": NUM0},
            {"name": "Pour 10 000 hab.", "id": "density", "type": "numeric", "format": NUM1}]
    val = "n" if v.state.heat == "count" else "density"
    for i, g in enumerate(v.groups):
        unit = "" if val == "n" else " /10 000"
        cols.append({"name": f"{labels.get(g, g)}{unit}", "id": f"g{i}", "type": "numeric",
                     "format": NUM0 if val == "n" else NUM1})
    return cols


def density_frame(v: View) -> pd.DataFrame:
    """The accessible alternative to the map and the heatmap: one row per territory, the most
    active first (computed once per view)."""
    def build():
        df = v.dens[["name", "code", "population", "n", "density"]].copy()
        df["recensement"] = np.where(v.dens.listed, "liste chargée", "actions non recensées")
        df["pop_year"] = df.code.map(dict(zip(v.terr.code, v.terr.pop_year)))
        val = "n" if v.state.heat == "count" else "density"
        if len(v.by_theme):
            piv = v.by_theme.pivot(index="code", columns="group", values=val)
            for i, g in enumerate(v.groups):
                df[f"g{i}"] = df.code.map(piv[g]) if g in piv.columns else np.nan
        return df.sort_values(["n", "name"], ascending=[False, True], na_position="last").reset_index(drop=True)
    return v.memo("density_frame", build)


def density_page(v: View, sort_by=None, page=0) -> tuple[list[dict], int]:
    """(rows of one page, page count) of the density table, as sorted."""
    df = density_frame(v)
    numeric = {"population", "n", "density"} | {f"g{i}" for i in range(len(v.groups))}
    order = v.memo(("density_order", repr(sort_by)),
                   lambda: frame_order(df, sort_by, set(df.columns), numeric, "name"))
    return _page(df, order, page, DENSITY_PAGE_SIZE)


# --- List of actions -------------------------------------------------------------------------------

ACTION_COLUMNS = [{"name": "Titre", "id": "title"}, {"name": "Années", "id": "years"},
                  {"name": "Porteur", "id": "porteur"}, {"name": "Thématiques", "id": "themes"},
                  {"name": "Publics", "id": "publics"}, {"name": "QPV", "id": "qpv_name"},
                  {"name": "Commune", "id": "commune_name"}, {"name": "Dispositif", "id": "scheme_name"},
                  {"name": "Identifiant", "id": "id"}]
_ACTION_SORT = {"title": "title", "years": "year_start", "porteur": "porteur", "themes": "themes",
                "publics": "publics", "qpv_name": "qpv_name", "commune_name": "commune_name",
                "scheme_name": "scheme_name", "id": "action_id"}


def action_records(acts: pd.DataFrame) -> list[dict]:
    df = pd.DataFrame({"id": acts.action_id, "title": acts.title,
                       "years": [years_text(y0, y1) for y0, y1 in zip(acts.year_start, acts.year_end)],
                       "porteur": acts.porteur, "themes": acts.themes, "publics": acts.publics,
                       "qpv_name": acts.qpv_name, "commune_name": acts.commune_name,
                       "scheme_name": acts.scheme_name})
    return json_records(df)


def _action_order(v: View, sort_by) -> np.ndarray:
    spec = [dict(s, column_id=_ACTION_SORT[s["column_id"]]) for s in (sort_by or [])
            if isinstance(s, dict) and s.get("column_id") in _ACTION_SORT]
    return v.memo(("action_order", repr(spec)),
                  lambda: frame_order(v.acts, spec, set(_ACTION_SORT.values()), {"year_start"}, "title"))


def action_page(v: View, sort_by=None, page=0) -> tuple[list[dict], int]:
    """(rows of one page, page count) of the list of actions, as sorted: only that page is built."""
    order = _action_order(v, sort_by)
    n_pages = max(1, -(-len(order) // PAGE_SIZE))
    page = max(0, min(int(page or 0), n_pages - 1))
    return action_records(v.acts.iloc[order[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]]), n_pages


def _page(df: pd.DataFrame, order: np.ndarray, page, size: int) -> tuple[list[dict], int]:
    n_pages = max(1, -(-len(order) // size))
    page = max(0, min(int(page or 0), n_pages - 1))
    return json_records(df.iloc[order[page * size:(page + 1) * size]]), n_pages


def _view_of(query: dict):
    return compute(parse_state(query))


def _export_actions(query: dict, sort_by):
    v = _view_of(query)
    rows = action_records(v.acts.iloc[_action_order(v, sort_by)])
    df = pd.DataFrame(rows, columns=[c["id"] for c in ACTION_COLUMNS]).rename(
        columns={c["id"]: c["name"] for c in ACTION_COLUMNS})
    return df, "actions", [("Titre", "Actions de santé (filtres de la page)"), ("Source", action_source_text())]


def _export_density(query: dict, sort_by):
    v = _view_of(query)
    df = density_frame(v)
    cols = density_columns(v)
    numeric = {"population", "n", "density"} | {f"g{i}" for i in range(len(v.groups))}
    out = df.iloc[frame_order(df, sort_by, set(df.columns), numeric, "name")][[c["id"] for c in cols]]
    return (out.rename(columns={c["id"]: c["name"] for c in cols}), "densite_actions",
            [("Titre", f"Actions par {LEVEL_SHORT[v.state.level]}, par thème"),
             ("Source", source_text(v))], cols)


def source_text(v: View) -> str:
    return action_source_text() + " " + population_source_text(v.terr, v.state.level)


register_table_export("actions", _export_actions)
register_table_export("densite_actions", _export_density)
