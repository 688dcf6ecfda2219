"""Presentation ("diaporama"): a sequence of saved views, each a shared URL state with a
title and a comment, kept in the browser (dcc.Store, localStorage) and saved to or loaded
from a JSON file. This module holds the app-shell widget that bookmarks the current view
and the deck format; pages/presentation.py edits and plays the deck.

Deck format (JSON file and store):
    {"format": "atlas-asv-diaporama", "version": 1, "title": "...",
     "slides": [{"url": "/inegalites?indicator=...", "title": "...", "comment": "..."}]}
"""
from __future__ import annotations

from urllib.parse import urlsplit

from dash import Input, Output, State, clientside_callback, dcc, html

STORE_ID = "presentation-store"
DECK_FORMAT = "atlas-asv-diaporama"
MAX_SLIDES = 200
MAX_TITLE = 200
MAX_COMMENT = 2000
MAX_URL = 3000


def empty_deck(title: str = "Présentation") -> dict:
    return {"format": DECK_FORMAT, "version": 1, "title": title, "slides": []}


def valid_slide_url(url, known_paths: set[str] | None = None) -> bool:
    """A same-app relative URL ("/page?query") of a known page (not /presentation)."""
    if not isinstance(url, str) or not url.startswith("/") or url.startswith("//") or "\\" in url \
            or len(url) > MAX_URL or any(ord(c) < 32 for c in url):
        return False
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or parts.path == "/presentation":
        return False
    return known_paths is None or parts.path in known_paths


def validate_deck(obj, known_paths: set[str] | None = None) -> dict:
    """A clean deck from a loaded JSON object; ValueError (French message) when it is not one."""
    if not isinstance(obj, dict) or obj.get("format") != DECK_FORMAT:
        raise ValueError("Ce fichier n'est pas une présentation de l'Atlas ASV (champ « format » absent).")
    slides = obj.get("slides")
    if not isinstance(slides, list):
        raise ValueError("Présentation invalide : la liste « slides » est absente.")
    if len(slides) > MAX_SLIDES:
        raise ValueError(f"Présentation trop longue : {len(slides)} vues (au plus {MAX_SLIDES}).")
    clean = []
    for i, s in enumerate(slides, start=1):
        if not isinstance(s, dict):
            raise ValueError(f"Vue {i} invalide.")
        if not valid_slide_url(s.get("url"), known_paths):
            raise ValueError(f"Vue {i} : adresse refusée (seules les pages de l'atlas sont permises).")
        clean.append({"url": s["url"], "title": str(s.get("title") or "")[:MAX_TITLE],
                      "comment": str(s.get("comment") or "")[:MAX_COMMENT]})
    title = str(obj.get("title") or "Présentation")[:MAX_TITLE]
    return {"format": DECK_FORMAT, "version": 1, "title": title, "slides": clean}


def presentation_widget() -> html.Div:
    """'Ajouter à la présentation' (current view + title + comment) and a link to the deck."""
    return html.Div([
        html.Button("Ajouter à la présentation", id="present-add-open", type="button", n_clicks=0,
                    className="btn btn-secondary btn-small", **{"aria-controls": "present-add-dialog"}),
        dcc.Link(["Présentation (", html.Span("0", id="present-count"), ")"], href="/presentation",
                 id="present-link", className="nav-link"),
        html.Div([
            html.Label("Titre de la vue", htmlFor="present-add-title"),
            dcc.Input(id="present-add-title", type="text", maxLength=MAX_TITLE, value=""),
            html.Label("Commentaire (affiché sous la vue)", htmlFor="present-add-comment"),
            dcc.Textarea(id="present-add-comment", maxLength=MAX_COMMENT, value="", rows=3),
            html.Div([
                html.Button("Ajouter", id="present-add-confirm", type="button", n_clicks=0, className="btn btn-small"),
                html.Button("Annuler", id="present-add-cancel", type="button", n_clicks=0,
                            className="btn btn-secondary btn-small"),
            ], className="export-actions"),
        ], id="present-add-dialog", className="present-dialog", hidden=True, role="dialog",
            **{"aria-label": "Ajouter la vue actuelle à la présentation"}),
        html.Span(id="present-add-status", className="present-status", role="status", **{"aria-live": "polite"}),
        dcc.Store(id=STORE_ID, storage_type="local"),
    ], className="present-widget no-print")


# Opening the dialog pre-fills the title with what the view shows (else the page's heading).
clientside_callback(
    """function (nOpen, nCancel, hidden) {
        const trig = (window.dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
        const nu = window.dash_clientside.no_update;
        if (trig.startsWith("present-add-cancel") || !hidden) {
            return [true, nu, nu];
        }
        const h = document.querySelector("#page-content h1");
        const fallback = (h ? h.textContent : document.title.replace(/^Atlas ASV — /, "")).trim().slice(0, 200);
        /* once the dialog is shown, the title gets the focus, unless the user is already in the dialog */
        (function focusTitle(tries) {
            const dlg = document.getElementById("present-add-dialog");
            const el = document.getElementById("present-add-title");
            if (!dlg || !el || dlg.hidden) { if (tries < 60) { requestAnimationFrame(function () { focusTitle(tries + 1); }); } return; }
            if (!dlg.contains(document.activeElement)) { el.focus(); }
        })(0);
        /* the title says what the view shows (territory, indicator, year): asked of the server, which
           reads it from the URL as the page does (components/layout.view_title) */
        const u = window.location.pathname + window.location.search;
        return fetch("/view-title?u=" + encodeURIComponent(u), {credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.json() : {}; })
            .then(function (d) { return [false, (d && d.title) || fallback, ""]; })
            .catch(function () { return [false, fallback, ""]; });
    }""",
    Output("present-add-dialog", "hidden"), Output("present-add-title", "value"),
    Output("present-add-comment", "value"),
    Input("present-add-open", "n_clicks"), Input("present-add-cancel", "n_clicks"),
    State("present-add-dialog", "hidden"), prevent_initial_call=True)

# Adding stores the current URL (without export/present/print flags), title and comment.
clientside_callback(
    """function (n, title, comment, deck) {
        const nu = window.dash_clientside.no_update;
        if (!n) { return [nu, nu, nu]; }
        const url = new URL(window.location.href);
        ["export", "present", "print", "shown"].forEach(function (k) { url.searchParams.delete(k); });
        // the extent of the map on screen: the slide shows it whatever the size of its frame
        const shown = window.atlasExport && window.atlasExport.shownBounds && window.atlasExport.shownBounds();
        if (shown) { url.searchParams.set("shown", shown); }
        if (url.pathname === "/presentation") {
            return [nu, true, "La page Présentation elle-même ne peut pas être ajoutée."];
        }
        const d = (deck && deck.format === "%s" && Array.isArray(deck.slides)) ? deck
                  : {format: "%s", version: 1, title: "Présentation", slides: []};
        const slides = d.slides.slice();
        const h = document.querySelector("#page-content h1");
        slides.push({url: url.pathname + url.search,
                     title: String(title || (h ? h.textContent : document.title)).trim().slice(0, %d),
                     comment: String(comment || "").slice(0, %d)});
        return [Object.assign({}, d, {slides: slides}), true,
                "Vue ajoutée à la présentation (" + slides.length + " vue" + (slides.length > 1 ? "s" : "") + ")."];
    }""" % (DECK_FORMAT, DECK_FORMAT, MAX_TITLE, MAX_COMMENT),
    Output(STORE_ID, "data", allow_duplicate=True), Output("present-add-dialog", "hidden", allow_duplicate=True),
    Output("present-add-status", "children"),
    Input("present-add-confirm", "n_clicks"), State("present-add-title", "value"),
    State("present-add-comment", "value"), State(STORE_ID, "data"), prevent_initial_call=True)

clientside_callback(
    """function (deck) { return String((deck && Array.isArray(deck.slides)) ? deck.slides.length : 0); }""",
    Output("present-count", "children"), Input(STORE_ID, "data"))
