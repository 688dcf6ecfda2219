"""The app's read-only data-access layer: every SQL query of the app lives here.

The DB is opened read-only, one connection per thread. When the file is replaced
(a build or an import writes a new file and renames it over the old one), the
next call sees a new (inode, mtime) and reopens: workers never hold a stale file.
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache, wraps
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import shapely

from etl.config import resolve_db_path
from etl.db import connect_snapshot

_local = threading.local()
_db_path: Path | None = None


def configure(path: str | os.PathLike | None) -> Path:
    """Set the DB path (None: $ATLAS_DB or data/atlas.duckdb)."""
    global _db_path
    _db_path = resolve_db_path(path)
    return _db_path


def db_path() -> Path:
    return _db_path or configure(None)


def _signature(path: Path) -> tuple:
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def version() -> tuple:
    """Changes whenever the DB file is replaced; used as a cache key."""
    return (str(db_path()),) + _signature(db_path())


def per_db(maxsize: int = 256):
    """Memoize a query function for the current DB file: results are computed once per
    (file version, arguments) and forgotten when the file is replaced. Callers get copies,
    so they may modify what they receive. List arguments are taken as tuples."""
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


_shared: dict = {}
_shared_lock = threading.Lock()


def _con() -> duckdb.DuckDBPyConnection:
    """This thread's connection to the current DB file.

    The file is ATTACHed read-only to a fresh in-memory instance rather than opened
    with duckdb.connect(path): DuckDB caches instances by path within a process, so
    reopening the path after a swap would return the old file while any connection to
    it is still open (for instance in another thread). One instance per file version is
    shared by the process; each thread gets its own cursor on it (cheap, unlike opening
    the instance: the development server runs every request in a new thread)."""
    path = db_path()
    if not path.exists():
        raise FileNotFoundError(
            f"Base introuvable : {path}. Lancez `make data` ou `python -m etl build --demo`.")
    sig = (str(path),) + _signature(path)
    con = getattr(_local, "con", None)
    if con is None or getattr(_local, "sig", None) != sig:
        if con is not None:
            con.close()
        with _shared_lock:
            if _shared.get("sig") != sig:
                _shared["base"] = connect_snapshot(path)    # the previous instance lives on in its cursors
                _shared["sig"] = sig
            con = _shared["base"].cursor()
        con.execute("USE atlas")
        _local.con = con
        _local.sig = sig
    return _local.con


def _df(sql: str, params: list | None = None) -> pd.DataFrame:
    return _con().execute(sql, params or []).fetchdf()


def _one(sql: str, params: list | None = None):
    row = _con().execute(sql, params or []).fetchone()
    return None if row is None else row[0]


# --- Dataset ------------------------------------------------------------------------

@per_db()
def meta() -> dict[str, str]:
    return dict(_con().execute("SELECT key, value FROM meta").fetchall())


def is_fictional() -> bool:
    return meta().get("fictional") == "true"


def sources() -> pd.DataFrame:
    return _df("""
        SELECT s.source_id, s.title, s.publisher, s.url, s.licence, s.vintage, s.geography,
               s.file_name, s.retrieved_at, s.fictional,
               (SELECT count(*) FROM indicator_value v WHERE v.source_id = s.source_id) AS n_values
        FROM source s ORDER BY s.publisher, s.title""")


def load_issues(kind: str | None = None) -> pd.DataFrame:
    where = "WHERE kind = ?" if kind else ""
    return _df(f"SELECT file, line, field, value, kind, reason FROM load_issue {where} "
               "ORDER BY kind, file, try_cast(line AS INTEGER) NULLS LAST, line", [kind] if kind else [])


def etl_runs() -> pd.DataFrame:
    return _df("SELECT * FROM etl_run ORDER BY run_id")


def import_log() -> pd.DataFrame:
    return _df("SELECT * FROM import_log ORDER BY import_id")


def counts() -> dict[str, int]:
    row = _con().execute("""
        SELECT (SELECT count(*) FROM territory WHERE level = 'qpv' AND generation = '2024'),
               (SELECT count(*) FROM territory WHERE level = 'commune'),
               (SELECT count(*) FROM indicator_value),
               (SELECT count(*) FROM scheme), (SELECT count(*) FROM action)""").fetchone()
    return dict(zip(["qpv", "communes", "values", "schemes", "actions"], row))


# --- Territories ----------------------------------------------------------------------

SCOPE_LEVELS = ("france", "region", "departement", "epci", "commune")
_PARENT_COLUMN = {"region": "region", "departement": "departement", "epci": "epci", "commune": "commune"}


@per_db()
def territories(level: str, within: tuple[str, str] | None = None) -> pd.DataFrame:
    """Territories of a level, optionally within a scope (scope_level, scope_code)."""
    sql = ("SELECT level, code, name, generation, region, departement, epci, commune, population "
           "FROM territory WHERE level = ?")
    params: list = [level]
    if level == "qpv":
        sql += " AND generation = '2024'"
    sql, params = _within(sql, params, within, level)
    return _df(sql + " ORDER BY name, code", params)


def _within(sql: str, params: list, within, level: str, alias: str = ""):
    if not within or within[0] in (None, "france"):
        return sql, params
    scope_level, scope_code = within
    col = _PARENT_COLUMN[scope_level]
    a = f"{alias}." if alias else ""
    if level == scope_level:
        return sql + f" AND {a}code = ?", params + [scope_code]
    if level == "qpv" and scope_level == "commune":
        return (sql + f" AND {a}code IN (SELECT qpv_code FROM qpv_commune WHERE commune_code = ?)",
                params + [scope_code])
    return sql + f" AND {a}{col} = ?", params + [scope_code]


@per_db(maxsize=16)
def territory_names(level: str) -> dict[str, str]:
    """code -> name of every territory of a level."""
    return dict(_con().execute("SELECT code, name FROM territory WHERE level = ?", [level]).fetchall())


@per_db()
def territory(level: str, code: str) -> dict | None:
    df = _df("SELECT level, code, name, generation, region, departement, epci, commune, population, "
             "source_id FROM territory WHERE level = ? AND code = ?", [level, code])
    return None if df.empty else df.iloc[0].to_dict()


def qpv_communes(qpv_codes: list[str] | None = None) -> pd.DataFrame:
    sql = ("SELECT l.qpv_code, l.commune_code, t.name AS commune_name FROM qpv_commune l "
           "LEFT JOIN territory t ON t.level = 'commune' AND t.code = l.commune_code")
    if qpv_codes is not None:
        sql += " WHERE l.qpv_code IN (SELECT unnest(?))"
        return _df(sql + " ORDER BY 1, 2", [list(qpv_codes)])
    return _df(sql + " ORDER BY 1, 2")


def qpv_commune_names(qpv_codes: list[str]) -> dict[str, str]:
    """QPV code -> names of its communes joined by " ; " (in commune code order)."""
    every = _qpv_commune_names_all()
    return {c: every[c] for c in qpv_codes if c in every}


@per_db(maxsize=4)
def _qpv_commune_names_all() -> dict[str, str]:
    return dict(_con().execute("""
        SELECT l.qpv_code, string_agg(t.name, ' ; ' ORDER BY l.commune_code)
        FROM qpv_commune l JOIN territory t ON t.level = 'commune' AND t.code = l.commune_code
        WHERE t.name IS NOT NULL
        GROUP BY l.qpv_code""").fetchall())


def search_territories(text: str, levels=("qpv", "commune", "epci", "departement", "region"),
                       limit: int = 20) -> pd.DataFrame:
    return _df("""
        SELECT level, code, name FROM territory
        WHERE level IN (SELECT unnest(?)) AND (level <> 'qpv' OR generation = '2024')
          AND (strip_accents(lower(name)) LIKE '%' || strip_accents(lower(?)) || '%' OR code = ?)
        ORDER BY CASE level WHEN 'region' THEN 1 WHEN 'departement' THEN 2 WHEN 'epci' THEN 3
                 WHEN 'commune' THEN 4 ELSE 5 END, name LIMIT ?""",
               [list(levels), text, text, limit])


@lru_cache(maxsize=64)
def _geometries_cached(ver, level: str, within, simplified: bool) -> pd.DataFrame:
    col = "geom_display" if simplified else "geom"
    sql = f"SELECT code, name, {col} AS wkb FROM territory WHERE level = ? AND {col} IS NOT NULL"
    params: list = [level]
    if level == "qpv":
        sql += " AND generation = '2024'"
    sql, params = _within(sql, params, within, level)
    df = _df(sql + " ORDER BY code", params)
    df["geometry"] = shapely.from_wkb([bytes(b) for b in df.pop("wkb")]) if len(df) else []
    return df


def geometries(level: str, within: tuple[str, str] | None = None, simplified: bool = True) -> pd.DataFrame:
    """code, name, geometry (shapely) of a level's territories; display geometry by default."""
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

@per_db()
def indicators() -> pd.DataFrame:
    """Catalogue, with the levels and years each indicator has values for."""
    return _df("""
        SELECT i.*, 
               coalesce(list(DISTINCT v.level ORDER BY v.level) FILTER (WHERE v.level IS NOT NULL),
                        []::VARCHAR[]) AS levels,
               coalesce(list(DISTINCT v.year ORDER BY v.year) FILTER (WHERE v.year IS NOT NULL),
                        []::INTEGER[]) AS years
        FROM indicator i LEFT JOIN indicator_value v USING (indicator_id)
        GROUP BY ALL ORDER BY i.sort""")


@per_db()
def indicator(indicator_id: str) -> dict | None:
    df = _df("SELECT * FROM indicator WHERE indicator_id = ?", [indicator_id])
    return None if df.empty else df.iloc[0].to_dict()


@per_db()
def indicator_years(indicator_id: str, level: str = "qpv") -> list[int]:
    return [r[0] for r in _con().execute(
        "SELECT DISTINCT year FROM indicator_value WHERE indicator_id = ? AND level = ? ORDER BY year",
        [indicator_id, level]).fetchall()]


def values(indicator_id: str, level: str, within: tuple[str, str] | None = None,
           year: int | None = None) -> pd.DataFrame:
    """One row per territory of `level` (in scope): the value of `year`, or of the latest
    year the territory has any row for. Territories with no row at all come with
    status 'missing' so that nothing silently disappears from a map or a table."""
    sql = """
        WITH t AS (SELECT code, name, population FROM territory WHERE level = ? {gen} {scope}),
        v AS (
            SELECT * FROM indicator_value WHERE indicator_id = ? AND level = ? {year_filter}
            QUALIFY row_number() OVER (PARTITION BY code ORDER BY year DESC) = 1)
        SELECT t.code, t.name, t.population, v.year, v.value, v.numerator, v.denominator,
               coalesce(v.status, 'missing') AS status, v.geography, coalesce(v.perimeter, 'exact') AS perimeter,
               v.derived_from, v.source_id, s.title AS source_title, s.publisher, s.vintage
        FROM t LEFT JOIN v USING (code) LEFT JOIN source s ON s.source_id = v.source_id
        ORDER BY t.name, t.code"""
    scope_sql, scope_params = _within("", [], within, level)
    sql = sql.format(gen="AND generation = '2024'" if level == "qpv" else "", scope=scope_sql,
                     year_filter="AND year = ?" if year else "")
    params = [level] + scope_params + [indicator_id, level] + ([year] if year else [])
    return _df(sql, params)


def value_history(level: str, code: str, indicator_ids: list[str] | None = None) -> pd.DataFrame:
    sql = ("SELECT v.indicator_id, v.year, v.value, v.status, v.geography, v.perimeter, v.derived_from, "
           "v.source_id, s.title AS source_title, s.vintage FROM indicator_value v "
           "LEFT JOIN source s USING (source_id) WHERE v.level = ? AND v.code = ?")
    params: list = [level, code]
    if indicator_ids:
        sql += " AND v.indicator_id IN (SELECT unnest(?))"
        params.append(list(indicator_ids))
    return _df(sql + " ORDER BY v.indicator_id, v.year", params)


@per_db()
def reference_chain(level: str, code: str) -> list[tuple[str, str]]:
    """The (level, code) references of a territory: commune, EPCI, département, région, France."""
    t = territory(level, code)
    if t is None:
        return []
    chain = []
    if level in ("qpv", "arrondissement") and t.get("commune"):
        chain.append(("commune", t["commune"]))
    for lvl in ("epci", "departement", "region"):
        if lvl != level and t.get(lvl):
            chain.append((lvl, t[lvl]))
    for fr in _df("SELECT code FROM territory WHERE level = 'france' ORDER BY code").code:
        chain.append(("france", fr))
    return chain


def reference_values(indicator_id: str, ref_level: str, codes: list[str]) -> pd.DataFrame:
    """Latest value of an indicator on reference territories (ref_level)."""
    return _df("""
        SELECT v.code, t.name, v.year, v.value, v.status, v.geography, v.source_id, s.title AS source_title,
               s.vintage
        FROM indicator_value v JOIN territory t ON t.level = v.level AND t.code = v.code
        LEFT JOIN source s ON s.source_id = v.source_id
        WHERE v.indicator_id = ? AND v.level = ? AND v.code IN (SELECT unnest(?))
        QUALIFY row_number() OVER (PARTITION BY v.code ORDER BY v.year DESC) = 1""",
               [indicator_id, ref_level, list(codes)])


# --- Zoning, schemes, actions ---------------------------------------------------------------

def gp_zoning() -> pd.DataFrame:
    return _df("SELECT z.qpv_code, z.zone, z.millesime, s.title AS source_title FROM gp_zoning z "
               "LEFT JOIN source s USING (source_id)")


@per_db()
def themes() -> pd.DataFrame:
    return _df("SELECT theme_id, label, parent_id, sort FROM theme ORDER BY sort")


@per_db()
def publics() -> pd.DataFrame:
    return _df("SELECT public_id, label, sort FROM public_group ORDER BY sort")


def schemes(kind: str | None = None) -> pd.DataFrame:
    sql = ("SELECT scheme_id, kind, name, porteur, year_created, status, contact_url, source_id "
           "FROM scheme")
    return _df(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY kind, name", [kind] if kind else [])


def scheme(scheme_id: str) -> dict | None:
    df = _df("SELECT * EXCLUDE (geom, geom_display) FROM scheme WHERE scheme_id = ?", [scheme_id])
    return None if df.empty else df.iloc[0].to_dict()


def scheme_territories(scheme_id: str | None = None) -> pd.DataFrame:
    sql = ("SELECT st.scheme_id, sc.kind, st.level, st.code, t.name FROM scheme_territory st "
           "JOIN scheme sc USING (scheme_id) LEFT JOIN territory t ON t.level = st.level AND t.code = st.code")
    if scheme_id:
        return _df(sql + " WHERE st.scheme_id = ? ORDER BY st.level, t.name", [scheme_id])
    return _df(sql + " ORDER BY st.scheme_id, st.level, t.name")


def qpv_coverage(within: tuple[str, str] | None = None) -> pd.DataFrame:
    """For each 2024 QPV: the schemes covering it, directly (QPV listed) or through its commune(s)."""
    sql, params = _within(
        "SELECT code, name, population, commune FROM territory WHERE level = 'qpv' AND generation = '2024'",
        [], within, "qpv")
    return _df(f"""
        WITH q AS ({sql}),
        direct AS (
            SELECT st.code AS qpv_code, sc.scheme_id, sc.kind, sc.name FROM scheme_territory st
            JOIN scheme sc USING (scheme_id)
            WHERE st.level = 'qpv' AND coalesce(sc.status, '') NOT IN ('terminé', 'termine')),
        via_commune AS (
            SELECT l.qpv_code, sc.scheme_id, sc.kind, sc.name FROM qpv_commune l
            JOIN scheme_territory st ON st.level = 'commune' AND st.code = l.commune_code
            JOIN scheme sc USING (scheme_id) WHERE coalesce(sc.status, '') NOT IN ('terminé', 'termine')),
        cov AS (SELECT * FROM direct UNION SELECT * FROM via_commune)
        SELECT q.code, q.name, q.population, q.commune,
               bool_or(cov.kind = 'ASV') AS has_asv, bool_or(cov.kind = 'CLS') AS has_cls,
               bool_or(cov.kind = 'CLSM') AS has_clsm, bool_or(cov.kind = 'CPTS') AS has_cpts,
               string_agg(DISTINCT cov.name, ' ; ' ORDER BY cov.name) FILTER (WHERE cov.kind = 'ASV') AS asv_names,
               list(DISTINCT cov.scheme_id) FILTER (WHERE cov.scheme_id IS NOT NULL) AS scheme_ids
        FROM q LEFT JOIN cov ON cov.qpv_code = q.code
        GROUP BY ALL ORDER BY q.name""", params)


def actions(themes_: list[str] | None = None, publics_: list[str] | None = None,
            years: tuple[int, int] | None = None, porteurs: list[str] | None = None,
            within: tuple[str, str] | None = None, scheme_id: str | None = None) -> pd.DataFrame:
    """Actions matching the filters. A theme filter matches the theme and its sub-themes."""
    where, params = ["TRUE"], []
    if themes_:
        where.append("""a.action_id IN (SELECT xt.action_id FROM action_theme xt JOIN theme th USING (theme_id)
                         WHERE th.theme_id IN (SELECT unnest(?)) OR th.parent_id IN (SELECT unnest(?)))""")
        params += [list(themes_), list(themes_)]
    if publics_:
        where.append("a.action_id IN (SELECT action_id FROM action_public WHERE public_id IN (SELECT unnest(?)))")
        params.append(list(publics_))
    if years:
        where.append("a.year_start <= ? AND coalesce(a.year_end, a.year_start) >= ?")
        params += [years[1], years[0]]
    if porteurs:
        where.append("a.porteur IN (SELECT unnest(?))")
        params.append(list(porteurs))
    if scheme_id:
        where.append("a.scheme_id = ?")
        params.append(scheme_id)
    if within and within[0] not in (None, "france"):
        lvl, code = within
        if lvl == "commune":
            where.append("(a.commune_code = ? OR a.qpv_code IN (SELECT qpv_code FROM qpv_commune WHERE commune_code = ?))")
            params += [code, code]
        else:
            col = _PARENT_COLUMN[lvl]
            where.append(f"""(a.commune_code IN (SELECT code FROM territory WHERE level = 'commune' AND {col} = ?)
                             OR a.qpv_code IN (SELECT code FROM territory WHERE level = 'qpv' AND {col} = ?))""")
            params += [code, code]
    return _df(f"""
        SELECT a.action_id, a.title, a.description, a.year_start, a.year_end, a.porteur, a.qpv_code,
               q.name AS qpv_name, a.commune_code, c.name AS commune_name, a.lon, a.lat, a.location_method,
               a.scheme_id, sc.name AS scheme_name, a.funders, a.source_id,
               (SELECT string_agg(th.label, ' ; ' ORDER BY th.sort) FROM action_theme x JOIN theme th USING (theme_id)
                 WHERE x.action_id = a.action_id) AS themes,
               (SELECT list(x.theme_id) FROM action_theme x WHERE x.action_id = a.action_id) AS theme_ids,
               (SELECT string_agg(p.label, ' ; ' ORDER BY p.sort) FROM action_public x JOIN public_group p USING (public_id)
                 WHERE x.action_id = a.action_id) AS publics
        FROM action a
        LEFT JOIN territory q ON q.level = 'qpv' AND q.code = a.qpv_code
        LEFT JOIN territory c ON c.level = 'commune' AND c.code = a.commune_code
        LEFT JOIN scheme sc ON sc.scheme_id = a.scheme_id
        WHERE {' AND '.join(where)}
        ORDER BY a.year_start DESC, a.title""", params)


def action_themes() -> pd.DataFrame:
    """(action_id, theme_id, axis_id): each action's themes with their axis."""
    return _df("SELECT x.action_id, x.theme_id, coalesce(th.parent_id, th.theme_id) AS axis_id "
               "FROM action_theme x JOIN theme th USING (theme_id)")


@per_db()
def porteurs() -> list[str]:
    return [r[0] for r in _con().execute(
        "SELECT DISTINCT porteur FROM action WHERE porteur IS NOT NULL ORDER BY 1").fetchall()]


@per_db()
def action_years() -> tuple[int, int] | None:
    row = _con().execute("SELECT min(year_start), max(coalesce(year_end, year_start)) FROM action").fetchone()
    return None if row[0] is None else (int(row[0]), int(row[1]))


@lru_cache(maxsize=8)
def _scheme_geometries_cached(ver) -> pd.DataFrame:
    """Each scheme's territory: its own shape when given (CPTS), else the union of the
    display geometries of what it covers (communes and QPVs)."""
    df = _df("""
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


# --- Fiche territoire ---

@per_db()
def parents(level: str, code: str) -> list[dict]:
    """Parent territories (commune(s), EPCI, département, région) with their names."""
    t = territory(level, code)
    if t is None:
        return []
    out = []
    if level == "qpv":
        for c, n in _con().execute(
                "SELECT l.commune_code, t.name FROM qpv_commune l JOIN territory t "
                "ON t.level = 'commune' AND t.code = l.commune_code WHERE l.qpv_code = ? ORDER BY t.name",
                [code]).fetchall():
            out.append({"level": "commune", "code": c, "name": n})
    elif level == "arrondissement" and t.get("commune"):
        out.append({"level": "commune", "code": t["commune"], "name": (territory("commune", t["commune"]) or {}).get("name")})
    for lvl in ("epci", "departement", "region"):
        if lvl != level and t.get(lvl):
            p = territory(lvl, t[lvl])
            out.append({"level": lvl, "code": t[lvl], "name": p["name"] if p else t[lvl]})
    return out


def schemes_covering(level: str, code: str) -> pd.DataFrame:
    """Schemes covering a territory: a QPV directly or through its communes; a commune
    directly or through one of its QPVs."""
    if level == "qpv":
        sql = """SELECT DISTINCT sc.scheme_id, sc.kind, sc.name, sc.porteur, sc.year_created, sc.status
                 FROM scheme sc JOIN scheme_territory st USING (scheme_id)
                 WHERE (st.level = 'qpv' AND st.code = ?)
                    OR (st.level = 'commune' AND st.code IN (SELECT commune_code FROM qpv_commune WHERE qpv_code = ?))"""
        params = [code, code]
    else:
        sql = """SELECT DISTINCT sc.scheme_id, sc.kind, sc.name, sc.porteur, sc.year_created, sc.status
                 FROM scheme sc JOIN scheme_territory st USING (scheme_id)
                 WHERE (st.level = 'commune' AND st.code = ?)
                    OR (st.level = 'qpv' AND st.code IN (SELECT qpv_code FROM qpv_commune WHERE commune_code = ?))"""
        params = [code, code]
    return _df(sql + " ORDER BY kind, name", params)


def action_counts(level: str, code: str, by: str = "theme") -> pd.DataFrame:
    """Number of actions located in a territory (QPV, commune or scheme), by theme axis or public."""
    if level == "qpv":
        where, params = "a.qpv_code = ?", [code]
    elif level == "scheme":
        where, params = "a.scheme_id = ?", [code]
    else:
        where, params = "a.commune_code = ?", [code]
    if by == "public":
        return _df(f"""SELECT p.label, p.sort, count(DISTINCT a.action_id) AS n FROM action a
                       JOIN action_public x USING (action_id) JOIN public_group p USING (public_id)
                       WHERE {where} GROUP BY ALL ORDER BY p.sort""", params)
    return _df(f"""SELECT ax.label, ax.sort, count(DISTINCT a.action_id) AS n FROM action a
                   JOIN action_theme x USING (action_id) JOIN theme th USING (theme_id)
                   JOIN theme ax ON ax.theme_id = coalesce(th.parent_id, th.theme_id)
                   WHERE {where} GROUP BY ALL ORDER BY ax.sort""", params)


def scheme_qpvs(scheme_id: str) -> pd.DataFrame:
    """2024 QPVs covered by a scheme, directly or through its communes."""
    return _df("""
        SELECT DISTINCT q.code, q.name, q.population FROM territory q
        WHERE q.level = 'qpv' AND q.generation = '2024' AND (
            q.code IN (SELECT code FROM scheme_territory WHERE scheme_id = ? AND level = 'qpv')
            OR q.code IN (SELECT l.qpv_code FROM qpv_commune l JOIN scheme_territory st
                          ON st.level = 'commune' AND st.code = l.commune_code WHERE st.scheme_id = ?))
        ORDER BY q.name""", [scheme_id, scheme_id])


def latest_values(pairs: list[tuple[str, str]], indicator_ids: list[str] | None = None) -> pd.DataFrame:
    """Latest row of each indicator for each (level, code) in `pairs`, in one query."""
    if not pairs:
        return pd.DataFrame(columns=["level", "code", "indicator_id", "year", "value", "status", "geography",
                                     "perimeter", "derived_from", "source_id", "source_title", "vintage",
                                     "publisher"])
    keys = pd.DataFrame(pairs, columns=["level", "code"])
    con = _con()
    con.register("_pairs", keys)
    try:
        sql = """
            SELECT v.level, v.code, v.indicator_id, v.year, v.value, v.status, v.geography, v.perimeter,
                   v.derived_from, v.source_id, s.title AS source_title, s.vintage, s.publisher
            FROM indicator_value v JOIN _pairs p ON p.level = v.level AND p.code = v.code
            LEFT JOIN source s ON s.source_id = v.source_id
            {filter}
            QUALIFY row_number() OVER (PARTITION BY v.level, v.code, v.indicator_id ORDER BY v.year DESC) = 1"""
        if indicator_ids:
            return con.execute(sql.format(filter="WHERE v.indicator_id IN (SELECT unnest(?))"),
                               [list(indicator_ids)]).fetchdf()
        return con.execute(sql.format(filter="")).fetchdf()
    finally:
        con.unregister("_pairs")


# --- Actions page ---

def action_record(action_id: str) -> dict | None:
    """One action with what its fiche shows: texts, years, porteur, themes, publics,
    location (QPV, commune, point), linked scheme, funders, source and import."""
    df = _df("""
        SELECT a.action_id, a.title, a.description, a.year_start, a.year_end, a.porteur, a.qpv_code,
               q.name AS qpv_name, a.commune_code, c.name AS commune_name, a.lon, a.lat, a.location_method,
               a.scheme_id, sc.name AS scheme_name, sc.kind AS scheme_kind, a.funders, a.source_id,
               s.title AS source_title, s.vintage AS source_vintage, i.file_name AS import_file,
               i.imported_at,
               (SELECT string_agg(th.label, ' ; ' ORDER BY th.sort) FROM action_theme x JOIN theme th USING (theme_id)
                 WHERE x.action_id = a.action_id) AS themes,
               (SELECT string_agg(p.label, ' ; ' ORDER BY p.sort) FROM action_public x
                 JOIN public_group p USING (public_id) WHERE x.action_id = a.action_id) AS publics
        FROM action a
        LEFT JOIN territory q ON q.level = 'qpv' AND q.code = a.qpv_code
        LEFT JOIN territory c ON c.level = 'commune' AND c.code = a.commune_code
        LEFT JOIN scheme sc ON sc.scheme_id = a.scheme_id
        LEFT JOIN source s ON s.source_id = a.source_id
        LEFT JOIN import_log i ON i.import_id = a.import_id
        WHERE a.action_id = ?""", [action_id])
    return None if df.empty else df.iloc[0].to_dict()


def population_sources(level: str) -> pd.DataFrame:
    """Where the populations of a level's territories come from (2024 QPVs only), with how
    many territories have a known population and how many have none."""
    gen = "AND t.generation = '2024'" if level == "qpv" else ""
    return _df(f"""
        SELECT t.source_id, s.title, s.publisher, s.vintage,
               count(t.population) AS n_known, count(*) - count(t.population) AS n_unknown
        FROM territory t LEFT JOIN source s USING (source_id)
        WHERE t.level = ? {gen}
        GROUP BY ALL ORDER BY n_known DESC""", [level])


def action_sources() -> pd.DataFrame:
    """Where the actions come from: source (file, vintage) and user import, with counts."""
    return _df("""
        SELECT a.source_id, s.title, s.publisher, s.vintage, s.file_name, s.fictional,
               i.file_name AS import_file, i.imported_at, count(*) AS n_actions
        FROM action a LEFT JOIN source s USING (source_id) LEFT JOIN import_log i USING (import_id)
        GROUP BY ALL ORDER BY n_actions DESC""")


# --- Inégalités page ---

def reference_values_at(indicator_id: str, ref_level: str, codes: list[str], year: int | None = None) -> pd.DataFrame:
    """Value of an indicator on reference territories, for the year of the QPV figures when
    the reference has it, else its closest earlier year, else its closest later year."""
    codes = [c for c in codes if c is not None]
    if not codes:
        return pd.DataFrame(columns=["code", "name", "year", "value", "status", "geography", "source_id",
                                     "source_title", "publisher", "vintage"])
    y = int(year) if year is not None else 9999
    return _df("""
        SELECT v.code, t.name, v.year, v.value, v.status, v.geography, v.source_id, s.title AS source_title,
               s.publisher, s.vintage
        FROM indicator_value v JOIN territory t ON t.level = v.level AND t.code = v.code
        LEFT JOIN source s ON s.source_id = v.source_id
        WHERE v.indicator_id = ? AND v.level = ? AND v.code IN (SELECT unnest(?))
        QUALIFY row_number() OVER (PARTITION BY v.code
                                   ORDER BY (v.year = ?) DESC, (v.year <= ?) DESC,
                                            CASE WHEN v.year <= ? THEN v.year ELSE -v.year END DESC) = 1
        ORDER BY v.code""", [indicator_id, ref_level, list(codes), y, y, y])


@per_db()
def latest_action_year() -> int | None:
    """The latest year in which an action started (planned end years lie in the future)."""
    return _one("SELECT max(year_start) FROM action")


def qpv_lineage(qpv2024: str) -> dict | None:
    """Status of a 2024 QPV in the ANCT correspondence and its 2015 predecessors."""
    rows = _con().execute(
        "SELECT statut, qpv2015, label2015 FROM qpv_correspondence WHERE qpv2024 = ? ORDER BY rank",
        [qpv2024]).fetchall()
    if not rows:
        return None
    return {"statut": rows[0][0], "predecessors": [(c, n) for _, c, n in rows if c]}


# --- Importer page ---

def snapshot_connection() -> duckdb.DuckDBPyConnection:
    """A new read-only connection on the DB file as it is now, for a caller that runs many
    queries of its own (the importer's validation) and closes it. Like _con(), the file is
    ATTACHed to a fresh in-memory instance, so that it never shares DuckDB's per-path
    instance cache with the writer path (etl.importer.apply)."""
    path = db_path()
    if not path.exists():
        raise FileNotFoundError(
            f"Base introuvable : {path}. Lancez `make data` ou `python -m etl build --demo`.")
    return connect_snapshot(path)


# --- Scope picker ---

@per_db()
def communes_with_qpv() -> pd.DataFrame:
    """Communes that hold at least one 2024 QPV (the scopes that matter for the ASV)."""
    return _df("""
        SELECT c.code, c.name FROM territory c
        WHERE c.level = 'commune' AND c.code IN (
            SELECT l.commune_code FROM qpv_commune l JOIN territory q
            ON q.level = 'qpv' AND q.code = l.qpv_code AND q.generation = '2024')
        ORDER BY c.name, c.code""")
