"""The page router (components/layout.py): the first page comes with the layout (no callback on
load), a link followed builds the new page in one callback, back and forward rebuild the page of
the URL they return to (with the state the page had written into it), an unknown address says so."""
from playwright.sync_api import expect

from tests.browser.helpers import wait_dash, wait_search


def _posts(page) -> list[str]:
    out: list[str] = []
    page.on("request", lambda r: out.append(r.post_data or "") if "_dash-update-component" in r.url else None)
    return out


def test_links_back_and_forward_build_the_page_of_the_url(page):
    posts = _posts(page)
    page.goto(page.base_url + "/inegalites?indicator=taux_pauvrete_60")
    wait_dash(page)
    expect(page.locator("h1")).to_have_text("Inégalités entre quartiers prioritaires")
    # the page came with the layout: the only callback is the funnel chart's, mounted after the map
    expect(page.locator("#ineg-funnel-text")).not_to_be_empty()
    wait_dash(page)
    assert len(posts) == 1 and 'ineg-funnel.figure' in posts[0], posts
    assert page.title() == "Atlas ASV — Inégalités"
    # a control writes its state into the URL (no navigation, no page rebuilt)
    page.locator("#ineg-indicator").click()
    page.locator(".dash-dropdown-option", has_text="Revenu disponible médian").first.click()
    wait_search(page, "indicator=revenu_median_uc")
    wait_dash(page)
    # a link: one callback builds the new page
    posts.clear()
    page.locator("#nav-couverture").click()
    expect(page.locator("h1").first).to_contain_text("Couverture")
    wait_dash(page)
    assert sum("page-content" in p for p in posts) == 1, posts
    expect(page).to_have_title("Atlas ASV — Couverture ASV")
    # back: the Inégalités page again, with the indicator it had written into its URL (a page that
    # writes its state on load adds an entry of its own: go back past it)
    while page.evaluate("() => location.pathname") != "/inegalites":
        page.go_back()
    expect(page.locator("h1")).to_have_text("Inégalités entre quartiers prioritaires")
    wait_dash(page)
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Revenu médian")
    # back again: the URL of the first load, and its indicator
    page.go_back()
    wait_search(page, "indicator=taux_pauvrete_60")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Taux de pauvreté")
    page.go_forward()
    wait_search(page, "indicator=revenu_median_uc")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Revenu médian")
    assert page.js_errors == []


def test_an_unknown_address_says_so(page):
    page.goto(page.base_url + "/nulle-part?x=1")
    wait_dash(page)
    expect(page.locator("h1")).to_have_text("Page introuvable")
    page.get_by_role("link", name="Retour à l'accueil").click()
    expect(page.locator("h1").first).not_to_have_text("Page introuvable")
    assert page.js_errors == []
