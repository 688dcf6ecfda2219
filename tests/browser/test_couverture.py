"""Couverture ASV in Chromium: coverage map and legend, layer toggle, scheme fiche from the
list and from the map, need indicator changing the ranking, shared URL restored on reload."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.browser.helpers import screenshot, wait_dash


def _query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query, keep_blank_values=True).items()}


def _layer_checkbox(page, name: str):
    return page.locator(".leaflet-control-layers-overlays").get_by_role("checkbox", name=name, exact=True)


def _paths(page, key: str):
    return page.locator(f".cov-pane-{key} path")


def _valeurs(page) -> list[str]:
    return [c.strip() for c in page.locator('#cov-ranking-block td[data-dash-column="valeur"]').all_inner_texts()]


def _choose(page, dropdown_id: str, text: str) -> None:
    page.locator(f"#{dropdown_id}").click()
    page.locator(".dash-dropdown-option", has_text=text).first.click()


def _number(text: str) -> float:
    return float(text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", "."))


def test_map_legend_and_layer_toggle(page):
    page.goto(page.base_url + "/couverture")
    wait_dash(page)
    _paths(page, "qpv").first.wait_for(state="attached")
    legend = page.locator("#cov-legend").inner_text()
    for label in ("Couvert par un ASV", "CLS seulement", "Ni ASV ni CLS"):
        assert label in legend
    counts = [int(t.split()[0]) for t in page.locator("#cov-legend .legend-count").all_inner_texts()]
    assert sum(counts) == _paths(page, "qpv").count() > 0      # every QPV drawn is counted once
    assert _paths(page, "cls").count() == 0                       # CLS layer off by default
    _layer_checkbox(page, "Territoires des CLS").check()
    _paths(page, "cls").first.wait_for(state="attached")
    assert _paths(page, "cls").count() > 0
    page.wait_for_function("() => new URLSearchParams(location.search).get('layers') === 'qpv,asv,cls'")
    assert "Zonage ARS" in page.locator("#cov-map-source").inner_text()
    screenshot(page, "couverture")
    assert page.js_errors == []


def test_scheme_fiche_from_list_and_from_map(page):
    page.goto(page.base_url + "/couverture")
    wait_dash(page)
    first = page.locator("#cov-scheme-items button").first
    name = first.locator("span").nth(1).inner_text()
    first.click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('scheme')")
    wait_dash(page)
    title = page.locator("#cov-fiche-title").inner_text()
    assert name in title
    identity = page.locator("#cov-fiche-identity").inner_text()
    assert "Porteur" in identity and "Année de création" in identity and "Statut" in identity
    assert page.locator("#cov-fiche-qpvs a").count() > 0
    assert page.locator("#cov-fiche-qpvs a").first.get_attribute("href").startswith("/fiche?level=qpv&code=QN")
    scheme_id = _query(page)["scheme"]
    assert page.locator("#cov-fiche-actions-link").get_attribute("href") == f"/actions?scheme={scheme_id}"
    page.locator("#cov-fiche-themes .js-plotly-plot").wait_for()
    assert "Santé mentale" in page.locator("#cov-fiche-themes").inner_text()    # one bar per theme axis
    assert first.get_attribute("aria-pressed") == "true"
    screenshot(page, "couverture-fiche-liste")
    # On the map: show the CPTS territories and click one of them.
    _layer_checkbox(page, "Territoires des CPTS").check()
    cpts = _paths(page, "cpts").first
    cpts.wait_for(state="attached")
    cpts.dispatch_event("click")
    page.wait_for_function(f"() => new URLSearchParams(location.search).get('scheme') !== '{scheme_id}'")
    wait_dash(page)
    expect(page.locator("#cov-fiche-title")).to_have_text(re.compile(r"^\s*CPTS"))
    assert "Communauté professionnelle territoriale de santé" in page.locator("#cov-fiche-identity").inner_text()
    screenshot(page, "couverture-fiche-carte")
    assert page.js_errors == []


def test_need_indicator_changes_the_ranking(page):
    page.goto(page.base_url + "/couverture?need=taux_pauvrete_60")
    wait_dash(page)
    header = page.locator('#cov-ranking-block th[data-dash-column="valeur"]').inner_text()
    assert "pauvreté" in header
    before = _valeurs(page)
    ok = [_number(v) for v in before if v not in ("secret", "n.d.")]
    assert ok == sorted(ok, reverse=True)                  # high poverty = high need first
    tail = before[len(ok):]
    assert all(v in ("secret", "n.d.") for v in tail)      # secret / missing last, shown as such
    # no rank without its uncertainty: each value's interval and its tested comparison, and what a rank is worth
    ics = page.locator('#cov-ranking-block td[data-dash-column="ic"]').all_inner_texts()
    assert ics[0].startswith("[") and ics[0].strip().endswith("]")
    test_header = page.locator('#cov-ranking-block th[data-dash-column="test"]').inner_text()
    assert test_header.startswith("Comparaison testée avec ")
    tests = page.locator('#cov-ranking-block td[data-dash-column="test"]').all_inner_texts()
    assert tests[0].strip() in ("✗ Moins bon", "≈ Similaire", "✓ Meilleur")
    expect(page.locator("#cov-ranking-caution")).to_contain_text("il ne prouve pas d'écart")
    _choose(page, "cov-need", "Revenu disponible médian")
    page.wait_for_function("() => new URLSearchParams(location.search).get('need') === 'revenu_median_uc'")
    wait_dash(page)
    page.wait_for_function(
        "() => document.querySelector('#cov-ranking-block th[data-dash-column=\"valeur\"]').innerText.includes('Revenu')")
    after = _valeurs(page)
    ok = [_number(v) for v in after if v not in ("secret", "n.d.")]
    assert ok == sorted(ok)                                # low income = high need first
    assert "plus faibles" in page.locator("#cov-ranking-summary").inner_text()
    assert "Revenu disponible" in page.locator("#cov-ranking-source").inner_text()
    expect(page.locator("#cov-ranking-caution")).to_contain_text("pas d'intervalle ni de test")     # a median
    screenshot(page, "couverture-classement")
    assert page.js_errors == []


def test_shared_url_restores_the_same_view(page):
    page.goto(page.base_url + "/couverture")
    wait_dash(page)
    _choose(page, "cov-scope", "Département")
    page.wait_for_function("() => (new URLSearchParams(location.search).get('scope') || '').startsWith('departement:')")
    wait_dash(page)
    _layer_checkbox(page, "Zonage ARS médecins (ZIP, ZAC, ZAR, ZV)").check()
    _layer_checkbox(page, "Territoires des ASV").uncheck()
    page.wait_for_function("() => new URLSearchParams(location.search).get('layers') === 'qpv,zonage'")
    page.locator("#cov-scheme-items button").last.click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('scheme')")
    wait_dash(page)
    state = _query(page)
    title = page.locator("#cov-fiche-title").inner_text()
    scope_title = page.locator("#cov-scope-title").inner_text()
    ranking = _valeurs(page)
    page.reload()
    wait_dash(page)
    assert _query(page) == state
    assert page.locator("#cov-fiche-title").inner_text() == title
    assert page.locator("#cov-scope-title").inner_text() == scope_title
    assert _layer_checkbox(page, "Zonage ARS médecins (ZIP, ZAC, ZAR, ZV)").is_checked()
    assert not _layer_checkbox(page, "Territoires des ASV").is_checked()
    expect(page.locator('#cov-ranking-block td[data-dash-column="valeur"]')).to_have_text(ranking)
    _paths(page, "zonage").first.wait_for(state="attached")
    screenshot(page, "couverture-url-partagee")
    assert page.js_errors == []


def test_qpv_discs_at_small_scale_keep_their_coverage_category(page):
    """Issue 12 / RGAA: at a regional zoom each QPV is a disc; with no pattern left to see, ASV,
    CLS-only and neither are told apart by colours at 3:1 from each other and the base map."""
    from data.analysis import coverage_counts
    from pages.couverture import COVERAGE_STYLES, coverage_frame

    counts = coverage_counts(coverage_frame(None).category)
    page.goto(page.base_url + "/couverture")
    wait_dash(page)
    _paths(page, "qpv").first.wait_for()
    page.evaluate("""() => { const live = window.atlas.live;
        const m = Object.values(live.layers).flatMap(r => Object.values(r)).map(e => e.layer._map).find(Boolean);
        m.setZoom(7, {animate: false}); }""")
    page.wait_for_function("() => document.querySelectorAll('.cov-pane-qpv path.atlas-speck').length > 0")
    strokes = page.evaluate("() => Array.from(document.querySelectorAll('.cov-pane-qpv path.atlas-speck'))"
                            ".map(p => p.getAttribute('stroke'))")
    for cat in ("asv", "cls", "none"):
        assert strokes.count(COVERAGE_STYLES[cat]["speck"]) == counts[cat], (cat, strokes)
    assert "bleu clair pour un CLS seulement" in page.locator("#cov-legend").inner_text()
    screenshot(page, "couverture-zoom7-discs")
    assert page.js_errors == []
