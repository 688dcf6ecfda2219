"""Comparer: frames, plain-language sentences, references."""
import pandas as pd
import pytest

from data import access


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


def test_sentences_name_the_unfavourable_territory(comparer):
    df = pd.DataFrame([
        {"indicator_id": "t", "indicator": "Taux de pauvreté", "unit": "%", "decimals": 1, "high_is_bad": True,
         "territory": "Les Licornes", "is_reference": False, "value": 45.0},
        {"indicator_id": "t", "indicator": "Taux de pauvreté", "unit": "%", "decimals": 1, "high_is_bad": True,
         "territory": "Cité des Chimères", "is_reference": False, "value": 30.0},
        {"indicator_id": "t", "indicator": "Taux de pauvreté", "unit": "%", "decimals": 1, "high_is_bad": True,
         "territory": "Val-Secret", "is_reference": False, "value": None},
    ])
    [s] = comparer.plain_sentences(df)
    assert "La situation la plus défavorable est à Les Licornes" in s
    assert "Val-Secret" in s and "secret ou absent" in s
    assert " 0,0" not in s and "(Val-Secret)" not in s


def test_update_validates_count_and_writes_url(demo, comparer):
    body, search = comparer.update(["qpv:X"], ["taux_pauvrete_60"], "france", "dots")
    assert "au moins deux" in str(body)
    many = [f"commune:{c}" for c in access.territories("commune").code[:7]]
    body, search = comparer.update(many, ["taux_pauvrete_60"], "", "bars")
    assert "Six territoires au plus" in str(body)
    assert search.startswith("?t=commune:") and "view=bars" in search
