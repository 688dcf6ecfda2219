"""Comparer: frames, plain-language sentences, references."""
import pandas as pd

from data.views import intervals
import pytest

from data import access
from data.views import comparer as cv


@pytest.fixture(scope="module")
def comparer():
    import app  # noqa: F401  (pages register against the one Dash app of the process)
    from pages import comparer as mod

    return mod


@pytest.fixture(scope="module")
def demo(demo_db_module):
    return demo_db_module


def test_comparison_frame_with_france_reference(demo, comparer):
    v = access.values("taux_pauvrete_60", "qpv")
    codes = list(v[v.status == "ok"].code[:2])
    df = comparer.comparison_frame([("qpv", c) for c in codes], ["taux_pauvrete_60"], "france")
    assert list(df.is_reference) == [False, False, True]
    assert df.iloc[2].territory.startswith("France")
    assert df.value.notna().all()


def _row(name, value, status="ok", **kw):
    return {"indicator_id": "t", "indicator": "Taux de pauvreté", "unit": "%", "decimals": 1, "high_is_bad": True,
            "territory": name, "plain": name, "key": f"qpv:{name}", "ref_key": None, "is_reference": False,
            "value": value, "status": status, "year_label": "millésime de diffusion 2022", **kw}


def test_sentences_name_the_unfavourable_territory(comparer):
    df = pd.DataFrame([_row("Les Licornes", 45.0), _row("Cité des Chimères", 30.0),
                       _row("Val-Secret", None, "secret"), _row("Val-Absent", None, "missing")])
    [s] = comparer.plain_sentences(df)
    # without counts, the extreme is named and said untested: never a ranking without its test
    assert ("Valeur la plus défavorable : Les Licornes (écart avec Cité des Chimères non testé, intervalle non "
            "calculable : effectifs non publiés).") in s
    assert "La situation la plus défavorable" not in s
    assert "Val-Secret (secret statistique)" in s and "Val-Absent (non disponible)" in s
    assert " 0,0" not in s and "((" not in s and ")) " not in s


def test_sentences_say_how_far_each_territory_is_from_its_reference(comparer):
    df = pd.DataFrame([_row("La Viste, à Marseille", 54.0, ref_key="france:FRM"), _row("Les Licornes", 15.0, ref_key="france:FRM"),
                       _row("France métropolitaine", 20.0, key="france:FRM", is_reference=True, year_label="2019")])
    [s] = comparer.plain_sentences(df)
    assert "À La Viste, à Marseille, la valeur est 2,7 fois celle de France métropolitaine" in s
    assert "(millésime de diffusion 2022 ; référence : 2019)" in s
    assert "À Les Licornes, la valeur est 1,3 fois moins élevée que celle de France métropolitaine" in s
    assert "0,8 fois" not in s
    assert cv._ratio_text(20.5, 20.0) == "proche de celle de"
    assert cv._ratio_text(0.0, 20.0) is None and cv._ratio_text(5.0, -2.0) is None


def test_no_plot_for_an_indicator_without_value(demo, comparer):
    v = access.values("taux_pauvrete_60", "qpv")
    codes = list(v[v.status == "ok"].code[:2])
    df = comparer.comparison_frame([("qpv", c) for c in codes], ["taux_pauvrete_60", "beneficiaires_cmuc"], "france")
    df.loc[df.indicator_id == "beneficiaires_cmuc", "value"] = None
    assert comparer.plotted(df) == ["taux_pauvrete_60"]
    fig = comparer.comparison_figure(df)
    assert len(fig.data) == 1 and [a.text for a in fig.layout.annotations] == ["Taux de pauvreté (%)"]
    sentences = comparer.plain_sentences(df)
    assert sentences[-1] == ("Aucune valeur disponible pour ces territoires dans les données chargées, pas de "
                             "graphique : Bénéficiaires CMU-C."), sentences
    assert len(sentences) == 2 and sentences[0].startswith("Taux de pauvreté")


def test_default_indicators_are_those_the_territories_have(demo, comparer):
    """Without indicators in the address, the page shows figures the chosen territories have:
    the usual ones where published at their level, completed from the catalogue."""
    cat = pd.DataFrame({"indicator_id": ["revenu_median_uc", "taux_pauvrete_60", "rapport_interdecile",
                                         "part_c2s", "taux_emploi_15_64"],
                        "levels": [["commune", "qpv"], ["qpv"], ["commune", "qpv"], ["qpv"], ["qpv"]]})
    communes = [("commune", "1"), ("commune", "2")]
    assert comparer.default_indicators(communes, "dots", cat) == ["revenu_median_uc", "rapport_interdecile"]
    assert comparer.default_indicators(communes, "groups", cat) == ["taux_pauvrete_60", "revenu_median_uc",
                                                                    "taux_emploi_15_64", "part_c2s"]
    assert comparer.default_indicators([("epci", "1")], "dots", cat) == ["taux_pauvrete_60", "revenu_median_uc",
                                                                         "taux_emploi_15_64", "part_c2s"]


def test_groups_compare_the_qpvs_of_communes(demo, comparer):
    q = access.territories("qpv")
    communes = list(q.commune.value_counts().index[:2])
    body = comparer.body([("commune", c) for c in communes], ["taux_pauvrete_60"], "", "groups")
    text = str(body)
    assert "médiane des" in text and "compare-graph" in text
    df = comparer.group_frame([("commune", c) for c in communes], ["taux_pauvrete_60"])
    assert set(df.group) == {comparer.plain_name("commune", c) for c in communes}
    fig = comparer.group_figure(df)
    assert [t.name for t in fig.data] == ["QPV", "Médiane des QPV", "Valeur de la commune ou de l'EPCI"]
    assert "communes ou EPCI" in str(comparer.body([("qpv", q.code[0]), ("qpv", q.code[1])], ["taux_pauvrete_60"], "",
                                                  "groups"))


def test_update_validates_count_and_writes_url(demo, comparer):
    body, search, value, limit, _peers = comparer.update(["qpv:X"], ["taux_pauvrete_60"], "france", "dots")
    assert "au moins deux" in str(body) and limit == ""
    many = [f"commune:{c}" for c in access.territories("commune").code[:7]]
    body, search, value, limit, _peers = comparer.update(many, ["taux_pauvrete_60"], "", "bars")
    assert "Six territoires au plus" in limit and value == many[:6]          # the 7th never enters
    assert search.startswith("?t=commune:") and "view=bars" in search and many[6] not in search


def test_sentences_say_a_tie_as_a_tie(comparer):
    """Equal figures (as displayed) are one figure for both, never "4,0 à A, 4,0 à A"."""
    df = pd.DataFrame([_row("Marseille", 4.01, unit="indice"), _row("Nice", 3.98, unit="indice")])
    [s] = comparer.plain_sentences(df)
    assert s.startswith("Taux de pauvreté : 4,0 à Marseille comme à Nice, même valeur.") and "indice" not in s
    assert "défavorable" not in s


def test_sentences_name_every_territory_at_a_shared_extreme(comparer):
    df = pd.DataFrame([_row("A", 12.04), _row("B", 12.01), _row("C", 8.0)])
    [s] = comparer.plain_sentences(df)
    assert s.startswith("Taux de pauvreté : 12,0\xa0% à A et à B, 8,0\xa0% à C.")
    assert "Valeur la plus défavorable : A et B (écart avec C non testé" in s


def _counted(name, num, den, **kw):
    return _row(name, 100 * num / den, ci_method="wilson", ci_num=num, ci_den=den, ci_basis="counts", ci_why="", **kw)


def test_the_most_unfavourable_territory_only_when_a_test_says_so(comparer):
    # 45 % of 1 000 against 30 % of 1 000: significant (score test of two proportions)
    [s] = comparer.plain_sentences(pd.DataFrame([_counted("A", 450, 1000), _counted("B", 300, 1000)]))
    assert ("La situation la plus défavorable est à A : écart avec B significatif au seuil de 95 % "
            "(test du score).") in s
    # 45 % of 20 against 30 % of 20: the same gap, too few people to conclude
    [s] = comparer.plain_sentences(pd.DataFrame([_counted("A", 9, 20), _counted("B", 6, 20)]))
    assert "Écart entre A et B non significatif au seuil de 95 % (test du score)" in s
    assert "La situation la plus défavorable" not in s
    # a low value is unfavourable (high_is_bad False): the lowest is named, at 99,8 % when asked
    df = pd.DataFrame([_counted("A", 450, 1000, high_is_bad=False), _counted("B", 300, 1000, high_is_bad=False)])
    df.attrs["ci"] = "99.8"
    [s] = comparer.plain_sentences(df)
    assert "La situation la plus défavorable est à B : écart avec A significatif au seuil de 99,8 %" in s
    # one territory without counts: untested, with the reason
    df = pd.DataFrame([_counted("A", 450, 1000), _row("B", 30.0, ci_method="wilson", ci_why="valeur secrète : non testée")])
    [s] = comparer.plain_sentences(df)
    assert "Valeur la plus défavorable : A (écart avec B non testé, valeur secrète : non testée)." in s
    # a median: the reason without a parenthesis inside the parenthesis
    df = pd.DataFrame([_row("A", 14000.0, ci_why=intervals.NO_METHOD), _row("B", 12000.0, ci_why=intervals.NO_METHOD)])
    [s] = comparer.plain_sentences(df)
    assert "Valeur la plus défavorable : A (écart avec B non testé, intervalle non calculable : indicateur sans effectifs)." in s and "((" not in s \
        and "))" not in s


def test_a_zero_figure_is_compared_with_its_reference_without_a_ratio(comparer):
    df = pd.DataFrame([_row("A", 0.0, ref_key="france:FRM"), _row("B", 10.0, ref_key="france:FRM"),
                       _row("France métropolitaine", 20.0, key="france:FRM", is_reference=True, year_label="2019")])
    [s] = comparer.plain_sentences(df)
    assert "À A : 0,0\xa0%, contre 20,0\xa0% pour France métropolitaine (millésime de diffusion 2022 ; " \
           "référence : 2019)." in s
    assert "À B, la valeur est 2,0 fois moins élevée que celle de France métropolitaine" in s
