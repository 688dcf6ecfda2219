"""Présentation: edit, save, load and play a sequence of saved views (a "diaporama").

Views are added from any page with the "Ajouter à la présentation" button of the app shell
(components/presentation.py); the deck lives in the browser (localStorage) and can be
saved to and loaded from a JSON file. The player is full screen, in large type: each slide
shows its title, the saved view in a frame (the page with ?present=1: no navigation, no
controls, offline basemap), its comment and the view's own source lines; keyboard: arrows,
PageUp/PageDown, space, Home/End, Échap (assets/export.js).
"""
from __future__ import annotations

import base64
import json

import dash
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from components.presentation import (DECK_FORMAT, MAX_COMMENT, MAX_TITLE, STORE_ID, empty_deck,
                                     validate_deck)

dash.register_page(__name__, path="/presentation", name="Présentation", title="Atlas ASV — Présentation",
                   order=8)

MAX_UPLOAD = 1024 * 1024


def known_paths() -> set[str]:
    return {p["path"] for p in dash.page_registry.values()}


def deck_or_empty(deck) -> dict:
    try:
        return validate_deck(deck, known_paths())
    except ValueError:
        return empty_deck()


def parse_upload(contents: str | None, filename: str | None) -> dict:
    """A deck from dcc.Upload contents ("data:...;base64,..."); ValueError in French."""
    if not contents or "," not in contents:
        raise ValueError("Fichier vide.")
    raw = base64.b64decode(contents.split(",", 1)[1], validate=False)
    if len(raw) > MAX_UPLOAD:
        raise ValueError("Fichier trop volumineux (1 Mo au plus).")
    try:
        obj = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"Le fichier {filename or ''} n'est pas un JSON lisible ({exc.__class__.__name__}).") from exc
    return validate_deck(obj, known_paths())


def deck_json(deck: dict) -> str:
    return json.dumps(deck_or_empty(deck), ensure_ascii=False, indent=2)


def slide_items(deck: dict) -> list:
    slides = deck.get("slides", [])
    if not slides:
        return [html.Li(html.P(["Aucune vue pour l'instant. Sur chaque page de l'atlas, réglez la carte ou le "
                                "graphique puis cliquez sur « Ajouter à la présentation » (en haut à droite)."],
                               className="muted"), id="slide-empty")]
    items = []
    n = len(slides)
    for i, s in enumerate(slides):
        items.append(html.Li([
            html.Span(str(i + 1), className="slide-num", **{"aria-hidden": "true"}),
            html.Div([
                html.Label([f"Titre de la vue {i + 1}",
                            dcc.Input(id={"type": "slide-title", "index": i}, value=s["title"], type="text",
                                      maxLength=MAX_TITLE, debounce=True)]),
                html.Label([f"Commentaire de la vue {i + 1}",
                            dcc.Textarea(id={"type": "slide-comment", "index": i}, value=s["comment"], rows=2,
                                         maxLength=MAX_COMMENT)]),
                html.P(["Vue : ", dcc.Link(s["url"], href=s["url"])], className="slide-url muted"),
            ]),
            html.Div([
                html.Button("Monter", id={"type": "slide-up", "index": i}, n_clicks=0, type="button",
                            className="btn btn-secondary btn-small", disabled=i == 0,
                            **{"aria-label": f"Monter la vue {i + 1}"}),
                html.Button("Descendre", id={"type": "slide-down", "index": i}, n_clicks=0, type="button",
                            className="btn btn-secondary btn-small", disabled=i == n - 1,
                            **{"aria-label": f"Descendre la vue {i + 1}"}),
                html.Button("Retirer", id={"type": "slide-del", "index": i}, n_clicks=0, type="button",
                            className="btn btn-secondary btn-small", **{"aria-label": f"Retirer la vue {i + 1}"}),
            ], className="slide-tools"),
        ], className="slide-item"))
    return items


def player() -> html.Div:
    return html.Div([
        html.Div([
            html.Div([html.H2(id="present-title"), html.P(id="present-view", className="player-view")]),
            html.Span(id="present-counter", className="player-counter", role="status"),
        ], className="player-head"),
        html.Iframe(id="present-frame", src="about:blank", title="Vue de la présentation", tabIndex="-1"),
        html.Div([
            html.P(id="present-comment", className="player-comment"),
            # at most four lines on screen; a longer list scrolls (a tab stop then: assets/export.js)
            html.P(id="present-sources", className="player-sources", role="region",
                   **{"aria-label": "Sources de la vue"}),
            html.Div([
                html.Button("« Première", id="present-first", n_clicks=0, type="button", className="btn btn-secondary"),
                html.Button("‹ Précédente", id="present-prev", n_clicks=0, type="button", className="btn btn-secondary"),
                html.Button("Suivante ›", id="present-next", n_clicks=0, type="button", className="btn"),
                html.Button("Dernière »", id="present-last", n_clicks=0, type="button", className="btn btn-secondary"),
                html.Button("Quitter", id="present-quit", n_clicks=0, type="button", className="btn btn-secondary"),
                html.Span("Clavier : flèches, Page préc./suiv., espace ; Échap pour quitter.", className="player-help"),
                html.Span(id="present-frame-status", className="visually-hidden", role="status"),
                # Keys queue their action then click this never-disabled trigger (assets/export.js): a
                # key pressed before the buttons' state catches up is applied, clamped, never dropped.
                html.Button(id="present-key", n_clicks=0, type="button", hidden=True, tabIndex="-1",
                            **{"aria-hidden": "true"}),
            ], className="player-nav"),
        ], className="player-foot"),
    ], id="present-player", hidden=True, role="dialog", tabIndex="-1", **{"aria-label": "Présentation en plein écran"})


def layout(**_):
    return html.Div([
        html.H1("Présentation (diaporama)"),
        html.P("Une présentation est une suite de vues de l'atlas (une carte, un graphique, une fiche, avec leurs "
               "réglages), chacune avec un titre et un commentaire. Elle se joue en plein écran, en grands "
               "caractères, sans connexion à un serveur de tuiles : fond de carte hors ligne.", className="lead"),
        html.Div([
            html.Div([html.Label("Titre de la présentation", htmlFor="present-deck-title"),
                      dcc.Input(id="present-deck-title", type="text", maxLength=MAX_TITLE, debounce=True,
                                value="Présentation")], className="control"),
            html.Button("Lancer la présentation", id="present-start", n_clicks=0, type="button", className="btn"),
            html.Button("Enregistrer le fichier (JSON)", id="present-save", n_clicks=0, type="button",
                        className="btn btn-secondary"),
            dcc.Upload(html.Button("Ouvrir un fichier de présentation", type="button", className="btn btn-secondary",
                                   tabIndex="-1"),
                       id="present-upload", accept=".json,application/json", multiple=False,
                       className="present-upload"),
            dcc.ConfirmDialogProvider(
                html.Button("Tout effacer", type="button", className="btn btn-secondary"),
                id="present-clear", message="Effacer toutes les vues de la présentation ?"),
            dcc.Download(id="present-download"),
        ], className="controls present-controls"),
        html.P(id="present-status", role="status", **{"aria-live": "polite"}),
        html.H2("Vues"),
        html.Ol(id="present-slides", className="slide-list"),
        dcc.Store(id="present-index", data=0),
        dcc.Store(id="present-shown", data=None),
        player(),
    ])


def signature(deck: dict) -> str:
    return json.dumps(deck, ensure_ascii=False, sort_keys=True)


@callback(Output("present-slides", "children"), Output("present-deck-title", "value"),
          Output("present-shown", "data"),
          Input(STORE_ID, "data"), State("present-shown", "data"))
def show_slides(deck, shown):
    """Rebuild the list when the deck changed elsewhere (added, moved, loaded); not after
    an edit typed in the list itself (the inputs already show it, and keep the focus)."""
    d = deck_or_empty(deck)
    sig = signature(d)
    if sig == shown:
        return no_update, no_update, no_update
    return slide_items(d), d["title"], sig


@callback(Output(STORE_ID, "data", allow_duplicate=True), Output("present-shown", "data", allow_duplicate=True),
          Input({"type": "slide-title", "index": ALL}, "value"),
          Input({"type": "slide-comment", "index": ALL}, "n_blur"),
          Input("present-deck-title", "value"),
          State({"type": "slide-comment", "index": ALL}, "value"),
          State(STORE_ID, "data"), prevent_initial_call=True)
def edit_texts(titles, _blurs, deck_title, comments, deck):
    d = deck_or_empty(deck)
    new = edited(d, titles, comments, deck_title)
    if new is None:
        return no_update, no_update
    return new, signature(new)


def edited(deck: dict, titles: list, comments: list, deck_title) -> dict | None:
    """The deck with the texts typed in the list, or None when nothing changed."""
    slides = deck["slides"]
    if len(titles) != len(slides) or len(comments) != len(slides):
        return None
    new = [{**s, "title": str(t or "")[:MAX_TITLE], "comment": str(c or "")[:MAX_COMMENT]}
           for s, t, c in zip(slides, titles, comments)]
    title = str(deck_title or "Présentation")[:MAX_TITLE]
    if new == slides and title == deck["title"]:
        return None
    return {**deck, "title": title, "slides": new}


@callback(Output(STORE_ID, "data", allow_duplicate=True),
          Input({"type": "slide-up", "index": ALL}, "n_clicks"),
          Input({"type": "slide-down", "index": ALL}, "n_clicks"),
          Input({"type": "slide-del", "index": ALL}, "n_clicks"),
          State(STORE_ID, "data"), prevent_initial_call=True)
def reorder(_up, _down, _del, deck):
    trig = ctx.triggered_id
    if not trig or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    d = deck_or_empty(deck)
    return {**d, "slides": move(d["slides"], trig["type"], int(trig["index"]))}


def move(slides: list, action: str, i: int) -> list:
    """Slides after 'slide-up', 'slide-down' or 'slide-del' on slide i."""
    s = list(slides)
    if not 0 <= i < len(s):
        return s
    if action == "slide-del":
        del s[i]
    elif action == "slide-up" and i > 0:
        s[i - 1], s[i] = s[i], s[i - 1]
    elif action == "slide-down" and i < len(s) - 1:
        s[i + 1], s[i] = s[i], s[i + 1]
    return s


@callback(Output("present-download", "data"), Input("present-save", "n_clicks"), State(STORE_ID, "data"),
          prevent_initial_call=True)
def save(n, deck):
    if not n:
        return no_update
    return dcc.send_string(deck_json(deck), "presentation_atlas_asv.json")


@callback(Output(STORE_ID, "data", allow_duplicate=True), Output("present-status", "children"),
          Input("present-upload", "contents"), State("present-upload", "filename"), prevent_initial_call=True)
def load(contents, filename):
    if contents is None:           # the upload component was (re)rendered: nothing was sent yet
        return no_update, no_update
    try:
        deck = parse_upload(contents, filename)
    except ValueError as exc:
        return no_update, f"Fichier non chargé : {exc}"
    n = len(deck["slides"])
    return deck, f"Présentation « {deck['title']} » chargée : {n} vue{'s' if n > 1 else ''}."


@callback(Output(STORE_ID, "data", allow_duplicate=True), Output("present-status", "children", allow_duplicate=True),
          Input("present-clear", "submit_n_clicks"), prevent_initial_call=True)
def clear(n):
    if not n:
        return no_update, no_update
    return empty_deck(), "Présentation effacée."


# The player runs in the browser: index, frame, title, comment and counter.
clientside_callback(
    """function (nStart, nNext, nPrev, nFirst, nLast, nQuit, nKey, index, deck) {
        const nu = window.dash_clientside.no_update;
        // Clicks are queued in order by assets/export.js: keys pressed faster than Dash runs this
        // callback arrive here batched, and are applied one after the other (clamped at each step).
        const queue = (window.atlasPresentQueue || []).splice(0);
        if (!queue.length) { return [nu, nu, nu, nu, nu, nu, nu, nu, nu, nu]; }
        const slides = (deck && deck.format === "%s" && Array.isArray(deck.slides)) ? deck.slides : [];
        const player = document.getElementById("present-player");
        let i = index || 0, open = !(player && player.hidden), started = false;
        queue.forEach(function (action) {
            if (action === "quit") { open = false; return; }
            if (action === "start") { open = true; started = true; i = 0; return; }
            if (!open) { return; }
            if (action === "first") { i = 0; }
            else if (action === "next") { i = i + 1; }
            else if (action === "prev") { i = i - 1; }
            else if (action === "last") { i = slides.length - 1; }
            i = Math.max(0, Math.min(i, slides.length - 1));
        });
        document.documentElement.classList.toggle("present-open", open && slides.length > 0);
        if (!open) {
            if (document.fullscreenElement && document.exitFullscreen) { document.exitFullscreen().catch(function () {}); }
            setTimeout(function () { const b = document.getElementById("present-start"); if (b) { b.focus(); } }, 50);
            return [i, true, "about:blank", nu, nu, nu, nu, nu, nu, nu];
        }
        if (!slides.length) {
            return [0, true, "about:blank", "", "", "La présentation est vide.", true, true, true, true];
        }
        if (started && player && player.requestFullscreen) {
            player.requestFullscreen().catch(function () {});
        }
        const s = slides[i];
        const ok = typeof s.url === "string" && s.url.charAt(0) === "/" && s.url.charAt(1) !== "/" &&
                   s.url.indexOf("\\\\") < 0;
        const src = ok ? s.url + (s.url.indexOf("?") >= 0 ? "&" : "?") + "present=1" : "about:blank";
        // Focus leaves the frame before its document is replaced, so that a key pressed while the
        // next slide loads reaches the player (a hidden player is focused once Dash shows it).
        if (player && !player.hidden) { player.focus(); }
        else { setTimeout(function () { if (player) { player.focus(); } }, 50); }
        const first = i === 0, last = i === slides.length - 1;      // the buttons say where one stands
        return [i, false, src, s.title || "", s.comment || "", "Vue " + (i + 1) + " / " + slides.length,
                first, first, last, last];
    }""" % DECK_FORMAT,
    Output("present-index", "data"), Output("present-player", "hidden"), Output("present-frame", "src"),
    Output("present-title", "children"), Output("present-comment", "children"),
    Output("present-counter", "children"), Output("present-first", "disabled"), Output("present-prev", "disabled"),
    Output("present-next", "disabled"), Output("present-last", "disabled"),
    Input("present-start", "n_clicks"), Input("present-next", "n_clicks"), Input("present-prev", "n_clicks"),
    Input("present-first", "n_clicks"), Input("present-last", "n_clicks"), Input("present-quit", "n_clicks"),
    Input("present-key", "n_clicks"), State("present-index", "data"), State(STORE_ID, "data"), prevent_initial_call=True)


# Under the slide's title (the user's words), what the view shows: territory, indicator, year, read
# from the view's URL by the server as its page does (components/layout.view_title); not repeated
# when the title already says it.
clientside_callback(
    """function (src, title) {
        if (!src || src === "about:blank") { return ""; }
        const u = new URL(src, window.location.href);
        u.searchParams.delete("present");
        return fetch("/view-title?u=" + encodeURIComponent(u.pathname + u.search), {credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.json() : {}; })
            .then(function (d) {
                const t = (d && d.title) || "";
                return t && t !== String(title || "").trim() ? t : "";
            })
            .catch(function () { return ""; });
    }""",
    Output("present-view", "children"), Input("present-frame", "src"), State("present-title", "children"),
    prevent_initial_call=True)
