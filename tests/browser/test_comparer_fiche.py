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


def _communes_with_qpvs(n):
    from data import access

    return list(access.territories("qpv").commune.value_counts().index[:n])


def test_compare_draws_no_empty_plot_and_never_a_seventh_territory(page):
    """Issue 12: an indicator without any value gets a sentence, not a bare 0-1 axis; adding a
    7th territory is refused, in the selection and in the URL."""
    from data import access

    communes = list(access.territories("commune").code[:6])
    page.goto(page.base_url + "/comparer?t=" + ",".join(f"commune:{c}" for c in communes)
              + "&ind=taux_pauvrete_60,part_c2s&ref=france")
    wait_dash(page)
    page.locator("#compare-graph .main-svg").first.wait_for(timeout=15000)
    titles = page.locator("#compare-graph .annotation-text").evaluate_all("es => es.map(e => e.textContent)")
    assert titles == ["Taux de pauvreté (%)"]                     # C2S has no commune value: no subplot
    assert "pas de graphique" in page.locator("#compare-sentences").inner_text()
    seventh = access.territories("commune").iloc[6]
    choose(page, "compare-territories", f"Commune — {seventh['name']} ({seventh['code']})", search=seventh["code"])
    page.locator("#compare-limit").get_by_text("Six territoires au plus").wait_for(timeout=15000)
    page.wait_for_function("(name) => !document.querySelector('#compare-territories').innerText.includes(name)",
                           arg=seventh["name"])                 # the dropdown got its six back
    assert seventh["code"] not in page.url and page.url.count("commune%3A") + page.url.count("commune:") == 6
    assert page.js_errors == []


def test_compare_groups_of_qpvs(page):
    communes = _communes_with_qpvs(2)
    page.goto(page.base_url + "/comparer?t=" + ",".join(f"commune:{c}" for c in communes)
              + "&ind=taux_pauvrete_60&view=groups")
    wait_dash(page)
    page.locator("#compare-graph .main-svg").first.wait_for(timeout=15000)
    legend = page.locator("#compare-graph .legendtext").evaluate_all("es => es.map(e => e.textContent)")
    assert legend == ["QPV", "Médiane des QPV", "Valeur de la commune ou de l'EPCI"]
    assert "médiane des" in page.locator("#compare-sentences").inner_text()
    screenshot(page, "comparer-groupes")
    assert page.js_errors == []


def test_no_english_control_titles(page):
    """Issue 12: Leaflet's zoom buttons and Plotly's toolbar speak French; Plotly's own download and
    share buttons are gone (the app's exports carry title and source)."""
    page.goto(page.base_url + "/fiche?level=commune&code=" + _communes_with_qpvs(1)[0])
    wait_dash(page)
    zoom_in = page.locator("#fiche-map .leaflet-control-zoom-in")
    zoom_in.wait_for(timeout=15000)
    page.wait_for_function("() => document.querySelector('#fiche-map .leaflet-control-zoom-in').title === 'Zoom avant'")
    assert page.locator("#fiche-map .leaflet-control-zoom-out").get_attribute("title") == "Zoom arrière"
    graph = page.locator(".js-plotly-plot").first
    graph.wait_for(timeout=15000)
    graph.hover()
    titles = page.locator(".modebar-btn").evaluate_all("bs => bs.map(b => b.getAttribute('data-title'))")
    english = [t for t in titles if t in ("Download plot as a png", "Download plot", "Zoom in", "Zoom out", "Pan",
                                          "Reset axes", "Autoscale", "Edit in Chart Studio", "Box Select")]
    assert english == [] and not any("png" in (t or "").lower() for t in titles), titles
    assert page.js_errors == []
