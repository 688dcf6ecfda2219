"""Paths and settings shared by the ETL and the app."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DEFAULT_DB = DATA_DIR / "atlas.duckdb"
DEMO_DIR = DATA_DIR / "demo"
CACHE_DIR = Path(os.environ.get("ATLAS_CACHE", str(DATA_DIR / "cache")))
SCHEMA_FILE = Path(__file__).resolve().parent / "schema.sql"
# A folder of input files holding this file is fictional (the demo, the benchmark's synthetic
# France): any DB built from it is marked fictional and the app shows the demo banner.
FICTIONAL_MARKER = "DONNEES_FICTIVES.txt"


def resolve_db_path(arg: str | os.PathLike | None = None) -> Path:
    """DB path: explicit argument, else $ATLAS_DB, else data/atlas.duckdb."""
    if arg:
        return Path(arg)
    env = os.environ.get("ATLAS_DB")
    return Path(env) if env else DEFAULT_DB
