"""Importer page in Chromium: token, upload of a small fictional actions file in the template
(with an HTML/script title and a hostile value in an invalid row), the validation report,
quarantine, confirmation, then the new action on the Actions page, shown as text.

The import writes into the session's demo DB (a temp copy built by conftest.demo_db): it
only adds NEW action ids (IMP-B-...), so the other browser tests do not depend on the order.
The admin token is read from the environment at each request, so setting it for this test
only (monkeypatch) is enough: the other tests see the app without it."""
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import screenshot, wait_dash

TOKEN = "jeton-navigateur-fictif-42"
PORTEUR = "Association fictive du Navigateur"
TITLE = "<script>alert(1)</script> Atelier des Hippogriffes"
HOSTILE_THEME = "<img src=x onerror=alert(1)>"
SCHEME = "CLSM003"            # a demo scheme: its fiche on the Couverture page counts the new action
HEADER = ("id_action;titre;description;annee_debut;annee_fin;porteur;thematiques;publics;qpv;commune;"
          "longitude;latitude;adresse;id_dispositif;financeurs")
LIST_TABLE = "[id='{\"table\":\"act-list\",\"type\":\"atlas-table\"}']"
REPORT_TABLE = "[id='{\"table\":\"imp-problems\",\"type\":\"atlas-table\"}']"


@pytest.fixture
def admin(monkeypatch):
    monkeypatch.setenv("ATLAS_ADMIN_TOKEN", TOKEN)
    monkeypatch.setenv("ATLAS_IMPORT_OFFLINE", "1")


def _csv() -> bytes:
    rows = [HEADER,
            f"IMP-B-0001;{TITLE};Atelier fictif de test;2024;;{PORTEUR};nutrition|activite_physique;precarite;"
            f"QN09601M;;;;;{SCHEME};ARS",
            f"IMP-B-0002;Atelier rejeté;;2024;;{PORTEUR};{HOSTILE_THEME};;QN09601M;;;;;;"]
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def _scheme_actions(page) -> int:
    """Number of actions the Couverture fiche of SCHEME links to."""
    page.goto(page.base_url + f"/couverture?scheme={SCHEME}")
    wait_dash(page)
    text = page.locator("#cov-fiche-actions-link").inner_text()
    if "son action" in text:                     # "Voir son action sur la page Actions"
        return 1
    digits = "".join(ch for ch in text if ch.isdigit())
    return int(digits) if digits else 0          # "Ouvrir la page Actions filtrée..." (none)


def test_import_actions_file_then_see_it_on_actions_page(page, admin):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    before = _scheme_actions(page)
    page.goto(page.base_url + "/importer")
    wait_dash(page)
    assert page.locator("#nav-importer").is_visible()
    assert page.locator("#imp-steps").is_hidden()

    page.fill("#imp-token", "pas-le-bon")
    page.click("#imp-unlock")
    page.wait_for_selector("#imp-token-bad")
    assert page.locator("#imp-steps").is_hidden()
    page.fill("#imp-token", TOKEN)
    page.click("#imp-unlock")
    page.wait_for_selector("#imp-token-ok")
    assert page.locator("#imp-steps").is_visible()
    assert "Taille maximale : 25 Mo" in page.locator("#imp-limit").inner_text()
    assert page.get_by_label("Fichier à importer (CSV ou XLSX, 25 Mo au plus)").count() == 1   # named input

    page.set_input_files("#imp-upload input[type=file]",
                         files=[{"name": "actions_navigateur.csv", "mimeType": "text/csv", "buffer": _csv()}])
    page.wait_for_selector("#imp-report-status")
    wait_dash(page)
    assert "1 erreur(s) dans 1 ligne(s) sur 2" in page.locator("#imp-report-status").inner_text()
    assert page.locator("#imp-n-valid .figure").inner_text() == "1"
    cell = page.locator(f"{REPORT_TABLE} td[data-dash-column='valeur']").filter(has_text="onerror")
    assert HOSTILE_THEME in cell.first.inner_text()                  # the hostile value, as text
    assert page.locator("#imp-report img").count() == 0
    expect(page.locator("#imp-confirm")).to_be_disabled()            # all-or-nothing with an error
    expect(page.locator("#imp-confirm-hint")).to_contain_text("tout ou rien", ignore_case=True)

    page.locator("#imp-mode input[value='quarantine']").check()
    page.wait_for_function("() => !document.querySelector('#imp-confirm').disabled")
    assert "1 nouvelle(s)" in page.locator("#imp-confirm-hint").inner_text()
    screenshot(page, "importer-report")

    page.click("#imp-confirm")
    page.wait_for_selector("#imp-done-inserted")
    assert "Import effectué" in page.locator("#imp-result-body").inner_text()
    assert page.locator("#imp-done-inserted .figure").inner_text() == "1"
    assert page.locator("#imp-done-rejected .figure").inner_text() == "1"
    expect(page.locator("#imp-confirm")).to_be_disabled()            # nothing left to confirm
    screenshot(page, "importer-done")

    page.click("#imp-link-actions")
    page.wait_for_url("**/actions")
    wait_dash(page)
    page.goto(page.base_url + "/actions?porteur=" + quote(PORTEUR))
    wait_dash(page)
    page.wait_for_selector(f"{LIST_TABLE} td[data-dash-column='title']")
    titles = page.locator(f"{LIST_TABLE} td[data-dash-column='title']")
    assert titles.count() == 1 and titles.first.inner_text().strip() == TITLE
    assert page.locator(f"{LIST_TABLE} script").count() == 0
    titles.first.click()
    page.wait_for_selector("#act-fiche-title")
    assert page.locator("#act-fiche-title").inner_text().strip() == TITLE
    screenshot(page, "importer-actions")
    # ... and on the Couverture page, in the fiche of the scheme it is linked to.
    assert _scheme_actions(page) == before + 1
    screenshot(page, "importer-couverture")
    assert dialogs == [] and page.js_errors == []


def test_importer_disabled_without_token(page, monkeypatch):
    monkeypatch.delenv("ATLAS_ADMIN_TOKEN", raising=False)
    page.goto(page.base_url + "/importer")
    wait_dash(page)
    text = page.locator("#imp-disabled").inner_text()
    assert "désactivé" in text and "ATLAS_ADMIN_TOKEN" in text
    assert page.locator("#nav-importer").count() == 0
    assert page.locator("#imp-upload").count() == 0
    screenshot(page, "importer-disabled")
    assert page.js_errors == []


def test_oversize_file_is_stopped_in_the_browser(page, admin, monkeypatch):
    from etl import importer

    monkeypatch.setattr(importer.spec, "MAX_FILE_MB", 1)       # the page reads the importer's limit
    page.goto(page.base_url + "/importer")
    wait_dash(page)
    page.fill("#imp-token", TOKEN)
    page.keyboard.press("Enter")                          # n_submit also checks the token
    page.wait_for_selector("#imp-token-ok")
    assert "Taille maximale : 1 Mo" in page.locator("#imp-limit").inner_text()
    big = _csv() + b"x" * (1536 * 1024)                   # 1,5 Mo
    page.set_input_files("#imp-upload input[type=file]",
                         files=[{"name": "trop_gros.csv", "mimeType": "text/csv", "buffer": big}])
    page.wait_for_function("() => document.querySelector('#imp-size-alert').textContent.length > 0")
    alert = page.locator("#imp-size-alert").inner_text()
    assert "trop volumineux" in alert and "trop_gros.csv" in alert and "1 Mo" in alert
    wait_dash(page)
    assert page.locator("#imp-report-status").count() == 0   # nothing was sent or validated
    assert page.locator("#imp-confirm").is_disabled()
    screenshot(page, "importer-trop-gros")
    assert page.js_errors == []
