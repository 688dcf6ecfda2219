"""Serving while writing (issue 21, item 9): a new DB file is read once per process, in the
background, while the version in memory keeps answering (data/memory.py, ATLAS_RELOAD)."""
from __future__ import annotations

import os
import shutil
import threading

import pytest

from data import access, db, memory


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from tests.importer_support import action_row, demo_then_import

    first, second, _ = demo_then_import(tmp_path_factory.mktemp("reload"), [action_row(
        id_action="NOUVELLE-1", titre="Action de la nouvelle version", qpv="QN09601M")])
    return first, second


@pytest.fixture
def two_versions(built, tmp_path, monkeypatch):
    first, second = built
    live = tmp_path / "atlas.duckdb"
    shutil.copyfile(first, live)
    previous = access.db_path()
    monkeypatch.setenv("ATLAS_RELOAD", "background")
    access.configure(live)
    memory.reset()
    yield live, second
    memory.wait_reload(30)
    access.configure(previous)
    memory.reset()


def test_a_new_file_is_read_in_the_background_while_the_old_one_answers(two_versions, monkeypatch):
    live, second = two_versions
    old = memory.tables()
    assert access.action_record("NOUVELLE-1") is None
    n_old = access._sql("SELECT count(*) AS n FROM action").n.iloc[0]

    release = threading.Event()
    started = threading.Event()
    real_init = memory.Tables.__init__

    def slow_init(self, *a, **k):               # the new file takes its time to read
        started.set()
        assert release.wait(30)
        real_init(self, *a, **k)
    monkeypatch.setattr(memory.Tables, "__init__", slow_init)

    os.replace(shutil.copyfile(second, live.with_name("tmp.duckdb")), live)      # an import renames a file
    assert db.file_version() != old.version
    assert memory.tables() is old                 # answered at once, with the version in memory
    assert started.wait(30)                       # ... while the new one is read
    assert access.version() == old.version and access.action_record("NOUVELLE-1") is None
    # SQL queries too read the version in memory (its file was replaced on disk)
    assert access._sql("SELECT count(*) AS n FROM action").n.iloc[0] == n_old
    assert memory.tables() is old                 # one reload at a time
    release.set()
    memory.wait_reload(30)
    new = memory.tables()
    assert new is not old and new.version == db.file_version()
    # an import changed the file: what only builds write is shared with the version before
    assert new.shared_official and new.values is old.values and new.territory is old.territory
    assert new.action is not old.action and len(new.action) == len(old.action) + 1
    assert access.action_record("NOUVELLE-1")["title"] == "Action de la nouvelle version"
    assert access._sql("SELECT count(*) AS n FROM action").n.iloc[0] == n_old + 1


def test_sync_mode_and_refresh_read_the_new_file_before_answering(two_versions, monkeypatch):
    live, second = two_versions
    old = memory.tables()
    os.replace(shutil.copyfile(second, live.with_name("tmp.duckdb")), live)
    assert memory.refresh() is not old                        # after its own import, a worker reads it now
    assert access.action_record("NOUVELLE-1") is not None
    monkeypatch.setenv("ATLAS_RELOAD", "sync")
    shutil.copyfile(live, live.with_name("again.duckdb"))
    os.replace(live.with_name("again.duckdb"), live)
    assert memory.tables().version == db.file_version()
