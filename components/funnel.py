"""The funnel plot of Inégalités ("graphique en entonnoir", data/views/funnel.py): the chart, the
QPVs beyond its limits named in words (the chart's text alternative), and its source line."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from dash import html

from components.charts import deferred_graph, french_layout
from data import stats
from data.analysis import fmt
from data.views import funnel as fn
from data.views.inegalites import View, decimals_of

GRAPH_ID = "ineg-funnel"
MAX_LABELS = 12       # names written beside the dots beyond the 99,8 % limits (all are listed below)
POINT_STYLE = {"": ("circle-open", "#6b6b70", "Dans les limites à 95 %"),
               "95": ("circle", "#b35806", "Au-delà des limites à 95 %"),
               "99.8": ("diamond", "#7f1d1d", "Au-delà des limites à 99,8 %")}


def block() -> html.Div:
    """The section's layout: the chart is mounted once the map has drawn (components/charts.py:
    deferred_graph), its figure and texts come from the page's callback."""
    return html.Div([
        html.H2("Graphique en entonnoir", id="ineg-funnel-title"),
        html.P("Chaque point est un quartier : sa valeur selon son effectif. Les limites se resserrent quand "
               "l'effectif grandit : un point au-delà d'elles s'écarte de la référence plus que le hasard ne "
               "l'expliquerait, sans classer les quartiers entre eux.", className="muted"),
        deferred_graph(GRAPH_ID, export_name="entonnoir"),
    ], className="funnel-block")


# Inserted with the chart (components/charts.py: defer_graphs), written by the same callback.
COMPANIONS = [("ineg-funnel-source", "source-line"), ("ineg-funnel-text", "funnel-text")]


def figure(v: View, fu: fn.Funnel) -> go.Figure:
    fig = go.Figure()
    ind = v.indicator
    unit = "" if ind["unit"] == "indice" else f" ({ind['unit']})"
    if fu.why is None:
        for token, dash, width in (("95", "dash", 1.5), ("99.8", "dot", 1.8)):
            lo, hi = fu.limits[token]
            name = f"Limites à {stats.LEVEL_LABELS[token]}" + (" (corrigées)" if fu.adjusted else "")
            for k, ys in enumerate((lo, hi)):
                fig.add_trace(go.Scatter(x=np.round(fu.grid, 1), y=np.round(ys, 4), mode="lines", name=name, legendgroup=token,
                                         showlegend=k == 0, hoverinfo="skip",
                                         line={"color": "#3a3a3f", "dash": dash, "width": width}))
        fig.add_trace(go.Scatter(x=[fu.grid[0], fu.grid[-1]], y=[fu.target, fu.target], mode="lines",
                                 name=f"Référence : {fu.target_label}", hoverinfo="skip",
                                 line={"color": "#0b5e7e", "width": 2}))
        d = decimals_of(ind)
        for token, (symbol, color, label) in POINT_STYLE.items():
            p = fu.points[fu.points.outside == token]
            if p.empty:
                continue
            labelled = token == "99.8" and len(p) <= MAX_LABELS
            fig.add_trace(go.Scatter(
                x=p.den.round(1), y=p.value.round(d + 2), mode="markers+text" if labelled else "markers", name=label,
                text=list(p.name) if labelled else None, textposition="middle right",
                textfont={"size": 11}, marker={"symbol": symbol, "size": 10, "color": color,
                                               "line": {"width": 1.5, "color": color}},
                customdata=list(p.name),       # values formatted by Plotly (French separators): fewer bytes
                hovertemplate=f"%{{customdata}}<br>Valeur : %{{y:,.{d}f}}<br>Effectif : %{{x:,.0f}}<extra></extra>"))
    sp = fu.spec
    x_title = (sp.denominator + (" (approché)" if fu.approx else "")) if sp else "Effectif"
    french_layout(fig, height=460)
    fig.update_layout(legend={"orientation": "h", "y": -0.2}, margin={"t": 20})
    ticks = log_ticks(fu.grid)
    fig.update_xaxes(type="log", title={"text": f"Effectif : {x_title} (échelle logarithmique)"},
                     tickvals=ticks, ticktext=[fmt(t, 0) for t in ticks])
    fig.update_yaxes(title={"text": f"{ind['short_label']}{unit}"})
    return fig


def graph_style(fu: fn.Funnel) -> dict:
    """No funnel: no empty axes on the page (the reason is the text under the chart)."""
    return {"display": "none"} if fu.why is not None else {}


def log_ticks(grid) -> list[float]:
    """1, 2, 5 × 10^n within the grid's range (Plotly's log axis writes "2, 3, 5" between decades)."""
    if not len(grid):
        return []
    lo, hi = float(np.min(grid)), float(np.max(grid))
    out = [m * 10 ** e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1) for m in (1, 2, 5)]
    return [t for t in out if lo <= t <= hi]


def texts(v: View, fu: fn.Funnel) -> list:
    """The QPVs beyond the limits, in words, and what the chart rests on."""
    if fu.why:
        return [html.P(fu.why, className="note", id="ineg-funnel-why")]
    out = [html.P(f"Référence : {fu.target_label}. " + fu.note, className="muted")]
    for token, head in (("99.8", "Au-delà des limites à 99,8 %"), ("95", "Entre les limites à 95 % et 99,8 %")):
        names = fn.outside_text(fu, token)
        out.append(html.P([html.Strong(f"{head} : "), ", ".join(names) + "." if names else "aucun quartier."],
                          id=f"ineg-funnel-out-{token.replace('.', '')}"))
    inside = int((fu.points.outside == "").sum())
    out.append(html.P(f"Dans les limites à 95 % : {inside} quartier(s) sur {len(fu.points)}.", className="muted"))
    if fu.adjusted:
        d = fu.dispersion
        out.append(html.P(
            f"Les quartiers diffèrent entre eux bien plus que le hasard ne l'expliquerait (surdispersion : "
            f"φ = {fmt(d['phi'], 1)} sur {d['n']} quartiers, test du χ² significatif ; fréquente sur des effectifs de "
            "plusieurs milliers). Les limites sont donc élargies d'une variation entre quartiers (effet aléatoire "
            "additif, Spiegelhalter 2005) : un quartier au-delà s'écarte de la référence plus que ne l'expliquent "
            "le hasard et les différences habituelles entre quartiers. Sans cette correction, "
            f"{fu.unadjusted_beyond} quartier(s) sur {len(fu.points)} seraient au-delà des limites à 99,8 %.",
            className="note", id="ineg-funnel-overdispersed"))
    if fu.approx:
        out.append(html.P(f"Dénominateur approché pour {fu.approx} quartier(s) : {fu.spec.denominator_note}.",
                          className="note"))
    return out


def source(v: View, fu: fn.Funnel) -> str:
    if fu.why or fu.spec is None:
        return ""
    law = "binomiale" if fu.spec.method == "wilson" else "de Poisson"
    how = (f"loi {law} exacte autour de la référence (interpolée, Spiegelhalter 2005)" if not fu.adjusted else
           f"autour de la référence, élargies pour la surdispersion (effet aléatoire additif sur l'échelle "
           f"{'arc sinus racine' if fu.spec.method == 'wilson' else 'racine carrée'}, z-scores winsorisés à 10 %, "
           f"Spiegelhalter 2005)")
    return f"Limites de contrôle : {how}. Effectifs : {fu.spec.numerator} sur {fu.spec.denominator}."
