"""CPTS territories (communautés professionnelles territoriales de santé).

Layout (fixed by the project, no official national file): a vector layer whose features
carry code_cpts, nom, porteur, annee_creation, statut and communes (INSEE codes joined by
', ' or '|'), with a (Multi)Polygon geometry. Each feature becomes a scheme row of kind
'CPTS' (geom and geom_display) and one scheme_territory row per commune. A feature without
geometry takes the union of its communes when they are loaded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from ..geo import display_geometries, to_wkb
from ._geo_common import (COMMUNE_RE, LICENCE, clean, is_sidecar, parse_int, read_layer,
                          repair_geom, require, shapefile_of, source_id_for, split_codes, territory_codes,
                          unreadable_named, vector_layers)

DISPLAY_TOLERANCE = 0.0003
REQUIRED = ("code_cpts", "nom", "communes")
OPTIONAL = ("porteur", "annee_creation", "statut")


def detect(path: Path) -> bool:
    path = Path(path)
    if is_sidecar(path):
        shp = shapefile_of(path)
        return shp is not None and detect(shp)
    if any({"CODE_CPTS", "COMMUNES"} <= f for f in vector_layers(path).values()):
        return True
    return unreadable_named(path, r"cpts", {".geojson", ".json", ".gpkg", ".shp"})


def load(ctx, paths: list[Path]) -> None:
    communes = territory_codes(ctx.con, "commune")
    seen = {r[0]: "base" for r in ctx.con.execute("SELECT scheme_id FROM scheme").fetchall()}
    for p in paths:
        p = Path(p)
        if is_sidecar(p):
            continue
        layers = [layer for layer, f in vector_layers(p).items() if "CODE_CPTS" in f] or [None]
        for layer in layers:
            _load_layer(ctx, p, layer, communes, seen)


def _commune_union(con, codes: list[str]):
    rows = con.execute("SELECT ST_AsWKB(geom) FROM territory WHERE level = 'commune' AND code IN "
                       f"({', '.join('?' for _ in codes)})", codes).fetchall()
    geoms = [shapely.from_wkb(bytes(r[0])) for r in rows if r[0] is not None]
    return shapely.union_all(np.asarray(geoms, dtype=object)) if geoms else None


def _load_layer(ctx, path: Path, layer, communes: set[str], seen: dict[str, str]) -> None:
    gdf, cols = read_layer(path, layer)
    require(path, cols, REQUIRED)
    sid = ctx.register_source(
        source_id_for(ctx, "cpts_territoires", path), path,
        title="Territoires des communautés professionnelles territoriales de santé (CPTS)",
        publisher="ARS / Assurance Maladie", url=None, licence=LICENCE, vintage=None, geography=None)
    data = gdf.drop(columns=gdf.geometry.name)
    schemes, links = [], []
    for i, (rec, geom) in enumerate(zip(data.to_dict("records"), gdf.geometry), start=1):
        rec = {k.upper(): v for k, v in rec.items()}
        code = clean(rec["CODE_CPTS"])
        if not code:
            raise InputError(path, f"entité {i}", cols["CODE_CPTS"], "code CPTS vide")
        if code in seen:
            raise InputError(path, f"entité {i}", cols["CODE_CPTS"], f"code CPTS en double (déjà vu : {seen[code]})", code)
        seen[code] = f"{path.name}, entité {i}"
        where = f"entité {i} ({code})"
        name = clean(rec["NOM"])
        if not name:
            raise InputError(path, where, cols["NOM"], "nom vide")
        coms = split_codes(rec["COMMUNES"])
        if not coms:
            raise InputError(path, where, cols["COMMUNES"], "aucune commune")
        for c in coms:
            if not COMMUNE_RE.match(c):
                raise InputError(path, where, cols["COMMUNES"], "code commune mal formé (5 caractères attendus)", c)
            if communes and c not in communes:
                raise InputError(path, where, cols["COMMUNES"], "code commune inconnu : absent des communes chargées", c)
        year = parse_int(rec.get("ANNEE_CREATION"), path, where, cols.get("ANNEE_CREATION"), minimum=None)
        if year is not None and not 1990 <= year <= 2100:
            raise InputError(path, where, cols["ANNEE_CREATION"], "année de création invraisemblable", year)
        if geom is None or geom.is_empty:
            union = _commune_union(ctx.con, coms) if communes else None
            if union is None:
                raise InputError(path, where, "geometry", "géométrie absente ou vide (et communes non chargées)")
            geom = union
            ctx.issue(path, where, "geometry", code, "warning",
                      "géométrie absente : territoire reconstitué par l'union des communes", sid)
        schemes.append({
            "scheme_id": code, "kind": "CPTS", "name": name,
            "porteur": clean(rec.get("PORTEUR")) or None, "year_created": year,
            "status": clean(rec.get("STATUT")).lower() or None, "contact_url": None,
            "geom": repair_geom(ctx, geom, path, i, code, sid), "source_id": sid, "import_id": None,
        })
        links.extend({"scheme_id": code, "level": "commune", "code": c} for c in coms)
    if not schemes:
        return
    df = pd.DataFrame(schemes)
    df["geom_display"] = to_wkb(display_geometries(df["geom"], tolerance=DISPLAY_TOLERANCE))
    df["geom"] = to_wkb(df["geom"])
    df["year_created"] = pd.array(df["year_created"], dtype="Int64")
    df["import_id"] = pd.array(df["import_id"], dtype="Int64")
    ctx.insert_df("scheme", df, geom_cols=("geom", "geom_display"))
    ctx.insert_df("scheme_territory", pd.DataFrame(links))
