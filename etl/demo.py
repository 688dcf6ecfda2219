"""The embedded demo: a deterministic, entirely fictional région written in the official formats.

`generate(dest)` writes, under `dest` (data/demo), the files of a made-up "Région fictive
d'Utopie" (code 99; départements 96, 98, 99; about 40 communes, 25 QPVs of 2024 and their
2015 predecessors) in the layouts of the real downloads, so that `python -m etl build --demo`
goes through exactly the same loaders as real data:

- QPV contours: ANCT 2024 layout (GeoJSON, CRS84) and 2015 layout (GeoJSON, EPSG:4326);
- ANCT 2024 <-> 2015 correspondence (`;`, capitalised headers);
- IGN Admin Express COMMUNE layer (GeoJSON), EPCI list, INSEE COG département/région lists;
- ONPV / sig.ville REVN, DEMO, IPRO tables for several vintages (BOM, `;`, CRLF, French
  numbers, "Ensemble" row, trailing empty columns, empty secret cells);
- INSEE Filosofi DISP and DISP_PAUVRES files (commune, EPCI, département, région, France);
- DREES APL to GPs (xlsx, one sheet per year, 8 header rows);
- ARS QPV zoning for GPs (JSON), CPTS territories (GeoJSON);
- schemes (ASV, CLS, CLSM) and actions in the Atlas import templates.

Everything is derived from one seeded `random.Random` (only its `random()` method, whose
sequence Python guarantees across versions) and fixed formatting: regenerating gives
byte-identical files (tests/test_demo.py checks it against the committed data/demo).

The place lies in the Atlas Ocean off the Bay of Biscay (DEMO_BBOX), where no land is, so
that it cannot be mistaken for a real territory. Importers that check "inside France"
must also accept DEMO_BBOX when the DB is fictional (meta 'fictional' = 'true').
"""
from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
import tomllib
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, mapping

from .config import FICTIONAL_MARKER, TAXONOMY_FILE
from .demo_census import FILE_NAMES as CENSUS_FILES
from .demo_census import census_files

SEED = 99_2024
FICTIONAL_TEXT = ("Données entièrement fictives (jeu de démonstration Atlas ASV, etl/demo.py).\n"
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
APL_YEARS = (2021, 2022)
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

APL_COLUMNS = [
    "Code commune INSEE",
    "Libellé de la commune",
    "APL aux médecins généralistes",
    "APL aux médecins généralistes de moins de 65 ans",
    "APL aux médecins généralistes de moins de 62 ans",
    "Population standardisée par la consommation de soins par âge",
    "Population totale",
]

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



# --------------------------------------------------------------------------------------
# Deterministic randomness
# --------------------------------------------------------------------------------------
class _Rand:
    """Helpers built only on random.Random.random(), whose sequence is stable across
    Python versions (randrange, choice, shuffle and gauss are not guaranteed to be)."""

    def __init__(self, seed: int):
        self._r = random.Random(seed)

    def random(self) -> float:
        return self._r.random()

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self._r.random()

    def integer(self, a: int, b: int) -> int:
        """Integer in [a, b]."""
        return a + min(int(self._r.random() * (b - a + 1)), b - a)

    def pick(self, seq):
        return seq[self.integer(0, len(seq) - 1)]

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def shuffled(self, seq) -> list:
        out = list(seq)
        for i in range(len(out) - 1, 0, -1):
            j = self.integer(0, i)
            out[i], out[j] = out[j], out[i]
        return out

    def sample(self, seq, k: int) -> list:
        return self.shuffled(seq)[:k]

    def weighted(self, items, weights):
        total = float(sum(weights))
        x = self._r.random() * total
        acc = 0.0
        for item, w in zip(items, weights):
            acc += w
            if x < acc:
                return item
        return items[-1]

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        u1 = max(self._r.random(), 1e-12)
        u2 = self._r.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def _fold(text: str) -> str:
    """Lower case without accents, for sorting and name checks."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower())
                   if unicodedata.category(c) != "Mn")


def is_visibly_fictional(name: str) -> bool:
    folded = _fold(name)
    return any(m in folded for m in FICTION_MARKERS)


# --------------------------------------------------------------------------------------
# Geometry (built in kilometres around (LON0, LAT0), then converted to lon/lat)
# --------------------------------------------------------------------------------------
def _to_lonlat(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack([LON0 + c[:, 0] / KM_PER_DEG_LON, LAT0 + c[:, 1] / KM_PER_DEG_LAT]))


def _finish(geom_km):
    """km geometry -> valid lon/lat geometry on the 1e-5 degree grid."""
    g = shapely.set_precision(_to_lonlat(geom_km), GRID)
    if not g.is_valid or g.is_empty:
        raise RuntimeError("demo geometry became invalid on the coordinate grid")
    return g


def _warp_field(seed_rand: _Rand):
    """A smooth, small displacement field: applied to every vertex of the commune coverage,
    it bends the straight Voronoi edges while keeping shared edges shared."""
    waves = []
    for amp, wavelength in ((0.9, 26.0), (0.35, 9.0), (0.12, 3.2)):
        for _ in range(2):
            a = seed_rand.uniform(0, 2 * math.pi)
            k = 2 * math.pi / wavelength
            waves.append((amp * seed_rand.uniform(0.6, 1.0), k * math.cos(a), k * math.sin(a),
                          seed_rand.uniform(0, 2 * math.pi), seed_rand.uniform(0, 2 * math.pi)))

    def warp(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        for i, (x, y) in enumerate(coords.tolist()):
            dx = dy = 0.0
            for amp, kx, ky, p1, p2 in waves:
                t = kx * x + ky * y
                dx += amp * math.sin(t + p1)
                dy += amp * math.sin(t + p2)
            out[i, 0] = x + dx
            out[i, 1] = y + dy
        return out

    return warp


def _outline(rnd: _Rand) -> Polygon:
    """The région's coastline: a noisy, roughly oval shape about 120 km x 95 km."""
    harmonics = [(k, rnd.uniform(0.02, 0.09) / k ** 0.6, rnd.uniform(0, 2 * math.pi)) for k in range(2, 8)]
    harmonics += [(k, rnd.uniform(0.003, 0.012), rnd.uniform(0, 2 * math.pi)) for k in range(9, 23)]
    pts = []
    n = 220
    for i in range(n):
        th = 2 * math.pi * i / n
        r = 1.0 + sum(a * math.cos(k * th + p) for k, a, p in harmonics)
        pts.append((60.0 * r * math.cos(th), 47.0 * r * math.sin(th)))
    poly = Polygon(pts)
    if not poly.is_valid:
        raise RuntimeError("demo outline is not a simple polygon")
    return poly


def _seeds(rnd: _Rand, outline: Polygon, n: int, min_dist: float) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = outline.bounds
    inner = outline.buffer(-3.0)
    pts: list[tuple[float, float]] = []
    tries = 0
    while len(pts) < n:
        tries += 1
        if tries > 20000:
            raise RuntimeError("could not place the demo communes")
        x, y = rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)
        if not inner.contains(Point(x, y)):
            continue
        if all((x - a) ** 2 + (y - b) ** 2 >= min_dist ** 2 for a, b in pts):
            pts.append((x, y))
    return pts


def _voronoi_cells(seeds, outline: Polygon) -> list[Polygon]:
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=outline.buffer(50), ordered=True)
    out = []
    for cell in cells.geoms:
        c = cell.intersection(outline)
        if c.geom_type != "Polygon":  # keep the largest part (never happens with these seeds)
            c = max(getattr(c, "geoms", [c]), key=lambda g: g.area)
        out.append(c)
    return out


@dataclass
class Commune:
    idx: int
    name: str
    dep: str
    role: str | None
    seed_km: tuple[float, float]
    geom_km: Polygon
    code: str = ""
    epci: str = ""
    population: int = 0
    deprivation: float = 0.0
    geom: MultiPolygon | None = None


@dataclass
class Qpv:
    code: str
    name: str
    generation: str
    communes: list[str]                # INSEE codes, main commune first
    geom_km: Polygon
    status: str = ""                   # 2024: I / M / N
    predecessors: list[str] = field(default_factory=list)
    deprivation: float = 0.5
    population: int = 0
    secret: bool = False
    geom: MultiPolygon | None = None


def _blob(cx: float, cy: float, r: float, rnd: _Rand, harmonics=None) -> tuple[Polygon, list]:
    """A small irregular star-shaped polygon (always simple)."""
    if harmonics is None:
        harmonics = [(k, rnd.uniform(0.04, 0.22) / (k - 1), rnd.uniform(0, 2 * math.pi)) for k in (2, 3, 4, 5)]
    n = rnd.integer(14, 24)
    pts = []
    for i in range(n):
        th = 2 * math.pi * (i + rnd.uniform(-0.3, 0.3)) / n
        rr = r * (1.0 + sum(a * math.cos(k * th + p) for k, a, p in harmonics)) * rnd.uniform(0.93, 1.07)
        pts.append((cx + rr * math.cos(th), cy + rr * math.sin(th)))
    return Polygon(pts), harmonics


# --------------------------------------------------------------------------------------
# The fictional world
# --------------------------------------------------------------------------------------
@dataclass
class World:
    communes: list[Commune]
    epcis: list[tuple[str, str, str]]          # (siren, name, dep)
    qpv24: list[Qpv]
    qpv15: list[Qpv]
    region_geom: Polygon
    rnd: _Rand                                 # the generator, to go on drawing after the geography

    def commune(self, code: str) -> Commune:
        return self._by_code[code]

    def __post_init__(self):
        self._by_code = {c.code: c for c in self.communes}


def _adjacency(geoms: list) -> dict[int, list[int]]:
    adj: dict[int, list[int]] = {i: [] for i in range(len(geoms))}
    tree = shapely.STRtree(geoms)
    for i, g in enumerate(geoms):
        for j in sorted(int(j) for j in tree.query(g)):
            if j != i and g.boundary.intersection(geoms[j].boundary).length > 0.05:
                adj[i].append(j)
    return adj


def _build_communes(rnd: _Rand) -> tuple[list[Commune], Polygon]:
    outline = _outline(rnd)
    seeds = _seeds(rnd, outline, 40, 11.0)
    for _ in range(2):  # Lloyd relaxation: more even commune sizes
        seeds = [tuple(c.centroid.coords[0]) for c in _voronoi_cells(seeds, outline)]
    cells = _voronoi_cells(seeds, outline)
    warp = _warp_field(rnd)
    cells = [shapely.transform(shapely.segmentize(c, 0.7), warp) for c in cells]
    seeds = [tuple(warp(np.array([s]))[0]) for s in seeds]
    outline_w = shapely.transform(shapely.segmentize(outline, 0.7), warp)

    # départements: nearest département centre
    centres = {d: (30.0 * math.cos(math.radians(a)), 26.0 * math.sin(math.radians(a)))
               for d, _, _, a in DEPARTEMENTS}
    deps = []
    for x, y in seeds:
        deps.append(min(centres, key=lambda d: (x - centres[d][0]) ** 2 + (y - centres[d][1]) ** 2))
    adj = _adjacency(cells)

    communes: list[Commune] = []
    for dep, _, _, _ in DEPARTEMENTS:
        members = [i for i in range(len(cells)) if deps[i] == dep]
        cx, cy = centres[dep]
        members.sort(key=lambda i: (seeds[i][0] - cx) ** 2 + (seeds[i][1] - cy) ** 2)
        names = COMMUNE_NAMES[dep]
        if len(members) > len(names):
            raise RuntimeError(f"not enough demo commune names for département {dep}")
        assigned: dict[int, tuple[str, str | None]] = {}
        chef = members[0]
        assigned[chef] = names[0]
        hosts = [n for n in names[1:] if n[1]]
        rest_names = [n for n in names[1:] if not n[1]]
        free = [i for i in members if i != chef]
        for name, role in hosts:
            if role == "MS":  # the suburb shares the longest border with Mont-Utopie
                cand = [j for j in adj[chef] if j in free]
                j = max(cand, key=lambda j: cells[chef].boundary.intersection(cells[j].boundary).length)
            else:  # another town, not adjacent to the chef-lieu
                cand = [j for j in free if j not in adj[chef]] or free
                j = cand[len(cand) // 2]
            assigned[j] = (name, role)
            free.remove(j)
        for i, n in zip(free, rest_names):
            assigned[i] = n
        for i in members:
            name, role = assigned[i]
            communes.append(Commune(i, name, dep, role, seeds[i], cells[i]))

    # INSEE-like codes: alphabetical order within the département
    for dep, _, _, _ in DEPARTEMENTS:
        mine = sorted((c for c in communes if c.dep == dep), key=lambda c: _fold(c.name))
        for n, c in enumerate(mine, start=1):
            c.code = f"{dep}{2 * n - 1:03d}"
    communes.sort(key=lambda c: c.code)
    return communes, outline_w


def _build_epcis(communes: list[Commune]) -> list[tuple[str, str, str]]:
    by_idx = {c.idx: c for c in communes}
    adj = _adjacency([by_idx[i].geom_km for i in sorted(by_idx)])
    order = sorted(by_idx)
    adj = {order[k]: [order[j] for j in v] for k, v in adj.items()}
    epcis = []
    rural = iter(EPCI_RURAL_NAMES)
    for dep, _, _, _ in DEPARTEMENTS:
        mine = [c for c in communes if c.dep == dep]
        chef = next(c for c in mine if c.role in ("MU", "BF", "PI"))
        core = {chef.idx} | {j for j in adj[chef.idx] if by_idx[j].dep == dep}
        groups = [sorted(core)]
        left = sorted(c.idx for c in mine if c.idx not in core)
        while left:  # connected components of the rest
            comp, stack = set(), [left[0]]
            while stack:
                i = stack.pop()
                if i in comp:
                    continue
                comp.add(i)
                stack += [j for j in adj[i] if j in left and j not in comp]
            if len(comp) < 3:  # too small: joins the core
                groups[0] = sorted(set(groups[0]) | comp)
            else:
                groups.append(sorted(comp))
            left = [i for i in left if i not in comp]
        for k, g in enumerate(groups):
            siren = f"2999{dep}{k + 1:03d}"
            name = EPCI_CORE_NAMES[dep] if k == 0 else next(rural)
            epcis.append((siren, name, dep))
            for i in g:
                by_idx[i].epci = siren
    return sorted(epcis)


def _populations(rnd: _Rand, communes: list[Commune]) -> None:
    for c in communes:
        if c.role:
            c.population = HOST_POPULATION[c.role]
            c.deprivation = HOST_DEPRIVATION[c.role]
        else:
            c.population = int(round(math.exp(rnd.uniform(math.log(350), math.log(9500)))))
            c.deprivation = rnd.uniform(0.02, 0.38)


def _place(rnd: _Rand, make, ok, what: str, tries: int = 400):
    for _ in range(tries):
        result = make()
        if ok(result):
            return result
    raise RuntimeError(f"could not place {what}")


def _build_qpvs(rnd: _Rand, communes: list[Commune]) -> tuple[list[Qpv], list[Qpv]]:
    by_role = {c.role: c for c in communes if c.role}
    placed24: list[Polygon] = []
    placed15: list[Polygon] = []
    specs = []  # (spec, geom24, [geoms15])

    def free24(g):
        return all(g.distance(o) > 0.2 for o in placed24)

    def free15(gs):
        return all(g.distance(o) > 0.2 for g in gs for o in placed15) and \
            all(a.distance(b) > 0.1 for i, a in enumerate(gs) for b in gs[i + 1:])

    for spec in QPV_PLAN:
        roles, name, status, preds = spec
        hosts = [by_role[r] for r in roles.split("+")]
        area = shapely.union_all([h.geom_km for h in hosts]).buffer(-0.12)
        big = hosts[0].population > 50_000
        if len(hosts) == 2:  # straddles the border of two communes
            border = hosts[0].geom_km.boundary.intersection(hosts[1].geom_km.boundary)
            line = max(getattr(border, "geoms", [border]), key=lambda g: g.length)

            def centre():
                p = line.interpolate(rnd.uniform(0.35, 0.65), normalized=True)
                return p.x, p.y
        else:
            sx, sy = hosts[0].seed_km

            def centre():
                d, a = rnd.uniform(0.4, 4.2 if big else 2.6), rnd.uniform(0, 2 * math.pi)
                return sx + d * math.cos(a), sy + d * math.sin(a)

        def make():
            cx, cy = centre()
            r = rnd.uniform(0.45, 0.85) if big else rnd.uniform(0.35, 0.6)
            g24, harm = _blob(cx, cy, r, rnd)
            g15 = []
            if status == "I":
                g15 = [g24]
            elif len(preds) == 1:  # modified perimeter: resized, shifted, re-drawn edges
                a = rnd.uniform(0, 2 * math.pi)
                s = rnd.uniform(0.08, 0.2) * r
                g15 = [_blob(cx + s * math.cos(a), cy + s * math.sin(a), r * rnd.uniform(0.8, 1.1), rnd, harm)[0]]
            elif len(preds) == 2:  # two 2015 QPVs merged into one
                a = rnd.uniform(0, math.pi)
                for sign in (1, -1):
                    g15.append(_blob(cx + sign * 0.55 * r * math.cos(a), cy + sign * 0.55 * r * math.sin(a),
                                     0.4 * r, rnd, [(2, 0.06, a), (3, 0.03, 2 * a)])[0])
            return g24, g15

        def ok(res):
            g24, g15 = res
            if not (area.contains(g24) and all(area.contains(g) for g in g15) and free24(g24) and free15(g15)):
                return False
            if len(hosts) == 2:
                return all(g24.intersection(h.geom_km).area > 0.25 * g24.area for h in hosts) and \
                    all(g.intersection(h.geom_km).area > 0.15 * g.area for g in g15 for h in hosts)
            return True

        g24, g15 = _place(rnd, make, ok, f"QPV {name}")
        placed24.append(g24)
        placed15.extend(g15)
        specs.append((spec, hosts, g24, g15))

    exited = []
    for role, name in QPV_EXITED_2015:
        host = by_role[role]
        area = host.geom_km.buffer(-0.12)
        sx, sy = host.seed_km

        def make():
            d, a = rnd.uniform(0.8, 3.0), rnd.uniform(0, 2 * math.pi)
            return _blob(sx + d * math.cos(a), sy + d * math.sin(a), rnd.uniform(0.3, 0.5), rnd)[0]

        g = _place(rnd, make, lambda g: area.contains(g) and free15([g]), f"QPV 2015 {name}")
        placed15.append(g)
        exited.append((name, [host], g))

    # codes: numbered per département in commune-code order, then plan order
    qpv24: list[Qpv] = []
    qpv15: list[Qpv] = []
    n24: dict[str, int] = {}
    n15: dict[str, int] = {}

    def code15(dep):
        n15[dep] = n15.get(dep, 0) + 1
        return f"QP0{dep}{n15[dep]:03d}"

    ordered = sorted(range(len(specs)), key=lambda k: (specs[k][1][0].code, k))
    for k in ordered:
        (roles, name, status, preds), hosts, g24, g15 = specs[k]
        dep = hosts[0].dep
        n24[dep] = n24.get(dep, 0) + 1
        codes = [h.code for h in hosts]
        z = max(0.02, min(1.0, hosts[0].deprivation * 0.35 + rnd.uniform(-0.05, 0.6)))
        q = Qpv(f"QN0{dep}{n24[dep]:02d}{status}", name, "2024", codes, g24, status=status, deprivation=z)
        for pname, pg in zip(preds, g15):
            p = Qpv(code15(dep), pname, "2015", codes if pg.intersection(hosts[-1].geom_km).area > 0 else codes[:1],
                    pg, deprivation=max(0.0, min(1.0, z + rnd.uniform(-0.06, 0.06))))
            q.predecessors.append(p.code)
            qpv15.append(p)
        qpv24.append(q)
    for name, hosts, g in exited:
        qpv15.append(Qpv(code15(hosts[0].dep), name, "2015", [hosts[0].code], g,
                         deprivation=rnd.uniform(0.12, 0.3)))
    for p in qpv15:
        dens = rnd.uniform(3500, 7500)
        p.population = int(min(9400, max(900, p.geom_km.area * dens)))
        if p.name == SECRET_QPV_2015:
            p.population = 847
            p.secret = True
    qpv15.sort(key=lambda q: q.code)
    return qpv24, qpv15


def build_world(seed: int = SEED) -> World:
    rnd = _Rand(seed)
    communes, outline = _build_communes(rnd)
    _populations(rnd, communes)
    epcis = _build_epcis(communes)
    qpv24, qpv15 = _build_qpvs(rnd, communes)
    for c in communes:
        c.geom = _multi(_finish(c.geom_km))
    for q in qpv24 + qpv15:
        q.geom = _multi(_finish(q.geom_km))
    world = World(communes, epcis, qpv24, qpv15, outline, rnd)
    _check_world(world)
    return world


def _multi(g):
    g = shapely.orient_polygons(g)
    return g if g.geom_type == "MultiPolygon" else MultiPolygon([g])


def _check_world(w: World) -> None:
    """Invariants the tests also check on the written files; failing here means the
    constants above need adjusting, never silently different output."""
    geoms = [c.geom for c in w.communes]
    if not shapely.coverage_is_valid(np.array(geoms, dtype=object)):
        raise RuntimeError("demo communes do not form a valid coverage")
    minx, miny, maxx, maxy = shapely.union_all(geoms).bounds
    if not (DEMO_BBOX[0] < minx and maxx < DEMO_BBOX[2] and DEMO_BBOX[1] < miny and maxy < DEMO_BBOX[3]):
        raise RuntimeError("demo région outside DEMO_BBOX")
    for dep, _, _, _ in DEPARTEMENTS:
        u = shapely.union_all([c.geom for c in w.communes if c.dep == dep])
        if u.geom_type != "Polygon":
            raise RuntimeError(f"demo département {dep} is not contiguous")
    for q in w.qpv24 + w.qpv15:
        host = shapely.union_all([w.commune(c).geom for c in q.communes])
        if not host.contains(q.geom):
            raise RuntimeError(f"demo QPV {q.code} is not inside its commune(s)")


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------
def fr_number(v: float | None, decimals: int = 0, thousands: bool = True) -> str:
    """"6 490" (narrow no-break space), "55,3", "-9,4"; None -> "" (secret)."""
    if v is None:
        return ""
    s = f"{v:,.{decimals}f}" if thousands else f"{v:.{decimals}f}"
    if s.lstrip("-").strip("0,.") == "":
        s = s.lstrip("-")
    return s.replace(",", NNBSP).replace(".", ",")


def _round_coords(obj):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), DECIMALS) for v in obj]
        return [_round_coords(o) for o in obj]
    return obj


def _geometry_json(geom) -> dict:
    m = mapping(geom)
    return {"type": m["type"], "coordinates": _round_coords(m["coordinates"])}


def _geojson(name: str, crs: str, features: list[tuple[dict, object]], one_per_line: bool) -> bytes:
    head = {"type": "FeatureCollection", "name": name,
            "crs": {"type": "name", "properties": {"name": crs}}}
    feats = [json.dumps({"type": "Feature", "properties": p, "geometry": _geometry_json(g)},
                        ensure_ascii=False, separators=(",", ":")) for p, g in features]
    start = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    if one_per_line:
        text = start + ',\n"features":[\n' + ",\n".join(feats) + "\n]}\n"
    else:
        text = start + ',"features":[' + ",".join(feats) + "]}"
    return text.encode("utf-8")


CRS84 = "urn:ogc:def:crs:OGC:1.3:CRS84"
EPSG4326 = "urn:ogc:def:crs:EPSG::4326"


def _csv(rows: list[list[str]], sep: str, eol: str, bom: bool = False, final_eol: bool = True) -> bytes:
    for r in rows:
        for cell in r:
            if sep in cell or '"' in cell or "\n" in cell:
                raise ValueError(f"cell needs quoting: {cell!r}")
    text = eol.join(sep.join(r) for r in rows) + (eol if final_eol else "")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def _quoted_csv(rows: list[list[str]], sep: str = ";") -> bytes:
    import csv

    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _ncc(name: str) -> str:
    return " ".join(_fold(name).upper().replace("-", " ").replace("'", " ").split())


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------
def _dep_name(code: str) -> str:
    return next(n for d, n, _, _ in DEPARTEMENTS if d == code)


def _chef_lieu(w: World, dep: str) -> Commune:
    return next(c for c in w.communes if c.dep == dep and c.role in ("MU", "BF", "PI"))


def _files_geography(w: World) -> dict[str, bytes]:
    out = {}
    feats = [({"INSEE_COM": c.code, "NOM": c.name, "POPULATION": c.population, "INSEE_DEP": c.dep,
               "INSEE_REG": REGION_CODE, "SIREN_EPCI": c.epci}, c.geom) for c in w.communes]
    out[FILES["communes"]] = _geojson("commune_utopie", CRS84, feats, one_per_line=True)
    out[FILES["epci"]] = _csv([["CODE_SIREN", "NOM"]] + [[s, n] for s, n, _ in w.epcis], ",", "\n")
    deps = [["DEP", "REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"]]
    for dep, name, tncc, _ in DEPARTEMENTS:
        deps.append([dep, REGION_CODE, _chef_lieu(w, dep).code, tncc, _ncc(name), name, name])
    out[FILES["departements"]] = _quoted_csv(deps, ",").replace(b"\r\n", b"\n")
    regs = [["REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"],
            [REGION_CODE, _chef_lieu(w, "99").code, "0", _ncc(REGION_NAME), REGION_NAME, REGION_NAME]]
    out[FILES["regions"]] = _quoted_csv(regs, ",").replace(b"\r\n", b"\n")
    return out


def _names(w: World, codes: list[str]) -> list[str]:
    return [w.commune(c).name for c in codes]


def _files_qpv(w: World) -> dict[str, bytes]:
    out = {}
    feats = []
    for fid, q in enumerate(sorted(w.qpv24, key=lambda q: q.code), start=1):
        c0 = w.commune(q.communes[0])
        feats.append(({"fid": fid, "code_qp": q.code, "lib_qp": q.name, "insee_reg": REGION_CODE,
                       "lib_reg": REGION_NAME, "insee_dep": c0.dep, "lib_dep": _dep_name(c0.dep),
                       "insee_com": ", ".join(q.communes), "lib_com": ", ".join(_names(w, q.communes)),
                       "siren_epci": ", ".join(dict.fromkeys(w.commune(c).epci for c in q.communes))},
                      q.geom))
    out[FILES["qpv2024"]] = _geojson("QP2024_UTOPIE_WGS84", CRS84, feats, one_per_line=False)
    feats = []
    for q in w.qpv15:
        geom = q.geom.geoms[0] if len(q.geom.geoms) == 1 else q.geom  # Polygon, as in the shapefile
        feats.append(({"CODE_QP": q.code, "NOM_QP": q.name,
                       "COMMUNE_QP": ", ".join(sorted(_names(w, q.communes), key=_fold))}, geom))
    out[FILES["qpv2015"]] = _geojson("QP_UTOPIE_2015_WGS84", EPSG4326, feats, one_per_line=True)

    rows = [["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1", "QP2015_2",
             "Label_QP2015_2", "QP2015_3", "Label_QP2015_3"]]
    by15 = {q.code: q for q in w.qpv15}
    statut = {"I": "INCHANGE", "M": "MODIFIE", "N": "NOUVEAU"}
    for q in sorted(w.qpv24, key=lambda q: q.code):
        row = [q.code, q.name, statut[q.status]]
        for p in q.predecessors:
            row += [p, by15[p].name]
        rows.append(row + [""] * (9 - len(row)))
    out[FILES["correspondence"]] = _csv(rows, ";", CRLF)

    # ARS zoning: the most deprived QPVs are ZIP, the others ZAC
    zone = {q.code: ("ZIP" if q.deprivation >= 0.62 else "ZAC") for q in w.qpv24}
    communes: dict[str, dict] = {}
    for q in sorted(w.qpv24, key=lambda q: q.code):
        for c in q.communes:
            e = communes.setdefault(c, {"zip": 0, "zac": 0, "qpv": []})
            e[zone[q.code].lower()] += 1
            e["qpv"].append({"id": q.code, "n": q.name, "z": zone[q.code]})
    zoning = {"millesime": "2025", "source": "Arrêté_zonage_QPV_MEDECINS_UTOPIE_FICTIF_2025.xlsx",
              "n_qpv": len(w.qpv24), "n_zip": sum(z == "ZIP" for z in zone.values()),
              "n_zac": sum(z == "ZAC" for z in zone.values()),
              "communes": {k: communes[k] for k in sorted(communes)}}
    out[FILES["zoning"]] = json.dumps(zoning, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return out


# ---- ONPV tables -----------------------------------------------------------------------
def _onpv_values(fam: str, year: int, q: Qpv, w: World, rnd: _Rand, shares: dict) -> dict[str, float | None]:
    """Plausible values of every column of one family/vintage for one 2015 QPV.
    Returns {column: value}; formatting (decimals) is decided by `_onpv_format`."""
    t = year - 2019
    z = max(0.0, min(1.0, q.deprivation + 0.008 * t + rnd.uniform(-0.03, 0.03)))
    pop = q.population * (1 + 0.004 * t)
    infl = 1.018 ** t
    j = lambda s: 1 + rnd.uniform(-s, s)  # noqa: E731  (multiplicative jitter)
    v: dict[str, float | None] = {}
    hh = pop / (2.2 + 0.5 * z)
    alloc = hh * (0.55 + 0.2 * z)
    if fam == "REVN":
        q2 = (15300 - 4300 * z) * infl * j(0.02)
        v.update(PMIMP=45 - 25 * z * j(0.1), PART_CHOMPRINC=4 + 6 * z * j(0.2), BREV=50 + 20 * z * j(0.05),
                 DECUC_Q2=q2 * (0.78 - 0.12 * z), DISP_Q2=q2, DISP_Q1=q2 * 0.76 * j(0.02),
                 DISP_Q3=q2 * 1.33 * j(0.02), DISP_D1=q2 * (0.6 - 0.05 * z) * j(0.03),
                 DISP_D9=q2 * (1.8 - 0.1 * z) * j(0.03),
                 TP60=30 + 30 * z + rnd.uniform(-1.5, 1.5))
        v["DECUC_Q1"] = v["DECUC_Q2"] * 0.45
        v["DECUC_Q3"] = v["DECUC_Q2"] * 1.6
        v["DECUC_D1"] = v["DECUC_Q2"] * 0.1 * j(0.2)
        v["DECUC_D9"] = v["DECUC_Q2"] * 2.3 * j(0.05)
        v["DECUC_D1D9"] = v["DECUC_D9"] / v["DECUC_D1"]
        v["DISP_D1D9"] = v["DISP_D9"] / v["DISP_D1"]
        ppen, ppsoc, pimpot, ppat = 20 - 7 * z * j(0.1), 12 + 24 * z * j(0.05), -(11 - 4 * z), 4 - 2.5 * z
        v.update(PPEN=ppen, PPSOC=ppsoc, PIMPOT=pimpot, PPAT=ppat, PACT=100 - ppen - ppsoc - pimpot - ppat)
        insured = pop * 0.93 * j(0.02)
        v.update(C=insured, CCMUC=pop * (0.1 + 0.16 * z) * j(0.05), CC2S=insured * (0.2 + 0.22 * z) * j(0.04),
                 C_C2SNP=insured * (0.17 + 0.2 * z) * j(0.04), C_C2SP=insured * (0.02 + 0.03 * z) * j(0.1),
                 A=alloc, APRES50=alloc * (0.35 + 0.25 * z), APRES100=alloc * (0.18 + 0.2 * z),
                 ARSA=alloc * (0.25 + 0.15 * z), ARSAS=alloc * (0.15 + 0.15 * z) * j(0.05),
                 APPA=alloc * (0.25 + 0.1 * z), AAAH=alloc * 0.08 * j(0.15))
    elif fam == "DEMO":
        y24 = 33 + 12 * z + rnd.uniform(-1.5, 1.5)
        s60 = 22 - 9 * z + rnd.uniform(-1.5, 1.5)
        v.update(POP_MUN=pop, TX_F=rnd.uniform(50.5, 54.0), TX_TOT_0A24=y24, TX_F_0A24=y24 - rnd.uniform(1, 3),
                 TX_TOT_60ETPLUS=s60, TX_F_60ETPLUS=s60 + rnd.uniform(1, 3), IND_JEUNE=y24 * 0.8 / s60,
                 TX_TOT_MEN1=38 - 6 * z + rnd.uniform(-3, 3), TX_TOT_MEN6=2 + 7 * z * j(0.1),
                 TX_TOT_ET=6 + 18 * z * j(0.1))
        v["TX_F_ET"] = v["TX_TOT_ET"] - rnd.uniform(0.5, 2.0)
        enf = alloc * (1.0 + 0.4 * z)
        v.update(A=alloc, PERCOU=alloc * (2.3 + 0.4 * z), AM=alloc * (0.18 + 0.17 * z) * j(0.05),
                 AI=alloc * 0.3, ACSSENF=alloc * 0.07, ACAVENF=alloc * 0.25, AC3ENF=alloc * (0.05 + 0.06 * z),
                 A_NETUD_24=alloc * 0.04, A_ETUD=alloc * 0.02, ENF=enf, ENF_2=enf * 0.12, ENF_3_5=enf * 0.15,
                 ENF_6_10=enf * 0.24, ENF_11_14=enf * 0.18, ENF_15_17=enf * 0.13, ENF_18_24=enf * 0.1)
    else:  # IPRO
        empl = 56 - 16 * z + rnd.uniform(-2, 2)
        prec = 18 + 12 * z + rnd.uniform(-2, 2)
        abcde = pop * (0.09 + 0.06 * z) * j(0.05)
        abc = abcde * 0.88
        v.update(TX_TOT_EMPL=empl, TX_F_EMPL=empl - rnd.uniform(4, 8), TX_ET_EMPL=empl - rnd.uniform(5, 11),
                 TX_TOT_EPREC=prec, TX_F_EPREC=prec + rnd.uniform(0, 3), TX_ET_EPREC=prec + rnd.uniform(2, 8),
                 TX_TOT_EDLIM=prec, TX_F_EDLIM=prec + rnd.uniform(0, 3), TX_ET_EDLIM=prec + rnd.uniform(2, 8),
                 CA=pop * 0.003 * j(0.3), ABCDE=abcde, ABC=abc, A=abc * 0.6)
    header = ONPV_LAYOUTS[(fam, year)][1].split(";")
    for col in header:
        key = col.strip()
        if key in v or key in ("CODGEO", "LIBGEO", "LIB_COM", "POP_COM_QP", "POP_COM"):
            continue
        if key.startswith("NOTE_"):
            v[key] = 0
        elif key[-2:] in ("_F", "_H") and key[:-2] in v:  # women / men split of a count
            v[key] = v[key[:-2]] * (0.47 if key.endswith("_F") else 0.53) * j(0.05)
        elif key.startswith("EVOL_"):
            v[key] = rnd.uniform(-12, 12)
        else:  # a sub-count of a base count (share fixed per column)
            base = "ABC" if key.startswith("ABC") else "A" if key.startswith("A") else "CA"
            if base not in v:
                base = next(b for b in ("A", "POP_MUN", "C") if b in v)
            v[key] = v[base] * shares.setdefault(key, rnd.uniform(0.05, 0.6)) * j(0.1)
    return v


ONPV_RATE_PREFIXES = ("TX_", "EVOL_", "BREV", "IND_JEUNE", "TP60", "PMIMP", "PART_", "PACT", "PPEN", "PPSOC",
                      "PIMPOT", "PPAT")


def _onpv_is_rate(col: str) -> bool:
    return col.startswith(ONPV_RATE_PREFIXES) or col.endswith("D1D9")


def _onpv_format(col: str, value, year: int) -> str:
    if value is None:
        return ""
    if col.startswith("NOTE_"):
        return str(int(value))
    if _onpv_is_rate(col):
        return fr_number(value, 1)
    if col.startswith(("DISP_", "DECUC_")):
        step = 10 if year >= 2021 else 1
        return fr_number(round(value / step) * step, 0)
    return fr_number(round(value), 0)


FILO_SECRET_COLS = ("PMIMP", "PART_CHOMPRINC", "BREV", "DECUC_", "DISP_", "TP60", "PACT", "PPEN",
                    "PPSOC", "PIMPOT", "PPAT")


def _files_onpv(w: World, rnd: _Rand) -> dict[str, bytes]:
    out = {}
    pop_in_qpv: dict[str, int] = {}
    for q in w.qpv15:
        for c in q.communes:
            pop_in_qpv[c] = pop_in_qpv.get(c, 0) + q.population
    for (fam, year), (width, header_s) in sorted(ONPV_LAYOUTS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if year not in ONPV_YEARS:
            continue
        header = header_s.split(";")
        shares: dict[str, float] = {}
        body = []
        totals = {}
        for q in w.qpv15:
            v = _onpv_values(fam, year, q, w, rnd, shares)
            names = sorted(_names(w, q.communes), key=_fold)
            cells = []
            for col in header:
                key = col.strip()
                if key == "CODGEO":
                    cells.append(q.code)
                elif key == "LIBGEO":
                    cells.append(q.name)
                elif key == "LIB_COM":
                    cells.append(", ".join(names))
                elif key == "POP_COM":
                    cells.append(fr_number(sum(w.commune(c).population for c in q.communes)))
                elif key == "POP_COM_QP":
                    cells.append(fr_number(sum(pop_in_qpv[c] for c in q.communes)))
                else:
                    val = v.get(key)
                    if q.secret and fam == "REVN" and key.startswith(FILO_SECRET_COLS):
                        val = None
                    elif not key.startswith(("NOTE_", "POP_")) and rnd.chance(0.03):
                        val = None  # statistical secret / missing figure
                    if val is not None and not _onpv_is_rate(key) and not key.startswith(("DISP", "DECUC", "NOTE")):
                        totals[key] = totals.get(key, 0.0) + val
                    cells.append(_onpv_format(key, val, year))
            body.append(cells)
        rows = [header]
        if year in ENSEMBLE_YEARS:
            ens = []
            for col in header:
                key = col.strip()
                if key == "CODGEO":
                    ens.append("Ensemble")
                elif key == "LIBGEO":
                    ens.append("Ensemble des QPV")
                elif key in totals and not key.startswith("NOTE_"):
                    ens.append(fr_number(round(totals[key] / 100) * 100))
                else:
                    ens.append("")
            rows.append(ens)
        rows += body
        rows = [r + [""] * (width - len(r)) for r in rows]
        out[f"{fam}_{year}.csv"] = _csv(rows, ";", CRLF, bom=True, final_eol=False)
    return out


# ---- Filosofi ------------------------------------------------------------------------------
def _filo_profile(pop: float, z: float) -> dict[str, float]:
    q2 = 24200 - 6200 * z
    d = {"NBMEN": pop / (2.15 + 0.3 * z), "NBPERS": pop * 0.985, "Q2": q2}
    d["NBUC"] = d["NBPERS"] / 1.52
    for k, f in (("Q1", 0.78), ("Q3", 1.3), ("D1", 0.56 - 0.04 * z), ("D2", 0.7), ("D3", 0.81),
                 ("D4", 0.91), ("D6", 1.1), ("D7", 1.21), ("D8", 1.38), ("D9", 1.72 + 0.1 * z)):
        d[k] = q2 * f
    d["Q3_Q1"] = d["Q3"] - d["Q1"]
    d["RD"] = d["D9"] / d["D1"]
    d["S80S20"] = 3.6 + 1.6 * z
    d["GI"] = 0.26 + 0.08 * z
    d["PACT"] = 70 - 8 * z
    d["PTSA"] = d["PACT"] * 0.82
    d["PCHO"] = 2 + 2 * z
    d["PBEN"] = d["PACT"] - d["PTSA"] - d["PCHO"]
    d["PPEN"] = 28 - 4 * z
    d["PPAT"] = 10 - 5 * z
    d["PPSOC"] = 4 + 10 * z
    d["PPFAM"] = d["PPSOC"] * 0.3
    d["PPMINI"] = d["PPSOC"] * 0.35
    d["PPLOGT"] = d["PPSOC"] - d["PPFAM"] - d["PPMINI"]
    d["PIMPOT"] = 100 - (d["PACT"] + d["PPEN"] + d["PPAT"] + d["PPSOC"])
    d["TP60"] = 10 + 15 * z
    for i, f in enumerate((1.6, 1.3, 1.05, 0.95, 0.7, 0.6), start=1):
        d[f"TP60AGE{i}"] = d["TP60"] * f
    d["TP60TOL1"] = d["TP60"] * 0.35
    d["TP60TOL2"] = d["TP60"] * 1.9
    return d


def _filo_format(col: str, v: float | None) -> str:
    if v is None:
        return ""
    if col.startswith(("NBMEN", "NBPERS")):
        return fr_number(round(v), 0, thousands=False)
    if col.startswith("NBUC"):
        return fr_number(v, 1, thousands=False)
    if col.startswith(("S80S20", "GI")):
        return fr_number(v, 3, thousands=False)
    if col == "RD" or col.startswith(("P", "TP60")):
        return fr_number(v, 1, thousands=False)
    return fr_number(round(v / 10) * 10, 0, thousands=False)


def _files_filosofi(w: World, rnd: _Rand) -> dict[str, bytes]:
    yy = f"{FILO_YEAR % 100:02d}"
    groups: dict[str, list[tuple[str, str, list[Commune]]]] = {
        "COM": [(c.code, c.name, [c]) for c in w.communes],
        "EPCI": [(s, n, [c for c in w.communes if c.epci == s]) for s, n, _ in w.epcis],
        "DEP": [(d, n, [c for c in w.communes if c.dep == d]) for d, n, _, _ in DEPARTEMENTS],
        "REG": [(REGION_CODE, REGION_NAME, list(w.communes))],
    }
    noise = {c.code: rnd.uniform(-0.04, 0.04) for c in w.communes}
    out = {}
    for kind, template in (("DISP", FILO_DISP_COLUMNS), ("DISP_PAUVRES", FILO_PAUVRES_COLUMNS)):
        header = template.format(yy=yy).split(";")
        for level in FILO_LEVELS:
            rows = [header]
            if level == "METROPOLE":
                entries = [("1", "France métropolitaine", 62_900_000, 0.42, False)]
            else:
                entries = []
                for code, name, members in groups[level]:
                    pop = sum(c.population for c in members)
                    z = sum(c.population * (c.deprivation + noise[c.code]) for c in members) / pop
                    small = level == "COM" and pop / (2.15 + 0.3 * z) < FILO_SMALL_HOUSEHOLDS
                    entries.append((code, name, pop, z, small))
            for code, name, pop, z, small in entries:
                prof = _filo_profile(pop, z)
                row = [code, name]
                for col in header[2:]:
                    key = col[:-2] if col.endswith(yy) and col not in ("RD", "Q3_Q1") else col
                    keep = not small or key in ("NBMEN", "NBPERS", "NBUC", "Q2")
                    row.append(_filo_format(col, prof.get(key) if keep else None))
                rows.append(row)
            out[f"FILO{FILO_YEAR}_{kind}_{level}.csv"] = _csv(rows, ";", CRLF, bom=True, final_eol=False)
    return out


# ---- DREES APL (xlsx) ------------------------------------------------------------------------
def _files_apl(w: World, rnd: _Rand) -> dict[str, bytes]:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    base = {}
    for c in w.communes:
        if c.role:
            base[c.code] = rnd.uniform(3.4, 4.8)
        else:
            base[c.code] = rnd.uniform(1.4, 4.2) if rnd.chance(0.85) else rnd.uniform(0.9, 1.6)
    wb = Workbook()
    wb.remove(wb.active)
    for year in APL_YEARS:
        ws = wb.create_sheet(str(year))
        ws.append([f"Accessibilité potentielle localisée (APL) aux médecins généralistes, {year}"])
        ws.append(["Données fictives de démonstration (Atlas ASV) au format des fichiers de la DREES"])
        ws.append([f"Champ : {REGION_NAME} (territoire imaginaire)"])
        ws.append(["Unité : consultations accessibles par an et par habitant standardisé"])
        ws.append(["Source : jeu fictif généré par Atlas ASV ; aucune donnée réelle"])
        ws.append([])
        ws.append(["Lecture : une APL de 3,5 signifie 3,5 consultations accessibles par an et par habitant."])
        ws.append([])
        ws.append(APL_COLUMNS)
        for c in w.communes:
            apl65 = round(base[c.code] * (1 + 0.025 * (year - 2021)) * (1 + rnd.uniform(-0.04, 0.04)), 3)
            ws.append([c.code, c.name, round(apl65 * 1.08, 3), apl65, round(apl65 * 0.9, 3),
                       round(c.population * rnd.uniform(0.92, 1.08)), c.population])
    wb.properties.creator = "Atlas ASV (jeu fictif)"
    wb.properties.lastModifiedBy = None
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(wb, archive).write_data()
    # re-pack with fixed entry dates: zip entries otherwise carry the current time
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    final = io.BytesIO()
    with zipfile.ZipFile(final, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_STORED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return {FILES["apl"]: final.getvalue()}


# ---- Schemes, CPTS and actions ------------------------------------------------------------------
def _taxonomy():
    tax = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    themes = []  # (id, label, axis id)
    for axis in tax["theme"]:
        themes.append((axis["id"], axis["label"], axis["id"]))
        for cid, label in axis.get("children", []):
            themes.append((cid, label, axis["id"]))
    publics = [(pid, label) for pid, label in tax["publics"]["items"]]
    return themes, publics


TITLES = {
    "observation": ["Diagnostic local de santé", "Enquête santé auprès des habitants",
                    "Observatoire fictif de la santé du quartier"],
    "acces_droits_soins": ["Permanence d'accès aux droits de santé", "Accompagnement vers la Complémentaire santé solidaire",
                           "Médiation santé au pied des immeubles"],
    "prevention": ["Prévention santé au centre social", "Journée santé du quartier"],
    "nutrition": ["Ateliers cuisine et équilibre alimentaire", "Petits-déjeuners santé à l'école",
                  "Jardin partagé et alimentation"],
    "activite_physique": ["Marche santé hebdomadaire", "Sport sur ordonnance", "Gym douce pour les seniors"],
    "sante_bucco_dentaire": ["Dépistage bucco-dentaire en maternelle", "Brossage des dents à l'école"],
    "education_sante": ["Éducation pour la santé au collège", "Forum santé des habitants"],
    "vaccination_depistage": ["Journée de vaccination gratuite", "Dépistages itinérants"],
    "cancer": ["Octobre rose : sensibilisation au dépistage", "Accompagnement au dépistage du cancer colorectal"],
    "vie_affective_sexuelle": ["Ateliers vie affective et sexuelle", "Espace d'écoute santé sexuelle"],
    "vih_ist_hepatites": ["Dépistage rapide VIH et hépatites", "Prévention des IST"],
    "sante_mentale": ["Groupe de parole santé mentale", "Premiers secours en santé mentale"],
    "addictions": ["Prévention des addictions au lycée", "Consultation jeunes consommateurs"],
    "estime_de_soi": ["Ateliers estime de soi", "Théâtre forum et confiance en soi"],
    "sism": ["Semaines d'information sur la santé mentale"],
    "clsm": ["Cellule de situations complexes du CLSM"],
    "reseaux_sante_mentale": ["Réseau d'écoute et d'orientation psychologique"],
    "sante_environnement": ["Balade santé-environnement"],
    "habitat_indigne": ["Repérage de l'habitat indigne", "Accompagnement des locataires de logements insalubres"],
    "saturnisme": ["Prévention du saturnisme infantile"],
    "qualite_air": ["Ateliers qualité de l'air intérieur"],
    "pollutions": ["Sensibilisation aux nuisances sonores"],
    "parcours_soins": ["Coordination des parcours de santé"],
    "reseaux_sante": ["Réseau diabète de proximité"],
    "maisons_sante": ["Projet de maison de santé pluriprofessionnelle", "Consultations avancées en centre de santé"],
    "medico_social": ["Accompagnement médico-social des personnes âgées"],
    "lien_ville_hopital": ["Sortie d'hospitalisation accompagnée"],
}
THEME_WEIGHTS = {"prevention": 0.5, "sante_mentale": 0.6, "parcours_soins": 0.5, "sante_environnement": 0.5,
                 "nutrition": 3, "activite_physique": 3, "acces_droits_soins": 3, "education_sante": 2,
                 "addictions": 2, "estime_de_soi": 2, "vaccination_depistage": 1.5, "sante_bucco_dentaire": 1.5}
PUBLIC_WEIGHTS = {"precarite": 4, "enfants_jeunes": 4, "femmes": 2, "parentalite": 2, "vieillissement": 2}
# Publics that go with a theme (the first public of an action is usually one of them).
THEME_PUBLICS = {
    "nutrition": ["enfants_jeunes", "parentalite", "precarite"],
    "activite_physique": ["vieillissement", "femmes", "enfants_jeunes", "handicap"],
    "sante_bucco_dentaire": ["petite_enfance", "enfants_jeunes"],
    "education_sante": ["enfants_jeunes", "parentalite"],
    "vaccination_depistage": ["precarite", "migrants_gens_voyage", "petite_enfance"],
    "cancer": ["femmes", "vieillissement"],
    "vie_affective_sexuelle": ["enfants_jeunes", "femmes", "violences"],
    "vih_ist_hepatites": ["enfants_jeunes", "migrants_gens_voyage", "detenus"],
    "addictions": ["enfants_jeunes", "insertion", "detenus"],
    "estime_de_soi": ["femmes", "insertion", "enfants_jeunes", "violences"],
    "saturnisme": ["petite_enfance", "perinatalite"],
    "habitat_indigne": ["precarite", "vieillissement"],
    "medico_social": ["vieillissement", "handicap"],
    "lien_ville_hopital": ["vieillissement", "personnes_isolees"],
    "acces_droits_soins": ["precarite", "migrants_gens_voyage", "personnes_isolees"],
    "sante_mentale": ["personnes_isolees", "precarite", "enfants_jeunes"],
    "sism": ["enfants_jeunes", "personnes_isolees"],
    "clsm": ["precarite", "personnes_isolees"],
    "reseaux_sante_mentale": ["personnes_isolees", "precarite"],
    "maisons_sante": ["precarite", "vieillissement"],
    "reseaux_sante": ["vieillissement", "precarite"],
}
PORTEURS = [
    "Association Santé Fictive", "Mutuelle Imaginaire Solidaire", "Comité fictif d'éducation pour la santé",
    "Association Sport-Chimère", "Ligue imaginaire contre le cancer", "Planning familial fictif d'Utopie",
    "Collectif Songe et Santé", "Association Les Petits Farfadets", "Association Mirage Prévention Addictions",
    "Épicerie solidaire des Licornes", "Maison des adolescents fictive", "Réseau Diabète Imaginaire",
]
FUNDERS = ["ARS fictive d'Utopie", "CPAM imaginaire", "Conseil départemental fictif",
           "État - politique de la ville (fictif)", "Fondation Imaginaire", "Caisse fictive d'allocations familiales"]
STREETS = ["rue des Licornes", "avenue des Chimères", "place du Mirage", "allée des Songes", "boulevard de l'Utopie",
           "impasse des Farfadets", "chemin des Fées"]


def _schemes(w: World, rnd: _Rand):
    """ASV, CLS, CLSM rows of the schemes template, and the CPTS territories."""
    by_role = {c.role: c for c in w.communes if c.role}
    qpvs_of = {}
    for q in sorted(w.qpv24, key=lambda q: q.code):
        qpvs_of.setdefault(q.communes[0], []).append(q.code)
    schemes = []  # dicts with template columns plus internal keys
    asv_plan = [("MU", 4, 2009, "Ville de Mont-Utopie", "actif"),
                ("MS", 2, 2012, "CCAS de Mirage-sur-Songe", "actif"),
                ("BF", 4, 2007, "Association Santé Fictive", "actif"),
                ("FR", 1, 2016, "Ville de Fictif-la-Rivière", "actif"),
                ("PI", 3, 2010, "Ville de Port-Imaginaire", "actif"),
                ("CB", 2, 2019, "Centre social des Minotaures (fictif)", "en projet")]
    for n, (role, k, year, porteur, statut) in enumerate(asv_plan, start=1):
        c = by_role[role]
        covered = qpvs_of[c.code][:k]
        schemes.append({"id_dispositif": f"ASV{n:03d}", "type": "ASV", "nom": f"Atelier santé ville de {c.name}",
                        "porteur": porteur, "annee_creation": str(year), "statut": statut,
                        "communes": c.code, "qpv": ("," if n == 4 else "|").join(covered),
                        "site_web": f"https://www.{_slug(c.name)}.example/atelier-sante-ville"})
    bf_epci = by_role["BF"].epci
    cls_plan = [("CLS de Mont-Utopie", [by_role["MU"].code], 2013, "Ville de Mont-Utopie", "actif"),
                ("CLS de Port-Imaginaire", [by_role["PI"].code], 2015, "Ville de Port-Imaginaire", "actif"),
                ("CLS intercommunal du Pays de Bourg-Fictif",
                 [c.code for c in w.communes if c.epci == bf_epci], 2018,
                 "Communauté d'agglomération de Bourg-Fictif", "actif"),
                ("CLS de Saint-Licorne", [by_role["SL"].code], 2021, "Ville de Saint-Licorne", "actif"),
                ("CLS de Val-Chimère", [by_role["VC"].code], 2014, "Ville de Val-Chimère", "terminé")]
    for n, (name, codes, year, porteur, statut) in enumerate(cls_plan, start=1):
        schemes.append({"id_dispositif": f"CLS{n:03d}", "type": "CLS", "nom": name, "porteur": porteur,
                        "annee_creation": str(year), "statut": statut, "communes": "|".join(codes), "qpv": "",
                        "site_web": ""})
    clsm_plan = [("CLSM de Mont-Utopie et Mirage-sur-Songe", [by_role["MU"].code, by_role["MS"].code], 2014),
                 ("CLSM de Port-Imaginaire", [by_role["PI"].code], 2017),
                 ("CLSM du Pays de Bourg-Fictif", [by_role["BF"].code, by_role["FR"].code], 2020)]
    for n, (name, codes, year) in enumerate(clsm_plan, start=1):
        schemes.append({"id_dispositif": f"CLSM{n:03d}", "type": "CLSM", "nom": name,
                        "porteur": "Collectif Songe et Santé" if n == 1 else f"Ville de {w.commune(codes[0]).name}",
                        "annee_creation": str(year), "statut": "actif", "communes": "|".join(codes), "qpv": "",
                        "site_web": ""})

    # CPTS: groups of neighbouring communes grown from a seed commune, disjoint
    geoms = [c.geom for c in w.communes]
    adj = _adjacency([c.geom_km for c in w.communes])
    taken: set[int] = set()
    idx = {c.code: i for i, c in enumerate(w.communes)}
    cpts_plan = [("MU", "CPTS des Licornes", 6, 2019, "Association CPTS des Licornes", "actif"),
                 ("BF", "CPTS du Pays Fictif", 5, 2021, "Association Pays Fictif Santé", "actif"),
                 ("PI", "CPTS Imaginaire Littoral", 6, 2020, "Association Imaginaire Littoral", "actif"),
                 ("SL", "CPTS des Monts de Songe", 4, 2024, "Association Monts de Songe Santé", "en projet")]
    cpts = []
    for n, (role, name, size, year, porteur, statut) in enumerate(cpts_plan, start=1):
        start = idx[by_role[role].code]
        if start in taken:
            raise RuntimeError(f"demo CPTS {name} would overlap another CPTS")
        group, frontier = [start], [start]
        while len(group) < size and frontier:
            i = frontier.pop(0)
            for j in adj[i]:
                if j not in taken and j not in group and len(group) < size:
                    group.append(j)
                    frontier.append(j)
        taken |= set(group)
        codes = sorted(w.communes[i].code for i in group)
        geom = _multi(shapely.coverage_union_all(np.array([geoms[i] for i in group], dtype=object)))
        cpts.append(({"code_cpts": f"CPTS-99-{n:02d}", "nom": name, "porteur": porteur,
                      "annee_creation": year, "statut": statut, "communes": ", ".join(codes)}, geom))
    return schemes, cpts


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _slug(name: str) -> str:
    return "-".join(_fold(name).replace("'", " ").replace("-", " ").split())


def _random_point(rnd: _Rand, geom) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    inner = geom.buffer(-0.0004) if geom.area > 1e-5 else geom
    for _ in range(1000):
        x, y = rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)
        if inner.contains(Point(x, y)):
            return round(x, DECIMALS), round(y, DECIMALS)
    raise RuntimeError("could not draw a point")


def _actions(w: World, rnd: _Rand, schemes: list[dict], cpts: list) -> list[list[str]]:
    themes, publics = _taxonomy()
    theme_ids = [t[0] for t in themes]
    theme_label = {t[0]: t[1] for t in themes}
    public_label = dict(publics)
    asv_of_qpv, asv_of_commune, cls_of_commune, clsm_of_commune = {}, {}, {}, {}
    for s in schemes:
        codes = s["communes"].split("|")
        if s["type"] == "ASV":
            for q in s["qpv"].replace(",", "|").split("|"):
                asv_of_qpv[q] = s["id_dispositif"]
            asv_of_commune[codes[0]] = s["id_dispositif"]
        for c in codes:
            {"CLS": cls_of_commune, "CLSM": clsm_of_commune}.get(s["type"], {}).setdefault(c, s["id_dispositif"])
    cpts_of_commune = {}
    for props, _ in cpts:
        for c in props["communes"].split(", "):
            cpts_of_commune[c] = props["code_cpts"]

    qpvs = sorted(w.qpv24, key=lambda q: q.code)
    q_weights = []
    for q in qpvs:
        wgt = 1.0
        if q.code in asv_of_qpv:
            wgt *= 4.0
        elif q.communes[0] in cls_of_commune:
            wgt *= 1.3
        else:
            wgt *= 0.35  # high need, few actions: the quadrant the dashboard highlights
        q_weights.append(wgt)
    communes = list(w.communes)
    c_weights = [math.sqrt(c.population) * (3 if c.role else 1) for c in communes]
    year_weights = [0.6, 0.7, 0.6, 0.9, 1.0, 1.1, 1.2, 1.0]  # 2018..2025 (2020: pandemic dip)
    porteur_pool = PORTEURS + ["Centre hospitalier fictif de Mont-Utopie", "Maison de santé du Val-Chimère"]
    axis_of = {t[0]: t[2] for t in themes}
    by15 = {q.code: q for q in w.qpv15}

    def fmt_item(ident: str, label: str) -> str:
        x = rnd.random()
        if x < 0.58:
            return ident
        if x < 0.93:
            return label
        if x < 0.97:
            return label.lower()
        return _fold(label)  # no accents, lower case: the importer must still match it

    rows = [ACTION_COLUMNS]
    for n in range(1, N_ACTIONS + 1):
        method = rnd.weighted(["qpv", "qpv2015", "commune", "coords"], [62, 8, 18, 12])
        qpv = commune = lon = lat = adresse = ""
        target_q = None
        if method in ("qpv", "qpv2015") or (method == "coords" and rnd.chance(0.7)):
            target_q = rnd.weighted(qpvs, q_weights)
            if method == "qpv2015" and not target_q.predecessors:
                method = "qpv"
        if method == "qpv":
            qpv = target_q.code
            if rnd.chance(0.3):
                commune = target_q.communes[0]
            lieu, c_code = target_q.name, target_q.communes[0]
        elif method == "qpv2015":
            p = by15[rnd.pick(target_q.predecessors)]
            qpv, lieu, c_code = p.code, p.name, p.communes[0]
        elif method == "commune":
            c = rnd.weighted(communes, c_weights)
            commune, lieu, c_code = c.code, c.name, c.code
        else:
            if target_q is not None:
                lon_, lat_ = _random_point(rnd, target_q.geom)
                lieu, c_code = target_q.name, target_q.communes[0]
                host = next(cc for cc in target_q.communes if w.commune(cc).geom.contains(Point(lon_, lat_))) \
                    if any(w.commune(cc).geom.contains(Point(lon_, lat_)) for cc in target_q.communes) else c_code
                c_code = host
            else:
                c = rnd.weighted(communes, c_weights)
                lon_, lat_ = _random_point(rnd, c.geom)
                lieu, c_code = c.name, c.code
            lon, lat = f"{lon_:.{DECIMALS}f}", f"{lat_:.{DECIMALS}f}"
            if rnd.chance(0.5):
                adresse = f"{rnd.integer(1, 60)} {rnd.pick(STREETS)}, {c_code} {w.commune(c_code).name}"
        tid = rnd.weighted(theme_ids, [THEME_WEIGHTS.get(t, 1.0) for t in theme_ids])
        chosen = [tid]
        for _ in range(rnd.weighted([0, 1, 2], [45, 40, 15])):
            related = [t for t in theme_ids if axis_of[t] == axis_of[tid]]
            extra = rnd.pick(related if rnd.chance(0.6) else theme_ids)
            if extra not in chosen:
                chosen.append(extra)
        pub_ids = [p for p, _ in publics]
        if tid in THEME_PUBLICS and rnd.chance(0.8):
            pubs = [rnd.pick(THEME_PUBLICS[tid])]
        else:
            pubs = [rnd.weighted(pub_ids, [PUBLIC_WEIGHTS.get(p, 1) for p in pub_ids])]
        if rnd.chance(0.45):
            extra = rnd.pick(pub_ids)
            if extra not in pubs:
                pubs.append(extra)
        start = rnd.weighted(list(ACTION_YEARS), year_weights)
        end_kind = rnd.weighted(["same", "+1", "+2", "open"], [50, 22, 10, 18])
        end = {"same": str(start), "+1": str(start + 1), "+2": str(start + 2), "open": ""}[end_kind]
        commune_obj = w.commune(c_code)
        porteur = rnd.weighted(
            [rnd.pick(porteur_pool), f"CCAS de {commune_obj.name}", f"Ville de {commune_obj.name}",
             f"Centre social – {target_q.name}" if target_q is not None else rnd.pick(porteur_pool)],
            [60, 15, 15, 10])
        scheme = ""
        x = rnd.random()
        if target_q is not None and target_q.code in asv_of_qpv and x < 0.75:
            scheme = asv_of_qpv[target_q.code]
        elif c_code in asv_of_commune and x < 0.6:
            scheme = asv_of_commune[c_code]
        elif "clsm" in chosen or tid in ("sante_mentale", "sism", "reseaux_sante_mentale"):
            scheme = clsm_of_commune.get(c_code, "")
        elif tid in ("maisons_sante", "lien_ville_hopital", "reseaux_sante", "parcours_soins") and x < 0.8:
            scheme = cpts_of_commune.get(c_code, "")
        if not scheme and x < 0.5:
            scheme = cls_of_commune.get(c_code, "")
        funders = [f for f in FUNDERS if rnd.chance(0.3)] or [FUNDERS[0]]
        if rnd.chance(0.4):
            funders.append(f"Ville de {commune_obj.name}")
        title = f"{rnd.pick(TITLES[tid])} – {lieu}"
        pub_txt = _lower_first(public_label[pubs[0]])
        description = (f"Action fictive de démonstration : {_lower_first(theme_label[tid])} à destination du public "
                       f"« {pub_txt} », {lieu}.")
        rows.append([f"ACT-{n:04d}", title, description, str(start), end, porteur,
                     "|".join(fmt_item(t, theme_label[t]) for t in chosen),
                     "|".join(fmt_item(p, public_label[p]) for p in pubs),
                     qpv, commune, lon, lat, adresse, scheme, ", ".join(funders)])
    return rows


def _files_local(w: World, rnd: _Rand) -> dict[str, bytes]:
    schemes, cpts = _schemes(w, rnd)
    out = {FILES["schemes"]: _quoted_csv([SCHEME_COLUMNS] + [[s[k] for k in SCHEME_COLUMNS] for s in schemes]),
           FILES["cpts"]: _geojson("cpts_utopie", CRS84, cpts, one_per_line=True),
           FILES["actions"]: _quoted_csv(_actions(w, rnd, schemes, cpts))}
    return out


README = """# Jeu de démonstration : données entièrement fictives

Ce dossier contient le jeu de démonstration d'Atlas ASV. **Toutes les données sont
fictives** : la « {region} » (code {reg}), ses départements ({deps}), ses communes,
ses EPCI, ses quartiers prioritaires, ses indicateurs, ses dispositifs (ASV, CLS, CLSM,
CPTS) et ses actions ont été inventés. Aucun nom, aucun code et aucune valeur ne
décrit un territoire réel ; les formes sont placées en plein océan Atlantique
(longitudes {lon0} à {lon1}, latitudes {lat0} à {lat1}) pour qu'on ne puisse pas les confondre
avec la France.

Les fichiers reprennent les **formats officiels** (mise en page ANCT, IGN Admin Express,
INSEE COG et Filosofi, ONPV / sig.ville, DREES, ARS) et les modèles d'import d'Atlas ASV,
afin que la démonstration passe par les mêmes chargeurs que les vraies données.

Les valeurs de référence « France métropolitaine » (fichiers `*_METROPOLE.csv`) sont
elles aussi inventées.

Particularités volontairement reproduites, comme dans les fichiers réels : cellules
vides (secret statistique), un QPV à cheval sur deux communes, un QPV 2024 issu de la
fusion de deux QPV 2015, des QPV 2015 sortis de la géographie prioritaire, des libellés
2015 qui diffèrent un peu des libellés 2024 (accents, apostrophes), des colonnes qui
changent d'un millésime à l'autre, et des thématiques ou publics d'actions donnés tantôt
par identifiant, tantôt par libellé.

Ils sont produits par `python -m etl demo` (module `etl/demo.py`) de façon déterministe :
les régénérer donne des fichiers identiques à l'octet près. Ne les modifiez pas à la
main ; modifiez le générateur puis régénérez-les.

| Fichier | Contenu (fictif) | Format imité |
|---|---|---|
| `{qpv2024}` | {n24} QPV 2024 | contours ANCT 2024, GeoJSON CRS84 |
| `{qpv2015}` | {n15} QPV 2015 | contours 2015 (`CODE_QP`, `NOM_QP`, `COMMUNE_QP`), GeoJSON EPSG:4326 |
| `{corr}` | correspondance 2024 ↔ 2015 | liste ANCT (`;`) |
| `{communes}` | {nc} communes | IGN Admin Express COG CARTO, couche COMMUNE |
| `{epci}`, `{deps_f}`, `{regs_f}` | EPCI, départements, région | listes INSEE (COG) |
| `REVN_*.csv`, `DEMO_*.csv`, `IPRO_*.csv` | indicateurs des QPV 2015 ({years}) | tableaux ONPV / sig.ville |
| `FILO{fy}_DISP_*.csv`, `FILO{fy}_DISP_PAUVRES_*.csv` | revenus et pauvreté des territoires de référence | INSEE Filosofi |
| `base-cc-*-2019.csv` | emploi, ménages et âges des communes (bases communales du recensement) ; les références EPCI, départements et région en sont des sommes | INSEE, recensement de la population |
| `{apl}` | accessibilité aux médecins généralistes | DREES (APL), un onglet par année |
| `{zoning}` | zonage ZIP / ZAC des QPV | zonage ARS |
| `{cpts}` | {ncpts} CPTS | territoires de CPTS (GeoJSON) |
| `{schemes}` | {nasv} ASV, {ncls} CLS, {nclsm} CLSM | modèle d'import des dispositifs |
| `{actions}` | {nact} actions | modèle d'import des actions |
"""


def _readme(w: World, files: dict[str, bytes]) -> bytes:
    schemes = files[FILES["schemes"]].decode("utf-8").splitlines()[1:]
    kinds = [s.split(";")[1] for s in schemes]
    text = README.format(
        region=REGION_NAME, reg=REGION_CODE, deps=", ".join(d for d, _, _, _ in DEPARTEMENTS),
        lon0=fr_number(DEMO_BBOX[0], 1), lon1=fr_number(DEMO_BBOX[2], 1), lat0=fr_number(DEMO_BBOX[1], 1),
        lat1=fr_number(DEMO_BBOX[3], 1), qpv2024=FILES["qpv2024"], qpv2015=FILES["qpv2015"],
        n24=len(w.qpv24), n15=len(w.qpv15), corr=FILES["correspondence"], communes=FILES["communes"],
        nc=len(w.communes), epci=FILES["epci"], deps_f=FILES["departements"], regs_f=FILES["regions"],
        years=", ".join(map(str, ONPV_YEARS)), fy=FILO_YEAR, apl=FILES["apl"], zoning=FILES["zoning"],
        cpts=FILES["cpts"], ncpts=files[FILES["cpts"]].count(b'"code_cpts"'), schemes=FILES["schemes"],
        nasv=kinds.count("ASV"), ncls=kinds.count("CLS"), nclsm=kinds.count("CLSM"), actions=FILES["actions"],
        nact=N_ACTIONS)
    return text.encode("utf-8")


def build_files(seed: int = SEED) -> dict[str, bytes]:
    """Every demo file, as {file name: bytes}."""
    w = build_world(seed)
    rnd = w.rnd
    files: dict[str, bytes] = {}
    files.update(_files_geography(w))
    files.update(_files_qpv(w))
    files.update(_files_onpv(w, rnd))
    files.update(_files_filosofi(w, rnd))
    files.update(_files_apl(w, rnd))
    files.update(_files_local(w, rnd))
    files.update(census_files(w.communes, _Rand(seed + 1).random))    # own sequence: other files unchanged
    files[FILES["readme"]] = _readme(w, files)
    files[FILES["marker"]] = FICTIONAL_TEXT.encode("utf-8")
    if sorted(files) != EXPECTED_FILES:
        raise RuntimeError(f"demo files differ from EXPECTED_FILES: {sorted(set(files) ^ set(EXPECTED_FILES))}")
    return files


def generate(dest: Path) -> None:
    """Write the fictional demo files into `dest` (created if needed)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in sorted(build_files().items()):
        path = dest / name
        if not path.exists() or path.read_bytes() != data:
            tmp = path.with_name(f".{name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)


def is_complete(dest: Path) -> bool:
    """True when every demo file exists (non-empty) in `dest`."""
    dest = Path(dest)
    return all((dest / n).is_file() and (dest / n).stat().st_size > 0 for n in EXPECTED_FILES)
