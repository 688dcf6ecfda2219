"""Paths and settings shared by the ETL and the app."""
from __future__ import annotations

import os
from pathlib import Path

# One definition of where the DB is, shared with the app's read path (data.db).
from data.db import DEFAULT_DB, resolve_db_path  # noqa: F401

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DEMO_DIR = DATA_DIR / "demo"
CACHE_DIR = Path(os.environ.get("ATLAS_CACHE", str(DATA_DIR / "cache")))
SCHEMA_FILE = Path(__file__).resolve().parent / "schema.sql"
# The ASV reference framework (themes, publics) and the indicator catalogue.
TAXONOMY_FILE = Path(__file__).resolve().parent / "taxonomy.toml"
CATALOGUE_FILE = Path(__file__).resolve().parent / "catalogue.toml"
# A folder of input files holding this file is fictional (the demo, the benchmark's synthetic
# France): any DB built from it is marked fictional and the app shows the demo banner.
FICTIONAL_MARKER = "DONNEES_FICTIVES.txt"

