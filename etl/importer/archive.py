"""The archive of imported files (imports/ beside the DB) and its replay by builds.

Builds and imports form one serialized history:
- an import validates, writes a copy of the DB and, still under the writer lock, writes the
  file and its sidecar into imports/ as *pending* (fsynced), renames the copy over the DB,
  then promotes the pending files to their final names. Only then is the import
  acknowledged. A writer killed between the two renames leaves pending files: the next
  holder of the lock promotes them when the DB holds their import (same import id and
  file hash in import_log), and deletes them otherwise (`recover_pending`);
- a build loads the official files without the lock (that takes long), then takes the
  writer lock, replays the archive into its new file and renames it over the DB under that
  same lock: an import that finished before the build took the lock is in the archive, an
  import that starts later waits for the lock and writes on top of the new file.

Replay is compacted: each row key (id_action, id_dispositif) is replayed from the last file
that imported it (its latest state), and a file none of whose keys is live any more is moved
to imports/remplaces/ after the build, so that builds do not slow down with history.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..dbswap import fsync_dir, pid_alive
from .mapping import Mapping
from .report import ImportReport
from .spec import _cell_text
from .validation import _open_read_only

ARCHIVED = re.compile(r"^\d{8}-\d{6}(?:-\d{6})?_(actions|schemes)_[0-9a-f]{8}_.+$")
META_SUFFIX = ".import.json"
PENDING_PREFIX = ".pending-"
SUPERSEDED_DIR = "remplaces"


def archived_ref(path: Path, meta: dict) -> str | None:
    """The stable reference of an archived import: its sidecar's, else (files archived before
    references existed) its archive time and hash, from the archive's name."""
    if isinstance(meta.get("import_ref"), str) and meta["import_ref"]:
        return meta["import_ref"]
    m = re.match(r"^(\d{8}-\d{6})(?:-\d{6})?_(?:actions|schemes)_([0-9a-f]{4})", Path(path).name)
    return f"{m.group(1)}-{m.group(2)}" if m else None


def archive_dir(db_path: Path) -> Path:
    return Path(db_path).parent / "imports"


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@dataclass
class Pending:
    """An archived import written under a temporary name, promoted once the DB holds it."""
    file: Path
    meta: Path
    final: Path

    def promote(self) -> Path:
        os.replace(self.meta, self.final.with_name(self.final.name + META_SUFFIX))
        os.replace(self.file, self.final)
        fsync_dir(self.final.parent)
        return self.final

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)
        self.meta.unlink(missing_ok=True)


def write_pending(db_path: Path, data: bytes, meta: dict) -> Pending:
    """Write the imported file and its sidecar (kind, name, mapping, quarantine, import id,
    sha256, the keys it imported) under pending names, durably. Raises OSError (disk full...):
    the caller then drops the import, which is not acknowledged."""
    folder = archive_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    safe = re.sub(r"[^\w.-]+", "_", meta["file_name"])[:80]
    final = folder / f"{stamp}_{meta['kind']}_{meta['sha256'][:8]}_{safe}"
    tag = f"{PENDING_PREFIX}{os.getpid()}-"
    pending = Pending(folder / f"{tag}{final.name}", folder / f"{tag}{final.name}{META_SUFFIX}", final)
    try:
        _write_durable(pending.file, data)
        _write_durable(pending.meta, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
        fsync_dir(folder)
    except BaseException:
        pending.discard()
        raise
    return pending


def _pending_files(folder: Path) -> list[tuple[int, Path]]:
    out = []
    if not folder.is_dir():
        return out
    for p in folder.iterdir():
        if p.name.startswith(PENDING_PREFIX) and not p.name.endswith(META_SUFFIX):
            pid = p.name[len(PENDING_PREFIX):].split("-", 1)[0]
            if pid.isdigit():
                out.append((int(pid), p))
    return out


def recover_pending(db_path: Path, imported: set[tuple[int, str]]) -> list[str]:
    """Resolve the pending archives of dead writers (call it under the writer lock).
    `imported`: the (import_id, sha256) pairs of the DB's import_log. Returns what was done."""
    folder = archive_dir(db_path)
    done = []
    for pid, path in _pending_files(folder):
        if pid != os.getpid() and pid_alive(pid):
            continue
        meta_path = path.with_name(path.name + META_SUFFIX)
        final = folder / path.name[len(f"{PENDING_PREFIX}{pid}-"):]
        pending = Pending(path, meta_path, final)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            key = (int(meta.get("import_id")), str(meta.get("sha256")))
        except (OSError, ValueError, TypeError):
            key = None
        if key is not None and key in imported:
            pending.promote()
            done.append(f"import {final.name} : archivé (interrompu après l'écriture de la base)")
        else:
            pending.discard()
            done.append(f"import {final.name} : abandonné (interrompu avant l'écriture de la base)")
    for p in list(folder.iterdir()) if folder.is_dir() else []:     # a sidecar left without its file
        if p.name.startswith(PENDING_PREFIX) and p.name.endswith(META_SUFFIX) \
                and not p.with_name(p.name[:-len(META_SUFFIX)]).exists():
            pid = p.name[len(PENDING_PREFIX):].split("-", 1)[0]
            if not (pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid))):
                p.unlink(missing_ok=True)
    return done


def archived_imports(folder: Path) -> list[tuple[Path, dict]]:
    """The files kept in `folder` by earlier imports, oldest first, each with how it was
    imported (files archived before the sidecar existed: their kind, no mapping, no keys)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.endswith(META_SUFFIX)):
        m = ARCHIVED.match(path.name)
        if not m:
            continue
        meta = {"kind": m.group(1), "file_name": path.name.split("_", 3)[3], "quarantine": False, "mapping": None}
        side = path.with_name(path.name + META_SUFFIX)
        if side.is_file():
            try:
                meta.update(json.loads(side.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                pass
        out.append((path, meta))
    return out


@dataclass
class ReplayItem:
    path: Path
    meta: dict
    only: set[str]          # the row keys to replay from this file (their latest state)


def replay_plan(entries: list[tuple[Path, dict]], keys_of) -> tuple[list[ReplayItem], list[Path]]:
    """Which rows of which archived file a build replays: each key from the last file that
    imported it; a key that no file imported (rejected into quarantine each time) from the
    last file that held it, so that its quarantine entry is kept. `keys_of(path, meta)` gives
    (imported keys, rejected keys) of a file whose sidecar predates key lists.
    Returns (files to replay, oldest first; files whose every key is superseded)."""
    applied: list[set[str]] = []
    rejected: list[set[str]] = []
    last_applied: dict[tuple[str, str], int] = {}
    last_seen: dict[tuple[str, str], int] = {}
    for i, (path, meta) in enumerate(entries):
        if "keys" in meta:
            a, r = set(meta.get("keys") or []), set(meta.get("rejected_keys") or [])
        else:
            a, r = keys_of(path, meta)
        applied.append(a)
        rejected.append(r)
        kind = meta.get("kind")
        for k in a:
            last_applied[(kind, k)] = i
        for k in r:
            last_seen[(kind, k)] = i
    keep, superseded = [], []
    for i, (path, meta) in enumerate(entries):
        kind = meta.get("kind")
        only = {k for k in applied[i] if last_applied[(kind, k)] == i}
        only |= {k for k in rejected[i] if (kind, k) not in last_applied and last_seen[(kind, k)] == i}
        if only:
            keep.append(ReplayItem(path, meta, only))
        else:
            superseded.append(path)
    return keep, superseded


def move_superseded(paths: list[Path]) -> None:
    """Out of the replayed archive, into imports/remplaces/ (kept for the record)."""
    for path in paths:
        dest = path.parent / SUPERSEDED_DIR
        dest.mkdir(exist_ok=True)
        side = path.with_name(path.name + META_SUFFIX)
        if side.exists():
            os.replace(side, dest / side.name)
        os.replace(path, dest / path.name)
    if paths:
        fsync_dir(paths[0].parent)


def recover_archive(db_path: Path) -> list[str]:
    """Under the writer lock: settle the pending archives of writers that died (this module)."""
    folder = archive_dir(db_path)
    if not folder.is_dir() or not any(p.name.startswith(PENDING_PREFIX) for p in folder.iterdir()):
        return []
    con = _open_read_only(db_path)
    try:
        imported = {(int(i), str(h)) for i, h in con.execute("SELECT import_id, sha256 FROM import_log").fetchall()}
    finally:
        con.close()
    return recover_pending(db_path, imported)


def _archive_meta(report: ImportReport, mapping: Mapping | None, keys: list[str], rejected: list[str]) -> dict:
    return {"kind": report.kind, "file_name": report.file_name, "quarantine": report.mode == "quarantine",
            "mapping": asdict(mapping) if mapping is not None else None,
            "import_id": report.import_id, "import_ref": report.import_ref, "sha256": report.sha256, "keys": keys,
            "rejected_keys": rejected,
            "coverage": report.coverage, "coverage_declared": report.coverage_declared}


def _row_keys(report: ImportReport, recs: list[dict]) -> tuple[list[str], list[str]]:
    """(keys imported, keys of rows rejected and not imported) of a validated file."""
    key = "scheme_id" if report.kind == "schemes" else "action_id"
    key_col = "id_dispositif" if report.kind == "schemes" else "id_action"
    done = sorted({r[key] for r in recs})
    rows = getattr(report, "_rows", {})
    bad = {_cell_text(rows[r].raw(key_col)) for r in report.rejected_rows if r in rows}
    return done, sorted(k for k in bad - set(done) if k)
