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
        fiche.show("QN09601M", "qpv", "?level=qpv&code=QN09601M")
    content, search = fiche.show("QN09601M", "qpv", "?level=commune&code=96001")
    assert search == "?level=qpv&code=QN09601M" and content is not None
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
