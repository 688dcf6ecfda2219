"""Pure computations behind the Actions page (no SQL, no layout): actions grouped by theme axis,
density per territory, map points, need × action quadrants."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.analysis import density_per_10000

QUADRANT_LABELS = {
    "besoin_eleve_peu_actions": "Besoin élevé, peu d'actions",
    "besoin_eleve_actions": "Besoin élevé, actions nombreuses",
    "besoin_faible_peu_actions": "Besoin moindre, peu d'actions",
    "besoin_faible_actions": "Besoin moindre, actions nombreuses",
}


def theme_groups(action_themes: pd.DataFrame, parent_of: dict, selected=None) -> pd.DataFrame:
    """Distinct (action_id, group) pairs counted per theme.

    `action_themes` holds (action_id, theme_id) rows; `parent_of` maps a theme id to its axis
    (None for an axis). With no selection, an action counts once for each axis it carries
    (a sub-theme counts for its axis). With a selection, it counts for each selected theme it
    carries; a selected axis also matches the action's sub-themes of that axis."""
    cols = ["action_id", "group"]
    if action_themes is None or action_themes.empty:
        return pd.DataFrame(columns=cols)
    at = action_themes[["action_id", "theme_id"]].dropna()
    axis = at.theme_id.map({t: parent_of.get(t) or t for t in at.theme_id.unique()})
    if not selected:
        out = pd.DataFrame({"action_id": at.action_id.to_numpy(), "group": axis.to_numpy()})
    else:
        parts = []
        for sel in selected:
            hit = (at.theme_id == sel) | (axis == sel) if parent_of.get(sel) is None else (at.theme_id == sel)
            parts.append(pd.DataFrame({"action_id": at.action_id[hit].to_numpy(), "group": sel}))
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return out.drop_duplicates().reset_index(drop=True)


def action_density(action_codes: pd.DataFrame, territories: pd.DataFrame,
                   groups: pd.DataFrame | None = None, group_order=None) -> pd.DataFrame:
    """Actions and actions per 10,000 inhabitants for every territory.

    `action_codes`: (action_id, code) — the territory each action is counted in (code may be
    missing: such actions are not counted). `territories`: (code, name, population).
    Every territory is returned, with n = 0 when it has no action; density is NaN (never 0)
    where the population is unknown or 0. An action counts once per territory.
    With `groups` ((action_id, group), see theme_groups), one row per territory and group,
    in `group_order` (default: groups in order of appearance)."""
    terr = territories[["code", "name", "population"]].drop_duplicates("code").reset_index(drop=True)
    ac = action_codes[["action_id", "code"]].dropna().drop_duplicates()
    ac = ac[ac.code.isin(terr.code)]
    if groups is None:
        n = ac.groupby("code").action_id.nunique()
        out = terr.copy()
        out["n"] = out.code.map(n).fillna(0).astype(int)
    else:
        order = list(group_order) if group_order is not None else list(dict.fromkeys(groups.group))
        g = ac.merge(groups[["action_id", "group"]].drop_duplicates(), on="action_id")
        n = g.groupby(["code", "group"]).action_id.nunique()
        grid = pd.MultiIndex.from_product([terr.code, order], names=["code", "group"])
        counts = n.reindex(grid, fill_value=0).rename("n").reset_index()
        out = counts.merge(terr, on="code", how="left")[["code", "name", "population", "group", "n"]]
        out["n"] = out["n"].astype(int)
    out["density"] = density_per_10000(out["n"], out["population"])
    return out


def place_points(actions: pd.DataFrame, qpv_points: dict, commune_points: dict) -> pd.DataFrame:
    """Where to draw each action: its own coordinates when valid, else the centroid of its QPV,
    else the centroid of its commune. Returns action_id, lon, lat and `placement` in
    'coordonnees' | 'qpv' | 'commune', or None (and NaN coordinates) when the action cannot be placed.
    `qpv_points` / `commune_points` map a code to (lon, lat). Vectorised (100,000 actions at France scale)."""
    n = len(actions)
    lon = pd.to_numeric(actions.lon, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    lat = pd.to_numeric(actions.lat, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    own = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    out_lon, out_lat = np.where(own, lon, np.nan), np.where(own, lat, np.nan)
    placement = np.where(own, "coordonnees", None).astype(object)
    for col, points, name in (("qpv_code", qpv_points, "qpv"), ("commune_code", commune_points, "commune")):
        xy = actions[col].map(points) if n else pd.Series(dtype=object)
        has = (xy.notna().to_numpy() & (placement == None))  # noqa: E711  (object array)
        if has.any():
            pts = np.array(list(xy[has]), dtype="float64").reshape(-1, 2)
            out_lon[has], out_lat[has] = pts[:, 0], pts[:, 1]
            placement[has] = name
    return pd.DataFrame({"action_id": actions.action_id.to_numpy(), "lon": out_lon, "lat": out_lat,
                         "placement": placement})


@dataclass
class Quadrants:
    frame: pd.DataFrame        # code, need, density, high_need, low_action, quadrant (None if incomplete)
    need_median: float | None
    density_median: float | None

    def target(self) -> pd.DataFrame:
        """The high-need, low-action territories (proportionate universalism's first look)."""
        return self.frame[self.frame.quadrant == "besoin_eleve_peu_actions"]


def need_action_quadrants(codes, need, density, high_is_bad=True) -> Quadrants:
    """Split territories by the medians of a need indicator and of action density.

    High need: beyond the median on the unfavourable side (above it when a high value is
    unfavourable or neutral, below it when a high value is favourable). Low action: density at
    or below the median (so that, when most territories have no action, "no action" is low).
    Territories with a missing need value or density (secret, unknown population) get no
    quadrant and do not enter the medians."""
    df = pd.DataFrame({"code": list(codes), "need": pd.Series(list(need), dtype="float64"),
                       "density": pd.Series(list(density), dtype="float64")})
    ok = df.need.notna() & df.density.notna()
    if not ok.any():
        df["high_need"] = df["low_action"] = pd.Series([None] * len(df), dtype="object")
        df["quadrant"] = None
        return Quadrants(df, None, None)
    mn = float(df.need[ok].median())
    md = float(df.density[ok].median())
    high = df.need < mn if high_is_bad is False else df.need > mn
    low = df.density <= md
    df["high_need"] = high.where(ok)
    df["low_action"] = low.where(ok)
    quad = np.where(high, np.where(low, "besoin_eleve_peu_actions", "besoin_eleve_actions"),
                    np.where(low, "besoin_faible_peu_actions", "besoin_faible_actions"))
    df["quadrant"] = pd.Series(quad, index=df.index).where(ok, None)
    return Quadrants(df, mn, md)
