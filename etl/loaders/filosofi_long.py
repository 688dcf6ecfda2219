"""INSEE Filosofi 2023 and later ("Filosofi 2"), in INSEE's long format: `DS_FILOSOFI_CC_YYYY_data.csv`
inside `FILOSOFI_CC_csv.zip`.

One row per (measure, territory): columns FILOSOFI_MEASURE, GEO, GEO_OBJECT, UNIT_MEASURE,
CONF_STATUS, OBS_STATUS, UNIT_MULT, TIME_PERIOD, OBS_VALUE (read by name, in any order), `;`,
values possibly quoted, `.` decimals. GEO_OBJECT says the level: COM, ARM, EPCI, DEP, REG,
FRANCE (GEO "FM": France métropolitaine); other zonings (ZE2020, UU2020, AAV2020...) are not
levels of the Atlas and are counted once in the load report. CONF_STATUS "C" is a secret figure,
OBS_STATUS "O" a missing one: status 'secret' / 'missing', value NULL, never 0. The year the
figures describe is the file's TIME_PERIOD (evidence in the file itself). Measures are mapped by
the [[filosofi_long]] entries of etl/mappings.toml.

INSEE warns that this series (new method) is not comparable with Filosofi 2012-2021: the source
title says so. Layout known from INSEE's documentation and public code, not yet checked on a
published file here.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..readers import parse_fr_number
from . import _indicators as ind
from ._geo_common import LICENCE, csv_header, out_of_scope_summary, source_id_for

SECTION = "filosofi_long"
COLUMNS = ("FILOSOFI_MEASURE", "GEO", "GEO_OBJECT", "CONF_STATUS", "OBS_STATUS", "TIME_PERIOD", "OBS_VALUE")
LEVELS = {"COM": "commune", "ARM": "arrondissement", "EPCI": "epci", "DEP": "departement", "REG": "region",
          "FRANCE": "france"}
URL = "https://www.insee.fr/fr/statistiques/8984752"


def detect(path: Path) -> bool:
    header = set(csv_header(path))
    return {"FILOSOFI_MEASURE", "GEO", "GEO_OBJECT", "OBS_VALUE"} <= header


def load(ctx, paths: list[Path]) -> None:
    ind.check_catalogue(ctx.con, SECTION)
    measures = {e["value"]: e["indicator"] for e in ind.mapping(SECTION)}
    loaded = {level: ind.loaded_codes(ctx.con, level) for level in set(LEVELS.values()) - {"france"}}
    for path in sorted(paths):
        _load_file(ctx, path, measures, loaded)


def _read(path: Path) -> pd.DataFrame:
    header = csv_header(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(path, 1, missing[0], "colonne obligatoire absente de l'en-tête (format long Filosofi)")
    try:
        df = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(path, None, None, "encodage invalide : le fichier n'est pas en UTF-8") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(path, None, None, f"fichier illisible ({exc})") from None
    df.columns = [c.strip().upper() for c in df.columns]
    df["LINE_NUMBER"] = range(2, len(df) + 2)
    return df


def _load_file(ctx, path: Path, measures: dict, loaded: dict) -> None:
    df = _read(path)
    df = df[df.FILOSOFI_MEASURE.isin(measures)]
    years = sorted({y.strip() for y in df.TIME_PERIOD if y.strip()})
    if len(years) != 1 or not years[0].isdigit():
        raise InputError(path, None, "TIME_PERIOD", "une seule année attendue dans le fichier", ", ".join(years[:5]))
    year = int(years[0])
    source_id = ctx.register_source(
        source_id_for(ctx, f"filosofi_{year}_cc", path), path,
        title=f"Filosofi {year} — revenus et pauvreté, format long (nouvelle méthode : non comparable aux "
              "millésimes 2012-2021)",
        publisher="INSEE", url=URL, licence=LICENCE, vintage=str(year), geography=f"COG{year}",
        dataset=f"Filosofi {year}", ref_year_basis=f"lue dans la colonne TIME_PERIOD du fichier ({year})")
    for m, indicator in measures.items():
        ctx.columns[(source_id, indicator)] = m
    rows, outside, other_levels, seen = [], [], set(), {}
    for r in df.itertuples(index=False):
        obj = r.GEO_OBJECT.strip().upper()
        level = LEVELS.get(obj)
        if level is None:
            other_levels.add(obj)
            continue
        code = r.GEO.strip()
        if level == "france":
            if code != "FM":
                continue
            code = ind.FRANCE_CODE
            ind.ensure_france(ctx, f"COG{year}", source_id)
        elif code not in loaded[level]:
            outside.append(code)
            continue
        key = (level, code, measures[r.FILOSOFI_MEASURE])
        if key in seen:
            raise InputError(path, r.LINE_NUMBER, "GEO", f"mesure en double pour ce territoire (déjà ligne {seen[key]})", code)
        seen[key] = r.LINE_NUMBER
        if r.CONF_STATUS.strip().upper() == "C":
            value, status = None, "secret"
        elif r.OBS_STATUS.strip().upper() == "O" or not r.OBS_VALUE.strip():
            value, status = None, "missing"
        else:
            value, status = parse_fr_number(r.OBS_VALUE, path, r.LINE_NUMBER, "OBS_VALUE")
        rows.append({"level": level, "code": code, "indicator_id": measures[r.FILOSOFI_MEASURE], "year": year,
                     "ref_year": year, "value": value, "status": status, "geography": f"COG{year}",
                     "source_id": source_id})
    ind.insert_values(ctx, rows)
    out_of_scope_summary(ctx, path, "GEO", sorted(set(outside)), "territoires non chargés", source_id)
    if other_levels:
        ctx.issue(path, None, "GEO_OBJECT", ", ".join(sorted(other_levels)), "out_of_scope",
                  "zonages sans équivalent dans l'atlas : ignorés", source_id)
