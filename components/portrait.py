"""One-page portrait of a territory (QPV, commune, EPCI, or an ASV/scheme territory):
locator map, key determinants against references, evolution, coverage by schemes,
actions by theme and public, sources. Used by the Fiche page and its print/PDF output."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from dash import html
from plotly.subplots import make_subplots

from components.charts import french_layout, graph
from components.maps import atlas_map, territory_layer
from components.scope import LEVEL_LABELS
from components.tables import data_table
from data import access
from data.analysis import fmt
from data.views import portrait as views_portrait

def determinants_frame(level: str, code: str) -> tuple[pd.DataFrame, list[str]]:
    """(rows, notes) of data.views.portrait.determinants, the one computation the PDF shares."""
    df = views_portrait.determinants(level, code)
    return df, df.attrs["notes"]


def evolution_figure(level: str, code: str, max_indicators: int = 6) -> go.Figure | None:
    """Indicators with at least two distinct figures (a vintage repeating the previous one is
    the same figure: shown once). The x axis is the year described where the producer gives it,
    else the diffusion vintage, and its title says which."""
    hist = access.value_history(level, code, distinct=True)
    if hist.empty:
        return None
    cat = access.indicators().set_index("indicator_id")
    multi = [i for i in cat.index if (hist.indicator_id == i).sum() > 1][:max_indicators]
    if not multi:
        return None
    cols = 3 if len(multi) > 2 else len(multi)
    rows = math.ceil(len(multi) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[cat.loc[i].short_label for i in multi],
                        vertical_spacing=0.18)
    for n, ind in enumerate(multi):
        h = hist[hist.indicator_id == ind].sort_values("year")
        ok = h[h.status == "ok"]
        described = ok.ref_year.notna().all() and len(ok)
        x = ok.ref_year.astype(int) if described else ok.year
        symbols = ["circle-open" if p == "perimetre_2015" else "circle" for p in ok.perimeter]
        fig.add_trace(go.Scatter(x=x, y=ok.value, mode="lines+markers", name=cat.loc[ind].short_label,
                                 marker={"symbol": symbols, "size": 9, "color": "#0b5e7e"},
                                 line={"color": "#0b5e7e"}, showlegend=False, customdata=ok.year_label,
                                 hovertemplate="%{customdata} : %{y:,.1f} " + cat.loc[ind].unit + "<extra></extra>"),
                      row=n // cols + 1, col=n % cols + 1)
        fig.update_xaxes(title_text="année décrite" if described else "millésime de diffusion",
                         row=n // cols + 1, col=n % cols + 1)
    french_layout(fig, height=260 * rows)
    fig.update_xaxes(dtick=1, tickformat="d")
    return fig


def evolution_absent_text(level: str, code: str) -> str:
    hist = access.value_history(level, code, distinct=True)
    if hist.empty:
        return "Aucune donnée chiffrée pour ce territoire dans la base chargée : pas d'évolution à montrer."
    return ("Une seule valeur distincte par indicateur (les millésimes repris à l'identique comptent une fois) : "
            "pas d'évolution à montrer.")


def bar_counts(df: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=df.n, y=df.label, orientation="h", marker_color="#0b5e7e",
                           text=df.n, textposition="outside",
                           hovertemplate="%{y} : %{x} actions<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return french_layout(fig, title, height=max(220, 32 * len(df) + 80))


def locator(level: str, code: str, map_id: str = "fiche-map") -> html.Div | None:
    t = access.territory(level, code)
    if t is None:
        return None
    if level == "qpv":
        within = ("commune", t["commune"]) if t.get("commune") else None
    elif level in ("commune", "epci"):
        within = ("departement", t["departement"]) if t.get("departement") else None
    else:
        within = None
    hideout = {"classes": {code: 0}, "colors": ["#c2410c"], "selected": code,
               "tooltips": {}}
    layer = territory_layer(f"{map_id}-layer", level, within, hideout=hideout)
    b = access.bounds(level, code)
    if b:
        pad = 0.01 if level == "qpv" else 0.05
        b = (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    return atlas_map(map_id, [(LEVEL_LABELS.get(level, level), layer, True)], within=within, bounds=b,
                     height="320px")


STATUT_TEXT = {"inchange": "inchangé depuis 2015", "modifie": "contour modifié en 2024",
               "nouveau": "nouveau quartier en 2024", "commune": "quartier d'outre-mer (géographie communale)"}


def population_text(level: str, code: str, t: dict) -> str:
    pop = t.get("population")
    if pop is not None and not pd.isna(pop):
        return f"Population : {fmt(pop, 0)} habitants"
    hist = access.value_history(level, code, ["population"])
    ok = hist[hist.status == "ok"]
    if len(ok):
        last = ok.iloc[-1]
        where = " sur le périmètre 2015 du quartier" if last.perimeter == "perimetre_2015" else ""
        return f"Population : n.d. en 2024 ({fmt(last.value, 0)} habitants en {int(last.year)}{where})"
    return "Population : n.d."


def lineage_note(code: str) -> html.P | None:
    """Where the figures of a 2024 QPV come from, or why it has none."""
    lin = access.qpv_lineage(code)
    if not lin:
        return None
    preds = ", ".join(f"{n} ({c})" for c, n in lin["predecessors"])
    if lin["conflict"]:
        text = (f"Statut incertain : {lin['conflict']}. Par prudence, le quartier est traité comme modifié : ses "
                "chiffres de la géographie 2015 sont signalés « périmètre 2015 »")
    else:
        text = f"Quartier {STATUT_TEXT.get(lin['statut'], lin['statut'])}"
    if preds:
        text += f" ; quartier(s) 2015 d'origine : {preds}"
    text += "."
    if lin["statut"] == "nouveau":
        text += " Les indicateurs publiés sur la géographie 2015 ne le couvrent pas."
    elif len(lin["predecessors"]) > 1:
        text += (" Il regroupe plusieurs quartiers 2015 : leurs indicateurs ne peuvent pas lui être "
                 "attribués sans recalcul par l'INSEE.")
    return html.P(text, id="fiche-lineage", className="muted" if lin["unchanged"] else "note")


def territory_portrait(level: str, code: str) -> html.Div:
    t = access.territory(level, code)
    if t is None:
        return html.Div(html.P(f"Territoire inconnu : {level} {code}.", className="note"), id="fiche-body")
    pars = access.parents(level, code)
    subtitle = " · ".join(f"{LEVEL_LABELS.get(p['level'], p['level'])} : {p['name']}" for p in pars)
    det, notes = determinants_frame(level, code)
    evo = evolution_figure(level, code)
    sch = access.schemes_covering(level, code) if level in ("qpv", "commune") else pd.DataFrame()
    by_theme = access.action_counts(level, code, "theme")
    by_public = access.action_counts(level, code, "public")
    zoning = access.gp_zoning()
    zone = zoning[zoning.qpv_code == code] if level == "qpv" else zoning.iloc[0:0]
    srcs = det.attrs.get("sources", [])
    ref_commune = access.reference_commune_text(code) if level == "qpv" else None
    table_cols = [c for c in det.columns if c not in ("indicator_id", "value")]
    return html.Div([
        html.H1([t["name"], html.Span(f" — {LEVEL_LABELS.get(level, level)} {code}", className="muted")],
                id="fiche-title"),
        html.P(subtitle, className="lead"),
        html.P(ref_commune + ".", id="fiche-reference-commune", className="muted") if ref_commune else None,
        html.P(population_text(level, code, t), id="fiche-population"),
        lineage_note(code) if level == "qpv" else None,
        html.P(f"Zonage ARS médecins généralistes : {zone.iloc[0].zone} (millésime {zone.iloc[0].millesime})"
               if len(zone) else None),
        html.Div([
            html.Div(locator(level, code), className="fiche-map"),
            html.Div([
                html.H2("Dispositifs de santé"),
                html.Ul([html.Li([html.Strong(f"{r.kind} "), r.name,
                                  html.Span(f" — porteur : {r.porteur}" if r.porteur else "", className="muted")])
                         for r in sch.itertuples()], id="fiche-schemes") if len(sch)
                else html.P("Aucun dispositif ASV, CLS, CLSM ou CPTS recensé.", id="fiche-schemes"),
            ]),
        ], className="grid-2"),
        html.H2("Déterminants de santé et références"),
        data_table("fiche-determinants", det[table_cols] if len(det) else det, filename=f"fiche_{code}",
                   meta=[("Titre", f"Déterminants de santé et références — {t['name']}"),
                         ("Territoire", f"{LEVEL_LABELS.get(level, level)} {t['name']} ({code})"),
                         ("Sources", " ; ".join(srcs))],
                   page_size=30) if len(det) else html.P("Aucun indicateur disponible pour ce territoire."),
        html.Div([html.P(n, className="note") for n in notes]),
        html.H2("Évolution", className="page-break"),
        graph("fiche-evolution", evo, source="Cercles vides : valeur sur le périmètre 2015 du quartier.")
        if evo is not None else html.P(evolution_absent_text(level, code), id="fiche-no-evolution"),
        html.H2("Actions de santé"),
        html.Div([
            graph("fiche-actions-theme", bar_counts(by_theme, "Par axe thématique"))
            if len(by_theme) else html.P("Aucune action localisée ici."),
            graph("fiche-actions-public", bar_counts(by_public, "Par public"))
            if len(by_public) else html.Div(),
        ], className="grid-2"),
        html.H2("Sources et millésimes"),
        html.Ul([html.Li(s) for s in srcs] + [html.Li("Actions et dispositifs : registre importé (voir Données).")],
                id="fiche-sources"),
    ], id="fiche-body")
