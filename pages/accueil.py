"""Accueil: choose a scope, see key figures, the data vintage and what is loaded."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from components.layout import new_search
from components.notices import url_notices
from components.scope import checked_scope, parse_scope, scope_dropdown, scope_label, scope_value
from data import access
from data.analysis import fmt

dash.register_page(__name__, path="/", name="Accueil", title="Atlas ASV — Accueil", order=0)


def key_figures(scope) -> dict:
    """Figures for the cards; None where unknown (never shown as 0)."""
    cov = access.qpv_coverage(scope)
    n_qpv = len(cov)
    known = cov[cov.population.notna()]
    pop = float(known.population.sum()) if len(known) else None
    covered = float(known[known.has_asv.fillna(False)].population.sum()) if len(known) else None
    has_registry = access.counts()["schemes"] > 0
    share = (covered / pop * 100) if pop and has_registry else None
    last_year = access.latest_action_year()
    n_actions = len(access.actions(years=(last_year, last_year), within=scope)) if last_year else None
    return {"n_qpv": n_qpv, "pop": pop, "pop_known": len(known), "share_asv": share,
            "n_asv_qpv": int(cov.has_asv.fillna(False).sum()), "last_year": last_year,
            "n_actions": n_actions, "has_registry": has_registry}


def card(figure: str, caption: str, source: str, card_id: str) -> html.Div:
    return html.Div([html.Div(figure, className="figure"), html.Div(caption, className="caption"),
                     html.Div(source, className="source")], className="card", id=card_id)


def cards(scope) -> list:
    k = key_figures(scope)
    pop_caption = "habitants en QPV"
    if k["n_qpv"] and k["pop_known"] < k["n_qpv"]:
        pop_caption += f" (population connue pour {k['pop_known']} QPV sur {k['n_qpv']})"
    return [
        card(fmt(k["n_qpv"], 0), "quartiers prioritaires (géographie 2024)",
             "Source : contours ANCT", "card-qpv"),
        card(fmt(k["pop"], 0) if k["pop"] is not None else "n.d.", pop_caption,
             "Source : INSEE / ONPV, population municipale", "card-pop"),
        card(fmt(k["share_asv"], 0, "%") if k["share_asv"] is not None else "n.d.",
             f"de la population en QPV couverte par un ASV ({k['n_asv_qpv']} QPV couverts)"
             if k["has_registry"] else "couverture par les ASV : aucun registre de dispositifs importé",
             "Source : registre des ASV importé", "card-asv"),
        card(fmt(k["n_actions"], 0) if k["n_actions"] is not None else "n.d.",
             f"actions de santé en {k['last_year']}" if k["last_year"] else "actions de santé",
             "Source : actions importées", "card-actions"),
    ]


def loaded_summary() -> html.Div:
    src = access.sources()
    c = access.counts()
    meta = access.meta()
    vintages = sorted({v for v in src.vintage.dropna()})
    return html.Div([
        html.H2("Données chargées"),
        html.P([f"{fmt(c['qpv'], 0)} QPV 2024, {fmt(c['communes'], 0)} communes, "
                f"{fmt(c['values'], 0)} valeurs d'indicateurs, {fmt(c['schemes'], 0)} dispositifs, "
                f"{fmt(c['actions'], 0)} actions. Millésimes : {', '.join(vintages) or 'n.d.'}. "
                f"Base construite le {meta.get('built_at', 'n.d.')[:10]}."], id="loaded-summary"),
        html.P(dcc.Link("Voir toutes les sources, licences et le rapport de chargement", href="/donnees")),
    ])


def layout(scope: str | None = None, **_):
    try:
        access.meta()
    except FileNotFoundError as exc:
        return html.Div([html.H1("Atlas ASV"), html.P(str(exc), className="note")])
    sc, notices = checked_scope(scope if isinstance(scope, str) else None)
    return html.Div([
        html.H1("Santé et quartiers prioritaires : tableau de bord des Ateliers santé ville"),
        html.P("Cartographier les inégalités sociales et territoriales de santé, la couverture des "
               "dispositifs locaux (ASV, CLS, CLSM, CPTS) et les actions menées dans les quartiers "
               "prioritaires de la politique de la ville.", className="lead"),
        url_notices(notices),
        html.Div([scope_dropdown("home-scope", scope_value(sc))], className="controls"),
        html.H2(scope_label(sc), id="home-scope-title"),
        html.Div(cards(sc), className="cards", id="home-cards"),
        html.Nav(html.Ul([
            html.Li(dcc.Link("Cartographier les inégalités", href="/inegalites")),
            html.Li(dcc.Link("Voir la couverture par les ASV", href="/couverture")),
            html.Li(dcc.Link("Explorer les actions par thème", href="/actions")),
            html.Li(dcc.Link("Comparer des territoires", href="/comparer")),
        ]), **{"aria-label": "Accès rapides"}),
        loaded_summary(),
    ])


@callback(Output("home-cards", "children"), Output("home-scope-title", "children"),
          Output("url-state", "search", allow_duplicate=True),
          Input("home-scope", "value"), State("url-state", "search"), prevent_initial_call=True)
def update_scope(value, current=None):
    sc = parse_scope(value)
    search = new_search(f"?scope={scope_value(sc)}", current)
    return cards(sc), scope_label(sc), search
