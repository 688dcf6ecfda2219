"""Real data told truly (issue 18) as a person sees it, on the demo (whose scheme registry is declared
complete on départements 96 and 99 only): a QPV of the 98 without a known ASV is "couverture
inconnue", never ranked "sans ASV"; the all-QPV reference offered and shown with its year; the
Fiche's population with its year and its sources named by dataset."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.helpers import choose, screenshot, wait_dash

TITANS = "Les Titans"           # QN09807N, département 98, only a CLS known there


def test_couverture_says_unknown_where_no_registry_is_loaded(page):
    page.goto(page.base_url + "/couverture")
    wait_dash(page)
    page.locator(".cov-pane-qpv path").first.wait_for(state="attached")
    legend = page.locator("#cov-legend")
    row = legend.locator("li", has_text="Couverture inconnue (registre non chargé)")
    expect(row).to_have_count(1)
    expect(row.locator(".legend-count")).to_have_text("1 QPV")
    expect(legend.locator(".swatch-unknown, .swatch").nth(3)).to_be_attached()
    expect(page.locator("#cov-registry-note")).to_contain_text("chargé pour une partie de ce territoire seulement")
    summary = page.locator("#cov-ranking-summary")
    expect(summary).to_contain_text("1 QPV dont la couverture est inconnue")
    assert TITANS not in page.locator("#cov-ranking-block").inner_text()
    # the département whose registry is not loaded: no "Aucun dispositif", no ranking of "sans ASV"
    page.goto(page.base_url + "/couverture?scope=commune:98029")
    wait_dash(page)
    expect(page.locator("#cov-ranking-summary")).to_contain_text("aucun QPV ne peut être dit sans ASV")
    expect(page.locator("#cov-legend")).not_to_contain_text("Ni ASV ni CLS\n1 QPV")
    screenshot(page, "couverture-inconnue")
    assert page.js_errors == []


def test_inegalites_offers_the_all_qpv_reference_with_its_year(page):
    page.goto(page.base_url + "/inegalites?indicator=taux_pauvrete_60&mode=ecart")
    wait_dash(page)
    page.wait_for_selector("path[data-code]", state="attached")
    # the year list starts with the most recent year described
    expect(page.locator("#ineg-year")).to_contain_text("2019")
    choose(page, "ineg-ref", "Ensemble des QPV (France)")
    expect(page.locator("#ineg-legend .legend-title")).to_contain_text("ensemble des QPV (France)")
    page.wait_for_function("() => new URLSearchParams(location.search).get('ref') === 'ensemble_qpv'")
    table = page.locator(".dash-spreadsheet").first
    expect(table).to_contain_text("Ensemble des QPV 2015 (France)")
    expect(page.locator("#ineg-source")).to_contain_text("Référence (ensemble des QPV (France))")
    # the indicator list says where references exist
    page.locator("#ineg-indicator").click()
    expect(page.locator(".dash-dropdown-content")).to_contain_text("références : commune")
    page.keyboard.press("Escape")
    assert page.js_errors == []


def test_fiche_population_year_and_dataset_sources(page):
    page.goto(page.base_url + "/fiche?level=qpv&code=QN09602I")      # unchanged in 2024: its own population
    wait_dash(page)
    expect(page.locator("#fiche-population")).to_contain_text("habitants (")
    det = page.locator(".dash-spreadsheet").first
    expect(det).to_contain_text("Ensemble des QPV 2015 (France)")
    expect(det).to_contain_text("Filosofi 2019")
    # no dispersion ratio is called favourable or unfavourable
    row = det.locator("tr", has_text="Rapport interdécile")
    expect(row).not_to_contain_text("favorable")
    screenshot(page, "fiche-annees")
    assert page.js_errors == []
