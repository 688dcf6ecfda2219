"""Shared machinery of the indicator loaders (onpv, filosofi, apl).

- `rules(section, header, ...)`: the declarative mapping of etl/mappings.toml resolved
  against one file's header (for each indicator, the first entry whose columns all exist);
- `evaluate(rule, record, ...)`: one mapped indicator on one row, as
  (value, numerator, denominator, status), an empty or secret cell giving status
  'secret' and a NULL value, never 0;
- `insert_values`, `loaded_codes`: the indicator_value table and the territories loaded.
CSV reading, code formats and the per-file 'out_of_scope' summary come from
`_geo_common` (shared with the geography loaders).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from data.provenance import period_of

from ..errors import InputError
from ..readers import parse_fr_number, read_xlsx_table

MAPPINGS_FILE = Path(__file__).resolve().parent.parent / "mappings.toml"

VALUE_COLUMNS = ["level", "code", "indicator_id", "year", "value", "numerator", "denominator",
                 "status", "geography", "perimeter", "derived_from", "source_id", "ref_year", "same_as", "period"]


@dataclass(frozen=True)
class Rule:
    """One resolved mapping entry: either `value` (a column) or sum(numerator)/sum(denominator)*scale."""
    indicator: str
    value: str | None = None
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    scale: float = 1.0
    note: str | None = None     # the file's NOTE_* column telling why a figure is absent (ONPV)

    @property
    def columns(self) -> tuple[str, ...]:
        return ((self.value,) if self.value else ()) + self.numerator + self.denominator

    def describe(self) -> str:
        """The columns read, as a reader of the file would name them: "TP60", "ARSAS / A"."""
        if self.value:
            return self.value
        return f"{' + '.join(self.numerator)} / {' + '.join(self.denominator)}"


@lru_cache(maxsize=None)
def mapping(section: str) -> tuple[dict, ...]:
    """Entries of one section ([[onpv]], [[filosofi]], [[apl]]) of etl/mappings.toml, checked."""
    data = tomllib.loads(MAPPINGS_FILE.read_text(encoding="utf-8"))
    entries = tuple(data.get(section, ()))
    for i, e in enumerate(entries, start=1):
        where = f"[[{section}]] n° {i}"
        if "indicator" not in e:
            raise InputError(MAPPINGS_FILE, where, "indicator", "entrée sans indicateur")
        has_value = "value" in e
        has_ratio = "numerator" in e or "denominator" in e
        if has_value == has_ratio or (has_ratio and not (e.get("numerator") and e.get("denominator"))):
            raise InputError(MAPPINGS_FILE, where, "value",
                             "une entrée donne soit `value`, soit `numerator` et `denominator`",
                             e["indicator"])
    return entries


@lru_cache(maxsize=None)
def _reference_years() -> dict[tuple, int]:
    from ..config import CATALOGUE_FILE

    data = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    out = {}
    for i, e in enumerate(data.get("reference_year", ()), start=1):
        where = f"[[reference_year]] n° {i}"
        for key in ("section", "vintage", "ref_year", "documentation"):
            if not e.get(key):
                raise InputError(CATALOGUE_FILE, where, key, "champ obligatoire (l'année décrite se déclare "
                                 "avec la documentation du producteur qui la donne)")
        out[(e["section"], str(e.get("family", "")).upper(), int(e["vintage"]))] = (
            int(e["ref_year"]), str(e["documentation"]))
    return out


def reference_year(section: str, vintage: int, family: str = "") -> int | None:
    """The year the figures of a table describe, as declared in etl/catalogue.toml with the
    producer's documentation; None (unknown) when nothing is declared: never the file's year."""
    found = _reference_years().get((section, family.upper(), int(vintage)))
    return None if found is None else found[0]


def reference_year_basis(section: str, vintage: int, family: str = "") -> str | None:
    """How that year is known (source.ref_year_basis): the documentation the catalogue cites."""
    found = _reference_years().get((section, family.upper(), int(vintage)))
    return None if found is None else f"documentation du producteur : {found[1]}"


def load_files(ctx, paths, section: str, parse_name, load_file, same: str) -> None:
    """Load each file once, in the order of its parsed name (`parse_name(path)`, a tuple passed on
    to `load_file(ctx, path, *key)`); two files with the same key are an error (`same` says what
    they share, e.g. "même fichier Filosofi")."""
    check_catalogue(ctx.con, section)
    seen: dict[tuple, Path] = {}
    for path in sorted(paths, key=lambda p: (parse_name(p), p.name)):
        key = parse_name(path)
        if key in seen:
            raise InputError(path, None, None, f"{same} que {seen[key].name}")
        seen[key] = path
        load_file(ctx, path, *key)


def read_mapped(path: Path, section: str, what: str, subst: dict | None = None, allow_cp1252: bool = False,
                **where: str):
    """(table, rules) of a `;` table keyed by CODGEO whose columns the `section` mapping reads;
    InputError naming the file when none of its columns is mapped (`what` names the table).
    `allow_cp1252`: the layout is published in Latin-1 / Windows-1252 (read_csv_located)."""
    from ._geo_common import read_csv_located

    if Path(path).suffix.lower() in (".xlsx", ".xlsm"):
        table = read_xlsx_table(path, "CODGEO")
    else:
        table = read_csv_located(path, allow_cp1252=allow_cp1252)
    table.require("CODGEO")
    found = rules(section, table.header, subst, **where)
    if not found:
        raise InputError(path, 1, None, f"aucune colonne d'indicateur reconnue pour {what} (voir etl/mappings.toml)")
    return table, found


def check_catalogue(con, section: str) -> None:
    """Every indicator named by the mapping must exist in the catalogue (table indicator)."""
    known = {r[0] for r in con.execute("SELECT indicator_id FROM indicator").fetchall()}
    for i, e in enumerate(mapping(section), start=1):
        if e["indicator"] not in known:
            raise InputError(MAPPINGS_FILE, f"[[{section}]] n° {i}", "indicator",
                             "indicateur absent du catalogue (etl/catalogue.toml)", e["indicator"])


def rules(section: str, header: list[str], subst: dict[str, str] | None = None,
          **where: str) -> list[Rule]:
    """For each indicator of `section` (entries filtered by the `where` key/values, case
    ignored), the first entry whose columns all exist in `header`. "{yy}"-style
    placeholders in column names are filled from `subst`."""
    subst = subst or {}
    cols = set(header)
    chosen: dict[str, Rule] = {}
    for e in mapping(section):
        if e["indicator"] in chosen or any(str(e.get(k, "")).upper() != v.upper() for k, v in where.items()):
            continue

        def fill(c: str) -> str:
            return c.format(**subst)

        rule = Rule(
            indicator=e["indicator"],
            value=fill(e["value"]) if "value" in e else None,
            numerator=tuple(fill(c) for c in e.get("numerator", ())),
            denominator=tuple(fill(c) for c in e.get("denominator", ())),
            scale=float(e.get("scale", 1)),
            note=e["note"] if e.get("note") in cols else None,
        )
        if all(c in cols for c in rule.columns):
            chosen[rule.indicator] = rule
    return list(chosen.values())


def _sum(cols, rec, path, line, empty_status):
    total, status = 0.0, "ok"
    for c in cols:
        v, st = parse_fr_number(rec.get(c), path, line, c)
        if st != "ok":
            status = empty_status
        else:
            total += v
    return (total if status == "ok" else None), status


def evaluate(rule: Rule, rec: dict, path: Path, line: int | str,
             empty_status: str = "secret") -> tuple[float | None, float | None, float | None, str]:
    """(value, numerator, denominator, status) of one mapped indicator on one row.

    An empty or secret-marked cell in any column used gives `empty_status` and a NULL
    value, except where the rule's NOTE_* column is filled with a code other than 0: the
    producer then says the figure is not available (source not covering the area...), which
    is status 'missing', not a secret. A ratio whose denominator is 0 cannot be computed:
    status 'missing'."""
    if rule.note and str(rec.get(rule.note) or "").strip() not in ("", "0"):
        empty_status = "missing"
    if rule.value:
        v, st = parse_fr_number(rec.get(rule.value), path, line, rule.value)
        return (v, None, None, "ok") if st == "ok" else (None, None, None, empty_status)
    num, st_n = _sum(rule.numerator, rec, path, line, empty_status)
    den, st_d = _sum(rule.denominator, rec, path, line, empty_status)
    if st_n != "ok" or st_d != "ok":
        return None, num, den, empty_status
    if den == 0:
        return None, num, den, "missing"
    return num / den * rule.scale, num, den, "ok"


FRANCE_CODE = "FRM"
FRANCE_NAME = "France métropolitaine"


def ensure_france(ctx, geography: str, source_id: str) -> None:
    """The 'france' territory FRM (France métropolitaine) that reference loaders attach values to."""
    if not ctx.con.execute("SELECT count(*) FROM territory WHERE level = 'france' AND code = ?",
                           [FRANCE_CODE]).fetchone()[0]:
        ctx.con.execute("INSERT INTO territory (level, code, name, generation, source_id) "
                        "VALUES ('france', ?, ?, ?, ?)", [FRANCE_CODE, FRANCE_NAME, geography, source_id])


def loaded_codes(con, level: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT code FROM territory WHERE level = ?", [level]).fetchall()}


def insert_values(ctx, rows: list[dict]) -> int:
    if not rows:
        return 0
    df = pd.DataFrame(rows)
    for c in VALUE_COLUMNS:
        if c not in df:
            df[c] = None
    df["perimeter"] = df["perimeter"].fillna("exact")
    for c in ("ref_year", "same_as"):
        df[c] = pd.array(df[c], dtype="Int64")
    df["period"] = [period_of(y, r) for y, r in zip(df["year"], df["ref_year"])]
    return ctx.insert_df("indicator_value", df[VALUE_COLUMNS])
