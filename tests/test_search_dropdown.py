"""Search dropdowns (components/search_dropdown.py): folding, matching and ranking, selected
options kept, short lists left to the browser, cache invalidated when the DB file is replaced,
and the pages' wiring (scope picker, fiche, comparer, actions) on the demo DB."""
from __future__ import annotations

import os

import pytest
from dash import no_update

from components import search_dropdown as sd
from data import access
from data import db as data_db

COMMUNES = ["Bourg-Fictif", "Sainte-Féerie", "Féerie-du-Col", "Licorneville", "Val-d'Œuvre",
            "Mirage-en-Forêt", "Port-Licorne", "Grève-Imaginaire", "L'Île-aux-Chimères", "Songeval"]


def _options(n_filler: int = 0) -> list[dict]:
    opts = [{"label": f"Commune — {name} ({96001 + i})", "value": f"commune:{96001 + i}"}
            for i, name in enumerate(COMMUNES)]
    opts += [{"label": f"Commune — Hameau-Fictif {k:03d} ({97000 + k})", "value": f"commune:{97000 + k}"}
             for k in range(n_filler)]
    return opts


@pytest.fixture
def small_limits(monkeypatch):
    """A "long" list from 6 options on, 4 options per answer."""
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    monkeypatch.setattr(sd, "SEARCH_LIMIT", 4)


def _labels(options) -> list[str]:
    return [o["label"] for o in options]


# --- Folding -----------------------------------------------------------------------------------

def test_fold_and_words_ignore_accents_case_ligatures_and_punctuation():
    assert sd.fold("Œuvre-FÉE") == "oeuvre-fee"
    assert sd.words("L\u2019Île-aux-Chimères (96009)") == ["l", "ile", "aux", "chimeres", "96009"]
    assert sd.words("commune:96001") == ["commune", "96001"]
    assert sd.words("  —  ") == []


def test_search_key_holds_folded_label_and_code():
    opt = sd.with_search_key({"label": "Commune — Sainte-Féerie (99017)", "value": "commune:99017"})
    assert opt["label"] == "Commune — Sainte-Féerie (99017)" and opt["value"] == "commune:99017"
    tokens = opt["search"].split()
    assert "sainte-feerie" in tokens and "feerie" in tokens and "99017" in tokens
    assert "—" not in tokens and not any("é" in t for t in tokens)


# --- Matching and ranking ----------------------------------------------------------------------

def test_matches_are_accent_and_case_insensitive_on_label_and_code():
    idx = sd.OptionIndex(_options())
    assert _labels(idx.matches("FEERIE")) == ["Commune — Féerie-du-Col (96003)", "Commune — Sainte-Féerie (96002)"]
    assert _labels(idx.matches("oeuvre")) == ["Commune — Val-d'Œuvre (96005)"]
    assert _labels(idx.matches("ile aux")) == ["Commune — L'Île-aux-Chimères (96009)"]
    assert _labels(idx.matches("96004")) == ["Commune — Licorneville (96004)"]
    assert idx.matches("licorne zzz") == [] and idx.matches("") == [] and idx.matches(None) == []


def test_ranking_prefix_then_word_start_then_substring():
    opts = [{"label": "Songeval", "value": "a"},               # substring only
            {"label": "Porte du Val", "value": "b"},            # word start, third word
            {"label": "Le Val des Elfes", "value": "c"},       # word start, second word
            {"label": "Val-Chimère", "value": "d"},            # label prefix
            {"label": "Trois-Rivières", "value": "val9"}]      # code prefix
    got = [o["value"] for o in sd.OptionIndex(opts).matches("val")]
    assert got == ["d", "val9", "c", "b", "a"]
    # several words: each must begin a word (any order) to rank before substrings
    opts = [{"label": "Chimère-les-Bains", "value": "x"}, {"label": "Les Bains de Chimère", "value": "y"},
            {"label": "Archimère-Bainsville", "value": "z"}]
    assert [o["value"] for o in sd.OptionIndex(opts).matches("bains chim")] == ["y", "x", "z"]


def test_ranking_reads_the_name_after_the_level_prefix():
    opts = [{"label": "Région — Région fictive des Chimères (99)", "value": "region:99"},
            {"label": "Département — Val-Chimère (96)", "value": "departement:96"},
            {"label": "Commune — Chimère-le-Haut (96005)", "value": "commune:96005"},
            {"label": "Commune — Bourg-Chimère (96003)", "value": "commune:96003"},
            {"label": "Commune — Chimère (96001)", "value": "commune:96001"}]
    idx = sd.OptionIndex(opts)
    assert [o["value"] for o in idx.matches("chimere")] == [
        "commune:96005", "commune:96001",            # the name begins with it, in the list's order
        "departement:96", "commune:96003",           # second word of the name
        "region:99"]                                 # fourth word
    assert [o["value"] for o in idx.matches("region chim")] == ["region:99"]
    assert idx.matches("commune chimere")[0]["value"] == "commune:96005"    # the whole label begins with it


def test_matches_are_limited_best_first():
    idx = sd.OptionIndex(_options(n_filler=300))
    got = idx.matches("fictif", limit=5)
    assert len(got) == 5 and got[0]["label"] == "Commune — Bourg-Fictif (96001)"
    assert len(idx.matches("hameau", limit=50)) == 50


def test_search_keeps_selected_values_and_marks_matches_with_the_query(small_limits):
    idx = sd.OptionIndex(_options(n_filler=30))
    out = idx.search("feerie", "commune:96001")                       # single: Bourg-Fictif selected
    assert _labels(out) == ["Commune — Féerie-du-Col (96003)", "Commune — Sainte-Féerie (96002)",
                            "Commune — Bourg-Fictif (96001)"]
    assert all("feerie" in o["search"].split() for o in out[:2])
    assert "feerie" not in out[2]["search"]                           # kept, but hidden by the browser filter
    out = idx.search("Hameau", ["commune:96004", "commune:97003", "nope"])   # multi, unknown value ignored
    values = [o["value"] for o in out]
    assert len(values) == len(set(values)) == 5                       # 4 matches + Licorneville
    assert "commune:97003" in values[:4] and values[-1] == "commune:96004"


def test_empty_query_gives_the_initial_list(small_limits):
    idx = sd.OptionIndex(_options(n_filler=30))
    for query in (None, "", "   ", " - "):
        out = idx.search(query, "commune:97020")
        assert [o["value"] for o in out] == ["commune:97020", "commune:96001", "commune:96002",
                                             "commune:96003", "commune:96004"]
        assert all("search" in o for o in out)
    multi = idx.initial(["commune:96002", "commune:97029"])
    assert [o["value"] for o in multi] == ["commune:96002", "commune:97029", "commune:96001",
                                           "commune:96003", "commune:96004", "commune:96005"]


def test_short_lists_are_sent_whole_and_not_searched_on_the_server():
    opts = _options()                                                  # 10 options <= FULL_LIST_MAX
    assert [o["value"] for o in sd.initial_options(opts, "commune:96009")] == [o["value"] for o in opts]
    long_opts = _options(n_filler=100)
    assert len(sd.initial_options(long_opts, "commune:97099")) == sd.SEARCH_LIMIT + 1
    assert sd.initial_options(long_opts, "commune:97099")[0]["value"] == "commune:97099"


# --- Cache per DB version ----------------------------------------------------------------------

def test_full_list_is_cached_until_the_db_file_is_replaced(tmp_path, monkeypatch):
    db = tmp_path / "atlas.duckdb"
    db.write_bytes(b"v1")
    monkeypatch.setattr(data_db, "_db_path", db)
    monkeypatch.setattr(access, "version", data_db.file_version)   # a stand-in file, not a DB: its version
    calls: list[str] = []

    def options_fn(level):
        calls.append(level)
        return [{"label": f"{level} {i}", "value": f"{level}:{i}"} for i in range(100)]

    first = sd.option_index(options_fn, "commune")
    assert sd.option_index(options_fn, "commune") is first and calls == ["commune"]
    sd.option_index(options_fn, "qpv")                                 # another dependency value
    assert calls == ["commune", "qpv"]
    # A build writes a new file and renames it over the old one: the list is rebuilt.
    new = tmp_path / "atlas.duckdb.tmp"
    new.write_bytes(b"version 2")
    os.replace(new, db)
    assert sd.option_index(options_fn, "commune") is not first and calls == ["commune", "qpv", "commune"]
    # Lists in dependencies (multi dropdown values) are part of the key, as tuples.
    sd.option_index(options_fn, ["a", "b"])
    sd.option_index(options_fn, ("a", "b"))
    assert calls[-1] == ("a", "b") and calls.count(("a", "b")) == 1


def test_search_answer_is_no_update_for_short_lists(tmp_path, monkeypatch):
    db = tmp_path / "atlas.duckdb"
    db.write_bytes(b"x")
    monkeypatch.setattr(data_db, "_db_path", db)
    monkeypatch.setattr(access, "version", data_db.file_version)   # a stand-in file, not a DB: its version

    def short():
        return _options()

    def long():
        return _options(n_filler=200)
    assert sd.search_answer(short, "feerie", None) is no_update
    out = sd.search_answer(long, "hameau fictif 0", "commune:96001", limit=3)
    assert _labels(out) == ["Commune — Hameau-Fictif 000 (97000)", "Commune — Hameau-Fictif 001 (97001)",
                            "Commune — Hameau-Fictif 002 (97002)", "Commune — Bourg-Fictif (96001)"]
    assert len(sd.search_answer(long, None, None)) == sd.SEARCH_LIMIT


# --- Registration ------------------------------------------------------------------------------

def test_register_search_and_search_dropdown(tmp_path, monkeypatch):
    db = tmp_path / "atlas.duckdb"
    db.write_bytes(b"x")
    monkeypatch.setattr(data_db, "_db_path", db)
    monkeypatch.setattr(access, "version", data_db.file_version)   # a stand-in file, not a DB: its version

    def territory_opts(scope):
        return _options(n_filler=100) if scope == "departement:96" else _options()
    from dash import State

    cb = sd.register_search("test-sd-pick", territory_opts, State("test-sd-scope", "value"))
    with pytest.raises(ValueError):
        sd.register_search("test-sd-pick", territory_opts)
    with pytest.raises(ValueError, match="register_search"):
        sd.search_dropdown("test-sd-unknown", None, [])
    # the callback answers directly (search_value, value, *states)
    assert cb("licorne", None, "departement:99") is no_update
    assert _labels(cb("licorne", None, "departement:96")) == ["Commune — Licorneville (96004)",
                                                             "Commune — Port-Licorne (96007)"]
    dd = sd.search_dropdown("test-sd-pick", "commune:97050", states=("departement:96",), clearable=False)
    assert dd.id == "test-sd-pick" and dd.value == "commune:97050" and dd.clearable is False
    assert len(dd.options) == sd.SEARCH_LIMIT + 1 and dd.options[0]["value"] == "commune:97050"
    assert dd.placeholder == sd.SEARCH_LABEL and dd.labels["search"] == sd.SEARCH_LABEL
    assert dd.labels["no_options_found"] == "Aucun résultat" and dd.search_order == "original"
    small = sd.search_dropdown("test-sd-pick", None, _options(), placeholder="Tous")
    assert len(small.options) == len(COMMUNES) and small.placeholder == "Tous"


# --- Pages on the demo DB ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages(demo_db_module):
    import app  # noqa: F401  (pages register against the one Dash app of the process)
    from components import scope
    from pages import actions, comparer, fiche

    return scope, fiche, comparer, actions


def test_every_territory_dropdown_is_registered(pages):
    scope, *_ = pages
    for cid in ("home-scope", "act-scope", "cov-scope", "ineg-scope", "fiche-code", "compare-territories",
                "act-pick", "act-porteurs", "act-scheme"):
        assert cid in sd._REGISTRY, cid
    with pytest.raises(ValueError):
        scope.scope_dropdown("unknown-scope", None)


def test_scope_picker_sends_selected_and_searches(pages, monkeypatch):
    scope, *_ = pages
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    monkeypatch.setattr(sd, "SEARCH_LIMIT", 3)
    dd = scope.scope_dropdown("home-scope", "commune:99015").children[1]
    assert [o["value"] for o in dd.options] == ["commune:99015", "france", "region:99", "departement:99"]
    assert scope.scope_dropdown("home-scope", "commune:NOPE").children[1].value == "france"
    out = sd.search_answer(scope.scope_options, "val chimere", "france")
    assert out[0]["value"] == "commune:98029" and "Val-Chimère" in out[0]["label"]
    assert out[-1]["value"] == "france"                                # selected, kept


def test_fiche_level_change_sends_the_short_list(pages, monkeypatch):
    _, fiche, *_ = pages
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    monkeypatch.setattr(sd, "SEARCH_LIMIT", 4)
    opts, code = fiche.change_level("commune")
    assert len(opts) == sd.SEARCH_LIMIT + 1 and opts[0]["value"] == code   # selected + 4 others
    out = sd.search_answer(fiche.picker_options, "feerie", code, ("commune",))
    assert {"Sainte-Féerie", "Féerie-du-Col"} <= {o["label"].split(" (")[0] for o in out}


def test_comparer_keeps_url_territories_beyond_the_first_options(pages, monkeypatch):
    _, _, comparer, _ = pages
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    monkeypatch.setattr(sd, "SEARCH_LIMIT", 2)
    lay = comparer.layout(t="commune:98029,epci:299999001")
    from pages.inegalites import _find

    dd = _find(lay, "compare-territories")
    assert dd.value == ["commune:98029", "epci:299999001"] and dd.multi is True
    assert [o["value"] for o in dd.options][:2] == ["commune:98029", "epci:299999001"] and len(dd.options) == 4


def test_actions_pick_options_follow_the_filters(pages, monkeypatch):
    *_, actions = pages
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    every = actions.filtered_action_options(None, (), (), None, (), None)
    assert len(every) == len(access.actions())
    some = actions.filtered_action_options("departement:96", ("sante_mentale",), (), None, (), None)
    assert 0 < len(some) < len(every)
    title = some[0]["label"].split(" (")[0]
    out = sd.search_answer(actions.filtered_action_options, title.upper(), None,
                           ("departement:96", ("sante_mentale",), (), None, (), None))
    assert out[0]["value"] == some[0]["value"]


def test_actions_page_remembers_its_pick_list_under_the_controls_values(pages, monkeypatch):
    from tests.layout_utils import find

    *_, actions = pages
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    lay = actions.layout(theme="sante_mentale", scope="departement:96")
    deps = [find(lay, cid).value for cid in ("act-scope", "act-themes", "act-publics", "act-years",
                                            "act-porteurs", "act-scheme")]
    calls = []
    monkeypatch.setattr(actions, "filtered_actions", lambda st: calls.append(st) or None)
    index = sd.option_index(actions.filtered_action_options, *deps)   # what the first search uses
    assert calls == [] and len(index) > 0                               # no recomputation
    pick = find(lay, "act-pick")
    assert [o["value"] for o in pick.options] == [o["value"] for o in index.options[:sd.SEARCH_LIMIT]]
