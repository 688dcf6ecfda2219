"""Application shell: header with navigation, demo banner, footer, and the page router.

The router replaces Dash pages' own (dash.page_container): the layout Dash fetches on load
(/_dash-layout) already holds the page built for the URL the browser is showing (its
Referer), so that nothing waits for a page callback before the page, its map and its table
are drawn. A link followed inside the app (dcc.Link), or the browser's back and forward
buttons, change `page-location`: the router then builds the new page in one callback, and
does nothing when the URL is the one the page was built for.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import dash
from dash import Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate
from flask import has_request_context, request

from components.admin import import_enabled
from components.notices import clip, url_notices
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
         html.Span(" · Données publiques sous Licence Ouverte / Etalab 2.0 quand elles sont réelles. · "),
         dcc.Link("Accessibilité : non conforme", href="/accessibilite", id="footer-a11y")],
        className="site-footer")


def parse_query(search: str | None, multi=()) -> tuple[dict, list[str]]:
    """URL query -> (page layout keyword arguments, notices). A parameter the page declares as
    repeatable (`multi_params` in its register_page) is always the list of its values; any other
    parameter given several times counts once, with its first value, and the notice says so."""
    q = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    q = {k: v for k, v in q.items() if k.isidentifier()}
    notices = [f"Le paramètre « {clip(k, 30)} » figure plusieurs fois dans l'adresse : seule sa première valeur "
               f"(« {clip(v[0])} ») est utilisée." for k, v in q.items() if len(v) > 1 and k not in multi]
    return {k: v if k in multi else v[0] for k, v in q.items()}, notices


def find_page(pathname: str | None) -> dict | None:
    path = "/" + (pathname or "/").strip("/")
    for page in dash.page_registry.values():
        if page["path"] == path:
            return page
    return None


def page_layout(pathname: str | None, search: str | None):
    """(layout, title) of the page at a URL; a page that does not exist says so."""
    page = find_page(pathname)
    if page is None:
        return (html.Div([html.H1("Page introuvable"),
                          html.P(["Cette adresse ne correspond à aucune page de l'atlas. ",
                                  dcc.Link("Retour à l'accueil", href="/")])], className="page-404"),
                "Atlas ASV — page introuvable")
    layout = page["layout"]
    query, notices = parse_query(search, page.get("multi_params", ()))
    try:
        content = layout(**query) if callable(layout) else layout
    except Exception:   # a bug must not blank the whole app: the page says so, the log has the details
        logging.getLogger(__name__).exception("layout of %s failed for %r", page["path"], search)
        content = html.Div([html.H1(page["name"]),
                            html.P("Cette page n'a pas pu être construite pour cette adresse. Revenez à la page "
                                   "sans paramètres, ou signalez l'adresse à l'équipe qui maintient l'atlas.",
                                   className="note")])
    if notices:
        content = html.Div([url_notices(notices, "url-notices-repeated"), content])
    return content, page["title"]


def view_title(url: str | None) -> str:
    """What a view shows, in words, for a slide's title: the page's `view_title(**query)` (its
    territory, indicator, year...) when the page defines one, else the page's name."""
    parts = urlsplit(str(url or "/"))
    page = find_page(parts.path)
    if page is None:
        return "Atlas ASV"
    query, _ = parse_query(parts.query, page.get("multi_params", ()))
    import importlib

    fn = getattr(importlib.import_module(page["module"]), "view_title", None)
    try:
        text = fn(**query) if fn else None
    except Exception:   # a title is a convenience: the page's name then
        logging.getLogger(__name__).exception("view title of %s failed", url)
        text = None
    return clip(text or page["name"], 200)


def register_routes(server) -> None:
    @server.route("/view-title")
    def view_title_route():
        from flask import jsonify

        return jsonify({"title": view_title(request.args.get("u", "/"))})


def requested_url() -> tuple[str, str] | None:
    """(path, query) of the page the browser shows while it fetches the layout: the Referer of
    /_dash-layout (same origin only). None outside a request or without a usable Referer."""
    if not has_request_context() or not request.referrer:
        return None
    ref = urlsplit(request.referrer)
    if ref.netloc and ref.netloc != request.host:
        return None
    return ref.path or "/", ("?" + ref.query) if ref.query else ""


def app_layout():
    """Called on each page load (so the banner follows the DB currently in place), with the
    page of the browser's URL already in it."""
    url = requested_url()
    content, shown = None, None
    if url is not None:
        content, title = page_layout(*url)
        shown = {"url": url[0] + url[1], "title": title}
    return html.Div([
        dcc.Location(id="url-state", refresh=False),
        dcc.Location(id="page-location", refresh="callback-nav"),
        dcc.Store(id="page-shown", data=shown),
        dcc.Store(id="page-wanted"),
        html.Div(id="page-title-sink", hidden=True),
        header(),
        demo_banner(),
        html.Main(html.Div(content, id="page-content"), id="main", tabIndex="-1"),
        footer(),
    ], className="app")


# The URL changed: a link followed or the browser's back and forward buttons (pages writing
# their state into the URL use url-state, which does not move page-location). Its first change
# is the location read when the page mounts: the layout already holds that page, no request.
clientside_callback(
    """function (pathname, search, shown, wanted) {
        const url = (pathname || "/") + (search || "");
        if (!wanted && shown && shown.url === url) { return window.dash_clientside.no_update; }
        return {url: url, n: ((wanted && wanted.n) || 0) + 1};
    }""",
    Output("page-wanted", "data"),
    Input("page-location", "pathname"), Input("page-location", "search"), State("page-shown", "data"),
    State("page-wanted", "data"), prevent_initial_call=True)


@callback(Output("page-content", "children"), Output("page-shown", "data"), Input("page-wanted", "data"),
          prevent_initial_call=True)
def route(wanted):
    """The page of a URL the browser moved to."""
    url = wanted.get("url") if isinstance(wanted, dict) else None
    if not isinstance(url, str) or not url.startswith("/"):
        raise PreventUpdate
    parts = urlsplit(url)
    content, title = page_layout(parts.path, ("?" + parts.query) if parts.query else "")
    return content, {"url": url, "title": title}


clientside_callback(
    """function (shown) {
        if (shown && shown.title) { document.title = shown.title; }
        return window.dash_clientside.no_update;
    }""",
    Output("page-title-sink", "children"), Input("page-shown", "data"))
