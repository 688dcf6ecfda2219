"""The app's read-only data-access layer: every question the app asks of the DB.

Answers come from memory (data.memory: the tables and indicator values of the current DB
file version, read once); only geometries and the Données page's logs are read with SQL
(data.db). When the file is replaced (a build or an import writes a new file and renames it
over the old one), the next call sees a new version and reads the new file: workers never
serve a stale file. Frames returned here are the caller's own (copies).
"""
from __future__ import annotations

from functools import lru_cache, wraps

import numpy as np
import pandas as pd
import shapely

from data import db, lineage
from data.memory import fold, tables

configure = db.configure
db_path = db.db_path
version = db.version

SCOPE_LEVELS = ("france", "region", "departement", "epci", "commune")
_PARENT_COLUMN = {"region": "region", "departement": "departement", "epci": "epci", "commune": "commune"}
_LEVEL_ORDER = {"region": 1, "departement": 2, "epci": 3, "commune": 4}
_SOURCE_COLUMNS = {"title": "source_title", "publisher": "publisher", "vintage": "vintage"}


def per_db(maxsize: int = 256):
    """Memoize a function for the current DB file: results are computed once per (file
    version, arguments) and forgotten when the file is replaced. Callers get copies, so they
    may modify what they receive. List arguments are taken as tuples."""
    def deco(fn):
        @lru_cache(maxsize=maxsize)
        def cached(_ver, *args):
            return fn(*args)

        @wraps(fn)
        def wrapper(*args):
            out = cached(version(), *(tuple(a) if isinstance(a, list) else a for a in args))
            if isinstance(out, pd.DataFrame):
                return out.copy()
            if isinstance(out, (dict, list)):
                return type(out)(out)
            return out
        wrapper.cache_clear = cached.cache_clear
        return wrapper
    return deco


def _sql(sql: str, params: list | None = None) -> pd.DataFrame:
    return db.cursor().execute(sql, params or []).fetchdf()


def _with_sources(df: pd.DataFrame, cols=("title", "publisher", "vintage")) -> pd.DataFrame:
    """Add source_title / publisher / vintage from each row's source_id."""
    src = tables().source
    sid = df["source_id"]
    for c in cols:
        df[_SOURCE_COLUMNS.get(c, c)] = sid.map(src[c]) if len(df) else pd.Series(dtype=object)
    return df


# --- Dataset ------------------------------------------------------------------------

def meta() -> dict[str, str]:
    return dict(tables().meta)


def is_fictional() -> bool:
    return tables().meta.get("fictional") == "true"


def sources() -> pd.DataFrame:
    t = tables()
    n = t.memo("values_per_source", lambda: t.values["source_id"].value_counts())
    out = t.source[["source_id", "title", "publisher", "url", "licence", "vintage", "geography", "file_name",
                    "retrieved_at", "fictional", "dataset", "ref_year_basis"]].reset_index(drop=True)
    out["n_values"] = out["source_id"].map(n).fillna(0).astype("int64")
    return out


def load_issues(kind: str | None = None) -> pd.DataFrame:
    where = "WHERE kind = ?" if kind else ""
    return _sql(f"SELECT file, line, field, value, kind, reason FROM load_issue {where} "
                "ORDER BY kind, file, try_cast(line AS INTEGER) NULLS LAST, line", [kind] if kind else [])


def etl_runs() -> pd.DataFrame:
    return _sql("SELECT * FROM etl_run ORDER BY run_id")


def import_log() -> pd.DataFrame:
    return tables().import_log.copy()


def year_evidence() -> pd.DataFrame:
    """The columns dated by comparing files at load (etl/loaders/_dating.py), with their file names."""
    t = tables()
    ev = t.year_evidence.copy()
    names = t.source["file_name"].to_dict()
    ev["file_name"] = ev["source_id"].map(names)
    ev["evidence_file"] = ev["evidence_source_id"].map(names)
    return ev


def counts() -> dict[str, int]:
    t = tables()
    return {"qpv": len(t.level("qpv")), "communes": len(t.level("commune")), "values": len(t.values),
            "schemes": len(t.scheme), "actions": len(t.action)}


# --- Territories ----------------------------------------------------------------------

def parse_scope(value: str | None) -> tuple[str, str] | None:
    """A scope from its URL form "level:code" ("france", empty or invalid: None, all)."""
    if not isinstance(value, str) or value == "france" or ":" not in value:
        return None
    level, code = value.split(":", 1)
    if level not in ("region", "departement", "epci", "commune") or not code:
        return None
    return (level, code)


def scope_value(scope: tuple[str, str] | None) -> str:
    return "france" if not scope else f"{scope[0]}:{scope[1]}"


def _scoped(df: pd.DataFrame, level: str, within) -> pd.DataFrame:
    """Rows of a level's territory frame that lie within a scope (scope_level, scope_code)."""
    if not within or within[0] in (None, "france"):
        return df
    scope_level, scope_code = within
    if level == scope_level:
        return df[df["code"] == scope_code]
    if level == "qpv" and scope_level == "commune":
        return df[df["code"].isin(tables().qpvs_of_commune().get(scope_code, []))]
    return df[df[_PARENT_COLUMN[scope_level]] == scope_code]


def _level_in(level: str, within) -> pd.DataFrame:
    t = tables()
    key = ("scoped", level, tuple(within) if within else None)
    return t.memo(key, lambda: _scoped(t.level(level), level, within))


def territory_frame(level: str, within: tuple[str, str] | None = None) -> pd.DataFrame:
    """Territories of a level in a scope, as the memory layer holds them (shared: read-only)."""
    return _level_in(level, within)


def territories(level: str, within: tuple[str, str] | None = None) -> pd.DataFrame:
    """Territories of a level, optionally within a scope (scope_level, scope_code)."""
    df = _level_in(level, within)
    return df[["level", "code", "name", "generation", "region", "departement", "epci", "commune",
               "population"]].reset_index(drop=True)


def territory_names(level: str) -> dict[str, str]:
    """code -> name of every territory of a level."""
    return dict(tables().names(level))


def territory(level: str, code: str) -> dict | None:
    row = tables().territory_row(level, code)
    return None if row is None else row.to_dict()


def qpv_communes(qpv_codes: list[str] | None = None) -> pd.DataFrame:
    t = tables()
    df = t.qpv_commune
    if qpv_codes is not None:
        df = df[df["qpv_code"].isin(list(qpv_codes))]
    out = df.reset_index(drop=True)
    names = t.names("commune")
    out["commune_name"] = out["commune_code"].map(names)
    return out


def reference_commune(qpv_code: str) -> dict | None:
    """The commune a QPV is compared with (territory.commune: for a QPV spanning several
    communes, the one holding the largest share of its area, decided at load) with that share
    (None when unknown) and the number of communes the QPV spans."""
    t = territory("qpv", qpv_code)
    if not t or not t.get("commune"):
        return None
    links = tables().qpv_commune
    links = links[links["qpv_code"] == qpv_code]
    row = links[links["commune_code"] == t["commune"]]
    share = row["area_share"].iloc[0] if len(row) else None
    return {"code": t["commune"], "name": tables().names("commune").get(t["commune"], t["commune"]),
            "share": None if share is None or pd.isna(share) else float(share), "n_communes": len(links)}


def reference_commune_text(qpv_code: str) -> str | None:
    """"comparé à Nice, qui contient 72 % du quartier" for a QPV spanning several communes."""
    ref = reference_commune(qpv_code)
    if not ref or ref["n_communes"] < 2:
        return None
    if ref["share"] is None:
        return (f"Quartier sur {ref['n_communes']} communes, comparé à {ref['name']}, la première que liste le "
                "fichier des contours (part de surface inconnue)")
    return (f"Quartier sur {ref['n_communes']} communes, comparé à {ref['name']}, qui contient "
            f"{round(ref['share'] * 100):.0f} % du quartier")


def qpv_commune_names(qpv_codes: list[str]) -> dict[str, str]:
    """QPV code -> names of its communes joined by " ; " (in commune code order)."""
    t = tables()

    def build():
        names = t.names("commune")
        out = {}
        for q, communes in t.communes_of_qpv().items():
            known = [names[c] for c in communes if names.get(c)]
            if known:
                out[q] = " ; ".join(known)
        return out
    every = t.memo("qpv_commune_names", build)
    return {c: every[c] for c in qpv_codes if c in every}


def search_territories(text: str, levels=("qpv", "commune", "epci", "departement", "region"),
                       limit: int = 20) -> pd.DataFrame:
    t = tables()
    terr = t.territory
    ok = terr["level"].isin(list(levels)) & (terr["level"].ne("qpv") | terr["generation"].eq("2024"))
    hit = t.folded_names().str.contains(fold(text), regex=False) | terr["code"].eq(text)
    df = terr[ok & hit][["level", "code", "name"]]
    order = df["level"].map(_LEVEL_ORDER).fillna(5)
    return df.assign(_o=order).sort_values(["_o", "name"], kind="mergesort").drop(columns="_o") \
        .head(limit).reset_index(drop=True)


@lru_cache(maxsize=64)
def _geometries_cached(ver, level: str, within, simplified: bool) -> pd.DataFrame:
    col = "geom_display" if simplified else "geom"
    df = _sql(f"SELECT level, code, name, {col} AS wkb FROM territory WHERE level = ? AND {col} IS NOT NULL "
              + ("AND generation = '2024' " if level == "qpv" else "") + "ORDER BY code", [level])
    if within and within[0] not in (None, "france"):
        keep = set(_level_in(level, within)["code"])
        df = df[df["code"].isin(keep)].reset_index(drop=True)
    df = df.drop(columns="level")
    df["geometry"] = shapely.from_wkb([bytes(b) for b in df.pop("wkb")]) if len(df) else []
    return df


def geometries(level: str, within: tuple[str, str] | None = None, simplified: bool = True) -> pd.DataFrame:
    """code, name, geometry (shapely) of a level's territories; display geometry by default.
    Shared with other callers: do not modify."""
    return _geometries_cached(version(), level, tuple(within) if within else None, simplified)


def bounds(level: str, code: str) -> tuple[float, float, float, float] | None:
    df = geometries(level, (level, code)) if level in _PARENT_COLUMN else geometries(level)
    if level not in _PARENT_COLUMN:
        df = df[df.code == code]
    return _total_bounds(df)


@per_db(maxsize=64)
def extent(level: str, within: tuple[str, str] | None = None) -> tuple[float, float, float, float] | None:
    """Bounding box (minx, miny, maxx, maxy) of a level's territories, optionally in a scope."""
    return _total_bounds(geometries(level, within))


def _total_bounds(df: pd.DataFrame) -> tuple[float, float, float, float] | None:
    if df.empty:
        return None
    return tuple(float(x) for x in shapely.total_bounds(df.geometry.values))


# --- Indicators ------------------------------------------------------------------------

def _catalogue() -> pd.DataFrame:
    t = tables()

    def build():
        levels: dict[str, set] = {}
        with_values: dict[str, set] = {}
        years: dict[str, set] = {}
        period = t.vcol["period"]
        ok = t.vcol["status"] == "ok"
        for (ind, lev), (s, e) in t.blocks().items():
            levels.setdefault(ind, set()).add(lev)
            if ok[s:e].any():
                with_values.setdefault(ind, set()).add(lev)
            years.setdefault(ind, set()).update(np.unique(period[s:e]).tolist())
        cat = t.indicator.copy()
        cat["levels"] = [sorted(levels.get(i, ())) for i in cat["indicator_id"]]
        cat["levels_with_values"] = [sorted(with_values.get(i, ())) for i in cat["indicator_id"]]
        cat["years"] = [sorted(int(y) for y in years.get(i, ())) for i in cat["indicator_id"]]
        return cat
    return t.memo("catalogue", build)


def indicators() -> pd.DataFrame:
    """Catalogue, with the levels each indicator has rows for (`levels`), the levels where at least
    one value is published (`levels_with_values`) and its periods (`years`)."""
    return _catalogue().copy()


def indicator(indicator_id: str) -> dict | None:
    t = tables()
    rows = t.memo("indicator_rows", lambda: {r["indicator_id"]: r for r in t.indicator.to_dict("records")})
    row = rows.get(indicator_id)
    return None if row is None else dict(row)


def indicator_years(indicator_id: str, level: str = "qpv") -> list[int]:
    """The periods of an indicator at a level (data.provenance): undated diffusion vintages first,
    then years described; the last one is the most recent year described."""
    t = tables()

    def build():
        b = t.block(indicator_id, level)
        return [int(y) for y in np.unique(b["period"].to_numpy())] if len(b) else []
    return list(t.memo(("years", indicator_id, level), build))


def default_period(indicator_id: str, level: str = "qpv") -> int | None:
    """The period a page opens on: the most recent year described with values on the 2024 QPV
    geography when there is one (figures exact for today's perimeters), else the most recent
    period; the others stay in the year list and in series, each with its geography."""
    t = tables()

    def build():
        b = t.block(indicator_id, level)
        if not len(b):
            return None
        ok = b[(b["status"] == "ok") & (b["geography"] == "QPV2024") & (b["period"] >= 0)]
        return int(ok["period"].max()) if len(ok) else int(b["period"].max())
    return t.memo(("default_period", indicator_id, level), build)


def year_labels(indicator_id: str, level: str = "qpv") -> dict[int, str]:
    """{period: how it is written} for one indicator at one level: "2019" for a year described,
    "millésime de diffusion 2022" (data.provenance.year_text) for an undated vintage."""
    t = tables()

    def build():
        b = t.block(indicator_id, level)
        if not len(b):
            return {}
        first = b.drop_duplicates("period").sort_values("period")
        return {int(p): (str(int(p)) if p >= 0 else lab) for p, lab in zip(first["period"], first["year_label"])}
    return dict(t.memo(("year_labels", indicator_id, level), build))


_FLOAT_COLUMNS = ("value", "numerator", "denominator")
_TEXT_COLUMNS = ("status", "geography", "perimeter", "derived_from", "source_id", "year_label")


def _value_columns(rows: np.ndarray, columns=("year", "period", "ref_year") + _FLOAT_COLUMNS + _TEXT_COLUMNS) -> dict:
    """Columns of the values table at positions `rows` (-1: no row: NaN, <NA> or None)."""
    vcol = tables().vcol
    found = rows >= 0
    take = rows[found]
    out = {}
    for col in columns:
        src = vcol[col]
        if col in ("year", "period"):
            arr = np.zeros(len(rows), dtype=np.int32)
            arr[found] = src[take]
            out[col] = pd.arrays.IntegerArray(arr, ~found)
        elif col == "ref_year":
            arr = np.full(len(rows), pd.NA, dtype=object)
            arr[found] = src[take]
            out[col] = pd.array(arr, dtype="Int64")
        elif col in _FLOAT_COLUMNS:
            arr = np.full(len(rows), np.nan)
            arr[found] = src[take]
            out[col] = arr
        else:
            arr = np.full(len(rows), None, dtype=object)
            arr[found] = src[take]
            out[col] = arr
    return out


def _source_columns(source_ids, cols=("title", "publisher", "vintage")) -> dict:
    src = tables().source
    out = {}
    for c in cols:
        d = src[c].to_dict()
        out[_SOURCE_COLUMNS.get(c, c)] = np.array([d.get(s) if s is not None else None for s in source_ids],
                                                   dtype=object)
    return out


def values(indicator_id: str, level: str, within: tuple[str, str] | None = None,
           period: int | None = None) -> pd.DataFrame:
    """One row per territory of `level` (in scope): the value of `period` (data.provenance), or of
    the latest period the territory has any row for. Territories with no row at all come with
    status 'missing' so that nothing silently disappears from a map or a table."""
    terr = _level_in(level, within)
    codes = terr["code"].to_numpy(dtype=object)
    rows = tables().selection(indicator_id, level, period).positions(codes)
    cols = _value_columns(rows)
    cols["status"][rows < 0] = "missing"
    cols["perimeter"][rows < 0] = "exact"
    out = {"code": codes, "name": terr["name"].to_numpy(dtype=object),
           "population": terr["population"].array, **cols, **_source_columns(cols["source_id"])}
    return pd.DataFrame(out)


def value_history(level: str, code: str, indicator_ids: list[str] | None = None,
                  distinct: bool = False) -> pd.DataFrame:
    """Every value of a territory, by indicator then period; `distinct` leaves out the vintages
    that repeat an earlier one (same_as), so that a series shows each figure once."""
    df = tables().rows_of(level, code)
    if distinct:
        df = df[df["same_as"].isna()]
    if indicator_ids:
        df = df[df["indicator_id"].isin(list(indicator_ids))]
    out = df[["indicator_id", "period", "year", "year_label", "ref_year", "same_as", "value", "status", "geography",
              "perimeter", "derived_from", "source_id"]].reset_index(drop=True)
    return _with_sources(out, ("title", "vintage", "dataset", "publisher"))


def reference_chain(level: str, code: str) -> list[tuple[str, str]]:
    """The (level, code) references of a territory: commune, EPCI, département, région, France,
    and for a QPV the whole of France's QPVs (when loaded)."""
    t = territory(level, code)
    if t is None:
        return []
    chain = []
    if level in ("qpv", "arrondissement") and t.get("commune"):
        chain.append(("commune", t["commune"]))
    for lvl in ("epci", "departement", "region"):
        if lvl != level and t.get(lvl):
            chain.append((lvl, t[lvl]))
    for fr in sorted(tables().level("france")["code"]):
        chain.append(("france", fr))
    if level == "qpv":
        chain += [("ensemble_qpv", c) for c in ensemble_codes()]
    return chain


def ensemble_codes() -> list[str]:
    """The all-QPV reference territories (one per QPV geography), the current geography first."""
    return sorted(tables().level("ensemble_qpv")["code"], reverse=True)


LEVEL_LABELS = {"region": "Région", "departement": "Département", "epci": "EPCI", "commune": "Commune",
                "qpv": "QPV", "france": "France", "arrondissement": "Arrondissement",
                "ensemble_qpv": "Référence nationale"}
REFERENCE_HEADERS = {"commune": "Commune", "epci": "EPCI", "departement": "Département", "region": "Région",
                     "arrondissement": "Arrondissement", "france": "France",
                     "ensemble_qpv": "Ensemble des QPV"}


def reference_header(level: str, code: str) -> str:
    """What a reference column is titled: "Commune : Nice", "Département : Bouches-du-Rhône", and
    the France territory by its own name ("France métropolitaine" is not "France")."""
    t = territory(level, code)
    name = t["name"] if t else code
    return name if level in ("france", "ensemble_qpv") else f"{REFERENCE_HEADERS.get(level, level)} : {name}"


def reference_values_at(indicator_id: str, ref_level: str, codes: list[str], period: int | None = None) -> pd.DataFrame:
    """Value of an indicator on reference territories, like compared with like: for the year the
    QPV figures describe (`period`) when the reference has it, else its closest earlier year,
    else its closest later year (Tables.selection(nearest=True))."""
    cols = ["code", "name", "year", "period", "ref_year", "year_label", "value", "status", "geography", "source_id",
            "source_title", "publisher", "vintage", "dataset"]
    names = tables().names(ref_level)
    wanted = sorted({c for c in codes if c is not None and c in names})
    rows = tables().selection(indicator_id, ref_level, period, nearest=True).positions(wanted)
    keep = rows >= 0
    if not keep.any():
        return pd.DataFrame(columns=cols)
    rows = rows[keep]
    found = [c for c, k in zip(wanted, keep) if k]
    vals = _value_columns(rows, ("year", "period", "ref_year", "year_label", "value", "status", "geography",
                                 "source_id"))
    df = pd.DataFrame({"code": found, "name": [names[c] for c in found], **vals,
                       **_source_columns(vals["source_id"], ("title", "publisher", "vintage", "dataset"))})
    return df[cols]


def reference_values(indicator_id: str, ref_level: str, codes: list[str]) -> pd.DataFrame:
    """Latest value of an indicator on reference territories (ref_level)."""
    return reference_values_at(indicator_id, ref_level, codes, None)


def latest_values(pairs: list[tuple[str, str]], indicator_ids: list[str] | None = None) -> pd.DataFrame:
    """Latest row of each indicator for each (level, code) in `pairs`."""
    cols = ["level", "code", "indicator_id", "year", "period", "ref_year", "year_label", "value", "numerator",
            "denominator", "status", "geography", "perimeter", "derived_from", "source_id", "source_title", "vintage",
            "publisher", "dataset"]
    t = tables()
    parts = [t.rows_of(level, code) for level, code in dict.fromkeys(map(tuple, pairs))]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=cols)
    df = pd.concat(parts)
    if indicator_ids:
        df = df[df["indicator_id"].isin(list(indicator_ids))]
    df = df.drop_duplicates(["level", "code", "indicator_id"], keep="last")
    out = df[["level", "code", "indicator_id", "year", "period", "ref_year", "year_label", "value", "numerator",
              "denominator", "status", "geography", "perimeter", "derived_from", "source_id"]].reset_index(drop=True)
    return _with_sources(out, ("title", "vintage", "publisher", "dataset"))[cols]


# --- Fiche territoire ---

def parents(level: str, code: str) -> list[dict]:
    """Parent territories (commune(s), EPCI, département, région) with their names."""
    t = territory(level, code)
    if t is None:
        return []
    names = tables().names
    out = []
    if level == "qpv":
        communes = tables().communes_of_qpv().get(code, [])
        for c, n in sorted(((c, names("commune").get(c)) for c in communes if c in names("commune")),
                           key=lambda cn: cn[1]):
            out.append({"level": "commune", "code": c, "name": n})
    elif level == "arrondissement" and t.get("commune"):
        out.append({"level": "commune", "code": t["commune"], "name": names("commune").get(t["commune"])})
    for lvl in ("epci", "departement", "region"):
        if lvl != level and t.get(lvl):
            out.append({"level": lvl, "code": t[lvl], "name": names(lvl).get(t[lvl], t[lvl])})
    return out


def qpv_lineage(qpv2024: str) -> dict | None:
    """Status of a 2024 QPV in the ANCT correspondence, its 2015 predecessors, and whether the
    status agrees with the code's letter (data.lineage: unchanged only when both say so)."""
    c = tables().correspondence
    rows = c[c["qpv2024"] == qpv2024]
    if rows.empty:
        return None
    statut = rows["statut"].iloc[0]
    return {"statut": statut, "conflict": lineage.status_conflict(qpv2024, statut),
            "unchanged": lineage.unchanged(qpv2024, statut),
            "predecessors": [(q, n) for q, n in zip(rows["qpv2015"], rows["label2015"]) if isinstance(q, str) and q]}


# --- Importer page ---

def snapshot_connection():
    """A new read-only connection on the DB file as it is now, for a caller that runs many
    queries of its own (the importer's validation) and closes it. Like the app's own cursor,
    the file is ATTACHed to a fresh in-memory instance, so that it never shares DuckDB's
    per-path instance cache with the writer path (etl.importer.apply)."""
    path = db_path()
    if not path.exists():
        raise db.missing_db_error(path)
    return db.connect_snapshot(path)


# --- Scope picker ---

def communes_with_qpv() -> pd.DataFrame:
    """Communes that hold at least one 2024 QPV (the scopes that matter for the ASV)."""
    t = tables()
    qpvs = set(t.level("qpv")["code"])
    codes = set(t.qpv_commune[t.qpv_commune["qpv_code"].isin(qpvs)]["commune_code"])
    c = t.level("commune")
    return c[c["code"].isin(codes)][["code", "name"]].reset_index(drop=True)


# Schemes and actions live in data.local_health; re-exported here (one module for the pages).
from data.local_health import (  # noqa: E402,F401
    themes, publics, schemes, scheme, scheme_territories,
    _active_cover, qpv_coverage, _theme_axis, _action_lists, actions,
    action_themes, porteurs, action_years, _scheme_geometries_cached, scheme_geometries,
    NOT_LOADED, registry_communes, registry_loaded, qpv_registry_known, territory_registry_known, registry_state,
    gp_zoning, schemes_covering, action_counts, scheme_qpvs, action_record, population_sources, action_sources,
    latest_action_year)
