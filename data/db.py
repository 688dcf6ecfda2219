"""Where the DB file is and how the app reads it: the small module that both the app's data
layer (data.access, data.memory) and the ETL use, so that the app's read path never imports
the ETL."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable

import duckdb

DEFAULT_DB = Path(__file__).resolve().parent / "atlas.duckdb"


def resolve_db_path(arg: str | os.PathLike | None = None) -> Path:
    """DB path: explicit argument, else $ATLAS_DB, else data/atlas.duckdb."""
    if arg:
        return Path(arg)
    env = os.environ.get("ATLAS_DB")
    return Path(env) if env else DEFAULT_DB


def connect_snapshot(path: str | os.PathLike,
                     setup: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file as it is now.

    The file is ATTACHed to a fresh in-memory instance instead of duckdb.connect(path):
    DuckDB caches one instance per path in a process, so after a build or an import has
    renamed a new file over the old one, connect(path) would still return the old file
    while any connection to it stays open. `setup` runs on the new instance first (the ETL
    loads the spatial extension there)."""
    con = duckdb.connect(":memory:")
    if setup is not None:
        setup(con)
    escaped = str(path).replace("'", "''")
    con.execute(f"ATTACH '{escaped}' AS atlas (READ_ONLY)")
    con.execute("USE atlas")
    return con


_db_path: Path | None = None


def configure(path: str | os.PathLike | None) -> Path:
    """Set the app's DB path (None: $ATLAS_DB or data/atlas.duckdb)."""
    global _db_path
    _db_path = resolve_db_path(path)
    return _db_path


def db_path() -> Path:
    return _db_path or configure(None)


def missing_db_error(path: Path) -> FileNotFoundError:
    return FileNotFoundError(f"Base introuvable : {path}. Lancez `make data` ou `python -m etl build --demo`.")


def file_version() -> tuple:
    """The DB file as it is now: (path, inode, mtime, size), changed whenever the file is replaced
    (a build or an import renames a new file over it)."""
    path = db_path()
    try:
        st = path.stat()
    except FileNotFoundError:
        raise missing_db_error(path) from None
    return (str(path), st.st_ino, st.st_mtime_ns, st.st_size)


def version() -> tuple:
    """The version this process answers with, the key of every per-file cache: the file's, or, while
    a newer file is being read in the background (data.memory), the one already in memory."""
    from data import memory

    return memory.tables().version


def adopt(ver: tuple, con: duckdb.DuckDBPyConnection) -> None:
    """Make `con` (a snapshot of version `ver`, opened when it was read) the shared instance that
    cursors of that version come from: queries keep reading the version in memory, even after a
    newer file has replaced it on disk."""
    with _shared_lock:     # the previous instance lives on in the cursors that still use it
        _shared["base"], _shared["ver"] = con, ver


_local = threading.local()
_shared: dict = {}
_shared_lock = threading.Lock()


def cursor() -> duckdb.DuckDBPyConnection:
    """This thread's cursor on the current DB file: one DuckDB instance per file version is
    shared by the process (opening it is the costly part; the development server runs every
    request in a new thread), each thread gets its own cursor on it. When the file is
    replaced, the next call opens the new one; the previous instance lives on in the cursors
    that still use it."""
    ver = version()
    con = getattr(_local, "con", None)
    if con is None or getattr(_local, "ver", None) != ver:
        if con is not None:
            con.close()
        with _shared_lock:
            if _shared.get("ver") != ver:
                _shared["base"] = connect_snapshot(ver[0])
                _shared["ver"] = ver
            con = _shared["base"].cursor()
        con.execute("USE atlas")
        _local.con = con
        _local.ver = ver
    return _local.con
