"""Class breaks, palettes, gaps, densities, French formatting."""
import math

import numpy as np
import pytest

from data.analysis import classify, density_per_10000, fmt, fmt_status, gap, gap_classification
from data.palettes import palette


def test_quantiles_counts_and_secret_excluded():
    codes = [f"Q{i}" for i in range(10)] + ["S1", "S2"]
    values = list(range(10)) + [float("nan"), float("nan")]
    c = classify(codes, values, "quantiles", 5)
    assert c.k == 5 and sum(c.counts) == 10
    assert "S1" not in c.classes and "S2" not in c.classes
    assert c.classes["Q0"] == 0 and c.classes["Q9"] == 4


def test_jenks_finds_natural_groups():
    values = [1, 1.1, 1.2, 10, 10.5, 11, 30, 31, 32]
    c = classify([str(i) for i in range(9)], values, "jenks", 3)
    assert c.counts == [3, 3, 3]
    assert c.bins == [1.2, 11, 32]


def test_equal_intervals_and_manual():
    vals = [0, 25, 50, 75, 100]
    c = classify(list("abcde"), vals, "equal", 4)
    assert c.bins == [25, 50, 75, 100]
    m = classify(list("abcde"), vals, "manual", 3, manual_breaks=[10, 60])
    assert m.bins == [10, 60, 100]
    assert m.counts == [1, 2, 2]


def test_few_unique_values_and_all_missing():
    c = classify(list("abc"), [5, 5, 7], "quantiles", 5)
    assert c.k == 2 and sum(c.counts) == 3
    assert classify(list("ab"), [float("nan")] * 2) is None


def test_labels_french():
    c = classify(list("abcd"), [1000.5, 2000, 3000, 4000], "equal", 3)
    labels = c.labels(decimals=1, unit="€")
    assert labels[0].startswith("[1\u202f000,5 ; ")
    assert labels[1].startswith("]")


def test_palette_orientation():
    bad = palette("YlOrRd", 5, high_is_bad=True)
    good = palette("YlOrRd", 5, high_is_bad=False)
    assert good == bad[::-1]
    assert len(palette("Blues", 7)) == 7


def test_gap_ratio_and_difference():
    r = gap([20, 30, np.nan, 10], [10, 0, 5, 10], "ratio")
    assert r[0] == 2 and math.isnan(r[1]) and math.isnan(r[2]) and r[3] == 1
    d = gap([20, 30], [10, 35], "difference")
    assert list(d) == [10, -5]


def test_gap_classification_is_centred():
    c = gap_classification(list("abcd"), [0.5, 1.0, 1.5, np.nan], "ratio", 5)
    assert sum(c.counts) == 3
    assert c.classes["b"] == 2  # parity sits in the middle class
    assert c.classes["a"] < c.classes["b"] < c.classes["c"]


def test_density_unknown_population_is_nan_not_zero():
    d = density_per_10000([5, 3, 2], [10000, 0, np.nan])
    assert d[0] == pytest.approx(5.0)
    assert math.isnan(d[1]) and math.isnan(d[2])


def test_fmt_french():
    assert fmt(12345.678, 1) == "12\u202f345,7"
    assert fmt(None) == "n.d."
    assert fmt(55.3, 1, "%") == "55,3\u00a0%"
    assert fmt_status(None, "secret") == "secret"
    assert fmt_status(0.0, "ok", 0) == "0"


def test_jenks_on_many_values_is_deterministic_and_complete():
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(10, 1, 800), rng.normal(40, 2, 800)])
    codes = [str(i) for i in range(len(values))]
    a = classify(codes, values, "jenks", 4)
    b = classify(codes, values, "jenks", 4)
    assert a.bins == b.bins and sum(a.counts) == 1600
    assert a.bins[-1] == pytest.approx(values.max())
    # the gap between the two groups is a break: the first class holds the low group
    assert 12 < a.bins[0] < 20
    assert a.counts[0] == int((values <= a.bins[0]).sum()) and 780 <= a.counts[0] <= 800
