"""Filosofi on the QPV (both official layouts), the year described read from the columns, and the
dating of ONPV columns by evidence (etl/loaders/_dating.py), on fictional fixtures written in the
official layouts: codes of the fictional département 96, invented figures."""
from __future__ import annotations

import pytest

from data.provenance import comparable_year, is_dated, parse_period, period_of, period_token, year_text
from etl.errors import InputError
from etl.loaders import _dating as dating
from etl.loaders import filosofi_qpv, onpv
from tests.test_loaders_indicators import add_territory, issues, revn22, seed_qpv, write_csv

NBSP = "\u00a0"
UPPER = ["CODGEO", "DISP_MED_A18", "DISP_D1_A18", "DISP_D9_A18", "DISP_RD_A18", "DISP_GINI_A18",
         "DISP_S80S20_A18", "DISP_PACT_A18", "DISP_PPSOC_A18", "DISP_TP60_A18", "DISP_NOTE_A18"]
LOWER = ["codgeo", "disp_q2_a16", "disp_d1d9_a16", "disp_pact_a16", "disp_ppsoc_a16", "tp60_a16", "note"]


def upper_file(folder, rows, name="data_filo18_qp_revdis.csv"):
    """The 2018+ layout: upper case, U+00A0 thousands separators, `,` decimals, CRLF, no BOM."""
    return write_csv(folder, name, UPPER, rows, trailing=0, bom=False)


def filo18(folder, **change):
    """The figures REVN22_ROWS (tests/test_loaders_indicators.py) publish, as INSEE's 2018 file has them."""
    rows = {
        "Ensemble": ["Ensemble", f"13{NBSP}770", "", "", "2,9", "0,243", "3,4", "62,7", "22,9", "44,7", "0"],
        "QP096001": ["QP096001", f"16{NBSP}490", f"8{NBSP}570", f"23{NBSP}910", "2,8", "0,234", "3,3", "55,7",
                     "31,2", "38,6", "0"],
        "QP096002": ["QP096002", f"12{NBSP}300", f"7{NBSP}000", f"21{NBSP}000", "3,0", "0,2", "2,8", "49,0",
                     "30,0", "", "1"],
        "QP096003": ["QP096003", f"11{NBSP}000", f"6{NBSP}000", f"20{NBSP}000", "3,3", "0,21", "2,9", "50,0",
                     "33,0", "45,0", "0"],
        "QP096004": ["QP096004", f"10{NBSP}500", f"6{NBSP}100", f"19{NBSP}000", "3,1", "0,2", "2,7", "48,0",
                     "35,0", "47,0", "0"],
        "QP096005": ["QP096005", f"14{NBSP}000", f"8{NBSP}000", f"22{NBSP}000", "2,8", "0,22", "3,0", "60,0",
                     "20,0", "30,0", "0"],
    }
    rows.update(change)
    return upper_file(folder, list(rows.values()))


# --------------------------------------------------------------------------- periods

def test_periods_sort_undated_vintages_before_years_described():
    assert period_of(2022, 2018) == 2018 and period_of(2022, None) == 2022 - 10000
    assert sorted([period_of(2022), 2016, 2019, period_of(2017)]) == [period_of(2017), period_of(2022), 2016, 2019]
    assert is_dated(2018) and not is_dated(period_of(2022))
    assert comparable_year(period_of(2022)) == 2022 and comparable_year(2018) == 2018
    assert period_token(2019) == "2019" and period_token(period_of(2022)) == "m2022"
    for p in (2019, period_of(2022)):
        assert parse_period(period_token(p)) == p
    assert parse_period(2019) == 2019 and parse_period(period_of(2021)) == period_of(2021)
    for bad in ("x2019", "20190", "", None, "m19", "1800", True, "2019; DROP"):
        assert parse_period(bad) is None
    assert year_text(2022, 2018) == "2018, millésime de diffusion 2022"


# --------------------------------------------------------------------------- the loader

def test_detect_by_header_whatever_the_file_name(tmp_path):
    assert filosofi_qpv.detect(filo18(tmp_path))
    assert filosofi_qpv.detect(write_csv(tmp_path, "revenu-disponible-qp15-2021_QP.csv",
                                         ["CODGEO", "DISP_MED_A21", "DISP_TP60_A21"], [["QP096001", "1", "2"]]))
    assert filosofi_qpv.detect(write_csv(tmp_path, "x.csv", LOWER, [["QP096001"] + [""] * 6]))
    assert not filosofi_qpv.detect(revn22(tmp_path))
    assert not filosofi_qpv.detect(write_csv(tmp_path, "FILO2019_DISP_COM.csv", ["CODGEO", "Q219"], [["96001", "1"]]))


def test_upper_layout_year_from_the_columns_ensemble_and_secret(ctx, tmp_path):
    con = ctx.con
    seed_qpv(con)
    filosofi_qpv.load(ctx, [filo18(tmp_path)])
    got = {(c, i): (y, r, p, v, s, g) for c, i, y, r, p, v, s, g in con.execute(
        "SELECT code, indicator_id, year, ref_year, period, value, status, geography FROM indicator_value").fetchall()}
    assert got["QP096001", "revenu_median_uc"] == (2018, 2018, 2018, 16490.0, "ok", "QPV2015")   # U+00A0 thousands
    assert got["QP096001", "taux_pauvrete_60"][3] == 38.6
    assert got["QP096001", "indice_gini"][3] == 0.234 and got["QP096001", "rapport_s80s20"][3] == 3.3
    assert got["QP096002", "taux_pauvrete_60"][3:5] == (None, "secret")           # empty: secret, never 0
    # the all-QPV row is the "Ensemble des QPV (France)" reference; what it leaves empty is not published
    assert got["QPV2015-FR", "taux_pauvrete_60"][3] == 44.7
    assert con.execute("SELECT level, name FROM territory WHERE code = 'QPV2015-FR'").fetchone() == \
        ("ensemble_qpv", "Ensemble des QPV 2015 (France)")
    src = con.execute("SELECT dataset, vintage, geography, ref_year_basis FROM source "
                      "WHERE source_id LIKE 'filosofi_qpv%'").fetchone()
    assert src[:3] == ("Filosofi 2018", "2018", "QPV2015") and "_A18" in src[3]


def test_lower_layout_of_2016(ctx, tmp_path):
    seed_qpv(ctx.con)
    path = write_csv(tmp_path, "data_filo16_qp_revdis.csv", LOWER,
                     [["Ensemble", "13210", "2,9", "61,8", "22,6", "44,3", "0"],
                      ["QP096001", "15690", "2,8", "53,2", "19,1", "40", "0"]], trailing=0, bom=False)
    filosofi_qpv.load(ctx, [path])
    got = dict(ctx.con.execute("SELECT indicator_id, value FROM indicator_value WHERE code = 'QP096001' "
                               "AND ref_year = 2016").fetchall())
    assert got == {"revenu_median_uc": 15690.0, "rapport_interdecile": 2.8, "part_revenus_activite": 53.2,
                   "part_prestations_sociales": 19.1, "taux_pauvrete_60": 40.0}


def test_2024_codes_go_straight_to_their_qpv(ctx, tmp_path):
    add_territory(ctx.con, "qpv", "QN09601I", "Quartier des Licornes", "2024", "99", "96")
    path = write_csv(tmp_path, "revenus_pauvrete_2021_qp24.csv", ["CODGEO", "DISP_MED_A21", "DISP_TP60_A21"],
                     [["QN09601I", f"15{NBSP}100", "41,2"], ["QN09699M", f"9{NBSP}000", "60,0"]], bom=False)
    filosofi_qpv.load(ctx, [path])
    rows = ctx.con.execute("SELECT code, period, geography, perimeter FROM indicator_value").fetchall()
    assert set(rows) == {("QN09601I", 2021, "QPV2024", "exact")}
    assert [i for i in issues(ctx, "out_of_scope") if "QN09699M" in (i.value or "")]


@pytest.mark.parametrize("case", ["two_years", "bad_code", "duplicate", "number", "mixed"])
def test_bad_files_name_file_line_and_field(ctx, tmp_path, case):
    seed_qpv(ctx.con)
    header, rows = ["CODGEO", "DISP_MED_A18", "DISP_TP60_A18"], [["QP096001", "1", "2"]]
    if case == "two_years":
        header = ["CODGEO", "DISP_MED_A18", "DISP_TP60_A19"]
    elif case == "bad_code":
        rows.append(["Q96-001", "1", "2"])
    elif case == "duplicate":
        rows.append(["QP096001", "3", "4"])
    elif case == "number":
        rows.append(["QP096002", "douze", "4"])
    elif case == "mixed":
        rows.append(["QN09601I", "1", "2"])
    path = write_csv(tmp_path, "data_filo18_qp_revdis.csv", header, rows)
    with pytest.raises(InputError) as exc:
        filosofi_qpv.load(ctx, [path])
    e = exc.value
    assert e.file.endswith("data_filo18_qp_revdis.csv") and "data_filo18_qp_revdis.csv" in str(e)
    if case in ("bad_code", "duplicate", "number"):
        assert e.line == 3 and e.field == ("DISP_MED_A18" if case == "number" else "CODGEO")
    if case == "two_years":
        assert "même année" in e.reason


# --------------------------------------------------------------------------- dating by evidence

def test_precision_is_read_off_the_values():
    import numpy as np

    assert dating.precision(np.array([12480.0, 13010.0, 9990.0])) == -1
    assert dating.precision(np.array([54.3, 50.2])) == 1
    assert dating.precision(np.array([0.234, 0.2])) == 3
    import pandas as pd

    # an unrounded column compared with one rounded to tens: equal as the coarser file rounds them
    assert dating.compare(pd.Series([11876.0, 12044.0], index=["a", "b"]),
                          pd.Series([11880.0, 12040.0], index=["a", "b"])) == (2, 2)


def _load_both(ctx, tmp_path, **change):
    seed_qpv(ctx.con)
    onpv.load(ctx, [revn22(tmp_path)])
    filosofi_qpv.load(ctx, [filo18(tmp_path, **change)])


def test_an_onpv_column_republishing_a_dated_file_describes_its_year(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(dating, "MIN_COMPARED", 3)          # five fictional QPVs: a smaller quorum
    _load_both(ctx, tmp_path)
    onpv.finalize(ctx)
    con = ctx.con
    ev = {r[0]: r[1:] for r in con.execute(
        "SELECT indicator_id, column_name, ref_year, evidence_column, n_compared, n_matching, n_dropped "
        "FROM year_evidence WHERE source_id = 'onpv_revn_2022'").fetchall()}
    assert ev["taux_pauvrete_60"][:3] == ("TP60", 2018, "DISP_TP60_A18")
    assert ev["taux_pauvrete_60"][3] == ev["taux_pauvrete_60"][4] == 4      # QP096002 is secret in both
    assert ev["revenu_median_uc"][0] == "DISP_Q2"
    # kept once, attributed to the producer's file; the carried 2024 figure says 2018
    rows = con.execute("SELECT source_id, period FROM indicator_value WHERE code = 'QP096001' "
                       "AND indicator_id = 'taux_pauvrete_60'").fetchall()
    assert rows == [("filosofi_qpv_2018_qpv2015", 2018)]
    carried = con.execute("SELECT period, value, source_id FROM indicator_value WHERE code = 'QN09601I' "
                          "AND indicator_id = 'taux_pauvrete_60'").fetchall()
    assert carried == [(2018, 38.6, "filosofi_qpv_2018_qpv2015")]
    # a column no file dates keeps its diffusion vintage
    assert con.execute("SELECT DISTINCT ref_year, period FROM indicator_value WHERE indicator_id = 'part_c2s' "
                       "AND level = 'qpv'").fetchall() == [(None, 2022 - 10000)]


def test_no_evidence_when_values_differ_or_too_few(ctx, tmp_path, monkeypatch):
    monkeypatch.setattr(dating, "MIN_COMPARED", 3)
    # another year's poverty rates: no ONPV column is dated by them
    changed = {code: [code, f"16{NBSP}490", "", "", "2,8", "", "", "55,7", "31,2", rate, "0"]
               for code, rate in (("QP096001", "41,0"), ("QP096003", "44,1"), ("QP096004", "48,3"),
                                  ("QP096005", "31,9"))}
    _load_both(ctx, tmp_path, **changed)
    onpv.finalize(ctx)
    dated = {r[0] for r in ctx.con.execute("SELECT indicator_id FROM year_evidence").fetchall()}
    assert "taux_pauvrete_60" not in dated
    assert ctx.con.execute("SELECT count(*) FROM indicator_value WHERE source_id = 'onpv_revn_2022' AND "
                           "indicator_id = 'taux_pauvrete_60' AND ref_year IS NULL").fetchone()[0] > 0


def test_the_default_quorum_refuses_a_handful_of_matches(ctx, tmp_path):
    _load_both(ctx, tmp_path)            # 4 QPVs compared < MIN_COMPARED (10): no evidence
    onpv.finalize(ctx)
    assert ctx.con.execute("SELECT count(*) FROM year_evidence").fetchone()[0] == 0
