"""DREES APL (accessibilité potentielle localisée) to general practitioners, xlsx.

One sheet per year ("APL 2022", "APL 2023", "APL 2024"), title and note rows (8 in the
2022-2024 workbooks), then the header line, found by its content (the [[apl]] `code` and
`value` columns of etl/mappings.toml, compared regardless of case and repeated spaces), never by
its position: both the 65-or-under series ("de 65 ans ou moins" since 2022, "de moins de 65 ans"
before) and the all-doctors one ("APL aux médecins généralistes") are read. The row under the
header that gives units (no commune code, text in the value columns) and the "Total" row are
skipped. The year is the last 4-digit year of the sheet name, else of the title rows above the
header; the year described is declared per year in etl/catalogue.toml (DREES names each APL
after the year it measures). Sheets without that header (notes, method) are skipped.

Values go to level commune (or arrondissement for Paris/Lyon/Marseille codes when those
are loaded), indicators apl_medecins_generalistes and apl_mg_tous_ages, geography 'COG{year}'. An empty cell is
status 'missing' (DREES applies no statistical secret), value NULL. Codes of territories
not loaded are counted in one 'out_of_scope' issue per file. A malformed code, an
unreadable number or a duplicate code raises InputError naming file, sheet and row, field.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl

from ..errors import InputError
from ..readers import parse_fr_number
from . import _indicators as ind
from ._geo_common import COMMUNE_RE, LICENCE, out_of_scope_summary

SECTION = "apl"
PUBLISHER = "DREES"
URL = ("https://drees.solidarites-sante.gouv.fr/sources-outils-et-enquetes/"
       "lindicateur-daccessibilite-potentielle-localisee-apl")
SUFFIXES = (".xlsx", ".xlsm")
HEADER_SCAN_ROWS = 40
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")


def _norm(v) -> str:
    return " ".join(str(v).split()).casefold() if v is not None else ""


def _entries():
    return [(e["indicator"], _norm(e["code"]), _norm(e["value"]), e["code"], e["value"])
            for e in ind.mapping(SECTION)]


def _find_header(rows, entries):
    """(row index 1-based, {entry: (code column index, value column index)}, rows above) or None."""
    above = []
    for i, row in enumerate(rows, start=1):
        if i > HEADER_SCAN_ROWS:
            break
        cells = [_norm(c) for c in row]
        found = {}
        for e in entries:
            if e[1] in cells and e[2] in cells and not any(f[0] == e[0] for f in found):
                found[e] = (cells.index(e[1]), cells.index(e[2]))
        if found:
            return i, found, above
        above.extend(str(c) for c in row if c is not None)
    return None


def _open(path: Path):
    return openpyxl.load_workbook(path, read_only=True, data_only=True)


def detect(path: Path) -> bool:
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES or not zipfile.is_zipfile(path):
        return False
    try:
        wb = _open(path)
    except Exception:
        return False
    try:
        entries = _entries()
        return any(_find_header(ws.iter_rows(values_only=True), entries) for ws in wb.worksheets)
    except Exception:
        return False
    finally:
        wb.close()


def _code(raw, path, where, field) -> str | None:
    """A commune code cell as text; Excel may have turned '01001' into the number 1001."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise InputError(path, where, field, "code commune invalide", raw)
    if isinstance(raw, (int, float)):
        return f"{int(raw):05d}"
    return str(raw).strip()


def _text(c) -> str:
    return " ".join(str(c).split()).casefold() if c is not None else ""


def _is_total(row) -> bool:
    """The workbook's last row, "Total" in its code or name column: not a commune."""
    return any(_text(c) in ("total", "total france", "france entière", "france entiere") for c in row[:3])


def _is_units(row, cols) -> bool:
    """The row under the header that gives each column's unit: no commune code, no number."""
    for (_, _, _, _, _), (ci, vi) in cols.items():
        code = row[ci] if ci < len(row) else None
        value = row[vi] if vi < len(row) else None
        if isinstance(code, (int, float)) and not isinstance(code, bool):
            return False
        if isinstance(code, str) and COMMUNE_RE.match(code.strip()):
            return False
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return False
    return True


def _number(raw, path, where, field):
    if raw is None:
        return None, "missing"
    if isinstance(raw, bool):
        raise InputError(path, where, field, "nombre illisible", raw)
    if isinstance(raw, (int, float)):
        return float(raw), "ok"
    v, st = parse_fr_number(str(raw), path, where, field)
    return (v, "ok") if st == "ok" else (None, "missing")


def load(ctx, paths: list[Path]) -> None:
    ind.check_catalogue(ctx.con, SECTION)
    targets = {c: "commune" for c in ind.loaded_codes(ctx.con, "commune")}
    targets.update({c: "arrondissement" for c in ind.loaded_codes(ctx.con, "arrondissement")})
    seen: dict[tuple[str, int], str] = {}
    for path in sorted(paths):
        _load_file(ctx, path, targets, seen)


def _load_file(ctx, path: Path, targets: dict, seen: dict) -> None:
    if path.stat().st_size == 0:
        raise InputError(path, None, None, "le fichier est vide")
    try:
        wb = _open(path)
    except Exception as exc:
        raise InputError(path, None, None, f"classeur Excel illisible ({exc.__class__.__name__})") from None
    entries = _entries()
    values, outside, years = [], [], []
    source_id = f"drees_apl_{re.sub(r'[^a-z0-9]+', '_', path.stem.lower()).strip('_')}"
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            found = _find_header(rows, entries)
            if not found:
                continue
            header_row, cols, above = found
            sheet = f"feuille « {ws.title} »"
            years_found = YEAR_RE.findall(ws.title) or YEAR_RE.findall(" ".join(above))
            if not years_found:
                raise InputError(path, sheet, None, "année introuvable (ni dans le nom de la feuille, "
                                 "ni dans le titre au-dessus de l'en-tête)", ws.title)
            year = int(years_found[-1])
            years.append(year)
            for indicator, *_ in cols:
                if (indicator, year) in seen:
                    raise InputError(path, sheet, None,
                                     f"année {year} déjà chargée depuis {seen[indicator, year]}")
                seen[indicator, year] = f"{path.name}, {sheet}"
            lines_of: dict[tuple[str, str], int] = {}
            for n, row in enumerate(rows, start=header_row + 1):
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                    continue
                if _is_total(row) or (n == header_row + 1 and _is_units(row, cols)):
                    continue
                where = f"{sheet}, ligne {n}"
                for (indicator, _, _, code_name, value_name), (ci, vi) in cols.items():
                    raw_code = row[ci] if ci < len(row) else None
                    code = _code(raw_code, path, where, code_name)
                    if code is None or not COMMUNE_RE.match(code):
                        raise InputError(path, where, code_name,
                                         "code commune absent ou invalide (5 caractères attendus)", raw_code)
                    if (indicator, code) in lines_of:
                        raise InputError(path, where, code_name, "code en double (déjà présent ligne "
                                         f"{lines_of[indicator, code]})", code)
                    lines_of[indicator, code] = n
                    value, status = _number(row[vi] if vi < len(row) else None, path, where, value_name)
                    if code not in targets:
                        outside.append(code)
                        continue
                    values.append({"level": targets[code], "code": code, "indicator_id": indicator,
                                   "year": year, "ref_year": ind.reference_year(SECTION, year),
                                   "value": value, "status": status,
                                   "geography": f"COG{year}", "source_id": source_id})
    finally:
        wb.close()
    if not years:
        names = " / ".join(f"« {e[3]} » et « {e[4]} »" for e in entries)
        raise InputError(path, None, None, f"en-tête introuvable : aucune feuille ne contient les colonnes {names}")
    ctx.register_source(
        source_id, path,
        title="Accessibilité potentielle localisée (APL) aux médecins généralistes",
        publisher=PUBLISHER, url=URL, licence=LICENCE,
        vintage=", ".join(str(y) for y in sorted(set(years))), geography=f"COG{max(years)}",
        dataset="APL aux médecins généralistes " + ", ".join(str(y) for y in sorted(set(years))),
        ref_year_basis=ind.reference_year_basis(SECTION, max(years)))
    ind.insert_values(ctx, values)
    out_of_scope_summary(ctx, path, "Code commune INSEE", sorted(set(outside)), "codes de communes", source_id)
