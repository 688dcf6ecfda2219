"""The Actions page at scale (issue 21, item 8): the page holds what it draws, never every action.

On a copy of the demo with 20,000 more actions imported: the page's layout stays the size it has
with the demo's few hundred; the list and the density table are paged and sorted on the server;
the map asks /geo/actions.json for its view and gets clusters (one per grid cell) or points; the
exports hold every row."""
from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from tests.importer_support import action_row, demo_then_import

N_MORE = 20_000
THEMES = ["nutrition", "sante_mentale", "acces_droits_soins", "addictions"]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    from data import access

    qpvs = ["QN09601M", "QN09602I", "QN09603M", "QN09605I", "QN09607N"]
    rows = [action_row(id_action=f"SCALE-{i:05d}", titre=f"Action à l'échelle n° {i}", annee_debut=str(2019 + i % 6),
                       thematiques=THEMES[i % 4], qpv=qpvs[i % 5],
                       **({"longitude": f"{-6.88 + (i % 97) * 0.002:.4f}", "latitude": f"{45.83 + (i % 73) * 0.002:.4f}"}
                          if i % 3 == 0 else {}))
            for i in range(N_MORE)]
    small, db, rep = demo_then_import(tmp_path_factory.mktemp("actions-scale"), rows, quarantine=True)
    assert rep.n_inserted > N_MORE * 0.9, rep.summary()
    previous = access.db_path()
    import app  # noqa: F401

    yield {"small": small, "big": db, "app": sys.modules["app"], "n": rep.n_inserted}
    access.configure(previous)


def _layout_bytes(app, path="/actions") -> int:
    r = app.server.test_client().get("/_dash-layout", headers={"Referer": "http://localhost" + path})
    assert r.status_code == 200
    return len(r.data)


def test_the_page_holds_what_it_draws_not_every_action(big):
    from data import access

    access.configure(big["small"])
    small = _layout_bytes(big["app"])
    access.configure(big["big"])
    large = _layout_bytes(big["app"])
    assert large < 1_000_000 and large < small * 1.3, (small, large)     # 20,000 more actions: same page


def test_list_and_density_table_are_paged_and_sorted_on_the_server(big):
    from components.action_charts import PAGE_SIZE, action_page, density_page
    from data import access
    from data.views.actions import compute, parse_state

    access.configure(big["big"])
    v = compute(parse_state({"theme": "sante_mentale"}))
    rows, n_pages = action_page(v)
    assert len(rows) == PAGE_SIZE and n_pages == -(-len(v.acts) // PAGE_SIZE) and n_pages > 100
    titles = [r["title"] for r in action_page(v, [{"column_id": "title", "direction": "desc"}], 0)[0]]
    assert titles == sorted(titles, key=str.casefold, reverse=True)
    last, _ = action_page(v, None, 10**6)                       # past the end: the last page
    assert 0 < len(last) <= PAGE_SIZE
    by_years = action_page(v, [{"column_id": "years", "direction": "asc"}], 0)[0]
    firsts = [int(r["years"][:4]) for r in by_years]
    assert firsts == sorted(firsts) and firsts[0] == int(v.acts.year_start.min())
    dens, d_pages = density_page(v, [{"column_id": "density", "direction": "desc"}], 0)
    values = [r["density"] for r in dens if r["density"] is not None]
    assert values == sorted(values, reverse=True) and d_pages >= 1


def test_the_page_callbacks_send_one_page(big):
    from dash._callback_context import context_value
    from dash._utils import AttributeDict
    from contextvars import copy_context
    from data import access

    access.configure(big["big"])
    page = sys.modules["pages.actions"]

    def run(fn, trig, *args):
        def inner():
            context_value.set(AttributeDict(triggered_inputs=[{"prop_id": trig, "value": None}]))
            return fn(*args)
        return copy_context().run(inner)

    filters = ("qpv", None, ["nutrition"], [], None, [], None, None, "count")
    rows, n_pages = run(page.turn_action_page, "x.page_current", 3, [{"column_id": "id", "direction": "asc"}],
                        *filters)
    assert len(rows) == 12 and n_pages > 300
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    out = run(page.update_view, "act-themes.value", *filters, None, None, None, None, None)
    assert len(json.dumps(out, default=str)) < 400_000          # a filter change: no action list, no points


def test_the_map_gets_clusters_for_its_view(big):
    from data import access
    from data.views.action_points import CELL_PX

    access.configure(big["big"])
    c = big["app"].server.test_client()
    wide = c.get("/geo/actions.json?z=7&bbox=-7.5,45.5,-6.0,46.5&v=1")
    assert wide.status_code == 200 and wide.headers["ETag"]
    feats = wide.get_json()["features"]
    total = sum(f["properties"].get("point_count", 1) for f in feats)
    assert total > N_MORE * 0.9 and len(feats) < 60                   # thousands of actions, a few markers
    assert all(f["properties"]["bbox"][0] <= f["geometry"]["coordinates"][0] <= f["properties"]["bbox"][2]
               for f in feats if f["properties"].get("cluster"))
    # the same URL again: 304 from its ETag; a theme filter: fewer actions
    assert c.get("/geo/actions.json?z=7&bbox=-7.5,45.5,-6.0,46.5&v=1",
                 headers={"If-None-Match": wide.headers["ETag"]}).status_code == 304
    only = c.get("/geo/actions.json?theme=addictions&z=7&bbox=-7.5,45.5,-6.0,46.5&v=1").get_json()["features"]
    assert 0 < sum(f["properties"].get("point_count", 1) for f in only) < total / 2
    # zoomed in: single actions, those drawn at one place set on a ring, each clickable by its id
    close = c.get("/geo/actions.json?z=16&bbox=-6.80,45.894,-6.78,45.907&v=1").get_json()["features"]
    points = [f for f in close if not f["properties"].get("cluster")]
    assert points and all(f["properties"]["action_id"] for f in points)
    coords = [tuple(f["geometry"]["coordinates"]) for f in points]
    assert len(set(coords)) == len(coords)
    # hostile parameters: no error, no points
    for q in ("z=abc&bbox=x", "z=99&bbox=10,10,0,0", "theme=<script>&z=3", "bbox=nan,nan,nan,nan"):
        assert c.get("/geo/actions.json?" + q).status_code == 200
    assert CELL_PX == 64


def test_exports_hold_every_filtered_action(big):
    from data import access
    from data.views.actions import compute, parse_state

    access.configure(big["big"])
    c = big["app"].server.test_client()
    r = c.get("/export/table/actions.csv?theme=nutrition&theme=addictions&sort=title:asc")
    assert r.status_code == 200
    text = r.data.decode("utf-8-sig")
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=";")]
    header = next(i for i, row in enumerate(rows) if row[:2] == ["Titre", "Années"])
    n = len(compute(parse_state({"theme": ["nutrition", "addictions"]})).acts)
    assert len(rows) - header - 1 == n > N_MORE * 0.4
    d = c.get("/export/table/densite_actions.xlsx?theme=nutrition")
    assert d.status_code == 200 and d.data[:2] == b"PK"
