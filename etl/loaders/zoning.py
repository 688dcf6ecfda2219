"""ARS zoning of QPVs for access to general practitioners (ZIP / ZAC).

Input: a JSON document laid out like ARS PACA's qpv-zonage.json:
    {"millesime": "2025", "source": "<act>", "n_qpv": 135, "n_zip": 67, "n_zac": 68,
     "communes": {"<insee_com>": {"zip": 1, "zac": 0, "qpv": [{"id": "<QPV code>", "n": "<name>", "z": "ZIP"}]}}}
A QPV that straddles communes is listed under each of them. One gp_zoning row per loaded QPV;
codes of QPVs that are not loaded become 'unlinked' issues; counts that disagree with the
rows (n_zip, n_zac, n_qpv, and each commune's zip / zac) become warnings.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ._geo_common import (COMMUNE_RE, LICENCE, clean, json_keys, qpv_generation, read_json, source_id_for,
                          territory_codes, unreadable_named)

URL = "https://www.ars.sante.fr/"
ZONES = ("ZIP", "ZAC")


def detect(path: Path) -> bool:
    path = Path(path)
    keys = json_keys(path)
    if "communes" in keys and keys & {"n_zip", "n_zac", "n_qpv"}:
        return True
    return unreadable_named(path, r"zonage", {".json"})


def load(ctx, paths: list[Path]) -> None:
    loaded = territory_codes(ctx.con, "qpv")
    done: dict[str, str] = {}
    for p in paths:
        _load_file(ctx, Path(p), loaded, done)


def _count(doc, key, path, where):
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(path, where, key, "nombre entier positif attendu", value)
    return value


def _load_file(ctx, path: Path, loaded: set[str], done: dict[str, str]) -> None:
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("communes"), dict):
        raise InputError(path, None, "communes", "objet « communes » absent : attendu "
                         '{"millesime", "n_zip", "n_zac", "communes": {code commune: {"qpv": [...]}}}')
    millesime = clean(doc.get("millesime")) or None
    act = clean(doc.get("source"))
    sid = ctx.register_source(
        source_id_for(ctx, "ars_zonage_qpv_medecins", path), path,
        title="Zonage des quartiers prioritaires pour l'accès aux médecins généralistes (ZIP / ZAC)"
              + (f", d'après {act}" if act else ""),
        publisher="ARS", url=URL, licence=LICENCE, vintage=millesime, geography="QPV2024")
    zones: dict[str, tuple[str, str]] = {}   # QPV code -> (zone, where first seen)
    for com, entry in doc["communes"].items():
        where_c = f"communes.{com}"
        if not COMMUNE_RE.match(com):
            raise InputError(path, where_c, "code commune", "code commune mal formé (5 caractères attendus)", com)
        if not isinstance(entry, dict) or not isinstance(entry.get("qpv"), list):
            raise InputError(path, where_c, "qpv", "liste « qpv » absente")
        counts = {"ZIP": 0, "ZAC": 0}
        for k, q in enumerate(entry["qpv"], start=1):
            where = f"{where_c}.qpv[{k}]"
            if not isinstance(q, dict):
                raise InputError(path, where, None, "objet attendu")
            code = clean(q.get("id"))
            if qpv_generation(code) is None:
                raise InputError(path, where, "id", "code QPV mal formé (attendu QN… ou QP…, ex. QN09601M)", code)
            zone = clean(q.get("z")).upper()
            if zone not in ZONES:
                raise InputError(path, where, "z", "zone inconnue (attendu ZIP ou ZAC)", q.get("z"))
            counts[zone] += 1
            if code in zones and zones[code][0] != zone:
                raise InputError(path, where, "z", f"zone contradictoire pour {code} "
                                 f"({zones[code][0]} à {zones[code][1]})", zone)
            zones.setdefault(code, (zone, where))
        for zone in ZONES:
            given = _count(entry, zone.lower(), path, where_c)
            if given is not None and given != counts[zone]:
                ctx.issue(path, where_c, zone.lower(), given, "warning",
                          f"effectif {zone} de la commune ({given}) différent du nombre de QPV listés ({counts[zone]})", sid)
    totals = {z: sum(1 for v, _ in zones.values() if v == z) for z in ZONES}
    for key, actual in (("n_zip", totals["ZIP"]), ("n_zac", totals["ZAC"]), ("n_qpv", len(zones))):
        given = _count(doc, key, path, None)
        if given is not None and given != actual:
            ctx.issue(path, None, key, given, "warning",
                      f"total annoncé ({given}) différent du nombre de QPV distincts du fichier ({actual})", sid)
    rows = []
    for code, (zone, where) in zones.items():
        if code in done:
            raise InputError(path, where, "id", f"QPV déjà zoné par {done[code]}", code)
        done[code] = path.name
        if code not in loaded:
            ctx.issue(path, where, "id", code, "unlinked", "QPV absent des contours chargés : zonage ignoré", sid)
            continue
        rows.append({"qpv_code": code, "zone": zone, "millesime": millesime, "source_id": sid})
    if rows:
        ctx.insert_df("gp_zoning", pd.DataFrame(rows))
