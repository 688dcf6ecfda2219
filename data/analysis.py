"""Pure computations behind the maps and tables (no SQL, no layout): class breaks, gaps to
references, densities, French number formatting. Colour schemes: data/palettes.py."""
from __future__ import annotations

import math
from dataclasses import dataclass

import mapclassify
import numpy as np
import pandas as pd

METHODS = {"quantiles": "Quantiles (effectifs égaux)", "jenks": "Seuils naturels (Jenks)",
           "equal": "Intervalles égaux", "manual": "Seuils manuels"}
STATUS_LABELS = {"secret": "Non diffusé (secret statistique ou donnée indisponible)",
                 "missing": "Aucune donnée pour ce territoire"}


@dataclass
class Classification:
    method: str
    bins: list[float]          # upper bounds of each class
    lower: float               # minimum value
    classes: dict[str, int]    # code -> class index (only territories with status ok)
    counts: list[int]
    requested: int | None = None   # classes asked for, when the values allowed fewer (merged)

    @property
    def k(self) -> int:
        return len(self.bins)

    def label_decimals(self, decimals: int = 1) -> int:
        """The decimals that tell the class bounds apart: `decimals`, or more when rounding would
        write two different bounds the same (a small scope's close values), at most 6 more."""
        edges = sorted({float(e) for e in [self.lower, *self.bins] if math.isfinite(e)})
        d = max(0, int(decimals))
        while d < decimals + 6 and len({fmt(e, d) for e in edges}) < len(edges):
            d += 1
        return d

    def labels(self, decimals: int = 1, unit: str = "") -> list[str]:
        """"[a ; b]" for the first class, "]a ; b]" for the next ones, bounds written with enough
        decimals to differ; a class holding a single value is written as that value."""
        d = self.label_decimals(decimals)
        out, lo = [], self.lower
        suffix = (" " + unit) if unit else ""
        for i, hi in enumerate(self.bins):
            if lo == hi:
                out.append(f"{fmt(hi, d)}{suffix}")
            else:
                out.append(f"{'[' if i == 0 else ']'}{fmt(lo, d)} ; {fmt(hi, d)}]{suffix}")
            lo = hi
        return out

    def merged_note(self) -> str | None:
        """What the legend says when the values allowed fewer classes than asked."""
        if self.requested and self.requested > self.k:
            why = (f" (au plus {MAX_CLASSES_PER_SIDE} de chaque côté de la parité)"
                   if self.method.startswith("gap-") else "")
            return (f"{self.k} classes au lieu des {self.requested} demandées : les valeurs{why} ne permettent "
                    "pas davantage de classes distinctes.")
        return None


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
    y = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    keep = ~np.isnan(y)
    if not keep.any():
        return None
    codes = np.asarray(codes, dtype=object)[keep]
    y = y[keep]
    s = pd.Series(y, index=codes)
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
    if len(set(bins)) < len(bins):      # quantiles of many equal values: equal bounds, empty classes
        bins = sorted(set(bins))
        mc = mapclassify.UserDefined(y, bins)
    requested = k if method != "manual" and len(bins) < k else None     # merged: the legend says so
    classes = {code: int(c) for code, c in zip(s.index, mc.yb)}
    counts = [int((mc.yb == i).sum()) for i in range(len(bins))]
    return Classification(method, bins, float(y.min()), classes, counts, requested)


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
    """French number formatting: 12 345,6 (narrow no-break space for thousands); "n.d." for
    None, NaN and pd.NA."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    s = f"{float(value):,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
    if s.startswith("-") and float(s.replace("\u202f", "").replace(",", ".")) == 0:
        s = s[1:]
    return f"{s}\u00a0{unit}" if unit else s


def fmt_status(value, status: str, decimals: int = 1, unit: str = "") -> str:
    if status == "ok":
        return fmt(value, decimals, unit)
    return "secret" if status == "secret" else "n.d."


# --- Couverture ASV ---

COVERAGE_CATEGORIES = ("asv", "cls", "none", "unknown")
COVERAGE_LABELS = {"asv": "Couvert par un ASV", "cls": "CLS seulement (pas d'ASV)",
                   "none": "Ni ASV ni CLS", "unknown": "Couverture inconnue (registre non chargé)"}


def _truthy(flag) -> bool:
    """True only for a real True (NULL/NaN/NA from an outer join means 'not covered')."""
    try:
        return bool(flag) and not pd.isna(flag)
    except (TypeError, ValueError):
        return False


def coverage_category(has_asv, has_cls, known: bool) -> str:
    """'asv' when an ASV covers the QPV (a fact, registry complete or not); otherwise, where the
    scheme registry is complete (`known`), 'cls' when only a CLS does, else 'none'; where it is
    not, 'unknown': the absence of an ASV is not known."""
    if _truthy(has_asv):
        return "asv"
    if not known:
        return "unknown"
    if _truthy(has_cls):
        return "cls"
    return "none"


def coverage_categories(has_asv, has_cls, known) -> list[str]:
    return [coverage_category(a, c, k) for a, c, k in zip(has_asv, has_cls, known)]


def coverage_counts(categories) -> dict[str, int]:
    cats = list(categories)
    return {c: cats.count(c) for c in COVERAGE_CATEGORIES}


STATUS_ORDER = {"ok": 0, "secret": 1, "missing": 2}


def rank_by_need(df: pd.DataFrame, high_is_bad) -> pd.DataFrame:
    """Order territories by a need indicator: available values first, the highest need
    first (descending when a high value is unfavourable or the indicator is neutral,
    ascending when a high value is favourable), then secret values, then missing ones.
    Ties are broken by name. `df` needs columns value, status, name. Adds `rank`
    (1..n for available values, <NA> for secret/missing)."""
    out = df.copy()
    out["status"] = out["status"].fillna("missing")
    vals = pd.to_numeric(out["value"], errors="coerce")
    out.loc[(out["status"] == "ok") & vals.isna(), "status"] = "missing"
    vals = vals.where(out["status"] == "ok")
    out["_order"] = out["status"].map(STATUS_ORDER).fillna(2)
    out["_key"] = vals if high_is_bad is False else -vals
    out = out.sort_values(["_order", "_key", "name"], kind="mergesort", na_position="last")
    n_ok = int((out["status"] == "ok").sum())
    out["rank"] = pd.array(list(range(1, n_ok + 1)) + [None] * (len(out) - n_ok), dtype="Int64")
    return out.drop(columns=["_order", "_key"]).reset_index(drop=True)


# --- Inégalités page ---


REFERENCE_LEVELS = {"commune": "commune", "epci": "EPCI", "departement": "département",
                    "region": "région", "france": "France", "ensemble_qpv": "ensemble des QPV (France)"}
GAP_TYPES = {"ratio": "Rapport (quartier ÷ référence)", "difference": "Différence (quartier − référence)"}


def parse_breaks(text) -> list[float]:
    """Manual class breaks typed by a user, French or English style:
    "10 ; 20,5 ; 1 000" or "10, 20.5" -> [10.0, 20.5, 1000.0] (sorted, unique).
    Raises ValueError naming the first item that is not a number."""
    if text is None:
        return []
    if isinstance(text, (list, tuple)):
        items = [str(t) for t in text]
    else:
        s = str(text).strip()
        if not s:
            return []
        # ';' or '|' separate items; a ',' followed by a space separates items too,
        # otherwise it is a decimal comma ("20,5").
        s = s.replace("|", ";")
        if ";" not in s:
            s = s.replace(", ", ";") if ", " in s else s
            if ";" not in s and s.count(",") > 1:
                s = s.replace(",", ";")
        items = s.split(";")
    out = []
    for item in items:
        raw = item.strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if not raw:
            continue
        try:
            v = float(raw)
        except ValueError:
            raise ValueError(f"« {item.strip()} » n'est pas un nombre") from None
        if not math.isfinite(v):
            raise ValueError(f"« {item.strip()} » n'est pas un nombre")
        out.append(v)
    return sorted(set(out))


def format_breaks(breaks) -> str:
    """Inverse of parse_breaks, French style ("10 ; 20,5")."""
    return " ; ".join(("%g" % b).replace(".", ",") for b in breaks or [])


def france_reference(departement, available: list[str]) -> str | None:
    """Which 'france' territory a QPV is compared with: France métropolitaine (FRM) for a
    metropolitan département, France entière (FR) overseas; else whatever is available."""
    overseas = str(departement or "").startswith("97")
    prefs = ["FR", "FRM"] if overseas else ["FRM", "FR"]
    for code in prefs + sorted(available):
        if code in available:
            return code
    return None


def reference_codes(qpvs: pd.DataFrame, ref_level: str, france_available: list[str] = (),
                    ensemble_available: list[str] = ()) -> dict:
    """Reference territory of each QPV at `ref_level`: its own (main) commune, EPCI,
    département, région, France, or all QPVs of France together (`ensemble_qpv`: the first territory
    of `ensemble_available`, which the caller orders). `qpvs` has code and the parent columns of
    `territory`."""
    if ref_level == "ensemble_qpv":
        code = list(ensemble_available)[0] if len(ensemble_available) else None
        return dict.fromkeys(qpvs["code"].to_numpy(dtype=object), code)
    if ref_level == "france":
        available = list(france_available)
        by_side = {side: france_reference("97" if side else "", available) for side in (True, False)}
        deps = qpvs["departement"] if "departement" in qpvs else pd.Series("", index=qpvs.index)
        overseas = deps.fillna("").astype(str).str.startswith("97")
        return dict(zip(qpvs["code"].to_numpy(dtype=object), overseas.map(by_side).to_numpy(dtype=object)))
    if ref_level not in qpvs:
        return dict.fromkeys(qpvs["code"])
    col = qpvs[ref_level].astype(object)
    return dict(zip(qpvs["code"].to_numpy(dtype=object), col.where(col.notna(), None).to_numpy(dtype=object)))


def gap_frame(values: pd.DataFrame, ref_of: dict, refs: pd.DataFrame, mode: str = "ratio",
              ref_names: dict | None = None) -> pd.DataFrame:
    """QPV values against their references.

    values: one row per QPV with code, value, status. ref_of: QPV code -> reference code (or None).
    refs: one row per reference territory with code, name, value, status, year, year_label (territories
    without any value are absent; `ref_names` (code -> name) still names them).
    Adds ref_code, ref_name, ref_value, ref_status, ref_year, ref_year_label, gap and gap_status:
    'ok' (gap computed), 'secret' / 'missing' (the QPV's own value), 'noref' (the QPV has a
    value but its reference is secret, missing, absent, or 0 for a ratio). A gap is NaN
    unless gap_status is 'ok': a secret value never becomes a number."""
    df = values.copy()
    n = len(df)
    ref_code = np.array([ref_of.get(c) for c in df["code"].to_numpy(dtype=object)], dtype=object)
    ref_code[pd.isna(ref_code)] = None
    r = refs.drop_duplicates("code") if len(refs) else refs
    pos = {c: i for i, c in enumerate(r["code"])} if len(r) else {}
    k = np.fromiter((pos.get(c, -1) if c is not None else -1 for c in ref_code), dtype=np.int64, count=n)
    found = k >= 0

    def pick(col, default=None, dtype=object):
        out = np.full(n, default, dtype=dtype)
        if len(r) and col in r:
            out[found] = r[col].to_numpy(dtype=dtype)[k[found]]
        return out
    df["ref_code"] = ref_code
    name = pick("name")
    if ref_names:
        name = np.array([nm if isinstance(nm, str) else ref_names.get(c) for nm, c in zip(name, ref_code)],
                        dtype=object)
    df["ref_name"] = name
    ref_status = pick("status", "missing")
    ref_status[pd.isna(ref_status)] = "missing"
    ref_value = pick("value", np.nan, float)
    ref_value[ref_status != "ok"] = np.nan
    df["ref_value"] = ref_value
    df["ref_status"] = ref_status
    df["ref_year"] = pick("year")
    df["ref_year_label"] = pick("year_label")
    status = df["status"].to_numpy(dtype=object)
    ok_value = status == "ok"
    own = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float)
    own = np.where(ok_value, own, np.nan)
    g = gap(own, ref_value, mode)
    own_status = np.where(np.isin(status, ["secret", "missing"]), status, "missing")
    gap_status = np.where(~ok_value, own_status, np.where(np.isnan(g), "noref", "ok"))
    g[gap_status != "ok"] = np.nan
    df["gap"] = g
    df["gap_status"] = gap_status.astype(object)
    return df


def fmt_gap(value, mode: str, decimals: int = 1, unit: str = "") -> str:
    """A gap for display: "× 1,35" for a ratio, "+4,2 pts" for a difference."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    if mode == "ratio":
        return "×\u00a0" + fmt(value, 2)
    u = "pts" if unit == "%" else unit
    s = fmt(value, decimals, u)
    return s if s.startswith("-") or float(value) == 0 else "+" + s


def tooltip_lines(indicator_label: str, year, value, status: str, unit: str, decimals: int,
                  ref_label: str | None = None, ref_value=None, ref_status: str = "missing",
                  ref_year=None, gap_value=None, gap_status: str = "missing", mode: str = "ratio",
                  perimeter: str = "exact") -> list[str]:
    """Plain-text tooltip lines (the QPV name comes from the geometry's properties); `year` and
    `ref_year` are the years as written (data.provenance.year_text).
    They are data, never markup: assets/atlas.js escapes every line before showing it."""
    yr = f" ({year})" if isinstance(year, str) and year else ""
    if status == "ok":
        val = fmt(value, decimals, unit)
    elif status == "secret":
        val = "secret (non diffusé)"
    else:
        val = "n.d. (pas de donnée)"
    lines = [f"{indicator_label}{yr} : {val}"]
    if ref_label:
        ryr = f" ({ref_year})" if isinstance(ref_year, str) and ref_year else ""
        rval = fmt_status(ref_value, ref_status, decimals, unit) if ref_status in ("ok", "secret") else "n.d."
        lines.append(f"Référence, {ref_label}{ryr} : {rval}")
        if gap_status == "ok":
            lines.append(f"Écart : {fmt_gap(gap_value, mode, decimals, unit)}")
        elif gap_status == "noref":
            lines.append("Écart : non calculable (référence non disponible)")
        else:
            lines.append("Écart : non calculable")
    if perimeter == "perimetre_2015":
        lines.append("Valeur calculée sur le périmètre 2015 du quartier")
    return lines


def choropleth_hideout(classes: dict, colors: list[str], status: dict, tooltips: dict,
                       selected: str | None = None) -> dict:
    """The `hideout` read by atlas.choropleth.style/onEachFeature (assets/atlas.js).
    `status` holds only codes drawn apart ('secret' or 'missing'); such codes never have a class."""
    apart = {c: s for c, s in status.items() if s in ("secret", "missing")}
    return {"classes": {c: int(i) for c, i in classes.items() if c not in apart},
            "colors": list(colors), "status": apart,
            "tooltips": {c: [str(x) for x in lines] for c, lines in tooltips.items()},
            "selected": selected}


MAX_CLASSES_PER_SIDE = 5
GAP_METHODS = {"quantiles": "effectifs égaux de chaque côté de la parité",
               "jenks": "seuils naturels de chaque côté de la parité",
               "equal": "intervalles égaux, symétriques autour de la parité",
               "manual": "seuils manuels"}


@dataclass
class GapClasses:
    """Classes of gaps around parity: `sides[i]` is 'below' or 'above' parity for class i, or
    'neutral' for a class that contains parity (symmetric classes with an odd k)."""
    classification: Classification
    sides: list[str]
    message: str | None = None


def _side_bins(y: np.ndarray, k: int, method: str) -> list[float]:
    """Upper bounds of k classes of y (one side of parity), k >= 1."""
    uniq = np.unique(y)
    if k <= 1 or len(uniq) <= 1:
        return [float(y.max())]
    if len(uniq) <= k:
        return [float(u) for u in uniq]
    if method == "jenks":
        bins = _jenks(y, k).bins
    else:
        bins = mapclassify.Quantiles(y, k=k).bins
    return sorted({float(b) for b in bins})


def gap_classes(codes, gaps, mode: str, k: int = 5, method: str = "quantiles",
                manual_breaks: list[float] | None = None) -> GapClasses | None:
    """Classes of gaps centred on parity (1 for a ratio, 0 for a difference): parity is always
    a class boundary, classes below it are drawn with the favourable hues of a diverging
    palette and classes above it with the unfavourable ones (see diverging_colors).

    - quantiles / jenks: the k classes are shared between the two sides in proportion to the
      number of QPVs on each side (at least one per non-empty side, at most 5 per side), then
      each side is cut by its own quantiles or natural breaks. No class is wasted on a range
      where no QPV lies (QPVs are usually all above or all below their commune).
    - equal: gap_classification (equal intervals symmetric around parity); for a ratio the
      symmetry is taken on the logarithm, so x0.5 and x2 are equally far from parity.
    - manual: the user's breaks, with parity added as a boundary.
    Ratios are classified on their logarithm, and the bounds given back as ratios."""
    s = pd.Series(list(gaps), index=list(codes), dtype="float64").dropna()
    if mode == "ratio":
        s = s.clip(lower=1e-3)   # a true 0 (value 0) stays in the lowest class, log-safe
    if s.empty:
        return None
    k = max(3, min(7, int(k)))
    ratio = mode == "ratio"
    t = np.log(s.to_numpy()) if ratio else s.to_numpy()
    back = np.exp if ratio else (lambda x: x)
    message = None
    if method == "equal":
        c = gap_classification(s.index, t, "difference", k)
        bins = [float(b) for b in c.bins]
        lower = c.lower
    else:
        if method == "manual":
            try:
                edges = sorted({float(b) for b in (manual_breaks or [])})
                if ratio and any(b <= 0 for b in edges):
                    raise ValueError("un rapport est toujours positif")
                edges = [float(np.log(b)) if ratio else b for b in edges]
                if not edges:
                    raise ValueError("aucun seuil saisi")
                edges = sorted(set(edges) | {0.0})
                if edges[-1] < t.max():
                    edges.append(float(t.max()))
                below = sum(1 for b in edges if b <= 0)
                if below > MAX_CLASSES_PER_SIDE or len(edges) - below > MAX_CLASSES_PER_SIDE:
                    raise ValueError(f"{MAX_CLASSES_PER_SIDE} classes au plus de chaque côté de la parité")
                bins = edges
            except ValueError as exc:
                message = f"Seuils manuels non utilisés ({exc}) : effectifs égaux de chaque côté de la parité."
                method = "quantiles"
        if method != "manual":
            lo, hi = t[t <= 0], t[t > 0]
            n = len(t)
            if len(lo) and len(hi):
                k_lo = max(1, int(round(k * len(lo) / n)))
                k_lo = min(k_lo, k - 1)
                k_hi = k - k_lo
            else:
                k_lo, k_hi = (k, 0) if len(lo) else (0, k)
            k_lo, k_hi = min(k_lo, MAX_CLASSES_PER_SIDE), min(k_hi, MAX_CLASSES_PER_SIDE)
            bins = []
            if len(lo):
                lo_bins = _side_bins(lo, k_lo, method)   # its last bound, max(lo), becomes parity
                bins += [b for b in lo_bins[:-1] if b < 0] + [0.0]
            if len(hi):
                bins += _side_bins(hi, k_hi, method)
            bins = sorted(set(bins))
        lower = float(min(t.min(), 0.0))
    edges = np.asarray(bins)
    yb = np.clip(np.searchsorted(edges, t, side="left"), 0, len(bins) - 1)
    counts = [int((yb == i).sum()) for i in range(len(bins))]
    lows = [lower] + list(bins[:-1])
    sides = ["below" if b <= 1e-12 else "neutral" if lo < -1e-12 else "above" for lo, b in zip(lows, bins)]
    cls = Classification(f"gap-{method}", [float(back(b)) for b in bins], float(back(lower)),
                         {c: int(b) for c, b in zip(s.index, yb)}, counts,
                         requested=k if method != "manual" and len(bins) < k else None)
    return GapClasses(cls, sides, message)


def class_labels(c: Classification, decimals: int = 1, unit: str = "") -> list[str]:
    """Classification.labels, except that a first class whose upper bound lies below the
    smallest value (a manual break under the minimum) reads "≤ bound" instead of an inverted range."""
    labels = c.labels(decimals, unit)
    if labels and c.bins[0] < c.lower:
        labels[0] = f"≤ {fmt(c.bins[0], c.label_decimals(decimals))}" + (f" {unit}" if unit else "")
    return labels
