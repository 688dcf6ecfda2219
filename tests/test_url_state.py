"""Page callbacks that write the URL (url-state in the app shell)."""
import pytest


def test_page_callbacks_do_not_rebuild_the_page_for_its_own_url(demo_db_module):
    """Dash runs url-state writers once when a page is inserted: a fiche opened from its URL is
    not computed a second time, a new choice is."""
    import app  # noqa: F401  (registers the pages)
    from dash.exceptions import PreventUpdate

    from components.layout import new_search
    from pages import accueil, fiche

    with pytest.raises(PreventUpdate):
        fiche.show("QN09601M", "departement", "95", "qpv", "?level=qpv&code=QN09601M")
    content, search, _, test, summary = fiche.show("QN09601M", "departement", "95", "qpv", "?level=commune&code=96001")
    assert search == "?level=qpv&code=QN09601M" and content is not None and test == "departement"
    assert summary == "Tests et intervalles : départ., IC 95 %"
    # the tests' settings join the URL when they are not the defaults
    _, search, _, test, summary = fiche.show("QN09601M", "france", "99.8", "qpv", "?level=qpv&code=QN09601M")
    assert search == "?level=qpv&code=QN09601M&test=france&ic=99.8" and test == "france"
    assert summary == "Tests et intervalles : France, IC 99,8 %"
    with pytest.raises(PreventUpdate):
        accueil.update_scope("departement:96", "?scope=departement:96")
    assert accueil.update_scope("departement:96", "")[2] == "?scope=departement:96"
    assert new_search("?a=1", None) == "?a=1"


def test_home_summary_lists_each_vintage_once(demo_db_module):
    """A source published in two vintages ("2021, 2022") does not repeat them in the summary."""
    import re

    from pages import accueil
    from tests.test_page_urls import text_of

    text = text_of(accueil.loaded_summary())
    listed = re.search(r"Millésimes : ([^.(]+)", text).group(1).split(",")
    years = [y.strip() for y in listed]
    assert years == sorted(set(years)) and "2021" in years and "2022" in years, years


def test_qpv_geometry_carries_known_populations_only(demo_db_module):
    """A QPV drawn as a disc at small scale is sized by its population: the geometry route gives
    the population where it is known and leaves it out (never 0) where it is not."""
    import geobuf

    from components.geo_routes import geobuf_bytes
    from data import access

    fc = geobuf.decode(geobuf_bytes("qpv"))
    pops = {f["properties"]["code"]: f["properties"].get("pop") for f in fc["features"]}
    known = access.tables().level("qpv").set_index("code")["population"]
    assert {c for c, p in pops.items() if p is not None} == set(known.dropna().index)
    assert all(p == round(known[c]) and p > 0 for c, p in pops.items() if p is not None)
    assert any(p is None for p in pops.values())          # the demo has QPVs of unknown population


def test_a_simple_table_export_names_the_territory_of_its_page(demo_db_module):
    """The CSV/XLSX of a table read from the page say the territory of the page's address, not
    a guess from its text (components/export.table_meta)."""
    from components.export import page_territory, table_meta
    from data import access

    qpv = access.territories("qpv").iloc[0]
    assert page_territory(f"/fiche?level=qpv&code={qpv.code}") == f"QPV — {qpv['name']}"
    assert page_territory("/inegalites?scope=departement:96") == "Département — Hautes-Chimères"
    assert page_territory("/inegalites?scope=commune:ZZZ") == "Tout le territoire chargé"
    assert page_territory("/fiche?level=zz&code=1") is None and page_territory("/comparer") is None
    meta = dict(table_meta({"title": " Plateau ", "source": "Source : X, millésime 2022.", "page": "/actions",
                            "territory": "<b>ignoré</b>", "rows": []}))
    assert meta == {"Titre": "Plateau", "Territoire": "Tout le territoire chargé",
                    "Source": "Source : X, millésime 2022.", "Page": "/actions"}
