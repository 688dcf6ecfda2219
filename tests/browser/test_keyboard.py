"""Keyboard only (issue 13, RGAA / WCAG 2.1.1): the main task of each page is done with Tab,
Enter, arrows and typing, never a mouse click or a programmatic focus — choose a territory and an
indicator, open a QPV's fiche, compare two territories, start the presentation."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import screenshot, wait_dash, wait_search

MAX_TABS = 200


def tab_to(page, selector: str, backwards: bool = False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches `selector`; fail naming where
    the focus went if it is never reached."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        seen.append(page.evaluate("() => { const e = document.activeElement; return e ? e.tagName + '#' + e.id : '-'; }"))
    raise AssertionError(f"{selector} not reached with the keyboard; focus went through {seen[-15:]}")


def keyboard_choose(page, dropdown_id: str, typed: str, label: str) -> None:
    """Tab to a dropdown, open it with Enter, type in its search box, go down to the choice with
    the arrows and take it with Enter."""
    tab_to(page, f"#{dropdown_id}")
    page.keyboard.press("Enter")
    box = page.locator(".dash-dropdown-content input[type=search]:visible")
    expect(box).to_be_focused()                  # typing reaches the search box (assets/dropdown-focus.js)
    page.keyboard.type(typed, delay=30)
    choice = page.locator(".dash-dropdown-content label.dash-dropdown-option").filter(has_text=label)
    expect(choice).to_have_count(1)
    wait_dash(page)       # the server's search answers for every keystroke have landed: the list is final
    at = None
    for _ in range(20):
        page.keyboard.press("ArrowDown")
        # the dropdown moves the focus in an animation frame: wait for it to land on another choice
        page.wait_for_function("(prev) => { const o = document.activeElement && document.activeElement.closest("
                               "'label.dash-dropdown-option'); return !!o && o.dataset.optionIndex !== prev; }", arg=at)
        at, text = page.evaluate("() => { const o = document.activeElement.closest('label.dash-dropdown-option');"
                                 " return [o.dataset.optionIndex, o.textContent]; }")
        if label in text:
            break
    else:
        raise AssertionError(f"arrows never reached {label!r}")
    page.keyboard.press("Enter")


def test_inegalites_territory_and_indicator_then_a_qpv_fiche(page):
    page.goto(page.base_url + "/inegalites")
    wait_dash(page)
    page.locator("path[data-code]").first.wait_for()
    keyboard_choose(page, "ineg-scope", "port-imag", "Commune — Port-Imaginaire")
    wait_search(page, "scope=commune:")
    wait_dash(page)
    keyboard_choose(page, "ineg-indicator", "revenu", "Revenu disponible médian")
    wait_search(page, "indicator=revenu_median_uc")
    wait_dash(page)
    expect(page.locator("#ineg-scope")).to_contain_text("Port-Imaginaire")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Revenu")
    # a QPV of the map, reached with Tab, selected with Enter: its panel says value and class
    tab_to(page, "path[data-code]")
    name = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("Enter")
    expect(page.locator("#ineg-panel-title")).to_have_text(name)
    expect(page.locator("#ineg-panel-class")).not_to_be_empty()
    tab_to(page, "#ineg-fiche-link")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/fiche\?level=qpv&code="))
    expect(page.locator("#fiche-title")).to_contain_text(name)
    screenshot(page, "keyboard-fiche")
    assert page.js_errors == []


def test_compare_two_territories(page):
    page.goto(page.base_url + "/comparer?t=commune:99011")
    wait_dash(page)
    keyboard_choose(page, "compare-territories", "bourg", "Commune — Bourg-Fictif")
    page.keyboard.press("Escape")                # a multiple choice stays open until closed
    wait_dash(page)
    expect(page.locator("#compare-territories")).to_contain_text("2 sélectionné")
    expect(page.locator("#page-content")).to_contain_text("Bourg-Fictif")
    expect(page.locator("#compare-graph .main-svg").first).to_be_visible()
    assert page.js_errors == []


def test_bookmark_a_view_and_start_the_presentation(page):
    page.goto(page.base_url + "/inegalites?indicator=taux_pauvrete_60")
    wait_dash(page)
    tab_to(page, "#present-add-open")
    page.keyboard.press("Enter")
    dialog = page.locator("#present-add-dialog")
    dialog.wait_for(state="visible")
    tab_to(page, "#present-add-comment")
    page.keyboard.type("Pauvreté dans les quartiers.")
    tab_to(page, "#present-add-confirm")
    page.keyboard.press("Enter")
    expect(page.locator("#present-add-status")).to_contain_text("Vue ajoutée")
    page.goto(page.base_url + "/presentation")
    wait_dash(page)
    tab_to(page, "#present-start")
    page.keyboard.press("Enter")
    expect(page.locator("#present-player")).to_be_visible()
    expect(page.locator("#present-counter")).to_have_text("Vue 1 / 1")
    expect(page.locator("#present-comment")).to_have_text("Pauvreté dans les quartiers.")
    page.keyboard.press("Escape")
    expect(page.locator("#present-player")).to_be_hidden()
    assert page.js_errors == []
