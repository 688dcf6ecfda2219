"""INSEE Filosofi reference values: FILO{YYYY}_DISP_{LEVEL}.csv and FILO{YYYY}_DISP_PAUVRES_{LEVEL}.csv
(.xlsx too: from 2021 INSEE ships the supra-communal levels as workbooks, read from the row that
holds CODGEO; from 2020 the commune files keep PACT but no other income share).

LEVEL is COM, EPCI, DEP, REG or METROPOLE (file names matched regardless of case, so
INSEE's `FILO2019_DISP_Pauvres_COM.csv` is accepted). Layout: `;`-separated, UTF-8 (BOM
or not), French numbers, key CODGEO, columns suffixed with the two-digit vintage (Q219,
PPSOC19, TP6019...). The [[filosofi]] entries of etl/mappings.toml map them to the
catalogue, "{yy}" standing for that suffix; `file` is DISP or DISP_PAUVRES.

Values go to level commune / epci / departement / region, and 'france' code 'FRM' for
METROPOLE (the territory row "France métropolitaine" is created if absent), year = the
vintage, geography 'COG{YYYY}'. Only territories already loaded are kept; the commune
file also holds the municipal arrondissements of Paris, Lyon and Marseille, which go to
level 'arrondissement' when those are loaded. Other rows are counted in one
'out_of_scope' issue per file. An empty cell is a secret figure: status 'secret', value
NULL. Numbers are parsed (and checked) only on the rows kept.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from . import _indicators as ind
from ._geo_common import COMMUNE_RE, DEP_RE, LICENCE, REG_RE, SIREN_RE, out_of_scope_summary

SECTION = "filosofi"
PUBLISHER = "INSEE"
NAME_RE = re.compile(r"FILO(\d{4})_(DISP(?:_PAUVRES)?)_(COM|EPCI|DEP|REG|METROPOLE)\.(?:csv|xlsx)", re.IGNORECASE)
FRANCE_CODE = ind.FRANCE_CODE
# level, code pattern, label, what the out-of-scope summary counts
LEVELS = {
    "COM": ("commune", COMMUNE_RE, "communes", "codes de communes"),
    "EPCI": ("epci", SIREN_RE, "EPCI", "codes d'EPCI"),
    "DEP": ("departement", DEP_RE, "départements", "codes de départements"),
    "REG": ("region", REG_RE, "régions", "codes de régions"),
    "METROPOLE": ("france", None, "France métropolitaine", ""),
}
# Dataset pages of "Revenus, pauvreté et niveau de vie — données locales" by vintage.
URLS = {
    2017: "https://www.insee.fr/fr/statistiques/4507225",
    2018: "https://www.insee.fr/fr/statistiques/5009218",
    2019: "https://www.insee.fr/fr/statistiques/6036907",
    2020: "https://www.insee.fr/fr/statistiques/6692220",
    2021: "https://www.insee.fr/fr/statistiques/7756855",
}
SERIES_URL = "https://www.insee.fr/fr/metadonnees/source/serie/s1172"


def _parse_name(path: Path):
    m = NAME_RE.fullmatch(path.name)
    if not m:
        return None
    return int(m.group(1)), m.group(2).upper(), m.group(3).upper()


def detect(path: Path) -> bool:
    return _parse_name(Path(path)) is not None


def load(ctx, paths: list[Path]) -> None:
    ind.load_files(ctx, paths, SECTION, _parse_name, _load_file, "même fichier Filosofi")


def _load_file(ctx, path: Path, year: int, kind: str, lvl: str) -> None:
    level, code_re, label, counted = LEVELS[lvl]
    table, rules = ind.read_mapped(path, SECTION, f"Filosofi {year}", {"yy": f"{year % 100:02d}"}, file=kind)
    theme = "taux de pauvreté" if kind == "DISP_PAUVRES" else "revenu disponible"
    source_id = ctx.register_source(
        f"filosofi_{year}_{kind.lower()}_{lvl.lower()}", path,
        title=f"Filosofi {year} — {theme}, {label}", publisher=PUBLISHER,
        url=URLS.get(year, SERIES_URL), licence=LICENCE, vintage=str(year),
        geography=f"COG{year}", dataset=f"Filosofi {year}",
        ref_year_basis=ind.reference_year_basis(SECTION, year))
    geography = f"COG{year}"
    if level == "france":
        targets = {}
        ind.ensure_france(ctx, geography, source_id)
    else:
        targets = {c: level for c in ind.loaded_codes(ctx.con, level)}
        if level == "commune":
            targets.update({c: "arrondissement" for c in ind.loaded_codes(ctx.con, "arrondissement")})
    ref_year = ind.reference_year(SECTION, year)
    lines_of: dict[str, int] = {}
    outside: list[str] = []
    values: list[dict] = []
    for line, rec in table.records():
        code = rec["CODGEO"]
        if level == "france":
            if lines_of:
                raise InputError(path, line, "CODGEO", "une seule ligne attendue pour la France "
                                 "métropolitaine", code)
            lines_of[code] = line
            target, code = "france", FRANCE_CODE
        else:
            if not code_re.match(code):
                raise InputError(path, line, "CODGEO", f"code invalide pour le niveau {label}", code)
            if code in lines_of:
                raise InputError(path, line, "CODGEO",
                                 f"code en double (déjà présent ligne {lines_of[code]})", code)
            lines_of[code] = line
            target = targets.get(code)
            if target is None:
                outside.append(code)
                continue
        for rule in rules:
            value, num, den, status = ind.evaluate(rule, rec, path, line)
            values.append({"level": target, "code": code, "indicator_id": rule.indicator, "year": year,
                           "ref_year": ref_year,
                           "value": value, "numerator": num, "denominator": den, "status": status,
                           "geography": geography, "source_id": source_id})
    ind.insert_values(ctx, values)
    out_of_scope_summary(ctx, path, "CODGEO", outside, counted, source_id)
