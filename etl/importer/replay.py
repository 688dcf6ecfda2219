"""Replaying the archived imports into a build: the latest state of each key (etl.importer.archive)."""
from __future__ import annotations

from pathlib import Path

from ..context import BuildContext
from ..errors import InputError
from .api import _new_report, import_into
from .archive import SUPERSEDED_DIR, archived_imports, archived_ref, replay_plan
from .coverage import parse_coverage, unknown_territories, write_coverage
from .mapping import Mapping
from .reading import _read
from .report import _Fatal
from .spec import KIND_FR, _cell_text
from .validation import _RowCtx


def _keys_of_archived(path: Path, meta: dict) -> tuple[set[str], set[str]]:
    """Keys of a file archived before sidecars listed them: every identifier it holds
    (taken as imported; the replay validates the rows again anyway)."""
    kind = meta.get("kind")
    key_col = "id_dispositif" if kind == "schemes" else "id_action"
    try:
        mapping = Mapping(**meta["mapping"]) if meta.get("mapping") else None
    except TypeError:
        mapping = None
    try:
        table = _read(path.read_bytes(), meta.get("file_name") or path.name, kind, mapping)
    except (_Fatal, InputError, OSError):
        return set(), set()
    report = _new_report(kind, path.name, False)
    keys = {_cell_text(_RowCtx(n, table, cells, mapping, report).raw(key_col)) for n, cells in table.rows}
    return {k for k in keys if k}, set()


def replay_imports(ctx: BuildContext, folder: Path, progress=print) -> list[Path]:
    """Re-import into a build the latest state of every row that users imported into the
    previous DB (files kept in `folder`, see etl.importer.archive): a rebuild with new official data
    keeps their actions and schemes. Each key comes from the last file that imported it;
    files are replayed oldest first, each with its mapping and mode. A file that no longer
    imports (for instance a QPV code absent from the new geography, without quarantine) is
    skipped and reported in the build's load issues; its rows stay out, as an import of it
    would leave them out. Returns the archived files whose keys are all superseded (the
    build moves them out of the archive once it has been renamed into place)."""
    plan, superseded = replay_plan(archived_imports(folder), _keys_of_archived)
    for item in plan:
        path, meta = item.path, item.meta
        kind = meta.get("kind")
        try:
            mapping = Mapping(**meta["mapping"]) if meta.get("mapping") else None
        except TypeError:
            mapping = None
        report = import_into(ctx.con, path.read_bytes(), kind, filename=meta.get("file_name") or path.name,
                             mapping=mapping, quarantine=bool(meta.get("quarantine")), offline=True, ctx=ctx,
                             only=item.only, coverage=meta.get("coverage") or None,
                             coverage_declared=bool(meta.get("coverage_declared")) if meta.get("coverage") else None,
                             import_ref=archived_ref(path, meta))
        if not report.loadable(bool(meta.get("quarantine"))):
            first = report.problems[0] if report.problems else None
            why = f" ligne {first.row}, colonne « {first.column} » : {first.reason}" if first else ""
            ctx.issue(path, None, None, None, "rejected",
                      f"import de {KIND_FR.get(kind, kind)} non rejoué ({report.status_text()}){why}")
            progress(f"[imports] {path.name} : non rejoué")
            continue
        for p in report.warnings + report.needs_coordinates:
            ctx.issue(path, p.row, p.column, p.value, "unlinked" if p.level == "locate" else "warning",
                      p.reason, None)
        progress(f"[imports] {path.name} : rejoué ({report.n_inserted} ajouts, {report.n_updated} mises à jour)")
    for path in superseded:
        progress(f"[imports] {path.name} : remplacé par des imports plus récents, non rejoué")
    _replay_coverage(ctx, [m for p, m in archived_imports(folder) if p in set(superseded)]
                     + [m for _, m in archived_imports(folder / SUPERSEDED_DIR)])
    return superseded


def _replay_coverage(ctx: BuildContext, metas: list[dict]) -> None:
    """The territory of imports whose rows are all superseded still counts: the registry they
    carried was complete there (their sidecar keeps it)."""
    for meta in metas:
        kind = meta.get("kind")
        try:
            items = [it for it in parse_coverage(meta.get("coverage")) if it not in unknown_territories(ctx.con, [it])]
        except ValueError:
            continue
        if kind in ("schemes", "actions") and items:
            write_coverage(ctx.con, kind, items, bool(meta.get("coverage_declared")), None, None)
