"""The funnel plot of an Inégalités view ("graphique en entonnoir"): each QPV of the scope as its
value against its denominator, with control limits at 95 % and 99,8 % around one benchmark. A
way to see which QPVs differ from the benchmark beyond chance without ranking them: the limits
narrow as the denominator grows, so a small QPV is not singled out for its noise. When the QPVs
differ from one another far more than chance explains (over-dispersion, usual on counts of
thousands), the limits are widened by a between-QPV variation (Spiegelhalter 2005, data.stats).

The benchmark is one value for every QPV: the chosen reference when all the QPVs of the scope
share it (France, all QPVs, or the one commune, EPCI, département or région of a scope inside it),
else France's value, else all QPVs' value (the page says so).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data import analysis as an
from data import stats
from data.views import intervals
from data.views.inegalites import View

GRID_POINTS = 160


@dataclass
class Funnel:
    points: pd.DataFrame = field(default_factory=pd.DataFrame)   # code, name, value, den, basis, outside
    target: float | None = None
    target_label: str = ""
    note: str = ""
    why: str | None = None                  # why there is no funnel
    grid: np.ndarray = field(default_factory=lambda: np.array([]))
    limits: dict = field(default_factory=dict)      # level token -> (lower, upper) along `grid`
    spec: intervals.Spec | None = None
    approx: int = 0                          # points whose denominator is approximated
    dispersion: dict | None = None           # data.stats.overdispersion: phi, tau2, overdispersed
    unadjusted_beyond: int = 0               # beyond the exact 99,8 % limits (when the limits are widened)

    @property
    def adjusted(self) -> bool:
        """Limits widened for over-dispersion (Spiegelhalter 2005)."""
        return bool(self.dispersion and self.dispersion["overdispersed"])


def benchmark(v: View) -> tuple[float | None, str, str]:
    """(value, label, note) of the one benchmark of the view's funnel: the chosen reference when
    every QPV shares it, else France's value, else the value of all QPVs (real QPV files often give
    no national value but the all-QPV one), each like for like (data.access.reference_values_at)."""
    f = v.frame
    ok = f[(f.status == "ok") & f.ref_status.eq("ok")]
    codes = set(ok.ref_code.dropna())
    level = an.REFERENCE_LEVELS.get(v.state.ref, v.state.ref)
    if len(codes) == 1:
        r = ok.iloc[0]
        name = r.ref_name if v.state.ref in ("france", "ensemble_qpv") else f"{level} : {r.ref_name}"
        return float(r.ref_value), f"{name} ({r.ref_year_label})", ""
    b = intervals.national_benchmark(v.state.indicator, v.state.year)
    if b is None:
        return None, "", ""
    why = ("diffère d'un quartier à l'autre" if codes else "n'a pas de valeur pour ces quartiers")
    note = (f"La référence choisie ({level}) {why} : l'entonnoir est tracé autour de la valeur "
            f"« {b['name']} », la même pour tous.") if v.state.ref != b["level"] or len(codes) > 1 else ""
    return b["value"], f"{b['name']} ({b['year_label']})", note


def funnel(v: View) -> Funnel:
    """The funnel of a view (memoized with it)."""
    return v.memo("funnel", lambda: _funnel(v))


def _funnel(v: View) -> Funnel:
    sp = intervals.spec(v.indicator)
    if sp is None:
        return Funnel(why=intervals.NO_METHOD[:1].upper() + intervals.NO_METHOD[1:] + " : pas d'entonnoir.")
    f = v.frame
    use = (f.status == "ok") & f.ci_basis.isin(["counts", "approx"]) & np.isfinite(f.ci_den.astype(float))
    if not use.any():
        return Funnel(why="Intervalle non calculable : effectifs non publiés pour ce choix, pas d'entonnoir.", spec=sp)
    target, label, note = benchmark(v)
    if target is None:
        return Funnel(why="Aucune valeur de référence commune aux quartiers de ce territoire (ni la France, ni "
                          "l'ensemble des quartiers prioritaires) : pas d'entonnoir.",
                      spec=sp)
    p = f.loc[use, ["code", "name", "value", "ci_den", "ci_basis"]].rename(columns={"ci_den": "den"})
    p = p.reset_index(drop=True)
    den = p.den.to_numpy(float)
    value = p.value.to_numpy(float)
    lo_x, hi_x = max(1.0, den.min() * 0.7), den.max() * 1.4
    grid = np.geomspace(lo_x, hi_x, GRID_POINTS)
    # the between-QPV variation is measured around the QPVs' own pooled value (as FunnelPlotR does),
    # not the benchmark: QPVs all far from France are a finding, not a dispersion to absorb
    disp = stats.overdispersion(sp.method, float(np.sum(value * den) / np.sum(den)), value, den, sp.scale)
    tau2 = disp["tau2"] if disp and disp["overdispersed"] else None
    limits, outside, unadjusted = {}, np.full(len(p), "", dtype=object), 0
    for token in ("95", "99.8"):                    # the wider limits last: they decide "99,8 %"
        level = stats.LEVELS[token]
        if tau2 is None:
            limits[token] = stats.funnel_limits(sp.method, target, grid, level, sp.scale)
            lo, hi = stats.funnel_limits(sp.method, target, den, level, sp.scale)
        else:
            limits[token] = stats.adjusted_funnel_limits(sp.method, target, grid, tau2, level, sp.scale)
            lo, hi = stats.adjusted_funnel_limits(sp.method, target, den, tau2, level, sp.scale)
            if token == "99.8":
                ex_lo, ex_hi = stats.funnel_limits(sp.method, target, den, level, sp.scale)
                unadjusted = int(((value < ex_lo) | (value > ex_hi)).sum())
        out = (value < lo) | (value > hi)
        outside[out] = token
    p["outside"] = outside
    p["side"] = np.where(value > target, "above", "below")
    hib = intervals.polarity(v.indicator)
    p["outcome"] = [("worse" if (s == "above") == hib else "better") if o and hib is not None
                    else (("higher" if s == "above" else "lower") if o else "similar")
                    for s, o in zip(p.side, p.outside)]
    return Funnel(p, target, label, note, None, grid, limits, sp, int((p.ci_basis == "approx").sum()), disp,
                  unadjusted)


def outside_text(fu: Funnel, token: str) -> list[str]:
    """The QPVs beyond the 99,8 % limits (token "99.8"), or between the 95 % and 99,8 % limits
    ("95"), named with their outcome: "La Viste (moins bon)"."""
    if fu.points.empty:
        return []
    beyond = fu.points[fu.points.outside == token]
    beyond = beyond.sort_values(["side", "name"])
    return [f"{n} ({stats.OUTCOME_WORDS[o].lower()})" for n, o in zip(beyond.name, beyond.outcome)]
