"""Pure computations behind the maps and tables (no SQL, no layout): class breaks,
palettes, gaps to references, densities, French number formatting."""
from __future__ import annotations

import math
from dataclasses import dataclass

import mapclassify
import numpy as np
import pandas as pd

# ColorBrewer (Cynthia Brewer, colorbrewer2.org) colour-blind-safe schemes, 3 to 7 classes,
# ordered light -> dark.
PALETTES: dict[str, dict[int, list[str]]] = {
    "YlOrRd": {
        3: ["#ffeda0", "#feb24c", "#f03b20"],
        4: ["#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"],
        5: ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"],
        6: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"],
        7: ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"],
    },
    "Blues": {
        3: ["#deebf7", "#9ecae1", "#3182bd"],
        4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
        5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
        6: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],
        7: ["#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"],
    },
    "Purples": {
        3: ["#efedf5", "#bcbddc", "#756bb1"],
        4: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"],
        5: ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"],
        6: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"],
        7: ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"],
    },
    "PuOr": {  # diverging, for gaps: orange = unfavourable side after orientation
        3: ["#998ec3", "#f7f7f7", "#f1a340"],
        4: ["#5e3c99", "#b2abd2", "#fdb863", "#e66101"],
        5: ["#5e3c99", "#b2abd2", "#f7f7f7", "#fdb863", "#e66101"],
        6: ["#542788", "#998ec3", "#d8daeb", "#fee0b6", "#f1a340", "#b35806"],
        7: ["#542788", "#998ec3", "#d8daeb", "#f7f7f7", "#fee0b6", "#f1a340", "#b35806"],
    },
}
PALETTE_LABELS = {"YlOrRd": "Jaune-orange-rouge", "Blues": "Bleus", "Purples": "Violets",
                  "PuOr": "Violet-orange (divergente)"}
METHODS = {"quantiles": "Quantiles (effectifs égaux)", "jenks": "Seuils naturels (Jenks)",
           "equal": "Intervalles égaux", "manual": "Seuils manuels"}
STATUS_LABELS = {"secret": "Non diffusé (secret statistique ou donnée indisponible)",
                 "missing": "Aucune donnée pour ce territoire"}


def default_palette(high_is_bad) -> str:
    return "YlOrRd" if high_is_bad is not None else "Purples"


def palette(name: str, k: int, high_is_bad=None) -> list[str]:
    """Colours for classes ordered by increasing value. When a high value is favourable,
    the scheme is reversed so the darkest colour always marks the unfavourable end."""
    cols = list(PALETTES.get(name, PALETTES["Purples"])[max(3, min(7, k))])
    if high_is_bad is False:
        cols = cols[::-1]
    return cols[:k] if k < 3 else cols


@dataclass
class Classification:
    method: str
    bins: list[float]          # upper bounds of each class
    lower: float               # minimum value
    classes: dict[str, int]    # code -> class index (only territories with status ok)
    counts: list[int]

    @property
    def k(self) -> int:
        return len(self.bins)

    def labels(self, decimals: int = 1, unit: str = "") -> list[str]:
        out, lo = [], self.lower
        for i, hi in enumerate(self.bins):
            left = "[" if i == 0 else "]"
            out.append(f"{left}{fmt(lo, decimals)} ; {fmt(hi, decimals)}]{(' ' + unit) if unit else ''}")
            lo = hi
        return out


JENKS_SAMPLE = 250


def _jenks(y: np.ndarray, k: int):
    """Fisher-Jenks natural breaks. Pure-Python Fisher-Jenks is quadratic, so above
    JENKS_SAMPLE values the breaks are computed on evenly spaced quantiles of the data
    (deterministic, unlike mapclassify's random sampling), then applied to all values."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed"
        if len(y) <= JENKS_SAMPLE:
            return mapclassify.FisherJenks(y, k=k)
        sample = np.quantile(y, np.linspace(0, 1, JENKS_SAMPLE))
        bins = list(mapclassify.FisherJenks(sample, k=k).bins)
    bins[-1] = float(y.max())
    return mapclassify.UserDefined(y, bins)


def classify(codes, values, method: str = "quantiles", k: int = 5,
             manual_breaks: list[float] | None = None) -> Classification | None:
    """Class breaks with mapclassify. `values` may hold NaN (secret/missing): those codes
    get no class. Returns None when no value is available."""
    s = pd.Series(list(values), index=list(codes), dtype="float64").dropna()
    if s.empty:
        return None
    y = s.to_numpy()
    k = max(3, min(7, int(k)))
    n_unique = len(np.unique(y))
    if method == "manual":
        edges = sorted({float(b) for b in (manual_breaks or []) if b is not None and math.isfinite(b)})
        if not edges:
            raise ValueError("seuils manuels absents")
        if edges[-1] < y.max():
            edges.append(float(y.max()))
        mc = mapclassify.UserDefined(y, edges)
    elif n_unique <= k:
        mc = mapclassify.UserDefined(y, sorted(np.unique(y)))
    elif method == "jenks":
        mc = _jenks(y, k)
    elif method == "equal":
        mc = mapclassify.EqualInterval(y, k=k)
    else:
        mc = mapclassify.Quantiles(y, k=k)
        if len(mc.bins) < 2:
            mc = mapclassify.UserDefined(y, sorted(np.unique(y)))
    bins = [float(b) for b in mc.bins]
    classes = {code: int(c) for code, c in zip(s.index, mc.yb)}
    counts = [int((mc.yb == i).sum()) for i in range(len(bins))]
    return Classification(method, bins, float(y.min()), classes, counts)


def gap(values, refs, mode: str = "ratio"):
    """Gap between values and their reference: ratio (value / reference) or difference.
    NaN where either side is missing or the ratio's reference is 0."""
    v = np.asarray(values, dtype="float64")
    r = np.asarray(refs, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = v / r if mode == "ratio" else v - r
    out[~np.isfinite(out)] = np.nan
    return out


def gap_classification(codes, gaps, mode: str, k: int = 5) -> Classification | None:
    """Symmetric classes around the neutral point (1 for a ratio, 0 for a difference)."""
    s = pd.Series(list(gaps), index=list(codes), dtype="float64").dropna()
    if s.empty:
        return None
    centre = 1.0 if mode == "ratio" else 0.0
    span = float(np.nanmax(np.abs(s.to_numpy() - centre))) or 1.0
    k = max(3, min(7, int(k)))
    edges = list(np.linspace(centre - span, centre + span, k + 1)[1:])
    edges[-1] = float(s.max()) if s.max() > edges[-1] else edges[-1]
    yb = np.searchsorted(np.asarray(edges), s.to_numpy(), side="left")
    yb = np.clip(yb, 0, k - 1)
    counts = [int((yb == i).sum()) for i in range(k)]
    return Classification("gap", [float(e) for e in edges], float(min(s.min(), centre - span)),
                          {c: int(b) for c, b in zip(s.index, yb)}, counts)


def density_per_10000(counts, population):
    """Actions per 10,000 inhabitants; NaN where the population is unknown or 0."""
    c = np.asarray(counts, dtype="float64")
    p = np.asarray(population, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = c / p * 10000.0
    out[~np.isfinite(out)] = np.nan
    return out


def fmt(value, decimals: int = 1, unit: str = "") -> str:
    """French number formatting: 12 345,6 (narrow no-break space for thousands)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    s = f"{float(value):,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    if s.startswith("-") and float(s.replace("\u202f", "").replace(",", ".")) == 0:
        s = s[1:]
    return f"{s}\u00a0{unit}" if unit else s


def fmt_status(value, status: str, decimals: int = 1, unit: str = "") -> str:
    if status == "ok":
        return fmt(value, decimals, unit)
    return "secret" if status == "secret" else "n.d."
