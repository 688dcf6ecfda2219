"""Actions page: densities per theme (sub-theme filter), unknown population kept as NaN,
need/action quadrants, point placement fallback, URL state, escaping, callbacks.

Runs on a tiny fictional DB (tests/actions_fixture.py) with a hostile QPV name and action title."""
import math
import sys
from contextvars import copy_context

import numpy as np
import pandas as pd
import pytest

from data import access
from data.action_analysis import action_density, need_action_quadrants, place_points, theme_groups
from tests.actions_fixture import HOSTILE, build_mini_db
from tests.layout_utils import find, walk

PARENTS = {"prevention": None, "nutrition": "prevention", "activite_physique": "prevention",
           "sante_mentale": None, "addictions": "sante_mentale", "observation": None}


# --- Pure computations --------------------------------------------------------------------------

def test_density_per_theme_with_sub_theme_filter():
    at = pd.DataFrame({"action_id": ["a1", "a1", "a2", "a3", "a4"],
                       "theme_id": ["nutrition", "activite_physique", "prevention", "addictions", "nutrition"]})
    codes = pd.DataFrame({"action_id": ["a1", "a2", "a3", "a4"], "code": ["Q1", "Q1", "Q1", "Q2"]})
    terr = pd.DataFrame({"code": ["Q1", "Q2", "Q3"], "name": ["Un", "Deux", "Trois"],
                         "population": [5000, 2000, 1000]})
    # No selection: counted per axis, once per action even with two sub-themes of one axis.
    by_axis = action_density(codes, terr, theme_groups(at, PARENTS), ["prevention", "sante_mentale"])
    q1 = by_axis[by_axis.code == "Q1"].set_index("group")
    assert q1.loc["prevention", "n"] == 2          # a1 (two sub-themes, counted once) + a2
    assert q1.loc["sante_mentale", "n"] == 1
    assert q1.loc["prevention", "density"] == pytest.approx(4.0)   # 2 / 5000 * 10000
    # Sub-theme selected: only actions carrying that sub-theme; the axis row matches all its sub-themes.
    grp = theme_groups(at, PARENTS, ["nutrition", "prevention"])
    sel = action_density(codes, terr, grp, ["nutrition", "prevention"]).set_index(["code", "group"])
    assert sel.loc[("Q1", "nutrition"), "n"] == 1          # a1 only, not a2 (axis-level action)
    assert sel.loc[("Q1", "prevention"), "n"] == 2
    assert sel.loc[("Q2", "nutrition"), "density"] == pytest.approx(5.0)
    # Every territory is present, 0 actions is a real 0 when the population is known.
    assert sel.loc[("Q3", "nutrition"), "n"] == 0 and sel.loc[("Q3", "nutrition"), "density"] == 0.0


def test_missing_population_gives_nan_density_not_zero():
    codes = pd.DataFrame({"action_id": ["a1", "a2", "a3"], "code": ["Q1", "Q2", None]})
    terr = pd.DataFrame({"code": ["Q1", "Q2", "Q3"], "name": ["Un", "Deux", "Trois"],
                         "population": pd.array([4000, None, 0], dtype="Int64")})
    d = action_density(codes, terr).set_index("code")
    assert d.loc["Q1", "density"] == pytest.approx(2.5)
    assert d.loc["Q2", "n"] == 1 and math.isnan(d.loc["Q2", "density"])     # unknown population
    assert math.isnan(d.loc["Q3", "density"])                                 # population 0: not computable
    assert int(d.n.sum()) == 2                                                # the unlocated action counts nowhere


def test_quadrants_by_medians_and_direction():
    codes = ["A", "B", "C", "D", "E", "F"]
    need = [10, 20, 30, 40, np.nan, 50]
    dens = [5.0, 0.0, 0.0, 9.0, 1.0, np.nan]
    q = need_action_quadrants(codes, need, dens, high_is_bad=True)
    assert q.need_median == 25 and q.density_median == 2.5
    f = q.frame.set_index("code")
    assert f.loc["C", "quadrant"] == "besoin_eleve_peu_actions"
    assert f.loc["D", "quadrant"] == "besoin_eleve_actions"
    assert f.loc["A", "quadrant"] == "besoin_faible_actions"
    assert f.loc["B", "quadrant"] == "besoin_faible_peu_actions"
    assert pd.isna(f.loc["E", "quadrant"]) and pd.isna(f.loc["F", "quadrant"])  # secret need, unknown population
    assert list(q.target().code) == ["C"]
    # When a high value is favourable (e.g. income), the need is on the low side.
    q2 = need_action_quadrants(codes, need, dens, high_is_bad=False)
    assert list(q2.target().code) == ["B"]


def test_quadrant_zero_median_counts_no_action_as_low():
    q = need_action_quadrants(list("abcd"), [1, 2, 3, 4], [0, 0, 0, 8], True)
    assert q.density_median == 0
    assert list(q.target().code) == ["c"]


def test_point_placement_fallback():
    acts = pd.DataFrame({
        "action_id": ["own", "qpv", "commune", "none", "bad_coords", "unknown_qpv"],
        "lon": [5.5, None, None, None, 500.0, np.nan],
        "lat": [43.2, None, None, None, 43.0, np.nan],
        "qpv_code": [None, "Q1", None, None, "Q1", "QX"],
        "commune_code": ["C1", "C1", "C1", None, None, "C1"]})
    p = place_points(acts, {"Q1": (5.1, 43.1)}, {"C1": (5.0, 43.0)}).set_index("action_id")
    assert tuple(p.loc["own", ["lon", "lat", "placement"]]) == (5.5, 43.2, "coordonnees")
    assert tuple(p.loc["qpv", ["lon", "lat", "placement"]]) == (5.1, 43.1, "qpv")
    assert tuple(p.loc["commune", ["lon", "lat", "placement"]]) == (5.0, 43.0, "commune")
    assert pd.isna(p.loc["none", "placement"]) and math.isnan(p.loc["none", "lon"])
    assert p.loc["bad_coords", "placement"] == "qpv"          # coordinates out of range: fall back
    assert p.loc["unknown_qpv", "placement"] == "commune"     # QPV without shape: its commune


# --- The page on a tiny DB ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def page_mod(tmp_path_factory):
    previous = access.db_path()
    db = build_mini_db(tmp_path_factory.mktemp("actions") / "mini.duckdb")
    access.configure(db)
    import app  # noqa: F401  (registers the pages once per process)

    yield sys.modules["pages.actions"]
    access.configure(previous)


_walk = walk
_by_id = find


def test_compute_with_sub_theme_filter_and_unknown_population(page_mod):
    st = page_mod.parse_state({"theme": "nutrition"})
    v = page_mod.compute(st)
    assert set(v.acts.action_id) == {"A01", "A02", "A08", "A11"}
    d = v.dens.set_index("code")
    assert d.loc["QN09601A", "n"] == 2 and d.loc["QN09601A", "density"] == pytest.approx(5.0)
    assert d.loc["QN09602B", "n"] == 0 and d.loc["QN09602B", "density"] == 0.0
    assert math.isnan(d.loc["QN09603C", "density"])
    hideout = page_mod.territory_hideout(v)
    assert hideout["status"] == {"QN09603C": "missing"}
    assert hideout["classes"]["QN09602B"] == 0                       # "no action" class, not missing
    assert "tooltips" not in hideout and hideout["tip"].startswith("/tooltip/actions?q=theme%3Dnutrition")
    assert "Population inconnue" in page_mod.tooltip_lines(v, "QN09603C")
    assert page_mod.tooltip_lines(v, "QN09601A")[0] == "2 actions"
    assert page_mod.tooltip_lines(v, "ZZZ") is None
    legend_text = str(page_mod.territory_legend(v).to_plotly_json())
    assert "Population inconnue : densité non calculable" in legend_text
    # The axis filter includes the sub-themes: prevention = A01, A02, A03, A08, A09, A11.
    v2 = page_mod.compute(page_mod.parse_state({"theme": "prevention"}))
    assert set(v2.acts.action_id) == {"A01", "A02", "A03", "A08", "A09", "A11"}


def test_commune_level_counts_qpv_only_actions_in_their_commune(page_mod):
    v = page_mod.compute(page_mod.parse_state({"level": "commune"}))
    d = v.dens.set_index("code")
    # A05 has only a QPV code (QN09602B in Bourg-Fictif): counted in Bourg-Fictif.
    assert d.loc["96001", "n"] == 6
    assert d.loc["96001", "density"] == pytest.approx(6 / 30000 * 10000)
    assert d.loc["96002", "n"] == 4


def test_scope_keeps_actions_known_only_by_their_qpv(page_mod):
    v = page_mod.compute(page_mod.parse_state({"scope": "commune:96001"}))
    assert "A05" in set(v.acts.action_id)          # no commune code, QPV in Bourg-Fictif
    assert "A07" not in set(v.acts.action_id)      # Val-des-Licornes


def test_population_from_indicator_then_territory():
    vals = pd.DataFrame({"code": ["Q1", "Q2", "Q3"], "name": ["a", "b", "c"],
                         "population": pd.array([None, 800, None], dtype="Int64"),
                         "value": [1200.0, np.nan, np.nan], "status": ["ok", "secret", "missing"],
                         "perimeter": ["perimetre_2015", "exact", "exact"],
                         "source_title": ["ONPV", None, None], "publisher": ["ANCT", None, None],
                         "vintage": ["2022", None, None],
                         "year_label": ["millésime de diffusion 2022", None, None]})
    from data.views.actions import resolve_population

    out = resolve_population(vals).set_index("code")
    assert out.loc["Q1", "population"] == 1200 and out.loc["Q1", "pop_origin"] == "indicateur"
    assert out.loc["Q1", "pop_year"] == "millésime de diffusion 2022"          # every population with its year
    assert out.loc["Q2", "pop_year"] == "référentiel géographique" and pd.isna(out.loc["Q3", "pop_year"])
    assert out.loc["Q1", "pop_perimeter"] == "perimetre_2015"
    assert out.loc["Q2", "population"] == 800 and out.loc["Q2", "pop_origin"] == "referentiel"
    assert math.isnan(out.loc["Q3", "population"]) and pd.isna(out.loc["Q3", "pop_origin"])


def test_scatter_quadrant_lists_high_need_low_action_qpv(page_mod):
    v = page_mod.compute(page_mod.parse_state({}))
    fig, items, note, source = page_mod.scatter(v)
    # Placed: Licornes (41 %, 7.5), Dragons (22 %, 8.0); Hauts (no population), hostile (secret need).
    text = " ".join(str(i.children) for i in items)
    assert "Quartier des Licornes (QN09601A)" in text and "Cité des Dragons" not in text
    assert "2 non placés" in note and "1 valeur(s) secrète(s)" in note
    assert "millésime 2021" in source
    assert any(s.type == "rect" for s in fig.layout.shapes)


def test_url_state_round_trip(page_mod):
    q = {"level": "commune", "scope": "departement:96", "theme": ["nutrition", "sante_mentale"],
         "public": "precarite", "years": "2021-2023", "porteur": ["Association Farfadet"], "scheme": "ASV-BF",
         "need": "taux_pauvrete_60", "heat": "density", "action": "A02"}
    st = page_mod.parse_state(q)
    assert st.themes == ["nutrition", "sante_mentale"] and st.years == (2021, 2023) and st.action == "A02"
    search = page_mod.state_search(st)
    from urllib.parse import parse_qs
    back = page_mod.parse_state({k: v if len(v) > 1 else v[0] for k, v in parse_qs(search[1:]).items()})
    assert back == st
    # Unknown or hostile values are dropped, never trusted.
    bad = page_mod.parse_state({"theme": "<script>", "level": "x", "action": "nope", "scheme": "'; DROP",
                                "years": "abc"})
    assert bad.themes == [] and bad.level == "qpv" and bad.action is None and bad.scheme is None
    assert bad.years is None


def test_layout_restores_controls_from_url(page_mod):
    lay = page_mod.layout(theme="nutrition", level="commune", years="2022-2023", action="A02", heat="density")
    assert _by_id(lay, "act-themes").value == ["nutrition"]
    assert _by_id(lay, "act-level").value == "commune"
    assert _by_id(lay, "act-years").value == [2022, 2023]
    assert _by_id(lay, "act-heat").value == "density"
    fiche = str(_by_id(lay, "act-fiche").to_plotly_json())
    assert "Marche santé des Licornes" in fiche and "centre du QPV" in fiche


def test_hostile_strings_stay_text(page_mod):
    from data.views.action_points import features

    v = page_mod.compute(page_mod.parse_state({}))
    feats = features(v.acts, 18, None)["features"]                 # every action its own point at zoom 18
    hostile = [f for f in feats if f["properties"].get("action_id") == "A08"][0]
    assert hostile["properties"]["title"].startswith(HOSTILE)   # escaped by atlas.util.escape in the tooltip
    fig = page_mod.heatmap_figure(v)
    assert any("&lt;img" in y for y in fig.data[0].y) and not any("<img" in y for y in fig.data[0].y)
    fiche = page_mod.fiche_for("A08")
    assert fiche[0].children == HOSTILE + " atelier"                 # a plain string child: Dash escapes it
    lay = page_mod.layout()
    for n in _walk(lay):
        assert type(n).__name__ not in ("Markdown",) and not getattr(n, "dangerously_allow_html", False)


# --- Callbacks ---------------------------------------------------------------------------------

def _run(fn, triggered, *args):
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    def inner():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": p, "value": None} for p in triggered]))
        return fn(*args)
    return copy_context().run(inner)


def test_update_view_filters_and_writes_url(page_mod):
    out = _run(page_mod.update_view, ["act-themes.value"],
               "qpv", "france", ["sante_mentale"], [], [2019, 2024], [], None, "taux_pauvrete_60", "count",
               None, page_mod.commune_layer_url(None))       # the commune layer the page already shows
    search = out[18]
    assert search == "?theme=sante_mentale"
    assert out[2] == "theme=sante_mentale"                   # the points layer's filters
    count_text = " ".join(c if isinstance(c, str) else str(c.children) for c in out[7])
    assert count_text.startswith("2 actions")               # A04 (estime de soi), A07 (addictions)
    rows, n_pages, page = out[22:25]
    assert {r["id"] for r in rows} == {"A04", "A07"} and (n_pages, page) == (1, 0)
    assert out[3] is dash_no_update() and out[4] is dash_no_update()     # same scope: map view kept


def dash_no_update():
    from dash import no_update
    return no_update


def test_initial_call_is_ignored(page_mod):
    from dash.exceptions import PreventUpdate
    with pytest.raises(PreventUpdate):
        _run(page_mod.update_view, ["act-level.value", "act-themes.value"],
             "qpv", "france", [], [], [2019, 2024], [], None, None, "count", None, "/geo/commune.pbf")


def test_select_action_from_row_point_and_close(page_mod):
    states = ("qpv", "france", ["nutrition"], [], [2019, 2024], [], None, "taux_pauvrete_60", "count")
    table_trigger = '{"table":"act-list","type":"atlas-table"}.active_cell'
    out = _run(page_mod.select_action, [table_trigger],
               {"row": 0, "column": 0, "row_id": "A01", "column_id": "title"}, None, None, 0, *states)
    assert out[1] == "A01" and "action=A01" in out[4] and "theme=nutrition" in out[4]
    assert "Ateliers cuisine" in str(out[0][0].children)
    # A click on a point opens its fiche; a click on a cluster does nothing.
    out = _run(page_mod.select_action, ["act-points.clickData"],
               None, {"properties": {"action_id": "A08"}}, None, 0, *states)
    assert out[1] == "A08"
    out = _run(page_mod.select_action, ["act-points.clickData"],
               None, {"properties": {"cluster": True, "point_count": 3}}, None, 0, *states)
    assert all(o is dash_no_update() for o in out)
    out = _run(page_mod.select_action, ["act-fiche-close.n_clicks"], None, None, None, 1, *states)
    assert out[1] is None and "action=" not in out[4] and out[2] == {"display": "none"}


def test_select_action_with_keyboard_picker(page_mod):
    states = ("qpv", "france", [], [], [2019, 2024], [], None, "taux_pauvrete_60", "count")
    out = _run(page_mod.select_action, ["act-pick.value"], None, None, "A04", 0, *states)
    assert out[1] == "A04" and out[4] == "?action=A04"
    assert "Groupe de parole des Dragons" in str(out[0][0].children)
    # An id that is not in the DB opens nothing.
    out = _run(page_mod.select_action, ["act-pick.value"], None, None, "ZZZ", 0, *states)
    assert all(o is dash_no_update() for o in out)


# --- Unknown is never none: an action list complete on part of the territory only ----------------

@pytest.fixture(scope="module")
def partial_actions(tmp_path_factory, page_mod):
    """The mini DB with an action list declared complete on Bourg-Fictif (96001) only."""
    from data.views import actions as views_actions

    previous = access.db_path()
    db = build_mini_db(tmp_path_factory.mktemp("actions-partial") / "mini.duckdb",
                       actions_cover=[("commune", "96001")])
    access.configure(db)
    views_actions._cached.cache_clear()
    yield page_mod
    access.configure(previous)
    views_actions._cached.cache_clear()


def test_unlisted_territories_have_unknown_counts_never_zero(partial_actions):
    v = partial_actions.compute(partial_actions.parse_state({}))
    d = v.dens.set_index("code")
    assert bool(d.loc["QN09601A", "listed"]) and d.loc["QN09601A", "n"] == 3
    for code in ("QN09603C", "QN09604D"):                     # Val-des-Licornes: no action list loaded
        assert not d.loc[code, "listed"] and pd.isna(d.loc[code, "n"]) and pd.isna(d.loc[code, "density"])
    hideout = partial_actions.territory_hideout(v)
    assert hideout["status"]["QN09604D"] == "unknown" and "QN09604D" not in hideout["classes"]
    assert partial_actions.tooltip_lines(v, "QN09604D")[0].startswith("Actions non recensées")
    legend = str(partial_actions.territory_legend(v).to_plotly_json())
    assert "Actions non recensées (liste d'actions non chargée)" in legend
    notes = str(partial_actions.map_notes(v))           # under the map, folded in one line that opens
    assert "Remarques sur ces chiffres (1) : actions non recensées" in notes
    assert "pour 2 QPV (en gris), aucune liste d'actions n'est chargée" in notes
    assert "Actions non recensées" not in str(partial_actions.count_summary(v))
    from components.action_charts import density_frame
    from data.views.actions import json_records

    by = {r["code"]: r for r in json_records(density_frame(v))}
    assert by["QN09604D"]["n"] is None and by["QN09604D"]["recensement"] == "actions non recensées"
    assert by["QN09602B"]["n"] == 2 and by["QN09602B"]["recensement"] == "liste chargée"


def test_update_charts_gives_both_figures_for_the_filters(page_mod):
    """The deferred charts get their figures from update_charts (when inserted and at each change)."""
    heat, scat = _run(page_mod.update_charts, ["act-themes.value"],
                      "qpv", "france", ["sante_mentale"], [], [2019, 2024], [], None, "taux_pauvrete_60", "count")
    assert heat.data and heat.data[0].type == "heatmap"
    assert "Santé mentale" in " ".join(map(str, heat.data[0].y)) + " ".join(map(str, heat.data[0].x))
    assert scat.data and any(t.type == "scatter" for t in scat.data)
