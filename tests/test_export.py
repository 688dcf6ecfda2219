"""Exports without a browser: URL checks, presentation decks, table round trips, chart
figures, SVG maps, the portrait document and the offline bundle (files, links, escaping),
on the demo DB with hostile names written into a copy."""
from __future__ import annotations

import base64
import io
import zipfile
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import shapely

from components import tables
from components.presentation import DECK_FORMAT, empty_deck, valid_slide_url, validate_deck
from publish import render, svgmap

HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_ACTION = '"><script>alert(2)</script>'


# --- URL checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://evil.example/", "https://127.0.0.1:8050/", "//evil.example/x",
                                 "/\\evil.example", "javascript:alert(1)", "inegalites", "", "/a\nb",
                                 "/" + "x" * 4000, None, 42])
def test_check_path_refuses_anything_but_a_relative_app_path(url):
    with pytest.raises(render.RenderError):
        render.check_path(url)


def test_check_path_and_with_param_keep_the_view():
    path = render.check_path("/inegalites?indicator=taux_pauvrete_60&scope=departement:96")
    out = render.with_param(path + "&export=1&present=1", "print", "1")
    assert out.startswith("/inegalites?")
    assert "indicator=taux_pauvrete_60" in out and "scope=departement%3A96" in out
    assert out.endswith("print=1") and "export" not in out and "present" not in out


# --- Presentation decks ---------------------------------------------------------------------------

PATHS = {"/", "/inegalites", "/couverture", "/fiche", "/presentation"}


def test_slide_urls_are_same_app_pages_only():
    assert valid_slide_url("/inegalites?indicator=x", PATHS)
    assert valid_slide_url("/fiche?level=qpv&code=QN09601M", PATHS)
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "javascript:alert(1)", "/inconnue",
                "/presentation", "/presentation?x=1", "/a\tb", 3):
        assert not valid_slide_url(bad, PATHS), bad


def test_validate_deck_cleans_and_rejects():
    deck = validate_deck({"format": DECK_FORMAT, "version": 1, "title": "Réunion " * 100,
                          "slides": [{"url": "/inegalites?k=5", "title": HOSTILE, "comment": "c" * 5000,
                                      "extra": "ignored"}]}, PATHS)
    assert len(deck["title"]) == 200 and deck["slides"][0]["title"] == HOSTILE   # shown as text by Dash
    assert len(deck["slides"][0]["comment"]) == 2000 and "extra" not in deck["slides"][0]
    with pytest.raises(ValueError, match="format"):
        validate_deck({"slides": []}, PATHS)
    with pytest.raises(ValueError, match="Vue 2 : adresse refusée"):
        validate_deck({"format": DECK_FORMAT, "slides": [{"url": "/"}, {"url": "https://evil.example/"}]}, PATHS)
    with pytest.raises(ValueError, match="trop longue"):
        validate_deck({"format": DECK_FORMAT, "slides": [{"url": "/"}] * 201}, PATHS)


def test_presentation_page_helpers(monkeypatch):
    import app  # noqa: F401  (the one Dash app of the process: registers the pages)
    from pages import presentation as pres

    monkeypatch.setattr(pres, "known_paths", lambda: PATHS)
    slides = [{"url": "/", "title": "A", "comment": ""}, {"url": "/fiche", "title": "B", "comment": ""},
              {"url": "/couverture", "title": "C", "comment": ""}]
    assert [s["title"] for s in pres.move(slides, "slide-up", 2)] == ["A", "C", "B"]
    assert [s["title"] for s in pres.move(slides, "slide-down", 0)] == ["B", "A", "C"]
    assert [s["title"] for s in pres.move(slides, "slide-del", 1)] == ["A", "C"]
    assert pres.move(slides, "slide-up", 0) == slides and pres.move(slides, "slide-del", 9) == slides
    deck = {**empty_deck(), "slides": slides}
    assert pres.edited(deck, ["A", "B", "C"], ["", "", ""], "Présentation") is None
    new = pres.edited(deck, ["A", "B2", "C"], ["", "vu", ""], "Réunion")
    assert new["title"] == "Réunion" and new["slides"][1] == {"url": "/fiche", "title": "B2", "comment": "vu"}
    raw = json.dumps({**deck, "title": "Conseil"}).encode()
    loaded = pres.parse_upload("data:application/json;base64," + base64.b64encode(raw).decode(), "d.json")
    assert loaded["title"] == "Conseil" and len(loaded["slides"]) == 3
    with pytest.raises(ValueError, match="JSON"):
        pres.parse_upload("data:application/json;base64," + base64.b64encode(b"{pas du json").decode(), "x.json")
    assert json.loads(pres.deck_json(deck))["slides"] == slides
    # nothing sent yet (the upload component rendered): no "Fichier non chargé" message (issue 12)
    from dash import no_update
    assert pres.load(None, None) == (no_update, no_update)
    assert pres.load("data:application/json;base64,", "v.json")[1].startswith("Fichier non chargé")


# --- Tables: CSV / XLSX round trips --------------------------------------------------------------

def test_csv_and_xlsx_round_trip_a_table_exactly_and_formula_safe():
    from openpyxl import load_workbook

    df = pd.DataFrame({"Quartier": ["Quartier des Licornes", HOSTILE, "=HYPERLINK(\"http://x\")", "+33 1", "-2"],
                       "Valeur": [12.5, 1234567.25, None, 0.0, -3.5],
                       "Statut": ["ok", "ok", "secret", "ok", "ok"]})
    back = pd.read_csv(io.BytesIO(tables.to_csv_bytes(df)), sep=";", decimal=",", encoding="utf-8-sig",
                       dtype={"Quartier": str, "Statut": str})
    expected = tables.export_frame(df)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back.Quartier[2] == "'=HYPERLINK(\"http://x\")" and back.Quartier[1] == HOSTILE
    assert pd.isna(back.Valeur[2])                          # secret stays empty, never 0

    wb = load_workbook(io.BytesIO(tables.to_xlsx_bytes(df)))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == ["Quartier", "Valeur", "Statut"]
    got = pd.DataFrame(rows[1:], columns=rows[0])
    # XLSX cells are typed: the table comes back exactly (no apostrophe), text stays text
    pd.testing.assert_frame_equal(got, df, check_dtype=False)
    for row in ws.iter_rows(min_row=2):
        assert row[0].data_type == "s"                      # text, never a formula
    with zipfile.ZipFile(io.BytesIO(tables.to_xlsx_bytes(df))) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet and "HYPERLINK" in sheet


def test_simple_table_export_frame():
    from components.export import table_frame

    df = table_frame({"columns": ["Référence", "Valeur"], "rows": [["Commune — Bourg-Fictif", "19,9 %"],
                                                                    [HOSTILE, "secret"]]})
    assert list(df.columns) == ["Référence", "Valeur"] and df.iloc[1, 0] == HOSTILE
    back = pd.read_csv(io.BytesIO(tables.to_csv_bytes(df)), sep=";", encoding="utf-8-sig", dtype=str)
    pd.testing.assert_frame_equal(back, df)
    for bad in ({"columns": ["a"], "rows": [["x", "y"]]}, {"columns": "a", "rows": []}, {"rows": []}):
        with pytest.raises(render.RenderError):
            table_frame(bad)


# --- Charts ---------------------------------------------------------------------------------------

def test_chart_figure_gets_title_source_and_french_separators_escaped():
    from components.export import figure_for_export

    fig = figure_for_export({"data": [{"type": "bar", "x": [1234.5], "y": ["a"], "orientation": "h",
                                       "notAProperty": 1}], "layout": {"height": 300}},
                            title=f"Actions {HOSTILE}", source="Source : fichier <b>fictif</b>")
    assert fig.layout.title.text == "Actions &lt;img src=x onerror=alert(1)&gt;"
    assert fig.layout.annotations[0].text.startswith("Source : fichier &lt;b&gt;fictif&lt;/b&gt;")   # escaped
    assert fig.layout.margin.b >= 60
    assert render.french_figure(fig).layout.separators == ", "
    with pytest.raises(render.RenderError):
        figure_for_export("not a figure")


# --- SVG maps -------------------------------------------------------------------------------------

def test_svg_map_is_valid_xml_escapes_and_draws_a_scale():
    sq = shapely.box(2.0, 45.0, 2.5, 45.3)
    hole = shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 1)], [[(0.2, 0.2), (0.4, 0.2), (0.4, 0.4)]])
    svg = svgmap.svg_map([svgmap.Layer([svgmap.Shape(sq, fill="#ff0000", title=HOSTILE, href="fiches/a b.html"),
                                        svgmap.Shape(shapely.MultiPolygon([hole]), fill="url(#pat-secret)")])],
                         width=400, title=f"Carte {HOSTILE}")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    paths = root.findall(f".//{ns}path")
    assert len(paths) >= 3
    assert root.find(f"{ns}title").text == f"Carte {HOSTILE}"    # parsed back: it was escaped
    assert "<img" not in svg
    assert any(p.get("fill") == "#ff0000" for p in paths)
    assert root.find(f".//{ns}g[@class='scale-bar']") is not None
    assert svgmap.nice_length(37000) == 20000 and svgmap.nice_length(900) == 500
    assert svgmap.length_label(2500) == "2,5 km"
    # Geographic orientation: north is up, east is right.
    proj = svgmap.Projection((2.0, 45.0, 2.5, 45.3), 400)
    (x0, y0), (x1, y1) = proj.xy(2.0, 45.0), proj.xy(2.5, 45.3)
    assert x1 > x0 and y1 < y0
    legend = svgmap.legend_html([("#ff0000", HOSTILE, "3 QPV"), ("missing", "Pas de donnée", "1 QPV")], "Titre")
    assert "<img" not in legend and "&lt;img" in legend


# --- Portrait and offline bundle on the demo DB (with hostile names) ------------------------------------

@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    import duckdb

    from data import access
    from etl.build import build
    from etl.config import DEMO_DIR

    db = tmp_path_factory.mktemp("export") / "demo.duckdb"
    build(DEMO_DIR, db, fictional=True, kind="build-demo", progress=lambda *_: None)
    con = duckdb.connect(str(db))
    qpv = con.execute("SELECT code FROM territory WHERE level = 'qpv' AND generation = '2024' "
                      "AND departement = '96' ORDER BY code LIMIT 1").fetchone()[0]
    asv = con.execute("SELECT scheme_id FROM scheme WHERE kind = 'ASV' ORDER BY scheme_id LIMIT 1").fetchone()[0]
    con.execute("UPDATE territory SET name = ? WHERE level = 'qpv' AND code = ?", [HOSTILE, qpv])
    con.execute("UPDATE scheme SET porteur = ? WHERE scheme_id = ?", [HOSTILE, asv])
    con.execute("UPDATE action SET title = ? WHERE action_id = (SELECT min(action_id) FROM action "
                "WHERE qpv_code IS NOT NULL)", [HOSTILE_ACTION])
    con.close()
    previous = access.db_path()
    access.configure(db)
    yield {"db": db, "qpv": qpv, "asv": asv}
    access.configure(previous)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_portrait_documents(hostile_db):
    from data import access
    from publish import portrait

    qpv = hostile_db["qpv"]
    t = access.territory("qpv", qpv)
    docs = {"qpv": portrait.portrait_html("qpv", qpv), "commune": portrait.portrait_html("commune", t["commune"]),
            "epci": portrait.portrait_html("epci", t["epci"]), "asv": portrait.portrait_html("asv", hostile_db["asv"])}
    for level, doc in docs.items():
        assert "<img src=x" not in doc and "<script>alert" not in doc, level
        assert "<script" not in doc                                  # no script at all in the portrait
        text = _text(doc)
        for heading in ("Actions de santé", "Pour le diagnostic partagé", "Sources et millésimes"):
            assert heading in text, (level, heading)
        assert "Données fictives de démonstration" in text
        ET.fromstring(re.search(r"<svg.*?</svg>", doc, re.S).group(0))     # the locator map parses
    assert "&lt;img src=x onerror=alert(1)&gt;" in docs["qpv"]          # the hostile name, escaped
    assert "Déterminants de santé et références" in _text(docs["qpv"])
    assert "Couverture par les dispositifs" in _text(docs["qpv"])
    assert "Territoire couvert" in _text(docs["asv"])
    # A secret value is written "secret", never 0.
    secret = access.latest_values([("qpv", c) for c in access.territories("qpv").code])
    secret = secret[secret.status == "secret"]
    if len(secret):
        code = secret.iloc[0].code
        assert "secret" in _text(portrait.portrait_html("qpv", code))
    with pytest.raises(portrait.PortraitError, match="inconnu"):
        portrait.portrait_html("qpv", "QN00000X")
    with pytest.raises(portrait.PortraitError, match="Niveau inconnu"):
        portrait.portrait_html("region", "99")


def test_situation_words():
    from publish.portrait import situation

    assert situation(47.7, 17.8, True) == "plus défavorable"
    assert situation(13510, 20970, False) == "plus défavorable"
    assert situation(2.9, 3.3, True) == "plus favorable"
    assert situation(10.2, 10.0, True) == "proche"
    assert situation(5.0, 2.0, None) == "plus élevé"          # no direction: no judgement
    assert situation(None, 2.0, True) == "—" and situation(1.0, 0, True) == "—"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.resources = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("script", "img", "iframe") and a.get("src") or tag == "link" and a.get("href"):
            self.resources.append(a.get("src") or a.get("href"))


def test_export_site_cli_writes_a_self_contained_bundle(hostile_db, tmp_path, capsys):
    from etl.__main__ import main

    dest = tmp_path / "atlas"
    dest.mkdir()                                   # a previous bundle: replaced
    for name in ("index.html", "LISEZMOI.txt", "ancienne.html"):
        (dest / name).write_text("ancien")
    assert main(["--db", str(hostile_db["db"]), "export-site", str(dest), "--scope", "departement:96"]) == 0
    assert "cartes" in capsys.readouterr().out
    assert not (dest / "ancienne.html").exists()
    files = sorted(dest.rglob("*.html"))
    assert (dest / "index.html").exists() and (dest / "LISEZMOI.txt").exists()
    assert (dest / "cartes" / "couverture-asv.html").exists()
    assert (dest / "fiches" / f"qpv-{hostile_db['qpv']}.html").exists()
    for f in files:
        html = f.read_text(encoding="utf-8")
        assert "<img src=x" not in html and "<script>alert" not in html, f
        p = _Links()
        p.feed(html)
        assert p.resources == [], (f, p.resources)           # nothing loaded from anywhere
        for href in p.links:
            assert not re.match(r"^[a-z]+:", href), (f, href)  # no http:, no javascript:
            target = (f.parent / href.split("#")[0]).resolve()
            assert target.exists(), (f, href)                   # every link leads to a file of the bundle
    cov = (dest / "cartes" / "couverture-asv.html").read_text(encoding="utf-8")
    root = ET.fromstring(re.search(r"<svg.*?</svg>", cov, re.S).group(0))
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10
    assert "Sources" in _text(cov) and "millésime" in _text(cov)
    # A foreign non-empty folder is refused and left as it was.
    other = tmp_path / "autre"
    other.mkdir()
    (other / "notes.txt").write_text("à garder")
    assert main(["--db", str(hostile_db["db"]), "export-site", str(other)]) == 2
    assert (other / "notes.txt").read_text() == "à garder"
    assert main(["--db", str(hostile_db["db"]), "export-site", str(tmp_path / "x"), "--scope", "region:00"]) == 2


def test_offline_site_gives_colliding_scheme_ids_their_own_files(hostile_db, tmp_path):
    """Issue 21, item 4: "A/B" and "A_B" (and "ab" / "AB" on a file system that ignores case) each
    get their own fiche; the count printed is the count of files; the index links each one."""
    import shutil

    from data import access
    from etl.importer import apply
    from publish.export_site import export_site, fiche_file
    from tests.importer_support import csv_bytes, scheme_row

    db = tmp_path / "atlas.duckdb"
    shutil.copyfile(hostile_db["db"], db)
    ids = ["ASV/COLL", "ASV_COLL", "asv-coll", "ASV-COLL"]
    rep = apply(csv_bytes([scheme_row(id_dispositif=i, nom=f"Atelier {i}") for i in ids]), "schemes", db=db,
                filename="collisions.csv", offline=True)
    assert rep.applied, rep.summary()
    names = [fiche_file("asv", i) for i in ids]
    assert len({n.lower() for n in names}) == 4 and fiche_file("asv", "ASV_COLL") == "asv-ASV_COLL.html"
    previous = access.db_path()
    access.configure(db)
    try:
        said = []
        out = export_site(tmp_path / "site", "departement:96", progress=said.append)
    finally:
        access.configure(previous)
    files = sorted((tmp_path / "site" / "fiches").iterdir())
    assert out["fiches"] == len(files) and f"{len(files)} fiches écrites" in said
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    for i, name in zip(ids, names):
        assert (tmp_path / "site" / "fiches" / name).is_file(), name
        assert f"Atelier {i}" in (tmp_path / "site" / "fiches" / name).read_text(encoding="utf-8")
        assert f"fiches/{name}" in index


def test_portrait_cli_html_and_errors(hostile_db, tmp_path, capsys):
    from etl.__main__ import main

    out = tmp_path / "portrait.html"
    assert main(["--db", str(hostile_db["db"]), "portrait", "--level", "qpv", "--code", hostile_db["qpv"],
                 "--out", str(out), "--html"]) == 0
    assert "Portrait de territoire" in out.read_text(encoding="utf-8")
    assert main(["--db", str(hostile_db["db"]), "portrait", "--level", "qpv", "--code", "QN00000X",
                 "--out", str(tmp_path / "x.pdf")]) == 2
    assert "inconnu" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()
    assert main(["--db", str(tmp_path / "absente.duckdb"), "portrait", "--level", "qpv", "--code", "X",
                 "--out", str(tmp_path / "y.pdf")]) == 2


def test_path_helpers():
    from components.export import dated_name, slug

    assert slug("Inégalités / QPV <b>") == "inegalites_qpv_b"
    assert re.fullmatch(r"atlas_fiche_\d{4}-\d{2}-\d{2}\.pdf", dated_name("fiche", "pdf"))
    assert Path(dated_name("../../etc", "png")).name == dated_name("../../etc", "png")


def test_renderer_queue_is_bounded_and_waits_are_bounded(monkeypatch):
    """No browser: the renderer thread is not started, so queued jobs never run."""
    r = render.Renderer(None, timeout=0.05, max_pending=1)
    r.grace = 0
    monkeypatch.setattr(r, "_ensure_thread", lambda: None)
    with pytest.raises(render.RenderTimeout, match="trop de temps"):
        r.run(lambda browser: 1)          # queued, nobody runs it: the caller gives up in time
    with pytest.raises(render.RenderBusy, match="Trop d'exports"):
        r.run(lambda browser: 1)          # the queue (1 place) is still taken by the abandoned job
    with pytest.raises(render.RenderError, match="aucune application"):
        r.base_url()


def test_get_renderer_is_one_per_process():
    a = render.get_renderer()
    assert render.get_renderer() is a


def test_chart_export_is_bounded_and_leaves_no_browser_behind(monkeypatch):
    """A chart export runs kaleido in a child process: past the deadline the child and its
    Chromium are killed and the user reads why (kaleido's shared server once waited forever at
    load 16, and every later export with it)."""
    import os
    import subprocess

    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=["a", "b"], y=[1234.5, 2000]))
    started = []
    real = subprocess.Popen

    def spy(*a, **kw):
        p = real(*a, **kw)
        started.append(p)
        return p
    monkeypatch.setattr(subprocess, "Popen", spy)
    monkeypatch.setattr(render, "CHART_DEADLINE_S", 0.2)
    with pytest.raises(render.RenderError, match="dépassé le délai"):
        render.chart_bytes(fig, "png")
    assert started and started[0].returncode is not None              # reaped
    with pytest.raises(ProcessLookupError):
        os.killpg(started[0].pid, 0)                                  # its whole group is gone
    with pytest.raises(render.RenderError, match="Format de graphique inconnu"):
        render.chart_bytes(fig, "eps")
