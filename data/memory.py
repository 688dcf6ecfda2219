"""What interactions read, in memory: the DB's small tables and its indicator values, loaded
once per DB file version into pandas/numpy columns, dropped when the file is replaced.

The app opens the DB read-only and every build or import renames a new file over it, so a
version (path, inode, mtime, size: data.db.version) never changes content: what is loaded
for it stays true until the version changes. `tables()` gives the version the process answers
with: loaded on first use (one thread loads, the others wait for it); when the file is replaced,
the new one is read in the background while the old one keeps answering, then swapped in
(ATLAS_RELOAD=sync: read before answering). A file that only an import changed (same meta
build_id) shares with the version before it what only builds write (indicator values,
territories...): only schemes, actions and their sources are read again. data.access answers its
questions from them. Repeated strings (codes, identifiers, statuses) are interned, so
that the 400,000 values of a France-scale DB take a few tens of MB.

Indicator values are sorted by (indicator, level, code, period): the rows of one indicator at
one level are a contiguous block (`block`), and the rows of one territory are found through
`rows_of`. A series is keyed by its period (data.provenance: the year described when known, else
the diffusion vintage minus 10000), so a territory's last row is its most recent year described.
"""
from __future__ import annotations

import os
import threading
import unicodedata
from typing import Any, Callable

import numpy as np
import pandas as pd

from data import db
from data.provenance import UNDATED_OFFSET, comparable_year, year_text

VALUE_COLUMNS = ["level", "code", "indicator_id", "year", "value", "numerator", "denominator", "status",
                 "geography", "perimeter", "derived_from", "source_id", "ref_year", "same_as", "period"]
TERRITORY_COLUMNS = ["level", "code", "name", "generation", "region", "departement", "epci", "commune",
                     "population", "source_id"]
_INTERNED = ("level", "code", "indicator_id", "status", "geography", "perimeter", "derived_from", "source_id",
             "generation", "region", "departement", "epci", "commune", "kind", "theme_id", "public_id",
             "scheme_id", "qpv_code", "commune_code", "porteur", "location_method", "action_id",
             "qpv2024", "qpv2015", "parent_id", "funders")


def _intern(df: pd.DataFrame, pool: dict) -> pd.DataFrame:
    """One string object per distinct value across all tables of a version, in the columns
    that repeat (a column of 400,000 codes then holds 400,000 pointers to a few thousand
    strings, shared with the territory and action tables)."""
    for col in df.columns:
        if col not in _INTERNED or not len(df) or df[col].dtype.kind not in "OT":
            continue
        cat = pd.Categorical(df[col])
        cats = np.array([pool.setdefault(c, c) for c in cat.categories], dtype=object)
        codes = cat.codes
        out = np.empty(len(df), dtype=object)
        ok = codes >= 0
        out[ok] = cats[codes[ok]]
        out[~ok] = None
        df[col] = pd.Series(out, index=df.index, dtype=df[col].dtype)
    return df


def _year_labels(v: pd.DataFrame) -> np.ndarray:
    """data.provenance.year_text of each value row, one string object per distinct
    (year, year described, repeated vintage)."""
    if not len(v):
        return np.array([], dtype=object)
    keys = pd.MultiIndex.from_arrays([v["year"], v["ref_year"], v["same_as"]])
    codes, uniques = pd.factorize(keys)
    labels = np.array([year_text(y, r, s) for y, r, s in uniques], dtype=object)
    return labels[codes]


def fold(text: Any) -> str:
    """Lower case without accents (what searches compare)."""
    s = unicodedata.normalize("NFKD", str(text or ""))
    return "".join(c for c in s if not unicodedata.combining(c)).lower()


class Tables:
    """One DB version's tables, read once. Frames returned by the methods are shared: callers
    that change one must copy it first (data.access does)."""

    # Written by builds only: an import leaves them as they are (etl/importer), so a file that only
    # an import changed (same meta build_id) shares them with the version before it.
    OFFICIAL = ("indicator", "values", "territory", "qpv_commune", "correspondence", "gp_zoning", "theme",
                "public_group", "year_evidence", "vcol", "_blocks", "_terr_pos", "_levels")

    def __init__(self, version: tuple, con, previous: "Tables | None" = None):
        self.version = version
        pool: dict = {}

        def q(sql: str) -> pd.DataFrame:
            return _intern(con.execute(sql).fetchdf(), pool)

        self.meta: dict[str, str] = dict(con.execute("SELECT key, value FROM meta").fetchall())
        build_id = self.meta.get("build_id")
        self.shared_official = previous is not None and build_id is not None \
            and previous.meta.get("build_id") == build_id
        if self.shared_official:
            for name in self.OFFICIAL:
                setattr(self, name, getattr(previous, name))
        else:
            self.indicator = q("SELECT * FROM indicator ORDER BY sort")
            self.values = q(f"SELECT {', '.join(VALUE_COLUMNS)} FROM indicator_value "
                            "ORDER BY indicator_id, level, code, period")
            self.values["year_label"] = _year_labels(self.values)
            self.territory = q(f"SELECT {', '.join(TERRITORY_COLUMNS)} FROM territory ORDER BY level, name, code")
            self.qpv_commune = q("SELECT qpv_code, commune_code, area_share FROM qpv_commune "
                                 "ORDER BY qpv_code, commune_code")
            self.correspondence = q("SELECT qpv2024, statut, rank, qpv2015, label2015 FROM qpv_correspondence "
                                    "ORDER BY qpv2024, rank")
            self.gp_zoning = q("SELECT z.qpv_code, z.zone, z.millesime, s.title AS source_title FROM gp_zoning z "
                               "LEFT JOIN source s USING (source_id)")
            self.theme = q("SELECT theme_id, label, parent_id, sort FROM theme ORDER BY sort")
            self.public_group = q("SELECT public_id, label, sort FROM public_group ORDER BY sort")
            self.year_evidence = q("SELECT * FROM year_evidence ORDER BY source_id, indicator_id")
            self._index_values()
            self._index_territories()
        # what imports change: schemes, actions, their sources and the registries' territories
        self.source = q("SELECT * FROM source ORDER BY publisher, title").set_index("source_id", drop=False)
        self.scheme = q("SELECT * EXCLUDE (geom, geom_display) FROM scheme ORDER BY kind, name")
        self.scheme_territory = q("SELECT scheme_id, level, code FROM scheme_territory ORDER BY scheme_id, level, code")
        self.action = q("SELECT * FROM action ORDER BY year_start DESC, title")
        self.action_theme = q("SELECT action_id, theme_id FROM action_theme ORDER BY action_id, theme_id")
        self.action_public = q("SELECT action_id, public_id FROM action_public ORDER BY action_id, public_id")
        self.import_log = q("SELECT * FROM import_log ORDER BY import_id")
        self.registry_coverage = q("SELECT DISTINCT kind, level, code FROM registry_coverage ORDER BY ALL")
        self._memo: dict = {}
        self._memo_lock = threading.Lock()

    # --- derived structures, computed once per version --------------------------------------

    def memo(self, key, build: Callable[[], Any]):
        """`build()` once per key for this version (a result is never changed afterwards)."""
        try:
            return self._memo[key]
        except KeyError:
            pass
        value = build()
        with self._memo_lock:
            return self._memo.setdefault(key, value)

    def _index_values(self) -> None:
        v = self.values
        n = len(v)
        self.vcol = {c: v[c].to_numpy() for c in VALUE_COLUMNS + ["year_label"]}   # the same, as numpy arrays
        ind = v["indicator_id"].to_numpy(dtype=object)
        lev = v["level"].to_numpy(dtype=object)
        if n:
            change = np.ones(n, dtype=bool)
            change[1:] = (ind[1:] != ind[:-1]) | (lev[1:] != lev[:-1])
            starts = np.flatnonzero(change)
            ends = np.append(starts[1:], n)
        else:
            starts = ends = np.array([], dtype=int)
        self._blocks = {(ind[s], lev[s]): (int(s), int(e)) for s, e in zip(starts, ends)}

    def _index_territories(self) -> None:
        t = self.territory
        self._terr_pos = {(lv, c): i for i, (lv, c) in enumerate(zip(t["level"], t["code"]))}
        self._levels = {lv: (int(idx.min()), int(idx.max()) + 1)
                        for lv, idx in t.groupby("level", sort=False).indices.items()}

    def block(self, indicator_id: str, level: str) -> pd.DataFrame:
        """The values of one indicator at one level, sorted by code then year."""
        s, e = self._blocks.get((indicator_id, level), (0, 0))
        return self.values.iloc[s:e]

    def blocks(self) -> dict[tuple[str, str], tuple[int, int]]:
        return self._blocks

    def selection(self, indicator_id: str, level: str, period: int | None = None,
                  nearest: bool = False) -> "Selection":
        """One row per code of an indicator at a level: the row of `period` (None: of the latest
        period, i.e. the most recent year described). With `nearest` (what a reference is
        compared with), a code without that period gets the row whose year is the closest
        earlier one (comparing years described, or for undated figures their diffusion
        vintage; a dated row first at equal years), else the closest later one. Memoized."""
        def build():
            s, e = self._blocks.get((indicator_id, level), (0, 0))
            codes = self.vcol["code"][s:e]
            periods = self.vcol["period"][s:e].astype(np.int64)
            rows = np.arange(s, e)
            if not len(rows):
                return Selection(rows, {})
            if nearest:
                dated = periods >= 0
                cy = np.where(dated, periods, periods + UNDATED_OFFSET)
                target = comparable_year(period)
                c = np.iinfo(np.int64).max // 4 if target is None else int(target)
                exact = periods == (period if period is not None else np.iinfo(np.int64).min)
                key = np.where(exact, 3e7, np.where(cy <= c, 2e7 + cy * 2 + dated, 1e7 - cy * 2 + dated))
                change = np.ones(len(codes), dtype=bool)
                change[1:] = codes[1:] != codes[:-1]
                group = np.cumsum(change) - 1
                order = np.lexsort((key, group))            # within each code, the best row last
                last = np.ones(len(order), dtype=bool)
                last[:-1] = group[order][1:] != group[order][:-1]
                rows = rows[order[last]]
            elif period is not None:
                rows = rows[periods == int(period)]
            else:
                last = np.ones(len(codes), dtype=bool)
                last[:-1] = codes[1:] != codes[:-1]         # sorted by code then period: the latest
                rows = rows[last]
            return Selection(rows, {c: i for i, c in enumerate(self.vcol["code"][rows])})
        return self.memo(("selection", indicator_id, level, period, nearest), build)

    def rows_of(self, level: str, code: str) -> pd.DataFrame:
        """Every value of one territory, sorted by indicator then period."""
        index = self.memo("rows_of", lambda: self.values.groupby(["level", "code"], sort=False).indices)
        pos = index.get((level, code))
        return self.values.iloc[pos] if pos is not None else self.values.iloc[0:0]

    def level(self, level: str) -> pd.DataFrame:
        """Territories of a level, sorted by name then code (2024 QPVs only for 'qpv')."""
        def build():
            s, e = self._levels.get(level, (0, 0))
            df = self.territory.iloc[s:e]
            if level == "qpv":
                df = df[df["generation"].eq("2024")]
            return df
        return self.memo(("level", level), build)

    def territory_row(self, level: str, code: str) -> pd.Series | None:
        i = self._terr_pos.get((level, code))
        return None if i is None else self.territory.iloc[i]

    def names(self, level: str) -> dict[str, str]:
        def build():
            s, e = self._levels.get(level, (0, 0))
            t = self.territory.iloc[s:e]
            return dict(zip(t["code"], t["name"]))
        return self.memo(("names", level), build)

    def communes_of_qpv(self) -> dict[str, list[str]]:
        """2024 QPV code -> its commune codes (in code order)."""
        return self.memo("communes_of_qpv", lambda: {
            q: list(g) for q, g in self.qpv_commune.groupby("qpv_code", sort=False)["commune_code"]})

    def qpvs_of_commune(self) -> dict[str, list[str]]:
        return self.memo("qpvs_of_commune", lambda: {
            c: list(g) for c, g in self.qpv_commune.groupby("commune_code", sort=False)["qpv_code"]})

    def folded_names(self) -> pd.Series:
        return self.memo("folded_names", lambda: self.territory["name"].map(fold))


class Selection:
    """Rows of the values table (`rows`, positions), one per code (`index`: code -> k)."""
    __slots__ = ("rows", "index")

    def __init__(self, rows: np.ndarray, index: dict[str, int]):
        self.rows, self.index = rows, index

    def positions(self, codes) -> np.ndarray:
        """For each code, its row in the values table, or -1."""
        get = self.index.get
        k = np.fromiter((get(c, -1) for c in codes), dtype=np.int64, count=len(codes))
        out = np.full(len(k), -1, dtype=np.int64)
        found = k >= 0
        out[found] = self.rows[k[found]]
        return out


_current: Tables | None = None
_load_lock = threading.Lock()
_loading: threading.Thread | None = None
_start_lock = threading.Lock()
RELOAD_ENV = "ATLAS_RELOAD"     # "background" (default): serve the version in memory while a new one loads


def background_reload() -> bool:
    return os.environ.get(RELOAD_ENV, "background").strip().lower() != "sync"


def tables() -> Tables:
    """The Tables the process answers with. Loaded on first use (and when another DB path is
    configured). When the file is replaced (a build or an import), the new one is read in a
    background thread, once per process, while requests go on with the version in memory; the
    switch is one assignment. With ATLAS_RELOAD=sync the new file is read before answering."""
    fv = db.file_version()
    cur = _current
    if cur is not None and cur.version == fv:
        return cur
    if cur is not None and cur.version[0] == fv[0] and background_reload():
        _reload_in_background()
        return cur
    with _load_lock:
        cur = _current
        if cur is None or cur.version != db.file_version():
            cur = _load()
        return cur


def refresh() -> Tables:
    """Read the file as it is now, in this thread (after an import this process made: the person
    who imported sees the result at once)."""
    with _load_lock:
        cur = _current
        return cur if cur is not None and cur.version == db.file_version() else _load()


def _load() -> Tables:
    """Read the current file (call under _load_lock) and switch to it."""
    global _current
    ver = db.file_version()
    base = db.connect_snapshot(ver[0])     # kept: the queries of this version read the same file
    # A connection of its own for the tables, closed once read: DuckDB keeps the memory of what
    # a connection scanned, and the shared one (geometries, logs) need not hold it.
    con = db.connect_snapshot(ver[0])
    try:
        previous = _current if _current is not None and _current.version[0] == ver[0] else None
        cur = Tables(ver, con, previous)
    finally:
        con.close()
    db.adopt(ver, base)
    _current = cur
    return cur


def _reload_in_background() -> None:
    global _loading
    with _start_lock:           # not _load_lock: the thread holds it while it reads
        if _loading is not None and _loading.is_alive():
            return

        def run():
            try:
                with _load_lock:
                    if _current is None or _current.version != db.file_version():
                        _load()
            except Exception:  # noqa: BLE001  (a file replaced again, or removed: the next request retries)
                import logging

                logging.getLogger(__name__).exception("background reload failed")

        _loading = threading.Thread(target=run, name="atlas-reload", daemon=True)
        _loading.start()


def wait_reload(timeout: float | None = None) -> None:
    """Wait for a background reload in progress (tests, the benchmark)."""
    t = _loading
    if t is not None:
        t.join(timeout)


def reset() -> None:
    """Forget the loaded tables (tests)."""
    global _current
    with _load_lock:
        _current = None
