"""The action points of the Actions map: a layer that asks the server for what its view shows.

The page never holds the actions themselves: the layer's `url` is /geo/actions.json with the
page's filters (stored in `act-points-query` by the page's callback), the map's zoom and its
view rounded out to whole 256-pixel tiles (so that a small pan asks the same URL, which the
browser revalidates by ETag). The route answers clusters and points computed on the server
(data/views/action_points.py): at most one feature per grid cell of the view. A cluster's click
zooms to its extent; a point's click opens the action's fiche (the layer's clickData).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from urllib.parse import parse_qs, urlencode

import dash_leaflet as dl
from dash import Input, Output, State, clientside_callback, dcc
from dash_extensions.javascript import Namespace
from flask import Response, request

from data import access
from data.views.action_points import features
from data.views.actions import ViewState, axis_colors, compute, parse_state, state_search

ROUTE = "/geo/actions.json"
QUERY_STORE = "act-points-query"
POINTS_FORMAT = 1                  # bumped when the features change shape (cached copies are then refetched)
MAP_PX = (720, 580)                # the map's usual size, for the first request before the map reports its own
ns_actions = Namespace("atlas", "actions")


def points_query(st: ViewState) -> str:
    """The filters of a view state as a query string (level, heat, need and the selected action left
    out: the points do not depend on them)."""
    return state_search(replace(st, level="qpv", heat="count", need=None, action=None)).lstrip("?")


def fit_zoom(bbox, size=MAP_PX) -> int:
    """The zoom at which `bbox` (west, south, east, north) fits a map of `size` pixels."""
    from data.views.action_points import project

    if not bbox:
        return 5
    x, y = project([bbox[0], bbox[2]], [bbox[1], bbox[3]], 0)
    dx, dy = max(abs(x[1] - x[0]), 1e-9), max(abs(y[0] - y[1]), 1e-9)
    return int(max(2, min(18, math.floor(math.log2(min(size[0] / dx, size[1] / dy))))))


def points_url(query: str, zoom: int, bbox) -> str:
    params = query + ("&" if query else "") + urlencode({"z": zoom})
    if bbox:
        params += "&bbox=" + ",".join(f"{v:.5f}" for v in bbox)
    return f"{ROUTE}?{params}&v={POINTS_FORMAT}"


def query_store(st: ViewState) -> dcc.Store:
    """The page's filters, for the points layer's URL (the page's callback updates it)."""
    return dcc.Store(id=QUERY_STORE, data=points_query(st))


def points_layer(st: ViewState, bbox) -> dl.GeoJSON:
    """The GeoJSON layer of the action points, first asked for the whole `bbox` at the zoom that fits it."""
    return dl.GeoJSON(id="act-points", url=points_url(points_query(st), fit_zoom(bbox), bbox), cluster=False,
                      pointToLayer=ns_actions("pointToLayer"), onEachFeature=ns_actions("onEachFeature"),
                      hideout={"colors": axis_colors()})


def _bbox(text) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(x) for x in str(text or "").split(","))
    except ValueError:
        return None
    if not all(math.isfinite(v) for v in (w, s, e, n)) or w > e or s > n:
        return None
    return max(w, -180.0), max(s, -90.0), min(e, 180.0), min(n, 90.0)


def register(server) -> None:
    @server.route(ROUTE)
    def action_points():
        args = parse_qs(request.query_string.decode("utf-8", "replace"))
        try:
            zoom = int((args.pop("z", ["5"]) or ["5"])[0])
        except ValueError:
            zoom = 5
        bbox = _bbox((args.pop("bbox", [""]) or [""])[0])
        args.pop("v", None)
        st = parse_state(args)                     # the same checks as the page's URL
        etag = hashlib.sha1(repr((POINTS_FORMAT, access.version(), points_query(st), zoom, bbox)).encode()
                            ).hexdigest()
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        body = json.dumps(features(compute(st).acts, zoom, bbox), ensure_ascii=False, separators=(",", ":"))
        resp = Response(body, mimetype="application/json")
        resp.headers["ETag"] = etag
        resp.headers["Cache-Control"] = "no-cache"
        return resp


# The map moved or the filters changed: the layer asks for its new view (same URL: no request).
clientside_callback(
    """function (zoom, bounds, query, current) {
        const url = window.atlas.actions.pointsUrl(query, zoom, bounds, %d);
        return (url && url !== current) ? url : window.dash_clientside.no_update;
    }""" % POINTS_FORMAT,
    Output("act-points", "url"), Input("act-map", "zoom"), Input("act-map", "bounds"),
    Input(QUERY_STORE, "data"), State("act-points", "url"), prevent_initial_call=True)
