"""Inégalités in Chromium: legend follows the indicator and the classes without refetching the
QPV geometry, écart mode, click on a QPV -> panel -> fiche, a shared URL restores the view,
secret values written as text in the table, hostile names escaped in tooltips."""
import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.helpers import csv_table, screenshot, wait_dash

HOSTILE = '<img src=x onerror=alert(1)>'


def _open(page, query: str = ""):
    qpv_requests = []
    page.on("request", lambda r: qpv_requests.append(r.url) if "/geo/qpv.pbf" in r.url else None)
    page.goto(page.base_url + "/inegalites" + query)
    wait_dash(page)
    page.wait_for_selector("path[data-code]", state="attached")
    return qpv_requests


def _pick(page, dropdown_id: str, text: str):
    page.locator(f"#{dropdown_id}").click()
    page.locator(".dash-dropdown-option", has_text=text).first.click()


def _class_rows(page) -> list[str]:
    """Legend rows of classes (those with a coloured swatch, not the secret/missing ones)."""
    return page.locator("#ineg-legend li:has(.swatch:not(.swatch-secret):not(.swatch-missing))").all_inner_texts()


def _point_in(page, code: str):
    """Screen coordinates of a point inside the QPV's polygon (not just its bounding box)."""
    point = page.evaluate("""(code) => {
        const p = document.querySelector(`path[data-code="${code}"]`);
        // scroll the page (not the map's own container) so the map is in view
        const map = document.getElementById('ineg-map');
        window.scrollTo(0, map.getBoundingClientRect().top + window.scrollY - 100);
        const r = p.getBoundingClientRect();
        for (let i = 1; i < 16; i++) for (let j = 1; j < 16; j++) {
            const x = r.left + r.width * i / 16, y = r.top + r.height * j / 16;
            if (document.elementFromPoint(x, y) === p) { return [x, y]; }
        }
        return null;
    }""", code)
    assert point, f"no point inside {code}"
    return point


def _click_qpv(page, code: str):
    x, y = _point_in(page, code)
    page.mouse.click(x, y)


def _open_classes(page) -> None:
    """The classes and colours are folded in one line under the controls: open it."""
    if page.locator("#ineg-classes").get_attribute("open") is None:
        page.locator("#ineg-classes-summary").click()
    expect(page.locator("#ineg-k")).to_be_visible()


def _query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def test_indicator_and_classes_change_legend_not_geometry(page):
    qpv_requests = _open(page, "?indicator=taux_pauvrete_60&k=5&method=quantiles")
    assert len(qpv_requests) == 1
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Taux de pauvreté")
    assert len(_class_rows(page)) == 5
    counts = sum(int(r.split("\n")[-1].split()[0]) for r in _class_rows(page))
    assert counts > 0
    # fewer classes
    _open_classes(page)
    page.locator("#ineg-k").get_by_text("3", exact=True).click()
    expect(page.locator("#ineg-legend li:has(.swatch:not(.swatch-secret):not(.swatch-missing))")).to_have_count(3)
    assert sum(int(r.split("\n")[-1].split()[0]) for r in _class_rows(page)) == counts   # same QPVs
    # natural breaks
    _pick(page, "ineg-method", "Seuils naturels")
    expect(page.locator("#ineg-legend .legend-note")).to_contain_text("seuils naturels")
    # another indicator: new title, new classes, still no geometry request
    before = page.locator("#ineg-legend").inner_text()
    _pick(page, "ineg-indicator", "Revenu disponible médian")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Revenu médian")
    assert page.locator("#ineg-legend").inner_text() != before
    expect(page.locator("#ineg-source")).to_contain_text("millésime")
    page.wait_for_function("() => window.location.search.includes('indicator=revenu_median_uc')")
    q = _query(page)
    assert q["indicator"] == "revenu_median_uc" and q["method"] == "jenks" and q["k"] == "3"
    # manual breaks
    _pick(page, "ineg-method", "Seuils manuels")
    page.fill("#ineg-breaks", "12 000 ; 14 000")
    page.press("#ineg-breaks", "Enter")
    expect(page.locator("#ineg-legend li").first).to_contain_text("12\u202f000")
    wait_dash(page)
    assert len(qpv_requests) == 1, qpv_requests       # the QPV geometry was fetched once
    screenshot(page, "inegalites-valeur")
    assert page.js_errors == []


def test_ecart_mode_click_qpv_panel_and_fiche(page):
    _open(page, "?indicator=taux_pauvrete_60")
    page.locator("#ineg-mode").get_by_text("Écart à la référence").click()
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("écart")
    expect(page.locator("#ineg-legend .legend-note")).to_contain_text("parité")
    expect(page.locator("#ineg-palette")).to_contain_text("divergente")
    # the table shows the reference and the gap
    expect(page.locator(".dash-header", has_text="Écart (rapport)")).to_have_count(1)
    code = page.locator("path[data-code]").first.get_attribute("data-code")
    name = page.locator(f'path[data-code="{code}"]').get_attribute("aria-label")
    _click_qpv(page, code)
    expect(page.locator("#ineg-panel-title")).to_have_text(name)
    expect(page.locator("#ineg-panel-table")).to_contain_text("Commune")
    expect(page.locator("#ineg-panel-table")).to_contain_text("France")
    # its class is said in words in the live region, as the table writes it
    expect(page.locator("#ineg-panel[aria-live=polite] #ineg-panel-class")).to_have_text(re.compile(r"^(\d : .+ \(sur \d\)|hors classes.*)$"))
    page.wait_for_function("(c) => window.location.search.includes('qpv=' + c)", arg=code)
    # the selected QPV is outlined (hideout.selected) and its table row highlighted
    expect(page.locator(f'path[data-code="{code}"]')).to_have_attribute("stroke-width", "4")
    screenshot(page, "inegalites-ecart-selection")
    page.locator("#ineg-fiche-link").click()
    page.wait_for_url(f"**/fiche?level=qpv&code={code}")
    expect(page.locator("#fiche-title")).to_contain_text(name)        # the fiche, not the page left
    assert "404" not in page.locator("#page-content").inner_text()
    assert page.js_errors == []


def test_shared_url_restores_the_view(page):
    _open(page, "?indicator=revenu_median_uc&mode=ecart&ref=epci&gap=difference&method=jenks&k=4")
    code = page.locator("path[data-code]").nth(1).get_attribute("data-code")
    _click_qpv(page, code)
    expect(page.locator("#ineg-panel-title")).not_to_be_empty()
    title = page.locator("#ineg-panel-title").inner_text()
    page.wait_for_function("(c) => window.location.search.includes('qpv=' + c)", arg=code)
    # zoom in: the map view goes into the URL too
    page.locator("#ineg-map .leaflet-control-zoom-in").click()
    page.wait_for_function("() => /view=[^&]*%2C1[0-9]/.test(window.location.search) || "
                           "/view=[^&]*,1[0-9]/.test(window.location.search)")
    wait_dash(page)
    shared = page.url
    q = _query(page)
    # The browser writes the canonical URL of the view: what the server would write for it.
    from pages.inegalites import parse_state, state_query
    assert "?" + urlparse(shared).query == state_query(parse_state(q))
    legend = page.locator("#ineg-legend").inner_text()
    page.goto("about:blank")
    _open(page, "?" + urlparse(shared).query)
    assert _query(page)["indicator"] == "revenu_median_uc"
    expect(page.locator("#ineg-method")).to_contain_text("Seuils naturels")
    expect(page.locator("#ineg-k input[value='4']")).to_be_checked()
    expect(page.locator("#ineg-mode input[value='ecart']")).to_be_checked()
    expect(page.locator("#ineg-gap input[value='difference']")).to_be_checked()
    expect(page.locator("#ineg-panel-title")).to_have_text(title)
    assert page.locator("#ineg-legend").inner_text() == legend
    zoom = page.evaluate("() => { const m = document.querySelector('#ineg-map'); "
                         "return m && m._leaflet_id !== undefined; }")
    assert zoom is not None
    assert _query(page)["view"].split(",")[2] == q["view"].split(",")[2]     # same zoom
    screenshot(page, "inegalites-restored")
    assert page.js_errors == []


def test_table_writes_secret_as_text(page, app_module):
    from data import access

    # a QPV whose latest poverty rate is secret, and its commune: a small table to read
    vals = access.values("taux_pauvrete_60", "qpv", None, access.indicator_years("taux_pauvrete_60")[-1])
    secret = vals[vals.status == "secret"]
    assert len(secret), "the demo has secret cells"
    code = secret.code.iloc[0]
    commune = access.territory("qpv", code)["commune"]
    _open(page, f"?indicator=taux_pauvrete_60&scope=commune:{commune}&qpv={code}")
    row = page.locator(f"tr:has(td[data-dash-column='code']:has-text('{code}'))")
    expect(row.locator("td[data-dash-column='value']")).to_have_text("secret")
    expect(row.locator("td[data-dash-column='statut']")).to_have_text("secret statistique")
    expect(row.locator("td[data-dash-column='classe']")).to_contain_text("hors classes")
    expect(page.locator("#ineg-panel-value")).to_have_text("secret")
    expect(page.locator("#ineg-legend")).to_contain_text("Secret statistique")
    # the map draws it apart: grey fill, never a class colour
    expect(page.locator(f'path[data-code="{code}"]')).to_have_attribute("fill", "#9e9e9e")
    screenshot(page, "inegalites-secret")
    assert page.js_errors == []


def test_tooltip_escapes_hostile_names(page):
    _open(page)
    html = page.evaluate("""(hostile) => {
        let bound = null;
        const feature = {properties: {code: 'X', name: hostile}};
        const layer = {feature: feature, bindTooltip: (h) => { bound = h; }, on: () => {}, getElement: () => null};
        window.atlas.qpvmap.onEachFeature(feature, layer,
            {hideout: {tooltips: {X: ['Référence, commune ' + hostile + ' : n.d.']}}});
        return typeof bound === "function" ? bound(layer) : bound;     // content built on opening
    }""", HOSTILE)
    assert "<img" not in html and html.count("&lt;img src=x onerror=alert(1)&gt;") == 2
    # a real tooltip on the map: plain text
    code = page.locator("path[data-code]").first.get_attribute("data-code")
    x, y = _point_in(page, code)
    page.mouse.move(x, y)
    tip = page.locator(".atlas-tooltip")
    expect(tip).to_contain_text("Référence, commune")
    expect(tip).to_contain_text("Écart")
    assert page.js_errors == []


def test_keyboard_selects_a_qpv_on_the_map(page):
    _open(page)
    # the QPV last in the table's order (by name): on its last page
    names = page.locator("path[data-code]").evaluate_all("ps => ps.map(p => p.getAttribute('aria-label'))")
    path = page.locator('path[data-code]').nth(names.index(max(names)))
    code, name = path.get_attribute("data-code"), path.get_attribute("aria-label")
    path.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ineg-panel-title")).to_have_text(name)
    page.wait_for_function("(c) => window.location.search.includes('qpv=' + c)", arg=code)
    # the table turns to the page of the selection and highlights its row (cells in bold)
    expect(page.locator(f"td[data-dash-column='code']:has-text('{code}')")).to_have_css("font-weight", "700")
    assert page.js_errors == []


def test_restyle_recolours_the_same_shapes_and_their_tooltips(page):
    """An indicator change recolours the shapes already drawn (dash-leaflet would re-create
    them all if the layer's hideout changed) and rewrites their tooltips."""
    _open(page, "?indicator=taux_pauvrete_60&k=5")
    page.evaluate("() => document.querySelectorAll('path[data-code]').forEach(p => { p.__kept = true; })")
    code = page.locator("path[data-code]").first.get_attribute("data-code")
    x, y = _point_in(page, code)
    page.mouse.move(x, y)
    expect(page.locator(".atlas-tooltip")).to_contain_text("Taux de pauvreté")
    page.mouse.move(5, 5)

    before = page.locator("path[data-code]").evaluate_all("ps => ps.map(p => p.getAttribute('fill'))")
    _pick(page, "ineg-indicator", "Revenu disponible médian")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Revenu médian")
    page.wait_for_function("""() => {
        const style = window.atlas.live.styles['ineg-qpv'];
        return style && String(style.tip).includes('indicator=revenu_median_uc');
    }""")
    kept = page.locator("path[data-code]").evaluate_all("ps => ps.every(p => p.__kept === true)")
    assert kept, "the QPV shapes were re-created instead of restyled"
    after = page.locator("path[data-code]").evaluate_all("ps => ps.map(p => p.getAttribute('fill'))")
    assert after != before                               # the colours follow the new indicator
    # Each legend colour is drawn on as many QPVs as the legend counts.
    legend = page.locator("#ineg-legend li:has(.swatch:not(.swatch-secret):not(.swatch-missing))")
    swatches = legend.locator(".swatch").evaluate_all("ss => ss.map(s => getComputedStyle(s).backgroundColor)")
    counts = [int(t.split("\n")[-1].split()[0]) for t in legend.all_inner_texts()]
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('path[data-code]')).map(p => {
        const c = document.createElement('span'); c.style.color = p.getAttribute('fill');
        document.body.appendChild(c); const rgb = getComputedStyle(c).color; c.remove(); return rgb; })""")
    assert [drawn.count(s) for s in swatches] == counts
    x, y = _point_in(page, code)
    page.mouse.move(x, y)
    expect(page.locator(".atlas-tooltip")).to_contain_text("Revenu")
    assert page.js_errors == []


def test_page_load_sends_only_the_page_callback_and_one_request_per_interaction(page):
    """Issue 9: the layout Dash fetches on load already holds the page built for the URL, with the
    map's style, legend and first table page, so loading /inegalites sends no callback for the page:
    the only one is the funnel chart's, mounted after the map (issue 20); a control change is one
    callback for the page and one for the funnel, a selection one callback, a tooltip one small GET."""
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if "_dash-update-component" in r.url else None)
    _open(page, "?indicator=taux_pauvrete_60&k=5")
    expect(page.locator("#ineg-table-wrap td[data-dash-column='code']").first).to_be_visible()
    expect(page.locator("#ineg-funnel-text")).not_to_be_empty()
    wait_dash(page)
    funnel = [p for p in posts if 'ineg-funnel.figure' in p]
    assert len(funnel) == 1 and len(posts) == 1, posts  # the layout request already held the page
    # an indicator change: one request for the page, one for the funnel
    posts.clear()
    _pick(page, "ineg-indicator", "Revenu disponible médian")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("Revenu médian")
    wait_dash(page)
    assert len(posts) == 2 and sum('ineg-funnel.figure' in p for p in posts) == 1, posts
    # a QPV clicked on the map: one request (outline, panel, table page)
    tips: list[str] = []
    page.on("request", lambda r: tips.append(r.url) if "/tooltip/inegalites" in r.url else None)
    posts.clear()
    code = page.locator("path[data-code]").first.get_attribute("data-code")
    _click_qpv(page, code)
    expect(page.locator("#ineg-panel-title")).to_be_visible()
    wait_dash(page)
    assert len(posts) == 1, posts
    # its tooltip (opened by the pointer): the text is fetched once, when it first opens
    page.mouse.move(5, 5)
    x, y = _point_in(page, code)
    page.mouse.move(x, y)
    expect(page.locator(".atlas-tooltip")).to_contain_text("Revenu")
    mine = [u for u in tips if f"code={code}" in u]
    assert len(mine) == 1 and "indicator=revenu_median_uc" in mine[0], tips
    assert page.js_errors == []


def test_table_pages_and_sorts_on_the_server_and_exports_every_row(page):

    _open(page, "?indicator=taux_pauvrete_60")
    table = page.locator("#ineg-table-wrap")
    cells = table.locator("td[data-dash-column='code']")
    expect(cells.first).to_be_visible()
    n_qpv = page.locator("path[data-code]").count()
    assert cells.count() == min(15, n_qpv)
    # sort by value, descending: the highest rate first, secret and unknown values at the end
    header = table.locator("th[data-dash-column='value'] .column-header--sort")
    header.click()          # ascending
    header.click()          # descending
    # what the server says the first rows are, sorted by value descending (same view)
    head, rows = csv_table(page.request.get(
        page.base_url + "/export/table/inegalites.csv?indicator=taux_pauvrete_60&sort=value:desc").text())
    assert dict(head)["Avertissement"].startswith("Données fictives") and dict(head)["Source"].startswith("Source")
    first_name = rows[1][0]
    expect(table.locator("td[data-dash-column='name']").first).to_have_text(first_name)
    values = [t.replace("\u202f", "").replace(",", ".") for t in
              table.locator("td[data-dash-column='value']").all_inner_texts()]
    known = [float(v) for v in values if v.replace(".", "").isdigit()]
    assert known == sorted(known, reverse=True) and known
    # the next page comes from the server
    if n_qpv > 15:
        first = cells.first.inner_text()
        table.locator("button.next-page").click()
        expect(cells.first).not_to_have_text(first)
    # the CSV link holds every row, in the table's sort order
    link = page.locator("a", has_text="Télécharger CSV")
    page.wait_for_function("() => Array.from(document.querySelectorAll('a')).some("
                           "a => a.textContent.includes('Télécharger CSV') && a.href.includes('sort=value%3Adesc'))")
    with page.expect_download() as dl:
        link.click()
    head, rows = csv_table(open(dl.value.path(), encoding="utf-8-sig").read())
    assert len(rows) == 1 + n_qpv and dict(head)["Titre"].startswith("Inégalités")
    assert page.js_errors == []


def test_qpvs_are_symbols_at_regional_zoom_and_polygons_up_close(page):
    """Issue 12: at zoom 8 a QPV would be a speck: it is drawn as a disc in its class colour; at
    zoom 14 it is its polygon."""
    from data import access

    code = access.territories("qpv").iloc[0].code
    x0, y0, x1, y1 = access.bounds("qpv", code)
    lat, lon = (y0 + y1) / 2, (x0 + x1) / 2
    _open(page, f"?indicator=taux_pauvrete_60&view={lat:.5f},{lon:.5f},8")
    page.wait_for_function("(c) => { const p = document.querySelector(`path[data-code='${c}']`); "
                           "return p && p.classList.contains('atlas-speck'); }", arg=code)
    path = page.locator(f"path[data-code='{code}']")
    stroke, fill = path.get_attribute("stroke"), path.get_attribute("fill")
    assert stroke == fill or stroke == "#000000" or stroke == "#6b6b6b"            # a disc of its colour
    bbox = path.evaluate("p => { const b = p.getBBox(); return Math.max(b.width, b.height); }")
    assert bbox < 8 and bbox + float(path.get_attribute("stroke-width")) >= 8      # a speck drawn as a disc
    box = path.bounding_box()
    assert box and box["width"] >= 8 and box["height"] >= 8                      # readable, clickable
    assert "pastille" in page.locator("#ineg-legend").inner_text()
    # discs sized by population: the most populous QPV's disc is larger than the least populous one's
    pops = access.tables().level("qpv").dropna(subset=["population"]).sort_values("population")
    small, big = pops.code.iloc[0], pops.code.iloc[-1]
    # a disc's diameter: the speck's own extent plus its stroke
    widths = page.evaluate("""(codes) => codes.map(c => {
        const p = document.querySelector(`path[data-code='${c}']`);
        if (!p || !p.classList.contains('atlas-speck')) return null;
        const b = p.getBBox();
        return Math.max(b.width, b.height) + parseFloat(p.getAttribute('stroke-width')); })""",
                           [small, big])
    assert widths[0] is not None and widths[1] is not None and widths[1] > widths[0], widths
    assert "population" in page.locator("#ineg-legend").inner_text()
    screenshot(page, "inegalites-zoom8")
    page.goto("about:blank")
    _open(page, f"?indicator=taux_pauvrete_60&view={lat:.5f},{lon:.5f},14")
    page.wait_for_function("(c) => { const p = document.querySelector(`path[data-code='${c}']`); "
                           "return p && !p.classList.contains('atlas-speck') && p.getBBox().width > 20; }", arg=code)
    assert float(page.locator(f"path[data-code='{code}']").get_attribute("stroke-width")) < 8
    assert page.js_errors == []
