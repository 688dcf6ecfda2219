"""Real data told truly (issue 18), on the real PACA folder (../shared/data/real), asserted against
the raw files: years described read from INSEE's own files or established by comparing them, the
all-QPV reference, references of the same year, coloured gap maps, and unknown coverage never
shown as "sans ASV". Skips cleanly when the shared folder is absent."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import app_reading

from etl.readers import parse_fr_number, read_table

LA_VISTE_2015, LA_VISTE_2024, MARSEILLE = "QP013005", "QN01304I", "13055"


@pytest.fixture(scope="module")
def real_db(real_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("real18") / "real.duckdb"
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "build", "--from", str(real_dir)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return db


@pytest.fixture(scope="module")
def real_access(real_db):
    with app_reading(real_db) as access:
        yield access


def raw(real_dir, rel: str, code: str, col: str) -> float:
    """A figure as the raw file gives it (French number, any thousands separator)."""
    t = read_table(real_dir / rel)
    header = {h.upper(): h for h in t.header}
    for _, rec in t.records():
        if rec[t.header[0]] == code:
            return parse_fr_number(rec[header[col.upper()]])[0]
    raise KeyError(code)


def test_la_viste_2018_poverty_beside_marseille_2018(real_dir, real_access):
    from data.views import inegalites as iv

    filo18 = raw(real_dir, "filosofi_qpv2015/data_filo18_qp_revdis.csv", LA_VISTE_2015, "DISP_TP60_A18")
    revn22 = raw(real_dir, "onpv_indicateurs_qpv2015/REVN_2022.csv", LA_VISTE_2015, "TP60")
    marseille = raw(real_dir, "filosofi_2018_pauvres/FILO2018_DISP_Pauvres_COM.csv", MARSEILLE, "TP6018")
    assert filo18 == revn22 == 54.3 and marseille == 26.0
    v = iv.compute_view(iv.parse_state({"indicator": "taux_pauvrete_60", "year": "2018", "mode": "ecart",
                                        "ref": "commune", "scope": f"commune:{MARSEILLE}"}))
    row = v.frame.set_index("code").loc[LA_VISTE_2024]
    assert row.value == filo18 and row.year_label == "2018"                 # described as 2018, not 2022
    assert row.ref_value == marseille and row.ref_year_label == "2018"      # like compared with like
    assert row.gap == pytest.approx(filo18 / marseille) and round(row.gap, 1) == 2.1
    assert "Filosofi 2018" in row.source_title                               # the producer's file, kept once


def test_all_qpv_reference_of_2019(real_dir, real_access):
    ens = raw(real_dir, "filosofi_qpv2015/data_filo19_qp_revdis.csv", "Ensemble", "DISP_TP60_A19")
    assert ens == 43.6
    ref = real_access.reference_values_at("taux_pauvrete_60", "ensemble_qpv", ["QPV2015-FR"], 2019)
    assert ref.iloc[0].value == ens and ref.iloc[0].year_label == "2019"
    assert ref.iloc[0]["name"] == "Ensemble des QPV 2015 (France)"
    from data.views import portrait

    det = portrait.determinants("qpv", LA_VISTE_2024).set_index("indicator_id")
    assert det.loc["taux_pauvrete_60", "Ensemble des QPV 2015 (France)"] == "43,6 (2019)"


def test_every_qpv_of_marseille_coloured_on_the_poverty_gap_map(real_access):
    from data.views import inegalites as iv

    st = iv.parse_state({"scope": f"commune:{MARSEILLE}", "mode": "ecart"})
    assert st.indicator == "taux_pauvrete_60" and st.ref == "commune"          # the default has values
    v = iv.compute_view(st)
    have = v.frame[v.frame.status == "ok"]
    assert len(have) >= 40 and (have.gap_status == "ok").all()
    assert set(v.cls) <= set("0123456789")                                    # every QPV with a value in a class


def test_onpv_columns_dated_by_evidence_and_kept_once(real_dir, real_access):
    ev = real_access.year_evidence().set_index("indicator_id")
    row = ev.loc["taux_pauvrete_60"]
    assert (row.file_name, row.column_name, row.ref_year) == ("REVN_2022.csv", "TP60", 2018)
    assert (row.evidence_file, row.evidence_column) == ("data_filo18_qp_revdis.csv", "DISP_TP60_A18")
    assert row.n_compared > 100 and row.n_matching >= 0.95 * row.n_compared
    # REVN_2021 (Filosofi 2017, absent from the folder) stays undated; nothing else is dated 2018 twice
    hist = real_access.value_history("qpv", LA_VISTE_2024, ["taux_pauvrete_60"])
    assert list(hist[hist.period == 2018].year_label) == ["2018"]
    assert "millésime de diffusion 2021" in set(hist.year_label)
    assert list(hist[hist.year == 2022].period) == [] or set(hist[hist.year == 2022].period) == {2018}


def test_no_qpv_sans_asv_without_a_registry(real_access):
    from data.views.couverture import coverage_frame, ranking_frame

    cov = coverage_frame(None)
    assert len(cov) == 135 and set(cov.category) == {"unknown"}
    assert ranking_frame(None, "taux_pauvrete_60", cov).empty
    assert real_access.registry_state("schemes") == "absent" and real_access.registry_state("actions") == "absent"
    from data.views import portrait

    reg = portrait.registry_facts("qpv", LA_VISTE_2024)
    assert reg["asv"] == "inconnu" and not reg["actions_known"]


def test_portrait_says_not_loaded_never_zero(real_access):
    from publish.portrait import portrait_html

    from html import unescape

    html = unescape(portrait_html("qpv", LA_VISTE_2024))
    assert "0 actions" not in html and "non couvert" not in html
    assert "non recensées" in html and "registre des dispositifs non chargé" in html
    assert "3\u202f044" in html or "3 044" in html
    assert "(millésime de diffusion 2021, repris à l'identique dans le millésime 2022)" in html


def test_actions_page_says_not_loaded_never_zero(real_access):
    import pages.actions as pa

    said = str(pa.count_summary(pa.compute(pa.parse_state({}))))
    assert "Actions non recensées" in said and "pas « 0 action »" in said
    assert "0 action " not in said.replace("« 0 action »", "") and "sur 0 actions" not in said


def test_load_report_lists_each_dated_column(real_db):
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(real_db), "report"], capture_output=True,
                       text=True)
    assert r.returncode == 0
    lines = [x for x in r.stdout.splitlines() if "REVN_2022.csv, colonne" in x]
    assert {x.split("colonne ")[1].split(" ")[0] for x in lines} >= {"TP60", "DISP_Q2", "PACT", "PPSOC", "DISP_D1D9"}
    assert all("décrit 2018" in x and "data_filo18_qp_revdis.csv" in x for x in lines)
    assert "Registre des dispositifs : non chargé" in r.stdout


def test_indicators_open_with_a_reference(real_access):
    from data.views import inegalites as iv

    cat = iv.qpv_indicators()
    with_ref = [i for i in cat.indicator_id if iv.reference_levels_with_values(i)]
    assert "taux_pauvrete_60" in with_ref and len(with_ref) >= 6
    assert pd.Series(iv.reference_levels_with_values("taux_pauvrete_60")).isin(["commune", "ensemble_qpv"]).all()
