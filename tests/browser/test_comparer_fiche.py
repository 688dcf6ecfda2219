"""Comparer and Fiche territoire in Chromium."""
from tests.browser.helpers import screenshot, choose, wait_dash, wait_search


def test_compare_two_territories_and_reload(page):
    page.goto(page.base_url + "/comparer")
    wait_dash(page)
    sentences = page.locator("#compare-sentences li")
    assert sentences.count() >= 1
    text = page.locator("#compare-sentences").inner_text()
    assert "Taux de pauvreté" in text
    # the table holds one row per territory and indicator, with the France reference
    page.wait_for_selector("#compare-body td", timeout=15000)
    table_text = page.locator("#compare-body").inner_text()
    assert "France" in table_text
    # switch to bars: URL records it; reload restores it
    page.get_by_label("Barres").check()
    wait_search(page, "view=bars")
    wait_dash(page)
    url = page.url
    screenshot(page, "comparer")
    page.reload()
    wait_dash(page)
    assert page.get_by_label("Barres").is_checked()
    assert page.url == url
    assert page.js_errors == []


def test_compare_needs_two_territories(page):
    page.goto(page.base_url + "/comparer?t=qpv:NOPE&ind=taux_pauvrete_60")
    wait_dash(page)
    # unknown code dropped, defaults used: still a comparison
    assert page.locator("#compare-sentences").count() == 1


def test_fiche_qpv_shows_portrait_and_switches(page):
    page.goto(page.base_url + "/fiche")
    wait_dash(page)
    title = page.locator("#fiche-title").inner_text()
    assert "QPV" in title
    assert page.locator("#fiche-sources li").count() >= 1
    # the territory is drawn in the highlight colour (basemap outlines may be off-screen)
    page.locator('#fiche-map path[fill="#c2410c"]').first.wait_for(state="visible", timeout=15000)
    screenshot(page, "fiche-qpv")
    # pick another level: commune
    choose(page, "fiche-level", "Commune")
    wait_search(page, "level=commune")
    wait_dash(page)
    assert "Commune" in page.locator("#fiche-title").inner_text()
    url = page.url
    page.reload()
    wait_dash(page)
    assert page.url == url and "Commune" in page.locator("#fiche-title").inner_text()
    assert page.js_errors == []


def test_fiche_writes_years_described_and_references_by_name(page):
    """Issue 11: a QPV's figures from ONPV tables say "millésime de diffusion", its references from
    Filosofi the year they describe; the France column is named France métropolitaine."""
    page.goto(page.base_url + "/fiche?level=qpv&code=QN09601M")
    wait_dash(page)
    table = page.locator("#fiche-body .dash-table-container").first
    table.locator("td").first.wait_for(state="visible", timeout=15000)
    headers = table.locator("th").all_inner_texts()
    assert "Année décrite" in headers and "France métropolitaine" in headers and "France" not in headers
    assert any(h.startswith("Commune : ") for h in headers)
    text = table.inner_text()
    assert "millésime de diffusion 2022" in text and "(2019)" in text
    assert page.js_errors == []
