"""Fiche territoire: a one-page portrait of a QPV, a commune, an EPCI or a scheme territory,
printable on A4 (print CSS in assets/style.css)."""
from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, State, callback, dcc, html

from components import guard
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


def layout(level: str = "qpv", code: str | None = None, **_):
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
    return html.Div([
        url_notices(notices),
        html.Div([
            html.Div([html.Label("Niveau", htmlFor="fiche-level"),
                      dcc.Dropdown(id="fiche-level", options=[{"label": l, "value": v} for v, l in LEVELS],
                                   value=level, clearable=False)], className="control"),
            html.Div([html.Label("Territoire", htmlFor="fiche-code"),
                      search_dropdown("fiche-code", code, index, clearable=False,
                                      style={"minWidth": "340px"})], className="control"),
            fiche_exports(level, code),
        ], className="controls no-print"),
        html.Div(territory_portrait(level, code) if code else html.P("Aucun territoire."), id="fiche-content"),
    ])


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
          Input("fiche-code", "value"), State("fiche-level", "value"), State("url-state", "search"),
          prevent_initial_call=True)
def show(code, level, current=None):
    code, level = guard.one(code), guard.one(level, dict(LEVELS), "qpv")
    if not code:
        return html.P("Aucun territoire."), dash.no_update
    search = new_search("?" + urlencode({"level": level, "code": code}), current)
    return territory_portrait(level, code), search

