"""Page URLs (issue 10): every page's layout accepts any query string. Unknown territory codes and
repeated parameters give the page with a notice, never an error; random query strings are thrown
at every page through the router that builds the page of a URL (components/layout.py)."""
from __future__ import annotations

import json
from urllib.parse import urlencode

import plotly.utils
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARAMS = ["scope", "indicator", "year", "mode", "ref", "gap", "method", "k", "palette", "breaks", "qpv", "view",
          "level", "code", "t", "ind", "layers", "need", "scheme", "themes", "publics", "years", "porteurs",
          "heat", "action", "type", "export", "present", "print", "x"]
NASTY = ["", "ZZZ", "commune:ZZZ", "region:", "france", ":", "zz", "QN99999Z", "-1", "0", "9" * 40, "1e309",
         "nan", "<script>alert(1)</script>", "a" * 3000, "é€\u202e", "commune:96001", "qpv:QN09601M",
         "departement:96", "epci:999", "1,2,3", "45,2,99", "∞", "%00", "true", "[]", "{}", "null"]


@pytest.fixture(scope="module")
def app_pages(demo_db_module):
    import app  # noqa: F401  (registers the pages)
    from data import access

    access.configure(demo_db_module)
    import dash

    return sorted(p["path"] for p in dash.page_registry.values())


def render(path: str, query: str):
    from components.layout import page_layout

    content, title = page_layout(path, query)
    text = json.dumps(content, cls=plotly.utils.PlotlyJSONEncoder)      # what the browser would receive
    assert "n'a pas pu être construite" not in text, f"{path}{query}: the layout raised (see the log)"
    return content, title


def text_of(component) -> str:
    return json.dumps(component, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


CASES = [
    ("/inegalites", "?scope=commune:ZZZ", "Territoire inconnu"),
    ("/inegalites", "?ref=a&ref=b", "plusieurs fois"),
    ("/fiche", "?level=zz&code=QN09601M", "Niveau inconnu"),
    ("/fiche", "?level=commune&code=ZZZ", "Territoire inconnu"),
    ("/comparer", "?t=qpv:ZZZ,commune:96001", "Territoire inconnu"),
    ("/fiche", "?level=qpv&code=X&code=Y", "plusieurs fois"),
    ("/comparer", "?t=a&t=b", "Territoire inconnu"),      # a repeated list parameter is a list
    ("/couverture", "?scheme=a&scheme=b", "plusieurs fois"),
    ("/actions", "?scope=commune:ZZZ", "Territoire inconnu"),
    ("/", "?scope=region:ZZ", "Territoire inconnu"),
]


@pytest.mark.parametrize("path,query,notice", CASES)
def test_unknown_codes_and_repeated_parameters_give_the_page_with_a_notice(app_pages, path, query, notice):
    content, _ = render(path, query)
    text = text_of(content)
    assert "Page introuvable" not in text
    assert notice in text, text[:400]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_random_query_strings_on_every_page(app_pages, data):
    path = data.draw(st.sampled_from(app_pages))
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(PARAMS),
                                         st.one_of(st.sampled_from(NASTY), st.text(max_size=30))), max_size=6))
    render(path, "?" + urlencode(pairs))


def test_repeatable_parameters_stay_lists_without_notice(app_pages):
    """Actions writes one `theme=` per theme in its URLs: both themes are applied, nothing is reported."""
    from components.layout import parse_query
    from data.views.actions import parse_state, theme_ids

    themes = list(theme_ids())[:2]
    search = "?" + urlencode([("theme", t) for t in themes])
    content, _ = render("/actions", search)
    assert "plusieurs fois" not in text_of(content)
    query, notices = parse_query(search + "&level=qpv&level=commune", ("theme",))
    assert query["theme"] == themes and query["level"] == "qpv" and len(notices) == 1
    assert parse_state(query).themes == themes
