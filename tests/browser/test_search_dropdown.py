"""Search dropdowns in Chromium: accent-less typing finds accented names, in the browser (short
lists, through the options' `search` key) and on the server (long lists: only a few options are
sent, the typed text is answered by a callback); the page follows the choice."""
import pytest
from playwright.sync_api import expect

from components import search_dropdown as sd
from tests.browser.helpers import SEARCH_BOX, open_dropdown, option, screenshot, wait_dash, wait_search


def _options(page):
    return page.locator(".dash-dropdown-content .dash-dropdown-option")


def _type(page, dropdown_id: str, text: str) -> None:
    box = open_dropdown(page, dropdown_id)
    box.wait_for()
    # Key by key, each one sent to the box and seen in it before the next: on a busy machine a
    # search answer landing between two keys re-renders the list (this file tests the search;
    # test_keyboard.py tests where the focus goes).
    for i, ch in enumerate(text, 1):
        box.press(ch)
        expect(box).to_have_value(text[:i])
    wait_dash(page)          # every search answer has landed: the list no longer changes under the click


@pytest.fixture
def long_lists(monkeypatch):
    """Treat lists of more than 5 options as long (the demo scope list has 20): the app runs in
    this process, so the layout and the search callback see these limits."""
    monkeypatch.setattr(sd, "FULL_LIST_MAX", 5)
    monkeypatch.setattr(sd, "SEARCH_LIMIT", 5)


def test_short_scope_list_matches_without_accents(page):
    page.goto(page.base_url + "/")
    wait_dash(page)
    _type(page, "home-scope", "riviere")
    choice = option(page, "Commune — Fictif-la-Rivière (96009)")
    choice.wait_for()
    assert _options(page).count() == 1
    choice.click()
    wait_search(page, "scope=commune:96009")
    wait_dash(page)
    assert "Fictif-la-Rivière" in page.locator("#home-scope-title").inner_text()
    assert page.js_errors == []


def test_long_scope_list_is_searched_on_the_server(page, long_lists):
    page.goto(page.base_url + "/")
    wait_dash(page)
    page.locator("#home-scope").click()
    _options(page).first.wait_for()
    before = _options(page).all_inner_texts()
    assert len(before) == 6 and not any("Val-Chimère" in t for t in before)     # selected + 5
    assert page.locator(SEARCH_BOX).last.get_attribute("placeholder") == sd.SEARCH_LABEL
    page.locator(SEARCH_BOX).last.press_sequentially("val chimere", delay=40)
    choice = option(page, "Commune — Val-Chimère (98029)")
    choice.wait_for()                                   # sent by the server: it was not in the page
    wait_dash(page)
    shot = screenshot(page, "search-dropdown-scope-open")
    assert shot.exists()
    choice.click()
    wait_search(page, "scope=commune:98029")
    wait_dash(page)
    assert "Val-Chimère" in page.locator("#home-scope-title").inner_text()
    assert "Val-Chimère" in page.locator("#home-scope").inner_text()          # label kept after the choice
    page.reload()
    wait_dash(page)
    assert "Val-Chimère" in page.locator("#home-scope").inner_text()          # bookmarked scope beyond the first 5
    assert page.js_errors == []


def test_comparer_adds_a_territory_found_on_the_server(page):
    # 71 territories in the demo: above FULL_LIST_MAX, so searched on the server as in France.
    page.goto(page.base_url + "/comparer")
    wait_dash(page)
    page.locator("#compare-territories").click()
    _options(page).first.wait_for()
    assert _options(page).count() <= sd.SEARCH_LIMIT + 2
    assert option(page, "Commune — Rêve-le-Château").count() == 0
    page.locator(SEARCH_BOX).last.press_sequentially("reve chat", delay=40)
    choice = option(page, "Commune — Rêve-le-Château")
    choice.wait_for()
    screenshot(page, "search-dropdown-comparer-open")
    choice.click()
    page.keyboard.press("Escape")
    wait_search(page, "commune:99013")
    wait_dash(page)
    assert "Rêve-le-Château" in page.locator("#compare-territories").inner_text()
    assert "Rêve-le-Château" in page.locator("#compare-body").inner_text()
    assert page.js_errors == []


def test_fiche_commune_found_by_code_and_by_name(page, long_lists):
    page.goto(page.base_url + "/fiche?level=commune&code=96001")
    wait_dash(page)
    _type(page, "fiche-code", "greve imag")
    option(page, "Grève-Imaginaire (98013)").click()
    wait_search(page, "code=98013")
    wait_dash(page)
    expect(page.locator("#fiche-title")).to_contain_text("Grève-Imaginaire")
    _type(page, "fiche-code", "99017")
    option(page, "Sainte-Féerie (99017)").click()
    wait_search(page, "code=99017")
    wait_dash(page)
    expect(page.locator("#fiche-title")).to_contain_text("Sainte-Féerie")
    assert page.js_errors == []


def test_actions_pick_searches_every_filtered_action(page):
    from pages import actions

    every = actions.filtered_action_options(None, (), (), None, (), None)
    assert len(every) > sd.FULL_LIST_MAX                      # 400 actions in the demo
    labels = [o["label"] for o in every]
    # the last action with a label of its own: not among the options sent with the page
    target = [o for o in every if labels.count(o["label"]) == 1][-1]
    page.goto(page.base_url + "/actions")
    wait_dash(page)
    page.wait_for_selector("#act-count-n")
    words = sd.words(target["label"].split(" (")[0])
    _type(page, "act-pick", " ".join(words[:4]))
    option(page, target["label"], exact=True).first.click()
    wait_search(page, f"action={target['value']}")
    page.wait_for_selector("#act-fiche-title")
    assert page.locator("#act-fiche-title").inner_text().strip() == target["label"].rsplit(" (", 1)[0]
    assert page.js_errors == []


def test_value_set_from_elsewhere_gets_its_label(page, long_lists):
    """A value written by another component (a map click, a table row) that is not among the
    options sent: the search callback sends its option back, so Dash shows and keeps it."""
    page.goto(page.base_url + "/")
    wait_dash(page)
    assert "Val-Chimère" not in page.locator("#home-scope").inner_text()
    page.evaluate("() => window.dash_clientside.set_props('home-scope', {value: 'commune:98029'})")
    page.wait_for_function("() => document.getElementById('home-scope').innerText.includes('Val-Chimère')")
    wait_search(page, "scope=commune:98029")
    wait_dash(page)
    assert "Val-Chimère" in page.locator("#home-scope-title").inner_text()
    assert page.js_errors == []


def test_typing_goes_to_the_search_box_once_a_dropdown_is_open(page):
    """Issue 12: opening a dropdown and typing searches; no second click into its search box."""
    page.goto(page.base_url + "/fiche?level=commune&code=96001")
    wait_dash(page)
    page.locator("#fiche-code").click()
    box = page.locator("input.dash-dropdown-search:visible")
    box.wait_for()
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('input.dash-dropdown-search')")
    page.keyboard.type("greve")
    assert box.input_value() == "greve"
    option(page, "Grève-Imaginaire (98013)").wait_for()
    assert page.js_errors == []
