"""ARS zoning of QPVs for access to general practitioners: ZIP (zone d'intervention prioritaire), ZAC
(zone d'action complémentaire), ZAR (zone d'accompagnement régional), ZV (zone de vigilance).

Inputs:
- the official annex of an ARS order (xlsx): a sheet whose header row holds a QPV code column
  ("Code QPV", "Code du quartier"...) and a "Zonage" column, zone written as its abbreviation or in
  full ("Zone d'intervention prioritaire"...); the millésime is the last year of the title rows
  above the header, else unknown. Layout from ARS PACA's annex as described, not checked on a
  published file here;
- a JSON document laid out like ARS PACA's qpv-zonage.json:
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
ZONES = ("ZIP", "ZAC", "ZAR", "ZV")
LONG_NAMES = {"intervention prioritaire": "ZIP", "action complementaire": "ZAC",
              "accompagnement regional": "ZAR", "vigilance": "ZV"}
ANNEX_SCAN = 30


def _fold(v) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", str(v or ""))
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).lower().replace("'", " ").split())


def _annex_header(row) -> tuple[int, int] | None:
    """(QPV code column, zone column) of an annex header row, or None."""
    cells = [_fold(c) for c in row]
    zone = next((i for i, c in enumerate(cells) if c.startswith("zonage") or c == "zone"), None)
    code = next((i for i, c in enumerate(cells) if "code" in c and ("qp" in c or "quartier" in c)), None)
    return (code, zone) if zone is not None and code is not None else None


def _annex_rows(path: Path):
    """(sheet title, header row number, (code col, zone col), rows iterator, title text) of an annex."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    for ws in wb.worksheets:
        it = ws.iter_rows(values_only=True)
        above = []
        for n, row in enumerate(it, start=1):
            if n > ANNEX_SCAN:
                break
            cols = _annex_header(row)
            if cols:
                return wb, ws.title, n, cols, it, " ".join(above)
            above += [str(c) for c in row if c is not None]
    wb.close()
    return None


def detect(path: Path) -> bool:
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        try:
            found = _annex_rows(path)
        except Exception:   # noqa: BLE001 - not a workbook we can read: not ours
            return False
        if found:
            found[0].close()
        return found is not None
    keys = json_keys(path)
    if "communes" in keys and keys & {"n_zip", "n_zac", "n_qpv"}:
        return True
    return unreadable_named(path, r"zonage", {".json"})


def load(ctx, paths: list[Path]) -> None:
    loaded = territory_codes(ctx.con, "qpv")
    done: dict[str, str] = {}
    for p in paths:
        (_load_annex if Path(p).suffix.lower() == ".xlsx" else _load_file)(ctx, Path(p), loaded, done)


def _zone(raw, path, where, field) -> str:
    text = _fold(raw).upper()
    if text in ZONES:
        return text
    for words, zone in LONG_NAMES.items():
        if words in _fold(raw):
            return zone
    raise InputError(path, where, field, "zone inconnue (attendu ZIP, ZAC, ZAR ou ZV)", raw)


def _load_annex(ctx, path: Path, loaded: set[str], done: dict[str, str]) -> None:
    import re

    found = _annex_rows(path)
    if not found:
        raise InputError(path, None, "Zonage", "en-tête introuvable : colonnes « Code QPV » et « Zonage » attendues")
    wb, sheet, header_row, (ci, zi), rows, title = found
    years = re.findall(r"(?<!\d)(20\d{2})(?!\d)", title)
    millesime = years[-1] if years else None
    sid = ctx.register_source(
        source_id_for(ctx, "ars_zonage_qpv_medecins", path), path,
        title="Zonage des quartiers prioritaires pour l'accès aux médecins généralistes (annexe de l'arrêté de l'ARS)",
        publisher="ARS", url=URL, licence=LICENCE, vintage=millesime, geography="QPV2024")
    try:
        zones: dict[str, tuple[str, str]] = {}
        for n, row in enumerate(rows, start=header_row + 1):
            if all(c is None or not str(c).strip() for c in row):
                continue
            where = f"feuille « {sheet} », ligne {n}"
            code = clean(row[ci] if ci < len(row) else None)
            if qpv_generation(code) is None:
                raise InputError(path, where, "Code QPV", "code QPV mal formé (attendu QN… ou QP…)", code)
            zone = _zone(row[zi] if zi < len(row) else None, path, where, "Zonage")
            if code in zones:
                raise InputError(path, where, "Code QPV", f"QPV en double (déjà {zones[code][1]})", code)
            zones[code] = (zone, where)
    finally:
        wb.close()
    _insert(ctx, path, zones, loaded, done, millesime, sid)


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
        title="Zonage des quartiers prioritaires pour l'accès aux médecins généralistes (ZIP, ZAC, ZAR, ZV)"
              + (f", d'après {act}" if act else ""),
        publisher="ARS", url=URL, licence=LICENCE, vintage=millesime, geography="QPV2024")
    zones: dict[str, tuple[str, str]] = {}   # QPV code -> (zone, where first seen)
    for com, entry in doc["communes"].items():
        where_c = f"communes.{com}"
        if not COMMUNE_RE.match(com):
            raise InputError(path, where_c, "code commune", "code commune mal formé (5 caractères attendus)", com)
        if not isinstance(entry, dict) or not isinstance(entry.get("qpv"), list):
            raise InputError(path, where_c, "qpv", "liste « qpv » absente")
        counts = dict.fromkeys(ZONES, 0)
        for k, q in enumerate(entry["qpv"], start=1):
            where = f"{where_c}.qpv[{k}]"
            if not isinstance(q, dict):
                raise InputError(path, where, None, "objet attendu")
            code = clean(q.get("id"))
            if qpv_generation(code) is None:
                raise InputError(path, where, "id", "code QPV mal formé (attendu QN… ou QP…, ex. QN09601M)", code)
            zone = _zone(q.get("z"), path, where, "z")
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
    for key, actual in [(f"n_{z.lower()}", totals[z]) for z in ZONES] + [("n_qpv", len(zones))]:
        given = _count(doc, key, path, None)
        if given is not None and given != actual:
            ctx.issue(path, None, key, given, "warning",
                      f"total annoncé ({given}) différent du nombre de QPV distincts du fichier ({actual})", sid)
    _insert(ctx, path, zones, loaded, done, millesime, sid)


def _insert(ctx, path, zones, loaded, done, millesime, sid) -> None:
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
