"""Scope picker (région, département, EPCI, commune) shared by the pages.

A scope is written "level:code" in URLs and dropdown values ("france" alone for all).
"""
from __future__ import annotations

from dash import dcc, html

from data import access

LEVEL_LABELS = {"region": "Région", "departement": "Département", "epci": "EPCI", "commune": "Commune",
                "qpv": "QPV", "france": "France", "arrondissement": "Arrondissement"}


def parse_scope(value: str | None) -> tuple[str, str] | None:
    if not value or value == "france" or ":" not in value:
        return None
    level, code = value.split(":", 1)
    if level not in ("region", "departement", "epci", "commune"):
        return None
    return (level, code)


def scope_value(scope: tuple[str, str] | None) -> str:
    return "france" if not scope else f"{scope[0]}:{scope[1]}"


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


def scope_dropdown(component_id: str, value: str | None) -> html.Div:
    options = scope_options()
    valid = {o["value"] for o in options}
    return html.Div([
        html.Label("Territoire", htmlFor=component_id),
        dcc.Dropdown(id=component_id, options=options, value=value if value in valid else "france",
                     clearable=False, searchable=True, style={"minWidth": "320px"}),
    ], className="control")
