"""The Inégalités view: for a state of the page's controls, each 2024 QPV's value, its
reference and gap, the classes and colours, the legend's rows, the table's rows, and the
compact style that recolours the map (one character per QPV).

`compute_view(state)` is memoized per DB version (data.views.memo_view): fifty people
clicking through the same indicators at a meeting cost one computation each. The state
excludes what does not change the figures (the selected QPV, the map position).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from data import palettes as pal
from data import access
from data import analysis as an
from data import stats
from data.memory import fold, tables
from data.provenance import parse_period, period_token
from data.views import intervals, memo_view

MODES = {"valeur": "Valeur de l'indicateur", "ecart": "Écart à la référence"}
STATUS_TEXT = {"ok": "disponible", "secret": "secret statistique", "missing": "pas de donnée"}
APART_TEXT = {"secret": "hors classes : secret statistique", "missing": "hors classes : pas de donnée",
              "noref": "hors classes : référence non disponible"}
CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")
# One character per QPV in the map's style: its class ("0".."6"), or why it has none.
APART_CHAR = {"secret": "s", "missing": "m", "noref": "n"}
PAGE_SIZE = 15


# --- State (URL <-> view) -------------------------------------------------------------------

@dataclass(frozen=True)
class ViewState:
    indicator: str | None = None
    year: int | None = None          # a period (data.provenance): year described, or undated vintage
    method: str = "quantiles"
    k: int = 5
    palette: str | None = None
    breaks: str = ""
    mode: str = "valeur"
    ref: str = "commune"
    gap: str = "ratio"
    scope: str = "france"
    qpv: str | None = None
    view: str | None = None          # "lat,lon,zoom"
    ci: str = stats.DEFAULT_LEVEL    # confidence level of the intervals and tests (data.stats.LEVELS)

    @property
    def figures_key(self) -> "ViewState":
        """The state without what does not change the figures (selection, map position)."""
        return replace(self, qpv=None, view=None)


def qpv_indicators() -> pd.DataFrame:
    """Catalogue indicators with at least one published value on QPVs (shared: read-only)."""
    def build():
        ind = access.indicators()
        return ind[ind["levels_with_values"].map(lambda lv: "qpv" in lv)].reset_index(drop=True)
    return tables().memo("qpv_indicators", build)


DEFAULT_INDICATOR = "taux_pauvrete_60"


def default_indicator(cat: pd.DataFrame) -> str | None:
    """What a page opens on: the poverty rate when QPVs have it with a reference, else the first
    indicator (catalogue order) with a reference, else the first with QPV values at all."""
    ids = list(cat.indicator_id)
    with_ref = [i for i in ids if reference_levels_with_values(i)]
    for pool in (with_ref, ids):
        if DEFAULT_INDICATOR in pool:
            return DEFAULT_INDICATOR
        if pool:
            return pool[0]
    return None


def default_reference(indicator: str | None) -> str:
    """The nearest reference level that has values of the indicator (commune first)."""
    avail = reference_levels_with_values(indicator) if indicator else []
    return avail[0] if avail else "commune"


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def parse_view(text) -> tuple[float, float, float] | None:
    try:
        lat, lon, zoom = (float(x) for x in str(text).split(","))
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) for x in (lat, lon, zoom)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= zoom <= 20):
        return None
    return lat, lon, zoom


def _one(value):
    """A repeated URL parameter (?ref=a&ref=b) arrives as a list: its first value counts."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


def parse_state(query: dict | None = None, catalogue: pd.DataFrame | None = None) -> ViewState:
    """A valid ViewState from URL query parameters (anything invalid falls back to a default)."""
    q = {k: _one(v) for k, v in (query or {}).items()}
    q = {k: v for k, v in q.items() if v not in (None, "")}
    cat = qpv_indicators() if catalogue is None else catalogue
    ids = list(cat.indicator_id)
    indicator = q.get("indicator") if q.get("indicator") in ids else default_indicator(cat)
    years = access.indicator_years(indicator, "qpv") if indicator else []
    year = parse_period(q.get("year"))
    year = year if year in years else (access.default_period(indicator, "qpv") if years else None)
    mode = q.get("mode") if q.get("mode") in MODES else "valeur"
    method = q.get("method") if q.get("method") in an.METHODS else "quantiles"
    k = min(7, max(3, _int(q.get("k"), 5)))
    high_is_bad = high_is_bad_of(cat, indicator)
    palette = q.get("palette")
    if palette not in pal.palettes_for(mode):
        palette = default_palette(mode, high_is_bad)
    ref = q.get("ref") if q.get("ref") in an.REFERENCE_LEVELS else default_reference(indicator)
    gap = q.get("gap") if q.get("gap") in an.GAP_TYPES else "ratio"
    sc = access.parse_scope(q.get("scope"))
    scope = access.scope_value(sc if sc is None or access.territory(*sc) is not None else None)
    qpv = q.get("qpv") if isinstance(q.get("qpv"), str) and CODE_RE.match(q["qpv"]) else None
    view = q.get("view") if parse_view(q.get("view")) else None
    breaks = str(q.get("breaks", ""))[:200]
    return ViewState(indicator, year, method, k, palette, breaks, mode, ref, gap, scope, qpv, view,
                     stats.level_token(q.get("ic")))


def state_params(st: ViewState) -> dict:
    params = {"indicator": st.indicator, "year": period_token(st.year), "mode": st.mode, "ref": st.ref, "gap": st.gap,
              "method": st.method, "k": st.k, "palette": st.palette,
              "breaks": st.breaks if st.method == "manual" else None,
              "scope": st.scope, "qpv": st.qpv, "view": st.view,
              "ic": st.ci if st.ci != stats.DEFAULT_LEVEL else None}
    return {k: v for k, v in params.items() if v not in (None, "")}


def state_query(st: ViewState) -> str:
    """The URL query string of a view (what a shared link restores)."""
    return "?" + urlencode(state_params(st))


def default_palette(mode: str, high_is_bad) -> str:
    return "PuOr" if mode == "ecart" else pal.default_palette(high_is_bad)


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (not isinstance(v, str) and pd.isna(v))


def high_is_bad_of(cat: pd.DataFrame | None, indicator: str | None):
    """True / False: is a high value unfavourable; None: neutral or unknown indicator."""
    ind = access.indicator(indicator) if indicator else None
    v = None if ind is None else ind.get("high_is_bad")
    return None if _nan(v) else bool(v)


# --- Figures --------------------------------------------------------------------------------

def figures(st: ViewState) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per 2024 QPV in scope: its value, its reference (chosen level) and the gap;
    and the reference territories' rows."""
    scope = access.parse_scope(st.scope)
    ind = access.indicator(st.indicator)
    vals = intervals.with_intervals(access.values(st.indicator, "qpv", scope, st.year), ind, st.ci, "qpv", scope)
    qpvs = access.territory_frame("qpv", scope)
    france = list(access.territory_frame("france")["code"])
    ensemble = access.ensemble_codes()
    if st.ref == "ensemble_qpv" and len(ensemble) > 1:   # the all-QPV figure of the year, current geography first
        known = set(access.reference_values_at(st.indicator, st.ref, ensemble, st.year)["code"])
        ensemble = [c for c in ensemble if c in known] or ensemble
    ref_of = an.reference_codes(qpvs, st.ref, france, ensemble)
    refs = access.reference_values_at(st.indicator, st.ref, sorted({c for c in ref_of.values() if c}), st.year)
    df = an.gap_frame(vals, ref_of, refs, st.gap, access.territory_names(st.ref))
    df["communes"] = df.code.map(access.qpv_commune_names(list(df.code)) if len(df) else {}).fillna("")
    # each QPV tested against its own reference (the chosen level), on its interval
    df["test"] = intervals.tested(df, df["ref_value"].to_numpy(float), intervals.polarity(ind))
    return df, refs


def display_status(df: pd.DataFrame, mode: str) -> pd.Series:
    """'ok', 'secret', 'missing' or 'noref' (écart mode only) for each QPV."""
    if mode == "ecart":
        return df["gap_status"]
    return df["status"].where(df["status"].isin(["ok", "secret"]), "missing")


def manual_breaks(st: ViewState):
    """(breaks, message): the typed manual breaks, or None and why they are not used."""
    try:
        breaks = an.parse_breaks(st.breaks)
        if not breaks:
            raise ValueError("aucun seuil saisi")
        if len(breaks) > 6:
            raise ValueError("6 seuils au plus, soit 7 classes")
        return breaks, None
    except ValueError as exc:
        return None, str(exc)


def classification(st: ViewState, df: pd.DataFrame):
    """(Classification or None, sides or None, message or None). In écart mode classes are
    centred on parity (an.gap_classes) and `sides` tells which side of parity each class is.
    Manual breaks that cannot be read fall back to quantiles, with a message."""
    breaks, message = (None, None)
    if st.method == "manual":
        breaks, why = manual_breaks(st)
        if breaks is None:
            message = f"Seuils manuels non utilisés ({why}) : classes par quantiles."
    method = st.method if breaks is not None or st.method != "manual" else "quantiles"
    if st.mode == "ecart":
        gc = an.gap_classes(df.code, df.gap, st.gap, st.k, method, breaks)
        if gc is None:
            return None, None, message
        return gc.classification, gc.sides, gc.message or message
    vals = pd.to_numeric(df.value, errors="coerce").where(df.status.eq("ok"))
    return an.classify(df.code, vals, method, st.k, breaks), None, message


def decimals_of(ind: dict) -> int:
    d = ind.get("decimals")
    return 1 if _nan(d) else int(d)


def units(st: ViewState, ind: dict) -> tuple[str, int]:
    """(unit, decimals) of what is mapped."""
    if st.mode == "ecart":
        if st.gap == "ratio":
            return "", 2
        return ("pts" if ind["unit"] == "%" else ind["unit"]), decimals_of(ind)
    return ind["unit"], decimals_of(ind)


def reference_levels_with_values(indicator: str) -> list[str]:
    """Reference levels (commune ... France, all QPVs) with at least one published value of the indicator."""
    levels = tables().memo("levels_of", lambda: dict(zip(access.indicators()["indicator_id"],
                                                         access.indicators()["levels_with_values"])))
    lv = levels.get(indicator, [])
    return [level for level in an.REFERENCE_LEVELS if level in lv]


def perimeter_text(perimeter, geography) -> str:
    if perimeter == "perimetre_2015":
        return "2015 (contour 2024 modifié, ou statut incertain)"
    if isinstance(geography, str) and geography == "QPV2015":
        return "2015 (inchangé en 2024)"
    if isinstance(geography, str) and geography not in ("QPV2024", ""):
        return geography
    return "2024"


@dataclass(frozen=True)
class View:
    """Everything the map, legend, table and notes show for a state (shared: read-only)."""
    state: ViewState
    indicator: dict
    frame: pd.DataFrame
    refs: pd.DataFrame
    status: pd.Series
    classification: an.Classification | None
    colors: list[str]
    labels: list[str]
    message: str | None
    palette: str
    unit: str
    decimals: int
    ref_levels: list[str]
    codes: list[str]                 # the scope's QPV codes, sorted: the order of `cls`
    cls: str                         # one character per code: class index or APART_CHAR
    _position: dict = field(default_factory=dict, repr=False)     # code -> row of frame
    _memo: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, key):       # v["frame"], as the page's helpers read it
        return getattr(self, key)

    def memo(self, key, build):
        """build() once for this view (its renderings, sort orders...)."""
        try:
            return self._memo[key]
        except KeyError:
            return self._memo.setdefault(key, build())

    def record(self, i: int) -> dict:
        """Row i of the table (frame order)."""
        c = self.memo("columns", lambda: _columns(self))
        return {k: col[i] for k, col in c.items()}

    def class_text(self, code: str) -> str | None:
        """The map class of one QPV in words ("2 : de … à …", or why it has none), None when the
        QPV is not in the view."""
        i = self._position.get(code)
        return None if i is None else self.record(i)["classe"] or None

    @property
    def records(self) -> list[dict]:
        """Every row of the table, in name order."""
        return self.memo("records", lambda: [self.record(i) for i in range(len(self.frame))])


def _words(values, ok, status, secret_word: str = "secret", decimals: int = 6) -> np.ndarray:
    """Numbers where known (ok), rounded as displayed, else "secret" or "n.d." in words: never a 0."""
    out = np.empty(len(values), dtype=object)
    good = ok & ~np.isnan(values)
    out[good] = [round(float(x), decimals) for x in values[good]]
    out[~good] = np.where(status[~good] == "secret", secret_word, "n.d.")
    return out


def _bounds(values, status, decimals: int) -> np.ndarray:
    """Interval bounds rounded as displayed; "non calculable" for a value without an interval."""
    out = _words(values, np.isfinite(values), status, decimals=decimals)
    out[~np.isfinite(values) & (status == "ok")] = "non calculable"
    return out


def _columns(v: View) -> dict[str, np.ndarray]:
    """The table's columns (display values: numbers, or "secret" / "n.d." in words)."""
    f = v.frame
    status = f["status"].to_numpy(dtype=object)
    ref_status = f["ref_status"].to_numpy(dtype=object)
    gap_status = f["gap_status"].to_numpy(dtype=object)
    classes = v.classification.classes if v.classification else {}
    disp = v.status.to_numpy(dtype=object)
    codes = f["code"].to_numpy(dtype=object)
    d = decimals_of(v.indicator)
    gap_d = 2 if v.state.gap == "ratio" else d
    labels = lambda col: np.array([y if isinstance(y, str) else "" for y in f[col].to_numpy(dtype=object)],  # noqa: E731
                                  dtype=object)
    return {
        "id": codes, "name": f["name"].to_numpy(dtype=object), "code": codes,
        "communes": f["communes"].to_numpy(dtype=object),
        "value": _words(f["value"].to_numpy(dtype=float), status == "ok", status, decimals=d),
        "statut": np.array([STATUS_TEXT.get(x, x) for x in status], dtype=object),
        "year": labels("year_label"),
        "ref_name": np.array([x if isinstance(x, str) else "n.d." for x in f["ref_name"].to_numpy(dtype=object)],
                             dtype=object),
        "ref_value": _words(f["ref_value"].to_numpy(dtype=float), ref_status == "ok", ref_status, decimals=d),
        "ref_year": labels("ref_year_label"),
        "gap": _words(f["gap"].to_numpy(dtype=float), gap_status == "ok", gap_status, "n.d.", decimals=gap_d),
        "ci_lo": _bounds(f["ci_lo"].to_numpy(dtype=float), status, d),
        "ci_hi": _bounds(f["ci_hi"].to_numpy(dtype=float), status, d),
        "test": np.array([stats.outcome_text(o) for o in f["test"].to_numpy(dtype=object)], dtype=object),
        "classe": np.array([f"{classes[c] + 1} : {v.labels[classes[c]]}" if s == "ok" and c in classes
                            else APART_TEXT.get(s, "") for c, s in zip(codes, disp)], dtype=object),
        "perimetre": np.array([perimeter_text(p, geo) for p, geo in zip(f["perimeter"].to_numpy(dtype=object),
                                                                      f["geography"].to_numpy(dtype=object))],
                              dtype=object)}


@memo_view(maxsize=256)
def _compute(st: ViewState) -> View:
    ind = access.indicator(st.indicator)
    df, refs = figures(st)
    status = display_status(df, st.mode)
    cls, sides, message = classification(st, df)
    high_is_bad = ind.get("high_is_bad")
    high_is_bad = None if _nan(high_is_bad) else bool(high_is_bad)
    scheme = st.palette if st.palette in pal.palettes_for(st.mode) else default_palette(st.mode, high_is_bad)
    if not cls:
        colors = []
    elif sides is not None:
        colors = pal.diverging_colors(scheme, sides, high_is_bad)
    else:
        colors = pal.palette(scheme, cls.k, high_is_bad)
    unit, decimals = units(st, ind)
    labels = an.class_labels(cls, decimals, unit) if cls else []
    classes = cls.classes if cls else {}
    frame_codes = df["code"].to_numpy(dtype=object)
    codes = sorted(frame_codes)
    by_code = dict(zip(frame_codes, status.to_numpy(dtype=object)))
    chars = []
    for c in codes:
        s = by_code.get(c, "missing")
        i = classes.get(c)
        chars.append(str(i) if s == "ok" and i is not None else APART_CHAR.get(s, "m"))
    return View(st, ind, df, refs, status, cls, colors, labels, message, scheme, unit, decimals,
                reference_levels_with_values(st.indicator), codes, "".join(chars),
                {c: i for i, c in enumerate(frame_codes)})


def compute_view(st: ViewState) -> View:
    """The view of a state (memoized per DB version; the selection does not count)."""
    return _compute(st.figures_key)


def compute_view_uncached(st: ViewState) -> View:
    return _compute.uncached(st.figures_key)


# --- What the browser receives ----------------------------------------------------------------

def style(v: View, selected: str | None = None, with_codes: bool = True) -> dict:
    """The map's style data (assets/atlas.js, atlas.choropleth): `cls` holds one character per
    code of `codes` (sent with the layout and on scope changes only), `tip` the URL that
    answers a tooltip (tooltip text is fetched when a tooltip opens)."""
    out = {"cls": v.cls, "colors": list(v.colors), "tip": "/tooltip/inegalites" + state_query(v.state)}
    if with_codes:
        out["codes"] = list(v.codes)
    if selected is not None or with_codes:
        out["selected"] = selected
    return out


def tooltip(v: View, code: str) -> list[str] | None:
    """Plain-text tooltip lines of one QPV (escaped by the browser), None when not in the view."""
    i = v._position.get(code)
    if i is None:
        return None
    r = v.frame.iloc[i]
    ind, st = v.indicator, v.state
    ref_lvl = an.REFERENCE_LEVELS[st.ref]
    ref_label = f"{ref_lvl} {r['ref_name']}" if isinstance(r["ref_name"], str) else ref_lvl
    lines = an.tooltip_lines(ind["short_label"] or ind["label"], r["year_label"], r["value"],
                             r["status"], ind["unit"], decimals_of(ind), ref_label, r["ref_value"], r["ref_status"],
                             r["ref_year_label"], r["gap"], r["gap_status"], st.gap, r["perimeter"])
    return lines + interval_lines(v, r)


def interval_lines(v: View, r) -> list[str]:
    """The tooltip's lines on the interval and the tested comparison with the QPV's reference."""
    if r["status"] != "ok":
        return []
    level = stats.LEVEL_LABELS[v.state.ci]
    text = intervals.interval_text(r["ci_lo"], r["ci_hi"], decimals_of(v.indicator), v.indicator["unit"])
    if text is None:
        return [r["ci_why"][:1].upper() + r["ci_why"][1:]] if r["ci_why"] else []
    approx = " (dénominateur approché)" if r["ci_basis"] == "approx" else ""
    return [f"Intervalle de confiance à {level} : {text}{approx}",
            f"Comparaison testée avec la référence : {stats.outcome_text(r['test'])}"]


NUMERIC_COLUMNS = {"value", "ref_value", "gap", "ci_lo", "ci_hi"}
SORTABLE = {"name", "code", "communes", "value", "statut", "year", "ref_name", "ref_value", "ref_year", "gap",
            "classe", "perimetre", "ci_lo", "ci_hi", "test"}


def _order(v: View, sort_by) -> np.ndarray:
    """Row order of the table for a DataTable sort_by ([{column_id, direction}]): numbers as
    numbers, secret or unavailable values last whatever the direction, ties by name."""
    key = tuple((s.get("column_id"), s.get("direction")) for s in (sort_by or []) if isinstance(s, dict))
    key = tuple(k for k in key if k[0] in SORTABLE)[:1]

    def build():
        if not key:
            return np.arange(len(v.frame))
        col, direction = key[0]
        cols = v.memo("columns", lambda: _columns(v))
        names = v.memo("folded_names", lambda: np.array([fold(x) for x in cols["name"]]))
        vals = cols[col]
        if col in NUMERIC_COLUMNS:
            num = np.array([x if isinstance(x, (int, float)) and not isinstance(x, bool) else np.nan
                            for x in vals], dtype=float)
            known = ~np.isnan(num)
            main = -num if direction == "desc" else num
            return np.lexsort((names, np.where(known, main, 0), ~known))
        order = np.lexsort((names, np.array([fold(x) for x in vals])))
        return order[::-1] if direction == "desc" else order
    return v.memo(("order", key), build)


def page_count(v: View, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(len(v.frame) / size))


def table_page(v: View, sort_by=None, page: int = 0, size: int = PAGE_SIZE) -> list[dict]:
    order = _order(v, sort_by)
    page = max(0, min(int(page or 0), page_count(v, size) - 1))
    return [v.record(i) for i in order[page * size:(page + 1) * size]]


def page_of(v: View, code: str | None, sort_by=None, size: int = PAGE_SIZE) -> int | None:
    """The table page that holds a QPV, as currently sorted."""
    i = v._position.get(code) if code else None
    if i is None:
        return None
    where = np.flatnonzero(_order(v, sort_by) == i)
    return int(where[0]) // size if len(where) else None


def table_rows(v: View, sort_by=None) -> list[dict]:
    """Every row, as sorted (what the CSV/XLSX export holds)."""
    return [v.record(i) for i in _order(v, sort_by)]


def interval_columns(v: View, codes) -> dict[str, list]:
    """What an export adds to each row (by QPV code) about its interval: the confidence level, and
    how the interval was computed (method, counts, an approximated denominator) or why there is none."""
    sp = intervals.spec(v.indicator)
    f = v.frame
    level, method = [], []
    for code in codes:
        i = v._position.get(code)
        r = f.iloc[i] if i is not None else None
        has = r is not None and r["ci_basis"] in ("counts", "approx")
        level.append(stats.LEVEL_LABELS[v.state.ci] if has else "")
        method.append(intervals.basis_text(sp, r["ci_basis"], r["ci_num"], r["ci_den"]) if has
                      else (r["ci_why"] if r is not None else ""))
    return {"Niveau de confiance": level, "Méthode de l'intervalle (effectifs)": method}


TEST_RULE = ("Comparaison testée : « Similaire » quand la valeur de la référence est dans l'intervalle de confiance du "
             "quartier, sinon plus haut ou plus bas (« Meilleur » / « Moins bon » selon le sens de l'indicateur) ; "
             "« Non testé » sans intervalle ou pour une valeur secrète.")
