"""The approach a user would otherwise pick, for the side-by-side benchmark: the full-geometry
QPV GeoJSON put inline in a plain dl.GeoJSON (data=...), the indicator value stored in each
feature's properties, and an indicator change answered by sending the whole GeoJSON again.

    ATLAS_DB=... gunicorn tests.benchmarks.naive_app:server

Same DB, same values and the same 5 quantile classes as the Inégalités page; only the
transport differs (no geobuf, no display geometry, no hideout-only restyle).
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import dash_leaflet as dl
import numpy as np
import shapely
from dash import Dash, Input, Output, dcc, html
from dash_extensions.javascript import Namespace

from data import access

access.configure(os.environ.get("ATLAS_DB"))

COLORS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]   # ColorBrewer OrRd, 5 classes


@lru_cache(maxsize=1)
def _geometry() -> tuple[list[str], list[str], list[dict]]:
    df = access.geometries("qpv", None, simplified=False)
    return list(df.code), list(df.name), [json.loads(g) for g in shapely.to_geojson(df.geometry.values)]


def indicator_ids() -> list[str]:
    ind = access.indicators()
    ok = ind["levels"].map(lambda lv: hasattr(lv, "__iter__") and not isinstance(lv, str) and "qpv" in list(lv))
    return list(ind[ok].indicator_id)


def collection(indicator: str) -> tuple[dict, dict]:
    """(FeatureCollection with the values, hideout with the quantile breaks)."""
    codes, names, geoms = _geometry()
    vals = access.values(indicator, "qpv")
    value = {c: (float(v) if s == "ok" else None) for c, v, s in zip(vals.code, vals.value, vals.status)}
    feats = [{"type": "Feature", "geometry": g, "properties": {"code": c, "name": n, "value": value.get(c)}}
             for c, n, g in zip(codes, names, geoms)]
    known = np.array([v for v in value.values() if v is not None], dtype=float)
    breaks = list(np.quantile(known, [0.2, 0.4, 0.6, 0.8])) if len(known) else []
    return {"type": "FeatureCollection", "features": feats}, {"breaks": breaks, "colors": COLORS}


app = Dash(__name__, assets_folder=str(Path(__file__).with_name("naive_assets")), title="Naive choropleth")
server = app.server


def layout():
    ids = indicator_ids()
    first = "taux_pauvrete_60" if "taux_pauvrete_60" in ids else ids[0]
    data, hideout = collection(first)
    b = shapely.union_all(access.geometries("qpv").geometry.values).bounds
    return html.Div([
        html.Label("Indicateur", htmlFor="naive-indicator"),
        dcc.Dropdown(id="naive-indicator", options=[{"label": i, "value": i} for i in ids], value=first,
                     clearable=False),
        dl.Map([dl.GeoJSON(id="naive-qpv", data=data, hideout=hideout, style=Namespace("naive")("style"))],
               id="naive-map", bounds=[[b[1], b[0]], [b[3], b[2]]], center=[(b[1] + b[3]) / 2, (b[0] + b[2]) / 2],
               zoom=6, style={"height": "560px"}),
    ])


app.layout = layout


@app.callback(Output("naive-qpv", "data"), Output("naive-qpv", "hideout"), Input("naive-indicator", "value"),
              prevent_initial_call=True)
def restyle(indicator):
    return collection(indicator)
