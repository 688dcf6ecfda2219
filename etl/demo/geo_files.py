"""Writers of the geography files: communes, EPCI, COG lists, QPV contours 2024 and 2015,
their correspondence and the ARS zoning."""
from __future__ import annotations

import json


from .plan import CRLF, DEPARTEMENTS, FILES, REGION_CODE, REGION_NAME
from .world import Commune, World, _fold
from .formats import CRS84, EPSG4326, _csv, _geojson, _ncc, _quoted_csv


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------
def _dep_name(code: str) -> str:
    return next(n for d, n, _, _ in DEPARTEMENTS if d == code)


def _chef_lieu(w: World, dep: str) -> Commune:
    return next(c for c in w.communes if c.dep == dep and c.role in ("MU", "BF", "PI"))


def _files_geography(w: World) -> dict[str, bytes]:
    out = {}
    feats = [({"INSEE_COM": c.code, "NOM": c.name, "POPULATION": c.population, "INSEE_DEP": c.dep,
               "INSEE_REG": REGION_CODE, "SIREN_EPCI": c.epci}, c.geom) for c in w.communes]
    out[FILES["communes"]] = _geojson("commune_utopie", CRS84, feats, one_per_line=True)
    out[FILES["epci"]] = _csv([["CODE_SIREN", "NOM"]] + [[s, n] for s, n, _ in w.epcis], ",", "\n")
    deps = [["DEP", "REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"]]
    for dep, name, tncc, _ in DEPARTEMENTS:
        deps.append([dep, REGION_CODE, _chef_lieu(w, dep).code, tncc, _ncc(name), name, name])
    out[FILES["departements"]] = _quoted_csv(deps, ",").replace(b"\r\n", b"\n")
    regs = [["REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"],
            [REGION_CODE, _chef_lieu(w, "99").code, "0", _ncc(REGION_NAME), REGION_NAME, REGION_NAME]]
    out[FILES["regions"]] = _quoted_csv(regs, ",").replace(b"\r\n", b"\n")
    return out


def _names(w: World, codes: list[str]) -> list[str]:
    return [w.commune(c).name for c in codes]


def _files_qpv(w: World) -> dict[str, bytes]:
    out = {}
    feats = []
    for fid, q in enumerate(sorted(w.qpv24, key=lambda q: q.code), start=1):
        c0 = w.commune(q.communes[0])
        feats.append(({"fid": fid, "code_qp": q.code, "lib_qp": q.name, "insee_reg": REGION_CODE,
                       "lib_reg": REGION_NAME, "insee_dep": c0.dep, "lib_dep": _dep_name(c0.dep),
                       "insee_com": ", ".join(q.communes), "lib_com": ", ".join(_names(w, q.communes)),
                       "siren_epci": ", ".join(dict.fromkeys(w.commune(c).epci for c in q.communes))},
                      q.geom))
    out[FILES["qpv2024"]] = _geojson("QP2024_UTOPIE_WGS84", CRS84, feats, one_per_line=False)
    feats = []
    for q in w.qpv15:
        geom = q.geom.geoms[0] if len(q.geom.geoms) == 1 else q.geom  # Polygon, as in the shapefile
        feats.append(({"CODE_QP": q.code, "NOM_QP": q.name,
                       "COMMUNE_QP": ", ".join(sorted(_names(w, q.communes), key=_fold))}, geom))
    out[FILES["qpv2015"]] = _geojson("QP_UTOPIE_2015_WGS84", EPSG4326, feats, one_per_line=True)

    rows = [["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1", "QP2015_2",
             "Label_QP2015_2", "QP2015_3", "Label_QP2015_3"]]
    by15 = {q.code: q for q in w.qpv15}
    statut = {"I": "INCHANGE", "M": "MODIFIE", "N": "NOUVEAU"}
    for q in sorted(w.qpv24, key=lambda q: q.code):
        row = [q.code, q.name, statut[q.status]]
        for p in q.predecessors:
            row += [p, by15[p].name]
        rows.append(row + [""] * (9 - len(row)))
    out[FILES["correspondence"]] = _csv(rows, ";", CRLF)

    # ARS zoning: the most deprived QPVs are ZIP, the others ZAC
    zone = {q.code: ("ZIP" if q.deprivation >= 0.62 else "ZAC") for q in w.qpv24}
    communes: dict[str, dict] = {}
    for q in sorted(w.qpv24, key=lambda q: q.code):
        for c in q.communes:
            e = communes.setdefault(c, {"zip": 0, "zac": 0, "qpv": []})
            e[zone[q.code].lower()] += 1
            e["qpv"].append({"id": q.code, "n": q.name, "z": zone[q.code]})
    zoning = {"millesime": "2025", "source": "Arrêté_zonage_QPV_MEDECINS_UTOPIE_FICTIF_2025.xlsx",
              "n_qpv": len(w.qpv24), "n_zip": sum(z == "ZIP" for z in zone.values()),
              "n_zac": sum(z == "ZAC" for z in zone.values()),
              "communes": {k: communes[k] for k in sorted(communes)}}
    out[FILES["zoning"]] = json.dumps(zoning, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return out
