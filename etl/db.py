"""DuckDB connections and the spatial extension, loaded offline from its wheel."""
from __future__ import annotations

from pathlib import Path

import duckdb

from data.db import connect_snapshot as _snapshot


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
    """A read-only connection to the file as it is now (data.db.connect_snapshot), with the
    spatial extension loaded when asked."""
    return _snapshot(path, setup=load_spatial if spatial else None)
