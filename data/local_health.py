"""Local health schemes (ASV, CLS, CLSM, CPTS) and health actions, read from memory: the ASV
framework's themes and publics, schemes and the territories they cover, QPV coverage, actions and
their filters. Part of the read-only data layer; `data.access` re-exports these names, so pages
ask one module for everything."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import shapely

from data.access import _PARENT_COLUMN, _level_in, _sql, version
from data.memory import tables


def themes() -> pd.DataFrame:
    return tables().theme.copy()


def publics() -> pd.DataFrame:
    return tables().public_group.copy()


_SCHEME_COLUMNS = ["scheme_id", "kind", "name", "porteur", "year_created", "status", "contact_url", "source_id"]


def schemes(kind: str | None = None) -> pd.DataFrame:
    sc = tables().scheme
    if kind:
        sc = sc[sc["kind"] == kind]
    return sc[_SCHEME_COLUMNS].reset_index(drop=True)


def scheme(scheme_id: str) -> dict | None:
    sc = tables().scheme
    row = sc[sc["scheme_id"] == scheme_id]
    return None if row.empty else row.iloc[0].to_dict()


def scheme_territories(scheme_id: str | None = None) -> pd.DataFrame:
    t = tables()
    st = t.scheme_territory
    if scheme_id:
        st = st[st["scheme_id"] == scheme_id]
    out = st.reset_index(drop=True)
    out.insert(1, "kind", out["scheme_id"].map(t.scheme.set_index("scheme_id")["kind"]))
    out["name"] = [t.names(lv).get(c) for lv, c in zip(out["level"], out["code"])]
    keys = ["level", "name"] if scheme_id else ["scheme_id", "level", "name"]
    return out.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def _active_cover() -> pd.DataFrame:
    """(qpv_code, scheme_id, kind, name): each active scheme and the 2024 QPVs it covers, directly
    (QPV listed) or through one of their communes."""
    t = tables()

    def build():
        sc = t.scheme[~t.scheme["status"].fillna("").isin(["terminé", "termine"])][["scheme_id", "kind", "name"]]
        st = t.scheme_territory.merge(sc, on="scheme_id")
        direct = st[st["level"] == "qpv"].rename(columns={"code": "qpv_code"})
        via = st[st["level"] == "commune"].merge(t.qpv_commune, left_on="code", right_on="commune_code")
        cols = ["qpv_code", "scheme_id", "kind", "name"]
        return pd.concat([direct[cols], via[cols]]).drop_duplicates().reset_index(drop=True)
    return t.memo("active_cover", build)


def qpv_coverage(within: tuple[str, str] | None = None) -> pd.DataFrame:
    """For each 2024 QPV: the schemes covering it, directly (QPV listed) or through its commune(s),
    and whether the scheme registry is complete there (`registry_known`)."""
    q = _level_in("qpv", within)[["code", "name", "population", "commune"]].reset_index(drop=True)
    cov = _active_cover()
    cov = cov[cov["qpv_code"].isin(q["code"])]
    by = cov.groupby("qpv_code", sort=False)
    kinds = by["kind"].agg(set)
    for k in ("ASV", "CLS", "CLSM", "CPTS"):
        q[f"has_{k.lower()}"] = q["code"].map(lambda c, k=k: k in kinds.get(c, ())).where(q["code"].isin(kinds.index))
    known = qpv_registry_known("schemes")
    q["registry_known"] = q["code"].map(known).fillna(False).astype(bool)
    asv = cov[cov["kind"] == "ASV"].groupby("qpv_code")["name"].agg(lambda s: " ; ".join(sorted(set(s))))
    q["asv_names"] = q["code"].map(asv).astype(object)
    ids = by["scheme_id"].agg(lambda s: sorted(set(s)))
    q["scheme_ids"] = q["code"].map(ids)
    return q.sort_values("name", kind="mergesort").reset_index(drop=True)


# --- Where the registries are complete ------------------------------------------------------
# A QPV's coverage by the schemes and its actions are known only where the scheme registry or the
# action list was loaded complete (registry_coverage, declared at import or by default the
# communes a file names). Elsewhere they are unknown: never "sans ASV", never 0 actions.

REGISTRY_KINDS = ("schemes", "actions")
NOT_LOADED = {"schemes": "registre des dispositifs non chargé pour ce territoire",
              "actions": "actions non recensées : aucune liste d'actions chargée pour ce territoire"}


def registry_communes(kind: str) -> frozenset:
    """Communes where the registry of `kind` ('schemes' or 'actions') is complete."""
    t = tables()

    def build():
        rc = t.registry_coverage
        rc = rc[rc["kind"] == kind]
        communes = t.level("commune")
        out = set(rc.loc[rc["level"] == "commune", "code"])
        for level in ("region", "departement", "epci"):
            codes = set(rc.loc[rc["level"] == level, "code"])
            if codes:
                out |= set(communes.loc[communes[level].isin(codes), "code"])
        return frozenset(out)
    return t.memo(("registry_communes", kind), build)


def registry_loaded(kind: str) -> bool:
    """Whether any registry of `kind` was loaded at all."""
    return bool((tables().registry_coverage["kind"] == kind).any())


def qpv_registry_known(kind: str) -> dict[str, bool]:
    """2024 QPV code -> whether the registry of `kind` is complete on all of its communes."""
    t = tables()

    def build():
        covered = registry_communes(kind)
        of = t.communes_of_qpv()
        q = t.level("qpv")
        return {code: bool(covered) and all(c in covered for c in (of.get(code) or ([main] if isinstance(main, str)
                                                                                      else [None])))
                for code, main in zip(q["code"], q["commune"])}
    return t.memo(("qpv_registry_known", kind), build)


def territory_registry_known(kind: str, level: str, code: str) -> bool:
    """Whether the registry of `kind` is complete on a whole territory (QPV, commune, EPCI...)."""
    if level == "qpv":
        return qpv_registry_known(kind).get(code, False)
    if level == "scheme":
        return True
    covered = registry_communes(kind)
    if level == "commune":
        return code in covered
    communes = _level_in("commune", (level, code) if level != "france" else None)["code"]
    return bool(len(communes)) and all(c in covered for c in communes)


def registry_state(kind: str, scope=None) -> str:
    """'complete' (every QPV of the scope known), 'partial', or 'absent' (none known)."""
    known = qpv_registry_known(kind)
    codes = _level_in("qpv", scope)["code"]
    flags = [known.get(c, False) for c in codes]
    if flags and all(flags):
        return "complete"
    return "partial" if any(flags) else "absent"


def _theme_axis() -> dict[str, str]:
    th = tables().theme
    return dict(zip(th["theme_id"], th["parent_id"].where(th["parent_id"].notna(), th["theme_id"])))


def _action_lists() -> pd.DataFrame:
    """Per action: its theme labels and ids, its public labels (in the framework's order)."""
    t = tables()

    def build():
        th = t.theme.set_index("theme_id")
        at = t.action_theme.assign(sort=t.action_theme["theme_id"].map(th["sort"]),
                                   label=t.action_theme["theme_id"].map(th["label"]))
        at = at.sort_values(["action_id", "sort"], kind="mergesort")
        g = at.groupby("action_id", sort=False)
        pg = t.public_group.set_index("public_id")
        ap = t.action_public.assign(sort=t.action_public["public_id"].map(pg["sort"]),
                                    label=t.action_public["public_id"].map(pg["label"]))
        ap = ap.sort_values(["action_id", "sort"], kind="mergesort")
        return pd.DataFrame({
            "themes": g["label"].agg(" ; ".join),
            "theme_ids": t.action_theme.groupby("action_id", sort=False)["theme_id"].agg(list),
            "publics": ap.groupby("action_id", sort=False)["label"].agg(" ; ".join)})
    return t.memo("action_lists", build)


def actions(themes_: list[str] | None = None, publics_: list[str] | None = None,
            years: tuple[int, int] | None = None, porteurs: list[str] | None = None,
            within: tuple[str, str] | None = None, scheme_id: str | None = None) -> pd.DataFrame:
    """Actions matching the filters. A theme filter matches the theme and its sub-themes."""
    t = tables()
    a = t.action
    keep = np.ones(len(a), dtype=bool)
    if themes_:
        th = t.theme
        wanted = set(th[th["theme_id"].isin(themes_) | th["parent_id"].isin(themes_)]["theme_id"])
        ids = set(t.action_theme[t.action_theme["theme_id"].isin(wanted)]["action_id"])
        keep &= a["action_id"].isin(ids).to_numpy()
    if publics_:
        ids = set(t.action_public[t.action_public["public_id"].isin(publics_)]["action_id"])
        keep &= a["action_id"].isin(ids).to_numpy()
    if years:
        end = a["year_end"].fillna(a["year_start"])
        keep &= ((a["year_start"] <= years[1]) & (end >= years[0])).fillna(False).to_numpy(dtype=bool)
    if porteurs:
        keep &= a["porteur"].isin(list(porteurs)).to_numpy()
    if scheme_id:
        keep &= (a["scheme_id"] == scheme_id).fillna(False).to_numpy(dtype=bool)
    if within and within[0] not in (None, "france"):
        lvl, code = within
        if lvl == "commune":
            qpvs = t.qpvs_of_commune().get(code, [])
            keep &= (a["commune_code"].eq(code) | a["qpv_code"].isin(qpvs)).to_numpy(dtype=bool)
        else:
            terr = t.territory[t.territory[_PARENT_COLUMN[lvl]] == code]
            communes = set(terr[terr["level"] == "commune"]["code"])
            qpvs = set(terr[terr["level"] == "qpv"]["code"])       # 2015 codes too
            keep &= (a["commune_code"].isin(communes) | a["qpv_code"].isin(qpvs)).to_numpy(dtype=bool)
    out = a[keep][["action_id", "title", "description", "year_start", "year_end", "porteur", "qpv_code",
                   "commune_code", "lon", "lat", "location_method", "scheme_id", "funders", "source_id"]]
    out = out.reset_index(drop=True)
    out.insert(7, "qpv_name", out["qpv_code"].map(t.names("qpv")))
    out.insert(9, "commune_name", out["commune_code"].map(t.names("commune")))
    out.insert(13, "scheme_name", out["scheme_id"].map(t.scheme.set_index("scheme_id")["name"]))
    lists = _action_lists()
    for col in ("themes", "theme_ids", "publics"):
        out[col] = out["action_id"].map(lists[col])
    return out


def action_themes() -> pd.DataFrame:
    """(action_id, theme_id, axis_id): each action's themes with their axis."""
    at = tables().action_theme
    return at.assign(axis_id=at["theme_id"].map(_theme_axis())).reset_index(drop=True)


def porteurs() -> list[str]:
    a = tables().action
    return sorted(set(a["porteur"].dropna()))


def action_years() -> tuple[int, int] | None:
    a = tables().action
    if a.empty:
        return None
    return int(a["year_start"].min()), int(a["year_end"].fillna(a["year_start"]).max())


@lru_cache(maxsize=8)
def _scheme_geometries_cached(ver) -> pd.DataFrame:
    """Each scheme's territory: its own shape when given (CPTS), else the union of the
    display geometries of what it covers (communes and QPVs)."""
    df = _sql("""
        SELECT sc.scheme_id AS code, sc.name, sc.kind, sc.geom_display AS own,
               list(t.geom_display) FILTER (WHERE t.geom_display IS NOT NULL) AS parts
        FROM scheme sc
        LEFT JOIN scheme_territory st USING (scheme_id)
        LEFT JOIN territory t ON t.level = st.level AND t.code = st.code
                              AND (t.level <> 'qpv' OR t.generation = '2024')
        GROUP BY ALL ORDER BY sc.kind, sc.scheme_id""")
    geoms = []
    for own, parts in zip(df.own, df.parts):
        if isinstance(own, (bytes, bytearray, memoryview)):
            geoms.append(shapely.from_wkb(bytes(own)))
        else:
            wkbs = [bytes(w) for w in (parts if isinstance(parts, (list, tuple, np.ndarray)) else [])
                    if isinstance(w, (bytes, bytearray, memoryview))]
            geoms.append(shapely.union_all(shapely.from_wkb(wkbs)) if wkbs else None)
    df = df.drop(columns=["own", "parts"])
    df["geometry"] = geoms
    return df


def scheme_geometries() -> pd.DataFrame:
    return _scheme_geometries_cached(version())


# --- Zoning, coverage and counts of one territory, actions' fiche and sources ---------------

def gp_zoning() -> pd.DataFrame:
    return tables().gp_zoning.copy()


_COVER_COLUMNS = ["scheme_id", "kind", "name", "porteur", "year_created", "status"]


def schemes_covering(level: str, code: str) -> pd.DataFrame:
    """Schemes covering a territory: a QPV directly or through its communes; a commune
    directly or through one of its QPVs."""
    t = tables()
    st = t.scheme_territory
    if level == "qpv":
        hit = ((st["level"] == "qpv") & (st["code"] == code)) | (
            (st["level"] == "commune") & st["code"].isin(t.communes_of_qpv().get(code, [])))
    else:
        hit = ((st["level"] == "commune") & (st["code"] == code)) | (
            (st["level"] == "qpv") & st["code"].isin(t.qpvs_of_commune().get(code, [])))
    ids = set(st[hit]["scheme_id"])
    sc = t.scheme[t.scheme["scheme_id"].isin(ids)][_COVER_COLUMNS]
    return sc.sort_values(["kind", "name"], kind="mergesort").reset_index(drop=True)


def action_counts(level: str, code: str, by: str = "theme") -> pd.DataFrame:
    """Number of actions located in a territory (QPV, commune or scheme), by theme axis or public."""
    t = tables()
    a = t.action
    col = {"qpv": "qpv_code", "scheme": "scheme_id"}.get(level, "commune_code")
    ids = set(a[a[col] == code]["action_id"])
    if by == "public":
        x = t.action_public[t.action_public["action_id"].isin(ids)]
        ref = t.public_group.set_index("public_id")
        x = x.assign(label=x["public_id"].map(ref["label"]), sort=x["public_id"].map(ref["sort"]))
    else:
        x = t.action_theme[t.action_theme["action_id"].isin(ids)]
        axis = x["theme_id"].map(_theme_axis())
        ref = t.theme.set_index("theme_id")
        x = x.assign(label=axis.map(ref["label"]), sort=axis.map(ref["sort"]))
    out = x.groupby(["label", "sort"], sort=False)["action_id"].nunique().rename("n").reset_index()
    return out.sort_values("sort", kind="mergesort").reset_index(drop=True)


def scheme_qpvs(scheme_id: str) -> pd.DataFrame:
    """2024 QPVs covered by a scheme, directly or through its communes."""
    t = tables()
    st = t.scheme_territory[t.scheme_territory["scheme_id"] == scheme_id]
    codes = set(st[st["level"] == "qpv"]["code"])
    communes = set(st[st["level"] == "commune"]["code"])
    codes |= set(t.qpv_commune[t.qpv_commune["commune_code"].isin(communes)]["qpv_code"])
    q = t.level("qpv")
    return q[q["code"].isin(codes)][["code", "name", "population"]].reset_index(drop=True)


# --- Actions page ---

def action_record(action_id: str) -> dict | None:
    """One action with what its fiche shows: texts, years, porteur, themes, publics,
    location (QPV, commune, point), linked scheme, funders, source and import."""
    t = tables()
    a = t.action[t.action["action_id"] == action_id]
    if a.empty:
        return None
    r = a.iloc[0].to_dict()
    sc = t.scheme.set_index("scheme_id")
    lists = _action_lists()
    src = t.source
    log = t.import_log.set_index("import_id")
    imp = r.get("import_id")
    has_import = imp is not None and not pd.isna(imp) and imp in log.index
    sid = r.get("scheme_id")
    out = {k: r.get(k) for k in ("action_id", "title", "description", "year_start", "year_end", "porteur",
                                 "qpv_code")}
    out["qpv_name"] = t.names("qpv").get(r.get("qpv_code"))
    out["commune_code"] = r.get("commune_code")
    out["commune_name"] = t.names("commune").get(r.get("commune_code"))
    out.update({k: r.get(k) for k in ("lon", "lat", "location_method", "scheme_id")})
    out["scheme_name"] = sc["name"].get(sid) if isinstance(sid, str) else None
    out["scheme_kind"] = sc["kind"].get(sid) if isinstance(sid, str) else None
    out["funders"], out["source_id"] = r.get("funders"), r.get("source_id")
    source = src.loc[r["source_id"]] if r.get("source_id") in src.index else None
    out["source_title"] = source["title"] if source is not None else None
    out["source_vintage"] = source["vintage"] if source is not None else None
    out["import_file"] = log.loc[imp, "file_name"] if has_import else None
    out["imported_at"] = log.loc[imp, "imported_at"] if has_import else None
    out["themes"] = lists["themes"].get(action_id)
    out["publics"] = lists["publics"].get(action_id)
    return out


def population_sources(level: str) -> pd.DataFrame:
    """Where the populations of a level's territories come from (2024 QPVs only), with how
    many territories have a known population and how many have none."""
    terr = tables().level(level)
    g = terr.assign(known=terr["population"].notna()).groupby("source_id", dropna=False, sort=False)["known"]
    out = pd.DataFrame({"n_known": g.sum().astype("int64"), "n_unknown": (g.size() - g.sum()).astype("int64")})
    out = out.reset_index()
    src = tables().source
    for c in ("title", "publisher", "vintage"):
        out.insert(len(out.columns) - 2, c, out["source_id"].map(src[c]))
    return out.sort_values("n_known", ascending=False, kind="mergesort").reset_index(drop=True)


def action_sources() -> pd.DataFrame:
    """Where the actions come from: source (file, vintage) and user import, with counts."""
    t = tables()
    a = t.action
    g = a.groupby(["source_id", "import_id"], dropna=False, sort=False).size().rename("n_actions").reset_index()
    src = t.source
    for c in ("title", "publisher", "vintage", "file_name", "fictional"):
        g[c] = g["source_id"].map(src[c])
    log = t.import_log.set_index("import_id")
    g["import_file"] = g["import_id"].map(log["file_name"])
    g["imported_at"] = g["import_id"].map(log["imported_at"])
    cols = ["source_id", "title", "publisher", "vintage", "file_name", "fictional", "import_file", "imported_at",
            "n_actions"]
    return g[cols].sort_values("n_actions", ascending=False, kind="mergesort").reset_index(drop=True)


def latest_action_year() -> int | None:
    """The latest year in which an action started (planned end years lie in the future)."""
    a = tables().action
    return None if a.empty else int(a["year_start"].max())
