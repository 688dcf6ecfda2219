"""Actions page in Chromium: load, filter by a theme and see the counts change, open an
action's fiche from the list, reload a shared URL and find the same filters and fiche."""
import re

from tests.browser.helpers import choose, screenshot, wait_dash

LIST_TABLE = "[id='{\"table\":\"act-list\",\"type\":\"atlas-table\"}']"


def _count(page) -> int:
    return int(page.locator("#act-count-n").inner_text().split()[0].replace("\u202f", ""))


def _open(page, query: str = ""):
    page.goto(page.base_url + "/actions" + query)
    wait_dash(page)
    page.wait_for_selector("#act-count-n")
    # The density shapes (fetched as geobuf), not only the action points drawn with the page.
    page.wait_for_function("() => Object.keys(((window.atlas || {}).live || {layers: {}}).layers['act-territories'] "
                           "|| {}).length > 0")


def test_actions_load_and_theme_filter_changes_counts(page):
    _open(page)
    total = _count(page)
    assert total > 0
    legend = page.locator("#act-legend").inner_text()
    assert "Aucune action" in legend and "Population inconnue : densité non calculable" in legend
    assert "Sources — actions" in page.locator("#act-sources").inner_text()
    assert "Population" in page.locator("#act-sources").inner_text()
    # the density reads first: action points are off until the user turns them on (issue 12)
    assert page.locator("#act-map .atlas-cluster").count() == 0
    page.locator("#act-map .leaflet-control-layers").get_by_label("Actions (points)").check()
    page.locator("#act-map .atlas-cluster").first.wait_for(timeout=15000)      # clustered action points
    screenshot(page, "actions")

    territory_paths = """() => Object.values(window.atlas.live.layers['act-territories'] || {})
        .map(e => e.layer.getElement()).filter(el => el && el.isConnected)"""
    page.evaluate(f"() => ({territory_paths})().forEach(p => {{ p.__kept = true; }})")
    choose(page, "act-themes", "Santé mentale", search="Santé mentale")
    page.wait_for_url(re.compile(r".*theme=sante_mentale.*"))
    page.wait_for_function(f"() => !document.querySelector('#act-count-n').innerText.startsWith('{total} ')")
    wait_dash(page)
    filtered = _count(page)
    assert 0 < filtered < total
    rows = page.locator(f"{LIST_TABLE} tbody tr").count()
    assert rows > 1
    assert "Santé mentale" in page.locator("#act-points-legend").inner_text()
    heat = page.locator("#act-heatmap").inner_text()
    assert "Santé mentale" in heat
    # The density layer was restyled in place (components.maps.live_style); its tooltips are asked
    # for the new view when one opens.
    page.wait_for_function("() => ((window.atlas.live.styles['act-territories'] || {}).tip || '')"
                           ".includes('sante_mentale')")
    restyled = page.evaluate("""() => {
        const live = window.atlas.live, styles = live.styles['act-territories'];
        const entries = Object.values(live.layers['act-territories'] || {});
        const shown = (e) => { const c = e.layer.getTooltip().getContent();     // built on opening
                               return typeof c === "function" ? c(e.layer) : c; };
        return entries.length > 0 && entries.every(e => shown(e) ===
            window.atlas.choropleth.tooltip(e.layer.feature, styles));
    }""")
    assert restyled
    kept = page.evaluate(f"() => {{ const ps = ({territory_paths})(); return ps.length > 0 && ps.every(p => p.__kept); }}")
    assert kept, "the density shapes were re-created instead of restyled"
    screenshot(page, "actions-theme")
    assert page.js_errors == []


def test_click_action_row_opens_fiche(page):
    _open(page)
    assert "Cliquez sur une action" in page.locator("#act-fiche").inner_text()
    first_title = page.locator(f"{LIST_TABLE} td[data-dash-column='title']").first
    title = first_title.inner_text().strip()
    first_title.click()
    page.wait_for_selector("#act-fiche-title")
    assert page.locator("#act-fiche-title").inner_text().strip() == title
    fiche = page.locator("#act-fiche").inner_text()
    for label in ("Années", "Porteur", "Thématiques", "Publics", "Sur la carte", "Financeurs"):
        assert label in fiche
    page.wait_for_url(re.compile(r".*action=.*"))
    assert page.locator("#act-fiche-close").is_visible()
    screenshot(page, "actions-fiche")
    page.locator("#act-fiche-close").click()
    page.wait_for_selector("#act-fiche-empty")
    assert "action=" not in page.url
    assert page.js_errors == []


def test_shared_url_restores_filters_and_fiche(page):
    from data import access

    action_id = access.actions(years=(2020, 2023)).action_id.iloc[0]
    query = f"?level=commune&theme=prevention&public=precarite&years=2020-2023&heat=density&action={action_id}"
    _open(page, query)
    url = page.url
    count = _count(page)
    fiche_title = page.locator("#act-fiche-title").inner_text()
    assert page.locator("#act-level input[value='commune']").is_checked()
    assert "Prévention et promotion de la santé" in page.locator("#act-themes").inner_text()
    assert "Personnes en situation de précarité" in page.locator("#act-publics").inner_text()
    assert page.locator("#act-years input").first.input_value() == "2020"
    assert page.locator("#act-years input").last.input_value() == "2023"
    assert page.locator("#act-heat input[value='density']").is_checked()
    assert "par commune" in page.locator("#act-legend").inner_text()
    page.reload()
    wait_dash(page)
    page.wait_for_selector("#act-count-n")
    assert page.url == url                      # loading a shared view does not rewrite it
    assert _count(page) == count
    assert page.locator("#act-fiche-title").inner_text() == fiche_title
    assert "Prévention et promotion de la santé" in page.locator("#act-themes").inner_text()
    screenshot(page, "actions-shared-url")
    assert page.js_errors == []
