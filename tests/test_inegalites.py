"""Inégalités page: classification, gaps with missing references, secret handling, hideout,
tooltips with hostile names, URL state, and the rule that an indicator change never re-sends
the QPV geometry. Runs on a small fictional DB written into tmp_path."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from data import palettes as pal
from data import analysis as an
from data.views import inegalites as iv

HOSTILE = '<img src=x onerror=alert(1)>'


# --- A small fictional DB ------------------------------------------------------------------------

def _square(x: float, y: float, d: float = 0.01) -> str:
    return f"POLYGON(({x} {y}, {x + d} {y}, {x + d} {y + d}, {x} {y + d}, {x} {y}))"


def make_db(path: Path) -> Path:
    """Région 99, départements 96/98, communes (one with a hostile name), six 2024 QPVs:
    ok, secret, no row at all, 2015 perimeter, hostile name with a missing commune reference,
    and one whose commune reference is secret."""
    from etl.build import create_schema, load_reference_tables
    from etl.db import connect

    con = connect(path, spatial=True)
    create_schema(con)
    load_reference_tables(con)
    con.execute("INSERT INTO meta VALUES ('fictional', 'true'), ('built_at', '2024-01-01T00:00:00')")
    for sid, title, vintage, geo in [("t_onpv", "Indicateurs QPV fictifs", "2021", "QPV2024"),
                                     ("t_onpv15", "Indicateurs QPV 2015 fictifs", "2019", "QPV2015"),
                                     ("t_filo", "Filosofi fictif", "2021", "COG2024")]:
        con.execute("INSERT INTO source (source_id, title, publisher, vintage, geography, fictional) "
                    "VALUES (?, ?, 'Atlas test', ?, ?, true)", [sid, title, vintage, geo])
    terr = [
        # level, code, name, gen, region, dep, epci, commune, pop, x, y, size
        ("france", "FRM", "France métropolitaine", None, None, None, None, None, None, 0, 40, 5),
        ("region", "99", "Région Fictive", None, "99", None, None, None, None, 5, 43, 1),
        ("departement", "96", "Département des Licornes", None, "99", "96", None, None, None, 5, 43, 0.5),
        ("departement", "98", "Département des Dragons", None, "99", "98", None, None, None, 5.5, 43, 0.5),
        ("epci", "299900001", "CA de Bourg-Fictif", None, "99", "96", "299900001", None, None, 5, 43, 0.5),
        ("epci", "299900002", "CC des Dragons", None, "99", "98", "299900002", None, None, 5.5, 43, 0.5),
        ("commune", "96001", "Bourg-Fictif", "COG2024", "99", "96", "299900001", None, 50000, 5, 43, 0.2),
        ("commune", "96002", "Val-des-Licornes", "COG2024", "99", "96", "299900001", None, 20000, 5.2, 43, 0.2),
        ("commune", "98001", HOSTILE, "COG2024", "99", "98", "299900002", None, 10000, 5.5, 43, 0.2),
        ("qpv", "QN09601M", "Quartier des Licornes", "2024", "99", "96", "299900001", "96001", 3000, 5.01, 43.01, .01),
        ("qpv", "QN09602M", "Cité des Dragons", "2024", "99", "96", "299900001", "96001", 2000, 5.05, 43.05, .01),
        ("qpv", "QN09603N", "Les Hauts-Fictifs", "2024", "99", "96", "299900001", "96001", 1500, 5.1, 43.1, .01),
        ("qpv", "QN09604M", "Le Pré-Imaginaire", "2024", "99", "96", "299900001", "96002", 2500, 5.21, 43.01, .01),
        ("qpv", "QN09801M", HOSTILE, "2024", "99", "98", "299900002", "98001", 1800, 5.51, 43.01, .01),
        ("qpv", "QN09605C", "Les Jardins-Chimères", "2024", "99", "96", "299900001", "96002", 2200, 5.25, 43.05, .01),
        ("qpv", "QN09606M", "La Butte-aux-Fées", "2024", "99", "96", "299900001", "96002", 2100, 5.27, 43.07, .01),
    ]
    for lvl, code, name, gen, reg, dep, epci, com, pop, x, y, d in terr:
        con.execute("INSERT INTO territory VALUES (?,?,?,?,?,?,?,?,?,ST_GeomFromText(?),ST_GeomFromText(?),'t')",
                    [lvl, code, name, gen, reg, dep if lvl != "region" else None, epci, com, pop,
                     _square(x, y, d), _square(x, y, d)])
    for q, c in [("QN09601M", "96001"), ("QN09602M", "96001"), ("QN09603N", "96001"), ("QN09604M", "96002"),
                 ("QN09801M", "98001"), ("QN09605C", "96002"), ("QN09606M", "96002"), ("QN09606M", "96001")]:
        con.execute("INSERT INTO qpv_commune (qpv_code, commune_code) VALUES (?, ?)", [q, c])
    ind = "taux_pauvrete_60"
    rows = [
        # level, code, year, value, status, geography, perimeter, source
        ("qpv", "QN09601M", 2021, 45.0, "ok", "QPV2024", "exact", "t_onpv"),
        ("qpv", "QN09601M", 2019, 47.0, "ok", "QPV2024", "exact", "t_onpv"),
        ("qpv", "QN09602M", 2021, None, "secret", "QPV2024", "exact", "t_onpv"),
        ("qpv", "QN09604M", 2021, 30.0, "ok", "QPV2015", "perimetre_2015", "t_onpv15"),
        ("qpv", "QN09801M", 2021, 38.0, "ok", "QPV2024", "exact", "t_onpv"),
        ("qpv", "QN09605C", 2021, 25.0, "ok", "QPV2024", "exact", "t_onpv"),
        ("qpv", "QN09606M", 2021, 52.0, "ok", "QPV2024", "exact", "t_onpv"),
        ("commune", "96001", 2021, 20.0, "ok", "COG2024", "exact", "t_filo"),
        ("commune", "96002", 2021, None, "secret", "COG2024", "exact", "t_filo"),
        # 98001 (hostile name) has no value at all: the reference is missing
        ("epci", "299900001", 2021, 18.0, "ok", "COG2024", "exact", "t_filo"),
        ("epci", "299900002", 2021, 16.0, "ok", "COG2024", "exact", "t_filo"),
        ("departement", "96", 2021, 17.0, "ok", "COG2024", "exact", "t_filo"),
        ("departement", "98", 2019, 15.0, "ok", "COG2024", "exact", "t_filo"),
        ("region", "99", 2021, 16.5, "ok", "COG2024", "exact", "t_filo"),
        ("france", "FRM", 2021, 14.5, "ok", "COG2024", "exact", "t_filo"),
    ]
    for lvl, code, year, value, status, geo, per, src in rows:
        con.execute("INSERT INTO indicator_value (level, code, indicator_id, year, value, numerator, denominator, status, geography, perimeter, derived_from, source_id, period) VALUES (?,?,?,?,?,NULL,NULL,?,?,?,NULL,?,?)",
                    [lvl, code, ind, year, value, status, geo, per, src, year - 10000])
    con.execute("INSERT INTO indicator_value (level, code, indicator_id, year, value, numerator, denominator, status, geography, perimeter, derived_from, source_id, period) VALUES ('qpv','QN09601M','revenu_median_uc',2021,11000,NULL,NULL,"
                "'ok','QPV2024','exact',NULL,'t_onpv',-7979), ('qpv','QN09801M','revenu_median_uc',2021,12500,NULL,NULL,"
                "'ok','QPV2024','exact',NULL,'t_onpv',-7979), ('qpv','QN09606M','revenu_median_uc',2021,9800,NULL,NULL,"
                "'ok','QPV2024','exact',NULL,'t_onpv',-7979), ('commune','96001','revenu_median_uc',2021,21000,NULL,NULL,"
                "'ok','COG2024','exact',NULL,'t_filo',-7979)")
    con.execute("CHECKPOINT")
    con.close()
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from data import access

    path = make_db(tmp_path_factory.mktemp("ineg") / "ineg.duckdb")
    previous = access.db_path()
    access.configure(path)
    yield path
    access.configure(previous)


@pytest.fixture(scope="module")
def page_mod(db):
    import app  # noqa: F401  (registers the pages; on first import it resets the DB path)
    from data import access
    from pages import inegalites

    access.configure(db)

    return inegalites


@pytest.fixture
def view_mod(page_mod):
    """What the page shows of a view (components/inegalites_view.py), on the same DB."""
    from components import inegalites_view

    return inegalites_view


def map_chars(v) -> dict[str, str]:
    """code -> its character in the map's compact style (class digit, "s", "m" or "n")."""
    assert len(v.codes) == len(v.cls)
    return dict(zip(v.codes, v.cls))


# --- Pure functions ----------------------------------------------------------------------------

def test_parse_breaks_french_and_errors():
    assert an.parse_breaks("10 ; 20,5 ; 1 000") == [10.0, 20.5, 1000.0]
    assert an.parse_breaks("30, 10") == [10.0, 30.0]
    assert an.parse_breaks("") == []
    with pytest.raises(ValueError, match="abc"):
        an.parse_breaks("10 ; abc")
    assert an.format_breaks([10.0, 20.5]) == "10 ; 20,5"


def test_gap_frame_with_missing_and_secret_references():
    values = pd.DataFrame({"code": ["A", "B", "C", "D", "E"],
                           "value": [40.0, None, 30.0, 20.0, None],
                           "status": ["ok", "secret", "ok", "ok", "missing"]})
    ref_of = {"A": "R1", "B": "R1", "C": "R2", "D": None, "E": "R1"}
    refs = pd.DataFrame({"code": ["R1", "R2"], "name": ["Bourg-Fictif", "Val"], "value": [20.0, None],
                         "status": ["ok", "secret"], "year": [2021, 2021]})
    df = an.gap_frame(values, ref_of, refs, "ratio").set_index("code")
    assert df.loc["A", "gap"] == pytest.approx(2.0) and df.loc["A", "gap_status"] == "ok"
    assert df.loc["B", "gap_status"] == "secret" and math.isnan(df.loc["B", "gap"])
    assert df.loc["C", "gap_status"] == "noref" and df.loc["C", "ref_status"] == "secret"
    assert math.isnan(df.loc["C", "ref_value"])            # a secret reference is not a number
    assert df.loc["D", "gap_status"] == "noref" and df.loc["D", "ref_status"] == "missing"
    assert df.loc["E", "gap_status"] == "missing"
    diff = an.gap_frame(values, ref_of, refs, "difference").set_index("code")
    assert diff.loc["A", "gap"] == pytest.approx(20.0)


def test_reference_codes_each_qpv_its_own():
    qpvs = pd.DataFrame({"code": ["Q1", "Q2", "Q3"], "commune": ["96001", "96002", None],
                         "epci": ["E1", "E1", "E2"], "departement": ["96", "96", "971"], "region": ["99"] * 3})
    assert an.reference_codes(qpvs, "commune") == {"Q1": "96001", "Q2": "96002", "Q3": None}
    assert an.reference_codes(qpvs, "epci")["Q3"] == "E2"
    fr = an.reference_codes(qpvs, "france", ["FR", "FRM"])
    assert fr == {"Q1": "FRM", "Q2": "FRM", "Q3": "FR"}
    assert an.reference_codes(qpvs, "france", ["FR"])["Q1"] == "FR"


def test_tooltip_lines_are_plain_data_with_hostile_reference_name():
    lines = an.tooltip_lines("Taux de pauvreté", "2021", 38.0, "ok", "%", 1, f"commune {HOSTILE}",
                             None, "missing", None, None, "noref", "ratio")
    assert lines[0] == "Taux de pauvreté (2021) : 38,0\u00a0%"
    assert lines[1] == f"Référence, commune {HOSTILE} : n.d."   # the raw string, not markup
    assert "non calculable" in lines[2]
    secret = an.tooltip_lines("Taux", "2021", None, "secret", "%", 1)
    assert secret == ["Taux (2021) : secret (non diffusé)"]
    assert "0" not in secret[0].split(":")[1]


def test_choropleth_hideout_keeps_apart_codes_out_of_classes():
    h = an.choropleth_hideout({"A": 0, "B": 2, "S": 1}, ["#1", "#2", "#3"], {"S": "secret", "M": "missing", "A": "ok"},
                              {"A": ["x"]}, "B")
    assert h["classes"] == {"A": 0, "B": 2}
    assert h["status"] == {"S": "secret", "M": "missing"}
    assert h["selected"] == "B" and h["colors"] == ["#1", "#2", "#3"]


def test_class_labels_manual_break_below_minimum():
    c = an.classify(list("abc"), [12610, 13000, 15200], "manual", 3, manual_breaks=[12000, 14000])
    labels = an.class_labels(c, 0, "€")
    assert labels[0] == "≤ 12\u202f000 €" and c.counts[0] == 0
    assert labels[1].startswith("]12\u202f000 ; 14\u202f000]")


def test_fmt_gap():
    assert an.fmt_gap(1.5, "ratio") == "×\u00a01,50"
    assert an.fmt_gap(4.3, "difference", 1, "%") == "+4,3\u00a0pts"          # points for a rate
    assert an.fmt_gap(-3.0, "difference", 1, "€") == "-3,0\u00a0€"
    assert an.fmt_gap(float("nan"), "ratio") == "n.d."


def test_diverging_palettes_put_unfavourable_at_the_warm_end():
    for name in pal.DIVERGING_PALETTES:
        for k in range(3, 8):
            cols = pal.palette(name, k, high_is_bad=True)
            assert len(cols) == k
            assert pal.palette(name, k, high_is_bad=False) == cols[::-1]
    assert pal.palette("RdBu", 5, True)[-1] == "#ca0020"       # red = high = unfavourable
    assert set(pal.SEQUENTIAL_PALETTES) <= set(pal.PALETTES)


def test_gap_classes_centred_on_parity():
    codes = list("abcdefg")
    ratios = [0.5, 0.8, 0.95, 1.2, 1.5, 2.0, 3.0]
    q = an.gap_classes(codes, ratios, "ratio", 5, "quantiles")
    c = q.classification
    assert 1.0 in [round(b, 9) for b in c.bins]                # parity is a class boundary
    assert sum(c.counts) == 7 and all(n > 0 for n in c.counts)  # no class wasted
    assert q.sides == ["below", "below", "above", "above", "above"]
    assert c.classes["a"] == 0 and c.classes["g"] == 4 and c.classes["c"] == 1 and c.classes["d"] == 2
    assert min(c.bins) > 0 and c.lower > 0                     # ratio bounds stay positive
    # all QPVs above their reference: every class is on the unfavourable side
    one_sided = an.gap_classes(list("abcdef"), [1.4, 1.6, 1.8, 2.0, 2.5, 2.9], "ratio", 3)
    assert one_sided.sides == ["above"] * 3 and sum(one_sided.classification.counts) == 6
    # symmetric equal intervals (gap_classification) on the log: x0.5 and x2 mirror each other
    e = an.gap_classes(list("abc"), [0.5, 1.0, 2.0], "ratio", 3, "equal")
    assert e.sides == ["below", "neutral", "above"]
    assert e.classification.bins[0] == pytest.approx(1 / e.classification.bins[1])
    d = an.gap_classes(list("abcd"), [-5, -2, 3, 10], "difference", 4, "equal")
    assert d.classification.bins == pytest.approx([-5, 0, 5, 10])
    m = an.gap_classes(codes, ratios, "ratio", 5, "manual", [0.8, 1.5, 2])
    assert m.classification.bins[:4] == pytest.approx([0.8, 1.0, 1.5, 2.0]) and m.message is None
    bad = an.gap_classes(codes, ratios, "ratio", 5, "manual", [-1])
    assert "positif" in bad.message
    assert an.gap_classes(list("ab"), [float("nan"), None], "ratio") is None
    zero = an.gap_classes(list("abcd"), [0.0, 0.9, 1.5, 2.0], "ratio", 4)     # a value of 0 is a real 0
    assert zero.classification.classes["a"] == 0 and sum(zero.classification.counts) == 4


def test_diverging_colors_orientation():
    sides = ["below", "below", "above", "above", "above"]
    cols = pal.diverging_colors("PuOr", sides, high_is_bad=True)
    assert len(cols) == 5 and cols[0] in pal.DIVERGING_11["PuOr"][:5] and cols[-1] == "#7f3b08"
    rev = pal.diverging_colors("PuOr", sides, high_is_bad=False)
    assert rev[-1] == "#2d004b"                                # high is good: far above parity is purple
    assert pal.diverging_colors("RdBu", ["below", "neutral", "above"], True)[1] == "#f7f7f7"


# --- Page logic on the fixture DB ------------------------------------------------------------------

def test_reference_values_at_prefers_the_same_year(db):
    from data import access

    ref = access.reference_values_at("taux_pauvrete_60", "departement", ["96", "98"], 2021).set_index("code")
    assert ref.loc["96", "year"] == 2021
    assert ref.loc["98", "year"] == 2019 and ref.loc["98", "value"] == 15.0   # closest earlier year
    assert access.reference_values_at("taux_pauvrete_60", "commune", [], 2021).empty


def test_state_roundtrip_and_validation(page_mod):
    st = page_mod.parse_state({"indicator": "taux_pauvrete_60", "year": "2019", "method": "jenks", "k": "4",
                               "mode": "ecart", "ref": "epci", "gap": "difference", "palette": "RdBu",
                               "scope": "departement:96", "qpv": "QN09601M", "view": "43.1,5.1,11"})
    from urllib.parse import parse_qsl  # Dash decodes the query string the same way

    again = page_mod.parse_state(dict(parse_qsl(page_mod.state_query(st)[1:])))
    assert again == st
    bad = page_mod.parse_state({"indicator": "nope", "k": "42", "method": "x", "mode": "y", "palette": "Zz",
                                "qpv": "<script>", "view": "999,0,3", "year": "1900"})
    assert bad.indicator == "taux_pauvrete_60" and bad.k == 7 and bad.method == "quantiles"
    assert bad.mode == "valeur" and bad.palette == "YlOrRd" and bad.qpv is None and bad.view is None
    assert bad.year == 2021 - 10000        # latest period by default: the undated diffusion vintage 2021


def test_secret_values_never_in_a_class_and_never_zero(page_mod, view_mod):
    st = page_mod.parse_state({"indicator": "taux_pauvrete_60", "k": "3"})
    v = page_mod.compute_view(st)
    cls = map_chars(v)
    assert cls["QN09602M"] == "s"                              # secret: drawn apart
    assert cls["QN09603N"] == "m"                              # no row at all: still listed, as missing
    assert "QN09602M" not in v.classification.classes and "QN09603N" not in v.classification.classes
    assert sum(v["classification"].counts) == 5               # the five known values only
    recs = {r["code"]: r for r in view_mod.table_records(st, v)}
    assert recs["QN09602M"]["value"] == "secret" and recs["QN09602M"]["statut"] == "secret statistique"
    assert recs["QN09603N"]["value"] == "n.d."
    assert recs["QN09602M"]["classe"].startswith("hors classes")
    assert "secret" in iv.tooltip(v, "QN09602M")[0]
    # the legend lists secret and missing apart, with their counts
    text = str(view_mod.legend_block(st, v).to_plotly_json())
    assert "Secret statistique" in text and "Pas de donnée" in text


def test_classification_methods_and_manual_breaks(page_mod):
    base = {"indicator": "taux_pauvrete_60", "k": "3"}
    for method in ("quantiles", "jenks", "equal"):
        v = page_mod.compute_view(page_mod.parse_state({**base, "method": method}))
        assert v["classification"].k == 3 and len(v["colors"]) == 3
        assert sum(v["classification"].counts) == 5
    v = page_mod.compute_view(page_mod.parse_state({**base, "method": "manual", "breaks": "30 ; 40"}))
    assert v["classification"].bins[:2] == [30.0, 40.0] and v["message"] is None
    assert v["classification"].counts == [2, 1, 2]          # 25, 30 | 38 | 45, 52
    bad = page_mod.compute_view(page_mod.parse_state({**base, "method": "manual", "breaks": "trente"}))
    assert "quantiles" in bad["message"] and bad["classification"].k == 3
    # orientation: a high poverty rate is unfavourable, so the darkest colour is the last class
    assert v["colors"] == pal.palette("YlOrRd", 3, True)
    rev = page_mod.compute_view(page_mod.parse_state({"indicator": "revenu_median_uc", "k": "3"}))
    assert rev["colors"] == pal.palette("YlOrRd", 3, False)   # a low income is unfavourable


def test_gap_mode_with_missing_references(page_mod, view_mod):
    st = page_mod.parse_state({"indicator": "taux_pauvrete_60", "mode": "ecart", "ref": "commune", "k": "5"})
    assert st.palette == "PuOr"
    v = page_mod.compute_view(st)
    df = v["frame"].set_index("code")
    assert df.loc["QN09601M", "gap"] == pytest.approx(45 / 20)
    assert df.loc["QN09801M", "gap_status"] == "noref"      # commune without value
    assert df.loc["QN09604M", "gap_status"] == "noref"      # commune value secret
    assert map_chars(v)["QN09801M"] == "n" and "QN09801M" not in v.classification.classes
    assert sum(v["classification"].counts) == 1              # only QN09601M has a gap to its commune
    assert v["classification"].classes["QN09601M"] == 0
    assert v["colors"] == [pal.DIVERGING_11["PuOr"][8]]      # above parity: an orange (unfavourable) hue
    assert "noref" in v["status"].values
    text = str(view_mod.legend_block(st, v).to_plotly_json())
    assert "référence secrète ou absente" in text
    # at EPCI level every known QPV has a reference
    v2 = page_mod.compute_view(page_mod.parse_state({**st.__dict__, "ref": "epci", "k": 5, "year": 2021}))
    assert sum(v2["classification"].counts) == 5
    assert v2["classification"].classes["QN09605C"] < v2["classification"].classes["QN09606M"]


def test_perimeter_2015_note_and_sources(page_mod, view_mod):
    st = page_mod.parse_state({"indicator": "taux_pauvrete_60"})
    v = page_mod.compute_view(st)
    notes = str([n.to_plotly_json() for n in view_mod.notes(st, v)])
    assert "Périmètre 2015" in notes and "Le Pré-Imaginaire" in notes
    recs = {r["code"]: r for r in view_mod.table_records(st, v)}
    assert recs["QN09604M"]["perimetre"].startswith("2015")
    src = " ".join(s.children for s in view_mod.source_line(st, v))
    assert "Indicateurs QPV fictifs" in src and "millésime 2021" in src and "Filosofi fictif" in src
    assert any("périmètre 2015" in line for line in iv.tooltip(v, "QN09604M"))


def test_hostile_names_stay_data(page_mod, view_mod):
    st = page_mod.parse_state({"indicator": "taux_pauvrete_60", "qpv": "QN09801M"})
    v = page_mod.compute_view(st)
    tips = iv.tooltip(v, "QN09801M")
    assert any(HOSTILE in line for line in tips)             # passed as data; atlas.js escapes it
    recs = {r["code"]: r for r in view_mod.table_records(st, v)}
    assert recs["QN09801M"]["name"] == HOSTILE               # DataTable shows it as text
    panel = view_mod.panel(st, "QN09801M")
    title = next(c for c in panel if getattr(c, "id", None) == "ineg-panel-title")
    assert title.children == HOSTILE                          # a text child, never HTML
    link = str([c.to_plotly_json() for c in panel])
    assert "/fiche?level=qpv&code=QN09801M" in link


def test_restyle_callback_outputs_hideout_not_geometry(page_mod):
    import app as app_mod
    from dash._callback import GLOBAL_CALLBACK_MAP as pending

    # Dash moves pending callbacks into app.callback_map once the app has served a request.
    GLOBAL_CALLBACK_MAP = {**pending, **app_mod.app.callback_map}
    handling = [(k, cb) for k, cb in GLOBAL_CALLBACK_MAP.items()
                if any(i["id"] == "ineg-indicator" and i["property"] == "value" for i in cb["inputs"])]
    assert handling, "no callback listens to the indicator"
    for key, _ in handling:
        assert "ineg-qpv.data" not in key, key                 # geometry is never sent by a callback
    # The layer's hideout is set once in the layout: a new hideout would make dash-leaflet re-create
    # every shape. Restyling goes through the live-style store (components.maps.live_style).
    assert not any("ineg-qpv.hideout" in key for key in GLOBAL_CALLBACK_MAP), "hideout written by a callback"
    assert any('"layer":"ineg-qpv"' in key and "atlas-live-style" in key for key, _ in handling)
    # one callback may change the layer's url, and only when the scope changed
    url_writers = [k for k in GLOBAL_CALLBACK_MAP if "ineg-qpv.url" in k]
    assert len(url_writers) == 1
    assert "ineg-scope" in [i["id"] for i in GLOBAL_CALLBACK_MAP[url_writers[0]]["inputs"]]
    out = page_mod.restyle_outputs("ineg-indicator", "revenu_median_uc", 2021, "valeur", "commune", "ratio",
                                   "quantiles", 5, "", None, "france")
    assert out[16] is page_mod.no_update and out[17] is page_mod.no_update     # no geometry re-sent
    out = page_mod.restyle_outputs("ineg-scope", "revenu_median_uc", 2021, "valeur", "commune", "ratio",
                                   "quantiles", 5, "", None, "departement:96")
    assert out[16] == "/geo/qpv.pbf?scope=departement:96" and "codes" in out[0]


def test_restyle_callback_direct_call(page_mod):
    out = page_mod.restyle_outputs("ineg-k", "taux_pauvrete_60", 2021, "ecart", "departement", "difference",
                                   "quantiles", 4, "", "BrBG", "france", "QN09601M")
    style, legend, data, columns = out[:4]
    assert set(style) == {"cls", "colors", "tip"}              # a character per QPV, no text per QPV
    assert len(style["cls"]) == 7 and len(style["colors"]) == 4
    assert style["tip"].startswith("/tooltip/inegalites?") and "mode=ecart" in style["tip"]
    row = next(r for r in data if r["code"] == "QN09601M")
    assert row["gap"] == pytest.approx(28.0) and row["ref_name"] == "Département des Licornes"
    assert any(c["id"] == "gap" and "pts" in c["name"] for c in columns)
    st = page_mod._state("taux_pauvrete_60", 2021, "ecart", "departement", "difference", "quantiles", 4, "",
                         "BrBG", "departement:96", "QN09601M", page_mod._view_param({"lat": 43.05, "lng": 5.1}, 11))
    url = page_mod.state_query(st)
    assert "method=quantiles" in url and "k=4" in url and "qpv=QN09601M" in url and "view=43.05000" in url


def _find_map(layout):
    from pages.inegalites import MAP_ID, _find

    return _find(layout, MAP_ID)


def test_layout_renders_and_restores_view(page_mod):
    lay = page_mod.layout(indicator="taux_pauvrete_60", method="equal", k="4", qpv="QN09601M",
                          view="43.02,5.1,12", scope="departement:96")
    found = {}

    def walk(c):
        cid = getattr(c, "id", None)
        if isinstance(cid, str):
            found[cid] = c
        kids = getattr(c, "children", None)
        for k in (kids if isinstance(kids, (list, tuple)) else [kids]):
            if hasattr(k, "to_plotly_json"):
                walk(k)
    walk(lay)
    assert found["ineg-method"].value == "equal" and found["ineg-k"].value == 4
    assert found["ineg-qpv-pick"].value == "QN09601M"
    assert found["ineg-map"].center == [43.02, 5.1] and found["ineg-map"].zoom == 12
    assert "bounds" not in found["ineg-map"].to_plotly_json()["props"]     # the URL's view wins
    fitted = page_mod.layout(scope="departement:96")
    assert "bounds" in _find_map(fitted).to_plotly_json()["props"]
    assert found["ineg-qpv"].url == "/geo/qpv.pbf?scope=departement:96"
    assert found["ineg-base-communes"].url == "/geo/commune.pbf?scope=departement:96"
    # no scope: communes of the only région; never every commune of a multi-région DB
    assert page_mod.commune_layer_url(None) == "/geo/commune.pbf?scope=region:99"
    assert found["ineg-qpv"].hideout["selected"] == "QN09601M"


def test_communes_not_loaded_for_a_multi_region_db_without_scope(page_mod, monkeypatch):
    monkeypatch.setattr(page_mod.access, "territories",
                        lambda level, within=None: pd.DataFrame({"code": ["93", "94"], "name": ["A", "B"]}))
    assert page_mod.commune_layer_url(None) is None
    assert page_mod.commune_layer_url(("departement", "13")) == "/geo/commune.pbf?scope=departement:13"


def test_note_when_the_reference_level_has_no_value(page_mod, view_mod):
    st = page_mod.parse_state({"indicator": "revenu_median_uc", "mode": "ecart", "ref": "epci"})
    v = page_mod.compute_view(st)
    text = str([n.to_plotly_json() for n in view_mod.notes(st, v)])
    assert "aucune valeur de cet indicateur à l'échelle « EPCI »" in text
    assert "niveaux disponibles : commune" in text
    assert v["classification"] is None
    assert set(v.cls) <= {"m", "n", "s"}                         # drawn apart, never a class


def test_indicator_change_goes_to_its_latest_year_unless_a_year_was_chosen(page_mod):
    # periods travel as URL tokens: "m2021" is the undated diffusion vintage 2021, newest first
    prev = [{"label": "millésime de diffusion 2021", "value": "m2021"},
            {"label": "millésime de diffusion 2019", "value": "m2019"}]
    opts, year = page_mod.next_year("taux_pauvrete_60", "m2021", prev)
    assert [o["value"] for o in opts] == ["m2021", "m2019"] and year == "m2021"
    assert page_mod.next_year("taux_pauvrete_60", "m2019", prev)[1] == "m2019"      # a chosen year is kept
    assert page_mod.next_year("revenu_median_uc", "m2019", prev)[1] == "m2021"      # not available: latest
    # The same round trip as the restyle: years, reference levels and palettes follow the indicator.
    out = page_mod.restyle_outputs("ineg-indicator", "taux_pauvrete_60", "m2019", "valeur", "commune", "ratio",
                                   "quantiles", 5, "", None, "france", None, prev)
    years, year, refs, pal_opts, scheme = out[8:13]
    assert [o["value"] for o in years] == ["m2021", "m2019"] and year == "m2019"
    labels = {o["value"]: o["label"] for o in refs}
    assert labels["commune"] == "Sa commune" and labels["france"] == "France"
    assert scheme in [o["value"] for o in pal_opts] and scheme == iv.default_palette("valeur", True)
    refs = page_mod.restyle_outputs("ineg-indicator", "revenu_median_uc", "m2021", "valeur", "commune", "ratio",
                                    "quantiles", 5, "", None, "france", None, prev)[10]
    assert {o["value"]: o["label"] for o in refs}["epci"].endswith("(pas de valeur)")
    # Another control: the indicator's controls are not sent again.
    out = page_mod.restyle_outputs("ineg-k", "taux_pauvrete_60", "m2021", "valeur", "commune", "ratio",
                                   "quantiles", 4, "", iv.default_palette("valeur", True), "france")
    assert all(x is page_mod.no_update for x in out[8:13])
    assert out[13] is True and out[14] == "control-group is-secondary"
    # Mode change: diverging palettes, gap controls shown.
    out = page_mod.restyle_outputs("ineg-mode", "taux_pauvrete_60", 2021, "ecart", "commune", "ratio",
                                   "quantiles", 4, "", "YlOrRd", "france")
    assert out[12] == "PuOr" and "PuOr" in [o["value"] for o in out[11]] and out[14] == "control-group"


def test_csv_export_of_the_table_keeps_secret_as_text(page_mod):
    from components.tables import to_csv_bytes

    df, stem, meta, _cols = page_mod._export_rows({"indicator": "taux_pauvrete_60"}, [])
    assert len(df) == 7 and stem == "inegalites_qpv"
    assert dict(meta)["Titre"].startswith("Inégalités entre quartiers prioritaires : Taux de pauvreté")
    csv = to_csv_bytes(df).decode("utf-8-sig")
    line = next(x for x in csv.splitlines() if "QN09602M" in x)
    cells = line.split(";")
    assert "secret" in cells and "secret statistique" in cells and "0" not in cells
    ok = next(x for x in csv.splitlines() if "QN09601M" in x).split(";")
    assert "45,0" in ok and "millésime de diffusion 2021" in ok                                       # French decimal comma


def test_no_commune_outlines_for_a_scope_of_thousands_of_communes(page_mod, monkeypatch):
    from components import maps

    many = pd.DataFrame({"code": [f"{i:05d}" for i in range(maps.COMMUNE_OUTLINES_MAX + 1)]})
    few = pd.DataFrame({"code": ["13001", "13002"]})
    monkeypatch.setattr(maps.access, "territories",
                        lambda level, within=None: many if within == ("region", "76") else few)
    assert maps.commune_layer_url(("region", "76")) is None            # 1,501 communes: outlines dropped
    assert maps.commune_layer_url(("departement", "13")) == "/geo/commune.pbf?scope=departement:13"


# --- Read path: memory, memoized views, paging, routes (issue 9) --------------------------------

STATES = [{"indicator": "taux_pauvrete_60"}, {"indicator": "taux_pauvrete_60", "mode": "ecart", "ref": "epci"},
          {"indicator": "taux_pauvrete_60", "method": "manual", "breaks": "30 ; 40", "k": "3"},
          {"indicator": "revenu_median_uc", "mode": "ecart", "gap": "difference"},
          {"indicator": "taux_pauvrete_60", "scope": "departement:96", "method": "jenks", "year": "2019"}]


def _same_view(a, b) -> None:
    pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(a.refs.reset_index(drop=True), b.refs.reset_index(drop=True))
    assert (a.codes, a.cls, a.colors, a.labels, a.message, a.records) == (b.codes, b.cls, b.colors, b.labels,
                                                                           b.message, b.records)
    assert (a.classification is None) == (b.classification is None)
    if a.classification:
        assert a.classification.__dict__ == b.classification.__dict__


def test_cached_and_uncached_views_are_identical(page_mod):
    for q in STATES:
        st = iv.parse_state(q)
        first = iv.compute_view(st)
        assert iv.compute_view(st) is first                                  # the second asker: the same view
        assert iv.compute_view(iv.parse_state({**q, "qpv": "QN09601M", "view": "43,5,9"})) is first
        _same_view(first, iv.compute_view_uncached(st))


def test_memory_and_views_follow_a_db_replaced_while_the_app_runs(db, tmp_path):
    import os
    import shutil

    import duckdb

    from data import access, memory

    live = tmp_path / "live.duckdb"
    shutil.copy(db, live)
    access.configure(live)
    try:
        st = iv.parse_state({"indicator": "taux_pauvrete_60"})
        before = iv.compute_view(st)
        tables = memory.tables()
        assert before.frame.set_index("code").loc["QN09601M", "value"] == 45.0
        new = tmp_path / "new.duckdb"
        shutil.copy(db, new)
        con = duckdb.connect(str(new))
        con.execute("UPDATE indicator_value SET value = 61.5 WHERE code = 'QN09601M' AND year = 2021 "
                    "AND indicator_id = 'taux_pauvrete_60'")
        con.close()
        os.replace(new, live)                                                # what a build or an import does
        after = iv.compute_view(st)
        assert memory.tables() is not tables                                 # columns read again
        assert after is not before
        assert after.frame.set_index("code").loc["QN09601M", "value"] == 61.5
        assert access.values("taux_pauvrete_60", "qpv").set_index("code").loc["QN09601M", "value"] == 61.5
    finally:
        access.configure(db)


def test_table_is_paged_and_sorted_on_the_server(page_mod, monkeypatch):
    monkeypatch.setattr(iv, "PAGE_SIZE", 2)
    v = iv.compute_view(iv.parse_state({"indicator": "taux_pauvrete_60"}))
    assert iv.page_count(v, 2) == 4
    desc = iv.table_rows(v, [{"column_id": "value", "direction": "desc"}])
    asc = iv.table_rows(v, [{"column_id": "value", "direction": "asc"}])
    assert [r["value"] for r in desc[:5]] == [52.0, 45.0, 38.0, 30.0, 25.0]
    assert [r["value"] for r in asc[:5]] == [25.0, 30.0, 38.0, 45.0, 52.0]
    assert {r["value"] for r in desc[5:]} == {"secret", "n.d."} == {r["value"] for r in asc[5:]}   # last both ways
    assert [r["code"] for r in iv.table_page(v, [{"column_id": "value", "direction": "desc"}], 1, 2)] == [
        "QN09801M", "QN09604M"]
    assert iv.page_of(v, "QN09801M", [{"column_id": "value", "direction": "desc"}], 2) == 1
    names = [r["name"] for r in iv.table_rows(v, [{"column_id": "name", "direction": "asc"}])]
    assert names == sorted(names, key=lambda n: fold_name(n))


def fold_name(n):
    from data.memory import fold

    return fold(n)


def test_select_turns_to_the_page_of_the_selected_qpv_in_one_round_trip(page_mod):
    controls = ("taux_pauvrete_60", 2021, "valeur", "commune", "ratio", "quantiles", 5, "", "YlOrRd", "france")
    sort = [{"column_id": "value", "direction": "asc"}]
    style, cond, data, page, panel, opts = page_mod.select_outputs("ineg-qpv-pick", "QN09606M", 0, sort, *controls,
                                                                   [{"value": "QN09606M"}])
    assert style == {"selected": "QN09606M"} and page == 0
    assert "QN09606M" in [r["code"] for r in data] and opts is page_mod.no_update
    assert any(getattr(c, "id", None) == "ineg-panel-title" for c in panel)
    assert cond[0]["if"]["filter_query"] == '{id} = "QN09606M"'
    # a page turn answers the page only
    out = page_mod.select_outputs({"type": "atlas-table", "table": "ineg-table"}, "QN09606M", 0, sort, *controls)
    assert out[2] and all(x is page_mod.no_update for x in out[:2] + out[3:])


def test_tooltip_and_full_table_routes(page_mod):
    import app as app_mod

    client = app_mod.server.test_client()
    r = client.get("/tooltip/inegalites?indicator=taux_pauvrete_60&code=QN09801M")
    assert r.status_code == 200 and r.headers["ETag"]
    lines = r.get_json()["lines"]
    assert any(HOSTILE in line for line in lines)                             # data; atlas.js escapes it
    assert client.get("/tooltip/inegalites?indicator=taux_pauvrete_60&code=NOPE").status_code == 404
    assert client.get("/tooltip/inconnu?code=QN09801M").status_code == 404
    again = client.get("/tooltip/inegalites?indicator=taux_pauvrete_60&code=QN09801M",
                       headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    csv = client.get("/export/table/inegalites.csv?indicator=taux_pauvrete_60&sort=value:desc")
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    lines = csv.data.decode("utf-8-sig").splitlines()
    blank = lines.index("")                                                   # provenance lines, then the table
    head, text = lines[:blank], lines[blank + 1:]
    from data import access
    assert any(x.startswith("Avertissement;Données fictives") for x in head) == access.is_fictional()
    assert any(x.startswith("Exporté;depuis Atlas ASV le ") for x in head), head
    assert any(x.startswith("Source;") and "Source : " in x for x in head) and any(x.startswith("Années décrites;") and "quartiers : " in x and "référence (commune) : " in x
                for x in head), head
    assert len(text) == 1 + 7                                                  # every row, not one page
    assert "QN09606M" in text[1]                                              # sorted: 52 % first
    xlsx = client.get("/export/table/inegalites.xlsx?indicator=taux_pauvrete_60")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    import io

    import openpyxl
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    assert wb.sheetnames == ["Données", "Métadonnées"]
    meta = {r[0]: r[1] for r in wb["Métadonnées"].iter_rows(min_row=2, values_only=True)}
    assert meta["Source"].startswith("Source : ") and meta["Titre"].startswith("Inégalités")
    assert client.get("/export/table/inegalites.ods").status_code == 404


def test_panel_says_the_class_of_the_selected_qpv(page_mod, view_mod):
    """The panel (aria-live) speaks the QPV's class as the table writes it, and follows the number
    of classes; a QPV with no value says why it has no class."""
    import json

    import plotly
    for k in (3, 5):
        st = page_mod.parse_state({"indicator": "taux_pauvrete_60", "k": str(k)})
        v = page_mod.compute_view(st)
        rec = next(r for r in view_mod.table_records(st, v) if r["classe"][:1].isdigit())
        text = json.dumps(view_mod.panel(st, rec["code"]), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)
        assert "Classe sur la carte" in text and f'{rec["classe"]} (sur {k})' in text
    st = page_mod.parse_state({"indicator": "taux_pauvrete_60"})
    v = page_mod.compute_view(st)
    apart = [r for r in view_mod.table_records(st, v) if r["classe"].startswith("hors classes")]
    assert apart, "the demo has QPVs without a class"
    text = json.dumps(view_mod.panel(st, apart[0]["code"]), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)
    assert apart[0]["classe"] in text and "(sur " not in text


def test_the_panel_names_the_source_of_every_figure(page_mod, view_mod):
    """The QPV's value and each reference value in the panel come with their source."""
    import json

    import plotly

    from data import access

    st = iv.parse_state({"indicator": "taux_pauvrete_60"})
    v = access.values("taux_pauvrete_60", "qpv")
    code = v[v.status == "ok"].code.iloc[0]
    text = json.dumps(view_mod.panel(st, code), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)
    line = next(x for x in text.split('"children": "')[1:] if x.startswith("Source : "))
    assert "références : Filosofi fictif" in line, line
