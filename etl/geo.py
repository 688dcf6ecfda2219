"""Geometry helpers: read any vector format and CRS, repair, simplify for display."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from .errors import InputError

WGS84 = "EPSG:4326"
DISPLAY_DECIMALS = 5


def read_vector(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read GeoJSON, GeoPackage or shapefile and return it in WGS84 lon/lat.

    Lambert-93, overseas UTM zones or any CRS given by the file are reprojected;
    geopandas keeps the x/y (lon/lat) order. A file without CRS is assumed WGS84
    only when its coordinates fit in lon/lat bounds.
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise InputError(path, None, None, "le fichier est vide ou absent")
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError...
        raise InputError(path, None, None, f"fichier géographique illisible ({exc})") from None
    if len(gdf) == 0:
        raise InputError(path, None, None, "la couche ne contient aucune entité")
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise InputError(path, None, "geometry",
                             "système de coordonnées absent et coordonnées hors des bornes lon/lat")
        gdf = gdf.set_crs(WGS84)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(WGS84)
    return gdf


def repair(geom: BaseGeometry | None, path: Path | str, feature: int, log=None,
           code: str | None = None) -> BaseGeometry:
    """Return a valid polygonal geometry; invalid ones are repaired and reported.

    `log(file, line, field, value, kind, reason)` receives each repair. A missing or
    empty geometry, or one with no area after repair, raises InputError.
    """
    where = f"entité {feature}" + (f" ({code})" if code else "")
    if geom is None or geom.is_empty:
        raise InputError(path, where, "geometry", "géométrie absente ou vide")
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        fixed = shapely.make_valid(geom)
        polys = [g for g in getattr(fixed, "geoms", [fixed]) if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polys) if polys else None
        if fixed is None or fixed.is_empty or fixed.area == 0:
            raise InputError(path, where, "geometry", f"géométrie invalide et irréparable ({reason})")
        if log is not None:
            log(path, where, "geometry", code, "repaired", f"géométrie invalide réparée ({reason})")
        geom = fixed
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon":
        raise InputError(path, where, "geometry", f"type de géométrie inattendu : {geom.geom_type}")
    return geom


def display_geometries(geoms, tolerance: float = 0.0003, coverage: bool = False) -> np.ndarray:
    """Simplified geometries for the web, coordinates rounded to about 1 m.

    `coverage=True` (communes, EPCI...) keeps shared edges shared between neighbours.
    """
    arr = np.asarray(list(geoms), dtype=object)
    if len(arr) == 0:
        return arr
    if coverage:
        simple = shapely.coverage_simplify(arr, tolerance)
    else:
        simple = shapely.simplify(arr, tolerance, preserve_topology=True)
    simple = shapely.set_precision(simple, 10 ** -DISPLAY_DECIMALS, mode="pointwise")
    out = []
    for s, g in zip(simple, arr):
        if s is None or s.is_empty or not s.is_valid:
            s = shapely.make_valid(s) if s is not None and not s.is_empty else g
        out.append(s)
    return np.asarray(out, dtype=object)


def to_wkb(geoms) -> list[bytes | None]:
    return [None if g is None else shapely.to_wkb(g) for g in geoms]
