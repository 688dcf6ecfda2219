"""Application shell: header with navigation, demo banner, footer."""
from __future__ import annotations

import dash
from dash import dcc, html
from dash.exceptions import PreventUpdate

from components.admin import import_enabled
from components.presentation import presentation_widget
from data import access

def new_search(search: str, current: str | None) -> str:
    """The query string a page callback writes to the shell's `url-state`. Dash runs such
    callbacks once when the page is inserted, although they are prevent_initial_call (their
    output lives in the shell): when the URL already is `search`, the page was just built for
    it, so the call is dropped (PreventUpdate) instead of computing the page a second time."""
    if search == (current or ""):
        raise PreventUpdate
    return search


NAV = [
    ("/", "Accueil"),
    ("/inegalites", "Inégalités"),
    ("/couverture", "Couverture ASV"),
    ("/actions", "Actions"),
    ("/comparer", "Comparer"),
    ("/fiche", "Fiche territoire"),
    ("/donnees", "Données"),
]
# Shown only when the import is enabled (ATLAS_ADMIN_TOKEN set), see components/admin.py.
ADMIN_NAV = [("/importer", "Importer")]


def nav_items() -> list[tuple[str, str]]:
    return NAV + (ADMIN_NAV if import_enabled() else [])


def demo_banner() -> html.Div | None:
    try:
        fictional = access.is_fictional()
    except FileNotFoundError:
        return html.Div("Aucune base chargée : lancez « make data ».", className="banner banner-error",
                        role="alert")
    if not fictional:
        return None
    return html.Div(
        [html.Strong("Données fictives de démonstration"),
         " — territoire, quartiers, chiffres et actions sont inventés ; aucun ne décrit un lieu réel."],
        className="banner banner-demo", role="note", id="demo-banner")


def header() -> html.Header:
    return html.Header(
        [
            html.A("Aller au contenu", href="#main", className="skip-link"),
            html.Div([
                html.A([html.Span("Atlas", className="brand-strong"), " ASV"], href="/", className="brand"),
                html.Span("Santé et quartiers prioritaires", className="brand-sub"),
            ], className="brand-block"),
            html.Nav(
                html.Ul([html.Li(dcc.Link(label, href=href, className="nav-link", id=f"nav-{href.strip('/') or 'accueil'}"))
                         for href, label in nav_items()]),
                className="main-nav", **{"aria-label": "Navigation principale"}),
            presentation_widget(),
        ],
        className="site-header",
    )


def footer() -> html.Footer:
    return html.Footer(
        [html.Span("Atlas ASV — sources et millésimes : "), dcc.Link("page Données", href="/donnees"),
         html.Span(" · Données publiques sous Licence Ouverte / Etalab 2.0 quand elles sont réelles.")],
        className="site-footer")


def app_layout():
    """Called on each page load, so the banner follows the DB currently in place."""
    return html.Div([
        dcc.Location(id="url-state", refresh=False),
        header(),
        demo_banner(),
        html.Main(dash.page_container, id="main", tabIndex="-1"),
        footer(),
    ], className="app")
