"""INSEE Filosofi on the QPV: "Revenus, pauvreté et niveau de vie — quartiers de la politique de la ville".

Recognised by its header, whatever the file is called (data_filo18_qp_revdis.csv,
revenu-disponible-qp15-2021_QP.csv, the 2024-geography release...): a CODGEO column and
indicator columns suffixed with the year the figures describe (`DISP_TP60_A18`: poverty rate,
income of 2018). Two official layouts:
- 2016-2017: lower-case headers with other names (`codgeo; disp_q2_a16; disp_d1d9_a16;
  tp60_a16; note`), plain integers;
- 2018 and later: upper-case headers (`DISP_MED_A18`, `DISP_RD_A18`, `DISP_TP60_A18`,
  `DISP_NOTE_A18`), U+00A0 thousands separators and `,` decimals.
`;`-separated, UTF-8 (BOM or not), CRLF; an empty cell is a secret figure (status 'secret').
Headers are compared upper-cased; columns are mapped by the [[filosofi_qpv]] entries of
etl/mappings.toml, "{yy}" standing for the suffix.

The year described is read from the columns, never from the file name: every suffixed column
must carry the same year (else InputError). It is the value's year and ref_year, and the
source says how it is known (source.ref_year_basis). Such a file dates other files' columns
(etl/loaders/_dating.py: an ONPV column whose figures are these is declared to describe the
same year).

Rows: a 2015 code (QP…) is kept as the ONPV loader keeps it (loaded 2015 QPV, or predecessor of
a loaded 2024 QPV: etl/loaders/_qpv_tables.py), geography QPV2015, and reaches the 2024 QPVs
through the correspondence in onpv.finalize; a 2024 code (QN…) goes to its loaded 2024 QPV,
geography QPV2024, perimeter exact; "Ensemble" (all QPVs of France together) goes to the
reference territory "Ensemble des QPV 2015 (France)" or "... 2024 (France)", by geography. A malformed or duplicate code is an
InputError naming the file, line and field.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from . import _indicators as ind
from ._geo_common import (LICENCE, QPV2015_RE, QPV2024_RE, csv_header, out_of_scope_summary, read_csv_located,
                          source_id_for)
from ._qpv_tables import QpvScope, ensure_ensemble, is_ensemble

SECTION = "filosofi_qpv"
PUBLISHER = "INSEE"
SUFFIX_RE = re.compile(r"^[A-Z0-9_]+_A(\d{2})$")
KEY_COLUMNS = re.compile(r"^(DISP_)?(MED|Q2|TP60)_A\d{2}$")
# INSEE pages of "Revenus, pauvreté et niveau de vie — quartiers de la politique de la ville", by
# year described and geography; the summary pages of each geography otherwise.
URLS = {
    (2018, "QPV2015"): "https://www.insee.fr/fr/statistiques/5019568?sommaire=2500477",
    (2019, "QPV2015"): "https://www.insee.fr/fr/statistiques/6049692?sommaire=2500477",
    (2020, "QPV2015"): "https://www.insee.fr/fr/statistiques/7231733?sommaire=2500477",
    (2021, "QPV2024"): "https://www.insee.fr/fr/statistiques/8243167?sommaire=8186144",
}
SUMMARY_URLS = {"QPV2015": "https://www.insee.fr/fr/statistiques/2500477",
                "QPV2024": "https://www.insee.fr/fr/statistiques/8186144"}


def detect(path: Path) -> bool:
    header = csv_header(path)
    return bool(header) and header[0] == "CODGEO" and any(KEY_COLUMNS.match(h) for h in header)


def load(ctx, paths: list[Path]) -> None:
    ind.check_catalogue(ctx.con, SECTION)
    scope = QpvScope(ctx.con)
    for path in sorted(paths, key=lambda p: p.name):
        _load_file(ctx, path, scope)
    scope.flush(ctx)


def _year(path: Path, header: list[str]) -> int:
    years = {}
    for h in header:
        m = SUFFIX_RE.match(h)
        if m:
            years.setdefault(m.group(1), h)
    if len(years) != 1:
        cols = ", ".join(sorted(years.values()))
        raise InputError(path, 1, None, "les colonnes d'indicateurs doivent toutes porter la même année "
                         f"(suffixe _Aaa) : {cols or 'aucune colonne suffixée'}")
    return 2000 + int(next(iter(years)))


NAME_GEOGRAPHY = re.compile(r"(?<![a-z0-9])qp(15|24)(?![0-9])", re.IGNORECASE)


def _codes_geography(path: Path, table) -> str | None:
    kinds = set()
    for line, rec in table.records():
        code = rec["CODGEO"]
        if QPV2024_RE.match(code):
            kinds.add("QPV2024")
        elif QPV2015_RE.match(code):
            kinds.add("QPV2015")
    if len(kinds) > 1:
        raise InputError(path, None, "CODGEO", "codes de QPV 2015 (QP…) et 2024 (QN…) mêlés dans un même fichier")
    return kinds.pop() if kinds else None


def _geography(path: Path, table) -> str:
    """The QPV geography of a file: its codes; for INSEE's all-QPV file (`…_ENSQP.csv`, one "00" row),
    the codes of its `…_QP.csv` sibling, else the `qp15` / `qp24` of INSEE's name."""
    found = _codes_geography(path, table)
    if found:
        return found
    sibling = path.with_name(re.sub(r"_ENSQP(?=\.csv$)", "_QP", path.name, flags=re.IGNORECASE))
    if sibling != path and sibling.is_file():
        found = _codes_geography(sibling, read_csv_located(sibling))
        if found:
            return found
    m = NAME_GEOGRAPHY.search(path.name)
    if m:
        return f"QPV20{m.group(1)}"
    raise InputError(path, None, "CODGEO", "géographie prioritaire inconnue : le fichier n'a que la ligne de "
                     "l'ensemble des QPV, sans fichier des quartiers (…_QP.csv) à côté ni « qp15 » / « qp24 » "
                     "dans son nom")


def _load_file(ctx, path: Path, scope: QpvScope) -> None:
    table = read_csv_located(path)
    table.header = [h.upper() for h in table.header]
    table.require("CODGEO")
    year = _year(path, table.header)
    yy = f"{year % 100:02d}"
    rules = ind.rules(SECTION, table.header, {"yy": yy})
    if not rules:
        raise InputError(path, 1, None, "aucune colonne d'indicateur Filosofi reconnue (voir etl/mappings.toml)")
    geography = _geography(path, table)
    perimeter = "géographie 2024" if geography == "QPV2024" else "géographie 2015"
    source_id = ctx.register_source(
        source_id_for(ctx, f"filosofi_qpv_{year}_{geography.lower()}", path), path,
        title=f"Filosofi {year} — revenus et pauvreté des quartiers prioritaires ({perimeter})",
        publisher=PUBLISHER, url=URLS.get((year, geography), SUMMARY_URLS[geography]), licence=LICENCE,
        vintage=str(year), geography=geography, dataset=f"Filosofi {year}",
        ref_year_basis=f"lue dans les noms de colonnes du fichier (suffixe _A{yy} : revenus de {year})")
    ctx.evidence_sources.add(source_id)
    for rule in rules:
        ctx.columns[(source_id, rule.indicator)] = rule.describe()
    lines_of: dict[str, int] = {}
    outside: list[str] = []
    values: list[dict] = []
    for line, rec in table.records():
        code = rec["CODGEO"]
        if is_ensemble(code):
            level, target = ensure_ensemble(ctx, geography, source_id)
        elif QPV2015_RE.match(code) or QPV2024_RE.match(code):
            level, target = "qpv", code
        else:
            raise InputError(path, line, "CODGEO", "code de QPV invalide (attendu QP + département sur 3 caractères "
                             "+ 3 chiffres, QN + département + 2 chiffres + lettre, ou « Ensemble »)", code)
        if target in lines_of:
            raise InputError(path, line, "CODGEO", f"code en double (déjà présent ligne {lines_of[target]})", code)
        lines_of[target] = line
        if level == "qpv" and not scope.keeps(code, rec.get("LIBGEO"), source_id):
            outside.append(code)
            continue
        empty = "missing" if level != "qpv" else "secret"   # the all-QPV row is never a secret
        for rule in rules:
            value, num, den, status = ind.evaluate(rule, rec, path, line, empty)
            values.append({"level": level, "code": target, "indicator_id": rule.indicator, "year": year,
                           "ref_year": year, "value": value, "numerator": num, "denominator": den,
                           "status": status, "geography": geography, "source_id": source_id})
    ind.insert_values(ctx, values)
    what = "QPV 2024 non chargés" if geography == "QPV2024" else \
        "QPV 2015 (ni contour 2015 chargé, ni prédécesseur d'un QPV 2024 chargé)"
    out_of_scope_summary(ctx, path, "CODGEO", outside, what, source_id)

