"""Exports in headless Chromium: every exported file is opened and checked.

Map PNG (size, non-blank pixels in the map area, palette colours), map PDF (one landscape
A4 page with title, legend, scale and source), fiche PDF (one or two A4 pages) and portrait
PDF through the Fiche page's buttons, chart PNG/SVG/PDF (kaleido), the map and simple-table
buttons, CSV/XLSX on every table of every page, refused URLs, and the offline bundle opened
with networking disabled."""
from __future__ import annotations

import io
import unicodedata
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.browser.helpers import SHOTS, csv_table, screenshot, wait_dash
from data import palettes as pal

A4 = (595.3, 841.9)


@pytest.fixture(scope="module")
def client(app_module):
    return app_module.server.test_client()


def pdf_text(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    text = unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))   # ligatures
    return reader, text.replace("\u202f", " ").replace("\xa0", " ")


def save(name: str, data: bytes) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / name).write_bytes(data)


def hex_rgb(h: str) -> tuple[int, int, int]:
    return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))


def test_map_png_is_a_finished_figure(client):
    r = client.get("/export/png?url=" + quote("/inegalites?indicator=taux_pauvrete_60&k=5&palette=YlOrRd"))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "image/png" and "attachment" in r.headers["Content-Disposition"]
    save("export-map-inegalites.png", r.data)
    img = Image.open(io.BytesIO(r.data))
    img.load()
    assert img.width == 1600 and 700 <= img.height <= 3000
    x, y, w, h = (int(v) for v in r.headers["X-Atlas-Map-Box"].split(","))
    assert w >= 800 and h >= 500 and x + w <= img.width and y + h <= img.height
    crop = img.convert("RGB").crop((x, y, x + w, y + h))
    colors = crop.getcolors(maxcolors=1 << 20)
    assert len(colors) > 30                                    # outlines, fills, scale: not blank
    background = max(colors)[1]
    drawn = sum(n for n, c in colors if sum(abs(a - b) for a, b in zip(c, background)) > 30)
    assert drawn > 0.01 * w * h
    present = {c for _, c in colors}
    # The classes' colours, drawn with fill opacity 0.85 over the map's background.
    bg = hex_rgb("#f4f1ea")
    fills = [tuple(0.85 * a + 0.15 * b for a, b in zip(hex_rgb(c), bg)) for c in pal.PALETTES["YlOrRd"][5]]
    assert sum(any(sum(abs(a - b) for a, b in zip(f, c)) < 15 for c in present) for f in fills) >= 3


def test_map_pdf_is_one_landscape_page_with_title_legend_scale_and_source(client):
    r = client.get("/export/pdf?url=" + quote("/couverture"))
    assert r.status_code == 200, r.get_data(as_text=True)
    save("export-map-couverture.pdf", r.data)
    reader, text = pdf_text(r.data)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)                # landscape A4
    assert abs(float(box.width) - A4[1]) < 3 and abs(float(box.height) - A4[0]) < 3
    assert "Couverture des quartiers prioritaires" in text       # title
    assert "Couverture des QPV 2024" in text                     # legend
    assert "Sources" in text and "millésime" in text            # source and vintage
    assert "km" in text or " m\n" in text                       # scale
    assert "Données fictives de démonstration" in text
    assert "Indicateur de besoin" not in text                    # controls are not exported
    assert "Territoire : Tout le territoire chargé" in text       # the map names its territory (issue 12)


def test_map_pdf_names_its_territory(client):
    r = client.get("/export/pdf?url=" + quote("/inegalites?scope=departement:96&indicator=taux_pauvrete_60"))
    assert r.status_code == 200, r.get_data(as_text=True)
    _, text = pdf_text(r.data)
    assert "Territoire : Département — Hautes-Chimères (96)" in " ".join(text.split())


@pytest.mark.parametrize("url", ["http://evil.example/", "//evil.example/inegalites", "/\\evil.example",
                                 "javascript:alert(1)", "/inconnue", "/presentation", ""])
def test_export_routes_refuse_anything_but_pages_of_the_app(client, url):
    for route in ("/export/png", "/export/pdf"):
        r = client.get(f"{route}?url={quote(url)}")
        assert r.status_code == 400 and r.mimetype == "text/plain"
        assert "export" in r.get_data(as_text=True).lower() or "page" in r.get_data(as_text=True).lower()


def test_bad_chart_and_table_requests_are_refused(client):
    assert client.post("/export/chart.gif", json={"figure": {"data": []}}).status_code == 400
    assert client.post("/export/chart.png", data="pas du json", content_type="application/json").status_code == 400
    assert client.post("/export/table.csv", json={"columns": ["a"], "rows": [["1", "2"]]}).status_code == 400
    assert client.get("/export/portrait.pdf?level=qpv&code=QN00000X").status_code == 400
    assert client.get("/export/portrait.pdf?level=region&code=99").status_code == 400


def test_chart_exports_png_svg_pdf_in_french(client):
    fig = {"data": [{"type": "bar", "orientation": "h", "x": [12345.5, 678.25], "y": ["Prévention", "Santé mentale"],
                     "text": [12345.5, 678.25], "texttemplate": "%{x:,.1f}"}],
           "layout": {"height": 400}}
    body = {"figure": fig, "title": "Actions par axe", "source": "Source : actions importées (fictives), 2024",
            "filename": "actions"}
    png = client.post("/export/chart.png", json=body)
    assert png.status_code == 200, png.get_data(as_text=True)
    img = Image.open(io.BytesIO(png.data))
    img.load()
    assert img.size == (2000, 800)                              # 1000 x 400 at scale 2
    assert len(img.convert("RGB").getcolors(maxcolors=1 << 20)) > 10
    svg = client.post("/export/chart.svg", json=body)
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    root = ET.fromstring(svg.data)
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Actions par axe" in texts and "Source : actions importées" in texts
    assert "12 345,5" in texts.replace("\u202f", " ").replace("\xa0", " ")     # French separators
    pdf = client.post("/export/chart.pdf", json=body)
    assert pdf.status_code == 200
    reader, text = pdf_text(pdf.data)
    assert len(reader.pages) == 1 and "Actions par axe" in text and "Source" in text
    save("export-chart.png", png.data)


def test_fiche_button_downloads_the_portrait_and_a_chart(page):
    from data import access

    qpv = access.territories("qpv").iloc[0]
    page.goto(f"{page.base_url}/fiche?level=qpv&code={qpv.code}")
    wait_dash(page)
    # one PDF button (issue 12): the portrait de territoire
    assert page.locator(".controls a, .controls button").filter(has_text="PDF").count() == 1
    assert page.get_by_role("link", name="Fiche en PDF (portrait de territoire)").count() == 1
    # Another territory: the portrait link follows the choice.
    other = access.territories("qpv").iloc[1]
    page.locator("#fiche-code").click()
    page.locator(".dash-dropdown-option", has_text=f"({other.code})").first.click()
    page.wait_for_function(f"() => document.getElementById('fiche-portrait-link').href.includes('{other.code}')")
    with page.expect_download(timeout=90000) as dl:
        page.get_by_role("link", name="Fiche en PDF (portrait de territoire)").click()
    data = open(dl.value.path(), "rb").read()
    save("export-portrait.pdf", data)
    reader, text = pdf_text(data)
    assert len(reader.pages) >= 2
    for expected in (other["name"], "Portrait de territoire", "Déterminants de santé", "Actions de santé",
                     "Sources et millésimes", "Pour le diagnostic partagé"):
        assert expected.lower() in text.lower(), expected
    # issue 22: every column of the determinants' tables is on the page (none cut at the right margin)
    import subprocess

    layout = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                            check=True).stdout.decode("utf-8")
    for header in ("Indicateur", "Unité", "Année", "décrite", "Valeur", "IC 95 %", "Test /", "Situation /", "Source",
                   "Références (valeur et année décrite)", "Commune :", "Département", "Région", "France"):
        assert header in layout, header
    assert "n.d. habitants" not in layout

    # A chart of the fiche: SVG through the button, with its heading and source line.
    wait_dash(page)
    block = page.locator(".graph-block", has=page.locator("#fiche-evolution"))
    assert block.count() == 1
    with page.expect_download(timeout=90000) as dl:
        block.get_by_role("button", name="Exporter le graphique en SVG").click()
    root = ET.parse(dl.value.path()).getroot()
    texts = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Évolution" in texts and "Cercles vides" in texts       # heading and source line (its tspans)
    screenshot(page, "export-fiche-buttons")
    assert page.js_errors == []


def test_map_control_and_simple_table_buttons(page):
    from data import access

    v = access.values("taux_pauvrete_60", "qpv")
    code = v[v.status == "ok"].code.iloc[0]                      # a QPV with a value, hence a source line
    page.goto(f"{page.base_url}/inegalites?indicator=taux_pauvrete_60&qpv={code}")
    wait_dash(page)
    control = page.locator("#ineg-map .atlas-map-export")
    control.wait_for()
    assert control.get_by_role("button").count() == 2
    table = page.locator("#ineg-panel-table")
    exports = page.locator("#ineg-panel .simple-table-exports")
    exports.wait_for()
    with page.expect_download() as dl:
        exports.get_by_role("button", name="Télécharger CSV").click()
    head, rows = csv_table(open(dl.value.path(), encoding="utf-8-sig").read())
    shown = [[c.strip() for c in r] for r in table.evaluate(
        "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.textContent))")]
    assert rows == shown and len(rows) > 2
    # the file stands alone: title, territory, the panel's source line, the demo warning (issue 12)
    meta = dict(r[:2] for r in head if len(r) >= 2)
    assert meta["Titre"] and meta["Territoire"] == "Tout le territoire chargé"
    assert meta["Source"].startswith("Source : ") and "millésime" in meta["Source"]
    assert "fictives" in meta["Avertissement"] and meta["Page"].startswith("/inegalites")
    with page.expect_download(timeout=90000) as dl:
        control.get_by_role("button", name="Exporter la carte (titre, légende, échelle et source) en PDF A4").click()
    reader, text = pdf_text(open(dl.value.path(), "rb").read())
    assert len(reader.pages) == 1 and "Inégalités entre quartiers prioritaires" in text and "Source" in text
    screenshot(page, "export-map-control")
    assert page.js_errors == []


def test_every_table_of_every_page_has_csv_and_xlsx(app_module):
    import dash
    from dash import dash_table

    seen = 0
    for pg in dash.page_registry.values():
        layout = pg["layout"]() if callable(pg["layout"]) else pg["layout"]
        comps = list(layout._traverse()) if hasattr(layout, "_traverse") else []
        ids = [c.id for c in comps if getattr(c, "id", None) is not None]
        for t in (c for c in comps if isinstance(c, dash_table.DataTable)):
            assert isinstance(t.id, dict) and t.id.get("type") == "atlas-table", (pg["path"], t.id)
            name = t.id["table"]
            if t.page_action == "custom":      # paged on the server: links that export every row
                assert {"type": "table-link-csv", "table": name} in ids, (pg["path"], name)
                assert {"type": "table-link-xlsx", "table": name} in ids, (pg["path"], name)
            else:
                assert {"type": "table-export", "table": name} in ids, (pg["path"], name)
                assert {"type": "table-export-xlsx", "table": name} in ids, (pg["path"], name)
            seen += 1
    assert seen >= 5


def test_offline_bundle_opens_with_networking_disabled(browser, app_module, tmp_path):
    from publish.export_site import export_site

    info = export_site(tmp_path / "atlas", "epci:299996001", progress=lambda m: None)
    assert info["maps"] > 1 and info["fiches"] > 1
    ctx = browser.new_context(offline=True, viewport={"width": 1300, "height": 900}, locale="fr-FR")
    attempted: list[str] = []

    def block(route):
        if route.request.url.startswith("file:"):
            return route.continue_()
        attempted.append(route.request.url)
        return route.abort()

    ctx.route("**/*", block)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        pg.goto((tmp_path / "atlas" / "index.html").as_uri())
        assert "version hors ligne" in pg.locator("header").inner_text().lower()
        pg.get_by_role("link", name="Couverture des quartiers prioritaires par les Ateliers santé ville").click()
        pg.wait_for_selector("svg.atlas-svg-map path")
        paths = pg.locator("svg.atlas-svg-map path")
        assert paths.count() > 10
        assert pg.locator("svg.atlas-svg-map a path title").count() >= 1     # tooltip of each QPV
        assert "Couverture des QPV 2024" in pg.locator(".legend").inner_text()
        assert "Sources" in pg.locator(".source-line").inner_text()
        vb = pg.locator("svg.atlas-svg-map").get_attribute("viewBox")
        pg.get_by_role("button", name="Zoom +").click()
        assert pg.locator("svg.atlas-svg-map").get_attribute("viewBox") != vb
        pg.screenshot(path=str(SHOTS / "offline-map.png"), full_page=True)
        pg.get_by_role("button", name="Vue d'ensemble").click()
        name = pg.locator("svg.atlas-svg-map a path title").first.text_content().split(" (")[0]
        pg.locator("svg.atlas-svg-map a").first.click()
        pg.wait_for_selector("h1")
        assert pg.locator("h1").inner_text() == name
        assert pg.locator("svg.atlas-svg-map path").count() > 0          # the fiche's locator map
        pg.screenshot(path=str(SHOTS / "offline-fiche.png"), full_page=True)
    finally:
        ctx.close()
    assert attempted == [] and errors == []


def test_portrait_command_writes_the_pdf(demo_db, app_module, tmp_path, capsys):
    from data import access
    from etl.__main__ import main

    scheme = access.schemes("ASV").iloc[0]
    out = tmp_path / "portrait_asv.pdf"
    assert main(["--db", str(demo_db), "portrait", "--level", "asv", "--code", scheme.scheme_id,
                 "--out", str(out)]) == 0
    assert "Portrait écrit" in capsys.readouterr().out
    reader, text = pdf_text(out.read_bytes())
    assert len(reader.pages) >= 2
    w, h = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert abs(w - A4[0]) < 3 and abs(h - A4[1]) < 3
    for expected in (scheme["name"], "Déterminants de santé des quartiers", "Actions de santé", "Par public",
                     "Sources et millésimes"):
        assert expected.lower() in text.lower(), expected
    access.configure(demo_db)


def test_table_exports_carry_their_provenance(page):
    """Issue 12: a table's CSV and XLSX say where the figures come from, and that the demo is fictional."""
    import openpyxl

    page.goto(page.base_url + "/comparer")
    wait_dash(page)
    page.wait_for_selector("#compare-body td", timeout=15000)
    body = page.locator("#compare-body")
    with page.expect_download() as dl:
        body.get_by_role("button", name="Télécharger CSV").click()
    text = open(dl.value.path(), encoding="utf-8-sig").read()
    head = text.split("\n\n")[0] if "\n\n" in text else text.split("\r\n\r\n")[0]
    assert "Données fictives de démonstration" in head and "Sources;" in head and "Années décrites;" in head
    with page.expect_download() as dl:
        body.get_by_role("button", name="Télécharger XLSX").click()
    wb = openpyxl.load_workbook(io.BytesIO(open(dl.value.path(), "rb").read()))
    assert wb.sheetnames == ["Données", "Métadonnées"]
    meta = {r[0]: r[1] for r in wb["Métadonnées"].iter_rows(min_row=2, values_only=True)}
    assert "fictives" in meta["Avertissement"] and meta["Sources"]
    assert page.js_errors == []
