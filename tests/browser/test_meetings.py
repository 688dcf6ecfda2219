"""Issue 22 in Chromium: on a laptop plugged into a projector (1366 x 768, 1280 x 720) and on a
large screen (1920 x 1080), every map page shows at least the upper half of its map (and no less
than 250 px of it) in the first screen, under a header on one line; a table row chosen far below
brings the map back; slides name their territory and hide instructions and toolbars; the player's
buttons say where one stands; no page writes an error to the console."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import screenshot, wait_dash
from tests.browser.test_presentation import bookmark, slide_ready

MAP_PAGES = {"/inegalites": "#ineg-map", "/couverture": "#cov-map", "/actions": "#act-map",
             "/fiche?level=qpv&code=QN09805M": "#fiche-map"}
SIZES = [(1366, 768), (1280, 720), (1920, 1080)]


def _map_box(page, selector: str) -> dict:
    page.locator(f"{selector}.leaflet-container").wait_for(state="visible")
    return page.evaluate("""(s) => { const r = document.querySelector(s).getBoundingClientRect();
        return {top: r.top, height: r.height, bottom: r.bottom}; }""", selector)


def _visible(box: dict, height: int) -> float:
    return max(0.0, min(height, box["bottom"]) - max(0.0, box["top"]))


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_map_is_above_the_fold(browser, live_server, size):
    width, height = size
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = ctx.new_page()
    try:
        for path, selector in MAP_PAGES.items():
            page.goto(live_server + path)
            wait_dash(page)
            box = _map_box(page, selector)
            shown = _visible(box, height)
            assert shown >= box["height"] / 2, (path, box)          # its upper half at least
            assert shown >= min(250, box["height"]), (path, box)
            if (width, height) == (1366, 768):
                screenshot_viewport(page, f"fold-{path.strip('/').split('?')[0]}")
        # the header holds on one line: brand, menu and presentation widget side by side
        tops = page.evaluate("""() => ['.brand-block', '.main-nav', '.present-widget'].map(
            s => Math.round(document.querySelector(s).getBoundingClientRect().top))""")
        heights = page.evaluate("() => document.querySelector('.site-header').getBoundingClientRect().height")
        assert heights < 80, heights
        assert max(tops) - min(tops) < 20, tops
    finally:
        ctx.close()


def screenshot_viewport(page, name: str) -> None:
    from tests.browser.helpers import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_a_table_row_brings_the_map_back_into_view(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="fr-FR")
    page = ctx.new_page()
    try:
        page.goto(live_server + "/inegalites?indicator=taux_pauvrete_60")
        wait_dash(page)
        page.locator("#ineg-map path[data-code]").first.wait_for(state="attached")
        # zoomed in elsewhere, scrolled down to the table
        page.evaluate("() => document.querySelector('#ineg-table-title').scrollIntoView()")
        assert _visible(_map_box(page, "#ineg-map"), 768) < 100
        cell = page.locator("#ineg-table-wrap td[data-dash-column='name']").nth(2)
        code = page.locator("#ineg-table-wrap td[data-dash-column='code']").nth(2).inner_text().strip()
        cell.click()
        page.wait_for_function("(c) => document.querySelector('#ineg-panel') && "
                               "document.querySelector('#ineg-panel').textContent.includes(c)", arg=code)
        box = _map_box(page, "#ineg-map")
        assert _visible(box, 768) >= box["height"] / 2
        # the QPV is in the map's view
        inside = page.evaluate("""(c) => { const el = document.querySelector('#ineg-map path[data-code="' + c + '"]')
            || document.querySelector('path[data-code="' + c + '"]');
            const m = document.querySelector('#ineg-map').getBoundingClientRect();
            if (!el) { return null; }
            const r = el.getBoundingClientRect();
            return r.left >= m.left - 1 && r.right <= m.right + 1 && r.top >= m.top - 1 && r.bottom <= m.bottom + 1; }""",
                               code)
        assert inside is True, code
    finally:
        ctx.close()


def test_notes_are_folded_under_the_map(page):
    page.goto(page.base_url + "/inegalites?indicator=taux_pauvrete_60")
    wait_dash(page)
    fold = page.locator("#ineg-notes details.notes-fold")
    expect(fold.locator("summary")).to_contain_text("périmètre 2015")
    body = fold.locator(".notes-fold-body")
    expect(body).to_be_hidden()
    fold.locator("summary").click()
    expect(body).to_contain_text("calculée sur le périmètre 2015")
    # under the map, not between the controls and the map
    above = page.evaluate("""() => document.querySelector('#ineg-notes').getBoundingClientRect().top >
                                   document.querySelector('#ineg-map').getBoundingClientRect().bottom""")
    assert above
    # the classes and colours: one line that opens, saying what they are set to
    summary = page.locator("#ineg-classes-summary")
    expect(summary).to_have_text("Classes, couleurs et intervalles : quantiles (effectifs égaux), 5 classes, jaune-orange-rouge, IC à 95 %")
    summary.click()
    page.get_by_text("7", exact=True).click()
    expect(summary).to_contain_text("7 classes")
    expect(page.locator("#ineg-legend-box li")).to_have_count(7 + page.locator(
        "#ineg-legend-box li .swatch-secret, #ineg-legend-box li .swatch-missing").count())


def test_slides_name_their_territory_and_hide_the_page_tools(page):
    bookmark(page, "/fiche?level=qpv&code=QN09805M", None, "Le quartier.")
    bookmark(page, "/inegalites?indicator=taux_pauvrete_60&scope=commune:98019", None, "La pauvreté.")
    bookmark(page, "/comparer?t=commune:99011&t=commune:98019&ind=taux_pauvrete_60", None, "Deux communes.")
    bookmark(page, "/couverture", "Nos ASV", "Un titre choisi.")
    page.goto(page.base_url + "/presentation")
    wait_dash(page)
    titles = [i.input_value() for i in page.locator(".slide-item input").all()]
    assert "Cité des Gnomes" in titles[0]
    assert titles[1] == "Taux de pauvreté au seuil de 60 % (2019) — Commune — Port-Imaginaire"
    assert titles[2] == "Comparer : Mont-Utopie ; Port-Imaginaire — Taux de pauvreté (2019)"
    page.get_by_role("button", name="Lancer la présentation").click()
    page.locator("#present-player").wait_for(state="visible")
    expect(page.locator("#present-counter")).to_have_text("Vue 1 / 4")
    # first slide: nothing before it
    expect(page.locator("#present-first")).to_be_disabled()
    expect(page.locator("#present-prev")).to_be_disabled()
    expect(page.locator("#present-next")).to_be_enabled()
    slide_ready(page, "/fiche")
    frame = page.frame_locator("#present-frame")
    expect(frame.locator("#fiche-title")).to_be_visible()                # the Fiche names its QPV
    expect(frame.locator("#fiche-title")).to_contain_text("Cité des Gnomes")
    screenshot(page, "slide-fiche")
    page.locator("#present-next").click()
    expect(page.locator("#present-counter")).to_have_text("Vue 2 / 4")
    page.locator("#present-next").click()
    expect(page.locator("#present-counter")).to_have_text("Vue 3 / 4")
    slide_ready(page, "/comparer")
    expect(frame.locator(".page-intro")).to_be_hidden()                  # no "Choisissez…"
    frame.locator(".js-plotly-plot").first.wait_for(state="attached")
    assert frame.locator(".modebar-container:visible, .modebar:visible").count() == 0
    page.locator("#present-last").click()
    expect(page.locator("#present-counter")).to_have_text("Vue 4 / 4")
    expect(page.locator("#present-next")).to_be_disabled()
    expect(page.locator("#present-last")).to_be_disabled()
    expect(page.locator("#present-prev")).to_be_enabled()
    # a title of the user's own: what the view shows is said under it
    expect(page.locator("#present-title")).to_have_text("Nos ASV")
    expect(page.locator("#present-view")).to_contain_text("Couverture")
    expect(page.locator("#present-view")).to_contain_text("Tout le territoire chargé")


CONSOLE_PAGES = ["/", "/inegalites", "/inegalites?indicator=taux_emploi_15_64&mode=ecart&scope=commune:99011",
                 "/couverture", "/actions", "/actions?action=A01", "/comparer",
                 "/comparer?view=groups&t=commune:99011&t=commune:98019", "/fiche",
                 "/fiche?level=qpv&code=QN09805M", "/donnees", "/presentation", "/importer", "/accessibilite"]


def test_no_console_error_on_any_page(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="fr-FR")
    page = ctx.new_page()
    said: list[str] = []
    page.on("console", lambda m: said.append(f"{m.type}: {m.text}")
            if m.type == "error" or (m.type == "warning" and "Warning:" in m.text) else None)
    page.on("pageerror", lambda e: said.append(f"pageerror: {e}"))
    try:
        for path in CONSOLE_PAGES:
            page.goto(live_server + path)
            wait_dash(page)
            page.locator("#page-content > *").first.wait_for()
            # lazily inserted parts (the Actions charts after the map, tables) have rendered
            page.wait_for_function("() => !document.querySelector('.graph-pending')", timeout=30000)
            wait_dash(page)
            assert said == [], (path, said)
    finally:
        ctx.close()
