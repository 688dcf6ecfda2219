"""The read-only data-access layer: reopening after a swap, filters."""
import os
import shutil
import threading

import pytest

from data import access, db


@pytest.fixture(scope="module")
def demo_db(demo_db_module):
    return demo_db_module


def test_reopens_new_file_after_swap_even_with_other_thread_connected(demo_db, tmp_path):
    live = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, live)
    access.configure(live)
    n = access.counts()["actions"]
    # another thread keeps a connection to the old file open
    held = threading.Event()
    release = threading.Event()

    def other():
        access.counts()
        held.set()
        release.wait(10)

    t = threading.Thread(target=other)
    t.start()
    held.wait(10)
    # an import writes a new file and renames it over the old one
    new = tmp_path / "new.duckdb"
    shutil.copy(demo_db, new)
    import duckdb
    con = duckdb.connect(str(new))
    con.execute("DELETE FROM action_theme WHERE action_id IN (SELECT action_id FROM action LIMIT 5)")
    con.execute("DELETE FROM action_public WHERE action_id IN (SELECT action_id FROM action LIMIT 5)")
    con.execute("DELETE FROM action WHERE action_id IN (SELECT action_id FROM action LIMIT 5)")
    con.close()
    os.replace(new, live)
    try:
        assert access.counts()["actions"] == n - 5
    finally:
        release.set()
        t.join()
        access.configure(demo_db)


def test_theme_filter_includes_sub_themes_and_scope_includes_qpv_located(demo_db):
    access.configure(demo_db)
    allp = access.actions()
    prev = access.actions(themes_=["prevention"])
    assert 0 < len(prev) < len(allp)
    sub = access.themes()
    children = set(sub[sub.parent_id == "prevention"].theme_id)
    assert all(set(ids) & (children | {"prevention"}) for ids in prev.theme_ids)
    dep = access.territories("departement").code.iloc[0]
    scoped = access.actions(within=("departement", dep))
    qpvs = set(access.territories("qpv", ("departement", dep)).code)
    communes = set(access.territories("commune", ("departement", dep)).code)
    assert len(scoped) > 0
    assert all((c in communes) or (q in qpvs) for c, q in zip(scoped.commune_code, scoped.qpv_code))


def test_threads_share_one_instance_with_their_own_cursor(demo_db):
    """Every request of the development server runs in a new thread: each gets a cursor on the
    process's instance (no new instance per thread), and parallel queries stay correct."""
    access.configure(demo_db)
    expected = len(access.etl_runs())                           # read with SQL, through the cursor
    base = db._shared["base"]
    results, cons = [], []

    def query():
        cons.append(db.cursor())
        results.append(len(access.etl_runs()))

    threads = [threading.Thread(target=query) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 6
    assert db._shared["base"] is base                       # no new instance
    assert len({id(c) for c in cons}) == 6                      # one cursor per thread


def test_memoized_queries_follow_the_file_and_return_copies(demo_db, tmp_path):
    live = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, live)
    access.configure(live)
    try:
        cat = access.indicators()
        cat.loc[:, "label"] = "modifié"                         # a caller changing its copy...
        assert (access.indicators().label != "modifié").all()   # ...does not change the cache
        first = access.indicators().iloc[0].indicator_id
        new = tmp_path / "new.duckdb"
        shutil.copy(demo_db, new)
        import duckdb
        con = duckdb.connect(str(new))
        con.execute("UPDATE indicator SET label = 'Nouvel intitulé' WHERE indicator_id = ?", [first])
        con.execute("UPDATE meta SET value = 'une autre construction' WHERE key = 'build_id'")   # as a build does
        con.close()
        os.replace(new, live)
        assert access.indicators().iloc[0].label == "Nouvel intitulé"   # the new file, not the cache
        assert access.indicator(first)["label"] == "Nouvel intitulé"
    finally:
        access.configure(demo_db)
