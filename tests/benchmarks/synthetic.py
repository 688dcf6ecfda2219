"""A synthetic, France-sized, entirely fictional input folder in the official formats.

Used by the benchmarks only (never by the app or the demo): about 35,000 communes, 96
départements, 13 régions, 1,250 EPCI, 1,600 QPVs of 2024 with their 2015 predecessors and
the correspondence, the ONPV tables (REVN, DEMO, IPRO, every vintage of the demo), the
INSEE Filosofi files for every level, and 100,000 actions plus their schemes in the Atlas
import templates. A build of this folder goes through the same loaders as real data.

Not written (the real France files exist but are not needed for the measures): DREES APL,
ARS zoning, CPTS territories.

The land is a hexagon of about 550,000 km² in the open Atlantic (longitudes -21.5 to -9.5,
latitudes 43 to 50), west of the demo région and far from any coast, so that it cannot be
mistaken for France. Communes are a warped Voronoi coverage (about 30 vertices each, like
the generalised Admin Express COG CARTO); QPVs have about 250 vertices each, like the
official ANCT contours (1,584 QPVs in about 10.5 MB of GeoJSON). Names are visibly
fictional; codes have the official formats (départements 01-95, 2A, 2B; régions 61-73,
which no real région uses).

Deterministic: everything derives from one numpy Generator (PCG64) seeded with SEED, and
from the demo's own seeded helpers (etl/demo/) for the ONPV tables.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPoint, MultiPolygon, Polygon

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:   # run as a script
    sys.path.insert(0, str(REPO))
from etl import demo  # noqa: E402
from etl.config import FICTIONAL_MARKER  # noqa: E402

SEED = 2024_35_000
LON0, LAT0 = -15.5, 46.5          # centre of the fictional land, in the open Atlantic
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(LAT0))
KM_PER_DEG_LAT = 110.57
GRID = 1e-5                       # 5 decimals, about 1 m, like the official WGS84 files


@dataclass(frozen=True)
class Size:
    communes: int = 35_000
    qpv: int = 1_600
    actions: int = 100_000
    departements: int = 96
    regions: int = 13
    area_km2: float = 550_000.0
    communes_per_epci: int = 28


FRANCE = Size()

FILES = {
    "communes": "commune_france_synthetique.geojson",
    "epci": "epci.csv",
    "departements": f"v_departement_{demo.COG_YEAR}.csv",
    "regions": f"v_region_{demo.COG_YEAR}.csv",
    "qpv2024": "qpv2024_france_synthetique_wgs84.geojson",
    "qpv2015": "qpv2015_france_synthetique_wgs84.geojson",
    "correspondence": "liste-correspondance-qp2024-qp2015.csv",
    "schemes": "dispositifs.csv",
    "actions": "actions_{:02d}.csv",
}
# The importer refuses files over 25 MB (ATLAS_IMPORT_MAX_MB) and says to split them:
# 100,000 actions are written as several files of this many rows.
ACTIONS_PER_FILE = 25_000
# etl.importer's QPV code patterns reject the Corsican codes (QN02A01M, QP02A001) that the
# ANCT files use; until that is fixed, the import files name Corsican QPVs by their commune.
IMPORT_REJECTS_CORSICAN_QPV_CODES = False  # fixed: the importer shares the loaders' code formats


def _importable(qpv_code: str) -> bool:
    return not (IMPORT_REJECTS_CORSICAN_QPV_CODES and qpv_code[2:5] in ("02A", "02B"))

ROOTS = ["Licorne", "Chimère", "Songe", "Mirage", "Utopie", "Féerie", "Fantaisie", "Griffon", "Farfadet",
         "Sirène", "Lutin", "Dragon", "Phénix", "Korrigan", "Centaure", "Dryade", "Troll", "Nymphe",
         "Sylphe", "Pégase", "Gnome", "Ondine", "Titan", "Sphinx", "Elfe", "Hippogriffe", "Minotaure",
         "Cyclope", "Fée", "Rêve", "Imaginaire", "Fictif", "Chimèreval", "Songeville", "Licornac",
         "Miragny", "Utopiac", "Féerac", "Griffonville", "Rêveval"]
SUFFIXES = ["", "-sur-Mer", "-les-Bains", "-le-Haut", "-le-Bas", "-la-Forêt", "-en-Val", "-sur-Lande",
            "-les-Pins", "-la-Rivière", "-du-Col", "-aux-Bois", "-la-Grande", "-la-Petite", "-Saint-Songe",
            "-en-Brume", "-les-Monts", "-sur-Dune", "-la-Vieille", "-la-Neuve", "-du-Lac", "-des-Prés",
            "-le-Château", "-sous-Roche", "-en-Plaine"]
DEP_PREFIXES = ["Haute-", "Basse-", "Val-de-", "Côtes-de-", "Monts-de-", "Pays-de-", "Marches-de-",
                "Plaine-de-"]
REGION_NAMES = ["Région fictive des Licornes", "Région fictive des Chimères", "Région fictive du Songe",
                "Région fictive des Mirages", "Région fictive d'Utopie-Nord", "Région fictive de Féerie",
                "Région fictive de Fantaisie", "Région fictive des Griffons", "Région fictive des Farfadets",
                "Région fictive des Sirènes", "Région fictive des Lutins", "Région fictive des Dragons",
                "Région fictive des Phénix", "Région fictive des Korrigans", "Région fictive des Centaures"]
QPV_STEMS = ["Les Licornes", "Cité des Chimères", "Le Val des Elfes", "Les Hauts de Songe", "Les Sirènes",
             "Plateau des Fées", "Les Hippogriffes", "Cité des Korrigans", "Les Centaures", "Les Dryades",
             "La Butte aux Trolls", "Les Nymphes", "Le Hameau des Sylphes", "Les Pégases", "Cité des Gnomes",
             "Les Ondines", "Les Minotaures", "Les Titans", "La Tour des Dragons", "Les Jardins d'Utopie",
             "Résidence des Lutins", "Quartier du Mirage", "Les Phénix", "Le Clos des Farfadets",
             "Les Terrasses de Féerie", "Les Griffons", "Les Cyclopes", "Les Sphinx"]
QPV_QUALIFIERS = ["", " - Nord", " - Sud", " - Centre", " - Est", " - Ouest", " - Haut", " - Bas"]


# ------------------------------------------------------------------------------- helpers
def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iters: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Plain Lloyd iterations (labels, centres); enough to cut a plane into compact parts."""
    k = max(1, min(k, len(points)))
    centres = points[rng.choice(len(points), size=k, replace=False)].copy()
    labels = np.zeros(len(points), dtype=np.int64)
    for _ in range(iters):
        d = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = d.argmin(axis=1)
        for j in range(k):
            mine = points[labels == j]
            if len(mine):
                centres[j] = mine.mean(axis=0)
    return labels, centres


def _order_north_west(xy: np.ndarray) -> np.ndarray:
    """Indices sorted north to south, then west to east (like a reading order)."""
    return np.lexsort((xy[:, 0], -np.round(xy[:, 1], 6)))


def _hexagon(area_km2: float) -> Polygon:
    r = math.sqrt(area_km2 / (3 * math.sqrt(3) / 2))
    return Polygon([(r * math.cos(math.radians(a)), r * math.sin(math.radians(a))) for a in range(0, 360, 60)])


def _warp(rng: np.random.Generator):
    """A smooth displacement field (km -> km). Each wave's slope is at most 0.1, so the
    map stays one-to-one: shared commune edges stay shared and nothing folds."""
    waves = []
    for wavelength in (60.0, 30.0, 12.0, 6.0, 3.5):
        k = 2 * math.pi / wavelength
        a = rng.uniform(0, 2 * math.pi)
        waves.append((0.1 / k, k * math.cos(a), k * math.sin(a), rng.uniform(0, 2 * math.pi),
                      rng.uniform(0, 2 * math.pi)))

    def warp(c: np.ndarray) -> np.ndarray:
        out = c.copy()
        for amp, kx, ky, p1, p2 in waves:
            t = kx * c[:, 0] + ky * c[:, 1]
            out[:, 0] += amp * np.sin(t + p1)
            out[:, 1] += amp * np.sin(t + p2)
        return out

    return warp


def _to_lonlat(c: np.ndarray) -> np.ndarray:
    return np.column_stack([LON0 + c[:, 0] / KM_PER_DEG_LON, LAT0 + c[:, 1] / KM_PER_DEG_LAT])


def _finish(geoms) -> np.ndarray:
    """km geometries -> lon/lat MultiPolygons on the 1e-5 degree grid."""
    arr = shapely.set_precision(shapely.transform(np.asarray(geoms, dtype=object), _to_lonlat), GRID)
    out = []
    for g in arr:
        if not g.is_valid:
            g = shapely.make_valid(g)
            g = max(getattr(g, "geoms", [g]), key=lambda p: p.area)
        out.append(g if g.geom_type == "MultiPolygon" else MultiPolygon([g]))
    return np.asarray(out, dtype=object)


def _qpv_shape(cx: float, cy: float, r: float, rng: np.random.Generator) -> Polygon:
    """An irregular star-shaped block outline (40-56 corners), densified every 8 m with
    about 1 m of noise, like a street-following official contour (~250 vertices)."""
    n = int(rng.integers(40, 57))
    th = 2 * math.pi * (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / n
    harm = sum(rng.uniform(0.03, 0.15) / (k - 1) * np.cos(k * th + rng.uniform(0, 2 * math.pi))
               for k in (2, 3, 4, 5))
    rr = r * (1 + harm) * rng.uniform(0.88, 1.12, n)
    base = Polygon(np.column_stack([cx + rr * np.cos(th), cy + rr * np.sin(th)]))
    dense = shapely.segmentize(base, 0.008)
    ring = np.asarray(dense.exterior.coords)[:-1]
    noisy = Polygon(ring + rng.normal(0, 0.0012, ring.shape))
    return noisy if noisy.is_valid else dense


def _geojson(name: str, crs: str, features: list[tuple[dict, object]], one_per_line: bool) -> bytes:
    """The layout of etl.demo._geojson, with geometries written by GEOS (shapely.to_geojson):
    20 times faster at this scale, same text for coordinates already on the 1e-5 grid."""
    geoms = shapely.to_geojson(np.asarray([g for _, g in features], dtype=object))
    head = {"type": "FeatureCollection", "name": name, "crs": {"type": "name", "properties": {"name": crs}}}
    feats = ['{"type":"Feature","properties":' + json.dumps(p, ensure_ascii=False, separators=(",", ":"))
             + ',"geometry":' + g + "}" for (p, _), g in zip(features, geoms)]
    start = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    sep = ",\n" if one_per_line else ","
    text = start + (',\n"features":[\n' if one_per_line else ',"features":[') + sep.join(feats) \
        + ("\n]}\n" if one_per_line else "]}")
    return text.encode("utf-8")


# ------------------------------------------------------------------------------- the world
def build_world(size: Size = FRANCE, seed: int = SEED) -> dict:
    """Everything the writers need, as plain Python/numpy structures (km and lon/lat)."""
    rng = np.random.default_rng(seed)
    land = _hexagon(size.area_km2)

    # Commune seeds: a jittered grid inside the hexagon, exactly size.communes of them.
    spacing = math.sqrt(size.area_km2 / size.communes)
    minx, miny, maxx, maxy = land.bounds
    while True:
        gx, gy = np.meshgrid(np.arange(minx, maxx, spacing), np.arange(miny, maxy, spacing))
        pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.35, 0.35, (gx.size, 2)) * spacing
        pts = pts[shapely.contains_xy(land.buffer(-0.3 * spacing), pts[:, 0], pts[:, 1])]
        if len(pts) >= size.communes:
            break
        spacing *= 0.98
    pts = pts[np.sort(rng.choice(len(pts), size=size.communes, replace=False))]
    cells = shapely.voronoi_polygons(MultiPoint(pts), extend_to=land.buffer(10 * spacing), ordered=True)
    cells = shapely.intersection(np.asarray(cells.geoms, dtype=object), land)
    warp = _warp(rng)
    cells_km = shapely.transform(shapely.segmentize(cells, spacing / 7.0), warp)
    seeds = warp(pts)

    # Départements (k-means of communes), régions (k-means of départements), codes.
    dep_label, dep_centre = kmeans(seeds, size.departements, rng)
    dep_codes_all = [f"{i:02d}" for i in range(1, 20)] + ["2A", "2B"] + [f"{i:02d}" for i in range(21, 96)]
    if size.departements > len(dep_codes_all):
        raise ValueError("at most 96 départements")
    dep_order = _order_north_west(dep_centre)
    dep_code_of = {int(j): dep_codes_all[rank] for rank, j in enumerate(dep_order)}
    reg_label, reg_centre = kmeans(dep_centre, min(size.regions, size.departements), rng)
    reg_order = _order_north_west(reg_centre)
    reg_code_of = {int(j): f"{61 + rank}" for rank, j in enumerate(reg_order)}
    departements = []   # (code, name, region code)
    for rank, j in enumerate(dep_order):
        name = DEP_PREFIXES[rank % len(DEP_PREFIXES)] + ROOTS[(rank // len(DEP_PREFIXES)) * 3 % len(ROOTS)]
        departements.append((dep_code_of[int(j)], name, reg_code_of[int(reg_label[j])]))
    dep_region = {d: r for d, _, r in departements}
    regions = [(reg_code_of[int(j)], REGION_NAMES[rank]) for rank, j in enumerate(reg_order)]

    # Communes: codes in reading order within each département, names unique per département.
    n = size.communes
    dep_of = np.array([dep_code_of[int(j)] for j in dep_label], dtype=object)
    code = np.empty(n, dtype=object)
    name = np.empty(n, dtype=object)
    order = _order_north_west(seeds)
    counters: dict[str, int] = {}
    name_perm = rng.permutation(len(ROOTS) * len(SUFFIXES))
    for i in order:
        d = dep_of[i]
        k = counters.get(d, 0) + 1
        counters[d] = k
        if k > 999 or k > len(name_perm):
            raise ValueError(f"too many communes in département {d}")
        code[i] = f"{d}{k:03d}"
        m = int(name_perm[k - 1])
        name[i] = ROOTS[m % len(ROOTS)] + SUFFIXES[m // len(ROOTS)]
    pop = np.minimum(np.round(np.exp(rng.normal(6.5, 1.4, n))), 900_000).astype(np.int64) + 20
    deprivation = rng.uniform(0.02, 0.4, n)

    # EPCI: k-means of the communes of each département.
    epci_of = np.empty(n, dtype=object)
    epcis = []   # (siren, name, dep)
    for di, (d, _, _) in enumerate(departements):
        idx = np.flatnonzero(dep_of == d)
        lab, _ = kmeans(seeds[idx], round(len(idx) / size.communes_per_epci), rng, iters=8)
        for k in range(lab.max() + 1):
            members = idx[lab == k]
            if not len(members):
                continue
            siren = f"2{di + 1:03d}{k + 1:05d}"
            biggest = members[np.argmax(pop[members])]
            kind = "Communauté d'agglomération" if pop[members].sum() > 50_000 else "Communauté de communes"
            epcis.append((siren, f"{kind} fictive de {name[biggest]}", d))
            epci_of[members] = siren

    # QPVs of 2024: in the most populated communes, several in the largest ones.
    tree = shapely.STRtree(cells_km)
    placed: dict[int, list] = {}
    qpv_count: dict[str, int] = {}
    qpvs = []   # dicts: host, communes (indices), geom_km, status
    for i in np.argsort(-pop, kind="stable"):
        if len(qpvs) >= size.qpv:
            break
        want = int(min(15, max(1, round(pop[i] / 15_000))))
        for _ in range(want):
            if len(qpvs) >= size.qpv or qpv_count.get(dep_of[i], 0) >= 99:
                break
            host = cells_km[i]
            straddle = rng.random() < 0.03
            for attempt in range(60):
                r = rng.uniform(0.18, 0.36) * (0.97 ** attempt)
                if straddle:
                    b = np.asarray(host.exterior.coords)
                    cx, cy = b[int(rng.integers(len(b)))]
                else:
                    inner = host.buffer(-(r * 1.35))
                    if inner.is_empty:
                        continue
                    x0, y0, x1, y1 = inner.bounds
                    cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
                    if not shapely.contains_xy(inner, cx, cy):
                        continue
                g = _qpv_shape(cx, cy, r, rng)
                touched = [int(j) for j in tree.query(g, predicate="intersects")
                           if cells_km[j].intersection(g).area > 0.02 * g.area]
                if not straddle and touched != [int(i)]:
                    continue
                if straddle and (int(i) not in touched or len(touched) < 2 or not land.contains(g)):
                    continue
                if any(g.distance(o) < 0.05 for j in touched for o in placed.get(j, [])):
                    continue
                for j in touched:
                    placed.setdefault(j, []).append(g)
                qpvs.append({"host": int(i), "communes": [int(i)] + [j for j in touched if j != i], "geom_km": g})
                qpv_count[dep_of[i]] = qpv_count.get(dep_of[i], 0) + 1
                break
    # statuses: about the real shares (INCHANGE 22 %, MODIFIE 69 %, NOUVEAU 9 %)
    status = rng.choice(np.array(["I", "M", "N"]), size=len(qpvs), p=[0.22, 0.69, 0.09])
    qpvs.sort(key=lambda q: (code[q["host"]], q["geom_km"].centroid.x))
    n24: dict[str, int] = {}
    n15: dict[str, int] = {}
    q15 = []
    for k, q in enumerate(qpvs):
        d = dep_of[q["host"]]
        d3 = d.rjust(3, "0")
        n24[d] = n24.get(d, 0) + 1
        q["status"] = str(status[k])
        q["code"] = f"QN{d3}{n24[d]:02d}{q['status']}"
        q["name"] = QPV_STEMS[int(rng.integers(len(QPV_STEMS)))] + QPV_QUALIFIERS[int(rng.integers(len(QPV_QUALIFIERS)))]
        q["deprivation"] = float(min(1.0, max(0.02, deprivation[q["host"]] * 0.35 + rng.uniform(-0.05, 0.6))))
        q["pred"] = None
        if q["status"] != "N":
            n15[d] = n15.get(d, 0) + 1
            g15 = q["geom_km"]
            if q["status"] == "M":
                c = g15.centroid
                s = rng.uniform(0.85, 1.1)
                g15 = shapely.affinity.scale(g15, s, s, origin=c)
                g15 = shapely.affinity.translate(g15, *(rng.uniform(-0.04, 0.04, 2)))
            dens = rng.uniform(4000, 9000)
            p = {"code": f"QP{d3}{n15[d]:03d}", "name": q["name"], "communes": q["communes"], "geom_km": g15,
                 "population": int(min(12_000, max(900, g15.area * dens))),
                 "deprivation": float(min(1.0, max(0.0, q["deprivation"] + rng.uniform(-0.06, 0.06)))),
                 "secret": bool(rng.random() < 0.02)}
            q["pred"] = p["code"]
            q15.append(p)
    q15.sort(key=lambda p: p["code"])

    communes_ll = _finish(cells_km)
    for q, g in zip(qpvs, _finish([q["geom_km"] for q in qpvs])):
        q["geom"] = g
    for p, g in zip(q15, _finish([p["geom_km"] for p in q15])):
        p["geom"] = g.geoms[0] if len(g.geoms) == 1 else g   # Polygon, as in the 2015 shapefile
    return {"size": size, "rng": rng, "code": code, "name": name, "dep": dep_of, "pop": pop,
            "deprivation": deprivation, "epci": epci_of, "geom": communes_ll, "epcis": sorted(epcis),
            "departements": sorted(departements), "dep_region": dep_region, "regions": sorted(regions),
            "qpv24": qpvs, "qpv15": q15}


# ------------------------------------------------------------------------------- writers
def _files_geography(w: dict) -> dict[str, bytes]:
    feats = [({"INSEE_COM": c, "NOM": nm, "POPULATION": int(p), "INSEE_DEP": d, "INSEE_REG": w["dep_region"][d],
               "SIREN_EPCI": e}, g)
             for c, nm, p, d, e, g in zip(w["code"], w["name"], w["pop"], w["dep"], w["epci"], w["geom"])]
    out = {FILES["communes"]: _geojson("commune_france_synthetique", demo.CRS84, feats, one_per_line=True),
           FILES["epci"]: demo._csv([["CODE_SIREN", "NOM"]] + [[s, nm] for s, nm, _ in w["epcis"]], ",", "\n")}
    chef = {}
    for i in np.argsort(-w["pop"], kind="stable"):
        chef.setdefault(w["dep"][i], w["code"][i])
    deps = [["DEP", "REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"]]
    for d, nm, r in w["departements"]:
        deps.append([d, r, chef[d], "3", demo._ncc(nm), nm, nm])
    out[FILES["departements"]] = demo._quoted_csv(deps, ",").replace(b"\r\n", b"\n")
    regs = [["REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"]]
    for r, nm in w["regions"]:
        first_dep = next(d for d, _, rr in w["departements"] if rr == r)
        regs.append([r, chef[first_dep], "0", demo._ncc(nm), nm, nm])
    out[FILES["regions"]] = demo._quoted_csv(regs, ",").replace(b"\r\n", b"\n")
    return out


def _files_qpv(w: dict) -> dict[str, bytes]:
    dep_name = {d: nm for d, nm, _ in w["departements"]}
    reg_name = dict(w["regions"])
    code, name, epci = w["code"], w["name"], w["epci"]
    feats = []
    for fid, q in enumerate(sorted(w["qpv24"], key=lambda q: q["code"]), start=1):
        d = w["dep"][q["host"]]
        r = w["dep_region"][d]
        feats.append(({"fid": fid, "code_qp": q["code"], "lib_qp": q["name"], "insee_reg": r,
                       "lib_reg": reg_name[r], "insee_dep": d, "lib_dep": dep_name[d],
                       "insee_com": ", ".join(code[c] for c in q["communes"]),
                       "lib_com": ", ".join(name[c] for c in q["communes"]),
                       "siren_epci": ", ".join(dict.fromkeys(epci[c] for c in q["communes"]))}, q["geom"]))
    out = {FILES["qpv2024"]: _geojson("QP2024_FRANCE_SYNTHETIQUE_WGS84", demo.CRS84, feats,
                                           one_per_line=False)}
    feats = [({"CODE_QP": p["code"], "NOM_QP": p["name"],
               "COMMUNE_QP": ", ".join(sorted((name[c] for c in p["communes"]), key=demo._fold))}, p["geom"])
             for p in w["qpv15"]]
    out[FILES["qpv2015"]] = _geojson("QP_FRANCE_SYNTHETIQUE_2015_WGS84", demo.EPSG4326, feats,
                                          one_per_line=True)
    rows = [["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1", "QP2015_2",
             "Label_QP2015_2", "QP2015_3", "Label_QP2015_3"]]
    statut = {"I": "INCHANGE", "M": "MODIFIE", "N": "NOUVEAU"}
    for q in sorted(w["qpv24"], key=lambda q: q["code"]):
        row = [q["code"], q["name"], statut[q["status"]]]
        if q["pred"]:
            row += [q["pred"], q["name"]]
        rows.append(row + [""] * (9 - len(row)))
    out[FILES["correspondence"]] = demo._csv(rows, ";", demo.CRLF)
    return out


def _files_onpv(w: dict) -> dict[str, bytes]:
    """The demo's own ONPV writer, on a World made of the synthetic communes and 2015 QPVs."""
    communes = [demo.Commune(i, w["name"][i], w["dep"][i], None, (0.0, 0.0), None, code=w["code"][i],
                             population=int(w["pop"][i])) for i in range(len(w["code"]))]
    qpv15 = [demo.Qpv(p["code"], p["name"], "2015", [w["code"][c] for c in p["communes"]], None,
                      deprivation=p["deprivation"], population=p["population"], secret=p["secret"])
             for p in w["qpv15"]]
    rnd = demo._Rand(SEED)
    world = demo.World(communes, [], [], qpv15, None, rnd)
    return demo._files_onpv(world, rnd)


def _files_filosofi(w: dict) -> dict[str, bytes]:
    """INSEE Filosofi DISP and DISP_PAUVRES files at every level (the demo's profiles and formats)."""
    yy = f"{demo.FILO_YEAR % 100:02d}"
    rng = w["rng"]
    pop = w["pop"].astype(float)
    z = np.clip(w["deprivation"] + rng.uniform(-0.04, 0.04, len(pop)), 0, 1)

    def grouped(keys) -> list[tuple[str, float, float]]:
        keys = np.asarray(keys, dtype=object)
        uniq, inv = np.unique(keys, return_inverse=True)
        p = np.bincount(inv, weights=pop)
        pz = np.bincount(inv, weights=pop * z)
        return [(str(u), float(a), float(b / a)) for u, a, b in zip(uniq, p, pz)]

    names = {"COM": dict(zip(w["code"], w["name"])), "EPCI": {s: nm for s, nm, _ in w["epcis"]},
             "DEP": {d: nm for d, nm, _ in w["departements"]}, "REG": dict(w["regions"])}
    groups = {"COM": [(c, float(p), float(zz)) for c, p, zz in zip(w["code"], pop, z)],
              "EPCI": grouped(w["epci"]), "DEP": grouped(w["dep"]),
              "REG": grouped([w["dep_region"][d] for d in w["dep"]])}
    out = {}
    for kind, template in (("DISP", demo.FILO_DISP_COLUMNS), ("DISP_PAUVRES", demo.FILO_PAUVRES_COLUMNS)):
        header = template.format(yy=yy).split(";")
        keys = [col[:-2] if col.endswith(yy) and col not in ("RD", "Q3_Q1") else col for col in header[2:]]
        for level in demo.FILO_LEVELS:
            if level == "METROPOLE":
                entries = [("1", "France métropolitaine", 62_900_000.0, 0.42, False)]
            else:
                entries = [(c, names[level][c], p, zz,
                            level == "COM" and p / (2.15 + 0.3 * zz) < demo.FILO_SMALL_HOUSEHOLDS)
                           for c, p, zz in groups[level]]
            rows = [header]
            for c, nm, p, zz, small in entries:
                prof = demo._filo_profile(p, zz)
                rows.append([c, nm] + [demo._filo_format(col, prof.get(key) if not small or key in
                                                         ("NBMEN", "NBPERS", "NBUC", "Q2") else None)
                                       for col, key in zip(header[2:], keys)])
            out[f"FILO{demo.FILO_YEAR}_{kind}_{level}.csv"] = demo._csv(rows, ";", demo.CRLF, bom=True,
                                                                        final_eol=False)
    return out


def _schemes(w: dict) -> tuple[list[list[str]], dict[int, str], dict[int, str]]:
    """ASV in the communes with the most QPVs, CLS and CLSM in the most populated ones."""
    code, name, pop = w["code"], w["name"], w["pop"]
    qpvs_of: dict[int, list[str]] = {}
    for q in sorted(w["qpv24"], key=lambda q: q["code"]):
        if _importable(q["code"]):
            qpvs_of.setdefault(q["host"], []).append(q["code"])
    n_asv = max(1, round(len(qpvs_of) * 0.3))
    asv_hosts = sorted(qpvs_of, key=lambda i: (-len(qpvs_of[i]), code[i]))[:n_asv]
    by_pop = [int(i) for i in np.argsort(-pop, kind="stable")]
    rows = [demo.SCHEME_COLUMNS]
    asv_of, cls_of = {}, {}
    for k, i in enumerate(sorted(asv_hosts, key=lambda i: code[i]), start=1):
        sid = f"ASV{k:04d}"
        asv_of[i] = sid
        rows.append([sid, "ASV", f"Atelier santé ville de {name[i]}", f"Ville de {name[i]}",
                     str(2000 + k % 24), "actif", code[i], "|".join(qpvs_of[i]), ""])
    for k, i in enumerate(sorted(by_pop[:round(len(qpvs_of) * 0.4)], key=lambda i: code[i]), start=1):
        sid = f"CLS{k:04d}"
        cls_of[i] = sid
        rows.append([sid, "CLS", f"Contrat local de santé de {name[i]}", f"Ville de {name[i]}",
                     str(2010 + k % 15), "actif", code[i], "", ""])
    for k, i in enumerate(sorted(by_pop[:round(len(qpvs_of) * 0.2)], key=lambda i: code[i]), start=1):
        rows.append([f"CLSM{k:04d}", "CLSM", f"Conseil local de santé mentale de {name[i]}",
                     f"Ville de {name[i]}", str(2012 + k % 12), "actif", code[i], "", ""])
    return rows, asv_of, cls_of


def _random_points(geoms: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One point inside each geometry (rejection sampling in the bounding box)."""
    b = shapely.bounds(geoms)
    out = np.full((len(geoms), 2), np.nan)
    todo = np.arange(len(geoms))
    for _ in range(40):
        if not len(todo):
            break
        x = rng.uniform(b[todo, 0], b[todo, 2])
        y = rng.uniform(b[todo, 1], b[todo, 3])
        ok = shapely.contains_xy(geoms[todo], x, y)
        out[todo[ok]] = np.column_stack([x[ok], y[ok]])
        todo = todo[~ok]
    if len(todo):
        rp = shapely.get_coordinates(shapely.point_on_surface(geoms[todo]))
        out[todo] = rp
    return np.round(out, 5)


def _actions(w: dict, n: int, asv_of: dict[int, str], cls_of: dict[int, str]) -> list[list[str]]:
    rng = w["rng"]
    themes, publics = demo._taxonomy()
    theme_ids = [t[0] for t in themes]
    theme_label = {t[0]: t[1] for t in themes}
    tw = np.array([demo.THEME_WEIGHTS.get(t, 1.0) for t in theme_ids])
    pub_ids = [p for p, _ in publics]
    pub_label = dict(publics)
    pw = np.array([demo.PUBLIC_WEIGHTS.get(p, 1.0) for p in pub_ids], dtype=float)
    qpvs = sorted(w["qpv24"], key=lambda q: q["code"])
    qw = np.array([4.0 if q["host"] in asv_of else 1.0 for q in qpvs])
    cw = np.sqrt(w["pop"].astype(float))
    code, name = w["code"], w["name"]

    method = rng.choice(4, size=n, p=[0.62, 0.08, 0.18, 0.12])   # qpv, qpv2015, commune, coords
    qi = rng.choice(len(qpvs), size=n, p=qw / qw.sum())
    ci = rng.choice(len(code), size=n, p=cw / cw.sum())
    in_qpv = rng.random(n) < 0.7
    pts = np.full((n, 2), np.nan)
    sel = np.flatnonzero((method == 3) & in_qpv)
    pts[sel] = _random_points(np.array([qpvs[k]["geom"] for k in qi[sel]], dtype=object), rng)
    sel = np.flatnonzero((method == 3) & ~in_qpv)
    pts[sel] = _random_points(w["geom"][ci[sel]], rng)
    t_main = rng.choice(len(theme_ids), size=n, p=tw / tw.sum())
    n_extra = rng.choice(3, size=n, p=[0.45, 0.4, 0.15])
    p_main = rng.choice(len(pub_ids), size=n, p=pw / pw.sum())
    years = np.array(demo.ACTION_YEARS)
    yw = np.array([0.6, 0.7, 0.6, 0.9, 1.0, 1.1, 1.2, 1.0])[:len(years)]
    start = rng.choice(years, size=n, p=yw / yw.sum())
    end_kind = rng.choice(4, size=n, p=[0.5, 0.22, 0.1, 0.18])
    u = rng.random((n, 8))

    def fmt(ident: str, label: str, x: float) -> str:
        if x < 0.58:
            return ident
        if x < 0.93:
            return label
        return label.lower() if x < 0.97 else demo._fold(label)

    rows = [demo.ACTION_COLUMNS]
    for k in range(n):
        m = method[k]
        q = qpvs[qi[k]]
        qpv = commune = lon = lat = ""
        if not _importable(q["code"]) and m in (0, 1):
            commune, lieu, host = code[q["host"]], q["name"], q["host"]
        elif m == 0 or (m == 1 and not q["pred"]):
            qpv, lieu, host = q["code"], q["name"], q["host"]
            if u[k, 0] < 0.3:
                commune = code[host]
        elif m == 1:
            qpv, lieu, host = q["pred"], q["name"], q["host"]
        elif m == 2:
            commune, lieu, host = code[ci[k]], name[ci[k]], ci[k]
        else:
            lon, lat = f"{pts[k, 0]:.5f}", f"{pts[k, 1]:.5f}"
            lieu, host = (q["name"], q["host"]) if in_qpv[k] else (name[ci[k]], ci[k])
        tid = theme_ids[t_main[k]]
        chosen = [tid]
        for e in range(n_extra[k]):
            extra = theme_ids[int(u[k, 1 + e] * len(theme_ids))]
            if extra not in chosen:
                chosen.append(extra)
        pubs = [pub_ids[p_main[k]]]
        if u[k, 3] < 0.4:
            extra = pub_ids[int(u[k, 4] * len(pub_ids))]
            if extra not in pubs:
                pubs.append(extra)
        s = int(start[k])
        end = (str(s), str(s + 1), str(s + 2), "")[end_kind[k]]
        scheme = ""
        if host in asv_of and u[k, 5] < 0.5:
            scheme = asv_of[host]
        elif host in cls_of and u[k, 5] < 0.7:
            scheme = cls_of[host]
        titles = demo.TITLES.get(tid) or [theme_label[tid]]
        porteur = demo.PORTEURS[int(u[k, 6] * len(demo.PORTEURS))] if u[k, 7] < 0.6 else f"Ville de {name[host]}"
        rows.append([f"SYN-{k + 1:06d}", f"{titles[int(u[k, 2] * len(titles))]} – {lieu}",
                     f"Action fictive du banc d'essai : {theme_label[tid].lower()}.", str(s), end, porteur,
                     "|".join(fmt(t, theme_label[t], u[k, (j + 5) % 8]) for j, t in enumerate(chosen)),
                     "|".join(fmt(p, pub_label[p], u[k, (j + 6) % 8]) for j, p in enumerate(pubs)),
                     qpv, commune, lon, lat, "", scheme, demo.FUNDERS[int(u[k, 7] * len(demo.FUNDERS))]])
    return rows


def build_files(size: Size = FRANCE, seed: int = SEED) -> tuple[dict[str, bytes], dict]:
    """({file name: bytes}, counts and the seconds spent on each part)."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal t
        now = time.perf_counter()
        seconds[what] = round(now - t, 2)
        t = now

    w = build_world(size, seed)
    lap("world")
    files: dict[str, bytes] = {}
    files.update(_files_geography(w))
    files.update(_files_qpv(w))
    lap("geography")
    files.update(_files_onpv(w))
    lap("onpv")
    files.update(_files_filosofi(w))
    lap("filosofi")
    schemes, asv_of, cls_of = _schemes(w)
    files[FILES["schemes"]] = demo._quoted_csv(schemes)
    actions = _actions(w, size.actions, asv_of, cls_of)
    for k, start in enumerate(range(1, len(actions), ACTIONS_PER_FILE), start=1):
        files[FILES["actions"].format(k)] = demo._quoted_csv([actions[0]] + actions[start:start + ACTIONS_PER_FILE])
    lap("actions")
    counts = {"communes": len(w["code"]), "departements": len(w["departements"]), "regions": len(w["regions"]),
              "epci": len(w["epcis"]), "qpv2024": len(w["qpv24"]), "qpv2015": len(w["qpv15"]),
              "schemes": len(schemes) - 1, "actions": size.actions,
              "qpv_vertices": int(sum(shapely.get_num_coordinates(q["geom"]) for q in w["qpv24"])),
              "seconds": seconds}
    return files, counts


def generate(dest: Path, size: Size = FRANCE, seed: int = SEED) -> dict:
    """Write the synthetic input folder into `dest`; returns counts and sizes."""
    t = time.perf_counter()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    files, counts = build_files(size, seed)
    for fname, data in files.items():
        (dest / fname).write_bytes(data)
    counts["files"] = len(files)
    counts["bytes"] = sum(len(b) for b in files.values())
    counts["seconds"]["total"] = round(time.perf_counter() - t, 2)
    (dest / FICTIONAL_MARKER).write_text("Données entièrement fictives (France synthétique du banc d'essai).\n",
                                         encoding="utf-8")
    (dest / "SYNTHETIQUE.txt").write_text(
        "Jeu synthétique fictif (banc d'essai Atlas ASV), généré par tests/benchmarks/synthetic.py.\n"
        + json.dumps(counts, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


if __name__ == "__main__":
    print(json.dumps(generate(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/atlas-synthetic")),
                     ensure_ascii=False))
