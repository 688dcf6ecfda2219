"""Poverty references at every level: INSEE's FILO20YY_DISP_Pauvres_{COM,EPCI,DEP,REG,METROPOLE}
files in their official layout (`;`, `.` decimals, TPxxYY columns, empty = secret), on fictional
fixtures; with them, a QPV's poverty gap has a reference at each level, like for like."""
from __future__ import annotations

from etl.loaders import filosofi
from tests.test_loaders_indicators import add_territory, write_csv

HEADER = ["CODGEO", "TP4018", "TP5018", "TP6018", "TP60Q218", "TP60IP18"]


def test_pauvres_files_give_a_reference_at_every_level(ctx, tmp_path):
    con = ctx.con
    add_territory(con, "region", "99", "Région Fictive")
    add_territory(con, "departement", "96", "Département Fictif", region="99")
    add_territory(con, "epci", "299900001", "CA du Pays Fictif")
    add_territory(con, "commune", "96001", "Bourg-Fictif")
    files = [write_csv(tmp_path, f"FILO2018_DISP_Pauvres_{lvl}.csv", HEADER, rows, trailing=0, bom=False)
             for lvl, rows in (("COM", [["96001", "8", "14", "26", "10700", "0.179"]]),
                               ("EPCI", [["299900001", "6", "11", "19.5", "10800", "0.2"]]),
                               ("DEP", [["96", "5", "10", "18.3", "10900", "0.19"], ["98", "", "", "", "", ""]]),
                               ("REG", [["99", "5", "9", "17", "11000", "0.2"]]),
                               ("METROPOLE", [["FM", "4", "8", "14.6", "11200", "0.2"]]))]
    filosofi.load(ctx, files)
    got = dict(con.execute("SELECT level, value FROM indicator_value WHERE indicator_id = 'taux_pauvrete_60'"
                           ).fetchall())
    assert got == {"commune": 26.0, "epci": 19.5, "departement": 18.3, "region": 17.0, "france": 14.6}
    years = {r for (r,) in con.execute("SELECT DISTINCT ref_year FROM indicator_value").fetchall()}
    assert years == {2018}                               # declared in etl/catalogue.toml with its documentation
    basis = con.execute("SELECT DISTINCT ref_year_basis FROM source WHERE source_id LIKE 'filosofi_2018%'"
                        ).fetchall()
    assert len(basis) == 1 and basis[0][0].startswith("documentation du producteur")
