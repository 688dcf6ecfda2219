"""Accueil in Chromium: banner, key figures, scope change written to the URL."""
from tests.browser.helpers import screenshot, choose, wait_dash, wait_search


def test_home_shows_demo_banner_and_figures(page):
    page.goto(page.base_url + "/")
    wait_dash(page)
    banner = page.locator("#demo-banner")
    assert "Données fictives de démonstration" in banner.inner_text()
    qpv = page.locator("#card-qpv .figure").inner_text()
    assert int(qpv.replace("\u202f", "")) > 0
    assert "valeurs d'indicateurs" in page.locator("#loaded-summary").inner_text()
    screenshot(page, "home")
    assert page.js_errors == []


def test_home_scope_change_updates_url_and_survives_reload(page):
    page.goto(page.base_url + "/")
    wait_dash(page)
    before = page.locator("#card-qpv .figure").inner_text()
    choose(page, "home-scope", "Département — Hautes-Chimères (96)", search="Hautes")
    wait_search(page, "scope=departement:")
    wait_dash(page)
    title = page.locator("#home-scope-title").inner_text()
    assert title.startswith("Département")
    after = page.locator("#card-qpv .figure").inner_text()
    assert int(after.replace("\u202f", "")) <= int(before.replace("\u202f", ""))
    url = page.url
    page.reload()
    wait_dash(page)
    assert page.url == url
    assert page.locator("#home-scope-title").inner_text() == title


def test_home_headline_says_how_many_qpv_it_counts(page):
    """Issue 11: a total population is shown with its coverage in the same type, and every card
    names its source and year."""
    page.goto(page.base_url + "/")
    wait_dash(page)
    figure = page.locator("#card-pop .figure").inner_text()
    n_qpv = page.locator("#card-qpv .figure").inner_text()
    assert f"sur {n_qpv} :" in figure           # "9 QPV sur 25 : 46 160"
    for card in ("card-qpv", "card-pop", "card-asv"):
        source = page.locator(f"#{card} .source").inner_text()
        assert "millésime" in source, (card, source)
