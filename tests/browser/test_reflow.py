"""Reflow (issue 13, WCAG 1.4.10): at 320 CSS pixels wide — what a 1280 px screen shows at 400 %
zoom, and narrower than 200 % of any laptop — no page scrolls sideways and every control stays
inside the page; the presentation reads on a 1024×768 projector. Screenshots are kept."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import screenshot, wait_dash
from tests.browser.test_presentation import bookmark

PAGES = ["/", "/inegalites", "/couverture", "/actions", "/comparer", "/fiche", "/donnees", "/presentation",
         "/importer", "/accessibilite", "/comparer?view=groups&t=commune:99011,commune:98019"]

# Elements wider than the page (document scroll width beyond the viewport), tables and maps aside:
# those scroll inside their own frame, which WCAG 1.4.10 allows for two-dimensional content.
JS_OVERFLOW = """() => {
    const W = document.documentElement.clientWidth;
    const wide = Array.from(document.querySelectorAll('#page-content *, header *, footer *')).filter(e => {
        const r = e.getBoundingClientRect();
        if (!r.width || r.right <= W + 1) return false;
        for (let p = e.parentElement; p; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== 'visible') return false;     // clipped or scrolled inside
        }
        return true;
    }).map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right));
    return {scroll: document.documentElement.scrollWidth, width: W, wide: wide.slice(0, 8)};
}"""


# 320 px: a 1280 px screen at 400 %; 683 px: a 1366 px laptop at 200 %.
CASES = [(p, 320) for p in PAGES] + [(p, 683) for p in ["/inegalites", "/actions", "/comparer", "/fiche"]]


@pytest.mark.parametrize("path,width", CASES)
def test_page_reflows_without_horizontal_scrolling(page, path, width):
    page.set_viewport_size({"width": width, "height": 640})
    page.goto(page.base_url + path)
    wait_dash(page)
    expect(page.locator("h1").first).to_be_visible()
    if path.startswith(("/inegalites", "/couverture", "/actions")):
        expect(page.locator(".leaflet-container").first).to_be_visible()
    found = page.evaluate(JS_OVERFLOW)
    assert found["scroll"] <= found["width"], found
    assert found["wide"] == [], found
    # the controls stay usable: the first dropdown's button fits in the page
    buttons = page.locator("#page-content button.dash-dropdown")
    if buttons.count():
        box = buttons.first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    if path == "/inegalites" and width == 320:
        # the table scrolls sideways in its frame: a named tab stop (assets/a11y.js)
        region = page.locator(".dash-spreadsheet-container[role=region]").first
        expect(region).to_have_attribute("aria-label", re.compile("^Tableau : Tableau des quartiers"))
        assert region.get_attribute("tabindex") == "0"
    screenshot(page, f"reflow-{width}" + (path.replace("/", "-").replace("?", "-").replace("&", "-").replace("=", "-")
                                     .replace(",", "-").replace(":", "") if path != "/" else "-accueil"))
    assert page.js_errors == []


def test_presentation_reads_on_a_1024x768_projector(page):
    from data import access

    bookmark(page, "/inegalites?indicator=taux_pauvrete_60&scope=departement:96", "Pauvreté",
             "Les quartiers les plus touchés.")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(page.base_url + "/presentation")
    wait_dash(page)
    page.get_by_role("button", name="Lancer la présentation").click()
    expect(page.locator("#present-player")).to_be_visible()
    page.wait_for_function("""() => { const d = document.getElementById('present-frame').contentDocument;
        return !!d && !!d.documentElement && d.documentElement.classList.contains('atlas-ready') && d.querySelector('path[data-code]'); }""")
    # title, comment, sources and the buttons are all on screen, none cut or scrolled off
    for sel in ["#present-title", "#present-counter", "#present-comment", "#present-next", "#present-quit",
                "#present-frame"]:
        box = page.locator(sel).bounding_box()
        assert box is not None, sel
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= 1024 + 1 \
            and box["y"] + box["height"] <= 768 + 1, (sel, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    # the map fills the slide below its notes, with type kept at (nearly) full size: the page is
    # not scaled down to a thumbnail (assets/export.js fitSlide)
    page.wait_for_function("""() => { const d = document.getElementById('present-frame').contentDocument;
        const m = d.querySelector('.leaflet-container');
        return m.getBoundingClientRect().height >= 230 && parseFloat(d.body.style.zoom || '1') >= 0.9 &&
               d.documentElement.scrollHeight <= d.defaultView.innerHeight + 4; }""")
    # the slide shows the département its author saw (the map, smaller than on the page, zooms out)
    x0, y0, x1, y1 = access.extent("qpv", ("departement", "96"))
    page.wait_for_function("""(b) => { const w = document.getElementById('present-frame').contentWindow;
        const live = w.atlas && w.atlas.live;
        const maps = Object.values((live && live.layers) || {}).flatMap(r => Object.values(r).slice(0, 1))
            .map(e => e.layer._map).filter(Boolean);
        if (!maps.length) return false;
        const v = maps[0].getBounds();
        return v.getWest() <= b[0] && v.getSouth() <= b[1] && v.getEast() >= b[2] && v.getNorth() >= b[3]; }""",
                           arg=[x0, y0, x1, y1])
    # the title reads from the back of the room
    size = page.locator("#present-title").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 24, size
    page.screenshot(path=str(screenshot(page, "presentation-1024x768").with_name("presentation-1024x768-screen.png")))
    page.keyboard.press("Escape")
    assert page.js_errors == []
