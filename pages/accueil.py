"""Accueil: choose a scope, see key figures, the data vintage and what is loaded."""
from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from components.layout import new_search
from components.notices import url_notices
from components.scope import checked_scope, parse_scope, scope_dropdown, scope_label, scope_value
from data import access
from data.analysis import fmt
from data.provenance import publisher_text, vintage_text

dash.register_page(__name__, path="/", name="Accueil", title="Atlas ASV — Accueil", order=0)


def key_figures(scope) -> dict:
    """Figures for the cards; None where unknown (never shown as 0). The share covered by an ASV is
    computed over the QPVs whose coverage is known (an ASV known, or the scheme registry complete on
    them); the actions are counted only where an action list is loaded."""
    cov = access.qpv_coverage(scope)
    n_qpv = len(cov)
    known = cov[cov.population.notna()]
    pop = float(known.population.sum()) if len(known) else None
    has_asv = known.has_asv.fillna(False).astype(bool)
    cov_known = known[has_asv | known.registry_known]
    cov_pop = float(cov_known.population.sum()) if len(cov_known) else None
    covered = float(known[has_asv].population.sum()) if len(known) else None
    registry = access.registry_state("schemes", scope)
    share = (covered / cov_pop * 100) if cov_pop and registry != "absent" else None
    listed = access.registry_state("actions", scope)
    last_year = access.latest_action_year()
    n_actions = (len(access.actions(years=(last_year, last_year), within=scope))
                 if last_year and listed != "absent" else None)
    return {"n_qpv": n_qpv, "pop": pop, "pop_known": len(known), "share_asv": share,
            "share_base": len(cov_known), "n_asv_qpv": int(cov.has_asv.fillna(False).astype(bool).sum()),
            "n_cov_known": int((cov.has_asv.fillna(False).astype(bool) | cov.registry_known).sum()),
            "last_year": last_year, "n_actions": n_actions, "registry": registry, "listed": listed,
            "pop_codes": list(known.code)}


def card(figure: str, caption: str, source: str, card_id: str) -> html.Div:
    return html.Div([html.Div(figure, className="figure"), html.Div(caption, className="caption"),
                     html.Div(source, className="source")], className="card", id=card_id)


def _coverage_prefix(k: dict) -> str:
    """"54 QPV sur 135 : " when a total covers only part of the QPVs: in the figure itself, so
    that the number is never quoted without what it counts."""
    return f"{fmt(k['pop_known'], 0)} QPV sur {fmt(k['n_qpv'], 0)} : " if k["pop_known"] < k["n_qpv"] else ""


def population_source(codes: list[str]) -> str:
    """Publisher and year of the populations summed (the 'population' values of those QPVs)."""
    vals = access.values("population", "qpv")
    vals = vals[vals.code.isin(codes) & (vals.status == "ok")]
    if not len(vals):
        return "population des contours chargés, millésime inconnu"
    parts = list(dict.fromkeys(f"{publisher_text(p)}, {y}" for p, y in zip(vals.publisher, vals.year_label)))
    return " ; ".join(parts)


def qpv_source() -> str:
    src = access.sources()
    qpv = src[src.geography.eq("QPV2024") & src.title.str.contains("contour", case=False, na=False)]
    if not len(qpv):
        return "Source : contours des QPV chargés"
    return "Source : " + " ; ".join(dict.fromkeys(f"{publisher_text(p)}, {vintage_text(v)}"
                                                 for p, v in zip(qpv.publisher, qpv.vintage)))


def cards(scope) -> list:
    k = key_figures(scope)
    pop = f"{_coverage_prefix(k)}{fmt(k['pop'], 0)}" if k["pop"] is not None else "n.d."
    pop_caption = ("habitants dans les QPV dont la population est connue" if k["pop_known"] < k["n_qpv"]
                   else "habitants en QPV")
    base = (f"{fmt(k['share_base'], 0)} QPV sur {fmt(k['n_qpv'], 0)} : "
            if k["share_base"] < k["n_qpv"] else "")
    share = f"{base}{fmt(k['share_asv'], 0, '%')}" if k["share_asv"] is not None else "n.d."
    pop_source = population_source(k["pop_codes"])
    if k["registry"] == "absent":
        share_caption = "couverture par les ASV inconnue : registre des dispositifs non chargé pour ce territoire"
    elif k["registry"] == "partial":
        share_caption = (f"de la population des QPV dont la couverture est connue habite un QPV couvert par un ASV "
                         f"({k['n_asv_qpv']} QPV couverts ; registre des dispositifs non chargé pour "
                         f"{k['n_qpv'] - k['n_cov_known']} QPV)")
    else:
        share_caption = f"de leur population couverte par un ASV ({k['n_asv_qpv']} QPV couverts sur {k['n_qpv']})"
    if k["listed"] == "absent":
        act_caption = "actions de santé non recensées : aucune liste d'actions chargée pour ce territoire"
    else:
        act_caption = (f"actions de santé en {k['last_year']}" if k["last_year"] else "actions de santé") + \
            (" (liste d'actions chargée pour une partie du territoire seulement)" if k["listed"] == "partial" else "")
    return [
        card(fmt(k["n_qpv"], 0), "quartiers prioritaires (géographie 2024)", qpv_source(), "card-qpv"),
        card(pop, pop_caption, "Source : " + pop_source, "card-pop"),
        card(share, share_caption, "Sources : registre des dispositifs importé ; " + pop_source, "card-asv"),
        card(fmt(k["n_actions"], 0) if k["n_actions"] is not None else "n.d.", act_caption,
             f"Source : actions importées (année de début {k['last_year']})" if k["last_year"]
             else "Source : actions importées", "card-actions"),
    ]


def loaded_summary() -> html.Div:
    src = access.sources()
    c = access.counts()
    meta = access.meta()
    # a source may carry several vintages ("2021, 2022"): each is listed once
    vintages = sorted({p.strip() for v in src.vintage.dropna() for p in str(v).split(",") if p.strip()})
    unknown = src.vintage.isna().sum() + src.vintage.astype(str).str.strip().eq("").sum()
    return html.Div([
        html.H2("Données chargées"),
        html.P([f"{fmt(c['qpv'], 0)} QPV 2024, {fmt(c['communes'], 0)} communes, "
                f"{fmt(c['values'], 0)} valeurs d'indicateurs, "
                + (f"{fmt(c['schemes'], 0)} dispositifs" if access.registry_loaded("schemes")
                   else "registre des dispositifs non chargé")
                + ", " + (f"{fmt(c['actions'], 0)} actions" if access.registry_loaded("actions")
                          else "liste des actions non chargée")
                + f". Millésimes : {', '.join(vintages) or 'n.d.'}"
                + (f" ({fmt(unknown, 0)} source(s) de millésime inconnu)" if unknown else "") + ". "
                f"Base construite le {meta.get('built_at', 'n.d.')[:10]}."], id="loaded-summary"),
        html.P(dcc.Link("Voir toutes les sources, licences et le rapport de chargement", href="/donnees")),
    ])


def view_title(scope: str | None = None, **_) -> str:
    sc, _notices = checked_scope(scope if isinstance(scope, str) else None)
    return f"Chiffres clés — {scope_label(sc)}"


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
               "prioritaires de la politique de la ville.", className="lead page-intro"),
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
