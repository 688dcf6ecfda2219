"""Fictional files in the official layouts of every source of etl/sources.toml, as their producers serve them.

`served(source, tmp)` returns the bytes a local HTTP mirror serves for one catalogue source (the zip,
7z, CSV, workbook or JSON its URL gives); WRITERS lists the sources covered, and a test checks that
every catalogue source is (a new source needs its fixture here). Nothing comes from a real file:
the territories are made up (régions 93 "Région Fictive Sud" and 11 "Région Fictive Nord", four
communes, three QPVs of 2024 and two of 2015) and so are the figures. Where the layout is known
only from the producer's documentation and public code (INSEE's 2024-geography releases, census
2022 bases, APL 2022-2024, Filosofi 2023 long format), the fixture follows that documentation:
the catalogue says so (`layout_checked = false`).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
from shapely.geometry import Polygon

NNBSP = "\u202f"   # INSEE's thousands separator in its 2024 releases
NBSP = "\u00a0"    # ... and in the earlier ones
QPV_MEMBER = "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
QPV2015_LAYER = "QP_METROPOLEOUTREMER_WGS84_EPSG4326"

# The fictional world: communes (code, name, population, département, région, EPCI)
COMMUNES = [("13901", "Bourg-Fictif", 1200, "13", "93", "299900001"),
            ("13902", "Val-Chimère", 900, "13", "93", "299900001"),
            ("83901", "Port-Songe", 800, "83", "93", "299900002"),
            ("93901", "Ville-Mirage", 5000, "93", "11", "299900003")]
QPV24 = ["QN01390N", "QN08391M", "QN09390I"]


def square(x, y, d=0.01):
    return Polygon([(x, y), (x + d, y), (x + d, y + d), (x, y + d)])


def put(zf: zipfile.ZipFile, name: str, data) -> None:
    """A zip member with a fixed date, so that building the same archive twice gives the same bytes."""
    zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, compress_type=zf.compression)


def zipped(members: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            put(zf, name, data)
    return buf.getvalue()


def _workbook_bytes(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ----------------------------------------------------------------------------- ANCT: QPV geography

def qpv_geojson() -> bytes:
    """Three fictional QPVs in the ANCT 2024 layout: two in région 93, one in région 11."""
    rows = [
        (1, "QN01390N", "Quartier des Licornes", "93", "Région Fictive Sud", "13", "Dép. Fictif",
         "13901, 13902", "Bourg-Fictif, Val-Chimère", "299900001", square(5.0, 43.0)),
        (2, "QN08391M", "Les Jardins Imaginaires", "93", "Région Fictive Sud", "83", "Dép. Imaginaire",
         "83901", "Port-Songe", "299900002", square(6.0, 43.1)),
        (3, "QN09390I", "Cité des Chimères", "11", "Région Fictive Nord", "93", "Dép. Chimérique",
         "93901", "Ville-Mirage", "299900003", square(2.4, 48.9)),
    ]
    gdf = gpd.GeoDataFrame(
        [r[:-1] for r in rows],
        columns=["fid", "code_qp", "lib_qp", "insee_reg", "lib_reg", "insee_dep", "lib_dep",
                 "insee_com", "lib_com", "siren_epci"],
        geometry=[r[-1] for r in rows], crs="EPSG:4326")
    return gdf.to_json(drop_id=True).encode("utf-8")


def qpv_zip() -> bytes:
    return zipped({QPV_MEMBER: qpv_geojson(),
                   "LB93/QP2024_France_Hexagonale_LB93.geojson": b'{"type":"FeatureCollection","features":[]}',
                   "LISEZMOI.txt": "Fichier fictif de test."})


CORRESPONDANCE = (
    "QP2024;Label_QP2024;Statut;QP2015_1;Label_QP2015_1;QP2015_2;Label_QP2015_2;QP2015_3;Label_QP2015_3\n"
    "QN01390N;Quartier des Licornes;NOUVEAU;;;;;;\n"
    "QN08391M;Les Jardins Imaginaires;MODIFIE;QP083901;Jardins Imaginaires;;;;\n"
    "QN09390I;Cité des Chimères;INCHANGE;QP093901;Cité Des Chimères;;;;\n"
).encode("utf-8")


def qpv2015_zip(tmp: Path) -> bytes:
    """The 2015 contours zip: the same QPVs in two full layers (Lambert 93 metropolitan, and WGS84
    with overseas), shapefiles with CODE_QP, NOM_QP, COMMUNE_QP (commune names)."""
    folder = tmp / "qp2015"
    folder.mkdir(exist_ok=True)
    gdf = gpd.GeoDataFrame({"CODE_QP": ["QP083901", "QP093901"],
                            "NOM_QP": ["Jardins Imaginaires", "Cité Des Chimères"],
                            "COMMUNE_QP": ["Port-Songe", "Ville-Mirage"]},
                           geometry=[square(6.0, 43.1), square(2.4, 48.9)], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, folder / f"{QPV2015_LAYER}.shp", encoding="UTF-8")
    pyogrio.write_dataframe(gdf.to_crs(2154), folder / "QP_METROPOLE_LB93.shp", encoding="UTF-8")
    return zipped({p.name: p.read_bytes() for p in sorted(folder.iterdir())})


# ----------------------------------------------------------------------------- ONPV / SIG Ville tables

ONPV_REVN = ("\ufeffCODGEO;LIBGEO;DISP_Q2;TP60;NOTE_FILO;;;;\r\n"
             "QP083901;Jardins Imaginaires;13 250;41,5;;;;;\r\n"
             "QP093901;Cité Des Chimères;;;Secret statistique;;;;\r\n").encode("utf-8")
ONPV_DEMO = ("\ufeffCODGEO;LIBGEO;POP_MUN;TX_TOT_0A24;TX_TOT_60ETPLUS;NOTE_RP;;;\r\n"
             "QP083901;Jardins Imaginaires;2 410;41,2;15,8;0;;;\r\n"
             "QP093901;Cité Des Chimères;3 105;38,4;17,1;0;;;\r\n").encode("utf-8")
ONPV_IPRO = ("\ufeffCODGEO;LIBGEO;TX_TOT_EMPL;TX_F_EMPL;ABC;NOTE_ASP;;;\r\n"
             "QP083901;Jardins Imaginaires;48,6;41,0;312;0;;;\r\n"
             "QP093901;Cité Des Chimères;51,2;44,3;405;0;;;\r\n").encode("utf-8")


# ----------------------------------------------------------------------------- INSEE: Filosofi

def filosofi_zip(levels: list[str], year: int = 2019, ext: str = "csv") -> bytes:
    """FILO{year}_DISP_{level} and FILO{year}_DISP_Pauvres_{level} (and a DEC file that is not laid)."""
    yy = f"{year % 100:02d}"
    members = {}
    for lvl in levels:
        code = {"COM": "13901", "EPCI": "299900001", "DEP": "13", "REG": "93", "METROPOLE": "FM"}.get(lvl, "99")
        disp = [["CODGEO", "LIBGEO", f"Q2{yy}", f"PACT{yy}"], [code, f"Fictif {lvl}", "20 000", "71,5"]]
        pauvres = [["CODGEO", "LIBGEO", f"TP60{yy}"], [code, f"Fictif {lvl}", "15,2"]]
        if ext == "xlsx":
            members[f"FILO{year}_DISP_{lvl}.xlsx"] = _filo_workbook(disp, year)
            members[f"FILO{year}_DISP_Pauvres_{lvl}.xlsx"] = _filo_workbook(pauvres, year)
        else:
            members[f"FILO{year}_DISP_{lvl}.csv"] = "".join(";".join(r) + "\n" for r in disp)
            members[f"FILO{year}_DISP_Pauvres_{lvl}.csv"] = "".join(";".join(r) + "\n" for r in pauvres)
        members[f"FILO{year}_DEC_{lvl}.{ext}"] = "CODGEO;LIBGEO\n"
    return zipped(members)


def _filo_workbook(rows: list[list[str]], year: int) -> bytes:
    """INSEE's supra-communal workbooks (2021 and later): title and source rows, the header row
    holding CODGEO, numbers as numbers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "ENSEMBLE"
    ws.append([f"Revenus et pauvreté des ménages en {year} — données fictives"])
    ws.append(["Source : fichier fictif de test au format INSEE-DGFiP-Cnaf-Cnav-CCMSA, Filosofi"])
    ws.append([])
    ws.append(rows[0])
    for r in rows[1:]:
        ws.append([float(c.replace(" ", "").replace(",", ".")) if i >= 2 else c for i, c in enumerate(r)])
    return _workbook_bytes(wb)


def filosofi_qpv_zip(geography: str = "qp15", codes=("QP083901",), ensemble: str = "00") -> bytes:
    """INSEE's Filosofi-on-QPV zip (year 2021): the QPV file, the all-QPV file and the variable
    dictionary, in the 2018+ layout (U+00A0 thousands, `,` decimals, year in the column names)."""
    head = "CODGEO;DISP_MED_A21;DISP_TP60_A21\r\n"
    rows = "".join(f"{c};15{NBSP}100;41,2\r\n" for c in codes)
    return zipped({f"revenu-disponible-{geography}-2021_QP.csv": head + rows,
                   f"revenu-disponible-{geography}-2021_ENSQP.csv": f"{head}{ensemble};14{NBSP}500;43,1\r\n",
                   f"meta_indic-revenu-disponible-{geography}-2021_QP.csv": "COD_VAR;LIB_VAR\r\n"})


def filosofi_long_zip() -> bytes:
    """Filosofi 2023 in INSEE's long format (DS_FILOSOFI_CC_data.csv and its metadata)."""
    head = "GEO;GEO_OBJECT;FILOSOFI_MEASURE;UNIT_MEASURE;UNIT_MULT;CONF_STATUS;OBS_STATUS;TIME_PERIOD;OBS_VALUE\n"
    rows = ['"13901";"COM";"MED_SL";"EUR_YR";"0";"F";"A";"2023";"21420"',
            '"13901";"COM";"PR_MD60";"PCT";"0";"F";"A";"2023";"17.3"',
            '"13902";"COM";"PR_MD60";"PCT";"0";"C";"A";"2023";""',
            '"299900001";"EPCI";"PR_MD60";"PCT";"0";"F";"A";"2023";"16.1"',
            '"13";"DEP";"PR_MD60";"PCT";"0";"F";"A";"2023";"18.0"',
            '"93";"REG";"PR_MD60";"PCT";"0";"F";"A";"2023";"17.0"',
            '"FM";"FRANCE";"PR_MD60";"PCT";"0";"F";"A";"2023";"15.4"',
            '"001";"ZE2020";"PR_MD60";"PCT";"0";"F";"A";"2023";"14.0"']
    return zipped({"DS_FILOSOFI_CC_2023_data.csv": head + "\n".join(rows) + "\n",
                   "DS_FILOSOFI_CC_2023_metadata.csv": "COD_VAR;LIB_VAR\n"})


# ----------------------------------------------------------------------------- INSEE: 2024 QPV releases

def _qpv24_csv(rows: list[list[str]]) -> str:
    return "".join(";".join(r) + "\r\n" for r in rows)


def insee_qpv24_zip(family: str, vintage: int) -> bytes:
    """data_{FAMILY}{YYYY}_QP.csv and _COM.csv (and a dictionary that is not laid)."""
    cols = {"CNAM": ["C", "C_C2SNP", "C_C2SP"], "CAF": ["A", "ARSAS", "AM"], "DEFM": ["ABC"]}[family]
    qp = {"CNAM": [f"2{NNBSP}310", "610", "95"], "CAF": ["840", "212", "190"], "DEFM": ["301"]}[family]
    com = {"CNAM": [f"1{NNBSP}150", "120", "20"], "CAF": ["420", "61", "70"], "DEFM": ["95"]}[family]
    members = {
        f"data_{family}{vintage}_QP.csv": _qpv24_csv([["CODGEO", "LIBGEO", *cols],
                                                       ["QN08391M", "Les Jardins Imaginaires", *qp],
                                                       ["QN09390I", "Cité des Chimères", *qp]]),
        f"data_{family}{vintage}_COM.csv": _qpv24_csv([["CODGEO", "LIBGEO", *cols],
                                                        ["13901", "Bourg-Fictif", *com],
                                                        ["83901", "Port-Songe", *com]]),
        f"meta_{family}{vintage}.csv": "COD_VAR;LIB_VAR\r\n",
    }
    return zipped(members)


POP_QPV24 = _qpv24_csv([["CODGEO", "LIBGEO", "POP_MUN"], ["QN01390N", "Quartier des Licornes", f"2{NNBSP}140"],
                        ["QN08391M", "Les Jardins Imaginaires", f"2{NNBSP}390"]]).encode("utf-8")
POP_COMMUNES_QPV24 = _qpv24_csv([["CODGEO", "LIBGEO", "POP_MUN"], ["13901", "Bourg-Fictif", f"1{NNBSP}200"],
                                 ["83901", "Port-Songe", "800"]]).encode("utf-8")


# ----------------------------------------------------------------------------- INSEE: census bases

CENSUS_2022 = {
    "emploi-pop-active": ["P22_POP1564", "P22_ACTOCC1564", "P22_F1564", "P22_FACTOCC1564"],
    "evol-struct-pop": ["P22_POP", "P22_POP6074", "P22_POP7589", "P22_POP90P"],
    "coupl-fam-men": ["C22_MEN", "C22_MENPSEUL"],
    "diplomes-formation": ["P22_NSCOL15P", "P22_NSCOL15P_DIPLMIN"],
    "logement": ["P22_RP", "P22_RP_LOCHLMV"],
}


def census_zip(base: str, year: int = 2022, encoding: str = "utf-8") -> bytes:
    """INSEE's zip of a census communal base: the CSV and its metadata (not laid). Figures are
    decimal (the bases are weighted), `.` separated; the layout may come in Latin-1."""
    cols = CENSUS_2022[base] if year == 2022 else [c.replace("22_", f"{year % 100}_") for c in CENSUS_2022[base]]
    lines = ["CODGEO;LIBGEO;" + ";".join(cols)]
    for i, (code, name, pop, *_rest) in enumerate(COMMUNES):
        total = pop * 0.62 if base == "emploi-pop-active" else pop * (0.45 if base == "coupl-fam-men" else 0.9)
        figures = [total] + [total * (0.35 + 0.05 * (i + k)) / (len(cols) - 1) for k in range(len(cols) - 1)]
        lines.append(f"{code};{name};" + ";".join(f"{v:.4f}" for v in figures))
    return zipped({f"base-cc-{base}-{year}.csv": ("\n".join(lines) + "\n").encode(encoding),
                   f"meta_base-cc-{base}-{year}.csv": "COD_VAR;LIB_VAR\n"})


# ----------------------------------------------------------------------------- IGN, COG, DREES, ARS

def admin_express_7z(tmp: Path) -> bytes:
    """A 7z in the IGN ADMIN EXPRESS COG CARTO 3-x layout with fictional COMMUNE, ARRONDISSEMENT_MUNICIPAL
    and EPCI shapefiles in nested folders."""
    import py7zr

    shp = tmp / "shp"
    shp.mkdir(exist_ok=True)
    communes = gpd.GeoDataFrame(
        {"INSEE_COM": [c[0] for c in COMMUNES], "NOM": [c[1] for c in COMMUNES],
         "POPULATION": [c[2] for c in COMMUNES], "INSEE_DEP": [c[3] for c in COMMUNES],
         "INSEE_REG": [c[4] for c in COMMUNES], "SIREN_EPCI": [c[5] for c in COMMUNES]},
        geometry=[square(5.0, 43.0, 0.1), square(5.1, 43.0, 0.1), square(6.0, 43.1, 0.1), square(2.4, 48.9, 0.1)],
        crs="EPSG:4326")
    pyogrio.write_dataframe(communes, shp / "COMMUNE.shp", encoding="UTF-8")
    arm = gpd.GeoDataFrame(
        {"INSEE_ARM": ["13955", "93955"], "NOM": ["Bourg-Fictif 1er", "Ville-Mirage 1er"],
         "INSEE_COM": ["13901", "93901"], "POPULATION": [600, 2500]},
        geometry=[square(5.0, 43.0), square(2.4, 48.9)], crs="EPSG:4326")
    pyogrio.write_dataframe(arm, shp / "ARRONDISSEMENT_MUNICIPAL.shp", encoding="UTF-8")
    epci = gpd.GeoDataFrame(
        {"CODE_SIREN": ["299900001", "299900002", "299900003"],
         "NOM": ["CA Fictive du Littoral", "CC Imaginaire", "Métropole Mirage"], "NATURE": ["CA", "CC", "ME"]},
        geometry=[square(5.0, 43.0, 0.2), square(6.0, 43.1, 0.1), square(2.4, 48.9, 0.1)], crs="EPSG:4326")
    pyogrio.write_dataframe(epci, shp / "EPCI.shp", encoding="UTF-8")
    inner = "ADMIN-EXPRESS-COG-CARTO/1_DONNEES_LIVRAISON/ADECOGC_SHP_WGS84G_FRA"
    out = tmp / "ae.7z"
    with py7zr.SevenZipFile(out, "w") as z:
        for p in sorted(shp.iterdir()):
            z.write(p, f"{inner}/{p.name}")
    return out.read_bytes()


COG_DEPARTEMENTS = ("DEP,REG,CHEFLIEU,TNCC,NCC,NCCENR,LIBELLE\n"
                    "13,93,13901,3,DEP FICTIF,Dep Fictif,Dép. Fictif\n"
                    "83,93,83901,3,DEP IMAGINAIRE,Dep Imaginaire,Dép. Imaginaire\n"
                    "93,11,93901,3,DEP CHIMERIQUE,Dep Chimerique,Dép. Chimérique\n").encode("utf-8")
COG_REGIONS = ("REG,CHEFLIEU,TNCC,NCC,NCCENR,LIBELLE\n"
               "93,13901,0,REGION FICTIVE SUD,Region Fictive Sud,Région Fictive Sud\n"
               "11,93901,0,REGION FICTIVE NORD,Region Fictive Nord,Région Fictive Nord\n").encode("utf-8")

APL_HEADER = ["Code commune INSEE", "Commune", "APL aux médecins généralistes",
              "APL aux médecins généralistes de 65 ans ou moins", "APL aux médecins généralistes de 62 ans ou moins",
              "APL aux médecins généralistes de 60 ans ou moins",
              "Population standardisée 2022 pour la médecine générale", "Population totale 2022"]
APL_UNIT = "Nombre de consultations/visites accessibles par habitant standardisé et par an"


def apl_workbook(years=(2022, 2023, 2024), rows=None) -> bytes:
    """The DREES 2022-2024 workbook: a notice sheet, then one sheet "APL YYYY" per year with 8 title
    and note rows, the header on row 9, a units row, one row per commune (codes as text) and a total."""
    wb = openpyxl.Workbook()
    notice = wb.active
    notice.title = "Présentation"
    notice.append(["Indicateur d'accessibilité potentielle localisée (APL) aux médecins généralistes — fictif"])
    for year in years:
        ws = wb.create_sheet(f"APL {year}")
        ws.append([f"Accessibilité potentielle localisée (APL) aux médecins généralistes en {year}"])
        ws.append([])
        ws.append(["Champ : France hors Mayotte (fichier fictif de test)"])
        ws.append(["Sources : SNIIR-AM (fictif), EGB (fictif), populations INSEE (fictif)"])
        ws.append([])
        ws.append(["Lecture : données fictives"])
        ws.append([])
        ws.append([])
        ws.append(APL_HEADER)
        ws.append([None, None, APL_UNIT, APL_UNIT, APL_UNIT, APL_UNIT, "Nombre d'habitants standardisés",
                   "Nombre d'habitants"])
        k = year - 2022
        for code, name, pop, *_ in (rows or COMMUNES):
            base = 3.0 + 0.1 * int(code[-1]) + 0.05 * k
            ws.append([code, name, round(base * 1.1, 3), round(base, 3), round(base * 0.9, 3), round(base * 0.8, 3),
                       round(pop * 1.02, 1), pop])
        ws.append(["Total", None, None, None, None, None, None, sum(c[2] for c in (rows or COMMUNES))])
    return _workbook_bytes(wb)


ZONAGE = json.dumps({"millesime": "2025", "source": "Arrêté fictif de zonage médecins", "n_qpv": 2, "n_zip": 1,
                     "n_zac": 1, "communes": {
                         "13901": {"zip": 1, "zac": 0, "qpv": [{"id": "QN01390N", "n": "Quartier des Licornes",
                                                                "z": "ZIP"}]},
                         "83901": {"zip": 0, "zac": 1, "qpv": [{"id": "QN08391M", "n": "Les Jardins Imaginaires",
                                                                "z": "ZAC"}]}}},
                    ensure_ascii=False).encode("utf-8")


# ----------------------------------------------------------------------------- by source

# source id -> writer(tmp folder) of the bytes a mirror serves for it
WRITERS = {
    "qpv2024_contours": lambda tmp: qpv_zip(),
    "qpv2024_2015_correspondance": lambda tmp: CORRESPONDANCE,
    "qpv2015_contours": qpv2015_zip,
    "onpv_revn": lambda tmp: ONPV_REVN,
    "onpv_demo": lambda tmp: ONPV_DEMO,
    "onpv_ipro": lambda tmp: ONPV_IPRO,
    "filosofi_qpv2024_2021": lambda tmp: filosofi_qpv_zip("qp24", ("QN08391M", "QN09390I"), "Ensemble"),
    "insee_qpv24_cnam": lambda tmp: insee_qpv24_zip("CNAM", 2025),
    "insee_qpv24_caf": lambda tmp: insee_qpv24_zip("CAF", 2024),
    "insee_qpv24_defm": lambda tmp: insee_qpv24_zip("DEFM", 2024),
    "insee_qpv24_population": lambda tmp: POP_QPV24,
    "insee_qpv24_population_communes": lambda tmp: POP_COMMUNES_QPV24,
    "filosofi_qpv2015_2021": lambda tmp: filosofi_qpv_zip(),
    "filosofi_communes": lambda tmp: filosofi_zip(["COM"]),
    "filosofi_supra": lambda tmp: filosofi_zip(["EPCI", "DEP", "REG", "METROPOLE"]),
    "filosofi_2018_communes": lambda tmp: filosofi_zip(["COM"], 2018),
    "filosofi_2018_supra": lambda tmp: filosofi_zip(["EPCI", "DEP", "REG", "METROPOLE"], 2018),
    "filosofi_2021_communes": lambda tmp: filosofi_zip(["COM"], 2021),
    "filosofi_2021_supra": lambda tmp: filosofi_zip(["EPCI", "DEP", "REG", "METROPOLE"], 2021, "xlsx"),
    "filosofi_2023_cc": lambda tmp: filosofi_long_zip(),
    "insee_rp2022_emploi_pop_active": lambda tmp: census_zip("emploi-pop-active"),
    "insee_rp2022_evol_struct_pop": lambda tmp: census_zip("evol-struct-pop"),
    "insee_rp2022_coupl_fam_men": lambda tmp: census_zip("coupl-fam-men"),
    "insee_rp2022_diplomes_formation": lambda tmp: census_zip("diplomes-formation", encoding="latin-1"),
    "insee_rp2022_logement": lambda tmp: census_zip("logement", encoding="latin-1"),
    "ign_admin_express_cog_carto": admin_express_7z,
    "insee_cog_departements": lambda tmp: COG_DEPARTEMENTS,
    "insee_cog_regions": lambda tmp: COG_REGIONS,
    "drees_apl_mg": lambda tmp: apl_workbook(),
    "ars_paca_zonage_qpv": lambda tmp: ZONAGE,
}


def served(source_id: str, tmp: Path) -> bytes:
    """The bytes a mirror serves for one source of etl/sources.toml."""
    return WRITERS[source_id](Path(tmp))
