"""Scope picker (région, département, EPCI, commune) shared by the pages.

A scope is written "level:code" in URLs and dropdown values ("france" alone for all).
The picker is a search dropdown (components.search_dropdown): at national scale it lists
thousands of territories, searched on the server.
"""
from __future__ import annotations

from dash import html

from components.notices import clip
from components.search_dropdown import option_index, register_search, search_dropdown
from data import access
from data.access import parse_scope, scope_value  # noqa: F401  (the pages' names)

# A territory level in words: one dict, in the data layer (data.access), used by every page.
LEVEL_LABELS = access.LEVEL_LABELS


def checked_scope(value) -> tuple[tuple[str, str] | None, list[str]]:
    """(scope, notices) from a URL value: an unknown territory falls back to the whole DB, and says so."""
    sc = parse_scope(value)
    if value in (None, "", "france") or (sc is not None and access.territory(*sc) is not None):
        return sc, []
    return None, [f"Territoire inconnu dans l'adresse (« {clip(value)} ») : tout le territoire chargé est affiché."]


def scope_options() -> list[dict]:
    opts = [{"label": "Tout le territoire chargé", "value": "france"}]
    for level in ("region", "departement", "epci", "commune"):
        # Communes: only those with a QPV (about 900 in France instead of 35,000),
        # which keeps the page light at national scale.
        df = access.communes_with_qpv() if level == "commune" else access.territories(level)
        opts += [{"label": f"{LEVEL_LABELS[level]} — {n} ({c})", "value": f"{level}:{c}"}
                 for c, n in zip(df.code, df.name)]
    return opts


def scope_label(scope: tuple[str, str] | None) -> str:
    if not scope:
        return "Tout le territoire chargé"
    t = access.territory(*scope)
    return f"{LEVEL_LABELS[scope[0]]} — {t['name']}" if t else f"{LEVEL_LABELS[scope[0]]} {scope[1]}"


# Component ids of the scope pickers of the pages: each gets its server search here.
SCOPE_PICKERS = ("home-scope", "act-scope", "cov-scope", "ineg-scope")
for _cid in SCOPE_PICKERS:
    register_search(_cid, scope_options)


def scope_dropdown(component_id: str, value: str | None) -> html.Div:
    """The scope picker; component_id must be one of SCOPE_PICKERS."""
    index = option_index(scope_options)
    return html.Div([
        html.Label("Territoire", htmlFor=component_id),
        search_dropdown(component_id, value if value in index else "france", index,
                        clearable=False, style={"minWidth": "320px"}),
    ], className="control")
