"""Single-writer updates of the DuckDB file that the app reads.

The app opens the DB read-only, and DuckDB allows either one read-write process or
many read-only ones on a file, never both. A writer therefore never opens the live
file for writing: it copies it to a temporary file next to it, changes the copy, and
renames the copy over the live file (`os.replace`, atomic on one filesystem). A lock
file (`<db>.lock`, held with `flock`) makes sure that two writers never run at once;
the kernel releases it if the writer dies, so it never goes stale.

Readers that opened the old file keep reading it (its inode stays alive) until they
close it; they see the new file when they reopen the path (see docs/import.md).

Whoever takes the lock first removes what dead writers left behind (`remove_leftovers`):
their copies (`.<db>.import-<pid>`) and build files (`.<db>.building-<pid>`, with WAL).
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from .db import connect
from .errors import InputError


class DatabaseBusy(InputError):
    """Another import (or build) holds the writer lock."""


def write_failure(exc: BaseException, db_path) -> InputError | None:
    """A clear message for a write that failed on the machine's side: a full disk (ENOSPC, quota)
    or DuckDB giving up on its file (an I/O or fatal error). None for anything else."""
    import duckdb

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(db_path, None, None, "disque plein : l'écriture a échoué et a été annulée, la base n'a "
                          "pas été modifiée ; libérez de la place (au moins deux fois la taille de la base) et "
                          "recommencez")
    if isinstance(exc, (duckdb.IOException, duckdb.FatalException)) or (
            isinstance(exc, duckdb.Error) and "no space left" in str(exc).lower()):
        full = "no space left" in str(exc).lower()
        return InputError(db_path, None, None, ("disque plein : " if full else "")
                          + f"DuckDB n'a pas pu écrire la copie de la base ({type(exc).__name__}) : l'écriture a "
                          "été annulée, la base n'a pas été modifiée"
                          + (" ; libérez de la place et recommencez" if full else ""))
    return None


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX: the directory entry is data too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_LEFTOVER = re.compile(r"^\.(?P<db>.+)\.(?:import|building)-(?P<pid>\d+)(?:\.wal)?$")


def remove_leftovers(db_path: Path) -> list[Path]:
    """Delete the temporary copies and build files of writers that died (kill -9, power
    loss). Files of a live process (a build loading official data) are left alone."""
    db_path = Path(db_path)
    gone = []
    if not db_path.parent.is_dir():
        return gone
    for p in db_path.parent.iterdir():
        m = _LEFTOVER.match(p.name)
        if m and m.group("db") == db_path.name and not pid_alive(int(m.group("pid"))):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def lock_path(db_path: Path) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def writer_lock(db_path: str | os.PathLike, timeout: float = 30.0):
    """Hold the exclusive writer lock of `db_path`, waiting up to `timeout` seconds."""
    path = lock_path(Path(db_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(timeout, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise DatabaseBusy(db_path, None, None,
                                   "un autre import (ou une construction) est en cours sur cette base ; "
                                   "réessayez dans quelques instants") from None
            time.sleep(0.2)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        remove_leftovers(Path(db_path))
        yield path
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def updated_copy(db_path: str | os.PathLike, spatial: bool = True):
    """Yield a read-write connection on a copy of `db_path`; on normal exit the copy is
    checkpointed, synced to disk and renamed over `db_path`. On any exception the copy is
    deleted and `db_path` is left untouched. Call it while holding `writer_lock(db_path)`."""
    db_path = Path(db_path)
    tmp = db_path.with_name(f".{db_path.name}.import-{os.getpid()}")
    tmp_wal = Path(str(tmp) + ".wal")
    live_wal = Path(str(db_path) + ".wal")

    def drop():
        tmp.unlink(missing_ok=True)
        tmp_wal.unlink(missing_ok=True)

    drop()
    con = None
    try:
        shutil.copyfile(db_path, tmp)
        had_wal = live_wal.exists()
        if had_wal:  # a WAL left by an unclean shutdown: DuckDB replays it on open
            shutil.copyfile(live_wal, tmp_wal)
        con = connect(tmp, spatial=spatial)
        yield con
        con.execute("CHECKPOINT")
        con.close()
        con = None
        tmp_wal.unlink(missing_ok=True)
        swap_in(tmp, db_path)
    except BaseException as exc:
        if con is not None:
            try:
                con.close()
            except Exception:
                pass
        drop()
        clear = write_failure(exc, db_path)
        if clear is not None:
            raise clear from exc
        raise
    if had_wal:  # its content is now inside the new file
        live_wal.unlink(missing_ok=True)


def swap_in(new_file: Path, db_path: Path) -> None:
    """Rename a finished DB file over the live one, durably: the file's content reaches the
    disk before the rename, and the rename before this returns."""
    with open(new_file, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(new_file, db_path)
    fsync_dir(Path(db_path).parent)
