"""The benchmark helpers (tests/benchmarks): the synthetic France generator writes the
official formats with the requested counts and goes through the real loaders; the
statistics and formatting helpers; the load test refuses anything but loopback."""
from __future__ import annotations

import csv
import io
import json

import pytest

from etl.build import build
from etl.loaders import correspondence, filosofi, onpv, qpv_contours, territories, user_files
from etl.loaders._geo_common import COMMUNE_RE, QPV2015_RE, QPV2024_RE, SIREN_RE
from tests.benchmarks import browser_bench, common, load_bench, run, synthetic

SMALL = synthetic.Size(communes=300, qpv=12, actions=240, departements=3, regions=2, area_km2=300 * 16.0,
                       communes_per_epci=20)


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("synthetic")
    counts = synthetic.generate(dest, SMALL)
    return dest, counts


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_synthetic_inputs_are_versioned_by_the_code_that_makes_them():
    """`make bench` caches its synthetic France per version of the generator and of the demo code."""
    key = run.synthetic_key()
    assert len(key) == 12 and int(key, 16) >= 0 and run.synthetic_key() == key


def test_percentile_interpolates_and_skips_missing():
    assert common.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert common.percentile([4, 1, 3, 2], 0) == 1
    assert common.percentile([1, 2, 3, 4], 100) == 4
    assert common.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert common.percentile([10, None, 20], 50) == pytest.approx(15)
    assert common.percentile([], 50) is None
    assert common.median([0.3]) == pytest.approx(0.3)
    with pytest.raises(ValueError):
        common.percentile([1, 2], 101)


def test_french_formatting():
    assert common.fr(1234567) == "1\u202f234\u202f567"
    assert common.fr(0.456, 2) == "0,46"
    assert common.fmt_value(1.234, "s") == "1,23 s"
    assert common.fmt_bytes(2_500_000) == "2\u202f500\u202f000 o (2,50 Mo)"
    assert common.fmt_value(None, "s") == "n.d."


def test_load_test_targets_loopback_only():
    with pytest.raises(ValueError):
        load_bench.load_test("http://10.1.2.3:80", "/", ["{}"], users=1)


def test_synthetic_counts_and_official_formats(small_dir):
    dest, counts = small_dir
    assert counts["communes"] == SMALL.communes and counts["qpv2024"] == SMALL.qpv
    assert counts["departements"] == SMALL.departements and counts["regions"] == SMALL.regions

    communes = _features(dest / synthetic.FILES["communes"])
    assert len(communes) == SMALL.communes
    props = communes[0]["properties"]
    assert set(props) == {"INSEE_COM", "NOM", "POPULATION", "INSEE_DEP", "INSEE_REG", "SIREN_EPCI"}
    assert all(COMMUNE_RE.match(f["properties"]["INSEE_COM"]) and SIREN_RE.match(f["properties"]["SIREN_EPCI"])
               for f in communes)
    assert len({f["properties"]["INSEE_COM"] for f in communes}) == SMALL.communes

    q24 = _features(dest / synthetic.FILES["qpv2024"])
    assert len(q24) == SMALL.qpv
    assert all(QPV2024_RE.match(f["properties"]["code_qp"]) for f in q24)
    assert {"code_qp", "lib_qp", "insee_reg", "lib_reg", "insee_dep", "lib_dep", "insee_com", "lib_com",
            "siren_epci"} <= set(q24[0]["properties"])
    # official-like detail: about 250 vertices per QPV contour
    assert counts["qpv_vertices"] / SMALL.qpv > 150
    q15 = _features(dest / synthetic.FILES["qpv2015"])
    assert len(q15) == counts["qpv2015"] and all(QPV2015_RE.match(f["properties"]["CODE_QP"]) for f in q15)

    revn = (dest / "REVN_2022.csv").read_bytes()
    assert revn.startswith(b"\xef\xbb\xbf") and b"CODGEO;LIBGEO" in revn[:40]
    assert len(revn.decode("utf-8-sig").splitlines()) == counts["qpv2015"] + 1

    rows = 0
    for f in sorted(dest.glob("actions_*.csv")):
        table = list(csv.reader(io.StringIO(f.read_text(encoding="utf-8")), delimiter=";"))
        assert table[0][:3] == ["id_action", "titre", "description"]
        rows += len(table) - 1
    assert rows == SMALL.actions

    # every file is claimed by the loader of its official format
    assert territories.detect(dest / synthetic.FILES["communes"])
    assert qpv_contours.detect(dest / synthetic.FILES["qpv2024"]) and qpv_contours.detect(dest / synthetic.FILES["qpv2015"])
    assert correspondence.detect(dest / synthetic.FILES["correspondence"])
    assert onpv.detect(dest / "DEMO_2019.csv") and filosofi.detect(dest / "FILO2019_DISP_COM.csv")
    assert user_files.detect(dest / "actions_01.csv") and user_files.detect(dest / synthetic.FILES["schemes"])


def test_synthetic_is_deterministic():
    tiny = synthetic.Size(communes=120, qpv=4, actions=30, departements=2, regions=1, area_km2=120 * 16.0)
    a, _ = synthetic.build_files(tiny)
    b, _ = synthetic.build_files(tiny)
    assert sorted(a) == sorted(b) and all(a[k] == b[k] for k in a)


def test_synthetic_builds_through_the_loaders(small_dir, tmp_path):
    dest, counts = small_dir
    db = build(dest, tmp_path / "syn.duckdb", fictional=True, progress=lambda *_: None)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM territory WHERE level = 'commune'").fetchone()[0] == SMALL.communes
        assert con.execute("SELECT count(*) FROM territory WHERE level = 'qpv' AND generation = '2024'"
                           ).fetchone()[0] == SMALL.qpv
        assert con.execute("SELECT count(*) FROM territory WHERE level = 'departement'").fetchone()[0] == \
            SMALL.departements
        assert con.execute("SELECT count(*) FROM action").fetchone()[0] == SMALL.actions
        assert con.execute("SELECT count(*) FROM indicator_value WHERE level = 'qpv' AND code LIKE 'QN%'"
                           ).fetchone()[0] > 0
    finally:
        con.close()


def test_callback_names_for_the_load_report():
    assert load_bench._output_name('{"output":"..ineg-year.options...ineg-year.value..","inputs":[]}') == "ineg-year.options"
    assert load_bench._output_name('{"output":"url-state.search@634c8fcf"}') == "url-state.search"
    assert load_bench._output_name("not json") == "?"


def test_cpu_profile_summary_ranks_scripts_by_self_time():
    profile = {"nodes": [{"id": 1, "callFrame": {"url": "", "functionName": "(idle)"}},
                         {"id": 2, "callFrame": {"url": "http://h/x/async-dropdown.js?v=1", "functionName": "index"}},
                         {"id": 3, "callFrame": {"url": "http://h/x/async-dropdown.js", "functionName": "tokenize"}},
                         {"id": 4, "callFrame": {"url": "http://h/leaflet.js", "functionName": "draw"}}],
               "samples": [1, 2, 2, 3, 4], "timeDeltas": [5000, 2000, 2000, 1000, 1500]}
    top = browser_bench._cpu_top(profile)
    assert top[0][0] == "async-dropdown.js" and top[0][1] == "index" and top[0][2] == pytest.approx(5.0)
    assert top[1] == ("leaflet.js", "draw", pytest.approx(1.5))
