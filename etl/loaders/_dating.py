"""The year an undated column describes, established from evidence at load.

INSEE's files of Filosofi on the QPV say which year their figures describe (the _Ayy suffix of
their columns); the ONPV / sig.ville tables republish those figures under a later diffusion
label without saying so (La Viste: median 12 480 € and poverty rate 54,3 % both in
data_filo18_qp_revdis.csv and in REVN_2022.csv). The rule (docs/data-model.md):

- an undated column (a source and indicator whose rows have no ref_year) is compared with every
  dated evidence column of the same indicator (ctx.evidence_sources) on the 2015 QPVs that both
  hold with a published value;
- values are compared as rounded in the files: each column's precision is read off its values
  (a column of multiples of 10 is rounded to tens), and both are rounded to the coarser one;
- when at least MIN_COMPARED QPVs are compared and at least MIN_SHARE of them match, the column
  is declared to describe the evidence's year: its rows get that ref_year and period;
- the same figure from two files is kept once, attributed to the producer's file: a row of the
  dated column whose territory already has a value for that year (the evidence file's, or an
  earlier vintage's dated the same way) is dropped;
- each dating is recorded in year_evidence (files, columns, QPVs compared and matching, rows
  kept once), which the load report and the Données page show. Without evidence, a column
  keeps "millésime de diffusion N".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MIN_COMPARED = 10
MIN_SHARE = 0.95


def precision(values: np.ndarray) -> int:
    """Decimals a column is rounded to (-1: tens, -2: hundreds), read off its values."""
    v = values[np.isfinite(values)]
    if not len(v):
        return 6
    for d in range(-2, 7):
        if np.all(np.abs(np.round(v, d) - v) < 1e-9 * np.maximum(1, np.abs(v))):
            return d
    return 6


def compare(a: pd.Series, b: pd.Series) -> tuple[int, int]:
    """(QPVs compared, QPVs equal as rounded in the files) of two columns indexed by code."""
    common = a.index.intersection(b.index)
    if not len(common):
        return 0, 0
    x, y = a[common].to_numpy(float), b[common].to_numpy(float)
    d = min(precision(a.to_numpy(float)), precision(b.to_numpy(float)))
    same = np.abs(np.round(x, d) - np.round(y, d)) < 1e-9 * np.maximum(1, np.abs(x))
    return len(common), int(same.sum())


def _columns(con, where: str, params: list) -> dict[tuple[str, str], pd.Series]:
    df = con.execute(f"""
        SELECT source_id, indicator_id, code, value, year, ref_year FROM indicator_value
        WHERE level = 'qpv' AND code LIKE 'QP%' AND status = 'ok' AND derived_from IS NULL AND {where}""",
                     params).fetchdf()
    return {key: g.set_index("code")["value"] for key, g in df.groupby(["source_id", "indicator_id"], sort=True)}


def date_by_evidence(ctx) -> None:
    con = ctx.con
    evidence = sorted(ctx.evidence_sources)
    if not evidence:
        return
    marks = ", ".join("?" * len(evidence))
    dated = _columns(con, f"source_id IN ({marks})", evidence)
    years = dict(con.execute(f"SELECT DISTINCT source_id, ref_year FROM indicator_value "
                             f"WHERE source_id IN ({marks})", evidence).fetchall())
    undated = _columns(con, f"ref_year IS NULL AND source_id NOT IN ({marks})", evidence)
    vintage = dict(con.execute("SELECT source_id, try_cast(vintage AS INTEGER) FROM source").fetchall())
    for (source_id, indicator), column in sorted(undated.items(), key=lambda kv: (vintage.get(kv[0][0]) or 0, kv[0])):
        best = None
        for (ev_source, ev_indicator), ev_column in dated.items():
            if ev_indicator != indicator:
                continue
            n, same = compare(column, ev_column)
            if n >= MIN_COMPARED and same >= MIN_SHARE * n:
                cand = (same / n, n, ev_source)
                if best is None or cand[:2] > best[:2]:
                    best = cand
                elif cand[:2] == best[:2] and years[cand[2]] != years[best[2]]:
                    best = (best[0], best[1], None)     # two years fit equally: no evidence
        if best is None or best[2] is None:
            continue
        share, n, ev_source = best
        _date(ctx, source_id, indicator, int(years[ev_source]), ev_source, n, int(round(share * n)))


def _date(ctx, source_id: str, indicator: str, year: int, ev_source: str, n: int, same: int) -> None:
    con = ctx.con
    args = [source_id, indicator, indicator, year]
    dropped = con.execute("""
        SELECT count(*) FROM indicator_value v
        WHERE v.source_id = ? AND v.indicator_id = ?
          AND EXISTS (SELECT 1 FROM indicator_value w WHERE w.indicator_id = ? AND w.period = ?
                      AND w.level = v.level AND w.code = v.code)""", args).fetchone()[0]
    con.execute("""
        DELETE FROM indicator_value v
        WHERE v.source_id = ? AND v.indicator_id = ?
          AND EXISTS (SELECT 1 FROM indicator_value w WHERE w.indicator_id = ? AND w.period = ?
                      AND w.level = v.level AND w.code = v.code)""", args)
    con.execute("UPDATE indicator_value SET ref_year = ?, period = ? WHERE source_id = ? AND indicator_id = ?",
                [year, year, source_id, indicator])
    con.execute("INSERT INTO year_evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [source_id, indicator, ctx.columns.get((source_id, indicator)), year, ev_source,
                 ctx.columns.get((ev_source, indicator)), n, same, dropped])
