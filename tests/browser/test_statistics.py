"""Issue 20 in Chromium: the outcome words on the Fiche and in Comparer, the comparable QPVs of a
QPV's Fiche (at least five, each with its fiche, one click to compare with them), and the funnel
plot on Inégalités with its 95 % / 99,8 % limits."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import choose, screenshot, wait_dash, wait_search

QPV = "QN09805M"


def test_fiche_tests_each_value_and_lists_comparable_qpvs(page):
    page.goto(page.base_url + f"/fiche?level=qpv&code={QPV}")
    wait_dash(page)
    table = page.locator("#fiche-determinants-wrap, #fiche-body .dash-table-container").first
    expect(table).to_contain_text("Test / départ.")
    expect(table).to_contain_text("✗ Moins bon")                    # the poverty rate, tested
    expect(table).to_contain_text("IC 95 %")
    expect(page.locator("#fiche-body")).to_contain_text("† Intervalle à dénominateur approché")
    # another reference for the tests (folded in one line that says the settings): the column,
    # the fold's line and the URL follow
    summary = page.locator("#fiche-tests-summary")
    expect(summary).to_have_text("Tests et intervalles : départ., IC 95 %")
    summary.click()
    choose(page, "fiche-test", "L'ensemble des QPV de France")
    expect(summary).to_have_text("Tests et intervalles : ens. QPV, IC 95 %")
    wait_search(page, "test=ensemble_qpv")
    expect(page.locator("#fiche-body")).to_contain_text("Test / ens. QPV")
    expect(page.locator("#fiche-portrait-link")).to_have_attribute("href", re.compile(r"test=ensemble_qpv"))
    # comparable QPVs: at least five, each with a link to its fiche, the method written out
    rows = page.locator("#fiche-comparables .dash-spreadsheet tbody tr:has(td)")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 5
    expect(page.locator("#fiche-comparables a", has_text="Fiche")).to_have_count(rows.count())
    expect(page.locator("#fiche-comparables-method")).to_contain_text("centré-réduit")
    screenshot(page, "fiche-comparables")
    page.locator("#fiche-compare-peers").click()
    page.wait_for_url(re.compile(r".*/comparer\?.*ref=comparables"))
    wait_dash(page)
    expect(page.locator("#compare-sentences")).to_contain_text("médiane des QPV comparables")
    values = page.evaluate("() => document.querySelectorAll('#compare-territories .dash-dropdown-value-item').length")
    assert values == 6


def test_comparer_words_the_tested_comparison(page):
    page.goto(page.base_url + f"/comparer?t=qpv:{QPV}&t=qpv:QN09603M&ind=part_familles_monoparentales"
                              "&ref=ensemble_qpv")
    wait_dash(page)
    sentences = page.locator("#compare-sentences")
    expect(sentences).to_contain_text("significativement plus élevée que celle de")
    expect(sentences).to_contain_text("Écart non significatif au seuil de 95 %")
    expect(page.locator("#compare-body")).to_contain_text("✗ Moins bon")
    expect(page.locator("#compare-body")).to_contain_text("≈ Similaire")
    # 99,8 %: the same words, at the other level, and in the URL
    page.locator("#compare-ci").get_by_text("99,8 %").click()
    wait_search(page, "ic=99.8")
    expect(sentences).to_contain_text("au seuil de 99,8 %")
    # one click adds the first QPV's comparables, up to six territories
    page.get_by_role("button", name=re.compile("Ajouter les QPV comparables à Cité des Gnomes")).click()
    page.wait_for_function("() => document.querySelectorAll('#compare-territories .dash-dropdown-value-item')"
                           ".length === 6")
    wait_dash(page)
    screenshot(page, "comparer-tests")


def test_inegalites_funnel_plot_and_interval_level(page):
    page.goto(page.base_url + "/inegalites?indicator=part_allocataires_rsa&ref=ensemble_qpv")
    wait_dash(page)
    funnel = page.locator("#ineg-funnel")
    expect(funnel.locator(".main-svg").first).to_be_attached(timeout=30000)
    funnel.scroll_into_view_if_needed()
    expect(funnel.locator(".scatterlayer .trace").first).to_be_attached()
    expect(page.locator("#ineg-funnel-text")).to_contain_text("Au-delà des limites à 99,8 %")
    expect(page.locator("#ineg-funnel-text")).to_contain_text("moins bon")
    expect(page.locator("#ineg-funnel-source")).to_contain_text("Spiegelhalter")
    expect(page.locator("#ineg-funnel-exports").get_by_role("button", name="Exporter le graphique en PNG")).to_be_visible()
    legend = page.locator("#ineg-funnel .legendtext")
    # the demo's QPVs are over-dispersed: widened limits, named so, and the note says why
    expect(legend.filter(has_text=re.compile(r"^Limites à 95 % \(corrigées\)$"))).to_have_count(1)
    expect(legend.filter(has_text=re.compile(r"^Limites à 99,8 % \(corrigées\)$"))).to_have_count(1)
    expect(page.locator("#ineg-funnel-overdispersed")).to_contain_text("Sans cette correction")
    screenshot(page, "inegalites-entonnoir")
    # the table's tested comparison, then 99,8 % from the folded options
    expect(page.locator("#ineg-table-wrap")).to_contain_text("Comparaison testée avec la référence (IC 95 %)")
    page.locator("#ineg-classes-summary").click()
    page.locator("#ineg-ci").get_by_text("99,8 %").click()
    wait_search(page, "ic=99.8")
    expect(page.locator("#ineg-classes-summary")).to_contain_text("IC à 99,8 %")
    expect(page.locator("#ineg-table-wrap")).to_contain_text("IC 99,8 % : borne basse")
    # a QPV's panel gives its interval and tests it against every reference
    page.locator("#ineg-table-wrap td[data-dash-column='name']").nth(2).click()
    expect(page.locator("#ineg-panel-table")).to_contain_text("Test (IC 99,8 %)")
    expect(page.locator("#ineg-panel")).to_contain_text("Intervalle de confiance à 99,8 %")
    # an indicator without counts: no empty axes, the reason instead
    page.locator("#ineg-indicator").click()
    page.locator(".dash-dropdown-option", has_text="Revenu disponible médian").first.click()
    expect(page.locator("#ineg-funnel-why")).to_contain_text("pas d'entonnoir")
    expect(funnel).to_be_hidden()
    expect(page.locator("#ineg-funnel-exports")).to_be_hidden()     # nothing to export
    assert page.js_errors == []
