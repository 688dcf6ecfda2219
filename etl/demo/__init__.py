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
- INSEE Filosofi DISP and DISP_PAUVRES files (commune, EPCI, département, région, France), and
  Filosofi on the QPV (2018+ layout, year described in the column names, "Ensemble" row) whose
  figures REVN_2022 republishes;
- DREES APL to GPs (xlsx, one sheet per year, 8 header rows);
- ARS QPV zoning for GPs (JSON), CPTS territories (GeoJSON);
- schemes (ASV, CLS, CLSM) and actions in the Atlas import templates, with the territory where
  each registry is complete (`*.territoire.txt`: the schemes registry covers départements 96
  and 99 only).

Everything is derived from one seeded `random.Random` (only its `random()` method, whose
sequence Python guarantees across versions) and fixed formatting: regenerating gives
byte-identical files (tests/test_demo.py checks it against the committed data/demo).

The place lies in the Atlas Ocean off the Bay of Biscay (DEMO_BBOX), where no land is, so
that it cannot be mistaken for a real territory. Importers that check "inside France"
must also accept DEMO_BBOX when the DB is fictional (meta 'fictional' = 'true').
"""
from __future__ import annotations

from pathlib import Path

# The package's parts, in the order files are built: plan (names, vintages, layouts), world
# (the fictional geography), formats, then the writers of each family of files. The names the
# tests and the benchmark's synthetic France use are re-exported here.
from .census import census_files
from .formats import CRS84, EPSG4326, _csv, _geojson, _ncc, _quoted_csv, fr_number  # noqa: F401
from .geo_files import _files_geography, _files_qpv
from .qpv_filosofi import filosofi_qpv_file
from .local_files import (FUNDERS, PORTEURS, PUBLIC_WEIGHTS, THEME_WEIGHTS, TITLES,  # noqa: F401
                          _files_local, _taxonomy)
from .plan import (ACTION_COLUMNS, ACTION_YEARS, APL_YEARS, COG_YEAR, CRLF, DEMO_BBOX,  # noqa: F401
                   DEPARTEMENTS, ENSEMBLE_YEARS, EXPECTED_FILES, FICTIONAL_TEXT, FILES, FILO_DISP_COLUMNS,
                   FILO_LEVELS, FILO_PAUVRES_COLUMNS, FILO_SMALL_HOUSEHOLDS, FILO_YEAR, FIXED_TIME, N_ACTIONS,
                   ONPV_YEARS, REGION_CODE, REGION_NAME, SCHEME_COLUMNS, SEED)
from .stats_files import _files_apl, _files_filosofi, _files_onpv, _filo_format, _filo_profile  # noqa: F401
from .world import Commune, Qpv, World, _fold, _Rand, build_world, is_visibly_fictional  # noqa: F401


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

Ils sont produits par `python -m etl demo` (paquet `etl/demo/`) de façon déterministe :
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
| `{filoqpv}` | revenus et pauvreté des QPV 2015 et de l'ensemble des QPV, année décrite dans les noms de colonnes ; `REVN_2022.csv` en reprend les chiffres | INSEE Filosofi sur les QPV |
| `base-cc-*-2019.csv` | emploi, ménages et âges des communes (bases communales du recensement) ; les références EPCI, départements et région en sont des sommes | INSEE, recensement de la population |
| `{apl}` | accessibilité aux médecins généralistes | DREES (APL), un onglet par année |
| `{zoning}` | zonage ZIP / ZAC des QPV | zonage ARS |
| `{cpts}` | {ncpts} CPTS | territoires de CPTS (GeoJSON) |
| `{schemes}` | {nasv} ASV, {ncls} CLS, {nclsm} CLSM | modèle d'import des dispositifs |
| `{schemes_cover}`, `{actions_cover}` | territoire où chaque registre est complet : départements 96 et 99 pour les dispositifs (le 98 reste « registre non chargé »), toute la région pour les actions | un territoire par ligne (`niveau:code`) |
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
        filoqpv=FILES["filosofi_qpv"], schemes_cover=FILES["schemes_cover"], actions_cover=FILES["actions_cover"],
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
    files.update(filosofi_qpv_file(files["REVN_2022.csv"], seed + 2))   # own sequence: other files unchanged
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
