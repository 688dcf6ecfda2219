"""The action points of the Actions map, grouped on the server for the zoom and the area shown.

At France scale (100,000 actions) the page never sends every point: the map asks for the
actions of its view (components/action_map.py), and gets one feature per cell of a grid of
CELL_PX screen pixels at its zoom (Web Mercator): a cluster (count, extent) where a cell holds
several actions, the action itself where it holds one. From POINTS_ZOOM on, every action is its
own point; actions drawn at the same place (the centre of their QPV or commune) are set on a
small ring around it, so that each one can be pointed at. A response holds at most one feature
per cell of the view, whatever the number of actions.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from data.views.actions import MULTI_AXIS, PLACEMENT_TEXT, clean_value, placements, years_text

CELL_PX = 64            # grid cell, in screen pixels (a quarter of a tile: a tile holds whole cells)
POINTS_ZOOM = 15        # from this zoom on, no cluster
RING_PX = 14            # radius of the ring of actions drawn at the same place
TILE = 256


def project(lon, lat, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at `zoom`."""
    scale = TILE * 2.0 ** zoom
    lat = np.clip(np.asarray(lat, dtype="float64"), -85.05, 85.05)
    x = (np.asarray(lon, dtype="float64") + 180.0) / 360.0 * scale
    s = np.sin(np.radians(lat))
    y = (0.5 - np.log((1 + s) / (1 - s)) / (4 * math.pi)) * scale
    return x, y


def unproject(x, y, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    scale = TILE * 2.0 ** zoom
    lon = np.asarray(x, dtype="float64") / scale * 360.0 - 180.0
    lat = np.degrees(np.arctan(np.sinh(math.pi * (1 - 2 * np.asarray(y, dtype="float64") / scale))))
    return lon, lat


def _abbreviated(n: int) -> str:
    return str(n) if n < 1000 else (f"{n / 1000:.1f}".replace(".", ",").replace(",0", "") + " k")


def _point_properties(acts: pd.DataFrame, placed: pd.DataFrame) -> list[dict]:
    out = []
    for r, (placement, axis) in zip(acts.itertuples(index=False), zip(placed.placement, placed.axis)):
        where = PLACEMENT_TEXT[placement]
        if placement == "qpv" and isinstance(r.qpv_name, str):
            where += f" « {r.qpv_name} »"
        elif placement == "commune" and isinstance(r.commune_name, str):
            where += f" « {r.commune_name} »"
        detail = " · ".join(x for x in [years_text(r.year_start, r.year_end), clean_value(r.porteur),
                                         clean_value(r.themes), where] if x)
        out.append({"action_id": r.action_id, "title": r.title, "detail": detail, "axis": axis,
                    "placement": placement})
    return out


def _ring(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points sharing a pixel moved onto a ring around it (in their order), others unchanged."""
    key = pd.Series(list(zip(np.round(x).astype(np.int64), np.round(y).astype(np.int64))))
    rank = key.groupby(key).cumcount().to_numpy()
    size = key.map(key.value_counts()).to_numpy()
    shared = size > 1
    angle = 2 * math.pi * rank / np.maximum(size, 1)
    radius = RING_PX * np.maximum(1.0, size / 12.0)
    return np.where(shared, x + radius * np.cos(angle), x), np.where(shared, y + radius * np.sin(angle), y)


def features(acts: pd.DataFrame, zoom: int, bbox: tuple[float, float, float, float] | None) -> dict:
    """GeoJSON of the actions `acts` (filtered actions, as data.views.actions.filtered_actions gives
    them) within `bbox` (west, south, east, north; None: everywhere) at `zoom`: clusters and points."""
    zoom = int(max(0, min(20, zoom)))
    placed = placements().reindex(acts.action_id.to_numpy())
    ok = placed.placement.notna().to_numpy().copy()
    if bbox is not None:
        w, s, e, n = bbox
        lon, lat = placed.lon.to_numpy(), placed.lat.to_numpy()
        ok &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    acts, placed = acts[ok], placed[ok]
    x, y = project(placed.lon.to_numpy(), placed.lat.to_numpy(), zoom)
    feats = []
    if zoom >= POINTS_ZOOM:
        single = np.ones(len(acts), dtype=bool)
        x, y = _ring(x, y)
    else:
        cell = pd.DataFrame({"cx": (x // CELL_PX).astype(np.int64), "cy": (y // CELL_PX).astype(np.int64),
                             "x": x, "y": y, "lon": placed.lon.to_numpy(), "lat": placed.lat.to_numpy(),
                             "axis": placed.axis.to_numpy()})
        g = cell.groupby(["cx", "cy"], sort=True)
        stats = g.agg(n=("x", "size"), x=("x", "mean"), y=("y", "mean"), w=("lon", "min"), e=("lon", "max"),
                      s=("lat", "min"), nn=("lat", "max"), axes=("axis", "nunique"), ax=("axis", "first"))
        single = (g["x"].transform("size") == 1).to_numpy()
        many = stats[stats.n > 1]
        clon, clat = unproject(many.x.to_numpy(), many.y.to_numpy(), zoom)
        for r, lo, la in zip(many.itertuples(index=False), clon, clat):
            feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lo, 5), round(la, 5)]},
                          "properties": {"cluster": True, "point_count": int(r.n),
                                         "point_count_abbreviated": _abbreviated(int(r.n)),
                                         "axis": r.ax if r.axes == 1 else MULTI_AXIS,
                                         "bbox": [round(r.w, 5), round(r.s, 5), round(r.e, 5), round(r.nn, 5)]}})
    lon, lat = unproject(x[single], y[single], zoom)
    for props, lo, la in zip(_point_properties(acts[single], placed[single]), lon, lat):
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lo, 6), round(la, 6)]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}
