"""INSEE's data on the QPVs of the 2024 geography ("Données sur les quartiers 2024 de la politique de
la ville", insee.fr/fr/statistiques/8186144), one family of files per producer:

- CNAM beneficiaries (`data_CNAM{YYYY}_QP.csv`, `data_CNAM{YYYY}_COM.csv`: C, C_C2SNP, C_C2SP),
- CAF recipients (`data_CAF{YYYY}_QP.csv`, `_COM.csv`: A, ARSAS, AM...),
- jobseekers (`data_DEFM{YYYY}_QP.csv`, `_COM.csv`: ABC...),
- population (`pop_QPV24.csv`, and `pop_reference_communales_QPV24.csv` for the communes).

`_QP` files are keyed by 2024 QPV codes (QN...): their figures are exact for the 2024 perimeter,
with no correspondence and no "périmètre 2015" caveat. `_COM` files (and the communal population
file) are the references INSEE ships in the same release, loaded at level commune with the same
year. An "Ensemble" or "00" row is the all-QPV reference. Columns are mapped by the
[[insee_qpv24]] entries of etl/mappings.toml (by `family`), headers compared upper-cased; `;`-separated,
UTF-8, key CODGEO (or codeQPV: the population file is also seen with camel-case headers, codeQPV,
popMuniQPV, and is then recognised by them), French numbers (U+202F thousands, `,` decimals), empty =
secret.

The year described is declared per family and vintage in etl/catalogue.toml with INSEE's page
(CNAM: 1 January; CAF: 31 December; population: the 2020 census); the vintage of the CNAM, CAF and
jobseekers files is the year in their name (diffusion vintage, never taken as the year described),
the population release is the one published in 2024.

LAYOUT: the CNAM communal file's name and columns were read in public code that loads it; the other
members and columns follow the 2015-geography releases and INSEE's documentation. None was checked
on a published file here: the sources and the load report say so (LAYOUT_NOTE).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from . import _indicators as ind
from ._geo_common import (COMMUNE_RE, LICENCE, QPV2024_RE, csv_header, out_of_scope_summary, read_csv_located,
                          source_id_for)
from ._qpv_tables import ensure_ensemble, is_ensemble

SECTION = "insee_qpv24"
NAME_RE = re.compile(r"data_(CNAM|CAF|DEFM)(\d{4})_(QP|COM)\.csv", re.IGNORECASE)
POP_RE = re.compile(r"pop_(QPV24|reference_communales_QPV24)\.csv", re.IGNORECASE)
POP_VINTAGE = 2024        # the population release on the 2024 geography (published 28 August 2024)
LABELS = {"CNAM": "bénéficiaires de l'Assurance maladie et de la Complémentaire santé solidaire",
          "CAF": "allocataires des caisses d'allocations familiales",
          "DEFM": "demandeurs d'emploi inscrits à France Travail",
          "POP": "population"}
PAGES = {"CNAM": "https://www.insee.fr/fr/statistiques/8736902", "CAF": "https://www.insee.fr/fr/statistiques/8682381",
         "DEFM": "https://www.insee.fr/fr/statistiques/8644871", "POP": "https://www.insee.fr/fr/statistiques/8210600"}
LAYOUT_NOTE = "mise en page d'après la documentation de l'INSEE, pas encore vérifiée sur un fichier publié"


# The population file of the 2024 QPVs is also seen, in public code that loads it, with camel-case
# headers (codeQPV, libQPV, popMuniQPV, listeDepCom...): recognised by those headers, whatever its name.
POP_QP_HEADER = {"CODEQPV", "POPMUNIQPV"}
KEYS = ("CODGEO", "CODEQPV")


def _parse_name(path: Path):
    """(family, vintage, 'QP' | 'COM') from an official member name (or the population file's
    header), or None."""
    name = Path(path).name
    m = NAME_RE.fullmatch(name)
    if m:
        return m.group(1).upper(), int(m.group(2)), m.group(3).upper()
    m = POP_RE.fullmatch(name)
    if m:
        return "POP", POP_VINTAGE, "QP" if m.group(1).upper() == "QPV24" else "COM"
    if Path(path).suffix.lower() == ".csv" and POP_QP_HEADER <= {h.upper() for h in csv_header(path)}:
        return "POP", POP_VINTAGE, "QP"
    return None


def detect(path: Path) -> bool:
    return _parse_name(path) is not None


def load(ctx, paths: list[Path]) -> None:
    ind.load_files(ctx, paths, SECTION, _parse_name, _load_file, "même fichier des données QPV 2024")


def _load_file(ctx, path: Path, family: str, vintage: int, kind: str) -> None:
    table = read_csv_located(path)
    named = {h.upper(): h for h in table.header}              # the file's own names, for messages
    table.header = [h.upper() for h in table.header]          # CODGEO or codeQPV, POP_MUN or popMuniQPV
    key = next((k for k in KEYS if k in table.header), None)
    field = named.get(key)
    if key is None:
        raise InputError(path, 1, "CODGEO", "colonne des codes absente (CODGEO ou codeQPV attendue)")
    rules = ind.rules(SECTION, table.header, family=family)
    if not rules:
        raise InputError(path, 1, None, f"aucune colonne d'indicateur reconnue pour les données {family} de "
                         "l'INSEE (voir etl/mappings.toml)")
    level = "qpv" if kind == "QP" else "commune"
    where = "quartiers prioritaires 2024" if level == "qpv" else "communes (références)"
    ref_year = ind.reference_year(SECTION, vintage, family)
    source_id = ctx.register_source(
        source_id_for(ctx, f"insee_qpv24_{family.lower()}_{vintage}_{kind.lower()}", path), path,
        title=f"Données des quartiers 2024 — {LABELS[family]}, {where} ({LAYOUT_NOTE})",
        publisher="INSEE", url=PAGES[family], licence=LICENCE, vintage=str(vintage),
        geography="QPV2024" if level == "qpv" else f"COG{vintage}",
        dataset=f"{family} {vintage} (QPV 2024)", ref_year_basis=ind.reference_year_basis(SECTION, vintage, family))
    ctx.issue(path, None, None, None, "warning", f"{LAYOUT_NOTE} : signalez tout écart", source_id)
    for rule in rules:
        ctx.columns[(source_id, rule.indicator)] = rule.describe()
    loaded = ind.loaded_codes(ctx.con, level)
    code_re = QPV2024_RE if level == "qpv" else COMMUNE_RE
    lines_of: dict[str, int] = {}
    outside, values = [], []
    for line, rec in table.records():
        code = rec[key]
        target_level, target = level, code
        if is_ensemble(code):
            target_level, target = ensure_ensemble(ctx, "QPV2024", source_id)
        elif not code_re.match(code):
            raise InputError(path, line, field, "code invalide : attendu un code de QPV 2024 (QN…)" if level == "qpv"
                             else "code invalide : attendu un code commune (5 caractères)", code)
        if target in lines_of:
            raise InputError(path, line, field, f"code en double (déjà présent ligne {lines_of[target]})", code)
        lines_of[target] = line
        if target_level == level and code not in loaded:
            outside.append(code)
            continue
        empty = "missing" if target_level == "ensemble_qpv" else "secret"
        for rule in rules:
            value, num, den, status = ind.evaluate(rule, rec, path, line, empty)
            values.append({"level": target_level, "code": target, "indicator_id": rule.indicator, "year": vintage,
                           "ref_year": ref_year, "value": value, "numerator": num, "denominator": den,
                           "status": status, "geography": "QPV2024" if target_level != "commune" else f"COG{vintage}",
                           "source_id": source_id})
    ind.insert_values(ctx, values)
    out_of_scope_summary(ctx, path, field, outside, "codes hors du territoire chargé", source_id)
