"""Confidence intervals and tested comparisons of the figures the pages show (data layer: reads the
catalogue and the values through data.access; the statistics are data/stats.py).

An indicator says in the catalogue how its values get an interval (`ci_method`: a proportion,
"wilson", or a rate of events, "poisson") and what its numerator and denominator count. A value
gets an interval from its own counts when the file gave them; else, when the catalogue names an
indicator standing for the denominator (`ci_denominator_from`, e.g. the QPV's population for the
persons of fiscal households), from that approximation, which is then said wherever the interval
is shown; else none, and the reason is said ("effectifs non publiés"). A value without an
interval, or secret, is never tested.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import access
from data import stats
from data.analysis import fmt
from data.provenance import source_text

NO_METHOD = "intervalle non calculable : indicateur sans effectifs (médiane, rapport ou indice)"
NO_COUNTS = "intervalle non calculable : effectifs non publiés"
SECRET = "valeur secrète : non testée"
NO_VALUE = "pas de valeur : non testée"


@dataclass(frozen=True)
class Spec:
    method: str                      # "wilson" | "poisson"
    numerator: str
    denominator: str
    scale: float
    denominator_from: str | None
    denominator_note: str | None

    @property
    def method_text(self) -> str:
        return stats.METHODS[self.method]


def _text(v) -> str | None:
    return v if isinstance(v, str) and v else None


def spec(ind: dict | None) -> Spec | None:
    """How an indicator's values get an interval (None: they get none)."""
    if not ind or _text(ind.get("ci_method")) not in ("wilson", "poisson"):
        return None
    scale = ind.get("ci_scale")
    return Spec(ind["ci_method"], _text(ind.get("ci_numerator")) or "numérateur",
                _text(ind.get("ci_denominator")) or "dénominateur",
                float(scale) if scale is not None and not pd.isna(scale) else 100.0,
                _text(ind.get("ci_denominator_from")), _text(ind.get("ci_denominator_note")))


def with_intervals(df: pd.DataFrame, ind: dict | None, level_token: str = stats.DEFAULT_LEVEL,
                   level: str = "qpv", within=None) -> pd.DataFrame:
    """`df` (rows of access.values or latest_values: code, value, status, numerator, denominator,
    perimeter) with ci_lo, ci_hi (the value's unit), ci_num, ci_den (the counts used), ci_basis
    ("counts", "approx" or None) and ci_why (why there is no interval)."""
    out = df.copy()
    n = len(out)
    lo, hi = np.full(n, np.nan), np.full(n, np.nan)
    num = pd.to_numeric(out.get("numerator", pd.Series(np.nan, index=out.index)), errors="coerce").to_numpy(float)
    den = pd.to_numeric(out.get("denominator", pd.Series(np.nan, index=out.index)), errors="coerce").to_numpy(float)
    value = pd.to_numeric(out["value"], errors="coerce").to_numpy(float) if n else np.array([])
    status = out["status"].to_numpy(dtype=object) if n else np.array([], dtype=object)
    ok = status == "ok"
    basis = np.full(n, None, dtype=object)
    why = np.where(status == "secret", SECRET, np.where(ok, "", NO_VALUE)).astype(object)
    sp = spec(ind)
    if sp is None:
        why[ok] = NO_METHOD
    elif n:
        counted = ok & np.isfinite(num) & np.isfinite(den) & (den > 0)
        basis[counted] = "counts"
        if sp.denominator_from:
            approx_den = _approx_denominators(out, sp.denominator_from, level, within)
            approx = ok & ~counted & np.isfinite(approx_den) & (approx_den > 0) & np.isfinite(value)
            den = np.where(approx, approx_den, den)
            num = np.where(approx, value / sp.scale * approx_den, num)
            basis[approx] = "approx"
        use = basis != None  # noqa: E711  (object array)
        if use.any():
            lo[use], hi[use] = stats.interval(sp.method, num[use], den[use], stats.LEVELS[level_token], sp.scale)
        why[ok & ~use] = NO_COUNTS
    out["ci_lo"], out["ci_hi"] = lo, hi
    out["ci_num"] = np.where(basis != None, num, np.nan)  # noqa: E711
    out["ci_den"] = np.where(basis != None, den, np.nan)  # noqa: E711
    out["ci_basis"], out["ci_why"] = basis, why
    return out


def _approx_denominators(df: pd.DataFrame, indicator_id: str, level: str, within) -> np.ndarray:
    """The latest value of `indicator_id` (e.g. the population) of each row's territory, where it
    was computed on the same perimeter as the row (a 2015-perimeter rate with a 2015-perimeter
    population): NaN elsewhere."""
    pop = access.values(indicator_id, level, within)
    pop = pop[pop.status == "ok"].set_index("code")
    codes = df["code"].to_numpy(dtype=object)
    vals = pop["value"].reindex(codes).to_numpy(dtype=float)
    if "perimeter" in df and "perimeter" in pop:
        same = pop["perimeter"].reindex(codes).to_numpy(dtype=object) == df["perimeter"].to_numpy(dtype=object)
        vals = np.where(same, vals, np.nan)
    return vals


def tested(df: pd.DataFrame, benchmark, high_is_bad) -> np.ndarray:
    """The outcome of each row (data.stats.compare) against `benchmark` (a column's values, or one
    value for all)."""
    if not len(df):
        return np.array([], dtype=object)
    value = np.where(df["status"].to_numpy(dtype=object) == "ok",
                     pd.to_numeric(df["value"], errors="coerce").to_numpy(float), np.nan)
    return stats.compare(value, df["ci_lo"].to_numpy(float), df["ci_hi"].to_numpy(float),
                         np.asarray(benchmark, dtype=float), high_is_bad)


def national_benchmark(indicator_id: str, period: int | None = None) -> dict | None:
    """One benchmark for QPVs that share no reference: France's value, else the value of all QPVs
    (real QPV files often give no national value but the all-QPV one), like for like (the year
    `period` describes, else the closest earlier: data.access.reference_values_at). {value, name,
    year_label, level, source}, or None when neither is loaded."""
    for ref_level, ref_codes in (("france", list(access.territory_frame("france")["code"])),
                                 ("ensemble_qpv", access.ensemble_codes())):
        for code in ref_codes:
            ref = access.reference_values_at(indicator_id, ref_level, [code], period)
            ref = ref[ref.status == "ok"]
            if len(ref):
                r = ref.iloc[0]
                return {"value": float(r.value), "name": r["name"], "year_label": r.year_label, "level": ref_level,
                        "source": source_text(r.source_title, r.publisher, r.vintage)}
    return None


def interval_text(lo, hi, decimals: int, unit: str = "") -> str | None:
    """'[12,3 ; 18,9] %' (None without an interval)."""
    if lo is None or hi is None or not np.isfinite(lo) or not np.isfinite(hi):
        return None
    u = f" {unit}" if unit and unit != "indice" else ""
    return f"[{fmt(lo, decimals)} ; {fmt(hi, decimals)}]{u}"


def basis_text(sp: Spec | None, basis, num=None, den=None) -> str:
    """How an interval was computed, in words: method, counts, and the approximation if any."""
    if sp is None or basis not in ("counts", "approx"):
        return ""
    counts = ""
    if num is not None and den is not None and np.isfinite(num) and np.isfinite(den):
        counts = f" ; {fmt(num, 0)} {sp.numerator} sur {fmt(den, 0)} {sp.denominator}"
    approx = f" ; dénominateur approché ({sp.denominator_note})" if basis == "approx" and sp.denominator_note else ""
    return f"{sp.method_text}{counts}{approx}"


def polarity(ind: dict | None):
    """True / False / None: the indicator's declared direction (high_is_bad)."""
    v = (ind or {}).get("high_is_bad")
    return None if v is None or pd.isna(v) else bool(v)
