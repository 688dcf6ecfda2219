"""INSEE census communal bases (etl/loaders/census.py), on fictional fixtures in the official layout:
commune values, and EPCI / département / région / France references summed from counts."""
from __future__ import annotations

import pytest

from etl.errors import InputError
from etl.loaders import census
from tests.test_loaders_indicators import add_territory, issues, write_csv

EMPLOI = ["CODGEO", "P19_POP1564", "P19_H1564", "P19_F1564", "P19_ACT1564", "P19_ACTOCC1564", "P19_FACTOCC1564"]


def emploi_row(code, pop, f, occ, focc):
    return [code, f"{pop}", f"{pop - f}", f"{f}", f"{occ + 10}", f"{occ}", f"{focc}"]


def seed(con):
    add_territory(con, "region", "99", "Chimérie")
    add_territory(con, "departement", "96", "Fictivie", region="99")
    for code, name in (("299900001", "CA du Pays Fictif"), ("299900002", "CC des Licornes")):
        add_territory(con, "epci", code, name)
    for code, epci in (("96001", "299900001"), ("96002", "299900001"), ("96003", "299900002")):
        con.execute("INSERT INTO territory (level, code, name, region, departement, epci) VALUES "
                    "('commune', ?, ?, '99', '96', ?)", [code, f"Commune {code}", epci])


def values(con, level, code):
    return {i: (v, n, d, s) for i, v, n, d, s in con.execute(
        "SELECT indicator_id, value, numerator, denominator, status FROM indicator_value "
        "WHERE level = ? AND code = ?", [level, code]).fetchall()}


def test_references_are_ratios_of_summed_counts(ctx, tmp_path):
    con = ctx.con
    seed(con)
    rows = [emploi_row("96001", 1000.5, 500, 600.25, 280), emploi_row("96002", 200, 100, 60, 25),
            emploi_row("96003", 400, 210, 250, 120), emploi_row("98001", 300, 150, 150, 70)]
    path = write_csv(tmp_path, "base-cc-emploi-pop-active-2019.CSV", EMPLOI, rows, trailing=0, bom=False,
                     encoding="cp1252")
    assert census.detect(path)
    census.load(ctx, [path])
    c1 = values(con, "commune", "96001")
    assert c1["taux_emploi_15_64"] == (pytest.approx(600.25 / 1000.5 * 100), 600.25, 1000.5, "ok")
    epci = values(con, "epci", "299900001")["taux_emploi_15_64"]
    assert epci[0] == pytest.approx((600.25 + 60) / (1000.5 + 200) * 100)          # not the mean of two rates
    assert epci[0] != pytest.approx((600.25 / 1000.5 + 60 / 200) / 2 * 100)
    dep = values(con, "departement", "96")["taux_emploi_femmes"]
    assert dep[:3] == (pytest.approx((280 + 25 + 120) / (500 + 100 + 210) * 100), 425, 810)
    assert values(con, "region", "99")["taux_emploi_15_64"][0] == pytest.approx((600.25 + 60 + 250) / 1600.5 * 100)
    # a regional extract gives no France figure, and says why
    assert con.execute("SELECT count(*) FROM indicator_value WHERE level = 'france'").fetchone()[0] == 0
    assert any("fichier partiel" in i.reason for i in issues(ctx, "warning"))
    assert [i.value for i in issues(ctx, "out_of_scope")] == ["1 codes : 98001"]
    assert con.execute("SELECT DISTINCT year, ref_year, geography FROM indicator_value").fetchall() == \
        [(2019, 2019, "RP2019")]


def test_an_incomplete_territory_gets_no_reference(ctx, tmp_path):
    con = ctx.con
    seed(con)
    con.execute("INSERT INTO territory (level, code, name, region, departement, epci) VALUES "
                "('commune', '96004', 'Commune absente', '99', '96', '299900002')")
    rows = [emploi_row(c, 100, 50, 60, 25) for c in ("96001", "96002", "96003")]
    census.load(ctx, [write_csv(tmp_path, "base-cc-emploi-pop-active-2019.csv", EMPLOI, rows, trailing=0)])
    assert values(con, "epci", "299900001") and not values(con, "epci", "299900002")
    assert not values(con, "departement", "96") and not values(con, "region", "99")
    warned = {i.value for i in issues(ctx, "warning") if "absente(s) du fichier" in i.reason}
    assert warned == {"epci 299900002", "departement 96", "region 99"}


def test_france_metropolitaine_sums_every_metropolitan_commune(ctx, tmp_path):
    con = ctx.con
    seed(con)
    deps = sorted(census.METROPOLITAN_DEPS)
    rows = [[f"{d}{'001' if len(d) == 2 else '01'}", "", "", "", "", "", "", "100", "40"] for d in deps]
    rows += [["13055", "", "", "", "", "", "", "100", "40"],     # Marseille, and one of its arrondissements:
             ["13201", "", "", "", "", "", "", "100", "40"],     # left out of the sums (already in 13055)
             ["97101", "", "", "", "", "", "", "100", "90"]]     # overseas: not in France métropolitaine
    header = ["CODGEO", "P19_X1", "P19_X2", "P19_X3", "P19_X4", "P19_X5", "P19_X6", "C19_MEN", "C19_MENPSEUL"]
    census.load(ctx, [write_csv(tmp_path, "base-cc-coupl-fam-men-2019.csv", header, rows, trailing=0)])
    fr = values(con, "france", "FRM")["part_menages_1pers"]
    n = len(deps) + 1
    assert fr == (pytest.approx(40.0), 40 * n, 100 * n, "ok")
    assert con.execute("SELECT name FROM territory WHERE level = 'france'").fetchall() == [("France métropolitaine",)]


def test_bad_rows_name_file_line_and_field(ctx, tmp_path):
    seed(ctx.con)
    path = write_csv(tmp_path, "base-cc-emploi-pop-active-2019.csv", EMPLOI,
                     [emploi_row("96001", 100, 50, 60, 25), ["960X1", "1", "1", "1", "1", "1", "1"]], trailing=0)
    with pytest.raises(InputError) as e:
        census.load(ctx, [path])
    assert "base-cc-emploi-pop-active-2019.csv" in str(e.value) and "ligne 3" in str(e.value) \
        and "CODGEO" in str(e.value)
    path = write_csv(tmp_path, "base-cc-emploi-pop-active-2019.csv", EMPLOI,
                     [["96001", "100", "50", "abc", "70", "60", "25"]], trailing=0)
    with pytest.raises(InputError) as e:
        census.load(ctx, [path])
    assert "ligne 2" in str(e.value) and "P19_F1564" in str(e.value)


def test_an_empty_count_is_missing_never_zero(ctx, tmp_path):
    con = ctx.con
    seed(con)
    rows = [emploi_row("96001", 100, 50, 60, 25), ["96002", "200", "100", "", "80", "70", ""],
            emploi_row("96003", 100, 50, 60, 25)]
    census.load(ctx, [write_csv(tmp_path, "base-cc-emploi-pop-active-2019.csv", EMPLOI, rows, trailing=0)])
    assert values(con, "commune", "96002")["taux_emploi_femmes"][0::3] == (None, "missing")
    assert values(con, "commune", "96002")["taux_emploi_15_64"][3] == "ok"
    assert values(con, "epci", "299900001")["taux_emploi_femmes"][0::3] == (None, "missing")   # not a partial sum
