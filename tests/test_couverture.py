"""Couverture ASV: coverage categories, ranking by need (secret/missing last), scheme fiche,
URL state and the callbacks, on a small fictional DB written by the test."""
from __future__ import annotations

import contextvars

import pandas as pd
import pytest

from data import analysis
from etl.build import create_schema, load_reference_tables
from etl.db import connect

HOSTILE = "<img src=x onerror=alert(1)>"


def _square(x: float, y: float, size: float = 0.01) -> str:
    return f"POLYGON(({x} {y}, {x + size} {y}, {x + size} {y + size}, {x} {y + size}, {x} {y}))"


def make_db(path, schemes_cover=(("departement", "96"),)) -> None:
    """A fictional territory: 3 communes, 5 QPVs 2024, an ASV, a CLS given by commune only,
    a CLSM, a CPTS with its own shape, a hostile scheme name, actions and GP zoning. The scheme
    registry is complete on `schemes_cover` (elsewhere a QPV's coverage is unknown)."""
    con = connect(path, spatial=True)
    create_schema(con)
    load_reference_tables(con)
    con.execute("INSERT INTO meta VALUES ('fictional', 'true'), ('built_at', '2024-11-25T00:00:00')")
    con.execute("""INSERT INTO source (source_id, title, publisher, url, licence, vintage, geography, file_name,
                                       sha256, retrieved_at, fictional) VALUES
        ('src_geo', 'Contours fictifs', 'Atlas test', NULL, NULL, '2024', 'QPV2024', 'qpv.geojson', NULL, NULL, TRUE),
        ('src_ind', 'Indicateurs fictifs', 'ONPV fictif', NULL, NULL, '2021', 'QPV2024', 'REVN.csv', NULL, NULL, TRUE),
        ('src_zon', 'Zonage fictif', 'ARS fictive', NULL, NULL, '2025', 'QPV2024', 'zonage.json', NULL, NULL, TRUE),
        ('src_sch', 'Registre fictif des dispositifs', 'Atlas test', NULL, NULL, '2024', NULL, 'dispositifs.csv',
         NULL, NULL, TRUE)""")
    terr = [
        ("region", "99", "Région Fictive", None, None, None, 1000, 0.0, 0.0, 1.0),
        ("departement", "96", "Département Imaginaire", "99", None, None, 1000, 0.0, 0.0, 1.0),
        ("commune", "96001", "Bourg-Fictif", "99", "96", None, 500, 0.0, 0.0, 0.1),
        ("commune", "96002", "Ville-des-Licornes", "99", "96", None, 300, 0.2, 0.0, 0.1),
        ("commune", "96003", "Val-Imaginaire", "99", "96", None, 200, 0.4, 0.0, 0.1),
        ("qpv", "QN09601M", "Quartier des Licornes", "99", "96", "96001", 100, 0.01, 0.01, 0.01),
        ("qpv", "QN09602N", "Cité des Chimères", "99", "96", "96002", 90, 0.21, 0.01, 0.01),
        ("qpv", "QN09603I", "Les Hauts-Fictifs", "99", "96", "96003", 80, 0.41, 0.01, 0.01),
        ("qpv", "QN09604C", "Quartier du Secret", "99", "96", "96003", 70, 0.43, 0.01, 0.01),
        ("qpv", "QN09605M", "Quartier Sans-Donnée", "99", "96", "96003", None, 0.45, 0.01, 0.01),
    ]
    for level, code, name, reg, dep, com, pop, x, y, size in terr:
        gen = "2024" if level == "qpv" else "COG2024"
        wkt = _square(x, y, size)
        con.execute("INSERT INTO territory VALUES (?,?,?,?,?,?,NULL,?,?,ST_GeomFromText(?),ST_GeomFromText(?),"
                    "'src_geo')", [level, code, name, gen, reg, dep, com, pop, wkt, wkt])
        if level == "qpv":
            con.execute("INSERT INTO qpv_commune (qpv_code, commune_code) VALUES (?, ?)", [code, com])
    schemes = [
        ("ASV1", "ASV", "ASV de Bourg-Fictif", "Ville de Bourg-Fictif", 2008, "actif", "https://bourg.example/asv"),
        ("CLS1", "CLS", "CLS de Ville-des-Licornes", "Ville-des-Licornes", 2015, "actif", "javascript:alert(1)"),
        ("CLSM1", "CLSM", "CLSM du Val", "Collectif du Val", 2019, "actif", None),
        ("CPTS1", "CPTS", HOSTILE, HOSTILE, None, None, None),
    ]
    for sid, kind, name, porteur, year, status, url in schemes:
        con.execute("INSERT INTO scheme VALUES (?,?,?,?,?,?,?,NULL,NULL,'src_sch',NULL)",
                    [sid, kind, name, porteur, year, status, url])
    # Own shape for the CPTS; the others get the union of what they cover, as the importer does.
    for sid, (x, y, size) in {"CPTS1": (0.0, 0.0, 0.6), "ASV1": (0.01, 0.01, 0.01), "CLS1": (0.0, 0.0, 0.3),
                              "CLSM1": (0.4, 0.0, 0.1)}.items():
        con.execute("UPDATE scheme SET geom = ST_GeomFromText(?), geom_display = ST_GeomFromText(?) "
                    "WHERE scheme_id = ?", [_square(x, y, size), _square(x, y, size), sid])
    con.executemany("INSERT INTO scheme_territory VALUES (?,?,?)", [
        ("ASV1", "qpv", "QN09601M"),          # ASV: the QPV directly
        ("CLS1", "commune", "96002"),         # CLS: only the commune -> its QPV covered through it
        ("CLS1", "commune", "96001"),         # also Bourg-Fictif (QPV already under an ASV)
        ("CLSM1", "commune", "96003"),        # CLSM alone does not count as ASV/CLS coverage
        ("CPTS1", "commune", "96003"),
    ])
    vals = [  # taux_pauvrete_60: high is bad; revenu_median_uc: high is good
        ("QN09601M", "taux_pauvrete_60", 2021, 45.0, "ok"),
        ("QN09602N", "taux_pauvrete_60", 2021, 35.0, "ok"),
        ("QN09603I", "taux_pauvrete_60", 2019, 41.0, "ok"),
        ("QN09603I", "taux_pauvrete_60", 2021, 50.0, "ok"),
        ("QN09604C", "taux_pauvrete_60", 2021, None, "secret"),
        ("QN09602N", "revenu_median_uc", 2021, 12000.0, "ok"),
        ("QN09603I", "revenu_median_uc", 2021, 15000.0, "ok"),
        ("QN09604C", "revenu_median_uc", 2021, 9000.0, "ok"),
        ("QN09602N", "population", 2021, 90.0, "ok"),
    ]
    for code, ind, year, value, status in vals:
        con.execute("INSERT INTO indicator_value (level, code, indicator_id, year, value, numerator, denominator, status, geography, perimeter, derived_from, source_id, period) VALUES ('qpv',?,?,?,?,NULL,NULL,?,'QPV2024','exact',NULL,"
                    "'src_ind',?)", [code, ind, year, value, status, year - 10000])
    con.executemany("INSERT INTO gp_zoning VALUES (?,?,'2025','src_zon')",
                    [("QN09602N", "ZIP"), ("QN09603I", "ZAC")])
    con.executemany("INSERT INTO action (action_id, title, year_start, qpv_code, commune_code, scheme_id) "
                    "VALUES (?,?,?,?,?,?)", [
                        ("A1", "Ateliers nutrition", 2023, "QN09601M", "96001", "ASV1"),
                        ("A2", "Dépistage bucco-dentaire", 2024, "QN09601M", "96001", "ASV1"),
                        ("A3", "Groupe de parole", 2024, "QN09601M", "96001", "ASV1"),
                    ])
    con.executemany("INSERT INTO action_theme VALUES (?,?)", [
        ("A1", "nutrition"), ("A2", "sante_bucco_dentaire"), ("A3", "sante_mentale")])
    con.executemany("INSERT INTO registry_coverage VALUES ('schemes', ?, ?, TRUE, 'src_sch', NULL)",
                    list(schemes_cover))
    con.execute("CHECKPOINT")
    con.close()


@pytest.fixture(scope="module")
def cov_db(tmp_path_factory):
    import app  # noqa: F401  (the one Dash app of the process; importing it configures $ATLAS_DB)
    from data import access

    path = tmp_path_factory.mktemp("cov") / "cov.duckdb"
    make_db(path)
    previous = access.db_path()
    access.configure(path)
    yield path
    access.configure(previous)


@pytest.fixture(scope="module")
def page(cov_db):
    from pages import couverture

    return couverture


# --- Pure functions (data/analysis.py) ----------------------------------------------------------

def test_coverage_category_handles_nulls_from_outer_joins():
    assert analysis.coverage_category(True, True, True) == "asv"
    assert analysis.coverage_category(True, None, True) == "asv"
    assert analysis.coverage_category(None, True, True) == "cls"
    assert analysis.coverage_category(False, True, True) == "cls"
    assert analysis.coverage_category(None, None, True) == "none"
    assert analysis.coverage_category(pd.NA, pd.NA, True) == "none"
    assert analysis.coverage_category(float("nan"), False, True) == "none"
    assert analysis.coverage_counts(["asv", "none", "none"]) == {"asv": 1, "cls": 0, "none": 2, "unknown": 0}


def test_rank_by_need_puts_secret_then_missing_last_in_both_directions():
    df = pd.DataFrame({"name": ["A", "B", "C", "D", "E", "F"],
                       "value": [10.0, None, 30.0, 20.0, None, None],
                       "status": ["ok", "secret", "ok", "ok", None, "ok"]})  # F: ok without value -> missing
    bad_high = analysis.rank_by_need(df, True)
    assert list(bad_high.name) == ["C", "D", "A", "B", "E", "F"]
    assert list(bad_high["rank"])[:3] == [1, 2, 3]
    assert all(pd.isna(r) for r in list(bad_high["rank"])[3:])
    assert list(bad_high.status) == ["ok", "ok", "ok", "secret", "missing", "missing"]
    good_high = analysis.rank_by_need(df, False)
    assert list(good_high.name) == ["A", "D", "C", "B", "E", "F"]
    neutral = analysis.rank_by_need(df, None)
    assert list(neutral.name)[:3] == ["C", "D", "A"]


def test_rank_by_need_breaks_ties_by_name():
    df = pd.DataFrame({"name": ["Zèbre", "Alpha"], "value": [5.0, 5.0], "status": ["ok", "ok"]})
    assert list(analysis.rank_by_need(df, True).name) == ["Alpha", "Zèbre"]


# --- Page functions on the fictional DB ----------------------------------------------------------

def test_coverage_categories_including_qpv_covered_only_through_its_commune_cls(page):
    cov = page.coverage_frame(None).set_index("code")
    assert cov.loc["QN09601M", "category"] == "asv"      # ASV lists the QPV (CLS too, ASV wins)
    assert cov.loc["QN09602N", "category"] == "cls"      # only the commune is listed by the CLS
    assert cov.loc["QN09603I", "category"] == "none"     # CLSM and CPTS do not count
    assert cov.loc["QN09605M", "category"] == "none"
    assert set(cov.loc["QN09603I", "scheme_ids"]) == {"CLSM1", "CPTS1"}
    assert cov.loc["QN09602N", "zone"] == "ZIP"
    tips = page.qpv_tooltips(cov.reset_index())
    assert tips["QN09602N"][0] == "CLS seulement (pas d'ASV)"
    assert "CLS : CLS de Ville-des-Licornes" in tips["QN09602N"]
    assert "Zonage ARS médecins : ZIP" in tips["QN09602N"]
    # the hostile name is passed as plain text (atlas.js escapes tooltip lines)
    assert f"CPTS : {HOSTILE}" in tips["QN09603I"]


def test_coverage_scoped_to_a_commune(page):
    cov = page.coverage_frame(("commune", "96003"))
    assert sorted(cov.code) == ["QN09603I", "QN09604C", "QN09605M"]
    sch = page.schemes_in_scope(("commune", "96003"), cov)
    assert sorted(sch.scheme_id) == ["CLSM1", "CPTS1"]
    legend_text = str(page.legends(cov, sch)[0])
    assert "3 QPV" in legend_text and "0 QPV" in legend_text
    assert "population connue pour 2 QPV sur 3" in legend_text      # QN09605M has no population


def test_ranking_without_asv_secret_and_missing_last(page):
    ranked = page.ranking_frame(None, "taux_pauvrete_60")
    assert list(ranked.code) == ["QN09603I", "QN09602N", "QN09604C", "QN09605M"]
    assert "QN09601M" not in set(ranked.code)            # covered by an ASV
    assert list(ranked.status) == ["ok", "ok", "secret", "missing"]
    assert ranked.value.iloc[0] == 50.0                   # latest year (2021), not 2019
    table = page.ranking_table_frame(ranked)
    assert list(table.valeur) == [50.0, 35.0, "secret", "n.d."]
    assert list(table.rang) == [1, 2, "—", "—"]
    assert table.fiche.iloc[0] == "[Fiche](/fiche?level=qpv&code=QN09603I)"
    assert list(table.couverture) == ["Ni ASV ni CLS", "CLS seulement", "Ni ASV ni CLS", "Ni ASV ni CLS"]


def test_ranking_summary_for_empty_and_fully_covered_scopes(page):
    covered = str(page.ranking_block(("commune", "96001"), "taux_pauvrete_60"))
    assert "Tous les QPV de ce territoire sont couverts par un ASV." in covered
    empty = page.coverage_frame(("commune", "96099")).iloc[0:0]
    assert "Aucun quartier prioritaire" in str(page.ranking_block(("commune", "96099"), "taux_pauvrete_60", empty))


def test_ranking_changes_with_the_need_indicator(page):
    ranked = page.ranking_frame(None, "revenu_median_uc")  # low income = high need
    assert list(ranked.code) == ["QN09604C", "QN09602N", "QN09603I", "QN09605M"]
    block = str(page.ranking_block(None, "revenu_median_uc"))
    assert "des valeurs les plus faibles" in block
    assert "Indicateurs fictifs (ONPV fictif), millésime 2021" in block


def test_scheme_fiche_content(page):
    d = page.scheme_fiche_data("CLS1")
    assert d["kind"] == "CLS" and d["porteur"] == "Ville-des-Licornes" and d["year_created"] == 2015
    assert sorted(d["qpvs"].code) == ["QN09601M", "QN09602N"]
    assert sorted(d["communes"].code) == ["96001", "96002"] and not d["communes_via_qpv"]
    assert "Registre fictif des dispositifs" in d["source"]
    asv = page.scheme_fiche_data("ASV1")
    assert list(asv["qpvs"].code) == ["QN09601M"]
    assert asv["communes_via_qpv"] and list(asv["communes"].code) == ["96001"]
    assert asv["n_actions"] == 3
    by_theme = dict(zip(asv["actions_by_theme"].label, asv["actions_by_theme"].n))
    assert by_theme == {"Prévention et promotion de la santé": 2, "Santé mentale": 1}
    text = str(page.scheme_fiche("ASV1"))
    assert "/actions?scheme=ASV1" in text and "Voir ses 3 actions sur la page Actions" in text
    assert page.actions_link_text(1) == "Voir son action sur la page Actions"
    assert "/fiche?level=qpv&code=QN09601M" in text
    assert "Ville de Bourg-Fictif" in text and "2008" in text and "actif" in text
    assert "https://bourg.example/asv" in text
    assert page.scheme_fiche_data("nope") is None


def test_scheme_fiche_never_links_unsafe_urls_and_keeps_hostile_names_as_text(page):
    cls = page.scheme_fiche("CLS1")
    assert "javascript:" not in str(cls)
    fiche = page.scheme_fiche("CPTS1")
    title = fiche[0].children[0]
    assert title.children[-1] == HOSTILE          # a plain string child: React escapes it
    assert "Aucune action rattachée" in str(fiche)
    assert "n.d." in str(fiche)                  # unknown year / status shown as n.d.
    items = page.scheme_list(page.schemes_in_scope(None), "CPTS1")
    assert "aria-pressed='true'" in str(items) and str(items).count("aria-pressed='true'") == 1
    assert HOSTILE in str(items)


def test_url_state_round_trip(page):
    assert page.parse_layers(None) == ["qpv", "asv"]
    assert page.parse_layers("") == []
    assert page.parse_layers("zonage,cls,bogus,qpv") == ["qpv", "cls", "zonage"]
    names = [page.LAYERS["cpts"], page.LAYERS["qpv"]]
    assert page.layers_from_overlays(names) == ["qpv", "cpts"]
    s = page.state_search(("departement", "96"), ["qpv", "cls"], "revenu_median_uc", "CLS1")
    assert s == "?scope=departement:96&layers=qpv,cls&need=revenu_median_uc&scheme=CLS1"
    opts = page.need_options()
    assert page.valid_need("bogus", opts) == "taux_pauvrete_60"
    assert {o["value"] for o in opts} == {"taux_pauvrete_60", "revenu_median_uc", "population"}


def test_layout_restores_the_view_from_the_url(page):
    view = page.layout(scope="commune:96003", layers="qpv,cpts,zonage", need="revenu_median_uc",
                       scheme="CLSM1")
    text = str(view)
    assert "CLSM du Val" in text and "Collectif du Val" in text          # fiche open
    assert "/geo/qpv.pbf?scope=commune:96003" in text
    assert "/geo/scheme.pbf?kind=CPTS" in text
    overlays = {o.name: o.checked for o in _find_all(view, "Overlay")}
    assert overlays[page.LAYERS["cpts"]] and overlays[page.LAYERS["zonage"]]
    assert not overlays[page.LAYERS["asv"]]
    control = _find_all(view, "LayersControl")[0]       # dash-leaflet needs the initial list (see atlas.js)
    assert set(control.overlays) == {page.LAYERS["qpv"], page.LAYERS["cpts"], page.LAYERS["zonage"]}
    assert "revenu_median_uc" in text
    bad = str(page.layout(scheme="nope", layers="bogus"))
    assert "Choisissez un dispositif" in bad


def _find_all(component, type_name):
    out = []
    if getattr(component, "_type", None) == type_name:
        out.append(component)
    children = getattr(component, "children", None)
    if isinstance(children, (list, tuple)):
        for c in children:
            out += _find_all(c, type_name)
    elif children is not None and hasattr(children, "_type"):
        out += _find_all(children, type_name)
    return out


def _run(fn, *args, triggered=None, inputs_list=None, outputs_list=None):
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    def go():
        context_value.set(AttributeDict(
            triggered_inputs=triggered or [], inputs_list=inputs_list or [], outputs_list=outputs_list or [],
            states_list=[]))
        return fn(*args)

    return contextvars.copy_context().run(go)


def test_select_scheme_callback_from_list_map_and_close(page):
    item = {"type": "cov-scheme-item", "scheme": "CLS1"}
    res = _run(page.select_scheme, [1], [None] * 4, [], None, [None] * 4,
               triggered=[{"prop_id": '{"scheme":"CLS1","type":"cov-scheme-item"}.n_clicks', "value": 1}],
               inputs_list=[[{"id": item, "property": "n_clicks"}], [], []])
    assert res == "CLS1"
    layers = [{"id": {"type": "cov-scheme-layer", "kind": k}, "property": "n_clicks"} for k in page.KINDS]
    feature = {"type": "Feature", "properties": {"code": "CPTS1", "name": HOSTILE}}
    res = _run(page.select_scheme, [], [None, None, None, 1], [], None, [None, None, None, feature],
               triggered=[{"prop_id": '{"kind":"CPTS","type":"cov-scheme-layer"}.n_clicks', "value": 1}],
               inputs_list=[[], layers, []])
    assert res == "CPTS1"
    res = _run(page.select_scheme, [], [None] * 4, [1], None, [None] * 4,
               triggered=[{"prop_id": '{"id":"close","type":"cov-fiche-close"}.n_clicks', "value": 1}],
               inputs_list=[[], layers, [{"id": {"type": "cov-fiche-close", "id": "close"}, "property": "n_clicks"}]])
    assert res is None
    # the search field (France scale lists no button per scheme): a new choice selects, the same one
    # (the list drawn again with the selection) changes nothing
    pick = [{"prop_id": "cov-scheme-pick.value", "value": "CLS1"}]
    assert _run(page.select_scheme, [], [None] * 4, [], "CLS1", [None] * 4, None, triggered=pick) == "CLS1"
    from dash import no_update
    assert _run(page.select_scheme, [], [None] * 4, [], "CLS1", [None] * 4, "CLS1", triggered=pick) is no_update


def test_change_scope_callback_changes_urls_and_hideouts_only(page):
    out = page.change_scope("commune:96002")
    qpv_url, qpv_hideout, zon_url, zon_hideout, communes_url, viewport, legends, source, title, registry = out
    assert registry == []                     # the registry is complete here: no "couverture inconnue" note
    assert qpv_url == "/geo/qpv.pbf?scope=commune:96002" and zon_url == qpv_url
    assert qpv_hideout["cats"] == {"QN09602N": "cls"}
    assert zon_hideout["zones"] == {"QN09602N": "ZIP"}
    assert viewport["transition"] == "fitBounds"
    assert "Zonage fictif, millésime 2025" in str(source) and len(source[1].children) == 4     # one source per line
    assert "Registre fictif des dispositifs" in str(source)
    assert "Population des QPV : Indicateurs fictifs (millésime de diffusion 2021)" in str(source)
    assert title.endswith("Ville-des-Licornes")
    assert all("geometry" not in str(x) for x in (qpv_hideout, zon_hideout))


def test_write_url_callback(page):
    names = [page.LAYERS["zonage"], page.LAYERS["qpv"]]
    s = page.write_url("departement:96", "revenu_median_uc", names, None)
    assert s == "?scope=departement:96&layers=qpv,zonage&need=revenu_median_uc"


def test_scheme_geobuf_route_filters_by_kind(cov_db):
    import geobuf
    from flask import Flask

    from components import geo_routes

    app = Flask(__name__)
    geo_routes.register(app)
    client = app.test_client()
    r = client.get("/geo/scheme.pbf?kind=CPTS")
    assert r.status_code == 200
    fc = geobuf.decode(r.data)
    assert [f["properties"]["code"] for f in fc["features"]] == ["CPTS1"]
    all_ = geobuf.decode(client.get("/geo/scheme.pbf").data)
    assert {f["properties"]["code"] for f in all_["features"]} == {"ASV1", "CLS1", "CLSM1", "CPTS1"}
    empty = client.get("/geo/qpv.pbf?scope=commune:96099")      # no QPV there: an empty, decodable layer
    assert empty.status_code == 200 and geobuf.decode(empty.data) == {"type": "FeatureCollection", "features": []}
    assert client.get("/geo/scheme.pbf?kind=XYZ").status_code == 400
    assert client.get("/geo/qpv.pbf?kind=ASV").status_code == 400
    assert geo_routes.layer_url("scheme", kind="ASV") == "/geo/scheme.pbf?kind=ASV"
    assert geo_routes.layer_url("qpv", ("commune", "96001")) == "/geo/qpv.pbf?scope=commune:96001"


# --- Unknown is never none: a registry complete on part of the territory only -------------------

@pytest.fixture(scope="module")
def partial_page(tmp_path_factory, cov_db):
    """The same territory, the scheme registry declared complete on Bourg-Fictif and
    Ville-des-Licornes only: Val-Imaginaire's QPVs have an unknown coverage."""
    import app  # noqa: F401
    from data import access
    from pages import couverture

    path = tmp_path_factory.mktemp("cov-partial") / "cov.duckdb"
    make_db(path, schemes_cover=[("commune", "96001"), ("commune", "96002")])
    access.configure(path)
    yield couverture
    access.configure(cov_db)


def test_unknown_coverage_is_neither_none_nor_ranked(partial_page):
    from data.views.couverture import coverage_frame, ranking_frame

    cov = coverage_frame(None).set_index("code")
    assert cov.loc["QN09601M", "category"] == "asv"        # an ASV is a fact, registry or not
    assert cov.loc["QN09602N", "category"] == "cls"
    for code in ("QN09603I", "QN09604C", "QN09605M"):      # Val-Imaginaire: registry not loaded
        assert cov.loc[code, "category"] == "unknown"
    ranked = ranking_frame(None, "taux_pauvrete_60", coverage_frame(None))
    assert list(ranked.code) == ["QN09602N"]               # only a QPV known to have no ASV is ranked
    block = str(partial_page.ranking_block(None, "taux_pauvrete_60"))
    assert "1 QPV sans ASV" in block and "3 QPV dont la couverture est inconnue" in block
    legend = str(partial_page.legends(coverage_frame(None), partial_page.schemes_in_scope(None, None)))
    assert "Couverture inconnue (registre non chargé)" in legend and "Ni ASV ni CLS" in legend
    note = str(partial_page.registry_note(None))
    assert "chargé pour une partie de ce territoire seulement" in note
    tips = partial_page.qpv_tooltips(coverage_frame(None))
    assert tips["QN09603I"][:2] == ["Couverture inconnue (registre non chargé)",
                                    "Registre des dispositifs non chargé pour ce territoire"]


def test_a_scope_without_registry_says_so(partial_page):
    sc = ("commune", "96003")
    lst = str(partial_page.scheme_list(partial_page.schemes_in_scope(sc, None).iloc[0:0], None, sc))
    assert "Registre des dispositifs non chargé pour ce territoire" in lst and "Aucun dispositif" not in lst
    block = str(partial_page.ranking_block(sc, "taux_pauvrete_60"))
    assert "aucun QPV ne peut être dit sans ASV" in block and "cov-ranking'" not in block
    out = partial_page.change_scope("commune:96003")
    assert set(out[1]["cats"].values()) == {"unknown"} and "Couverture inconnue" in str(out[-1])


def test_a_long_scheme_list_is_searched_not_listed(page):
    """France scale (1,164 schemes in the bench): no button per scheme, a server-searched field."""
    import pandas as pd

    many = pd.DataFrame({"scheme_id": [f"CLS{i:03d}" for i in range(60)], "kind": "CLS",
                         "name": [f"Contrat local de santé n° {i}" for i in range(60)]})
    div = page.scheme_list(many, None, None)
    found = _find_all(div, "Dropdown")
    assert [d.id for d in found] == ["cov-scheme-pick"]
    assert "60 dispositifs : recherchez-en un" in str(div.to_plotly_json())
    assert not _find_all(div, "Button") and not _find_all(div, "Ul")
    few = page.scheme_list(many.head(3), None, None)
    assert len(_find_all(few, "Button")) == 3 and _find_all(few, "Dropdown")


@pytest.fixture(scope="module")
def counted_page(tmp_path_factory, cov_db):
    """The same territory with the poverty counts of its QPVs and a value for France."""
    import app  # noqa: F401
    from data import access
    from pages import couverture

    path = tmp_path_factory.mktemp("cov-counted") / "cov.duckdb"
    make_db(path)
    con = connect(path, spatial=True)
    for code, num, den in (("QN09603I", 50, 100), ("QN09602N", 350, 1000)):
        con.execute("UPDATE indicator_value SET numerator = ?, denominator = ? WHERE code = ? AND year = 2021 "
                    "AND indicator_id = 'taux_pauvrete_60'", [num, den, code])
    con.execute("INSERT INTO territory VALUES ('france','FRM','France métropolitaine','COG2024',NULL,NULL,NULL,NULL,"
                "NULL,ST_GeomFromText(?),ST_GeomFromText(?),'src_geo')", [_square(0, 0, 1), _square(0, 0, 1)])
    con.execute("INSERT INTO indicator_value (level, code, indicator_id, year, value, status, geography, perimeter, "
                "source_id, period) VALUES ('france','FRM','taux_pauvrete_60',2021,38.0,'ok','COG2024','exact',"
                "'src_ind',2021 - 10000)")
    con.execute("CHECKPOINT")
    con.close()
    access.configure(path)
    yield couverture
    access.configure(cov_db)


def test_no_rank_without_its_interval_and_test(counted_page):
    """A ranking of QPVs (a league table) shows each value's 95 % interval and its tested comparison
    with one national benchmark, and says that a rank proves no gap."""
    from data.views.couverture import ranking_frame

    ranked = ranking_frame(None, "taux_pauvrete_60")
    assert ranked.attrs["benchmark"] == "France métropolitaine (millésime de diffusion 2021)"
    # 50 of 100 (Wilson: 40,4–59,6 %): 38 % lies below its interval -> worse; 350 of 1 000 (32,1–38,0 %): similar
    assert list(ranked.code[:2]) == ["QN09603I", "QN09602N"] and list(ranked.test[:2]) == ["worse", "similar"]
    table = counted_page.ranking_table_frame(ranked, 1)
    assert [x.replace("\u00a0", " ") for x in table.ic] == ["[40,4 ; 59,6]", "[32,1 ; 38,0]", "—", "—"]
    assert list(table.test[:2]) == ["✗ Moins bon", "≈ Similaire"] and table.test.iloc[2] == "– Non testé"
    block = str(counted_page.ranking_block(None, "taux_pauvrete_60"))
    assert "Comparaison testée avec France métropolitaine (millésime de diffusion 2021)" in block and "IC 95 %" in block
    assert "le rang ordonne les valeurs, il ne prouve pas d'écart" in block.lower()
    assert "1 similaire, 1 moins bon" in block
    # the benchmark's figure says its source and year, like the QPVs' own
    assert ("Référence des comparaisons testées : France métropolitaine (millésime de diffusion 2021), "
            "Indicateurs fictifs (ONPV fictif), millésime 2021.") in block


def test_a_rank_without_counts_says_it_is_untested(page):
    block = str(page.ranking_block(None, "revenu_median_uc"))      # a median: no interval, ever
    assert "pas d'intervalle ni de test (intervalle non calculable : indicateur sans effectifs" in block
    table = page.ranking_table_frame(page.ranking_frame(None, "revenu_median_uc"))
    assert set(table.ic[table.valeur.map(lambda v: isinstance(v, float))]) == {"sans objet"}
