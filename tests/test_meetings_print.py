"""Issue 22 (meetings and print), on the demo DB: slide titles that say what a view shows, a
repeated list parameter read as a list, legend bounds that never collapse, exports rounded as
displayed with the fictional-data line on every sheet, notes folded under the maps."""
from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pytest

from tests.conftest import app_reading


@pytest.fixture(scope="module")
def app_demo(demo_db_module):
    with app_reading(demo_db_module) as access:
        import app

        yield app, access


def _walk(component):
    yield component
    kids = getattr(component, "children", None)
    for k in kids if isinstance(kids, (list, tuple)) else [kids]:
        if hasattr(k, "to_plotly_json"):
            yield from _walk(k)


def _by_id(component, cid):
    return next((c for c in _walk(component) if getattr(c, "id", None) == cid), None)


def _text(component) -> str:
    if isinstance(component, str):
        return component
    if isinstance(component, (list, tuple)):
        return " ".join(_text(c) for c in component)
    if component is None or not hasattr(component, "to_plotly_json"):
        return "" if component is None else str(component)
    return _text(getattr(component, "children", None))


# --- Slide titles ------------------------------------------------------------------------------

def test_every_page_names_what_it_shows(app_demo):
    from components.layout import view_title

    ineg = view_title("/inegalites?indicator=taux_pauvrete_60&scope=commune:98019")
    assert ineg == "Taux de pauvreté au seuil de 60 % (2019) — Commune — Port-Imaginaire"
    gap = view_title("/inegalites?indicator=taux_pauvrete_60&mode=ecart&ref=departement")
    assert "(2019), écart à la référence « département »" in gap and "Tout le territoire chargé" in gap
    fiche = view_title("/fiche?level=qpv&code=QN09805M")
    assert "Cité des Gnomes" in fiche and "QN09805M" in fiche
    cmp_ = view_title("/comparer?t=commune:99011&t=commune:98019&ind=taux_pauvrete_60")
    assert cmp_ == "Comparer : Mont-Utopie ; Port-Imaginaire — Taux de pauvreté (2019)"
    # without parameters, the territories and indicators the page opens on
    default = view_title("/comparer")
    assert default.startswith("Comparer : ") and "territoires" not in default and "Taux de pauvreté" in default
    assert "Port-Imaginaire" in view_title("/couverture?scope=commune:98019")
    acts = view_title("/actions?theme=sante_mentale")
    assert "Santé mentale" in acts and "Tout le territoire chargé" in acts
    assert view_title("/nulle-part") == "Atlas ASV"
    assert view_title("/inegalites?indicator=%00inconnu") != ""          # never an error, a title


def test_view_title_route(app_demo):
    app, _ = app_demo
    res = app.server.test_client().get("/view-title", query_string={"u": "/fiche?level=qpv&code=QN09805M"})
    assert res.status_code == 200 and "Cité des Gnomes" in res.get_json()["title"]


# --- Repeated list parameters ------------------------------------------------------------------

def test_repeated_territory_parameter_is_a_list(app_demo):
    from components.layout import page_layout

    for search in ("?t=commune:99011&t=commune:98019", "?t=commune:99011,commune:98019"):
        content, _ = page_layout("/comparer", search)
        assert _by_id(content, "compare-territories").value == ["commune:99011", "commune:98019"], search
        assert _by_id(content, "url-notices-repeated") is None
    # a parameter that is not a list still says that only its first value is used
    content, _ = page_layout("/inegalites", "?indicator=taux_pauvrete_60&indicator=taux_emploi_15_64")
    assert "seule sa première valeur" in _text(_by_id(content, "url-notices-repeated"))


# --- Legends -----------------------------------------------------------------------------------

def _bounds(label: str) -> list[str]:
    return re.findall(r"-?\d[\d\u202f ]*(?:,\d+)?", label)


def test_close_values_get_the_decimals_that_tell_bounds_apart():
    from data import analysis as an

    cls = an.classify([f"Q{i}" for i in range(6)], [0.751, 0.752, 0.754, 0.79, 0.791, 0.795], "quantiles", 3)
    labels = an.class_labels(cls, 2)
    for label in labels:
        lo_hi = _bounds(label)
        assert len(set(lo_hi)) == len(lo_hi), labels          # never "[0,75 ; 0,75]"
    assert len(set(labels)) == len(labels)
    assert cls.label_decimals(2) == 3


def test_equal_values_merge_classes_and_the_legend_says_so():
    from data import analysis as an

    cls = an.classify([f"Q{i}" for i in range(8)], [5.0] * 6 + [7.0, 9.0], "quantiles", 5)
    assert cls.k < 5 and cls.requested == 5
    assert f"{cls.k} classes au lieu des 5 demandées" in cls.merged_note()
    labels = an.class_labels(cls, 1)
    assert labels[0] == "5,0"                                  # a class of one value: that value
    assert an.classify(["a", "b", "c", "d"], [1.0, 2.0, 3.0, 4.0], "quantiles", 4).merged_note() is None
    gap = an.gap_classes(list("abcdef"), np.array([1.2, 1.2, 1.2, 1.2, 1.3, 1.3]), "ratio", 5, "quantiles")
    assert gap.classification.requested == 5 and "parité" in gap.classification.merged_note()


def test_small_scope_legend_of_the_issue_has_no_equal_bounds(app_demo):
    from components.layout import page_layout

    content, _ = page_layout("/inegalites", "?indicator=taux_emploi_15_64&mode=ecart&scope=commune:99011")
    legend = _by_id(content, "ineg-legend-box")
    labels = [_text(li.children[1]) for li in _walk(legend) if type(li).__name__ == "Li"]
    assert labels
    for label in labels:
        nums = _bounds(label)
        assert len(nums) != 2 or nums[0] != nums[1], labels


# --- Folded notes ------------------------------------------------------------------------------

def test_notes_fold_into_one_line_naming_their_subjects():
    from dash import html

    from components.notices import folded_notes

    assert folded_notes([], "Remarques") == []
    out = folded_notes([html.P([html.Strong("Périmètre 2015 : "), "..."]), html.P("sans sujet"),
                        html.P([html.Strong("Années différentes : "), "..."])], "Remarques sur ces chiffres")
    summary = out[0].children[0].children
    assert summary == "Remarques sur ces chiffres (3) : périmètre 2015 · années différentes · 1 autre"
    assert type(out[0]).__name__ == "Details" and len(out[0].children[1].children) == 3


# --- Exports as displayed ----------------------------------------------------------------------

def _decimals(text: str) -> int:
    m = re.fullmatch(r"-?\d+(?:[.,](\d+))?", text.strip())
    return len(m.group(1) or "") if m else 0


def test_inegalites_exports_are_rounded_as_displayed(app_demo):
    import openpyxl

    app, _ = app_demo
    client = app.server.test_client()
    q = "?indicator=taux_pauvrete_60&mode=ecart&ref=commune"
    body = client.get(f"/export/table/inegalites.csv{q}").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    header_at = next(i for i, r in enumerate(rows) if "Statut" in r)
    header = rows[header_at]
    data = [r for r in rows[header_at + 1:] if len(r) == len(header)]
    assert data and header[header.index("Statut") - 1] == "Taux de pauvreté (%)"
    value, ratio = header.index("Statut") - 1, next(i for i, h in enumerate(header) if h.startswith("Écart"))
    numbers = [r[value] for r in data if re.fullmatch(r"-?\d+(?:[.,]\d+)?", r[value])]
    gaps = [r[ratio] for r in data if re.fullmatch(r"-?\d+(?:[.,]\d+)?", r[ratio])]
    assert numbers and gaps
    assert max(map(_decimals, numbers)) <= 1 and max(map(_decimals, gaps)) <= 2   # as the table shows
    wb = openpyxl.load_workbook(io.BytesIO(client.get(f"/export/table/inegalites.xlsx{q}").data))
    for ws in wb.worksheets:                      # the fictional-data line on every sheet
        assert "fictives" in str(ws.cell(1, 1).value).lower(), ws.title
    sheet = wb.worksheets[0]
    floats = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, float)]
    assert floats and all(round(f, 2) == f for f in floats)


def test_actions_density_export_is_rounded(app_demo):
    app, _ = app_demo
    body = app.server.test_client().get("/export/table/densite_actions.csv").data.decode("utf-8-sig")
    numbers = re.findall(r"(?<=;)-?\d+[.,]\d+(?=;|\r?$)", body, flags=re.M)
    assert numbers and all(_decimals(n) <= 1 for n in numbers), numbers[:5]
    assert not any(math.isnan(float(n.replace(",", "."))) for n in numbers)
