"""The Actions page's state and computations (pages/actions.py renders them): the URL state,
the filtered actions, densities per territory and theme, the points placed on the map. Reads
through data.access only; cached per DB version."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd
import shapely

from data import access
from data.action_analysis import action_density, place_points, theme_groups
from data.analysis import classify
from data.palettes import palette

LEVELS = {"qpv": "Quartiers prioritaires (QPV)", "commune": "Communes"}
LEVEL_SHORT = {"qpv": "QPV", "commune": "commune"}
HEAT_MODES = {"count": "Nombre d'actions", "density": "Actions pour 10 000 habitants"}
# Okabe-Ito colours (colour-blind safe); the tooltip and the list always name the themes.
AXIS_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
MULTI_AXIS = "plusieurs"
MULTI_COLOR = "#3d3d3d"
ZERO_COLOR = "#fdd0a2"   # "no action" stands apart from the blue density classes
PLACEMENT_TEXT = {
    "coordonnees": "Position : coordonnées de l'action",
    "qpv": "Position approchée : centre du QPV",
    "commune": "Position approchée : centre de la commune",
}
COMMUNE_LIMIT = 3000     # above this, commune densities need a narrower scope (never all of France)
DEFAULT_NEED = ("taux_pauvrete_60", "part_c2s", "part_allocataires_rsa")


# --- Reference data, cached per DB version ----------------------------------------------------

@lru_cache(maxsize=64)
def _cached(ver, name: str, *args):
    return getattr(access, name)(*args)


def ref(name: str, *args):
    """access.<name>(*args), cached until the DB file is replaced. Callers must not mutate it."""
    return _cached(access.version(), name, *args)


# --- URL state --------------------------------------------------------------------------------

@dataclass
class ViewState:
    level: str = "qpv"
    scope: tuple[str, str] | None = None
    themes: list[str] = field(default_factory=list)
    publics: list[str] = field(default_factory=list)
    years: tuple[int, int] | None = None
    porteurs: list[str] = field(default_factory=list)
    scheme: str | None = None
    need: str | None = None
    heat: str = "count"
    action: str | None = None


def _as_list(v) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, str):
        return [v]
    return [x for x in v if x not in (None, "")]



def known_scope(value) -> tuple[str, str] | None:
    """A scope from the URL when it names a territory of the DB, else the whole DB (the page
    says so, through components.scope.checked_scope)."""
    sc = access.parse_scope(value)
    return sc if sc is not None and access.territory(*sc) is not None else None


def first_of(v):
    lst = _as_list(v)
    return lst[0] if lst else None


def parse_years(raw, bounds: tuple[int, int] | None) -> tuple[int, int] | None:
    """'2019-2023' (or a list of two years) clipped to the years present; None = all years."""
    if not bounds:
        return None
    vals = raw if isinstance(raw, (list, tuple)) else str(raw or "").replace("–", "-").split("-")
    try:
        a, b = (int(vals[0]), int(vals[-1])) if len(vals) >= 1 and str(vals[0]).strip() else (None, None)
    except (TypeError, ValueError):
        return None
    if a is None:
        return None
    a, b = sorted((a, b))
    a, b = max(a, bounds[0]), min(b, bounds[1])
    if a > b or (a, b) == tuple(bounds):
        return None
    return (a, b)


def theme_ids() -> list[str]:
    return list(ref("themes").theme_id)


def need_options() -> pd.DataFrame:
    """Catalogue indicators that have QPV values (candidates for the need axis)."""
    ind = ref("indicators")
    has_qpv = ind.levels.map(lambda lv: isinstance(lv, (list, tuple, np.ndarray)) and "qpv" in list(lv))
    return ind[has_qpv].reset_index(drop=True)


def default_need(options: pd.DataFrame) -> str | None:
    if options.empty:
        return None
    for pref in DEFAULT_NEED:
        if pref in set(options.indicator_id):
            return pref
    bad = options[options.high_is_bad.fillna(False).astype(bool)]
    return (bad if len(bad) else options).indicator_id.iloc[0]


def parse_state(query: dict) -> ViewState:
    """URL query -> validated view state; unknown values are dropped, never trusted."""
    split = lambda key: [t for raw in _as_list(query.get(key)) for t in str(raw).split(",")]  # noqa: E731
    return checked_state(first_of(query.get("level")), first_of(query.get("scope")), split("theme"),
                         split("public"), first_of(query.get("years")), _as_list(query.get("porteur")),
                         first_of(query.get("scheme")), first_of(query.get("need")), first_of(query.get("heat")),
                         first_of(query.get("action")))


def checked_state(level, scope, themes, publics, years, porteurs, scheme, need, heat, action) -> ViewState:
    """A view state from raw values (the URL's or the controls'), each one kept only when it names
    something of the DB; anything else (a wrong type, an unknown code) is dropped or defaulted."""
    texts = lambda v: [x for x in (v if isinstance(v, list) else [v]) if isinstance(x, str) and x]  # noqa: E731
    text = lambda v: v if isinstance(v, str) and v else None  # noqa: E731
    themes_ok, publics_ok = set(theme_ids()), set(ref("publics").public_id)
    porteurs_ok, schemes_ok = set(ref("porteurs")), set(ref("schemes").scheme_id)
    needs = need_options()
    action = text(action)
    return ViewState(
        level=level if text(level) in LEVELS else "qpv",
        scope=known_scope(text(scope)),
        themes=list(dict.fromkeys(t for t in texts(themes) if t in themes_ok)),
        publics=list(dict.fromkeys(p for p in texts(publics) if p in publics_ok)),
        years=parse_years(years if isinstance(years, (list, str)) else None, ref("action_years")),
        porteurs=list(dict.fromkeys(p for p in texts(porteurs) if p in porteurs_ok)),
        scheme=text(scheme) if text(scheme) in schemes_ok else None,
        need=text(need) if text(need) in set(needs.indicator_id) else default_need(needs),
        heat=heat if text(heat) in HEAT_MODES else "count",
        action=action if action and access.action_record(action) is not None else None,
    )


def state_search(st: ViewState) -> str:
    """View state -> URL query string (defaults left out)."""
    pairs: list[tuple[str, str]] = []
    if st.level != "qpv":
        pairs.append(("level", st.level))
    if st.scope:
        pairs.append(("scope", access.scope_value(st.scope)))
    pairs += [("theme", t) for t in st.themes]
    pairs += [("public", p) for p in st.publics]
    if st.years:
        pairs.append(("years", f"{st.years[0]}-{st.years[1]}"))
    pairs += [("porteur", p) for p in st.porteurs]
    if st.scheme:
        pairs.append(("scheme", st.scheme))
    if st.need and st.need != default_need(need_options()):
        pairs.append(("need", st.need))
    if st.heat != "count":
        pairs.append(("heat", st.heat))
    if st.action:
        pairs.append(("action", st.action))
    return "?" + urlencode(pairs) if pairs else ""


def state_from_controls(level, scope, themes, publics, years, porteurs, scheme, need, heat, action) -> ViewState:
    """The page's controls -> view state, checked like the URL (any client can post any value)."""
    return checked_state(level, scope, themes, publics, years, porteurs, scheme, need, heat, action)


# --- Computations -----------------------------------------------------------------------------

def theme_parents() -> dict[str, str | None]:
    th = ref("themes")
    return {t: (p if isinstance(p, str) else None) for t, p in zip(th.theme_id, th.parent_id)}


def theme_labels() -> dict[str, str]:
    th = ref("themes")
    return dict(zip(th.theme_id, th.label))


def axes() -> list[str]:
    return [t for t, p in theme_parents().items() if p is None]


def axis_colors() -> dict[str, str]:
    cols = {a: AXIS_COLORS[i % len(AXIS_COLORS)] for i, a in enumerate(axes())}
    cols[MULTI_AXIS] = MULTI_COLOR
    return cols


def in_scope(acts: pd.DataFrame, scope) -> pd.DataFrame:
    """Actions located in the scope by their commune or by their QPV (an action known only by
    its QPV is kept when the QPV lies in the scope)."""
    if not scope:
        return acts
    communes = set(ref("territories", "commune", scope).code)
    qpvs = set(ref("territories", "qpv", scope).code)
    keep = acts.commune_code.isin(communes) | acts.qpv_code.isin(qpvs)
    return acts[keep].reset_index(drop=True)


def action_codes(acts: pd.DataFrame, level: str, qpv_commune: dict[str, str]) -> pd.DataFrame:
    """(action_id, code): the territory of `level` each action is counted in. At commune level an
    action known only by its QPV counts in the QPV's (main) commune."""
    if level == "qpv":
        codes = acts.qpv_code
    else:
        codes = acts.commune_code.where(acts.commune_code.notna(), acts.qpv_code.map(qpv_commune))
    return pd.DataFrame({"action_id": acts.action_id, "code": codes})


POP_INDICATOR = "population"


def resolve_population(vals: pd.DataFrame) -> pd.DataFrame:
    """Population per territory from access.values("population", ...) rows: the indicator's
    latest value when it is known ('ok'), else the territory's own population, else unknown
    (NaN, never 0). Keeps where each figure comes from: pop_origin 'indicateur' | 'referentiel'
    | None, with the indicator's perimeter, source and vintage."""
    ok = vals.status.eq("ok") & vals.value.notna()
    own = pd.to_numeric(vals.population, errors="coerce").astype("float64")
    out = pd.DataFrame({"code": vals.code, "name": vals.name})
    out["population"] = np.where(ok, vals.value.astype("float64"), own)
    out["pop_origin"] = np.where(ok, "indicateur", np.where(own.notna(), "referentiel", None))
    out["pop_perimeter"] = vals.perimeter.where(ok, "exact")
    out["pop_source"] = vals.source_title.where(ok)
    out["pop_publisher"] = vals.publisher.where(ok)
    out["pop_vintage"] = vals.vintage.where(ok)
    year = np.where(ok, vals.year_label.to_numpy(dtype=object),
                    np.where(own.notna(), "référentiel géographique", None)).astype(object)
    year[pd.isna(year)] = None
    out["pop_year"] = year
    out.loc[out.pop_origin.isna(), "pop_origin"] = None
    return out


def population_frame(level: str, scope) -> pd.DataFrame:
    return resolve_population(ref("values", POP_INDICATOR, level, scope, None))


def match_themes(acts: pd.DataFrame, selected: list[str], parents: dict) -> pd.Series:
    """True for actions carrying a selected theme; a selected axis matches its sub-themes."""
    if not selected:
        return pd.Series(True, index=acts.index)
    hit = theme_groups(exploded_themes(acts), parents, selected).action_id
    return acts.action_id.isin(set(hit))


def exploded_themes(acts: pd.DataFrame) -> pd.DataFrame:
    at = acts[["action_id", "theme_ids"]].explode("theme_ids").rename(columns={"theme_ids": "theme_id"})
    return at.dropna()


def action_axis(acts: pd.DataFrame, parents: dict) -> pd.Series:
    """One colour key per action: its axis, or MULTI_AXIS when it spans several axes."""
    out = []
    for ids in acts.theme_ids:
        ax = sorted({parents.get(t) or t for t in (ids if ids is not None else [])})
        out.append(ax[0] if len(ax) == 1 else (MULTI_AXIS if ax else MULTI_AXIS))
    return pd.Series(out, index=acts.index, dtype="object")


def centroids(level: str, scope=None) -> dict[str, tuple[float, float]]:
    return _centroids(access.version(), level, scope)


@lru_cache(maxsize=32)
def _centroids(ver, level: str, scope) -> dict[str, tuple[float, float]]:
    g = access.geometries(level, scope)
    if g.empty:
        return {}
    pts = shapely.centroid(g.geometry.values)
    return {c: (round(float(p.x), 5), round(float(p.y), 5)) for c, p in zip(g.code, pts)}


def placements() -> pd.DataFrame:
    """Where every action of the DB is drawn (index action_id: lon, lat, placement, axis), computed
    once per DB version (vectorised): the filters then only select rows."""
    return _placements(access.version())


@lru_cache(maxsize=2)
def _placements(ver) -> pd.DataFrame:
    acts = ref("actions")
    placed = place_points(acts, centroids("qpv"), centroids("commune"))
    placed["axis"] = action_axis(acts, theme_parents()).to_numpy()
    return placed.set_index("action_id")


def years_text(y0, y1) -> str:
    if y0 is None or (isinstance(y0, float) and math.isnan(y0)):
        return "n.d."
    y0 = int(y0)
    if y1 is None or pd.isna(y1) or int(y1) == y0:
        return str(y0)
    return f"{y0}–{int(y1)}"


def clean_value(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA else v


def json_records(df: pd.DataFrame) -> list[dict]:
    """DataFrame -> JSON-safe records (NaN/NA -> None, numpy scalars -> Python)."""
    out = df.astype(object).where(df.notna(), None)
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in out.to_dict("records")]


def density_classes(dens: pd.DataFrame):
    """Zero actions get their own class (0); positive densities are classed by quantiles
    (1..k); an unknown population gives status 'missing', a territory where no action list is
    loaded status 'unknown' (never a class, never 0)."""
    listed = dens.listed if "listed" in dens else pd.Series(True, index=dens.index)
    known = dens[dens.density.notna() & listed]
    pos = known[known.density > 0]
    cl = classify(pos.code, pos.density, "quantiles", 5) if len(pos) else None
    k = cl.k if cl else 0
    colors = [ZERO_COLOR] + palette("Blues", k + 1)[1:k + 1]
    classes = {c: 0 for c in known.code[known.density == 0]}
    if cl:
        classes.update({c: i + 1 for c, i in cl.classes.items()})
    status = {c: "missing" for c in dens.code[dens.density.isna() & listed]}
    status.update({c: "unknown" for c in dens.code[~listed]})
    return cl, colors, classes, status


def mark_unlisted(df: pd.DataFrame, level: str) -> pd.DataFrame:
    """Counts where no action list is loaded are unknown, not 0: `listed` False, n and density
    NA (data.local_health: the action list's declared territory)."""
    if level == "qpv":
        known = access.qpv_registry_known("actions")
        listed = df.code.map(known).fillna(False).astype(bool)
    else:
        covered = access.registry_communes("actions")
        listed = df.code.isin(covered)
    out = df.copy()
    out["listed"] = listed.to_numpy()
    out["n"] = out["n"].astype("Int64").mask(~out["listed"])
    out["density"] = out["density"].mask(~out["listed"])
    return out


@dataclass
class View:
    state: ViewState
    acts: pd.DataFrame          # filtered actions in scope
    n_total: int                # all actions in the DB
    terr: pd.DataFrame          # territories of the level in scope
    dens: pd.DataFrame          # per territory: n, density
    by_theme: pd.DataFrame      # per territory and group: n, density
    groups: list[str]           # heatmap rows (theme ids)
    placed: pd.DataFrame        # action_id, lon, lat, placement
    qpv_dens: pd.DataFrame      # QPV densities (for the scatter)
    too_many: bool = False      # commune level over too large a scope
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key, build):
        """build() computed once per view (views are shared between requests: never mutated)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]


def filtered_actions(st: ViewState) -> pd.DataFrame:
    """The actions passing the filters of `st` (themes, publics, years, porteurs, scheme, scope)."""
    # Themes are matched here, not through access.actions(themes_=...): that SQL filter fails
    # (alias "at" is a DuckDB keyword), see the report.
    acts = access.actions(publics_=st.publics or None, years=st.years,
                          porteurs=st.porteurs or None, scheme_id=st.scheme)
    return in_scope(acts[match_themes(acts, st.themes, theme_parents())].reset_index(drop=True), st.scope)


def compute(st: ViewState) -> View:
    """The view of a state, computed once per (DB version, state) and shared: page turns, sorts and
    the map's point requests reuse it. Callers must not mutate it."""
    from dataclasses import replace

    v = _compute(access.version(), state_search(replace(st, action=None)))
    return v if v.state == st else replace(v, state=st)


@lru_cache(maxsize=16)
def _compute(ver, search: str) -> View:
    return compute_uncached(parse_state(parse_qs(search.lstrip("?"))))


def compute_uncached(st: ViewState) -> View:
    parents = theme_parents()
    acts = filtered_actions(st)
    qpvs = population_frame("qpv", st.scope)
    all_qpvs = ref("territories", "qpv")
    qpv_commune = dict(zip(all_qpvs.code, all_qpvs.commune))
    terr = qpvs if st.level == "qpv" else population_frame("commune", st.scope)
    too_many = st.level == "commune" and len(terr) > COMMUNE_LIMIT
    codes = action_codes(acts, st.level, qpv_commune)
    dens = mark_unlisted(action_density(codes, terr), st.level)
    groups_order = st.themes or axes()
    grp = theme_groups(exploded_themes(acts), parents, st.themes or None)
    by_theme = mark_unlisted(action_density(codes, terr, grp, groups_order), st.level)
    placed = placements().reindex(acts.action_id.to_numpy()).rename_axis("action_id").reset_index()
    qpv_dens = dens if st.level == "qpv" else \
        mark_unlisted(action_density(action_codes(acts, "qpv", qpv_commune), qpvs), "qpv")
    return View(st, acts, ref("counts")["actions"], terr, dens, by_theme, groups_order, placed,
                qpv_dens, too_many)
