"""Fiche territoire: a one-page portrait of a QPV, a commune, an EPCI or a scheme territory,
printable on A4 (print CSS in assets/style.css)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import dash
from dash import Input, Output, State, callback, dcc, html

from components import guard
from data import stats
from data.views import portrait as views_portrait
from components.export import fiche_exports
from components.layout import new_search
from components.notices import clip, url_notices
from components.portrait import territory_portrait
from components.search_dropdown import initial_options, option_index, register_search, search_dropdown
from data import access

dash.register_page(__name__, path="/fiche", name="Fiche territoire", title="Atlas ASV — Fiche territoire",
                   order=6)

LEVELS = [("qpv", "QPV"), ("commune", "Commune"), ("epci", "EPCI")]


def picker_options(level: str) -> list[dict]:
    level = guard.one(level, dict(LEVELS), "qpv")
    df = access.territories(level)
    return [{"label": f"{n} ({c})", "value": c} for c, n in zip(df.code, df.name)]


# Every commune of France at commune level: searched on the server.
register_search("fiche-code", picker_options, State("fiche-level", "value"))


def test_options(level: str) -> list[dict]:
    return [{"label": views_portrait.TEST_REFS[k][1][:1].upper() + views_portrait.TEST_REFS[k][1][1:], "value": k}
            for k in views_portrait.test_refs(level)]


def layout(level: str = "qpv", code: str | None = None, test: str | None = None, ic: str | None = None, **_):
    notices = []
    if level not in dict(LEVELS):
        notices.append(f"Niveau inconnu dans l'adresse (« {clip(level)} ») : niveaux possibles : "
                       + ", ".join(label for _, label in LEVELS) + ". La fiche d'un QPV est affichée.")
        level = "qpv"
    index = option_index(picker_options, level)
    opts = index.options
    if code is not None and code not in index:
        notices.append(f"Territoire inconnu dans l'adresse (« {clip(code)} ») pour le niveau "
                       f"{dict(LEVELS)[level]} : la fiche d'un autre territoire est affichée.")
        code = None
    if code is None and opts:  # default: the first territory that has figures
        v = access.values("taux_pauvrete_60", level)
        with_data = [c for c in v[v.status == "ok"].code]
        code = with_data[0] if with_data else opts[0]["value"]
    test = test if test in views_portrait.test_refs(level) else views_portrait.default_test_ref(level, code) \
        if code else views_portrait.DEFAULT_TEST_REF
    ci = stats.level_token(ic)
    return html.Div([
        url_notices(notices),
        html.Div([
            html.Div([html.Label("Niveau", htmlFor="fiche-level"),
                      dcc.Dropdown(id="fiche-level", options=[{"label": l, "value": v} for v, l in LEVELS],
                                   value=level, clearable=False)], className="control"),
            html.Div([html.Label("Territoire", htmlFor="fiche-code"),
                      search_dropdown("fiche-code", code, index, clearable=False,
                                      style={"minWidth": "280px"})], className="control"),
            fiche_exports(level, code, ci, test),
            html.Details([
                html.Summary(tests_summary(test, ci), id="fiche-tests-summary"),
                html.Div([
                    html.Div([html.Label("Tests : comparer avec", htmlFor="fiche-test"),
                              dcc.Dropdown(id="fiche-test", options=test_options(level), value=test,
                                           clearable=False, style={"minWidth": "220px"})], className="control"),
                    html.Fieldset([html.Legend("Intervalles de confiance", className="control-label"),
                                   dcc.RadioItems(id="fiche-ci", options=[{"label": v, "value": k}
                                                                          for k, v in stats.LEVEL_LABELS.items()],
                                                  value=ci, inline=True, className="radio-inline")],
                                  className="control fieldset"),
                ], className="control-row"),
            ], className="controls-more controls-more-inline", id="fiche-tests"),
        ], className="controls no-print"),
        html.Div(territory_portrait(level, code, ci, test) if code else html.P("Aucun territoire."),
                 id="fiche-content"),
    ])


def tests_summary(test: str, ci: str) -> str:
    """The folded tests' settings in one line."""
    return f"Tests et intervalles : {views_portrait.TEST_REFS[test][0]}, IC {stats.LEVEL_LABELS[ci]}"


def fiche_search(level: str, code: str, ci: str, test: str) -> str:
    """The Fiche's URL query: level and code, then the tests' settings when not the defaults (the
    reference of the tests: the territory's default, views_portrait.default_test_ref)."""
    q = {"level": level, "code": code}
    if test != views_portrait.default_test_ref(level, code):
        q["test"] = test
    if ci != stats.DEFAULT_LEVEL:
        q["ic"] = ci
    return "?" + urlencode(q)


def view_title(level: str = "qpv", code: str | None = None, **_) -> str:
    """The territory the Fiche shows (a slide's title)."""
    level = guard.one(level, dict(LEVELS), "qpv")
    t = access.territory(level, code) if isinstance(code, str) else None
    return f"Fiche territoire — {dict(LEVELS)[level]} {t['name']} ({code})" if t else "Fiche territoire"


@callback(Output("fiche-code", "options"), Output("fiche-code", "value"),
          Input("fiche-level", "value"), prevent_initial_call=True)
def change_level(level):
    index = option_index(picker_options, guard.one(level, dict(LEVELS), "qpv"))
    code = index.options[0]["value"] if len(index) else None
    return initial_options(index, code), code


@callback(Output("fiche-content", "children"), Output("url-state", "search", allow_duplicate=True),
          Output("fiche-test", "options"), Output("fiche-test", "value"), Output("fiche-tests-summary", "children"),
          Input("fiche-code", "value"), Input("fiche-test", "value"), Input("fiche-ci", "value"),
          State("fiche-level", "value"), State("url-state", "search"), prevent_initial_call=True)
def show(code, test, ci, level, current=None):
    code, level = guard.one(code), guard.one(level, dict(LEVELS), "qpv")
    if not code:
        return html.P("Aucun territoire."), dash.no_update, dash.no_update, dash.no_update, dash.no_update
    refs = views_portrait.test_refs(level)
    default = views_portrait.default_test_ref(level, code)
    test = guard.one(test, refs, default)
    was = parse_qs((current or "").lstrip("?"))
    if was.get("code", [code])[0] != code and "test" not in was:
        test = default          # a new territory, and the tests' reference was the default: the new one's
    ci = stats.level_token(guard.one(ci))
    search = new_search(fiche_search(level, code, ci, test), current)
    return territory_portrait(level, code, ci, test), search, test_options(level), test, tests_summary(test, ci)

