"""Flask routes serving display geometries as geobuf, once per (DB version, layer, scope).

Maps fetch geometry from these URLs (dl.GeoJSON(url=..., format="geobuf")) and are
then restyled on the client through `hideout`: an indicator change sends no geometry.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache

import geobuf
import shapely
from flask import Response, abort, request

from data import access

LEVELS = {"qpv", "commune", "epci", "departement", "region", "arrondissement", "scheme"}
SCOPE_LEVELS = {"region", "departement", "epci", "commune"}
SCHEME_KINDS = {"ASV", "CLS", "CLSM", "CPTS"}
# Bumped when the features carry other properties: a browser's cached copy is then not reused.
GEO_FORMAT = 2                           # 2: QPVs carry their known population ("pop")
EMPTY_FEATURE_COLLECTION = b"\x22\x00"   # protobuf field 4 (feature_collection), length 0


def layer_url(level: str, within: tuple[str, str] | None = None, kind: str | None = None) -> str:
    """`kind` (scheme layer only) restricts /geo/scheme.pbf to one kind of scheme."""
    url = f"/geo/{level}.pbf"
    params = []
    if within and within[0] in SCOPE_LEVELS:
        params.append(f"scope={within[0]}:{within[1]}")
    if level == "scheme" and kind in SCHEME_KINDS:
        params.append(f"kind={kind}")
    return url + ("?" + "&".join(params) if params else "")


@lru_cache(maxsize=128)
def _encode(ver, level: str, within, kind: str | None = None) -> bytes:
    if level == "scheme":
        df = access.scheme_geometries()
        if kind:
            df = df[df.kind == kind]
    else:
        df = access.geometries(level, within)
    pops = _qpv_populations() if level == "qpv" else {}
    features = []
    for i, (c, n, g) in enumerate(zip(df.code, df.name, df.geometry)):
        if g is None:
            continue
        props = {"code": c, "name": n}
        if c in pops:
            props["pop"] = pops[c]          # a QPV drawn as a disc at small scale is sized by it
        features.append({"type": "Feature", "id": i, "geometry": json.loads(shapely.to_geojson(g)),
                         "properties": props})
    data = geobuf.encode({"type": "FeatureCollection", "features": features}, 5)
    if not features:
        # geobuf omits an empty collection, which the browser's decoder turns into an object
        # without `features` (dash-leaflet then fails on .map): write the empty field 4 explicitly.
        data += EMPTY_FEATURE_COLLECTION
    return data


def _qpv_populations() -> dict[str, int]:
    """Known populations of the 2024 QPVs (unknown ones are absent, never 0)."""
    t = access.tables().level("qpv")
    t = t[t["population"].notna()]
    return {c: int(round(p)) for c, p in zip(t["code"], t["population"])}


def geobuf_bytes(level: str, within: tuple[str, str] | None = None, kind: str | None = None) -> bytes:
    return _encode(access.version(), level, within, kind)


def _parse_scope(raw: str | None):
    if not raw:
        return None
    lvl, _, code = raw.partition(":")
    if lvl not in SCOPE_LEVELS or not code or len(code) > 20:
        abort(400)
    return (lvl, code)


def register(server) -> None:
    @server.route("/geo/<level>.pbf")
    def geo_layer(level: str):
        if level not in LEVELS:
            abort(404)
        within = _parse_scope(request.args.get("scope"))
        kind = request.args.get("kind")
        if kind is not None and (level != "scheme" or kind not in SCHEME_KINDS):
            abort(400)
        data = geobuf_bytes(level, within, kind)
        etag = hashlib.sha1(repr((GEO_FORMAT, access.version(), level, within, kind)).encode()).hexdigest()
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304)
        resp = Response(data, mimetype="application/octet-stream")
        resp.headers["ETag"] = etag
        resp.headers["Cache-Control"] = "no-cache"
        return resp
