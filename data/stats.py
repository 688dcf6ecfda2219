"""Statistics that hold up (pure: no database, no layout): confidence intervals of a value computed
from counts, the comparison of a value with a benchmark tested on that interval, the control limits
of a funnel plot, and the nearest neighbours of an area on standardised context indicators.

Conventions of public-health observatories (UK OHID's Fingertips, whose technical guidance this
follows; see docs/data-model.md, "Intervalles et comparaisons"):

- a proportion (numerator counted among the denominator: RSA recipients among CAF recipients) gets
  a Wilson score interval (statsmodels `proportion_confint(method="wilson")`);
- a rate of events per population gets exact Poisson limits below 10 events (statsmodels
  `confint_poisson(method="exact-c")`, the chi-squared form), and Byar's approximation from 10
  events on (not in scipy or statsmodels: its formula is written here, with scipy's normal quantile);
- a value is "similar" to its benchmark when the benchmark lies inside the value's interval,
  otherwise higher or lower; the words follow the indicator's polarity ("Meilleur" / "Moins bon"
  where a direction is declared, "Plus haut" / "Plus bas" where none is), and a value without an
  interval, or secret, is "Non testé";
- two areas compared with each other (Comparer's "most unfavourable" territory): a score test of two
  independent proportions or of two Poisson rates (statsmodels `test_proportions_2indep`,
  `test_poisson_2indep`), significant when its p-value is below 1 − level;
- funnel plot limits: exact binomial (or Poisson) limits around the benchmark for each denominator,
  interpolated between integer counts (Spiegelhalter, Statistics in Medicine 2005); when the points
  are over-dispersed, limits widened by an additive random effect (Spiegelhalter 2005: winsorised
  z-scores on the arcsine or square-root scale, as R's FunnelPlotR; no maintained Python library
  implements it, so its few lines are written here).

Arrays in, arrays out: a page computes its 1,600 QPVs in one call.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint, test_proportions_2indep
from statsmodels.stats.rates import confint_poisson, test_poisson_2indep

# Confidence levels offered (URL token -> level), 95 % first (the default).
LEVELS = {"95": 0.95, "99.8": 0.998}
LEVEL_LABELS = {"95": "95 %", "99.8": "99,8 %"}
DEFAULT_LEVEL = "95"
METHODS = {"wilson": "score de Wilson", "poisson": "Poisson exact (moins de 10 événements) ou Byar (10 et plus)",
           "byar": "Byar", "poisson_exact": "Poisson exact"}
BYAR_FROM = 10          # events: exact Poisson limits below, Byar's approximation from there on

OUTCOME_WORDS = {"better": "Meilleur", "similar": "Similaire", "worse": "Moins bon",
                 "higher": "Plus haut", "lower": "Plus bas", "not_tested": "Non testé"}
# A symbol beside the word (never colour alone): readable in print and by colour-blind readers.
OUTCOME_SYMBOLS = {"better": "✓", "similar": "≈", "worse": "✗", "higher": "▲", "lower": "▼", "not_tested": "–"}


def level_token(value) -> str:
    """A URL's confidence level ("95", "99.8", also "99,8" or "0.998"), else the default."""
    s = str(value or "").strip().replace(",", ".").rstrip("%").strip()
    for token, level in LEVELS.items():
        try:
            if s == token or float(s) in (level, level * 100):
                return token
        except ValueError:
            continue
    return DEFAULT_LEVEL


def _arrays(*xs):
    return [np.atleast_1d(np.asarray(x, dtype=float)) for x in xs]


def wilson(count, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion count / n (as fractions); NaN where n <= 0 or a
    count is unknown or outside [0, n]."""
    count, n = _arrays(count, n)
    count, n = np.broadcast_arrays(count, n)
    ok = np.isfinite(count) & np.isfinite(n) & (n > 0) & (count >= 0) & (count <= n)
    lo, hi = np.full(count.shape, np.nan), np.full(count.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(count[ok], n[ok], alpha=1 - level, method="wilson")
    return lo, hi


def exact_poisson(count, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (chi-squared) limits of a Poisson count."""
    (count,) = _arrays(count)
    ok = np.isfinite(count) & (count >= 0)
    lo, hi = np.full(count.shape, np.nan), np.full(count.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = confint_poisson(count[ok], 1.0, method="exact-c", alpha=1 - level)
    lo[ok & (count == 0)] = 0.0
    return lo, hi


def byar(count, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the exact limits of a Poisson count (Breslow & Day 1987):
    O (1 - 1/(9O) - z/(3 sqrt O))^3 and (O+1) (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3."""
    (o,) = _arrays(count)
    z = sps.norm.ppf(1 - (1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        hi = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    bad = ~np.isfinite(o) | (o < 0)
    lo[bad | (o == 0)] = np.where(bad[bad | (o == 0)], np.nan, 0.0)
    hi[bad] = np.nan
    return lo, hi


def poisson_rate(count, population, level: float = 0.95, per: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a rate count / population × per: exact Poisson below BYAR_FROM events, Byar's
    approximation from there on."""
    count, population = _arrays(count, population)
    count, population = np.broadcast_arrays(count, population)
    e_lo, e_hi = exact_poisson(count, level)
    b_lo, b_hi = byar(count, level)
    small = count < BYAR_FROM
    lo, hi = np.where(small, e_lo, b_lo), np.where(small, e_hi, b_hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(np.isfinite(population) & (population > 0), per / population, np.nan)
    return lo * scale, hi * scale


def interval(method: str | None, numerator, denominator, level: float = 0.95,
             scale: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """The interval of value = numerator / denominator × scale by the indicator's method
    ("wilson" for a proportion, "poisson" for a rate of events), in the value's unit. NaN where
    no method applies or the counts are unknown."""
    numerator, denominator = _arrays(numerator, denominator)
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    if method == "wilson":
        lo, hi = wilson(numerator, denominator, level)
        return lo * scale, hi * scale
    if method == "poisson":
        return poisson_rate(numerator, denominator, level, scale)
    nan = np.full(numerator.shape, np.nan)
    return nan, nan.copy()


def compare(value, lo, hi, benchmark, high_is_bad=None) -> np.ndarray:
    """Each value tested against its benchmark (Fingertips' rule): 'similar' when the benchmark
    lies inside the value's interval [lo, hi], else 'higher' / 'lower' — 'worse' / 'better' when
    the indicator declares a direction (high_is_bad True: a high value is unfavourable; False:
    a low one). 'not_tested' without an interval, a value or a benchmark."""
    value, lo, hi, benchmark = np.broadcast_arrays(*_arrays(value, lo, hi, benchmark))
    out = np.full(value.shape, "not_tested", dtype=object)
    known = np.isfinite(value) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(benchmark)
    above = known & (benchmark < lo)          # the value is significantly higher
    below = known & (benchmark > hi)
    out[known] = "similar"
    if high_is_bad is None or (isinstance(high_is_bad, float) and math.isnan(high_is_bad)):
        out[above], out[below] = "higher", "lower"
    else:
        bad = bool(high_is_bad)
        out[above] = "worse" if bad else "better"
        out[below] = "better" if bad else "worse"
    return out


def compare_two(method: str | None, num1, den1, num2, den2, level: float = 0.95) -> str | None:
    """The first area's value against the second's: "higher" or "lower" when their difference is
    significant at `level` (score test of two proportions for "wilson", of two rates for
    "poisson"), "similar" when it is not, None when it cannot be tested (no method, counts unknown)."""
    counts = np.array([num1, den1, num2, den2], dtype=float)
    if method not in ("wilson", "poisson") or not np.isfinite(counts).all() or counts[1] <= 0 or counts[3] <= 0 \
            or (counts < 0).any():
        return None
    n1, d1, n2, d2 = counts
    if n1 * d2 == n2 * d1:
        return "similar"
    if method == "wilson":
        if n1 > d1 or n2 > d2:
            return None
        p = test_proportions_2indep(n1, d1, n2, d2, method="score").pvalue
    else:
        p = test_poisson_2indep(n1, d1, n2, d2, method="score").pvalue
    if not np.isfinite(p) or p >= 1 - level:
        return "similar"
    return "higher" if n1 / d1 > n2 / d2 else "lower"


def outcome_text(outcome: str) -> str:
    """'✗ Moins bon': the symbol, then the word."""
    return f"{OUTCOME_SYMBOLS.get(outcome, '–')} {OUTCOME_WORDS.get(outcome, OUTCOME_WORDS['not_tested'])}"


# --- Funnel plots ------------------------------------------------------------------------------

def _interpolated(dist, q: float) -> np.ndarray:
    """The count at which a discrete distribution's CDF reaches q, interpolated between integers
    (Spiegelhalter 2005): r - (F(r) - q) / (F(r) - F(r - 1)), r the q-quantile."""
    r = dist.ppf(q)
    f_r, f_prev = dist.cdf(r), dist.cdf(r - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(f_r > f_prev, (f_r - q) / (f_r - f_prev), 0.0)
    return r - frac


def funnel_limits(method: str, target: float, denominators, level: float = 0.95,
                  scale: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Control limits, in the value's unit, around the benchmark `target` (same unit) for each
    denominator: exact binomial limits for a proportion ("wilson" indicators), exact Poisson limits
    of the expected count for a rate ("poisson"), interpolated between integer counts."""
    (n,) = _arrays(denominators)
    lo, hi = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    ok = np.isfinite(n) & (n > 0)
    if not ok.any() or target is None or not np.isfinite(target):
        return lo, hi
    q = (1 - level) / 2
    if method == "wilson":
        p = min(max(float(target) / scale, 0.0), 1.0)
        nn = np.round(n[ok])
        dist = sps.binom(nn, p)
        lo[ok] = np.clip(_interpolated(dist, q), 0, nn) / nn * scale
        hi[ok] = np.clip(_interpolated(dist, 1 - q), 0, nn) / nn * scale
    elif method == "poisson":
        expected = float(target) / scale * n[ok]
        dist = sps.poisson(expected)
        lo[ok] = np.clip(_interpolated(dist, q), 0, None) / n[ok] * scale
        hi[ok] = _interpolated(dist, 1 - q) / n[ok] * scale
    return lo, hi


def overdispersion(method: str, target: float, values, denominators, scale: float = 100.0,
                   winsor: float = 0.1, level: float = 0.95) -> dict | None:
    """Over-dispersion of a funnel's points around `target` (their pooled value, for the variation
    between areas; Spiegelhalter, Statistics in Medicine
    2005, "Handling over-dispersion of performance indicators"; the method of NHS England's and
    OHID's funnel plots): z-scores on the variance-stabilised scale (arcsine square root for a
    proportion, square root for a rate: s = 1 / (2√n)), winsorised at `winsor` and 1 − `winsor`;
    φ = mean of z²; over-dispersed when I·φ exceeds the `level` quantile of χ² on I − 1 degrees
    of freedom; then the additive random effect τ² = (I·φ − (I − 1)) / (Σw − Σw² / Σw), w = 1 / s².
    {phi, tau2, overdispersed, n}; None with fewer than 10 points."""
    y, n = _arrays(values, denominators)
    ok = np.isfinite(y) & np.isfinite(n) & (n > 0) & (y >= 0)
    if ok.sum() < 10 or target is None or not np.isfinite(target) or method not in ("wilson", "poisson"):
        return None
    s2 = 1 / (4 * n[ok])
    z = (_stabilised(method, y[ok] / scale) - _stabilised(method, float(target) / scale)) / np.sqrt(s2)
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    z = np.clip(z, lo, hi)
    k = int(ok.sum())
    phi = float(np.mean(z ** 2))
    over = bool(k * phi > sps.chi2.ppf(level, k - 1))
    w = 1 / s2
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum())) if over else 0.0
    return {"phi": phi, "tau2": float(tau2), "overdispersed": bool(over and tau2 > 0), "n": k}


def _stabilised(method: str, x):
    """The variance-stabilising transform: arcsine square root (proportion), square root (rate)."""
    x = np.clip(np.asarray(x, dtype=float), 0, 1 if method == "wilson" else None)
    return np.arcsin(np.sqrt(x)) if method == "wilson" else np.sqrt(x)


def adjusted_funnel_limits(method: str, target: float, denominators, tau2: float, level: float = 0.95,
                           scale: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Funnel limits widened by the additive random effect τ² (Spiegelhalter 2005): on the
    stabilised scale, target ± z × √(1 / (4n) + τ²), transformed back to the value's unit."""
    (n,) = _arrays(denominators)
    lo, hi = np.full(n.shape, np.nan), np.full(n.shape, np.nan)
    ok = np.isfinite(n) & (n > 0)
    if not ok.any() or target is None or not np.isfinite(target):
        return lo, hi
    t = _stabilised(method, float(target) / scale)
    half = sps.norm.ppf(1 - (1 - level) / 2) * np.sqrt(1 / (4 * n[ok]) + tau2)
    if method == "wilson":
        lo[ok] = np.sin(np.clip(t - half, 0, np.pi / 2)) ** 2 * scale
        hi[ok] = np.sin(np.clip(t + half, 0, np.pi / 2)) ** 2 * scale
    else:
        lo[ok] = np.clip(t - half, 0, None) ** 2 * scale
        hi[ok] = (t + half) ** 2 * scale
    return lo, hi


# --- Nearest neighbours --------------------------------------------------------------------------

def standardise(matrix) -> np.ndarray:
    """Each column as z-scores (mean 0, standard deviation 1 over its known values); a column
    without spread becomes 0 where known. Missing values stay NaN."""
    x = np.asarray(matrix, dtype=float)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(x, axis=0) if x.size else np.zeros(x.shape[1])
        sd = np.nanstd(x, axis=0) if x.size else np.ones(x.shape[1])
    sd = np.where(np.isfinite(sd) & (sd > 0), sd, np.inf)
    return (x - mean) / sd


def nearest(z: np.ndarray, i: int, k: int = 10, min_shared: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k rows of the standardised matrix `z` nearest to row i (itself excluded): Euclidean
    distance over the variables both rows have, rescaled to the variables row i has
    (sqrt(sum of squares × p_i / shared)), rows sharing fewer than `min_shared` variables (default:
    half of row i's, at least 2) left out. Returns (rows, distances, shared counts), nearest
    first; ties in row order, so that the answer is the same for the same matrix."""
    z = np.asarray(z, dtype=float)
    target = z[i]
    has = np.isfinite(target)
    p_i = int(has.sum())
    if p_i == 0:
        return np.array([], dtype=int), np.array([]), np.array([], dtype=int)
    need = max(2, math.ceil(p_i / 2)) if min_shared is None else min_shared
    diff = z[:, has] - target[has]
    both = np.isfinite(diff)
    shared = both.sum(axis=1)
    sq = np.where(both, diff, 0.0) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.sqrt(sq.sum(axis=1) * p_i / shared)
    keep = (shared >= min(need, p_i)) & np.isfinite(dist)
    keep[i] = False
    rows = np.flatnonzero(keep)
    order = np.lexsort((rows, dist[rows]))[:k]
    rows = rows[order]
    return rows, dist[rows], shared[rows]
