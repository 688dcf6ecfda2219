"""Real data told truthfully (issue 11), on fictional fixtures in the official layouts: two years on
every value (the year described, the diffusion vintage), identical successive vintages detected and
shown once, cautious perimeters, no invented vintage, notes telling unavailable from secret, the
official D9/D1, the "Ensemble" row loaded as the all-QPV reference."""
from __future__ import annotations

import pytest

from data.provenance import short_source, source_text, vintage_text, year_text
from etl.loaders import correspondence, filosofi, onpv, qpv_contours, territories
from tests.test_loaders_indicators import add_territory, demo, issues, seed_qpv, write_csv


def test_year_text_never_shows_a_vintage_as_the_year_described():
    assert year_text(2019, 2019) == "2019"
    assert year_text(2022, None) == "millésime de diffusion 2022"
    assert year_text(2022, 2020) == "2020, millésime de diffusion 2022"
    assert year_text(2019, None, 2017) == "millésime de diffusion 2017, repris à l'identique dans le millésime 2019"
    assert year_text(2019, None, 2017, short=True) == "millésime de diffusion 2017"
    assert year_text(None) == "n.d." and year_text(float("nan"), 2019) == "n.d."
    assert vintage_text(None) == "millésime inconnu" and vintage_text("") == "millésime inconnu"
    assert vintage_text("2024") == "millésime 2024"
    assert short_source("INSEE", None) == "INSEE, millésime inconnu"
    assert source_text("Contours", "ANCT", None, "QPV2024") == "Contours (ANCT), millésime inconnu, géographie QPV2024"
    # a vintage the title already gives is not written twice; another one is
    assert source_text("REVN, millésime de diffusion 2022 (…)", "ONPV", 2022) == "REVN, millésime de diffusion 2022 (…) (ONPV)"
    assert source_text("REVN, millésime de diffusion 2021", "ONPV", 2022) == \
        "REVN, millésime de diffusion 2021 (ONPV), millésime 2022"
    assert source_text("Filosofi 2019", "INSEE", 2019) == "Filosofi 2019 (INSEE), millésime 2019"


def test_source_line_says_years_described_and_never_a_vintage_as_one():
    from components.inegalites_view import years_text
    rows = lambda periods, labels: (periods, labels)  # noqa: E731
    assert years_text(*rows([2019, 2018, 2019], ["2019", "2018", "2019"])) == ", année(s) décrite(s) : 2018, 2019."
    undated = -10000 + 2022        # data/provenance: a vintage without a declared year described
    assert years_text(*rows([undated], ["millésime de diffusion 2022"])) == \
        ", année décrite non déclarée par la source."
    assert years_text(*rows([2019, undated], ["2019", "millésime de diffusion 2022"])) == \
        ", année(s) décrite(s) : 2019 ; pour une partie des valeurs, année décrite non déclarée par la source."
    assert years_text(*rows([], [])) == "."


def test_identical_successive_vintages_are_marked_and_reported(ctx, tmp_path):
    con = ctx.con
    seed_qpv(con)
    pops = {"QP096001": "6 490", "QP096002": "3 100"}
    files = [demo(tmp_path, 2017, pops), demo(tmp_path, 2018, pops), demo(tmp_path, 2019, pops),
             demo(tmp_path, 2021, {"QP096001": "6 200", "QP096002": "3 000"})]
    onpv.load(ctx, files)
    same = dict(con.execute("SELECT DISTINCT year, same_as FROM indicator_value "
                            "WHERE indicator_id = 'population'").fetchall())
    assert same == {2017: None, 2018: 2017, 2019: 2017, 2021: None}
    rep = [i for i in issues(ctx, "warning") if i.field == "population"]
    assert sorted((i.file, i.value) for i in rep) == [("DEMO_2018.csv", "2018"), ("DEMO_2019.csv", "2019")]
    assert "identique au millésime 2017 pour les 2 QPV" in rep[0].reason
    # the year described is not declared for ONPV tables: unknown, never the file's year
    assert con.execute("SELECT count(*) FROM indicator_value WHERE ref_year IS NOT NULL").fetchone()[0] == 0
    onpv.finalize(ctx)        # carried to the 2024 QPVs with both years
    assert con.execute("SELECT year, same_as FROM indicator_value WHERE code = 'QN09601I' "
                       "AND indicator_id = 'population' ORDER BY year").fetchall() == \
        [(2017, None), (2018, 2017), (2019, 2017), (2021, None)]


def test_one_differing_qpv_means_a_new_figure(ctx, tmp_path):
    seed_qpv(ctx.con)
    onpv.load(ctx, [demo(tmp_path, 2017, {"QP096001": "6 490", "QP096002": "3 100"}),
                    demo(tmp_path, 2018, {"QP096001": "6 490", "QP096002": "3 101"})])
    assert ctx.con.execute("SELECT count(*) FROM indicator_value WHERE indicator_id = 'population' "
                           "AND same_as IS NOT NULL").fetchone()[0] == 0


REVN_HEADER = ["CODGEO", "LIBGEO", "DISP_Q2", "TP60", "DISP_D1", "DISP_D9", "DISP_D1D9", "PACT", "PPSOC",
               "NOTE_FILO", "C", "C_C2SNP", "C_C2SP", "NOTE_CNAM", "A", "ARSAS", "NOTE_CNAF"]


def test_notes_tell_unavailable_from_secret_and_official_d9_d1_is_used(ctx, tmp_path):
    con = ctx.con
    seed_qpv(con)
    rows = [
        ["Ensemble", "Ensemble des QPV", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        # TP60 empty with NOTE_FILO 0: a secret; CNAM cells empty with NOTE_CNAM 5: not available
        ["QP096001", "Quartier des Licornes", "16 490", "", "8 570", "23 910", "2,8", "55,7", "31,2", "0",
         "", "", "", "5", "2 068", "720", "0"],
    ]
    onpv.load(ctx, [write_csv(tmp_path, "REVN_2022.csv", REVN_HEADER, rows)])
    got = dict(((i, (v, s)) for i, v, s in con.execute(
        "SELECT indicator_id, value, status FROM indicator_value WHERE code = 'QP096001'").fetchall()))
    assert got["taux_pauvrete_60"] == (None, "secret")
    assert got["part_c2s"] == (None, "missing")
    assert got["rapport_interdecile"] == (2.8, "ok")            # the file's ratio, not 23 910 / 8 570 = 2.79
    # the all-QPV row is the "Ensemble des QPV" reference: what it leaves empty is unpublished, not secret
    assert not [i for i in issues(ctx, "out_of_scope") if i.value == "Ensemble"]
    assert {s for (s,) in con.execute("SELECT DISTINCT status FROM indicator_value WHERE level = 'ensemble_qpv'"
                                      ).fetchall()} == {"missing"}


def test_filosofi_values_carry_the_documented_year(ctx, tmp_path):
    add_territory(ctx.con, "commune", "96001", "Bourg-Fictif")
    path = write_csv(tmp_path, "FILO2019_DISP_COM.csv", ["CODGEO", "LIBGEO", "Q219"],
                     [["96001", "Bourg-Fictif", "21 000"]])
    filosofi.load(ctx, [path])
    assert ctx.con.execute("SELECT year, ref_year FROM indicator_value").fetchall() == [(2019, 2019)]


def test_a_status_contradicting_the_code_letter_is_not_unchanged(ctx, tmp_path):
    con = ctx.con
    add_territory(con, "qpv", "QN09611M", "Centre Ancien Fictif", "2024", "99", "96")
    add_territory(con, "qpv", "QN09612I", "Quartier Stable", "2024", "99", "96")
    path = write_csv(tmp_path, "liste-correspondance-qp2024-qp2015.csv",
                     ["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1"],
                     [["QN09611M", "Centre Ancien Fictif", "INCHANGE", "QP096011", "Centre Ancien"],
                      ["QN09612I", "Quartier Stable", "INCHANGE", "QP096012", "Quartier Stable"]], trailing=0)
    correspondence.load(ctx, [path])
    onpv.load(ctx, [demo(tmp_path, 2021, {"QP096011": "2 000", "QP096012": "1 500"})])
    onpv.finalize(ctx)
    per = dict(con.execute("SELECT code, any_value(perimeter) FROM indicator_value WHERE code LIKE 'QN%' "
                           "GROUP BY code").fetchall())
    assert per == {"QN09611M": "perimetre_2015", "QN09612I": "exact"}
    pop = dict(con.execute("SELECT code, population FROM territory WHERE code LIKE 'QN%'").fetchall())
    assert pop == {"QN09611M": None, "QN09612I": 1500}        # a 2015 figure is not the 2024 perimeter's
    assert any(i.value == "QN09611M" and "par prudence" in i.reason for i in issues(ctx, "warning"))


def test_reference_file_without_year_has_an_unknown_vintage(ctx, tmp_path):
    path = write_csv(tmp_path, "epci_noms.csv", ["CODE_SIREN", "NOM"], [["299999001", "CC Fictive"]], trailing=0)
    vintage, words, geography = territories._vintage(ctx, path)
    assert vintage is None and words == "(millésime inconnu)" and geography == "COG millésime inconnu"
    assert any("millésime inconnu" in i.reason for i in issues(ctx, "warning"))
    assert territories._year(tmp_path / "COMMUNE_2023.shp") == "2023"


@pytest.fixture(scope="module")
def demo_pages(demo_db_module):
    import app  # noqa: F401
    from data import access

    access.configure(demo_db_module)
    return access


def test_fiche_shows_years_described_and_france_metropolitaine(demo_pages):
    from components.portrait import determinants_frame

    det, _ = determinants_frame("qpv", "QN09601M")
    assert "Année décrite" in det.columns and "Année" not in det.columns
    assert "France métropolitaine" in det.columns and "France" not in det.columns
    assert any(c.startswith("Commune : ") for c in det.columns)
    by_ind = det.set_index("indicator_id")
    # the demo's Filosofi-on-QPV file dates its figures (2019, from its column names), and REVN_2022's
    # income columns repeat them: kept once, attributed to the Filosofi file
    assert by_ind.loc["taux_pauvrete_60", "Année décrite"] == "2019"
    assert by_ind.loc["taux_pauvrete_60", "Source"].startswith("Filosofi 2019, ")
    # ONPV columns no file dates keep their diffusion vintage
    assert by_ind.loc["part_c2s", "Année décrite"] == "millésime de diffusion 2022"
    # references come from Filosofi 2019, which describes 2019 (declared in etl/catalogue.toml)
    assert by_ind.loc["revenu_median_uc", "France métropolitaine"].endswith("(2019)")
    assert by_ind.loc["taux_pauvrete_60", "Ensemble des QPV 2015 (France)"].endswith("(2019)")


def test_reference_commune_is_the_one_holding_most_of_the_qpv(ctx, tmp_path):
    from shapely.geometry import box

    from tests.test_loaders_geo import QPV_GEOMS, QPV_PROPS, X0, Y0, q, run, write_qpv2024, write_reference

    write_reference(tmp_path)
    # listed "96001, 96002" but a quarter in 96001 and three quarters in 96002
    geoms = [box(X0 + 0.09, Y0 + 0.02, X0 + 0.13, Y0 + 0.05)] + QPV_GEOMS[1:]
    write_qpv2024(tmp_path, QPV_PROPS, geoms)
    run(ctx, tmp_path, ["territories", "qpv_contours"])
    qpv_contours.finalize(ctx)
    assert q(ctx, "SELECT commune FROM territory WHERE code = 'QN09601M'") == [("96002",)]
    shares = dict(q(ctx, "SELECT commune_code, round(area_share, 2) FROM qpv_commune WHERE qpv_code = 'QN09601M'"))
    assert shares == {"96001": 0.25, "96002": 0.75}
    assert q(ctx, "SELECT area_share FROM qpv_commune WHERE qpv_code = 'QN09602N'") == [(1.0,)]
    rep = [i for i in issues(ctx, "warning") if i.value == "QN09601M" and i.field == "commune"]
    assert len(rep) == 1 and "Val-des-Licornes" in rep[0].reason and "et non 96001" in rep[0].reason


def test_screens_say_which_commune_a_qpv_is_compared_with(demo_pages, monkeypatch):
    access = demo_pages
    monkeypatch.setattr(access, "reference_commune", lambda code: {"code": "96001", "name": "Bourg-Fictif",
                                                                   "share": 0.724, "n_communes": 2})
    assert access.reference_commune_text("QN09601M") == \
        "Quartier sur 2 communes, comparé à Bourg-Fictif, qui contient 72 % du quartier"
    monkeypatch.setattr(access, "reference_commune", lambda code: {"code": "96001", "name": "Bourg-Fictif",
                                                                   "share": None, "n_communes": 3})
    assert "part de surface inconnue" in access.reference_commune_text("QN09601M")
    monkeypatch.undo()
    from components.portrait import territory_portrait

    multi = access.qpv_communes().groupby("qpv_code").size()
    multi = [c for c, n in multi.items() if n > 1]
    if multi:
        text = str(territory_portrait("qpv", multi[0]))
        assert "fiche-reference-commune" in text and "du quartier" in text


def test_fiche_page_and_pdf_portrait_render_one_computation(demo_pages):
    """Issue 12: the Fiche page and the PDF portrait show the same rows, values, years and
    references, from data.views.portrait.determinants."""
    from components.portrait import determinants_frame
    from publish import portrait

    code = "QN09601M"
    page, _ = determinants_frame("qpv", code)
    assert len(page) > 5
    pdf, _, _ = portrait.determinants("qpv", code)
    shared = [c for c in pdf.columns]
    assert set(shared) <= set(page.columns) and "Situation / départ." in shared
    assert page[shared].equals(pdf[shared])
    html = portrait.portrait_html("qpv", code)
    for v in pdf["Valeur"]:
        assert v.replace("\u202f", "&#8239;") in html or v in html
