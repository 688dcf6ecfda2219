"""Formatting helpers shared by the writers: French numbers, GeoJSON, CSV."""
from __future__ import annotations

import io
import json

from shapely.geometry import mapping

from .plan import DECIMALS, NNBSP
from .world import _fold


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------
def fr_number(v: float | None, decimals: int = 0, thousands: bool = True) -> str:
    """"6 490" (narrow no-break space), "55,3", "-9,4"; None -> "" (secret)."""
    if v is None:
        return ""
    s = f"{v:,.{decimals}f}" if thousands else f"{v:.{decimals}f}"
    if s.lstrip("-").strip("0,.") == "":
        s = s.lstrip("-")
    return s.replace(",", NNBSP).replace(".", ",")


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), DECIMALS) for v in obj]
        return [_round_coords(o) for o in obj]
    return obj


def _geometry_json(geom) -> dict:
    m = mapping(geom)
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"])}


def _geojson(name: str, crs: str, features: list[tuple[dict, object]], one_per_line: bool) -> bytes:
    head = {"type": "FeatureCollection", "name": name,
            "crs": {"type": "name", "properties": {"name": crs}}}
    feats = [json.dumps({"type": "Feature", "properties": p, "geometry": _geometry_json(g)},
                        ensure_ascii=False, separators=(",", ":")) for p, g in features]
    start = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    if one_per_line:
        text = start + ',\n"features":[\n' + ",\n".join(feats) + "\n]}\n"
    else:
        text = start + ',"features":[' + ",".join(feats) + "]}"
    return text.encode("utf-8")


CRS84 = "urn:ogc:def:crs:OGC:1.3:CRS84"
EPSG4326 = "urn:ogc:def:crs:EPSG::4326"


def _csv(rows: list[list[str]], sep: str, eol: str, bom: bool = False, final_eol: bool = True) -> bytes:
    for r in rows:
        for cell in r:
            if sep in cell or '"' in cell or "\n" in cell:
                raise ValueError(f"cell needs quoting: {cell!r}")
    text = eol.join(sep.join(r) for r in rows) + (eol if final_eol else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _quoted_csv(rows: list[list[str]], sep: str = ";") -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _ncc(name: str) -> str:
    return " ".join(_fold(name).upper().replace("-", " ").replace("'", " ").split())
