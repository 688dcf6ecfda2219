"""INSEE census communal bases: base-cc-{emploi-pop-active|coupl-fam-men|evol-struct-pop|diplomes-formation|
logement}-YYYY.csv (upper-case .CSV in INSEE's zips since 2022; Latin-1 or UTF-8).

The official layout (the CSV inside INSEE's zip): `;`-separated, key CODGEO (commune, and
municipal arrondissement for Paris, Lyon and Marseille), counts in columns prefixed with the
two-digit vintage (P19_POP1564, P19_ACTOCC1564, C19_MENPSEUL...), decimals with a point (the
census counts are weighted estimates). The [[census]] entries of etl/mappings.toml map them to
catalogue indicators, each a ratio of sums of counts.

References are built by summing counts, never by averaging rates: for an indicator,
EPCI, département and région get sum(numerator) / sum(denominator) over their communes, and
France métropolitaine (code FRM) over every commune of the 96 metropolitan départements. The
file covers all France, so communes outside the loaded territory still count in the France
figure. An aggregate is built only when it is complete: every loaded commune of the EPCI,
département or région is in the file with its counts, and for France, every metropolitan
département is present (a regional extract gives no France figure); otherwise it is reported
and left out. Arrondissement rows are left out of the sums when the whole-city row is there.

Values: level commune / arrondissement (loaded ones), epci, departement, region, france; year =
the vintage; the year described is declared in etl/catalogue.toml ([[reference_year]],
section "census"); geography 'RP{YYYY}' (the geography of that census base). An empty cell
is status 'missing' (census counts are not secret). Malformed code, duplicate code,
unreadable number: InputError naming file, line and field.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from ..errors import InputError
from . import _indicators as ind
from ._geo_common import COMMUNE_RE, LICENCE, out_of_scope_summary

SECTION = "census"
PUBLISHER = "INSEE"
URL = "https://www.insee.fr/"    # each base has its own page; the download catalogue names the files
NAME_RE = re.compile(r"base-cc-(emploi-pop-active|coupl-fam-men|evol-struct-pop|diplomes-formation|logement)"
                     r"-(\d{4})\.csv", re.IGNORECASE)
BASE_LABELS = {"emploi-pop-active": "emploi et population active",
               "coupl-fam-men": "couples, familles, ménages",
               "evol-struct-pop": "évolution et structure de la population",
               "diplomes-formation": "diplômes et formation",
               "logement": "logement"}
ARRONDISSEMENT_RE = re.compile(r"^(751(0[1-9]|1[0-9]|20)|6938[1-9]|132(0[1-9]|1[0-6]))$")
CITY_OF_ARRONDISSEMENT = {"75": "75056", "69": "69123", "13": "13055"}
METROPOLITAN_DEPS = frozenset([f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B"])


def _parse_name(path: Path):
    m = NAME_RE.fullmatch(Path(path).name)
    return (m.group(1).lower(), int(m.group(2))) if m else None


def detect(path: Path) -> bool:
    return _parse_name(path) is not None


def departement_of(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


def load(ctx, paths: list[Path]) -> None:
    ind.load_files(ctx, paths, SECTION, _parse_name, _load_file, "même base du recensement")


def _parents(con) -> tuple[dict, dict, set, set]:
    """(loaded commune -> (epci, departement)), (département -> région), loaded EPCI, loaded régions."""
    communes = {c: (e, d) for c, e, d in con.execute(
        "SELECT code, epci, departement FROM territory WHERE level = 'commune'").fetchall()}
    dep_region = dict(con.execute("SELECT code, region FROM territory WHERE level = 'departement'").fetchall())
    epcis = ind.loaded_codes(con, "epci")
    regions = ind.loaded_codes(con, "region")
    return communes, dep_region, epcis, regions


def _load_file(ctx, path: Path, base: str, year: int) -> None:
    # INSEE's communal bases are not always UTF-8 (public scripts read them as Latin-1): Windows-1252
    # is accepted for this layout, a file mixing encodings still refused
    table, rules = ind.read_mapped(path, SECTION, f"la base {base} {year}", {"yy": f"{year % 100:02d}"},
                                   allow_cp1252=True, base=base)
    geography = f"RP{year}"
    source_id = ctx.register_source(
        f"insee_rp{year}_{base.replace('-', '_')}", path,
        title=f"Recensement de la population {year} — base communale « {BASE_LABELS[base]} »",
        publisher=PUBLISHER, url=URL, licence=LICENCE, vintage=str(year), geography=geography,
        dataset=f"Recensement {year}", ref_year_basis=ind.reference_year_basis(SECTION, year))
    ref_year = ind.reference_year(SECTION, year)
    communes, dep_region, epcis, regions = _parents(ctx.con)
    arrondissements = ind.loaded_codes(ctx.con, "arrondissement")
    records, lines_of = [], {}
    for line, rec in table.records():
        code = rec["CODGEO"]
        if not COMMUNE_RE.match(code):
            raise InputError(path, line, "CODGEO", "code de commune invalide (5 caractères attendus)", code)
        if code in lines_of:
            raise InputError(path, line, "CODGEO", f"code en double (déjà présent ligne {lines_of[code]})", code)
        lines_of[code] = line
        records.append((line, code, {r.indicator: ind.evaluate(r, rec, path, line, empty_status="missing")
                                     for r in rules}))
    values, outside = [], []
    sums: dict[tuple, list] = defaultdict(lambda: [0.0, 0.0, True])   # (indicator, level, code) -> num, den, ok
    deps_in_file = set()
    for line, code, evaluated in records:
        is_arm = bool(ARRONDISSEMENT_RE.match(code))
        target = "arrondissement" if is_arm and code in arrondissements else \
            "commune" if not is_arm and code in communes else None
        if target is None and not is_arm:
            outside.append(code)
        in_sums = not is_arm or CITY_OF_ARRONDISSEMENT.get(code[:2]) not in lines_of
        dep = departement_of(code)
        deps_in_file.add(dep)
        epci = communes.get(code, (None, None))[0]
        keys = [("departement", dep), ("region", dep_region.get(dep)), ("epci", epci),
                ("france", "FRM" if dep in METROPOLITAN_DEPS else None)]
        for indicator, (value, num, den, status) in evaluated.items():
            if target:
                values.append({"level": target, "code": code, "indicator_id": indicator, "year": year,
                               "ref_year": ref_year, "value": value, "numerator": num, "denominator": den,
                               "status": status, "geography": geography, "source_id": source_id})
            if not in_sums:
                continue
            for key in keys:
                if key[1] is None:
                    continue
                acc = sums[(indicator, *key)]
                if status == "ok" or (num is not None and den is not None):
                    acc[0] += num
                    acc[1] += den
                else:
                    acc[2] = False
    wanted = _complete_aggregates(ctx, path, source_id, communes, dep_region, epcis, regions, lines_of,
                                  deps_in_file)
    rule_of = {r.indicator: r for r in rules}
    for (indicator, level, code), (num, den, ok) in sorted(sums.items()):
        if (level, code) not in wanted:
            continue
        status = "ok" if ok and den else "missing"
        values.append({"level": level, "code": code, "indicator_id": indicator, "year": year, "ref_year": ref_year,
                       "value": num / den * rule_of[indicator].scale if status == "ok" else None,
                       "numerator": num, "denominator": den, "status": status, "geography": geography,
                       "source_id": source_id})
    if wanted & {("france", "FRM")}:
        ind.ensure_france(ctx, geography, source_id)
    ind.insert_values(ctx, values)
    out_of_scope_summary(ctx, path, "CODGEO", outside,
                         "communes hors du territoire chargé (comptées seulement dans la référence France "
                         "métropolitaine)", source_id)


def _complete_aggregates(ctx, path, source_id, communes, dep_region, epcis, regions, lines_of,
                         deps_in_file) -> set[tuple[str, str]]:
    """The loaded EPCI, départements and régions all of whose loaded communes are in the file,
    and France métropolitaine when every metropolitan département is; the others are reported."""
    members: dict[tuple, list] = defaultdict(list)
    for code, (epci, dep) in communes.items():
        dep = dep or departement_of(code)
        for key in (("epci", epci), ("departement", dep), ("region", dep_region.get(dep))):
            if key[1] is not None:
                members[key].append(code)
    loaded = {("epci", c) for c in epcis} | {("region", c) for c in regions} | \
        {("departement", c) for c in dep_region}
    out = set()
    for key in sorted(loaded):
        missing = [c for c in members.get(key, []) if c not in lines_of]
        if members.get(key) and not missing:
            out.add(key)
        elif missing:
            ctx.issue(path, None, "CODGEO", f"{key[0]} {key[1]}", "warning",
                      f"{len(missing)} commune(s) chargée(s) de ce territoire absente(s) du fichier "
                      f"({', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}) : pas de référence "
                      "calculée pour lui (une somme incomplète serait fausse)", source_id)
    if METROPOLITAN_DEPS <= deps_in_file:
        out.add(("france", "FRM"))
    else:
        ctx.issue(path, None, "CODGEO", "France métropolitaine", "warning",
                  f"fichier partiel ({len(METROPOLITAN_DEPS - deps_in_file)} départements métropolitains "
                  "absents) : pas de référence France métropolitaine calculée", source_id)
    return out
