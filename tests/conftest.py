"""Shared fixtures. Real data lives in ../shared/data/real (never copied into the repo);
tests that need it use `real_dir` and skip cleanly when it is absent."""
from __future__ import annotations

from pathlib import Path

import pytest

from etl.build import create_schema, load_reference_tables
from etl.context import BuildContext
from etl.db import connect

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
