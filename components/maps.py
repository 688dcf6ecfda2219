"""Map builders. Geometry comes from /geo/<level>.pbf (geobuf, sent once); styling is
client-side (assets/atlas.js) and driven by `hideout`, so restyling sends no geometry.

No tile server is needed: the basemap is drawn from the DB's département and commune
outlines. Online OpenStreetMap tiles are an option in the layer control.
"""
from __future__ import annotations

import hashlib
import json
from typing import Callable

import dash_leaflet as dl
from dash import MATCH, Input, Output, clientside_callback, dcc, html
from dash_extensions.javascript import Namespace
from flask import Response, abort, request

from components.geo_routes import layer_url
from data import access

ns = Namespace("atlas", "choropleth")
ns_points = Namespace("atlas", "points")

OSM_URL = "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© contributeurs OpenStreetMap"


def outline_hideout(color: str = "#6b6b6b", weight: float = 1.0, dash: str | None = None) -> dict:
    return {"outline": True, "color": color, "weight": weight, "dash": dash}


def territory_layer(layer_id: str, level: str, within=None, hideout: dict | None = None,
                    interactive: bool = True, **kwargs) -> dl.GeoJSON:
    """A territory layer (QPV, communes...) fetched as geobuf, styled by hideout."""
    return dl.GeoJSON(
        id=layer_id,
        url=layer_url(level, within),
        format="geobuf",
        style=ns("style"),
        onEachFeature=ns("onEachFeature") if interactive else None,
        hideout=hideout or {},
        interactive=interactive,
        **kwargs,
    )


def live_style_ref(layer_id: str) -> dict:
    """Id of the store whose data restyles `layer_id` in place (see live_style)."""
    return {"type": "atlas-live-style", "layer": layer_id}


def live_style(layer_id: str) -> html.Div:
    """Restyling without re-creating shapes. dash-leaflet re-creates every shape of a GeoJSON
    layer when its `hideout` changes (about 2 s for 1,600 QPVs); a page that restyles often
    gives the layer its first hideout in the layout, then writes later style data to
    `live_style_ref(layer_id)`: the keys it holds replace those of the current style (a whole
    new style, or only {"selected": code}), and assets/atlas.js restyles the existing shapes
    and their tooltips in place. The layer id must be a string."""
    return html.Div([dcc.Store(id=live_style_ref(layer_id)),
                     dcc.Store(id={"type": "atlas-live-applied", "layer": layer_id})], hidden=True)


clientside_callback(
    """function (data) {
        const ctx = window.dash_clientside.callback_context;
        const id = ctx.triggered_id || (ctx.inputs_list[0] || {}).id || {};
        return window.atlas.live.apply(id.layer, data);
    }""",
    Output({"type": "atlas-live-applied", "layer": MATCH}, "data"),
    Input({"type": "atlas-live-style", "layer": MATCH}, "data"))


COMMUNE_OUTLINES_MAX = 1500


def commune_layer_url(within) -> str | None:
    """Communes are a context layer loaded per scope, never all of France at once (None: no
    commune layer). With no scope, they are drawn only when the DB holds a single région. A
    scope of more than COMMUNE_OUTLINES_MAX communes (most régions of mainland France hold
    4,000 to 5,000) gets none: at that zoom their outlines are an unreadable mesh and take
    seconds to draw; département outlines remain, and choosing a département brings them."""
    if not within:
        regions = access.territories("region")
        if len(regions) != 1:
            return None
        within = ("region", regions.code.iloc[0])
    if len(access.territories("commune", tuple(within))) > COMMUNE_OUTLINES_MAX:
        return None
    return layer_url("commune", tuple(within))


def offline_basemap(within=None, prefix: str = "base") -> list:
    """Base layers drawn from the DB: commune outlines in scope, département outlines."""
    communes = territory_layer(f"{prefix}-communes", "commune", within,
                               hideout=outline_hideout("#b0b0b0", 0.6), interactive=False)
    communes.url = commune_layer_url(within)
    return [
        communes,
        territory_layer(f"{prefix}-departements", "departement", None,
                        hideout=outline_hideout("#5a5a5a", 1.6), interactive=False),
    ]


def atlas_map(map_id: str, overlays: list, within=None, bounds=None, height: str = "560px",
              extra_children: list | None = None, base_prefix: str | None = None) -> dl.Map:
    """A map with an offline basemap, optional OSM tiles, a scale and the given overlays.

    `overlays` are (name, component, checked) tuples listed in the layer control.
    """
    prefix = base_prefix or f"{map_id}-base"
    control = dl.LayersControl(
        [dl.BaseLayer(dl.LayerGroup(offline_basemap(within, prefix)), name="Fond hors ligne (contours)",
                      checked=True),
         dl.BaseLayer(dl.TileLayer(url=OSM_URL, attribution=OSM_ATTRIBUTION),
                      name="OpenStreetMap (en ligne)", checked=False)]
        + [dl.Overlay(comp, name=name, checked=checked) for name, comp, checked in overlays],
        id=f"{map_id}-layers", position="topright", collapsed=False,
    )
    children = [control, dl.ScaleControl(position="bottomleft", imperial=False)] + (extra_children or [])
    # dash-leaflet 1.1.3 compares `center` when the map is ready: give one with the bounds too.
    kwargs = {"bounds": [[bounds[1], bounds[0]], [bounds[3], bounds[2]]],
              "center": [(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2]} if bounds else {
        "center": [46.5, 2.5], "zoom": 6}
    # On a short screen (a projector's 1280 x 720) the map shrinks with it, down to 360 px, so that
    # the controls above it and its upper half fit in the first screen.
    fitted = f"clamp(min(360px, {height}), calc(100vh - 180px), {height})"
    return dl.Map(children, id=map_id, style={"height": fitted, "width": "100%", "background": "#f4f1ea"},
                  zoomSnap=0.25, attributionControl=True, **kwargs)


# What assets/atlas.js (specks) does to QPVs too small to read: every map legend listing QPVs says it.
SPECK_NOTE = ("À petite échelle, un quartier trop petit pour être lu est dessiné en pastille de sa couleur, "
              "dont la surface suit sa population (taille minimale pour les moins peuplés, taille moyenne si "
              "la population n'est pas connue) ; son contour apparaît en zoomant.")


def legend(items: list[tuple[str, str, str]], title: str, note: str | list[str] | None = None,
           legend_id: str | None = None, alerts: list[str] | None = None) -> html.Div:
    """A legend listing (css_class_or_color, label, count) — readable without colour:
    each row has its label and its count; secret / missing / unknown rows use a pattern swatch.
    `alerts`: what the reader must know to read the classes (merged classes, breaks not used),
    shown under the title. `note`: one paragraph, or a list of short ones."""
    rows = []
    for color, label, count in items:
        swatch_cls = "swatch"
        style = {}
        if color in ("secret", "missing", "unknown"):
            swatch_cls += f" swatch-{color}"
        else:
            style = {"background": color}
        rows.append(html.Li([html.Span(className=swatch_cls, style=style, **{"aria-hidden": "true"}),
                             html.Span(label, className="legend-label"),
                             html.Span(count, className="legend-count")]))
    return html.Div([html.Div(title, className="legend-title")]
                    + [html.P(a, className="legend-alert") for a in alerts or () if a]
                    + [html.Ul(rows, className="legend-list")]
                    + [html.P(n, className="legend-note") for n in ([note] if isinstance(note, str) else note or ())
                       if n],
                    className="legend", id=legend_id or "", role="group", **{"aria-label": title})


# --- Tooltips fetched when they open -------------------------------------------------------------

_TOOLTIPS: dict[str, Callable[[dict, str], list[str] | None]] = {}


def register_tooltips(name: str, lines_fn: Callable[[dict, str], list[str] | None]) -> None:
    """`lines_fn(query, code)`: the plain-text tooltip lines of a shape for the view that the URL
    query describes (None: not in the view). Served at /tooltip/<name>?<query>&code=<code>, which
    a layer's style data names in its `tip` key (assets/atlas.js fetches it when a tooltip opens)."""
    _TOOLTIPS[name] = lines_fn


def register_routes(server) -> None:
    @server.route("/tooltip/<name>")
    def tooltip(name: str):
        fn = _TOOLTIPS.get(name)
        code = request.args.get("code", "")
        if fn is None or not code or len(code) > 40:
            abort(404)
        query = {k: v for k, v in request.args.items() if k != "code"}
        etag = hashlib.sha1(repr((access.version(), name, sorted(request.args.items()))).encode()).hexdigest()
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        lines = fn(query, code)
        if lines is None:
            abort(404)
        resp = Response(json.dumps({"lines": [str(x) for x in lines]}, ensure_ascii=False),
                        mimetype="application/json")
        resp.headers["ETag"] = etag
        resp.headers["Cache-Control"] = "no-cache"
        return resp
