"""Issue 19, done when: the real PACA folder (../shared/data/real) plus fixtures of our own in the
current official layouts (APL 2022-2024 workbook, Filosofi 2021 on 2024 QPV codes, CNAM 2025 on 2024
QPV codes, population with its communal references) builds, and La Viste's Fiche shows its 2021
poverty rate on the 2024 perimeter beside Marseille's of the same year, Marseille's Fiche its APL
2024. The fixtures' figures are made up (tests only); the real files are linked, never copied.
Skips cleanly when the shared folder is absent."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import app_reading

from tests.official_layouts import NBSP, NNBSP, apl_workbook

LA_VISTE, MARSEILLE = "QN01304I", "13055"
# made-up figures, in the layouts INSEE and DREES publish
QP24_FILO = (f"CODGEO;DISP_MED_A21;DISP_TP60_A21\r\n{LA_VISTE};12{NBSP}345;51,5\r\n")
ENSQP24_FILO = f"CODGEO;DISP_MED_A21;DISP_TP60_A21\r\n00;15{NBSP}010;42,9\r\n"
FILO21_PAUVRES_COM = "CODGEO;LIBGEO;NBMEN21;TP6021\n13055;Marseille;390000;24,9\n13001;Aix-en-Provence;70000;14,1\n"
CNAM_QP = f"CODGEO;LIBGEO;C;C_C2SNP;C_C2SP\r\n{LA_VISTE};La Viste;3{NNBSP}100;1{NNBSP}040;160\r\n"
CNAM_COM = f"CODGEO;LIBGEO;C;C_C2SNP;C_C2SP\r\n{MARSEILLE};Marseille;850{NNBSP}000;140{NNBSP}000;21{NNBSP}000\r\n"
POP_QP = f"CODGEO;LIBGEO;POP_MUN\r\n{LA_VISTE};La Viste;3{NNBSP}120\r\n"
POP_COM = f"CODGEO;LIBGEO;POP_MUN\r\n{MARSEILLE};Marseille;870{NNBSP}000\r\n"


@pytest.fixture(scope="module")
def current_db(real_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("current19") / "donnees"
    folder.mkdir()
    for f in real_dir.rglob("*"):              # linked file by file: a build does not follow linked folders
        if f.is_file():
            link = folder / f.relative_to(real_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f.resolve())
    cur = folder / "actuels"
    cur.mkdir()
    (cur / "Indicateur_APL_MG_2022_2024.xlsx").write_bytes(apl_workbook(rows=[
        (MARSEILLE, "Marseille", 870000), ("13001", "Aix-en-Provence", 145000)]))
    (cur / "revenu-disponible-qp24-2021_QP.csv").write_text(QP24_FILO, encoding="utf-8")
    (cur / "revenu-disponible-qp24-2021_ENSQP.csv").write_text(ENSQP24_FILO, encoding="utf-8")
    (cur / "FILO2021_DISP_PAUVRES_COM.csv").write_text(FILO21_PAUVRES_COM, encoding="utf-8")
    (cur / "data_CNAM2025_QP.csv").write_text(CNAM_QP, encoding="utf-8")
    (cur / "data_CNAM2025_COM.csv").write_text(CNAM_COM, encoding="utf-8")
    (cur / "pop_QPV24.csv").write_text(POP_QP, encoding="utf-8")
    (cur / "pop_reference_communales_QPV24.csv").write_text(POP_COM, encoding="utf-8")
    db = folder.parent / "atlas.duckdb"
    r = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "build", "--from", str(folder)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = subprocess.run([sys.executable, "-m", "etl", "--db", str(db), "report"], capture_output=True, text=True)
    assert "data_CNAM2025_QP.csv : mise en page d'après la documentation de l'INSEE, pas encore vérifiée sur un " \
           "fichier publié" in report.stdout                               # the load report says so
    assert "QN01304I" not in report.stdout and "13055" not in report.stdout  # nothing of ours left out
    return db


@pytest.fixture(scope="module")
def current_access(current_db):
    with app_reading(current_db) as access:
        yield access


def test_la_viste_2021_poverty_on_its_2024_perimeter_beside_marseille_2021(current_access):
    from data.views import portrait

    det = portrait.determinants("qpv", LA_VISTE).set_index("indicator_id")
    row = det.loc["taux_pauvrete_60"]
    assert (row["Année décrite"], row["Valeur"]) == ("2021", "51,5")          # no " *": the 2024 perimeter
    assert row["Commune : Marseille"] == "24,9 (2021)"                          # the communal reference, same year
    assert row["Ensemble des QPV 2024 (France)"] == "42,9 (2021)"
    assert "Filosofi 2021" in row["Source"]
    c2s = det.loc["part_c2s"]
    assert (c2s["Année décrite"], c2s["Commune : Marseille"]) == ("2025", "18,9 (2025)")   # (140 000 + 21 000) / 850 000
    assert portrait.population_fact("qpv", LA_VISTE)["text"] == f"Population : 3{NNBSP}120 habitants (2020, millésime de diffusion 2024)"


def test_marseille_apl_2024(current_access):
    from data.views import portrait

    det = portrait.determinants("commune", MARSEILLE).set_index("indicator_id")
    assert det.loc["apl_medecins_generalistes", "Année décrite"] == "2024"
    assert det.loc["apl_mg_tous_ages", "Année décrite"] == "2024"
    hist = current_access.value_history("commune", MARSEILLE, ["apl_medecins_generalistes"])
    assert list(hist.year_label) == ["2022", "2023", "2024"]


def test_inegalites_opens_on_the_latest_year_of_the_2024_geography(current_access):
    from data.views import inegalites as iv

    st = iv.parse_state({"indicator": "taux_pauvrete_60", "scope": f"commune:{MARSEILLE}"})
    assert st.year == 2021
    row = iv.compute_view(st).frame.set_index("code").loc[LA_VISTE]
    assert (row.value, row.year_label) == (51.5, "2021")
    # the earlier years stay in the series, each with its geography
    hist = current_access.value_history("qpv", LA_VISTE, ["taux_pauvrete_60"])
    by_year = dict(zip(hist.year_label, hist.geography))
    assert by_year["2021"] == "QPV2024" and by_year["2018"] == "QPV2015"


def test_evolution_chart_says_each_points_geography(current_access):
    from components.portrait import evolution_figure

    fig = evolution_figure("qpv", LA_VISTE)
    trace = next(t for t in fig.data if t.name == "Taux de pauvreté (60 %)" or "pauvret" in t.name.lower())
    labels = [c for c in trace.customdata if c]
    assert "2021, géographie QPV 2024" in labels
    assert any(c.startswith("2018") and c.endswith("géographie QPV 2015") for c in labels)
