"""ONPV / sig.ville "données QPV" tables (2015 QPV geography): REVN, DEMO, IPRO.

Files are named FAMILY_YYYY.csv (REVN_2022.csv, demo_2019.csv...), FAMILY being any
`family` of the [[onpv]] entries of etl/mappings.toml; YYYY is the vintage of the file
name. It is recorded as the year of the values and as the source vintage, and the source
title says it is the diffusion vintage (the reference year of the data may be earlier).
Layout: `;`-separated, UTF-8 with BOM, French numbers, key CODGEO (2015 QPV code), name
LIBGEO, trailing empty columns; read with etl.readers.read_table. Columns are mapped to
catalogue indicators by the [[onpv]] entries of etl/mappings.toml (first entry whose
columns exist), which absorbs the changes between vintages (CCMUC / CC2S / C_C2SNP+C_C2SP,
TX_TOT_EPREC / TX_TOT_EDLIM...).

Rows:
- "Ensemble" (all QPVs of France together) goes to the reference territory "Ensemble des QPV
  (France)" (etl/loaders/_qpv_tables.py), the figure INSEE, ONPV and SIG Ville put beside each QPV;
- an empty cell is a secret or missing figure: status 'secret', value NULL (never 0);
- a ratio stores its numerator and denominator; a zero denominator gives 'missing';
- a QPV 2015 is kept when it is a loaded territory (2015 contours) or a predecessor, in
  the loaded correspondence, of a loaded 2024 QPV (a minimal territory row is then created:
  _qpv_tables.QpvScope). Other rows (the files cover all France) are counted in one
  'out_of_scope' issue per file.
- malformed code, duplicate code, unreadable number, missing CODGEO, non-UTF-8 file,
  empty file: InputError naming file, line and field.

The files carry no year described: a column keeps "millésime de diffusion N" unless its figures
are those of a file that dates them (Filosofi on the QPV: etl/loaders/_dating.py, run first in
finalize()).

finalize() carries the values to the loaded 2024 QPVs through qpv_correspondence:
- 'inchange' (one predecessor) and a code ending in I: copied, perimeter 'exact',
  derived_from = 2015 code (data.lineage.unchanged: both sources must agree);
- 'modifie' with exactly one predecessor, or 'inchange' whose code's letter says otherwise
  (QN01325M): copied, perimeter 'perimetre_2015', and one 'warning' issue for the conflict;
- 'modifie' with several predecessors: not carried (figures of several 2015 areas cannot
  be combined into the new perimeter without the microdata); one 'unlinked' issue per QPV;
- 'nouveau' (and overseas 'commune'): no predecessor, absent; one summary issue.
Carried rows (ONPV and Filosofi-on-QPV values on 2015 codes alike) keep geography 'QPV2015',
their source and period. A value already present for the 2024 QPV and period (from a file on
the 2024 geography) is never overwritten.

Population: territory.population is filled, when still NULL, from the latest 'ok' value
of indicator 'population' on an exact perimeter: 2015 QPV rows and 2024 QPVs 'inchange'.
A 2024 QPV 'modifie' keeps a NULL population: the 2015 figure describes another
perimeter; it stays available as the indicator value flagged 'perimetre_2015'.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from data.lineage import status_conflict, unchanged

from ..errors import InputError
from . import _indicators as ind
from . import _dating as dating
from ._geo_common import LICENCE, QPV2015_RE, out_of_scope_summary, read_csv_located
from ._qpv_tables import QpvScope, ensure_ensemble, is_ensemble

SECTION = "onpv"
GEOGRAPHY = "QPV2015"
PUBLISHER = "ONPV / INSEE"
URL = "https://sig.ville.gouv.fr/"
FAMILY_LABELS = {
    "REVN": "revenus, pauvreté et prestations sociales",
    "DEMO": "population, ménages et familles",
    "IPRO": "emploi et demandeurs d'emploi",
}


def _families() -> set[str]:
    return {e["family"].upper() for e in ind.mapping(SECTION)}


def _parse_name(path: Path) -> tuple[str, int] | None:
    m = re.fullmatch(r"([A-Za-z]+)_(\d{4})\.csv", path.name, flags=re.IGNORECASE)
    if not m or m.group(1).upper() not in _families():
        return None
    return m.group(1).upper(), int(m.group(2))


def detect(path: Path) -> bool:
    return _parse_name(Path(path)) is not None


def load(ctx, paths: list[Path]) -> None:
    ind.check_catalogue(ctx.con, SECTION)
    scope = QpvScope(ctx.con)
    seen: dict[tuple[str, int], Path] = {}
    for path in sorted(paths, key=lambda p: (_parse_name(p)[1], _parse_name(p)[0], p.name)):
        family, year = _parse_name(path)
        if (family, year) in seen:
            raise InputError(path, None, None,
                             f"même thème et même millésime que le fichier {seen[family, year].name}")
        seen[family, year] = path
        _load_file(ctx, path, family, year, scope)
    scope.flush(ctx)
    mark_repeated_vintages(ctx)


def mark_repeated_vintages(ctx) -> None:
    """A vintage whose figures for an indicator are those of the previous vintage, for every
    loaded QPV (same codes, statuses and values), is the same data published again: its rows
    get same_as = the first vintage that published it, and the report says so."""
    df = ctx.con.execute("""
        SELECT v.indicator_id, v.year, v.code, v.status, round(v.value, 6) AS value, s.file_name, v.source_id
        FROM indicator_value v LEFT JOIN source s USING (source_id)
        WHERE v.level = 'qpv' AND v.geography = ? AND v.code LIKE 'QP%' AND starts_with(v.source_id, 'onpv_')
        """, [GEOGRAPHY]).fetchdf()
    for ind_id, rows in df.groupby("indicator_id", sort=True):
        contents = {int(y): frozenset(zip(g.code, g.status, g.value.fillna(-1e300)))
                    for y, g in rows.groupby("year", sort=True)}
        years = sorted(contents)
        first: dict[int, int] = {}
        for prev, year in zip(years, years[1:]):
            if contents[year] and contents[year] == contents[prev]:
                first[year] = first.get(prev, prev)
        for year, origin in first.items():
            ctx.con.execute("UPDATE indicator_value SET same_as = ? WHERE level = 'qpv' AND geography = ? "
                            "AND indicator_id = ? AND year = ? AND source_id = ?",
                            [origin, GEOGRAPHY, ind_id, year, rows[rows.year == year].source_id.iloc[0]])
            at = rows[rows.year == year].iloc[0]
            ctx.issue(at.file_name or f"millésime {year}", None, ind_id, str(year), "warning",
                      f"millésime {year} identique au millésime {origin} pour les {len(contents[year])} QPV "
                      f"chargés (indicateur {ind_id}) : même donnée publiée de nouveau, montrée une seule fois "
                      "(« repris à l'identique »)", at.source_id)


def _load_file(ctx, path, family, year, scope: QpvScope) -> None:
    table = read_csv_located(path)
    table.require("CODGEO")
    rules = ind.rules(SECTION, table.header, family=family)
    if not rules:
        raise InputError(path, 1, None, f"aucune colonne d'indicateur {family} reconnue "
                         "(voir etl/mappings.toml)")
    label = FAMILY_LABELS.get(family, family)
    source_id = ctx.register_source(
        f"onpv_{family.lower()}_{year}", path,
        title=f"Données des quartiers prioritaires (géographie 2015) — {label} ({family}), "
              f"millésime de diffusion {year} (l'année de référence des données peut être antérieure)",
        publisher=PUBLISHER, url=URL, licence=LICENCE, vintage=str(year), geography=GEOGRAPHY,
        dataset=f"Tableau {family} {year}",
        ref_year_basis=ind.reference_year_basis(SECTION, year, family))
    for rule in rules:
        ctx.columns[(source_id, rule.indicator)] = rule.describe()
    ref_year = ind.reference_year(SECTION, year, family)
    lines_of: dict[str, int] = {}
    outside: list[str] = []
    values: list[dict] = []
    for line, rec in table.records():
        code = rec["CODGEO"]
        if is_ensemble(code):
            level, target = ensure_ensemble(ctx, GEOGRAPHY, source_id)
        elif QPV2015_RE.match(code):
            level, target = "qpv", code
        else:
            raise InputError(path, line, "CODGEO",
                             "code de QPV 2015 invalide (attendu QP + département sur 3 caractères "
                             "+ 3 chiffres, ex. QP013001)", code)
        if target in lines_of:
            raise InputError(path, line, "CODGEO", f"code en double (déjà présent ligne {lines_of[target]})",
                             code)
        lines_of[target] = line
        if level == "qpv" and not scope.keeps(code, rec.get("LIBGEO"), source_id):
            outside.append(code)
            continue
        # the all-QPV row leaves empty what it does not publish: not a secret
        empty = "missing" if level != "qpv" else "secret"
        for rule in rules:
            value, num, den, status = ind.evaluate(rule, rec, path, line, empty)
            values.append({"level": level, "code": target, "indicator_id": rule.indicator, "year": year,
                           "ref_year": ref_year,
                           "value": value, "numerator": num, "denominator": den, "status": status,
                           "geography": GEOGRAPHY, "source_id": source_id})
    ind.insert_values(ctx, values)
    out_of_scope_summary(ctx, path, "CODGEO", outside,
                         "QPV 2015 (ni contour 2015 chargé, ni prédécesseur d'un QPV 2024 chargé)", source_id)


# -- 2015 -> 2024 ---------------------------------------------------------------------------

def finalize(ctx) -> None:
    con = ctx.con
    dating.date_by_evidence(ctx)
    if not con.execute("SELECT count(*) FROM indicator_value "
                       "WHERE level = 'qpv' AND geography = ? AND code LIKE 'QP%'",
                       [GEOGRAPHY]).fetchone()[0]:
        return
    rows = con.execute("""
        SELECT c.qpv2024, any_value(c.statut),
               list(DISTINCT c.qpv2015 ORDER BY c.qpv2015) FILTER (WHERE c.qpv2015 IS NOT NULL),
               any_value(c.source_id), any_value(s.file_name)
        FROM qpv_correspondence c
        JOIN territory t ON t.level = 'qpv' AND t.code = c.qpv2024
        LEFT JOIN source s ON s.source_id = c.source_id
        GROUP BY c.qpv2024 ORDER BY c.qpv2024""").fetchall()
    carry, without = [], {"nouveau": [], "commune": []}
    file_ = "qpv_correspondence"
    src = None
    for qpv2024, statut, preds, source_id, file_name in rows:
        preds = preds or []
        file_, src = file_name or file_, source_id
        if statut in without:
            without[statut].append(qpv2024)
        elif len(preds) == 1:
            exact = unchanged(qpv2024, statut)
            carry.append({"qpv2024": qpv2024, "qpv2015": preds[0],
                          "perimeter": "exact" if exact else "perimetre_2015"})
            if statut == "inchange" and not exact:
                ctx.issue(file_, None, "statut", qpv2024, "warning",
                          f"{status_conflict(qpv2024, statut)} : par prudence, ses valeurs de la géographie "
                          "2015 sont signalées « périmètre 2015 » et sa population n'est pas reprise", source_id)
        elif not preds:
            ctx.issue(file_, None, "qpv2015", qpv2024, "unlinked",
                      f"QPV 2024 {qpv2024} « {statut} » sans QPV 2015 prédécesseur dans la "
                      "correspondance : indicateurs de la géographie 2015 non reportés", source_id)
        else:
            ctx.issue(file_, None, "qpv2015", f"{qpv2024} ← {', '.join(preds)}", "unlinked",
                      f"QPV 2024 {qpv2024} issu de plusieurs QPV 2015 ({', '.join(preds)}) : leurs "
                      "indicateurs ne peuvent pas être combinés sur le nouveau périmètre sans les "
                      "données individuelles ; non reportés", source_id)
    labels = {"nouveau": "nouveaux (sans QPV 2015 prédécesseur)",
              "commune": "au statut « commune » (outre-mer, sans QPV 2015 prédécesseur)"}
    for statut, codes in without.items():
        if codes:
            ctx.issue(file_, None, "statut", ", ".join(codes), "unlinked",
                      f"{len(codes)} QPV 2024 {labels[statut]} : pas d'indicateurs de la "
                      "géographie 2015 (ONPV) pour eux", src)
    if carry:
        _carry(ctx, carry, file_, src)
    _set_population(con)


def _carry(ctx, carry, file_, src) -> None:
    con = ctx.con
    df = pd.DataFrame(carry)
    con.register("_carry", df)
    try:
        for qpv2024, qpv2015 in con.execute("""
                SELECT m.qpv2024, m.qpv2015 FROM _carry m
                WHERE NOT EXISTS (SELECT 1 FROM indicator_value v WHERE v.level = 'qpv'
                                  AND v.code = m.qpv2015 AND v.geography = ?)
                ORDER BY m.qpv2024""", [GEOGRAPHY]).fetchall():
            ctx.issue(file_, None, "qpv2015", f"{qpv2024} ← {qpv2015}", "unlinked",
                      f"aucune valeur ONPV chargée pour le QPV 2015 {qpv2015}, prédécesseur de "
                      f"{qpv2024} : rien à reporter", src)
        con.execute("""
            INSERT OR IGNORE INTO indicator_value (level, code, indicator_id, year, value, numerator,
                   denominator, status, geography, perimeter, derived_from, source_id, ref_year, same_as, period)
            SELECT 'qpv', m.qpv2024, v.indicator_id, v.year, v.value, v.numerator, v.denominator,
                   v.status, v.geography, m.perimeter, v.code, v.source_id, v.ref_year, v.same_as, v.period
            FROM _carry m
            JOIN indicator_value v ON v.level = 'qpv' AND v.code = m.qpv2015
                 AND v.geography = ? AND v.derived_from IS NULL""", [GEOGRAPHY])
    finally:
        con.unregister("_carry")


def _set_population(con) -> None:
    con.execute("""
        UPDATE territory SET population = CAST(round(p.value) AS BIGINT)
        FROM (SELECT code, arg_max(value, period) AS value FROM indicator_value
              WHERE level = 'qpv' AND indicator_id = 'population' AND status = 'ok'
                AND perimeter = 'exact'
              GROUP BY code) p
        WHERE territory.level = 'qpv' AND territory.code = p.code AND territory.population IS NULL""")
