"""The fixed plan of the demo: its place, names, vintages, file layouts and file names."""
from __future__ import annotations

import datetime as dt
import math


from ..config import FICTIONAL_MARKER
from .census import FILE_NAMES as CENSUS_FILES


SEED = 99_2024
FICTIONAL_TEXT = ("Données entièrement fictives (jeu de démonstration Atlas ASV, etl/demo/).\n"
                  "Toute base construite à partir de ce dossier est marquée comme fictive.\n")
# lon_min, lat_min, lon_max, lat_max: open sea west of the Bay of Biscay, far from any land.
DEMO_BBOX = (-8.0, 45.0, -5.6, 47.0)
LON0, LAT0 = -6.5, 46.0               # centre of the fictional région
KM_PER_DEG_LON = 111.32 * math.cos(math.radians(LAT0))
KM_PER_DEG_LAT = 110.57
DECIMALS = 5                          # about 1 m, like the official WGS84 files
GRID = 10.0 ** -DECIMALS

REGION_CODE = "99"
REGION_NAME = "Région fictive d'Utopie"
COG_YEAR = 2024
ONPV_YEARS = (2017, 2019, 2021, 2022)
FILO_YEAR = 2019
FILO_QPV_YEAR = 2019      # the demo's Filosofi-on-QPV file, whose figures REVN_2022 republishes
APL_YEARS = (2023, 2024)   # sheets "APL 2023", "APL 2024" of the 2022-2024 workbook layout
ACTION_YEARS = tuple(range(2018, 2026))
N_ACTIONS = 400
FIXED_TIME = dt.datetime(2024, 1, 1, 0, 0, 0)   # xlsx properties and zip entry dates

NNBSP = "\u202f"                      # thousands separator of the ONPV files
CRLF = "\r\n"

# (code, name, TNCC, share of communes, angle of its centre in degrees)
DEPARTEMENTS = [
    ("96", "Hautes-Chimères", "4", 200.0),
    ("98", "Val-d'Utopie", "2", 320.0),
    ("99", "Côtes-Imaginaires", "4", 80.0),
]

# Commune names per département; the first is the chef-lieu, the next ones (with a role)
# host QPVs. Roles: MU Mont-Utopie, MS its suburb (shares a QPV with MU), SL, BF, FR, LV,
# PI, CB, VC (see QPV_PLAN).
COMMUNE_NAMES = {
    "99": [("Mont-Utopie", "MU"), ("Mirage-sur-Songe", "MS"), ("Saint-Licorne", "SL"),
           ("Utopie-la-Vieille", None), ("Songe-en-Brume", None), ("Les Chimères-d'en-Haut", None),
           ("Fictif-sur-Mer", None), ("Rêve-le-Château", None), ("Sainte-Féerie", None),
           ("Licorne-les-Pins", None), ("Mirage-Plage", None), ("Beaurêve-Fictif", None),
           ("Villesonge", None), ("Petit-Utopie", None), ("Chimère-Saint-Songe", None),
           ("Fantaisie-la-Grande", None)],
    "96": [("Bourg-Fictif", "BF"), ("Fictif-la-Rivière", "FR"), ("Licorneville", "LV"),
           ("Chimère-le-Haut", None), ("Saint-Imaginaire", None), ("Fictif-les-Monts", None),
           ("Bois-Fantaisie", None), ("Utopie-sur-Lande", None), ("Roc-Chimère", None),
           ("Songeval", None), ("Pré-Fictif", None), ("Féerie-du-Col", None),
           ("Haute-Licorne", None), ("Mirage-en-Forêt", None), ("Fictive-Vallée", None),
           ("Rêveval", None)],
    "98": [("Port-Imaginaire", "PI"), ("Chimère-les-Bains", "CB"), ("Val-Chimère", "VC"),
           ("Imaginaire-sur-Lac", None), ("Saint-Mirage", None), ("Anse-Fictive", None),
           ("Cap-Utopie", None), ("Songe-la-Baie", None), ("Port-Licorne", None),
           ("Fictive-Plage", None), ("Grève-Imaginaire", None), ("Dune-aux-Songes", None),
           ("Féerie-sur-Dune", None), ("Licorne-Marine", None), ("Utopie-les-Flots", None),
           ("Mirage-du-Phare", None)],
}
HOST_POPULATION = {"MU": 148_200, "MS": 31_450, "SL": 24_380, "BF": 62_150, "FR": 27_030,
                   "LV": 12_640, "PI": 71_420, "CB": 22_310, "VC": 18_090}
HOST_DEPRIVATION = {"MU": 0.78, "MS": 0.72, "SL": 0.55, "BF": 0.7, "FR": 0.6, "LV": 0.5,
                    "PI": 0.74, "CB": 0.58, "VC": 0.52}

# The QPVs: (host role(s), 2024 name, status I/M/N, 2015 predecessor names).
# A 2015 name that differs from the 2024 one mimics the label quirks of the real files.
QPV_PLAN = [
    ("MU", "Les Licornes - Centre", "M", ["Les Licornes"]),
    ("MU", "Chimères - Griffons", "M", ["Cité des Chimères", "Quartier des Griffons"]),
    ("MU", "La Tour des Dragons", "I", ["La Tour des Dragons"]),
    ("MU", "Les Jardins d'Utopie", "M", ["Jardins d\u2019Utopie"]),
    ("MU", "Les Sirènes", "I", ["Les Sirènes"]),
    ("MU", "Le Clos des Farfadets", "N", []),
    ("MU+MS", "Les Hauts de Songe", "M", ["Les Hauts de Songe"]),
    ("MS", "Résidence des Lutins", "I", ["Résidence des Lutins"]),
    ("MS", "Quartier du Mirage", "I", ["Quartier du Mirage"]),
    ("SL", "Le Val des Elfes", "I", ["Le Val des Elfes"]),
    ("SL", "Les Phénix", "M", ["Les Phenix"]),
    ("BF", "Plateau des Fées", "M", ["Plateau des Fées"]),
    ("BF", "Les Hippogriffes", "I", ["Les Hippogriffes"]),
    ("BF", "Cité des Korrigans", "M", ["Cité des Korrigans"]),
    ("BF", "Les Centaures", "M", ["Les Centaures - Nord"]),
    ("FR", "Les Dryades", "I", ["Les Dryades"]),
    ("FR", "La Butte aux Trolls", "M", ["La Butte aux Trolls"]),
    ("LV", "Les Nymphes", "N", []),
    ("PI", "Le Hameau des Sylphes", "I", ["Le Hameau des Sylphes"]),
    ("PI", "Les Pégases", "M", ["Les Pégases"]),
    ("PI", "Cité des Gnomes", "M", ["Cité des Gnomes"]),
    ("PI", "Les Ondines", "N", []),
    ("CB", "Les Minotaures", "I", ["Les Minotaures"]),
    ("CB", "Les Terrasses de Féerie", "M", ["Les Terrasses de Féerie"]),
    ("VC", "Les Titans", "N", []),
]
# 2015 QPVs that left the priority geography in 2024 (absent from the correspondence).
QPV_EXITED_2015 = [("VC", "Les Cyclopes"), ("BF", "Les Sphinx")]
SECRET_QPV_2015 = "Les Dryades"        # too small: its Filosofi cells are secret

# Markers that make every name visibly fictional (tests check each name holds one).
FICTION_MARKERS = (
    "fictif", "fictive", "imaginaire", "chimere", "utopi", "licorne", "mirage", "songe", "feerie",
    "fantaisie", "reve", "griffon", "dragon", "sirene", "farfadet", "lutin", "elfe", "phenix",
    "fee", "hippogriffe", "korrigan", "centaure", "dryade", "troll", "nymphe", "sylphe",
    "pegase", "gnome", "ondine", "minotaure", "titan", "cyclope", "sphinx",
)

EPCI_CORE_NAMES = {
    "99": "Métropole fictive d'Utopie",
    "96": "Communauté d'agglomération de Bourg-Fictif",
    "98": "Communauté d'agglomération du Grand Port-Imaginaire",
}
EPCI_RURAL_NAMES = [
    "Communauté de communes des Monts-Chimères",
    "Communauté de communes du Val-de-Songe",
    "Communauté de communes des Rivages Imaginaires",
    "Communauté de communes de la Lande Fictive",
    "Communauté de communes du Pays des Licornes",
    "Communauté de communes des Mirages",
]

ONPV_LAYOUTS = {
    ("REVN", 2017): (256, "CODGEO;LIBGEO;PMIMP;PART_CHOMPRINC;DECUC_Q2;DECUC_Q1;DECUC_Q3;BREV;DECUC_D1;DECUC_D9;DISP_Q2;DISP_Q1;DISP_Q3;TP60;DISP_D1;DISP_D9;PACT;PPEN;PPSOC;PIMPOT;PPAT;CCMUC;NOTE_CNAM;A;APRES50;APRES100;ARSA;ARSAS;AAAH;NOTE_CNAF"),
    ("REVN", 2019): (256, "CODGEO;LIBGEO;PMIMP;PART_CHOMPRINC;DECUC_Q2;DECUC_Q1;DECUC_Q3;BREV;DECUC_D1;DECUC_D9;DISP_Q2;DISP_Q1;DISP_Q3;TP60;DISP_D1;DISP_D9;PACT;PPEN;PPSOC;PIMPOT;PPAT;NOTE_FILO;CCMUC;NOTE_CNAM;A;APRES50;APRES100;APPA;ARSAS;AAAH;NOTE_CNAF"),
    ("REVN", 2021): (1024, "CODGEO;LIBGEO;PMIMP;DECUC_Q2;DECUC_Q1;DECUC_Q3;BREV;DECUC_D1;DECUC_D9;DECUC_D1D9;DISP_Q2;DISP_Q1;DISP_Q3;TP60;DISP_D1;DISP_D9;DISP_D1D9;PACT;PPEN;PPSOC;PIMPOT;PPAT;NOTE_FILO;C;CC2S;NOTE_CNAM;A;APPA;ARSAS;AAAH;NOTE_CNAF"),
    ("REVN", 2022): (1024, "CODGEO;LIBGEO;PMIMP;DECUC_Q2;DECUC_Q1;DECUC_Q3;BREV;DECUC_D1;DECUC_D9;DECUC_D1D9;DISP_Q2;DISP_Q1;DISP_Q3;TP60;DISP_D1;DISP_D9;DISP_D1D9;PACT;PPEN;PPSOC;PIMPOT;PPAT;NOTE_FILO;C;C_C2SNP;C_C2SP;NOTE_CNAM;A;APPA;ARSAS;AAAH;NOTE_CNAF"),
    ("DEMO", 2017): (239, "CODGEO;LIBGEO;POP_MUN;POP_COM_QP;POP_COM;LIB_COM;TX_F;TX_TOT_0A24;TX_F_0A24;TX_TOT_60ETPLUS;TX_F_60ETPLUS;IND_JEUNE;TX_TOT_MEN1;TX_TOT_MEN6;TX_TOT_ET;TX_F_ET;A;PERCOU;AM;AI;ACSSENF;ACAVENF;AC3ENF;A_NETUD_24;A_ETUD;ENF;ENF_2;ENF_3_5;ENF_6_10;ENF_11_14;ENF_15_17;ENF_18_24;NOTE_CNAF"),
    ("DEMO", 2019): (190, "CODGEO;LIBGEO;POP_MUN;POP_COM_QP;POP_COM;LIB_COM;TX_F;TX_TOT_0A24;TX_F_0A24;TX_TOT_60ETPLUS;TX_F_60ETPLUS;IND_JEUNE;TX_TOT_MEN1;TX_TOT_MEN6;TX_TOT_ET;TX_F_ET;A;PERCOU;AM;AI;ACSSENF;ACAVENF;AC3ENF;A_NETUD_24;A_ETUD;ENF;ENF_2;ENF_3_5;ENF_6_10;ENF_11_14;ENF_15_17;ENF_18_24;NOTE_CNAF"),
    ("DEMO", 2021): (191, "CODGEO;LIBGEO;POP_MUN;POP_COM_QP;POP_COM;LIB_COM;TX_F;TX_TOT_0A24;TX_F_0A24;TX_TOT_60ETPLUS;TX_F_60ETPLUS;IND_JEUNE;TX_TOT_MEN1;TX_TOT_MEN6;TX_TOT_ET;TX_F_ET;NOTE_RP;A;PERCOU;AM;AI;ACSSENF;ACAVENF;AC3ENF;A_NETUD_24;A_ETUD;ENF;ENF_2;ENF_3_5;ENF_6_10;ENF_11_14;ENF_15_17;ENF_18_24;NOTE_CNAF"),
    ("DEMO", 2022): (191, "CODGEO;LIBGEO;POP_MUN;POP_COM_QP;POP_COM;LIB_COM;TX_F;TX_TOT_0A24;TX_F_0A24;TX_TOT_60ETPLUS;TX_F_60ETPLUS;IND_JEUNE;TX_TOT_MEN1;TX_TOT_MEN6;TX_TOT_ET;TX_F_ET;NOTE_RP;A;PERCOU;AM;AI;ACSSENF;ACAVENF;AC3ENF;A_NETUD_24;A_ETUD;ENF;ENF_2;ENF_3_5;ENF_6_10;ENF_11_14;ENF_15_17;ENF_18_24;NOTE_CNAF"),
    ("IPRO", 2017): (256, "CODGEO;LIBGEO;TX_TOT_EMPL;TX_F_EMPL;TX_ET_EMPL;TX_TOT_EPREC;TX_F_EPREC;TX_ET_EPREC;CA;CUI;CIE;CIE_HS;CIE_S;CAE;EAV;CA_F;CUI_F;EAV_F;CA_H;CUI_H;EAV_H;CUI_25;CUI_26A49;CUI_50;CUI_INFCAP;CUI_CAP;CUI_BAC;CUI_SUPBAC;EAV_INFCAP;EAV_CAP;EAV_SUPCAP;NOTE_ASP;ABCDE;ABCDE_F;ABCDE_H;ABC;ABC_F;ABC_H;ABC_RSA;ABC_RSA_F;ABC_RSA_H;A;A_F;A_H;ABC_25;ABC_2649;ABC_50;ABC_FR;ABC_E;ABC_INFCAPBEP;ABC_CAPBEP;ABC_BAC;ABC_SUPBAC;ABC_INFCAPBEP_F;ABC_CAPBEP_F;ABC_BAC_F;ABC_SUPBAC_F;ABC_INFCAPBEP_H;ABC_CAPBEP_H;ABC_BAC_H;ABC_SUPBAC_H;ABC_QAL1;ABC_QAL2;ABC_QAL3;ABC_QAL4;ABC_QAL5;ABC_DUR1;ABC_DUR2;ABC_DUR3;ABC_DUR4;ABC_DUR1_F;ABC_DUR2_F;ABC_DUR3_F;ABC_DUR4_F;ABC_DUR1_H;ABC_DUR2_H;ABC_DUR3_H;ABC_DUR4_H;NOTE_PE;A_N_T4;A_N1_T4;NOTE_PE_T"),
    ("IPRO", 2019): (214, "CODGEO;LIBGEO;TX_TOT_EMPL;TX_F_EMPL;TX_ET_EMPL;TX_TOT_EPREC;TX_F_EPREC;TX_ET_EPREC;CA;NOTE_ASP;EVOL_CA_N_E ;NOTE_ASP_E;ABCDE;ABCDE_F;ABCDE_H;ABC;ABC_F;ABC_H;ABC_RSA;ABC_RSA_F;ABC_RSA_H;A;A_F;A_H;ABC_25;ABC_2649;ABC_50;ABC_FR;ABC_E;ABC_DUR1;ABC_DUR2;ABC_DUR3;ABC_DUR4;ABC_DUR1_F;ABC_DUR2_F;ABC_DUR3_F;ABC_DUR4_F;ABC_DUR1_H;ABC_DUR2_H;ABC_DUR3_H;ABC_DUR4_H;NOTE_PE;EVOL_ABC_T4;EVOL_ABC_F_T4;EVOL_ABC_H_T4;EVOL_A_T4;EVOL_A_F_T4;EVOL_A_H_T4;NOTE_PE_T"),
    ("IPRO", 2021): (226, "CODGEO;LIBGEO;TX_TOT_EMPL;TX_F_EMPL;TX_ET_EMPL;TX_TOT_EDLIM;TX_F_EDLIM;TX_ET_EDLIM;CA;NOTE_ASP;EVOL_CA_N_E ;NOTE_ASP_E;ABCDE;ABCDE_F;ABCDE_H;ABC;ABC_F;ABC_H;ABC_RSA;ABC_RSA_F;ABC_RSA_H;A;A_F;A_H;ABC_25;ABC_2649;ABC_50;ABC_FR;ABC_E;ABC_INFCAPBEP;ABC_CAPBEP;ABC_BAC;ABC_SUPBAC;ABC_INFCAPBEP_F;ABC_CAPBEP_F;ABC_BAC_F;ABC_SUPBAC_F;ABC_INFCAPBEP_H;ABC_CAPBEP_H;ABC_BAC_H;ABC_SUPBAC_H;ABC_DUR1;ABC_DUR2;ABC_DUR3;ABC_DUR4;ABC_DUR1_F;ABC_DUR2_F;ABC_DUR3_F;ABC_DUR4_F;ABC_DUR1_H;ABC_DUR2_H;ABC_DUR3_H;ABC_DUR4_H;NOTE_PE;EVOL_ABC_T4;EVOL_ABC_F_T4;EVOL_ABC_H_T4;EVOL_A_T4;EVOL_A_F_T4;EVOL_A_H_T4;NOTE_PE_T"),
    ("IPRO", 2022): (226, "CODGEO;LIBGEO;TX_TOT_EMPL;TX_F_EMPL;TX_ET_EMPL;TX_TOT_EDLIM;TX_F_EDLIM;TX_ET_EDLIM;CA;NOTE_ASP;EVOL_CA_N_E ;NOTE_ASP_E;ABCDE;ABCDE_F;ABCDE_H;ABC;ABC_F;ABC_H;ABC_RSA;ABC_RSA_F;ABC_RSA_H;A;A_F;A_H;ABC_25;ABC_2649;ABC_50;ABC_FR;ABC_E;ABC_INFCAPBEP;ABC_CAPBEP;ABC_BAC;ABC_SUPBAC;ABC_INFCAPBEP_F;ABC_CAPBEP_F;ABC_BAC_F;ABC_SUPBAC_F;ABC_INFCAPBEP_H;ABC_CAPBEP_H;ABC_BAC_H;ABC_SUPBAC_H;ABC_DUR1;ABC_DUR2;ABC_DUR3;ABC_DUR4;ABC_DUR1_F;ABC_DUR2_F;ABC_DUR3_F;ABC_DUR4_F;ABC_DUR1_H;ABC_DUR2_H;ABC_DUR3_H;ABC_DUR4_H;NOTE_PE;EVOL_ABC_T4;EVOL_ABC_F_T4;EVOL_ABC_H_T4;EVOL_A_T4;EVOL_A_F_T4;EVOL_A_H_T4;NOTE_PE_T"),
}
ENSEMBLE_YEARS = (2017, 2019)          # the real files carry an "Ensemble" row until 2019

FILO_DISP_COLUMNS = ("CODGEO;LIBGEO;NBMEN{yy};NBPERS{yy};NBUC{yy};Q1{yy};Q2{yy};Q3{yy};Q3_Q1;"
                     "D1{yy};D2{yy};D3{yy};D4{yy};D6{yy};D7{yy};D8{yy};D9{yy};RD;S80S20{yy};GI{yy};"
                     "PACT{yy};PTSA{yy};PCHO{yy};PBEN{yy};PPEN{yy};PPAT{yy};PPSOC{yy};PPFAM{yy};"
                     "PPMINI{yy};PPLOGT{yy};PIMPOT{yy}")
FILO_PAUVRES_COLUMNS = ("CODGEO;LIBGEO;NBMEN{yy};NBPERS{yy};TP60{yy};TP60AGE1{yy};TP60AGE2{yy};"
                        "TP60AGE3{yy};TP60AGE4{yy};TP60AGE5{yy};TP60AGE6{yy};TP60TOL1{yy};TP60TOL2{yy}")
FILO_LEVELS = ("COM", "EPCI", "DEP", "REG", "METROPOLE")
FILO_SMALL_HOUSEHOLDS = 1000           # below: only NBMEN, NBPERS, NBUC and the median

APL_COLUMNS = [                          # DREES 2022-2024 workbooks: header on row 9, then a units row
    "Code commune INSEE",
    "Commune",
    "APL aux médecins généralistes",
    "APL aux médecins généralistes de 65 ans ou moins",
    "APL aux médecins généralistes de 62 ans ou moins",
    "APL aux médecins généralistes de 60 ans ou moins",
    "Population standardisée 2022 pour la médecine générale",
    "Population totale 2022",
]
APL_UNIT = "Nombre de consultations/visites accessibles par habitant standardisé et par an"

SCHEME_COLUMNS = ["id_dispositif", "type", "nom", "porteur", "annee_creation", "statut",
                  "communes", "qpv", "site_web"]
ACTION_COLUMNS = ["id_action", "titre", "description", "annee_debut", "annee_fin", "porteur",
                  "thematiques", "publics", "qpv", "commune", "longitude", "latitude", "adresse",
                  "id_dispositif", "financeurs"]

FILES = {
    "qpv2024": "qpv2024_utopie_wgs84.geojson",
    "qpv2015": "qpv2015_utopie_wgs84.geojson",
    "correspondence": "liste-correspondance-qp2024-qp2015.csv",
    "communes": "commune_utopie.geojson",
    "epci": "epci.csv",
    "departements": f"v_departement_{COG_YEAR}.csv",
    "regions": f"v_region_{COG_YEAR}.csv",
    "zoning": "qpv-zonage.json",
    "cpts": "cpts_utopie.geojson",
    "apl": "apl_medecins_generalistes.xlsx",
    "schemes": "dispositifs.csv",
    "actions": "actions.csv",
    # where each registry is complete (etl.importer.coverage): the schemes registry covers
    # départements 96 and 99 only, so the demo shows QPVs whose coverage is unknown
    "schemes_cover": "dispositifs.territoire.txt",
    "actions_cover": "actions.territoire.txt",
    "filosofi_qpv": f"data_filo{FILO_QPV_YEAR % 100:02d}_qp_revdis.csv",
    "readme": "README.md",
    "marker": FICTIONAL_MARKER,
}
EXPECTED_FILES = sorted(
    list(FILES.values())
    + [f"{fam}_{y}.csv" for fam in ("REVN", "DEMO", "IPRO") for y in ONPV_YEARS]
    + [f"FILO{FILO_YEAR}_DISP_{lvl}.csv" for lvl in FILO_LEVELS]
    + [f"FILO{FILO_YEAR}_DISP_PAUVRES_{lvl}.csv" for lvl in FILO_LEVELS]
    + CENSUS_FILES
)
