"""Presentation mode in Chromium: bookmark three views from the app shell, play them full
screen with the keyboard (arrows, PageUp/PageDown, space, Échap), each slide with its title,
comment and the view's own source line; save the deck to JSON and load it back."""
from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.browser.helpers import JS_DASH_IDLE, SHOTS, screenshot, wait_dash


def bookmark(page, url: str, title: str | None, comment: str) -> None:
    page.goto(page.base_url + url)
    wait_dash(page)
    page.get_by_role("button", name="Ajouter à la présentation").click()
    dialog = page.locator("#present-add-dialog")
    dialog.wait_for(state="visible")
    if title is not None:
        page.get_by_label("Titre de la vue").fill(title)
    page.get_by_label("Commentaire (affiché sous la vue)").fill(comment)
    dialog.get_by_role("button", name="Ajouter").click()
    page.wait_for_function("() => /Vue ajoutée/.test(document.getElementById('present-add-status').textContent)")


def counter(page) -> str:
    return page.locator("#present-counter").inner_text()


def slide_ready(page, path: str) -> None:
    """The slide's own document (not the previous one still in the frame) has run its scripts."""
    page.wait_for_function("""(p) => { const d = document.getElementById('present-frame').contentDocument;
        return !!d && !!d.documentElement && d.location.pathname === p && d.documentElement.classList.contains('atlas-ready'); }""",
                           arg=path, timeout=30000)


def test_three_slide_presentation_with_the_keyboard(page, tmp_path):
    bookmark(page, "/", "Chiffres clés", "Le territoire en quatre chiffres.")
    bookmark(page, "/inegalites?indicator=taux_pauvrete_60", None, "Pauvreté : les quartiers les plus touchés.")
    bookmark(page, "/couverture", "Couverture ASV", "Quels quartiers sans ASV ?")
    expect(page.locator("#present-count")).to_have_text("3")

    page.goto(page.base_url + "/presentation")
    wait_dash(page)
    items = page.locator(".slide-item")
    items.first.wait_for()
    assert items.count() == 3
    # a title not typed: what the view shows (indicator, year described, territory)
    view = "Taux de pauvreté au seuil de 60 % (2019) — Tout le territoire chargé"
    assert page.locator(".slide-item input").nth(1).input_value() == view

    page.get_by_role("button", name="Lancer la présentation").click()
    player = page.locator("#present-player")
    player.wait_for(state="visible")
    expect(page.locator("#present-counter")).to_have_text("Vue 1 / 3")
    assert page.locator("#present-title").inner_text() == "Chiffres clés"
    assert page.locator("#present-comment").inner_text() == "Le territoire en quatre chiffres."
    assert "present=1" in page.locator("#present-frame").get_attribute("src")

    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 2 / 3'")
    assert page.locator("#present-title").inner_text() == view
    expect(page.locator("#present-view")).to_be_hidden()       # the title already says what the view shows
    # The slide: the page without navigation nor controls, with its map and its own source line.
    frame = page.frame_locator("#present-frame")
    slide_ready(page, "/inegalites")
    assert not frame.locator(".site-header").is_visible()
    assert not frame.locator(".controls").first.is_visible()
    frame.locator(".leaflet-container path").first.wait_for()
    page.wait_for_function("() => { const t = document.getElementById('present-sources').textContent; "
                           "return /Source/.test(t) && !/chargement/.test(t); }")
    assert "millésime" in page.locator("#present-sources").inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "presentation-slide-2.png"))        # what the projector shows

    page.keyboard.press("PageDown")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 3 / 3'")
    page.keyboard.press("ArrowRight")                      # already the last slide: stays
    page.keyboard.press("PageUp")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 2 / 3'")
    page.keyboard.press(" ")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 3 / 3'")
    assert page.locator("#present-comment").inner_text() == "Quels quartiers sans ASV ?"
    # Keys pressed inside the slide's frame reach the player too.
    slide_ready(page, "/couverture")
    page.locator("#present-frame").click(position={"x": 5, "y": 5})
    frame.locator("body").press("ArrowLeft")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 2 / 3'")
    page.keyboard.press("Home")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 1 / 3'")
    # A burst of keys faster than Dash callbacks: each press is applied in order, clamped at the ends.
    for key in ["End", "ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowRight"]:
        page.keyboard.press(key)
    # "Vue 2 / 3" is also the state after the third key: wait until every queued press is applied.
    page.wait_for_function("() => window.atlasPresentQueue.length === 0 && (" + JS_DASH_IDLE + ")()")
    expect(page.locator("#present-counter")).to_have_text("Vue 2 / 3")
    page.keyboard.press("Home")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 1 / 3'")
    # Keys in one tick, before the buttons' state catches up ("Précédente" still disabled on the first
    # slide when ArrowLeft follows End): none is dropped (a busy CI machine once lost them).
    page.evaluate("""() => ['End', 'ArrowLeft', 'ArrowLeft'].forEach(k => (document.activeElement || document.body)
        .dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true, cancelable: true})))""")
    page.wait_for_function("() => window.atlasPresentQueue.length === 0 && (" + JS_DASH_IDLE + ")()")
    expect(page.locator("#present-counter")).to_have_text("Vue 1 / 3")
    page.keyboard.press("End")
    page.wait_for_function("() => document.getElementById('present-counter').textContent === 'Vue 3 / 3'")
    page.keyboard.press("Escape")
    player.wait_for(state="hidden")

    # Save the deck, clear it, load the file back.
    with page.expect_download() as dl:
        page.get_by_role("button", name="Enregistrer le fichier (JSON)").click()
    saved = json.loads(open(dl.value.path(), encoding="utf-8").read())
    assert saved["format"] == "atlas-asv-diaporama"
    assert [s["title"] for s in saved["slides"]] == ["Chiffres clés", view, "Couverture ASV"]
    assert saved["slides"][1]["url"].startswith("/inegalites?") and "present" not in saved["slides"][1]["url"]
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Tout effacer").click()
    page.wait_for_selector("#slide-empty")
    expect(page.locator("#present-count")).to_have_text("0")
    path = tmp_path / "diaporama.json"
    saved["slides"].append({"url": "https://evil.example/", "title": "x", "comment": ""})
    path.write_text(json.dumps(saved), encoding="utf-8")
    page.locator("#present-upload input[type=file]").set_input_files(str(path))
    page.wait_for_function("() => /non chargé/.test(document.getElementById('present-status').textContent)")
    assert page.locator(".slide-item").count() == 0          # refused: a slide points outside the atlas
    saved["slides"].pop()
    good = tmp_path / "diaporama_ok.json"
    good.write_text(json.dumps(saved), encoding="utf-8")
    page.locator("#present-upload input[type=file]").set_input_files(str(good))
    page.wait_for_function("() => /3 vues/.test(document.getElementById('present-status').textContent)")
    page.locator(".slide-item").nth(2).wait_for()
    assert page.locator(".slide-item").count() == 3
    assert page.locator(".slide-item input").first.input_value() == "Chiffres clés"
    screenshot(page, "presentation-editor")
    assert page.js_errors == []
