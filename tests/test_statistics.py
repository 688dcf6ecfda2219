"""Issue 20: statistics that hold up — the methods against published reference values, the
comparison rule on constructed cases, funnel limits, nearest neighbours (data/stats.py); intervals
from counts or approximated denominators (data/views/intervals.py); and what the pages build from
them on the demo DB (Inégalités, funnel, Fiche, Comparer, comparable QPVs, exports)."""
from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pytest

from data import stats
from tests.conftest import app_reading


# --- Methods against published reference values ----------------------------------------------------

def test_wilson_5_of_22():
    lo, hi = stats.wilson(5, 22, 0.95)
    assert round(lo[0] * 100, 1) == 10.1 and round(hi[0] * 100, 1) == 43.4


def test_exact_poisson_7_events():
    lo, hi = stats.exact_poisson(7, 0.95)
    assert round(lo[0], 2) == 2.81 and round(hi[0], 2) == 14.42


def test_byar_82_events_in_10000():
    lo, hi = stats.poisson_rate(82, 10_000, 0.95, per=100_000)
    assert round(lo[0]) == 652 and round(hi[0]) == 1018
    b_lo, b_hi = stats.byar(82)
    assert round(b_lo[0] * 10, 0) == 652 and round(b_hi[0] * 10, 0) == 1018


def test_poisson_rate_is_exact_below_10_and_byar_from_10():
    lo, hi = stats.poisson_rate([7, 10], [1, 1])
    e_lo, e_hi = stats.exact_poisson([7, 10])
    b_lo, b_hi = stats.byar([7, 10])
    assert lo[0] == e_lo[0] and hi[0] == e_hi[0]           # 7 events: exact
    assert lo[1] == b_lo[1] and hi[1] == b_hi[1]           # 10 events: Byar
    assert stats.exact_poisson(0)[0][0] == 0.0


def test_wider_at_99_8_and_unknown_counts_give_no_interval():
    lo95, hi95 = stats.wilson(50, 200, 0.95)
    lo998, hi998 = stats.wilson(50, 200, 0.998)
    assert lo998[0] < lo95[0] < 0.25 < hi95[0] < hi998[0]
    lo, hi = stats.wilson([np.nan, 5, 30], [100, 0, 20])      # unknown, no denominator, count > n
    assert np.isnan(lo).all() and np.isnan(hi).all()
    lo, hi = stats.interval(None, [5], [22])
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    lo, hi = stats.interval("wilson", [5], [22], 0.95, 100)
    assert round(lo[0], 1) == 10.1 and round(hi[0], 1) == 43.4


def test_level_tokens():
    assert stats.level_token("99.8") == stats.level_token("99,8") == stats.level_token("0.998") == "99.8"
    assert stats.level_token(None) == stats.level_token("<script>") == stats.level_token("50") == "95"


# --- The comparison rule -----------------------------------------------------------------------------

@pytest.mark.parametrize("benchmark,polarity,expected", [
    (45, True, "similar"), (45, False, "similar"), (45, None, "similar"),       # inside [40, 60]
    (30, True, "worse"), (30, False, "better"), (30, None, "higher"),          # the value is above
    (70, True, "better"), (70, False, "worse"), (70, None, "lower"),           # the value is below
    (40, True, "similar"), (60, None, "similar"),                              # on a bound: inside
])
def test_comparison_follows_the_polarity(benchmark, polarity, expected):
    assert stats.compare(50, 40, 60, benchmark, polarity)[0] == expected


def test_without_interval_value_or_benchmark_nothing_is_tested():
    out = stats.compare([50, np.nan, 50, 50], [np.nan, 40, 40, 40], [np.nan, 60, 60, 60], [30, 30, np.nan, 30],
                        float("nan"))
    assert list(out[:3]) == ["not_tested"] * 3 and out[3] == "higher"      # NaN polarity: none declared
    assert stats.outcome_text("worse") == "✗ Moins bon" and stats.outcome_text("not_tested") == "– Non testé"
    assert stats.outcome_text("similar") == "≈ Similaire" and stats.outcome_text("higher") == "▲ Plus haut"


# --- Funnel limits ---------------------------------------------------------------------------------

def test_funnel_limits_narrow_with_the_denominator_and_hold_the_level():
    from scipy import stats as sps

    n = np.array([50, 500, 5000, 50_000])
    lo95, hi95 = stats.funnel_limits("wilson", 20.0, n, 0.95)
    lo998, hi998 = stats.funnel_limits("wilson", 20.0, n, 0.998)
    assert (lo998 <= lo95).all() and (hi95 <= hi998).all()
    assert (np.diff(hi95) < 0).all() and (np.diff(lo95) > 0).all()         # the funnel narrows
    assert abs(hi95[-1] - 20) < 0.5 and abs(lo95[-1] - 20) < 0.5
    # about 2.5 % of a binomial(500, 0.2) lies above the upper 95 % limit
    assert sps.binom.sf(np.floor(hi95[1] / 100 * 500), 500, 0.2) == pytest.approx(0.025, abs=0.01)
    lo, hi = stats.funnel_limits("poisson", 820.0, np.array([10_000, 100_000]), 0.95, 100_000)
    assert lo[0] < lo[1] < 820 < hi[1] < hi[0]
    assert np.isnan(stats.funnel_limits("wilson", None, n)[0]).all()
    assert np.isnan(stats.funnel_limits("median", 20.0, n)[0]).all()


# --- Nearest neighbours ------------------------------------------------------------------------------

def test_nearest_neighbours_are_deterministic_and_handle_missing_values():
    raw = np.array([[1.0, 2.0, 3.0], [1.1, 2.1, 3.1], [1.1, 2.1, 3.1], [9.0, 9.0, 9.0],
                    [1.0, np.nan, np.nan], [np.nan, 2.0, 3.0]])
    z = stats.standardise(raw)
    rows, dist, shared = stats.nearest(z, 0, k=4)
    assert 0 not in rows                                   # never itself
    # row 5 equals row 0 on the 2 variables it has (distance 0); rows 1 and 2, equally far, in row order
    assert list(rows[:3]) == [5, 1, 2] and dist[0] == 0 and shared[0] == 2
    assert 4 not in rows                                   # shares 1 variable of 3: not compared
    assert list(dist) == sorted(dist)
    again = stats.nearest(z, 0, k=4)
    assert (again[0] == rows).all()
    assert stats.nearest(stats.standardise(np.array([[np.nan], [1.0]])), 0)[0].size == 0


# --- Intervals from counts, approximated denominators ----------------------------------------------------

def test_intervals_from_counts_approximations_and_reasons(monkeypatch):
    from data.views import intervals

    ind = {"ci_method": "wilson", "ci_numerator": "personnes pauvres", "ci_denominator": "personnes",
           "ci_scale": 100.0, "ci_denominator_from": "population", "ci_denominator_note": "population du recensement",
           "high_is_bad": True}
    pop = pd.DataFrame({"code": ["A", "B", "C"], "value": [1000.0, 2000.0, 500.0], "status": ["ok"] * 3,
                        "perimeter": ["exact", "exact", "perimetre_2015"]})
    monkeypatch.setattr(intervals.access, "values", lambda *a, **k: pop)
    df = pd.DataFrame({"code": ["A", "B", "C", "D", "E"], "value": [22.7, 40.0, 30.0, np.nan, 10.0],
                       "status": ["ok", "ok", "ok", "secret", "ok"], "numerator": [5, np.nan, np.nan, np.nan, np.nan],
                       "denominator": [22, np.nan, np.nan, np.nan, np.nan],
                       "perimeter": ["exact", "exact", "exact", "exact", "exact"]})
    out = intervals.with_intervals(df, ind)
    assert [b if isinstance(b, str) else None for b in out.ci_basis] == ["counts", "approx", None, None, None]
    assert round(out.ci_lo[0], 1) == 10.1 and round(out.ci_hi[0], 1) == 43.4         # its own counts first
    assert out.ci_den[1] == 2000 and out.ci_num[1] == pytest.approx(800)             # 40 % of 2 000
    assert out.ci_why[2] == intervals.NO_COUNTS                # a 2015-perimeter population: not used
    assert out.ci_why[3] == intervals.SECRET and out.ci_why[4] == intervals.NO_COUNTS
    tested = intervals.tested(out, [20.0] * 5, True)
    assert list(tested) == ["similar", "worse", "not_tested", "not_tested", "not_tested"]
    assert intervals.with_intervals(df, {"ci_method": None}).ci_why[0] == intervals.NO_METHOD
    text = intervals.basis_text(intervals.spec(ind), "approx", 800, 2000)
    assert "800 personnes pauvres sur 2\u202f000 personnes" in text and "dénominateur approché" in text


def test_catalogue_refuses_an_interval_without_its_counts():
    from etl.build import _interval
    from etl.errors import InputError

    assert _interval({"id": "x"}, 1) == (None,) * 6
    ok = _interval({"id": "x", "interval": "wilson", "numerator_label": "a", "denominator_label": "b"}, 1)
    assert ok == ("wilson", "a", "b", 100.0, None, None)
    for bad, field in (({"interval": "normal"}, "interval"), ({"interval": "wilson"}, "numerator_label"),
                       ({"interval": "wilson", "numerator_label": "a", "denominator_label": "b",
                         "denominator_from": "population"}, "denominator_note")):
        with pytest.raises(InputError) as exc:
            _interval({"id": "x", **bad}, 3)
        assert "catalogue.toml" in str(exc.value) and "n° 3" in str(exc.value) and field in str(exc.value)


# --- On the demo DB ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(demo_db_module):
    with app_reading(demo_db_module) as access:
        yield access


def test_inegalites_view_tests_each_qpv_against_its_reference(demo):
    from data.views import funnel as fn
    from data.views import inegalites as iv

    st = iv.parse_state({"indicator": "part_allocataires_rsa", "ref": "ensemble_qpv"})
    v = iv.compute_view(st)
    f = v.frame.set_index("code")
    counted = f[f.ci_basis == "counts"]
    assert len(counted) >= 5
    r = counted.iloc[0]
    lo, hi = stats.wilson(r.numerator, r.denominator)
    assert r.ci_lo == pytest.approx(lo[0] * 100) and r.ci_hi == pytest.approx(hi[0] * 100)
    assert set(f.loc[f.status == "secret", "test"]) == {"not_tested"}
    expected = stats.compare(counted.value, counted.ci_lo, counted.ci_hi, counted.ref_value, True)
    assert list(counted.test) == list(expected) and {"worse", "similar"} <= set(expected)
    lines = iv.tooltip(v, r.name)
    assert any(x.startswith("Intervalle de confiance à 95 % : [") for x in lines)
    assert any(x.startswith("Comparaison testée avec la référence : ") for x in lines)
    rec = v.record(v._position[r.name])
    assert rec["ci_lo"] == round(r.ci_lo, 1) and rec["test"] == stats.outcome_text(r.test)
    # 99,8 %: wider intervals, and the level in the URL
    st998 = iv.parse_state({"indicator": "part_allocataires_rsa", "ref": "ensemble_qpv", "ic": "99.8"})
    f998 = iv.compute_view(st998).frame.set_index("code")
    assert (f998.loc[counted.index, "ci_lo"] < counted.ci_lo).all()
    assert "ic=99.8" in iv.state_query(st998) and "ic=" not in iv.state_query(st)
    # the funnel: one benchmark (all QPVs share "ensemble des QPV"), QPVs beyond the limits named
    fu = fn.funnel(v)
    assert fu.why is None and fu.target == pytest.approx(f.ref_value.dropna().iloc[0])
    assert len(fu.points) == len(counted) and set(fu.points.outside) <= {"", "95", "99.8"}
    named = fn.outside_text(fu, "99.8") + fn.outside_text(fu, "95")
    assert named and all("(" in n for n in named)
    # the demo's 19 QPVs differ more than chance explains: limits widened, and said with φ and with
    # how many QPVs the exact limits would flag
    from components import funnel as fc
    ids = lambda f: [getattr(p, "id", None) for p in fc.texts(v, f)]  # noqa: E731
    assert fu.adjusted and fu.dispersion["n"] == len(fu.points) and fu.dispersion["phi"] > 1
    ex_lo, ex_hi = stats.funnel_limits("wilson", fu.target, fu.points.den, 0.998)
    assert fu.unadjusted_beyond == int(((fu.points.value < ex_lo) | (fu.points.value > ex_hi)).sum())
    note = next(p for p in fc.texts(v, fu) if getattr(p, "id", None) == "ineg-funnel-overdispersed").children
    assert f"sur {len(fu.points)} quartiers" in note and f"{fu.unadjusted_beyond} quartier(s)" in note
    assert "élargies pour la surdispersion" in fc.source(v, fu)
    assert {t.name for t in fc.figure(v, fu).data if t.name and t.name.startswith("Limites")} == {
        "Limites à 95 % (corrigées)", "Limites à 99,8 % (corrigées)"}
    from dataclasses import replace
    exact = replace(fu, dispersion=None)
    assert "ineg-funnel-overdispersed" not in ids(exact) and "exacte" in fc.source(v, exact)
    # an indicator without counts has no funnel, and says why
    assert "sans effectifs" in fn.funnel(iv.compute_view(iv.parse_state({"indicator": "revenu_median_uc"}))).why


def test_overdispersion_by_hand():
    """Spiegelhalter (2005) on ten rates of denominator 100 whose z-scores on the square-root scale
    are known: winsorised at 10 % / 90 % (±4 -> ±2,2), φ = 21,68 / 10, I·φ above χ²(9) at 95 %
    (16,92), τ² = (21,68 − 9) / (4 000 − 400)."""
    z = np.array([-4, -2, -1, -1, 0, 0, 1, 1, 2, 4], dtype=float)
    values, n = (0.5 + 0.05 * z) ** 2, np.full(10, 100.0)        # target 0,25: √0,25 = 0,5; s = 1 / (2√100)
    od = stats.overdispersion("poisson", 0.25, values, n, scale=1.0)
    assert od["n"] == 10 and od["phi"] == pytest.approx(2.168) and od["overdispersed"]
    assert od["tau2"] == pytest.approx(12.68 / 3600)
    lo, hi = stats.adjusted_funnel_limits("poisson", 0.25, [100.0], od["tau2"], 0.95, scale=1.0)
    half = 1.959964 * np.sqrt(1 / 400 + 12.68 / 3600)
    assert lo[0] == pytest.approx((0.5 - half) ** 2) and hi[0] == pytest.approx((0.5 + half) ** 2)
    # the same z-scores, halved: within chance, no random effect
    calm = stats.overdispersion("poisson", 0.25, (0.5 + 0.025 * z) ** 2, n, scale=1.0)
    assert not calm["overdispersed"] and calm["tau2"] == 0
    assert stats.overdispersion("poisson", 0.25, values[:9], n[:9], scale=1.0) is None      # too few points


def test_overdispersed_proportions_get_limits_that_hold_them():
    """Binomial counts whose true proportions vary between areas (as real QPVs do): most fall beyond
    the exact 99,8 % limits; the widened ones hold nearly all; without extra variation, no widening."""
    rng = np.random.default_rng(7)
    n = rng.integers(500, 8000, 200).astype(float)
    spread = rng.binomial(n.astype(int), np.clip(rng.normal(0.4, 0.06, 200), 0.05, 0.95)) / n * 100
    od = stats.overdispersion("wilson", 40.0, spread, n)
    assert od["overdispersed"] and od["phi"] > 10
    beyond = lambda lo, hi: ((spread < lo) | (spread > hi)).mean()   # noqa: E731
    assert beyond(*stats.funnel_limits("wilson", 40.0, n, 0.998)) > 0.5
    assert beyond(*stats.adjusted_funnel_limits("wilson", 40.0, n, od["tau2"], 0.998)) < 0.05
    calm = rng.binomial(n.astype(int), 0.4) / n * 100
    assert not stats.overdispersion("wilson", 40.0, calm, n)["overdispersed"]


def test_funnel_benchmark_falls_back_to_france_when_references_differ(demo):
    from data.views import funnel as fn
    from data.views import inegalites as iv

    fu = fn.funnel(iv.compute_view(iv.parse_state({"indicator": "taux_pauvrete_60", "ref": "commune"})))
    assert fu.why is None and "France" in fu.target_label and "diffère d'un quartier à l'autre" in fu.note
    assert fu.approx == len(fu.points) > 0                 # denominators approximated: said


def test_funnel_benchmark_falls_back_to_all_qpvs_without_a_national_value(demo, monkeypatch):
    """Real QPV files (CAF, CNAM) give no national value but the all-QPV one: the funnel is drawn
    around it and says so; with no benchmark at all, no empty axes, the reason in the chart."""
    from components import funnel as fc
    from data.views import funnel as fn
    from data.views import inegalites as iv

    real = demo.reference_values_at
    monkeypatch.setattr(demo, "reference_values_at",
                        lambda ind, lvl, codes, period=None: real(ind, lvl, codes, period).iloc[:0]
                        if lvl == "france" else real(ind, lvl, codes, period))
    v = iv.compute_view(iv.parse_state({"indicator": "taux_pauvrete_60", "ref": "commune"}))
    fu = fn._funnel(v)
    assert fu.why is None and fu.target_label.startswith("Ensemble des") and "Ensemble des" in fu.note
    monkeypatch.setattr(demo, "reference_values_at", lambda ind, lvl, codes, period=None: real(ind, lvl, codes, period).iloc[:0])
    none = fn._funnel(v)
    assert "pas d'entonnoir" in none.why
    assert fc.graph_style(none) == {"display": "none"} and fc.graph_style(fu) == {}
    assert "pas d'entonnoir" in fc.texts(v, none)[0].children


def test_inegalites_export_carries_bounds_method_level_and_outcome(demo):
    import app

    body = app.server.test_client().get("/export/table/inegalites.csv?indicator=part_allocataires_rsa"
                                        "&ref=ensemble_qpv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    header = next(r for r in rows if "Statut" in r)
    for col in ("IC 95 % : borne basse", "IC 95 % : borne haute",
                "Comparaison testée avec la référence (IC 95 %)", "Niveau de confiance",
                "Méthode de l'intervalle (effectifs)"):
        assert col in header, header
    data = [dict(zip(header, r)) for r in rows[rows.index(header) + 1:] if len(r) == len(header)]
    counted = [d for d in data if d["Niveau de confiance"] == "95 %"]
    assert counted and all("score de Wilson" in d["Méthode de l'intervalle (effectifs)"] for d in counted)
    assert all(d["Comparaison testée avec la référence (IC 95 %)"].split()[-1] in
               ("bon", "Similaire", "Meilleur") for d in counted)
    assert any("Intervalles" in r[0] for r in rows[:header_index(rows)])


def header_index(rows) -> int:
    return next(i for i, r in enumerate(rows) if "Statut" in r)


def test_comparable_qpvs_are_ten_deterministic_and_documented(demo):
    from data.views import comparables

    code = "QN09805M"
    df = comparables.comparables(code)
    assert len(df) == 10 and code not in set(df.code) and list(df.rang) == list(range(1, 11))
    assert list(df.distance) == sorted(df.distance)
    assert list(comparables.comparables(code).code) == list(df.code)
    used, left_out = comparables.variables()
    assert "Taux de pauvreté au seuil de 60 %" in used and any("logarithme" in u for u in used)
    median, n = comparables.median_value("taux_pauvrete_60", code)
    peers = demo.values("taux_pauvrete_60", "qpv").set_index("code").loc[list(df.code)]
    assert median == pytest.approx(peers[peers.status == "ok"].value.median()) and n >= 3
    assert comparables.comparables("QN00000X").empty
    # the figures listed say the year they describe and their source (the Fiche, its export, the PDF)
    years, sources = comparables.provenance(code)
    assert "Taux de pauvreté : 2019" in years and any(s.startswith("Filosofi 2019") for s in sources)
    from components.portrait import comparables_section
    text = str(comparables_section(code))
    assert "Années décrites" in text and "Filosofi 2019" in text


def test_fiche_determinants_carry_interval_and_test(demo):
    from data.views import portrait

    df = portrait.determinants("qpv", "QN09805M", "95", "ensemble_qpv")
    row = df.set_index("indicator_id")
    assert row.loc["taux_pauvrete_60", "IC 95 %"].endswith("†")            # approximated denominator, said
    assert row.loc["taux_pauvrete_60", "Test / ens. QPV"] == "✗ Moins bon"
    assert row.loc["revenu_median_uc", "IC 95 %"] == "sans objet"
    assert row.loc["part_allocataires_rsa", "Test / ens. QPV"] == "– Non testé (valeur secrète)"
    assert any("† Intervalle à dénominateur approché" in n for n in df.attrs["notes"])
    cols = list(df.columns)
    assert cols.index("Test / ens. QPV") == cols.index("IC 95 %") + 1
    dep = portrait.determinants("qpv", "QN09805M")
    assert "Test / départ." in dep.columns
    assert dep.set_index("indicator_id").loc["part_c2s", "Test / départ."] == "– Non testé (sans référence)"
    comp = portrait.determinants("qpv", "QN09805M", "99.8", "comparables")
    assert "IC 99,8 %" in comp.columns and "Test / QPV comparables" in comp.columns


def test_key_points_put_tested_gaps_first_and_say_untested_ones(demo):
    """The portrait's key points: first the values significantly less favourable than the test
    reference, then gaps of more than 10 % to the département that no test can back, said untested
    with the reason; each line gives both figures and both years."""
    from data.views import portrait

    plain = lambda ps: [p.replace("\xa0", " ").replace("\u202f", " ") for p in ps]  # noqa: E731  (French spaces)
    pts = plain(portrait.determinants("qpv", "QN09805M", "95", "france").attrs["points"])
    assert pts[0].startswith("Taux de pauvreté : 49,2 % (2019) contre ")
    assert pts[0].endswith(" pour la France (2019) : significativement plus défavorable (IC 95 %).")
    assert "Revenu médian : 13 410 € (2019) contre 20 710 € dans le département (2019) ; écart non testé " \
           "(indicateur sans effectifs)." in pts
    tested = [p for p in pts if "significativement" in p]
    assert pts[:len(tested)] == tested and 1 <= len(tested) < len(pts) <= 4
    assert all("écart non testé" in p for p in pts[len(tested):])
    # at 99,8 % against the département, the same gap is still significant and named with its level
    dep = plain(portrait.determinants("qpv", "QN09805M", "99.8").attrs["points"])
    assert dep[0].endswith(" pour le département (2019) : significativement plus défavorable (IC 99,8 %).")


def test_default_reference_of_the_tests_is_the_one_with_most_values(demo, monkeypatch):
    """Real files give QPV indicators no département value (ONPV, CAF): the Fiche's tests then go
    to the reference with a value for most of them, said in the notes; the URL keeps the choice
    only when it is not the territory's default, and a new territory gets its own default."""
    import app  # noqa: F401  (registers the pages)
    from data.views import portrait
    from pages import fiche

    assert portrait.default_test_ref("qpv", "QN09805M") == "departement"     # the demo has them all
    real = demo.reference_values_at

    def no_departement(ind, lvl, codes, period=None):
        df = real(ind, lvl, codes, period)
        return df.iloc[:0] if lvl == "departement" else df
    monkeypatch.setattr(demo, "reference_values_at", no_departement)
    assert portrait._default_test_ref.uncached(("qpv", "QN09805M")) == "commune"
    monkeypatch.setattr(portrait, "default_test_ref", lambda level, code: "commune" if code == "QN09805M" else "departement")
    df = portrait.determinants("qpv", "QN09805M")
    assert "Test / commune" in df.columns
    assert any("la référence qui a une valeur pour le plus grand nombre" in n for n in df.attrs["notes"])
    assert fiche.fiche_search("qpv", "QN09805M", "95", "commune") == "?level=qpv&code=QN09805M"
    # another territory chosen while the default was in use: its own default
    *_, test, summary = fiche.show("QN09601M", "commune", "95", "qpv", "?level=qpv&code=QN09805M")
    assert test == "departement" and summary.startswith("Tests et intervalles : départ.")
    # a reference chosen by the user (in the URL) is kept
    *_, test, _ = fiche.show("QN09601M", "commune", "95", "qpv", "?level=qpv&code=QN09805M&test=commune")
    assert test == "commune"


def test_comparer_says_significant_only_when_the_test_says_so(demo):
    from data.views.comparer import comparison_frame, plain_sentences

    terrs = [("qpv", "QN09805M"), ("qpv", "QN09603M")]
    df = comparison_frame(terrs, ["part_familles_monoparentales"], "ensemble_qpv")
    sel = df[~df.is_reference].set_index("code")
    assert sel.loc["QN09805M", "test"] == "worse" and sel.loc["QN09603M", "test"] == "similar"
    [s] = plain_sentences(df)
    assert s.count("significativement plus élevée") == 1 and "situation moins bonne" in s
    assert "Écart non significatif au seuil de 95 %" in s
    [s] = plain_sentences(comparison_frame(terrs, ["revenu_median_uc"], "ensemble_qpv"))
    assert "significativement" not in s and "Écart non testé" in s
    # the comparables' median as a reference
    df = comparison_frame([("qpv", "QN09805M"), ("commune", "98019")], ["taux_pauvrete_60"], "comparables")
    ref = df[df.is_reference]
    assert len(ref) == 1 and ref.territory.iloc[0].startswith("Médiane des QPV comparables à Cité des Gnomes")
    assert not math.isnan(ref.value.iloc[0])


def test_comparer_adds_the_comparables_of_its_first_qpv(demo):
    from data.views import comparables
    from pages import comparer

    peers = comparables.comparable_codes("QN09805M")
    kept = comparer.with_peers(["commune:98019", "qpv:QN09805M"])
    assert kept[:2] == ["commune:98019", "qpv:QN09805M"] and kept[2:] == [f"qpv:{c}" for c in peers[:4]]
    assert comparer.with_peers(["commune:98019"]) == ["commune:98019"]
    table = comparer.table_frame(comparison_frame_for(["qpv:QN09805M"] + kept[2:4]))
    assert {"IC 95 % : borne basse", "Test avec la référence", "Méthode de l'intervalle"} <= set(table.columns)


def comparison_frame_for(values):
    from data.views.comparer import comparison_frame
    from pages.comparer import parse_territories

    return comparison_frame(parse_territories(values), ["part_allocataires_rsa"], "ensemble_qpv")


def test_data_model_lists_every_indicator_with_an_interval():
    """docs/data-model.md says, per indicator, what numerator and denominator are counted: the
    table follows the catalogue."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "data-model.md").read_text(encoding="utf-8")
    cat = tomllib.loads((root / "etl" / "catalogue.toml").read_text(encoding="utf-8"))
    for ind in cat["indicator"]:
        if "interval" in ind:
            assert f"| `{ind['id']}` | {ind['numerator_label']} | {ind['denominator_label']}" in doc, ind["id"]
