"""Accessibility (issue 13): axe-core (axe-playwright-python) on every page of the demo and in the
states that matter — a dropdown open, a QPV's panel open, an action's fiche open, the add-to-
presentation dialog, a presentation playing — for the RGAA's WCAG 2.1 A and AA rules. Any
violation fails the test, with its rule and elements."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import open_dropdown, wait_dash
from tests.browser.test_presentation import bookmark

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Rules axe-core leaves out of a run by tag (experimental) that the RGAA asks for: a control's
# visible text is part of its accessible name (WCAG 2.5.3, issue 22).
EXTRA_RULES = {"label-content-name-mismatch": {"enabled": True}}
PAGES = ["/", "/inegalites", "/couverture", "/actions", "/comparer", "/fiche", "/donnees", "/presentation",
         "/importer", "/accessibilite", "/comparer?view=groups&t=commune:99011,commune:98019"]
_AXE = Axe()


def violations(page) -> list[str]:
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    res = _AXE.run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "rules": EXTRA_RULES})
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]}" for v in res.response["violations"]]


def _settled(page):
    wait_dash(page)
    # the DOM patches of assets/a11y.js run on the next animation frame after a render
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


@pytest.mark.parametrize("path", PAGES)
def test_no_axe_violation_on_every_page(page, path):
    page.goto(page.base_url + path)
    _settled(page)
    assert violations(page) == []


def test_no_axe_violation_with_a_dropdown_open_and_a_panel_open(page):
    from data import access

    code = access.values("taux_pauvrete_60", "qpv").query("status == 'ok'").code.iloc[0]
    page.goto(page.base_url + f"/inegalites?qpv={code}")
    _settled(page)
    page.locator("#ineg-panel-title").wait_for()
    assert violations(page) == []
    open_dropdown(page, "ineg-indicator").wait_for()
    # Dash 4 renders an input inside each role="option"; a11y.js exposes the list as a radio group
    # named by the field, each choice a radio named by its label
    choices = page.get_by_role("radiogroup", name="Indicateur")
    expect(choices).to_be_visible()
    expect(choices.get_by_role("radio").first).to_be_visible()
    expect(page.locator(".dash-dropdown-content [role=option]")).to_have_count(0)
    _settled(page)
    assert violations(page) == []


def test_no_axe_violation_on_an_action_fiche_and_a_presentation(page):
    from data import access

    action = access.actions().action_id.iloc[0]
    page.goto(page.base_url + f"/actions?action={action}")
    _settled(page)
    assert violations(page) == []
    page.get_by_role("button", name="Ajouter à la présentation").click()
    page.locator("#present-add-dialog").wait_for(state="visible")
    assert violations(page) == []
    page.keyboard.press("Escape")
    bookmark(page, "/inegalites?indicator=taux_pauvrete_60", None, "Pauvreté")
    page.goto(page.base_url + "/presentation")
    _settled(page)
    page.get_by_role("button", name="Lancer la présentation").click()
    page.locator("#present-player").wait_for(state="visible")
    _settled(page)
    assert violations(page) == []


def test_the_declaration_is_linked_from_every_page_and_says_what_is_measured(page):
    page.goto(page.base_url + "/inegalites")
    wait_dash(page)
    page.locator("#footer-a11y").click()
    page.wait_for_url("**/accessibilite")
    page.locator("#a11y-state").wait_for()
    assert "Non conforme" in page.locator("#a11y-state").inner_text()
    text = page.locator("#a11y-declaration").inner_text()
    for part in ("État de conformité", "Résultats des tests", "Contenus non accessibles", "Voies de recours",
                 "Défenseur des droits", "axe-core"):
        assert part in text


def test_the_run_includes_the_label_content_name_rule(page):
    """axe-core skips label-content-name-mismatch in a run by tags: ours enables it, and Comparer's
    multi-selects (their visible values and count) pass it (issue 22)."""
    page.goto(page.base_url + "/comparer?ind=taux_pauvrete_60,revenu_median_uc,taux_emploi_15_64")
    _settled(page)
    res = _AXE.run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "rules": EXTRA_RULES})
    passed = {v["id"]: [n["target"] for n in v["nodes"]] for v in res.response["passes"]}
    assert ["#compare-indicators"] in passed.get("label-content-name-mismatch", []), passed.keys()
    name = page.evaluate("""() => document.getElementById('compare-indicators').getAttribute('aria-labelledby')
        .split(' ').map(id => document.getElementById(id).textContent).join(' ')""")
    assert name.startswith("Indicateurs ") and name.endswith("3 sélectionné(s)")
