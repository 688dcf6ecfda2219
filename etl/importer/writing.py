"""Diff and write: rows keyed by id_action / id_dispositif, compared with the DB, inserted or updated
in place, the import logged."""
from __future__ import annotations

import datetime as dt
import secrets
import math
from typing import Any

import pandas as pd

from ..context import BuildContext
from .coverage import write_coverage
from .geocoding import _ensure_spatial
from .report import ImportReport
from .spec import KIND_FR

ACTION_FIELDS = ["title", "description", "year_start", "year_end", "porteur", "qpv_code", "commune_code",
                 "lon", "lat", "location_method", "scheme_id", "funders", "address", "qpv_code_given"]


SCHEME_FIELDS = ["kind", "name", "porteur", "year_created", "status", "contact_url"]


def _comparable(rec: dict, kind: str) -> tuple:
    fields = SCHEME_FIELDS if kind == "schemes" else ACTION_FIELDS
    vals = []
    for f in fields:
        v = rec.get(f)
        if isinstance(v, float):
            v = None if math.isnan(v) else round(v, 7)
        vals.append(v)
    if kind == "schemes":
        return tuple(vals) + (tuple(sorted(rec["territories"])),)
    return tuple(vals) + (tuple(sorted(rec["themes"])), tuple(sorted(rec["publics"])))


def _existing(con, kind: str, ids: list[str]) -> dict[str, tuple]:
    if not ids:
        return {}
    con.register("_import_ids", pd.DataFrame({"id": ids}))
    try:
        if kind == "schemes":
            base = con.execute(f"SELECT scheme_id, {', '.join(SCHEME_FIELDS)} FROM scheme "
                               "WHERE scheme_id IN (SELECT id FROM _import_ids)").fetchall()
            terr: dict[str, list] = {}
            for sid, level, code in con.execute("SELECT scheme_id, level, code FROM scheme_territory "
                                                "WHERE scheme_id IN (SELECT id FROM _import_ids)").fetchall():
                terr.setdefault(sid, []).append((level, code))
            out = {}
            for r in base:
                rec = dict(zip(SCHEME_FIELDS, r[1:]))
                rec["territories"] = terr.get(r[0], [])
                out[r[0]] = _comparable(rec, kind)
            return out
        base = con.execute(f"SELECT action_id, {', '.join(ACTION_FIELDS)} FROM action "
                           "WHERE action_id IN (SELECT id FROM _import_ids)").fetchall()
        themes: dict[str, list] = {}
        for aid, t in con.execute("SELECT action_id, theme_id FROM action_theme "
                                  "WHERE action_id IN (SELECT id FROM _import_ids)").fetchall():
            themes.setdefault(aid, []).append(t)
        publics: dict[str, list] = {}
        for aid, p in con.execute("SELECT action_id, public_id FROM action_public "
                                  "WHERE action_id IN (SELECT id FROM _import_ids)").fetchall():
            publics.setdefault(aid, []).append(p)
        out = {}
        for r in base:
            rec = dict(zip(ACTION_FIELDS, r[1:]))
            rec["themes"], rec["publics"] = themes.get(r[0], []), publics.get(r[0], [])
            out[r[0]] = _comparable(rec, kind)
        return out
    finally:
        con.unregister("_import_ids")


def _diff(con, kind: str, recs: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    key = "scheme_id" if kind == "schemes" else "action_id"
    old = _existing(con, kind, [r[key] for r in recs])
    new, changed, same = [], [], []
    for r in recs:
        prev = old.get(r[key])
        if prev is None:
            new.append(r)
        elif prev != _comparable(r, kind):
            changed.append(r)
        else:
            same.append(r)
    return new, changed, same


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _frame(recs: list[dict], cols: list[str], extra: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in recs], columns=cols)
    for k, v in extra.items():
        df[k] = v
    for c in ("year_start", "year_end", "year_created", "import_id"):
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    for c in ("lon", "lat"):
        if c in df.columns:
            df[c] = df[c].astype("float64")
    return df


def new_import_ref() -> str:
    """A stable reference for a new import: its local time and 4 random hex digits. Kept in the archive's
    sidecar, a rebuild gives the replayed import the same reference (its import_id may change)."""
    return f"{dt.datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _write(con, report: ImportReport, recs: list[dict], *, source_id: str | None,
           ctx: BuildContext | None) -> None:
    kind = report.kind
    key = "scheme_id" if kind == "schemes" else "action_id"
    new, changed, same = _diff(con, kind, recs)
    report.n_inserted, report.n_updated, report.n_unchanged = len(new), len(changed), len(same)
    own_tx = True
    try:
        con.begin()
    except Exception:   # already inside a transaction: the caller owns it
        own_tx = False
    try:
        import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM import_log").fetchone()[0]
        report.import_id = import_id
        if source_id is None:
            source_id = f"import_{kind}_{report.sha256[:12]}"
            con.execute("INSERT OR IGNORE INTO source (source_id, title, publisher, file_name, sha256, retrieved_at, "
                        "fictional) VALUES (?, ?, ?, ?, ?, ?, FALSE)",
                        [source_id, f"Import de {KIND_FR[kind]} : {report.file_name}",
                         "Fichier fourni par un utilisateur (import Atlas ASV)", report.file_name, report.sha256,
                         dt.date.today().isoformat()])
        bctx = ctx or BuildContext(con=con)
        extra = {"source_id": source_id, "import_id": import_id}
        ids_changed = [r[key] for r in changed]
        if kind == "schemes":
            cols = ["scheme_id"] + SCHEME_FIELDS
            _update_rows(con, "scheme", "scheme_id", SCHEME_FIELDS, _frame(changed, cols, extra))
            bctx.insert_df("scheme", _frame(new, cols, extra))
            touched = new + changed
            _delete_children(con, "scheme_territory", "scheme_id", ids_changed)
            terr = pd.DataFrame([{"scheme_id": r["scheme_id"], "level": lv, "code": c}
                                 for r in touched for lv, c in r["territories"]], columns=["scheme_id", "level", "code"])
            bctx.insert_df("scheme_territory", terr)
            _scheme_geometries(con, [r["scheme_id"] for r in touched])
        else:
            cols = ["action_id"] + ACTION_FIELDS
            _update_rows(con, "action", "action_id", ACTION_FIELDS, _frame(changed, cols, extra))
            bctx.insert_df("action", _frame(new, cols, extra))
            touched = new + changed
            _delete_children(con, "action_theme", "action_id", ids_changed)
            _delete_children(con, "action_public", "action_id", ids_changed)
            bctx.insert_df("action_theme", pd.DataFrame(
                [{"action_id": r["action_id"], "theme_id": t} for r in touched for t in r["themes"]],
                columns=["action_id", "theme_id"]))
            bctx.insert_df("action_public", pd.DataFrame(
                [{"action_id": r["action_id"], "public_id": p} for r in touched for p in r["publics"]],
                columns=["action_id", "public_id"]))
        rows = getattr(report, "_rows", {})
        quarantine = [{"import_id": import_id, "row_number": p.row, "field": p.column, "value": p.value,
                       "reason": p.reason, "raw": rows[p.row].raw_json() if p.row in rows else None}
                      for p in report.errors]
        if quarantine:
            bctx.insert_df("import_quarantine", pd.DataFrame(quarantine))
        write_coverage(con, kind, [tuple(x) for x in report.coverage], report.coverage_declared, source_id, import_id)
        report.import_ref = report.import_ref or new_import_ref()
        con.execute("ALTER TABLE import_log ADD COLUMN IF NOT EXISTS import_ref VARCHAR")   # DBs built before it
        con.execute("INSERT INTO import_log (import_id, kind, file_name, sha256, imported_at, n_rows, n_inserted, "
                    "n_updated, n_unchanged, n_rejected, mode, import_ref) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [import_id, kind, report.file_name, report.sha256, _now(), report.n_rows, report.n_inserted,
                     report.n_updated, report.n_unchanged, report.n_rejected, report.mode, report.import_ref])
        if ctx is None:
            run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM etl_run").fetchone()[0]
            bctx.run_id = run_id
            for p in report.warnings + report.needs_coordinates:
                bctx.issue(report.file_name, p.row, p.column, p.value,
                           "unlinked" if p.level == "locate" else "warning", p.reason, source_id)
            for p in report.errors:
                bctx.issue(report.file_name, p.row, p.column, p.value, "rejected", p.reason, source_id)
            bctx.flush_issues()
            con.execute("INSERT INTO etl_run VALUES (?, ?, ?, ?, ?, 'ok', ?)",
                        [run_id, f"import-{kind}", report.file_name, _now(), _now(),
                         f"nouvelles: {report.n_inserted}, mises à jour: {report.n_updated}, "
                         f"inchangées: {report.n_unchanged}, rejetées: {report.n_rejected}"])
        if own_tx:
            con.commit()
    except BaseException:
        if own_tx:
            con.rollback()
        raise
    report.applied = True


def _delete_children(con, table: str, key: str, ids: list[str]) -> None:
    if not ids:
        return
    con.register("_import_del", pd.DataFrame({"id": ids}))
    try:
        con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT id FROM _import_del)")
    finally:
        con.unregister("_import_del")


def _scheme_geometries(con, scheme_ids: list[str]) -> None:
    """geom = union of the covered territories (kept as it was when none has a geometry)."""
    if not scheme_ids:
        return
    import shapely

    from ..geo import display_geometries

    con.register("_import_sch", pd.DataFrame({"id": scheme_ids}))
    try:
        rows = con.execute("""
            SELECT st.scheme_id, t.geom FROM scheme_territory st
            JOIN territory t ON t.level = st.level AND t.code = st.code
            WHERE st.scheme_id IN (SELECT id FROM _import_sch) AND t.geom IS NOT NULL
            ORDER BY 1, st.level, st.code""").fetchall()
    finally:
        con.unregister("_import_sch")
    by: dict[str, list] = {}
    for sid, wkb in rows:
        by.setdefault(sid, []).append(shapely.from_wkb(bytes(wkb)))
    if not by:
        return
    _ensure_spatial(con)
    ids = sorted(by)
    geoms = [shapely.union_all(by[s]) for s in ids]
    disp = display_geometries(geoms)
    for sid, g, d in zip(ids, geoms, disp):
        con.execute("UPDATE scheme SET geom = ST_GeomFromWKB(?), geom_display = ST_GeomFromWKB(?) WHERE scheme_id = ?",
                    [shapely.to_wkb(g), shapely.to_wkb(d), sid])


def _update_rows(con, table: str, key: str, fields: list[str], df: pd.DataFrame) -> None:
    """Overwrite existing rows (matched on their stable key) with the imported values."""
    if df.empty:
        return
    con.register("_import_upd", df)
    try:
        sets = ", ".join(f"{c} = u.{c}" for c in fields + ["source_id", "import_id"])
        con.execute(f"UPDATE {table} SET {sets} FROM _import_upd u WHERE {table}.{key} = u.{key}")
    finally:
        con.unregister("_import_upd")
