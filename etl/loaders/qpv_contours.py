"""ANCT QPV contours: 2024 and 2015 layouts, GeoJSON / GeoPackage / shapefile, any CRS.

2024 layout (QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson): code_qp, lib_qp, insee_reg,
lib_reg, insee_dep, lib_dep, insee_com, lib_com, siren_epci; insee_com / lib_com hold
", "-joined lists for QPVs that straddle several communes.
2015 layout (qp-politiquedelaville-shp.zip): CODE_QP, NOM_QP, COMMUNE_QP (commune *names*).

Each QPV becomes a territory row (level 'qpv', generation '2024' or '2015', parents taken from
the file or from its first commune) plus one qpv_commune row per commune. finalize() then
decides the reference commune of a QPV spanning several communes: the one holding the largest
share of its area (overlay of the QPV with the commune outlines loaded), stored in
qpv_commune.area_share; the order of the file's list decides nothing. Areas are compared in
lon/lat degrees: within one QPV (a few km) the ratio of two areas is that of their projected
areas. Without commune outlines the first commune listed stays, its share unknown, and the
report says so. The population
stays NULL (the indicator loaders provide it). When communes are loaded, QPVs of other
départements are skipped (one 'out_of_scope' issue per file) and an unknown commune code in a
loaded département is an error.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..geo import display_geometries
from ._geo_common import (COMMUNE_RE, DEP_RE, LICENCE, QPV2015_RE, QPV2024_RE, REG_RE, SIREN_RE, clean,
                          commune_index, insert_territories, is_sidecar, norm_label, out_of_scope_summary,
                          qpv_departement, read_layer, repair_geom, require, shapefile_of, source_id_for,
                          split_codes, territory_codes, unreadable_named, vector_layers)

DISPLAY_TOLERANCE = 0.0001   # degrees (about 10 m): QPVs are small, 0.0003 loses up to 16 % of an area
FIELDS_2024 = ("code_qp", "lib_qp", "insee_com")
FIELDS_2015 = ("CODE_QP", "NOM_QP", "COMMUNE_QP")
URL = "https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/"
URL_2015 = "https://sig.ville.gouv.fr/atlas/QP"
CODE_HINT = {
    "2024": "attendu QN + département sur 3 caractères + 2 chiffres + lettre N, M, I ou C, ex. QN09601M",
    "2015": "attendu QP + département sur 3 caractères + 3 chiffres, ex. QP096001",
}


def _layout(fields: frozenset[str]) -> str | None:
    if "CODE_QP" not in fields:
        return None
    return "2015" if fields & {"NOM_QP", "COMMUNE_QP"} else "2024"


def detect(path: Path) -> bool:
    path = Path(path)
    if is_sidecar(path):
        shp = shapefile_of(path)
        return shp is not None and detect(shp)
    if any(_layout(f) for f in vector_layers(path).values()):
        return True
    return unreadable_named(path, r"^qp", {".geojson", ".gpkg", ".shp"})


def _name_index(con) -> dict[tuple[str, str], set[str]]:
    """(département, normalised name) -> commune codes, arrondissement names included."""
    idx: dict[tuple[str, str], set[str]] = defaultdict(set)
    for code, name, dep, commune, level in con.execute(
            "SELECT code, name, departement, commune, level FROM territory "
            "WHERE level IN ('commune', 'arrondissement')").fetchall():
        idx[(dep, norm_label(name))].add(commune if level == "arrondissement" else code)
    return idx


def load(ctx, paths: list[Path]) -> None:
    communes = commune_index(ctx.con)
    names = _name_index(ctx.con) if communes else {}
    loaded_deps = {c["departement"] for c in communes.values()}
    seen = {code: "base" for code in territory_codes(ctx.con, "qpv")}
    done: dict[frozenset, str] = {}
    for p, layer in _ordered_layers(paths):
        codes = _codes(p, layer)
        if codes is not None and codes in done:
            # ANCT's 2015 zip holds the same QPVs twice (QP_METROPOLE_LB93 and
            # QP_METROPOLEOUTREMER_WGS84_EPSG4326): the second projection is not a second geography
            ctx.issue(p, layer, "CODE_QP", f"{len(codes)} QPV", "warning",
                      f"mêmes QPV que {done[codes]} (autre projection du même fichier officiel) : ignoré")
            continue
        if codes is not None:
            done[codes] = p.name
        _load_layer(ctx, p, layer, communes, names, loaded_deps, seen)


def _ordered_layers(paths) -> list[tuple[Path, object]]:
    """Every QPV layer of the files, those in WGS84 (EPSG:4326) first: of two layers holding the
    same QPVs, the one kept needs no reprojection."""
    out = []
    for p in paths:
        p = Path(p)
        if is_sidecar(p):
            continue
        out += [(p, layer) for layer in ([layer for layer, f in vector_layers(p).items() if _layout(f)] or [None])]
    wgs = lambda pl: 0 if re.search(r"wgs84|4326", f"{pl[0].name} {pl[1] or ''}", re.I) else 1   # noqa: E731
    return sorted(out, key=wgs)


def _codes(path: Path, layer) -> frozenset | None:
    """The QPV codes of a layer (None when it cannot be read here: _load_layer reports why)."""
    try:
        import pyogrio

        info = pyogrio.read_info(path, layer=layer)
        field = next((f for f in info["fields"] if str(f).upper() == "CODE_QP"), None)
        if field is None:
            return None
        df = pyogrio.read_dataframe(path, layer=layer, columns=[field], read_geometry=False)
        return frozenset(str(c).strip() for c in df[field])
    except Exception:   # noqa: BLE001
        return None


def _load_layer(ctx, path: Path, layer, communes, names, loaded_deps, seen) -> None:
    gdf, cols = read_layer(path, layer)
    layout = _layout(frozenset(cols))
    if layout is None:
        require(path, cols, ("code_qp",))
    require(path, cols, FIELDS_2024 if layout == "2024" else FIELDS_2015)
    f = {k: cols[k] for k in cols}
    sid = ctx.register_source(
        source_id_for(ctx, f"qpv{layout}_contours", path), path,
        title=f"Quartiers prioritaires de la politique de la ville {layout} : contours",
        publisher="ANCT", url=URL if layout == "2024" else URL_2015, licence=LICENCE, vintage=layout,
        geography=f"QPV{layout}")
    regex = QPV2024_RE if layout == "2024" else QPV2015_RE
    data = gdf.drop(columns=gdf.geometry.name)
    rows, links, outside = [], [], []
    for i, (rec, geom) in enumerate(zip(data.to_dict("records"), gdf.geometry), start=1):
        rec = {k.upper(): v for k, v in rec.items()}
        code = clean(rec["CODE_QP"])
        if not regex.match(code):
            raise InputError(path, f"entité {i}", f["CODE_QP"],
                             f"code QPV {layout} mal formé ({CODE_HINT[layout]})", code)
        if code in seen:
            raise InputError(path, f"entité {i}", f["CODE_QP"], f"code QPV en double (déjà vu : {seen[code]})", code)
        seen[code] = f"{path.name}, entité {i}"
        where = f"entité {i} ({code})"
        name_field = "LIB_QP" if layout == "2024" else "NOM_QP"
        name = clean(rec[name_field])
        if not name:
            raise InputError(path, where, f[name_field], "nom du quartier vide")
        dep_code = qpv_departement(code)
        if communes and dep_code not in loaded_deps:
            outside.append(code)
            continue
        if layout == "2024":
            coms, dep, reg, epci = _parents_2024(ctx, path, where, rec, f, code, dep_code, communes, sid)
        else:
            coms, dep, reg, epci = _parents_2015(ctx, path, where, rec, f, dep_code, communes, names, sid), dep_code, None, None
        first = communes.get(coms[0]) if coms else None
        rows.append({
            "level": "qpv", "code": code, "name": name, "generation": layout,
            "region": reg or (first or {}).get("region"), "departement": dep,
            "epci": epci or (first or {}).get("epci"), "commune": coms[0] if coms else None,
            "population": None, "geom": repair_geom(ctx, geom, path, i, code, sid), "source_id": sid,
        })
        links.extend((code, c) for c in coms)
    if rows:
        for r, d in zip(rows, display_geometries([r["geom"] for r in rows], tolerance=DISPLAY_TOLERANCE)):
            r["geom_display"] = d
    insert_territories(ctx, rows)
    if links:
        ctx.insert_df("qpv_commune", pd.DataFrame(links, columns=["qpv_code", "commune_code"]).drop_duplicates())
    out_of_scope_summary(ctx, path, f["CODE_QP"], outside, "QPV de départements dont les communes ne sont pas chargées", sid)


def _parents_2024(ctx, path, where, rec, f, code, dep_code, communes, sid):
    coms = split_codes(rec["INSEE_COM"])
    if not coms:
        raise InputError(path, where, f["INSEE_COM"], "aucun code commune")
    for c in coms:
        if not COMMUNE_RE.match(c):
            raise InputError(path, where, f["INSEE_COM"], "code commune mal formé (5 caractères attendus)", c)
        if communes and c not in communes:
            raise InputError(path, where, f["INSEE_COM"], "code commune inconnu : absent des communes chargées", c)
    dep = clean(rec.get("INSEE_DEP")) or dep_code
    if not DEP_RE.match(dep):
        raise InputError(path, where, f.get("INSEE_DEP", "insee_dep"),
                         "code département mal formé (2 chiffres, 2A, 2B ou 3 chiffres outre-mer attendus)", dep)
    if dep != dep_code:
        ctx.issue(path, where, f.get("INSEE_DEP"), dep, "warning",
                  f"département différent de celui du code QPV ({dep_code})", sid)
    reg = clean(rec.get("INSEE_REG"))
    if reg and not REG_RE.match(reg):
        raise InputError(path, where, f["INSEE_REG"], "code région mal formé (2 chiffres attendus)", reg)
    sirens = split_codes(rec.get("SIREN_EPCI"))
    for s in sirens:
        if not SIREN_RE.match(s):
            raise InputError(path, where, f["SIREN_EPCI"], "SIREN d'EPCI mal formé (9 chiffres attendus)", s)
    return coms, dep, reg or None, sirens[0] if sirens else None


def _parents_2015(ctx, path, where, rec, f, dep_code, communes, names, sid) -> list[str]:
    """Commune codes of a 2015 QPV from COMMUNE_QP, which holds names (codes are accepted too)."""
    raw = clean(rec["COMMUNE_QP"])
    out: list[str] = []
    for part in (p.strip() for p in re.split(r",|;|\|", raw)):
        if not part:
            continue
        if COMMUNE_RE.match(part):
            if communes and part not in communes:
                raise InputError(path, where, f["COMMUNE_QP"], "code commune inconnu : absent des communes chargées", part)
            out.append(part)
            continue
        if not names:
            continue
        found = names.get((dep_code, norm_label(part)), set())
        if len(found) == 1:
            out.append(next(iter(found)))
        else:
            ctx.issue(path, where, f["COMMUNE_QP"], part, "unlinked",
                      "commune introuvable parmi les communes chargées du département" if not found
                      else "nom de commune ambigu dans le département", sid)
    return list(dict.fromkeys(out))


def finalize(ctx) -> None:
    con = ctx.con
    con.execute("UPDATE qpv_commune SET area_share = 1 WHERE qpv_code IN "
                "(SELECT qpv_code FROM qpv_commune GROUP BY qpv_code HAVING count(*) = 1)")
    rows = con.execute("""
        WITH multi AS (SELECT qpv_code FROM qpv_commune GROUP BY qpv_code HAVING count(*) > 1)
        SELECT l.qpv_code, l.commune_code, q.commune, c.name,
               CASE WHEN q.geom IS NULL OR c.geom IS NULL THEN NULL
                    ELSE ST_Area(ST_Intersection(ST_MakeValid(q.geom), ST_MakeValid(c.geom)))
                         / NULLIF(ST_Area(ST_MakeValid(q.geom)), 0) END AS share
        FROM qpv_commune l JOIN multi USING (qpv_code)
        JOIN territory q ON q.level = 'qpv' AND q.code = l.qpv_code
        LEFT JOIN territory c ON c.level = 'commune' AND c.code = l.commune_code
        ORDER BY l.qpv_code, l.commune_code""").fetchall()
    by_qpv: dict[str, list] = defaultdict(list)
    for qpv, commune, listed_first, name, share in rows:
        by_qpv[qpv].append((commune, listed_first, name, share))
    for qpv, links in by_qpv.items():
        listed_first = links[0][1]
        if any(share is None for *_, share in links):
            ctx.issue("qpv_commune", None, "commune", qpv, "warning",
                      f"QPV {qpv} sur plusieurs communes sans contour de chacune : la part de sa surface dans "
                      f"chaque commune est inconnue, la première commune du fichier ({listed_first}) reste sa "
                      "commune de référence")
            continue
        con.executemany("UPDATE qpv_commune SET area_share = ? WHERE qpv_code = ? AND commune_code = ?",
                        [[share, qpv, commune] for commune, _, _, share in links])
        best, _, name, share = max(links, key=lambda x: x[3])
        con.execute("UPDATE territory SET commune = ? WHERE level = 'qpv' AND code = ?", [best, qpv])
        if best != listed_first:
            shares = ", ".join(f"{n or c} {s * 100:.0f} %" for c, _, n, s in links)
            ctx.issue("qpv_commune", None, "commune", qpv, "warning",
                      f"QPV {qpv} sur plusieurs communes ({shares} de sa surface) : commune de référence "
                      f"{name or best}, et non {listed_first}, listée en premier par le fichier")
