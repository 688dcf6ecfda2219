"""Shared fixtures. Real data lives in ../shared/data/real (never copied into the repo);
tests that need it use `real_dir` and skip cleanly when it is absent."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from etl.build import create_schema, load_reference_tables
from etl.context import BuildContext
from etl.db import connect

# Tests replace DB files and read them at once: the app's data layer reads a new file before
# answering (servers read it in the background, data/memory.py).
os.environ.setdefault("ATLAS_RELOAD", "sync")

REPO = Path(__file__).resolve().parent.parent
REAL_DIR = (REPO / ".." / "shared" / "data" / "real").resolve()


@pytest.fixture
def ctx(tmp_path):
    """A BuildContext on a fresh DB with schema, taxonomy and catalogue."""
    con = connect(tmp_path / "t.duckdb", spatial=True)
    create_schema(con)
    load_reference_tables(con)
    c = BuildContext(con=con)
    yield c
    con.close()


@pytest.fixture(scope="session")
def real_dir():
    if not (REAL_DIR / "SOURCES.md").exists():
        pytest.skip("real data (../shared/data/real) absent")
    return REAL_DIR


@pytest.fixture(scope="module")
def demo_db_module(tmp_path_factory):
    """A demo DB built once per test module, configured as the app's DB for the module
    (the previous DB path is restored afterwards: browser tests share the process)."""
    from data import access
    from etl.build import build
    from etl.config import DEMO_DIR

    db = tmp_path_factory.mktemp("demo") / "atlas.duckdb"
    build(DEMO_DIR, db, fictional=True, progress=lambda *_: None)
    previous = access.db_path()
    access.configure(db)
    yield db
    access.configure(previous)


@contextmanager
def app_reading(db):
    """The app (its one Dash instance imported) and its data layer reading `db` for a while; the
    previous DB is restored afterwards (browser tests share the process)."""
    import app  # noqa: F401
    from data import access

    previous = access.db_path()
    access.configure(db)
    try:
        yield access
    finally:
        access.configure(previous)
