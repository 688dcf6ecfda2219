"""DuckDB connections and the spatial extension, loaded offline from its wheel."""
from __future__ import annotations

from pathlib import Path

import duckdb


def spatial_extension_path() -> Path:
    """Path of the spatial extension shipped by the duckdb-extension-spatial wheel.

    The wheel and duckdb must share one version (requirements.txt pins both).
    """
    import duckdb_extension_spatial

    base = Path(duckdb_extension_spatial.__file__).parent / "extensions"
    path = base / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if not path.exists():
        found = sorted(p.name for p in base.iterdir()) if base.exists() else []
        raise RuntimeError(
            f"spatial extension for duckdb {duckdb.__version__} not found in {base} "
            f"(found: {found}); install duckdb-extension-spatial=={duckdb.__version__}"
        )
    return path


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"LOAD '{spatial_extension_path()}'")


def connect(path: str | Path, read_only: bool = False, spatial: bool = False) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=read_only)
    if spatial:
        load_spatial(con)
    return con


def connect_snapshot(path: str | Path, spatial: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file as it is now.

    The file is ATTACHed to a fresh in-memory instance instead of duckdb.connect(path):
    DuckDB caches one instance per path in a process, so after a build or an import has
    renamed a new file over the old one, connect(path) would still return the old file
    while any connection to it stays open."""
    con = duckdb.connect(":memory:")
    if spatial:
        load_spatial(con)
    escaped = str(path).replace("'", "''")
    con.execute(f"ATTACH '{escaped}' AS atlas (READ_ONLY)")
    con.execute("USE atlas")
    return con
