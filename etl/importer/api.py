"""The importer's entry points: validate (read-only), apply (single writer), import_into (an open
connection, for builds and tests)."""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from ..config import resolve_db_path
from ..context import BuildContext
from ..dbswap import updated_copy, writer_lock
from ..errors import InputError
from .archive import _archive_meta, _row_keys, recover_archive, write_pending
from .coverage import coverage_text, named_communes, parse_coverage, unknown_territories
from .geocoding import Geocoder, _locate_actions
from .mapping import Mapping, load_mapping
from .reading import _read, _source_bytes
from .report import ImportReport, Problem, _Fatal
from .spec import _cell_text, _kind, safe_file_name
from .validation import (
    _Lookups,
    _open_read_only,
    _RowCtx,
    _validate_action,
    _validate_scheme,
)
from .writing import _diff, _write

log = logging.getLogger(__name__)


def _prepare(con, data: bytes, name: str, kind: str, report: ImportReport, mapping: Mapping | None,
             geocoder: Geocoder, only: set[str] | None = None) -> list[dict]:
    """Read and validate; returns the records of the valid rows. Reads only. With `only`
    (a replay), rows whose key is not in it are skipped, as if absent from the file."""
    table = _read(data, name, kind, mapping)
    key_col = "id_dispositif" if kind == "schemes" else "id_action"
    if only is not None:
        table.rows = [(n, cells) for n, cells in table.rows
                      if _cell_text(_RowCtx(n, table, cells, mapping, report).raw(key_col)) in only]
    report.sheet, report.header_row = table.sheet, table.header_row
    report.encoding, report.delimiter = table.encoding, table.delimiter
    report.ignored_columns = table.ignored
    for col in table.ignored:
        report.problems.append(Problem(table.header_row, col, None,
                                       "colonne non reconnue : ignorée (ajoutez-la au fichier de correspondance "
                                       "si elle doit être chargée)", "warning"))
    if mapping:
        for col, srcs in mapping.columns.items():
            if col not in table.cols:
                report.problems.append(Problem(table.header_row, " + ".join(srcs), None,
                                               f"colonne prévue par le fichier de correspondance pour « {col} » "
                                               "absente du fichier : ignorée", "warning"))
    if not table.rows:
        raise _Fatal("le fichier ne contient aucune ligne de données sous l'en-tête", row=table.header_row)
    report.n_rows = len(table.rows)
    lk = _Lookups.load(con)
    validator = _validate_scheme if kind == "schemes" else _validate_action
    rows: dict[int, _RowCtx] = {}
    recs: list[dict] = []
    seen: dict[str, list[int]] = {}
    for rownum, cells in table.rows:
        row = _RowCtx(rownum, table, cells, mapping, report)
        rows[rownum] = row
        extra = [c for c in cells[len(table.header):] if _cell_text(c)] if len(cells) > len(table.header) else None
        if extra:
            row.error(None, extra[0], "cellule(s) au-delà de la dernière colonne de l'en-tête "
                                      "(séparateur ou guillemets mal placés ?)")
        rec = validator(row, lk)
        ident = _cell_text(row.raw(key_col))
        if ident:
            seen.setdefault(ident, []).append(rownum)
        if rec is not None and row.n_errors == 0:
            recs.append(rec)
    for ident, where in seen.items():
        if len(where) > 1:
            for r in where:
                rows[r].error(key_col, ident, "identifiant en double dans le fichier (lignes "
                              + ", ".join(map(str, where)) + ") : chaque ligne doit avoir son propre identifiant")
    recs = [r for r in recs if rows[r["_row"]].n_errors == 0]
    if kind == "actions":
        _locate_actions(con, recs, rows, lk, geocoder)
        recs = [r for r in recs if rows[r["_row"]].n_errors == 0]
    report._rows = rows  # type: ignore[attr-defined]  (raw rows for the quarantine table)
    report.problems.sort(key=lambda p: (p.row is None, p.row or 0))
    report.n_rejected = len(report.rejected_rows)
    return recs


def _new_report(kind: str, name: str, quarantine: bool) -> ImportReport:
    return ImportReport(kind=_kind(kind), file_name=name, mode="quarantine" if quarantine else "all-or-nothing")


def _start(source, kind: str, filename: str | None, quarantine: bool) -> tuple[ImportReport, bytes | None]:
    name = safe_file_name(filename or (Path(source).name if isinstance(source, (str, os.PathLike)) else "fichier"))
    report = _new_report(kind, name, quarantine)
    try:
        data, report.file_name = _source_bytes(source, filename)
    except _Fatal as exc:
        report.fatal = True
        report.problems.append(exc.problem)
        return report, None
    except InputError as exc:
        report.fatal = True
        report.problems.append(Problem(None, None, str(source), exc.reason))
        return report, None
    report.size = len(data)
    report.sha256 = hashlib.sha256(data).hexdigest()
    return report, data


def _mapping(mapping, kind) -> Mapping | None:
    if mapping is None or isinstance(mapping, Mapping):
        return mapping
    return load_mapping(mapping, kind)


def _run_prepare(con, data, report, mapping, geocoder, only: set[str] | None = None) -> list[dict]:
    try:
        return _prepare(con, data, report.file_name, report.kind, report, mapping, geocoder, only)
    except _Fatal as exc:
        report.fatal = True
        report.problems.insert(0, exc.problem)
        return []


def validate(source, kind: str, *, db: str | os.PathLike | None = None, con=None, filename: str | None = None,
             mapping: str | os.PathLike | Mapping | dict | None = None, offline: bool = False,
             quarantine: bool = False, geocoder: Geocoder | None = None, coverage=None) -> ImportReport:
    """Validate a file against the current DB without writing anything. `coverage`: the territory
    where the file's registry is complete ("departement:13", ...; None: the communes it names).

    `source`: a path, the file's bytes (e.g. from bytes_from_upload) or a binary file object.
    Uses `con` when given (any connection, read-only is fine), else opens `db` read-only.
    The report's n_inserted / n_updated / n_unchanged are what an apply would do."""
    report, data = _start(source, kind, filename, quarantine)
    if data is None:
        return report
    mapping = _mapping(mapping, report.kind)
    geocoder = geocoder or Geocoder(offline=offline)
    own = con is None
    if own:
        con = _open_read_only(db)
    try:
        _prepare_and_diff(con, data, report, mapping, geocoder, coverage)
    finally:
        if own:
            con.close()
        report.__dict__.pop("_rows", None)
    return report


def _prepare_and_diff(con, data, report, mapping, geocoder, coverage=None, coverage_declared=None):
    """Validate the rows and sort them into new, changed and unchanged (counts go to the report),
    and resolve the territory the file covers (report.coverage)."""
    recs = _run_prepare(con, data, report, mapping, geocoder)
    new = changed = same = []
    if not report.fatal:
        new, changed, same = _diff(con, report.kind, recs)
        report.n_inserted, report.n_updated, report.n_unchanged = len(new), len(changed), len(same)
        _resolve_coverage(con, report, recs, coverage, coverage_declared)
    return recs, new, changed, same


def _resolve_coverage(con, report: ImportReport, recs: list[dict], coverage, declared=None) -> None:
    """report.coverage: the territories the user declared (checked against the DB: an unknown one is
    a file-level error), else the communes the valid rows name. `declared` False keeps a resolved
    default (a replayed archive) as a default."""
    try:
        items = parse_coverage(coverage)
    except ValueError as exc:
        report.fatal = True
        report.problems.insert(0, Problem(None, "territoire couvert", None, str(exc)))
        return
    if items:
        missing = unknown_territories(con, items)
        if missing and declared is not None:      # a replay: what the new build lacks is left out
            items = [it for it in items if it not in missing]
            report.problems.append(Problem(None, "territoire couvert", ", ".join(f"{lv}:{c}" for lv, c in missing),
                                           "territoire absent de la nouvelle base : retiré du territoire couvert",
                                           "warning"))
        elif missing:
            report.fatal = True
            report.problems.insert(0, Problem(None, "territoire couvert", ", ".join(f"{lv}:{c}" for lv, c in missing),
                                              "territoire inconnu de la base : le registre ne peut pas le couvrir"))
            return
        report.coverage_declared = True if declared is None else bool(declared)
    else:
        items = named_communes(con, report.kind, recs)
        report.coverage_declared = False
    report.coverage = [list(x) for x in items]
    report.coverage_text = coverage_text(con, items)



def apply(source, kind: str, *, db: str | os.PathLike | None = None, filename: str | None = None,
          mapping: str | os.PathLike | Mapping | dict | None = None, quarantine: bool = False,
          offline: bool = False, geocoder: Geocoder | None = None, lock_timeout: float = 30.0,
          archive: bool = True, coverage=None) -> ImportReport:
    """Validate and import a file through the single-writer path.

    Under the writer lock (<db>.lock), the file is validated against the live DB opened
    read-only; when it is importable, the DB is copied next to itself, the rows are
    written into the copy, and the copy is renamed over the DB (os.replace). Readers
    (the app) never see a half-written file; a failure leaves the DB untouched.
    Returns the report; `report.applied` tells whether the DB changed. Raises
    DatabaseBusy (an InputError) when another writer holds the lock too long."""
    report, data = _start(source, kind, filename, quarantine)
    if data is None:
        return report
    mapping = _mapping(mapping, report.kind)
    geocoder = geocoder or Geocoder(offline=offline)
    db_path = resolve_db_path(db)
    with writer_lock(db_path, timeout=lock_timeout):
        recover_archive(db_path)
        con = _open_read_only(db_path)
        try:
            recs = _prepare_and_diff(con, data, report, mapping, geocoder, coverage)[0]
        finally:
            con.close()
        if not report.loadable(quarantine):
            report.__dict__.pop("_rows", None)
            return report
        pending = None
        try:
            with updated_copy(db_path, spatial=False) as wcon:   # spatial loaded on demand
                _write(wcon, report, recs, source_id=None, ctx=None)
                if archive:   # durable before the swap: a rebuild replays what the DB holds
                    pending = write_pending(
                        db_path, data, _archive_meta(report, mapping, *_row_keys(report, recs)))
        except BaseException:
            report.applied = False
            if pending is not None:
                pending.discard()
            raise
        finally:
            report.__dict__.pop("_rows", None)
        if pending is not None:
            try:
                pending.promote()
            except OSError:   # the DB holds the import: the next writer promotes it (recover_archive)
                log.exception("archived import not promoted yet")
    return report


def import_into(con, source, kind: str, *, filename: str | None = None,
                mapping: str | os.PathLike | Mapping | dict | None = None, quarantine: bool = False,
                offline: bool = True, geocoder: Geocoder | None = None, source_id: str | None = None,
                ctx: BuildContext | None = None, only: set[str] | None = None, coverage=None,
                coverage_declared: bool | None = None, import_ref: str | None = None) -> ImportReport:
    """Validate and write into an open read-write connection (the build, tests).

    All-or-nothing unless `quarantine`: with any error nothing is written. The caller
    decides what an error means (the build calls report.raise_for_errors()). `import_ref`: the
    stable reference of a replayed import (a new one otherwise)."""
    report, data = _start(source, kind, filename, quarantine)
    report.import_ref = import_ref
    if data is None:
        return report
    mapping = _mapping(mapping, report.kind)
    geocoder = geocoder or Geocoder(offline=offline)
    recs = _run_prepare(con, data, report, mapping, geocoder, only)
    if not report.fatal:
        _resolve_coverage(con, report, recs, coverage, coverage_declared)
    if report.loadable(quarantine):
        _write(con, report, recs, source_id=source_id, ctx=ctx)
    report.__dict__.pop("_rows", None)
    return report
