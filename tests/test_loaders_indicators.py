"""Indicator loaders: ONPV QPV tables (onpv), INSEE Filosofi (filosofi), DREES APL (apl).

Fixtures are fictional ("Quartier des Licornes", "Bourg-Fictif", codes 96/98) and written
in the official layouts into tmp_path. Territory and correspondence rows are inserted
with SQL, so these tests do not depend on the geography loaders. The integration tests
at the end read the real files in place through `real_dir`.
"""
from __future__ import annotations

import csv
import json
import re

import openpyxl
import pytest

from etl.errors import InputError
from etl.loaders import _indicators as ind
from etl.loaders import apl, filosofi, onpv
from etl.readers import read_table

# --------------------------------------------------------------------------- helpers


def write_csv(folder, name, header, rows, *, trailing=4, bom=True, encoding="utf-8"):
    """A `;` table as sig.ville / INSEE ship it: BOM, CRLF, trailing empty columns."""
    pad = [""] * trailing
    lines = [";".join(header + pad)] + [";".join(r + pad) for r in rows]
    data = ("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n"
    path = folder / name
    path.write_bytes(data.encode(encoding))
    return path


def add_territory(con, level, code, name, generation=None, region=None, departement=None, population=None):
    con.execute("INSERT INTO territory (level, code, name, generation, region, departement, population) "
                "VALUES (?,?,?,?,?,?,?)", [level, code, name, generation, region, departement, population])


# 2024 QPVs of the fictional région, their statut and 2015 predecessors.
QPV2024 = [
    ("QN09601I", "Quartier des Licornes", "inchange", ["QP096001"]),
    ("QN09602M", "Les Jardins Imaginaires", "modifie", ["QP096002"]),
    ("QN09603M", "Cité des Chimères", "modifie", ["QP096003", "QP096004"]),
    ("QN09604N", "Hameau Neuf-Fictif", "nouveau", []),
    ("QN09605M", "Val des Songes", "modifie", ["QP096006"]),  # predecessor absent from the ONPV files
]


def seed_qpv(con):
    for code, name, statut, preds in QPV2024:
        add_territory(con, "qpv", code, name, "2024", "99", "96")
        for rank, pred in enumerate(preds or [None], start=1):
            con.execute("INSERT INTO qpv_correspondence VALUES (?,?,?,?,?,?,NULL)",
                        [code, name, statut, rank if pred else None, pred, None])
    # a 2015 QPV known from the 2015 contours, but successor of no loaded 2024 QPV
    add_territory(con, "qpv", "QP096005", "Plateau Fictif (contour 2015)", "2015", "99", "96")


REVN22_HEADER = ["CODGEO", "LIBGEO", "DISP_Q2", "TP60", "DISP_D1", "DISP_D9", "PACT", "PPSOC ", "PIMPOT",
                 "NOTE_FILO", "C", "C_C2SNP", "C_C2SP", "A", "ARSAS"]
REVN22_ROWS = [
    ["Ensemble", "Ensemble des QPV", "", "", "", "", "", "", "", "", "1 193 700", "", "", "1 428 500", ""],
    ["QP096001", "Quartier des Licornes", "16 490", "38,6", "8 570", "23 910", "55,7", "31,2", "-9,4",
     "0", "6 110", "1 519", "495", "2 068", "720"],
    ["QP096002", "Les Jardins Imaginaires", "12 300", "", "7 000", "21 000", "49,0", "30,0", "-7,4",
     "0", "1 832", "408", "", "751", "0"],
    ["QP096003", "Cité des Chimères Nord", "11 000", "45,0", "6 000", "20 000", "50,0", "33,0", "-8,0",
     "0", "900", "200", "50", "400", "100"],
    ["QP096004", "Cité des Chimères Sud", "10 500", "47,0", "6 100", "19 000", "48,0", "35,0", "-8,2",
     "0", "800", "190", "40", "380", "110"],
    ["QP096005", "Plateau Fictif", "14 000", "30,0", "8 000", "22 000", "60,0", "20,0", "-10,0",
     "0", "500", "80", "20", "0", "0"],
    ["QP098001", "Quartier Hors-Champ", "13 000", "33,0", "7 500", "21 500", "58,0", "22,0", "-9,0",
     "0", "700", "100", "30", "300", "60"],
]


def revn22(folder, name="REVN_2022.csv", rows=None, header=None):
    return write_csv(folder, name, header or REVN22_HEADER, REVN22_ROWS if rows is None else rows)


def demo(folder, year, pops):
    header = ["CODGEO", "LIBGEO", "POP_MUN", "POP_COM", "LIB_COM", "TX_TOT_0A24", "TX_TOT_60ETPLUS",
              "IND_JEUNE", "TX_TOT_MEN1", "TX_TOT_MEN6", "TX_TOT_ET", "A", "AM"]
    rows = [[code, f"Quartier {code}", pop, "41 248", "Bourg-Fictif", "36,3", "23,5", "1,3", "45,3", "",
             "24,9", "2 068", "350"] for code, pop in pops.items()]
    return write_csv(folder, f"DEMO_{year}.csv", header, rows)


def values(con, code, year=None):
    sql = ("SELECT indicator_id, value, numerator, denominator, status, geography, perimeter, derived_from, "
           "source_id FROM indicator_value WHERE code = ?")
    args = [code]
    if year is not None:
        sql += " AND year = ?"
        args.append(year)
    cols = ["value", "numerator", "denominator", "status", "geography", "perimeter", "derived_from",
            "source_id"]
    return {r[0]: dict(zip(cols, r[1:])) for r in con.execute(sql, args).fetchall()}


def issues(ctx, kind):
    return [i for i in ctx.log.issues if i.kind == kind]


# --------------------------------------------------------------------------- mapping


def test_every_mapped_indicator_is_in_the_catalogue(ctx):
    for section in ("onpv", "filosofi", "apl"):
        assert ind.mapping(section), section
        ind.check_catalogue(ctx.con, section)  # raises on an unknown indicator


def test_rules_take_the_first_entry_whose_columns_exist():
    header = ["CODGEO", "C", "CC2S", "C_C2SNP", "C_C2SP", "ARSA", "A"]
    got = {r.indicator: r for r in ind.rules("onpv", header, family="REVN")}
    assert got["part_c2s"].numerator == ("C_C2SNP", "C_C2SP")
    assert got["part_allocataires_rsa"].numerator == ("ARSA",)  # ARSAS absent: fallback entry
    assert "beneficiaires_cmuc" not in got
    fil = {r.indicator: r for r in ind.rules("filosofi", ["CODGEO", "Q221", "Q219", "RD21"], {"yy": "21"},
                                             file="DISP")}
    assert fil["revenu_median_uc"].value == "Q221"
    assert fil["rapport_interdecile"].value == "RD21"


def test_evaluate_french_numbers_secret_and_ratios(tmp_path):
    p = tmp_path / "x.csv"
    rule = ind.Rule("x", value="V")
    assert ind.evaluate(rule, {"V": "-9,4"}, p, 2) == (-9.4, None, None, "ok")
    assert ind.evaluate(rule, {"V": "6 490"}, p, 2)[0] == 6490
    assert ind.evaluate(rule, {"V": "0"}, p, 2) == (0.0, None, None, "ok")
    assert ind.evaluate(rule, {"V": ""}, p, 2) == (None, None, None, "secret")
    ratio = ind.Rule("r", numerator=("N1", "N2"), denominator=("D",), scale=100)
    assert ind.evaluate(ratio, {"N1": "1", "N2": "3", "D": "8"}, p, 2) == (50.0, 4.0, 8.0, "ok")
    assert ind.evaluate(ratio, {"N1": "1", "N2": "", "D": "8"}, p, 2) == (None, None, 8.0, "secret")
    assert ind.evaluate(ratio, {"N1": "0", "N2": "0", "D": "0"}, p, 2) == (None, 0.0, 0.0, "missing")


# --------------------------------------------------------------------------- ONPV


def test_onpv_detect(tmp_path):
    for name in ("REVN_2022.csv", "revn_2022.csv", "Demo_2017.csv", "IPRO_2020.CSV"):
        assert onpv.detect(tmp_path / name), name
    for name in ("REVN_2022.txt", "REVN2022.csv", "LOGT_2022.csv", "FILO2019_DISP_COM.csv", "REVN_22.csv"):
        assert not onpv.detect(tmp_path / name), name


def test_onpv_revn_values_secret_ratio_and_scope(ctx, tmp_path):
    seed_qpv(ctx.con)
    onpv.load(ctx, [revn22(tmp_path)])
    con = ctx.con

    v = values(con, "QP096001", 2022)
    assert v["revenu_median_uc"]["value"] == 16490
    assert v["taux_pauvrete_60"]["value"] == pytest.approx(38.6)
    assert v["part_prestations_sociales"]["value"] == pytest.approx(31.2)  # header "PPSOC " trimmed
    c2s = v["part_c2s"]
    assert c2s["value"] == pytest.approx((1519 + 495) / 6110 * 100)
    assert (c2s["numerator"], c2s["denominator"], c2s["status"]) == (2014, 6110, "ok")
    assert v["rapport_interdecile"]["value"] == pytest.approx(23910 / 8570)
    assert v["revenu_median_uc"]["geography"] == "QPV2015" and v["revenu_median_uc"]["perimeter"] == "exact"
    assert "beneficiaires_cmuc" not in v  # CCMUC is not in the 2022 layout

    v2 = values(con, "QP096002", 2022)
    assert (v2["taux_pauvrete_60"]["value"], v2["taux_pauvrete_60"]["status"]) == (None, "secret")
    assert v2["part_c2s"]["status"] == "secret" and v2["part_c2s"]["value"] is None
    assert v2["part_c2s"]["numerator"] is None and v2["part_c2s"]["denominator"] == 1832
    assert v2["part_allocataires_rsa"]["value"] == 0 and v2["part_allocataires_rsa"]["status"] == "ok"
    # 0 allocataires: the share cannot be computed, it is not 0
    v5 = values(con, "QP096005", 2022)
    assert v5["part_allocataires_rsa"]["status"] == "missing" and v5["part_allocataires_rsa"]["value"] is None

    # no secret value stored as a number, no row for the out-of-scope QPV; "Ensemble" (all QPVs of
    # France) is the reference territory QPV2015-FR, whose empty cells are unpublished, not secret
    assert con.execute("SELECT count(*) FROM indicator_value WHERE status <> 'ok' AND value IS NOT NULL"
                       ).fetchone()[0] == 0
    codes = {r[0] for r in con.execute("SELECT DISTINCT code FROM indicator_value").fetchall()}
    assert codes == {"QP096001", "QP096002", "QP096003", "QP096004", "QP096005", "QPV2015-FR"}
    ens = dict(con.execute("SELECT indicator_id, status FROM indicator_value WHERE level = 'ensemble_qpv'").fetchall())
    assert ens["taux_pauvrete_60"] == "missing" and "secret" not in ens.values()
    assert con.execute("SELECT name FROM territory WHERE level = 'ensemble_qpv'").fetchone()[0] == \
        "Ensemble des QPV 2015 (France)"
    oos = issues(ctx, "out_of_scope")
    assert not [i for i in oos if i.value == "Ensemble"]
    assert len(oos) == 1 and oos[0].file == "REVN_2022.csv" and "QP098001" in oos[0].value
    assert oos[0].value.startswith("1 codes")

    # minimal 2015 rows for the predecessors of loaded 2024 QPVs; the contour row is kept as is
    terr = {r[0]: r[1:] for r in con.execute(
        "SELECT code, name, generation, region, departement FROM territory WHERE code LIKE 'QP%'").fetchall()}
    assert terr["QP096001"] == ("Quartier des Licornes", "2015", "99", "96")
    assert terr["QP096005"][0] == "Plateau Fictif (contour 2015)"
    assert "QP098001" not in terr and "Ensemble" not in terr

    src = con.execute("SELECT title, publisher, licence, vintage, geography, file_name, url FROM source "
                      "WHERE source_id = 'onpv_revn_2022'").fetchone()
    assert "millésime de diffusion 2022" in src[0]
    assert src[1:6] == ("ONPV / INSEE", "Licence Ouverte / Etalab 2.0", "2022", "QPV2015", "REVN_2022.csv")
    assert src[6].startswith("https://")


def test_onpv_vintage_dependent_columns(ctx, tmp_path):
    seed_qpv(ctx.con)
    row = ["QP096001", "Quartier des Licornes"]
    files = [
        write_csv(tmp_path, "REVN_2019.csv", ["CODGEO", "LIBGEO", "DISP_Q2", "CCMUC", "NOTE_CNAM", "A", "ARSA",
                                              "ARSAS"], [row + ["15 000", "1 274", "0", "1 779", "400", "386"]]),
        write_csv(tmp_path, "revn_2021.csv", ["CODGEO", "LIBGEO", "DISP_Q2", "C", "CC2S", "A", "ARSAS"],
                  [row + ["15 500", "6 000", "1 800", "1 900", "500"]]),
        write_csv(tmp_path, "IPRO_2019.csv", ["CODGEO", "LIBGEO", "TX_TOT_EMPL", "TX_TOT_EPREC", "EVOL_CA_N_E "],
                  [row + ["44,6", "28,0", "100,0"]]),
        write_csv(tmp_path, "IPRO_2021.csv", ["CODGEO", "LIBGEO", "TX_TOT_EMPL", "TX_TOT_EDLIM", "ABC"],
                  [row + ["45,0", "27,2", "926"]]),
    ]
    onpv.load(ctx, files)
    v19, v21 = values(ctx.con, "QP096001", 2019), values(ctx.con, "QP096001", 2021)
    assert v19["beneficiaires_cmuc"]["value"] == 1274 and "part_c2s" not in v19
    assert v19["part_allocataires_rsa"]["numerator"] == 386  # ARSAS preferred to ARSA
    assert v21["part_c2s"]["value"] == pytest.approx(30.0) and "beneficiaires_cmuc" not in v21
    assert v19["part_emploi_precaire"]["value"] == pytest.approx(28.0)
    assert v21["part_emploi_precaire"]["value"] == pytest.approx(27.2)
    assert v21["demandeurs_emploi_abc"]["value"] == 926
    assert {r[0] for r in ctx.con.execute("SELECT vintage FROM source").fetchall()} == {"2019", "2021"}


@pytest.mark.parametrize("case", ["bad_code", "bad_number", "duplicate", "no_codgeo", "cp1252", "empty",
                                  "lowercase_code"])
def test_onpv_malformed(ctx, tmp_path, case):
    seed_qpv(ctx.con)
    rows = [r[:] for r in REVN22_ROWS]
    header = REVN22_HEADER
    expect = {"bad_code": (4, "CODGEO"), "bad_number": (3, "DISP_Q2"), "duplicate": (4, "CODGEO"),
              "no_codgeo": (1, "CODGEO"), "cp1252": (4, "LIBGEO"), "lowercase_code": (3, "CODGEO")}.get(case)
    if case == "bad_code":
        rows[2][0] = "QX096002"
    elif case == "lowercase_code":
        rows[1][0] = "qp096001"
    elif case == "bad_number":
        rows[1][2] = "16 49O"
    elif case == "duplicate":
        rows[2][0] = "QP096001"
    elif case == "no_codgeo":
        header = ["CODE"] + REVN22_HEADER[1:]
    if case == "cp1252":
        rows[2][1] = "Les Épines Fictives"
        path = write_csv(tmp_path, "REVN_2022.csv", header, rows, bom=False, encoding="cp1252")
    elif case == "empty":
        path = tmp_path / "REVN_2022.csv"
        path.write_bytes(b"")
    else:
        path = revn22(tmp_path, rows=rows, header=header)
    with pytest.raises(InputError) as exc:
        onpv.load(ctx, [path])
    msg = str(exc.value)
    assert "REVN_2022.csv" in msg
    if case == "empty":
        assert "vide" in msg
    else:
        line, field = expect
        assert f"ligne {line}" in msg and f"champ « {field} »" in msg, msg
    assert ctx.con.execute("SELECT count(*) FROM indicator_value").fetchone()[0] == 0


def test_onpv_same_family_and_vintage_twice_is_an_error(ctx, tmp_path):
    seed_qpv(ctx.con)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with pytest.raises(InputError, match="même millésime"):
        onpv.load(ctx, [revn22(tmp_path / "a"), revn22(tmp_path / "b", name="revn_2022.csv")])


def test_onpv_nothing_in_scope_without_territories(ctx, tmp_path):
    onpv.load(ctx, [revn22(tmp_path)])
    # only the all-QPV reference row: no QPV of the file is loaded
    assert ctx.con.execute("SELECT count(*) FROM indicator_value WHERE level <> 'ensemble_qpv'").fetchone()[0] == 0
    assert ctx.con.execute("SELECT count(*) FROM territory WHERE level <> 'ensemble_qpv'").fetchone()[0] == 0
    oos = [i for i in issues(ctx, "out_of_scope") if i.value != "Ensemble"]
    assert len(oos) == 1 and oos[0].value.startswith("6 codes")


def test_onpv_carry_to_2024(ctx, tmp_path):
    con = ctx.con
    seed_qpv(con)
    # a value already computed on the 2024 geography must not be overwritten
    con.execute("INSERT INTO indicator_value (level, code, indicator_id, year, value, status, geography, source_id, "
                "period) VALUES ('qpv', 'QN09601I', 'revenu_median_uc', 2022, 17000, 'ok', 'QPV2024', 'autre', -7978)")
    files = [revn22(tmp_path),
             demo(tmp_path, 2021, {"QP096001": "6 400", "QP096002": "1 900"}),
             demo(tmp_path, 2022, {"QP096001": "6 490", "QP096002": "1 926", "QP096003": "800"})]
    onpv.load(ctx, files)
    onpv.finalize(ctx)

    src, dst = values(con, "QP096001", 2022), values(con, "QN09601I", 2022)
    assert dst["revenu_median_uc"]["value"] == 17000 and dst["revenu_median_uc"]["geography"] == "QPV2024"
    for k, row in dst.items():
        if k == "revenu_median_uc":
            continue
        assert row["perimeter"] == "exact" and row["derived_from"] == "QP096001", k
        assert row["geography"] == "QPV2015"
        assert (row["value"], row["status"], row["numerator"], row["source_id"]) == \
            (src[k]["value"], src[k]["status"], src[k]["numerator"], src[k]["source_id"])
    assert dst["part_menages_6pers"]["status"] == "secret" and dst["part_menages_6pers"]["value"] is None

    mod = values(con, "QN09602M", 2022)
    assert mod and all(r["perimeter"] == "perimetre_2015" and r["derived_from"] == "QP096002"
                       for r in mod.values())
    assert mod["taux_pauvrete_60"]["status"] == "secret" and mod["taux_pauvrete_60"]["value"] is None
    assert values(con, "QN09603M") == {} and values(con, "QN09604N") == {} and values(con, "QN09605M") == {}

    unl = issues(ctx, "unlinked")
    several = [i for i in unl if "QN09603M" in (i.value or "")]
    assert len(several) == 1 and "QP096003" in several[0].value and "QP096004" in several[0].value
    assert "plusieurs" in several[0].reason
    new = [i for i in unl if i.field == "statut"]
    assert len(new) == 1 and new[0].value == "QN09604N" and "nouveau" in new[0].reason
    assert any("QN09605M" in (i.value or "") and "aucune valeur" in i.reason for i in unl)

    pop = dict(con.execute("SELECT code, population FROM territory WHERE level = 'qpv'").fetchall())
    assert pop["QN09601I"] == 6490  # latest year, exact perimeter
    assert pop["QN09602M"] is None  # 2015 perimeter: not the population of the 2024 QPV
    assert pop["QP096001"] == 6490 and pop["QP096003"] == 800


def test_onpv_finalize_without_onpv_values_does_nothing(ctx):
    seed_qpv(ctx.con)
    onpv.finalize(ctx)
    assert ctx.log.issues == []
    assert ctx.con.execute("SELECT count(*) FROM indicator_value").fetchone()[0] == 0


# --------------------------------------------------------------------------- Filosofi

FILO_DISP_HEADER = ["CODGEO", "LIBGEO", "NBMEN21", "Q121", "Q221", "Q321", "RD", "PACT21", "PPSOC21", "Q219"]


def seed_communes(con):
    add_territory(con, "commune", "96001", "Bourg-Fictif")
    add_territory(con, "commune", "96002", "Val-Imaginaire")
    add_territory(con, "arrondissement", "96101", "Bourg-Fictif 1er Arrondissement")
    add_territory(con, "epci", "299900001", "CA du Pays Fictif")


def test_filosofi_detect(tmp_path):
    for name in ("FILO2019_DISP_COM.csv", "FILO2019_DISP_Pauvres_COM.csv", "FILO2021_DISP_PAUVRES_EPCI.csv",
                 "filo2019_disp_metropole.csv", "FILO2020_DISP_DEP.csv", "FILO2020_DISP_REG.csv"):
        assert filosofi.detect(tmp_path / name), name
    assert filosofi.detect(tmp_path / "FILO2021_DISP_EPCI.xlsx")   # the supra-communal workbooks since 2021
    for name in ("FILO2019_DEC_COM.csv", "FILO2019_DISP_COM.ods", "FILO2019_DISP_IRIS.csv", "REVN_2019.csv"):
        assert not filosofi.detect(tmp_path / name), name


def test_filosofi_levels_suffixes_and_scope(ctx, tmp_path):
    con = ctx.con
    seed_communes(con)
    files = [
        write_csv(tmp_path, "FILO2021_DISP_COM.csv", FILO_DISP_HEADER, [
            ["96001", "Bourg-Fictif", "4 000", "16 000", "21 930", "29 000", "3,4", "73,5", "5,8", "99 999"],
            ["96002", "Val-Imaginaire", "120", "", "23 640", "", "", "", "", "99 999"],
            ["96101", "Bourg-Fictif 1er Arrondissement", "900", "10 000", "15 390", "23 000", "4,7", "71,5",
             "15,9", "1"],
            ["98001", "Commune Hors-Champ", "300", "", "20 000", "", "", "", "", ""],
        ], trailing=0, bom=True),
        write_csv(tmp_path, "FILO2021_DISP_Pauvres_COM.csv", ["CODGEO", "TP6021", "TP60AGE121"],
                  [["96001", "14,2", "20,1"], ["96002", "", ""]], trailing=0),
        write_csv(tmp_path, "FILO2021_DISP_EPCI.csv", ["CODGEO", "LIBGEO", "Q221", "RD21", "PACT21", "PPSOC21"],
                  [["299900001", "CA du Pays Fictif", "20 500", "3,1", "70,0", "6,0"],
                   ["299900002", "CC Hors-Champ", "19 000", "2,9", "68,0", "7,0"]], trailing=0, bom=False),
        write_csv(tmp_path, "FILO2021_DISP_METROPOLE.csv", FILO_DISP_HEADER,
                  [["1", "France métropolitaine", "27 937 964", "16 090", "21 930", "29 270", "3,4", "73,5",
                    "5,8", ""]], trailing=0),
    ]
    filosofi.load(ctx, files)

    c1 = values(con, "96001", 2021)
    assert c1["revenu_median_uc"]["value"] == 21930  # Q221, not the Q219 decoy
    assert c1["rapport_interdecile"]["value"] == pytest.approx(3.4)
    assert c1["taux_pauvrete_60"]["value"] == pytest.approx(14.2)
    assert c1["revenu_median_uc"]["geography"] == "COG2021"
    c2 = values(con, "96002", 2021)
    assert c2["revenu_median_uc"]["value"] == 23640
    for k in ("rapport_interdecile", "part_prestations_sociales", "taux_pauvrete_60"):
        assert c2[k]["status"] == "secret" and c2[k]["value"] is None, k
    arr = con.execute("SELECT DISTINCT level FROM indicator_value WHERE code = '96101'").fetchall()
    assert arr == [("arrondissement",)]
    assert values(con, "299900001", 2021)["rapport_interdecile"]["value"] == pytest.approx(3.1)  # RD21
    assert con.execute("SELECT name FROM territory WHERE level = 'france' AND code = 'FRM'").fetchone() == \
        ("France métropolitaine",)
    assert values(con, "FRM", 2021)["revenu_median_uc"]["value"] == 21930
    assert values(con, "98001") == {} and values(con, "299900002") == {}
    oos = {i.file: i.value for i in issues(ctx, "out_of_scope")}
    assert set(oos) == {"FILO2021_DISP_COM.csv", "FILO2021_DISP_EPCI.csv"}
    assert "98001" in oos["FILO2021_DISP_COM.csv"]
    src = con.execute("SELECT publisher, vintage, geography, licence FROM source "
                      "WHERE source_id = 'filosofi_2021_disp_pauvres_com'").fetchone()
    assert src == ("INSEE", "2021", "COG2021", "Licence Ouverte / Etalab 2.0")


@pytest.mark.parametrize("case", ["bad_code", "duplicate", "bad_number", "no_codgeo"])
def test_filosofi_malformed(ctx, tmp_path, case):
    seed_communes(ctx.con)
    header = list(FILO_DISP_HEADER)
    rows = [["96001", "Bourg-Fictif", "4 000", "16 000", "21 930", "29 000", "3,4", "73,5", "5,8", ""],
            ["96002", "Val-Imaginaire", "120", "", "23 640", "", "", "", "", ""]]
    line, field = {"bad_code": (3, "CODGEO"), "duplicate": (3, "CODGEO"), "bad_number": (2, "Q221"),
                   "no_codgeo": (1, "CODGEO")}[case]
    if case == "bad_code":
        rows[1][0] = "9602"
    elif case == "duplicate":
        rows[1][0] = "96001"
    elif case == "bad_number":
        rows[0][4] = "21.930,5"
    else:
        header[0] = "COM"
    path = write_csv(tmp_path, "FILO2021_DISP_COM.csv", header, rows, trailing=0)
    with pytest.raises(InputError) as exc:
        filosofi.load(ctx, [path])
    msg = str(exc.value)
    assert "FILO2021_DISP_COM.csv" in msg and f"ligne {line}" in msg and f"champ « {field} »" in msg, msg
    assert ctx.con.execute("SELECT count(*) FROM indicator_value").fetchone()[0] == 0


# --------------------------------------------------------------------------- APL (DREES, xlsx)

APL_HEADER = ["Code commune INSEE", "Commune", "APL aux médecins généralistes",
              "APL aux médecins généralistes de moins de 65 ans", "Population standardisée"]


def write_apl(path, sheets, notice=True):
    """DREES layout: title and note rows, then the header line, then one row per commune."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if notice:
        ws = wb.create_sheet("Notice")
        ws.append(["Accessibilité potentielle localisée (APL) — données fictives"])
        ws.append(["Voir les feuilles annuelles."])
    for title, n_head, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(["Accessibilité potentielle localisée (APL) aux médecins généralistes"])
        for i in range(1, n_head):
            ws.append([f"Note {i} : données fictives pour les tests"] if i % 2 else [])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=4)
        ws.append(APL_HEADER)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def apl_fixture(tmp_path, name="APL_mg_fictif.xlsx"):
    return write_apl(tmp_path / name, [
        ("APL 2022", 8, [["96001", "Bourg-Fictif", 9.9, 3.456, 1200.5],
                         [96002, "Val-Imaginaire", 9.9, "2,5", 800],
                         ["96101", "Bourg-Fictif 1er Arrondissement", None, None, 500],
                         [],
                         ["98001", "Commune Hors-Champ", 1.0, 1.0, 300]]),
        ("APL 2021", 6, [["96001", "Bourg-Fictif", 9.9, 3.1, 1200.5]]),
    ])


def test_apl_detect(tmp_path):
    assert apl.detect(apl_fixture(tmp_path))
    other = tmp_path / "actions.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["id_action", "titre", "commune"])
    wb.save(other)
    assert not apl.detect(other)
    (tmp_path / "faux.xlsx").write_text("pas un classeur")
    assert not apl.detect(tmp_path / "faux.xlsx")
    assert not apl.detect(write_csv(tmp_path, "apl.csv", APL_HEADER, [["96001", "x", "1", "2", "3"]]))


def test_apl_header_found_by_content(ctx, tmp_path):
    seed_communes(ctx.con)
    apl.load(ctx, [apl_fixture(tmp_path)])
    con = ctx.con
    v22, v21 = values(con, "96001", 2022), values(con, "96001", 2021)
    assert v22["apl_medecins_generalistes"]["value"] == pytest.approx(3.456)  # the "moins de 65 ans" column
    assert v21["apl_medecins_generalistes"]["value"] == pytest.approx(3.1)
    assert values(con, "96002", 2022)["apl_medecins_generalistes"]["value"] == pytest.approx(2.5)
    arr = con.execute("SELECT level, value, status FROM indicator_value WHERE code = '96101' "
                      "AND indicator_id = 'apl_medecins_generalistes'").fetchall()
    assert arr == [("arrondissement", None, "missing")]
    assert v22["apl_mg_tous_ages"]["value"] == pytest.approx(9.9)             # the all-doctors column too
    assert values(con, "98001") == {}
    oos = issues(ctx, "out_of_scope")
    assert len(oos) == 1 and "98001" in oos[0].value
    assert con.execute("SELECT DISTINCT geography FROM indicator_value ORDER BY 1").fetchall() == \
        [("COG2021",), ("COG2022",)]
    src = con.execute("SELECT publisher, vintage, licence FROM source").fetchall()
    assert src == [("DREES", "2021, 2022", "Licence Ouverte / Etalab 2.0")]


@pytest.mark.parametrize("case", ["bad_code", "duplicate", "bad_number", "no_header", "no_year"])
def test_apl_malformed(ctx, tmp_path, case):
    seed_communes(ctx.con)
    rows = [["96001", "Bourg-Fictif", 1, 3.4, 10], ["96002", "Val-Imaginaire", 1, 2.1, 10]]
    title = "APL 2022"
    if case == "bad_code":
        rows[1][0] = "96OO2"
    elif case == "duplicate":
        rows[1][0] = "96001"
    elif case == "bad_number":
        rows[1][3] = "deux"
    elif case == "no_year":
        title = "Données"
    path = tmp_path / "apl.xlsx"
    if case == "no_header":
        wb = openpyxl.Workbook()
        wb.active.append(["Code", "APL"])
        wb.save(path)
    else:
        write_apl(path, [(title, 8, rows)])
    with pytest.raises(InputError) as exc:
        apl.load(ctx, [path])
    msg = str(exc.value)
    assert "apl.xlsx" in msg
    if case == "no_header":
        assert "en-tête introuvable" in msg
    elif case == "no_year":
        assert "feuille « Données »" in msg and "année" in msg
    else:
        field = "APL aux médecins généralistes de moins de 65 ans" if case == "bad_number" else \
            "Code commune INSEE"
        assert "feuille « APL 2022 », ligne 11" in msg and f"champ « {field} »" in msg, msg
    assert ctx.con.execute("SELECT count(*) FROM indicator_value").fetchone()[0] == 0


# --------------------------------------------------------------------------- real files (integration)

PACA_DEPS = ("004", "005", "006", "013", "083", "084")


def seed_paca_from_correspondence(con, real_dir):
    """2024 QPVs of PACA and their correspondence rows, read from the real file in place."""
    path = real_dir / "correspondance" / "qpv_correspondance_2024_2015_v0.csv"
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["qp2024"][2:5] in PACA_DEPS]
    corr = {}
    for r in rows:
        code = r["qp2024"]
        preds = [r[f"qp2015_{i}"] for i in (1, 2, 3) if r[f"qp2015_{i}"]]
        corr[code] = (r["statut"].lower(), preds)
        add_territory(con, "qpv", code, r["label_qp2024"], "2024", "93", code[3:5])
        for rank, pred in enumerate(preds or [None], start=1):
            con.execute("INSERT INTO qpv_correspondence VALUES (?,?,?,?,?,?,NULL)",
                        [code, r["label_qp2024"], corr[code][0], rank if pred else None, pred, None])
    return corr


def test_real_onpv_files(ctx, real_dir):
    con = ctx.con
    corr = seed_paca_from_correspondence(con, real_dir)
    preds = {p for _, ps in corr.values() for p in ps}
    files = sorted((real_dir / "onpv_indicateurs_qpv2015").glob("*.csv"))
    assert len(files) == 16 and all(onpv.detect(f) for f in files)
    onpv.load(ctx, files)

    assert con.execute("SELECT count(*) FROM source WHERE geography = 'QPV2015'").fetchone()[0] == 16
    created = {r[0] for r in con.execute(
        "SELECT code FROM territory WHERE level = 'qpv' AND generation = '2015'").fetchall()}
    assert created == preds
    oos = [i for i in issues(ctx, "out_of_scope") if i.value != "Ensemble"]
    assert sorted(i.file for i in oos) == sorted(f.name for f in files)

    db = {(c, i, y): (v, s) for c, i, y, v, s in con.execute(
        "SELECT code, indicator_id, year, value, status FROM indicator_value WHERE level = 'qpv'").fetchall()}
    assert {k[0] for k in db} == preds
    checked_empty = checked_zero = checked_missing = 0
    for f in files:
        family, year = f.stem.upper().split("_")
        table = read_table(f)
        rules = ind.rules("onpv", table.header, family=family)
        n_data = n_kept = 0
        for _, rec in table.records():
            if rec["CODGEO"] == "Ensemble":
                continue
            n_data += 1
            if rec["CODGEO"] not in preds:
                continue
            n_kept += 1
            for rule in rules:
                value, status = db[rec["CODGEO"], rule.indicator, int(year)]
                cells = [rec[c] for c in rule.columns]
                if any(c == "" for c in cells):  # empty cell: secret, or unavailable per the file's note; never 0
                    note = rec.get(rule.note, "") if rule.note else ""
                    expected = "missing" if note.strip() not in ("", "0") else "secret"
                    assert status == expected and value is None, (f.name, rec["CODGEO"], rule)
                    checked_empty += 1
                    checked_missing += expected == "missing"
                elif rule.value:
                    assert status == "ok" and value == float(re.sub(r"\s", "", cells[0]).replace(",", "."))
                    checked_zero += value == 0
        oos_file = next(i for i in oos if i.file == f.name)
        assert oos_file.value.startswith(f"{n_data - n_kept} codes")
    assert checked_empty > 100 and checked_zero > 0 and checked_missing > 0
    assert con.execute("SELECT count(*) FROM indicator_value WHERE status <> 'ok' AND value IS NOT NULL"
                       ).fetchone()[0] == 0
    # the official D9/D1 where the file gives it, not a ratio of rounded deciles
    d1d9 = {r["CODGEO"]: r["DISP_D1D9"] for _, r in read_table(
        real_dir / "onpv_indicateurs_qpv2015" / "REVN_2022.csv").records()}
    for code, in con.execute("SELECT code FROM indicator_value WHERE indicator_id = 'rapport_interdecile' "
                             "AND year = 2022 AND status = 'ok'").fetchall():
        assert db[code, "rapport_interdecile", 2022][0] == float(d1d9[code].replace(",", "."))
    # identical successive vintages (population 2017 = 2018 = 2019, 2021 = 2022) are detected and reported
    same = dict(((y, s) for y, s in con.execute(
        "SELECT DISTINCT year, same_as FROM indicator_value WHERE indicator_id = 'population'").fetchall()))
    assert same == {2017: None, 2018: 2017, 2019: 2017, 2021: None, 2022: 2021}
    reported = [i for i in issues(ctx, "warning") if i.field == "population"]
    assert {i.value for i in reported} == {"2018", "2019", "2022"}
    assert all("identique au millésime" in i.reason for i in reported)
    # no reference year declared for ONPV tables: unknown, never the file's year
    assert con.execute("SELECT count(*) FROM indicator_value WHERE ref_year IS NOT NULL").fetchone()[0] == 0

    onpv.finalize(ctx)
    carried = dict(con.execute(
        "SELECT code, list(DISTINCT perimeter) FROM indicator_value WHERE code LIKE 'QN%' GROUP BY code").fetchall())
    for code, (statut, ps) in corr.items():
        if statut == "inchange" and code.endswith("I"):
            assert carried[code] == ["exact"], code
        elif statut in ("modifie", "inchange") and len(ps) == 1:    # QN01325M: INCHANGE but code M
            assert carried[code] == ["perimetre_2015"], code
        else:
            assert code not in carried, code
    several = [c for c, (s, ps) in corr.items() if len(ps) > 1]
    assert len([i for i in issues(ctx, "unlinked") if i.field == "qpv2015"]) == len(several)
    pops = con.execute("SELECT count(population) FROM territory WHERE code LIKE 'QN%'").fetchone()[0]
    assert pops == sum(1 for c, (s, _) in corr.items() if s == "inchange" and c.endswith("I"))
    assert any(i.value == "QN01325M" and "par prudence" in i.reason for i in issues(ctx, "warning"))


def test_real_filosofi_files(ctx, real_dir):
    con = ctx.con
    geo = real_dir / "reference_geo"
    communes = {f["properties"]["INSEE_COM"] for f in
                json.loads((geo / "commune_paca.geojson").read_text(encoding="utf-8"))["features"]}
    arms = {f["properties"]["INSEE_ARM"] for f in json.loads(
        (geo / "arrondissement_municipal_marseille.geojson").read_text(encoding="utf-8"))["features"]}
    with open(geo / "epci_paca.csv", encoding="utf-8-sig", newline="") as fh:
        epcis = {r["CODE_SIREN"] for r in csv.DictReader(fh)}
    con.executemany("INSERT INTO territory (level, code, name) VALUES (?, ?, ?)",
                    [(level, code, f"territoire {code}") for level, codes in
                     (("commune", communes), ("arrondissement", arms), ("epci", epcis)) for code in sorted(codes)])
    files = sorted((real_dir / "filosofi_2019").glob("*.csv"))
    assert files and all(filosofi.detect(f) for f in files)
    filosofi.load(ctx, files)

    com = read_table(real_dir / "filosofi_2019" / "FILO2019_DISP_COM.csv")
    rows = {r["CODGEO"]: r for _, r in com.records()}
    kept = {c: r for c, r in rows.items() if c in communes or c in arms}
    db = {(lvl, c): (v, s) for lvl, c, v, s in con.execute(
        "SELECT level, code, value, status FROM indicator_value WHERE indicator_id = 'revenu_median_uc'").fetchall()}
    assert len([k for k in db if k[0] in ("commune", "arrondissement")]) == len(kept)
    assert len([k for k in db if k[0] == "arrondissement"]) == len(arms) == 16
    assert len([k for k in db if k[0] == "epci"]) == len(epcis)
    assert ("france", "FRM") in db
    # no empty cell became 0
    rd = dict(con.execute("SELECT code, status FROM indicator_value WHERE indicator_id = 'rapport_interdecile' "
                          "AND level IN ('commune', 'arrondissement')").fetchall())
    n_secret = 0
    for code, r in kept.items():
        if r["RD"] == "":
            assert rd[code] == "secret"
            n_secret += 1
        if r["Q219"] == "":
            lvl = "arrondissement" if code in arms else "commune"
            assert db[lvl, code] == (None, "secret")
    assert n_secret > 0
    assert con.execute("SELECT count(*) FROM indicator_value WHERE status <> 'ok' AND value IS NOT NULL"
                       ).fetchone()[0] == 0
    assert con.execute("SELECT DISTINCT geography FROM indicator_value").fetchall() == [("COG2019",)]
