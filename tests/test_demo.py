"""The fictional demo dataset (etl/demo/, data/demo): determinism, formats, plausibility."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import shapely
from shapely.geometry import Point, box

from etl import demo
from etl.build import LOADER_ORDER
from etl.geo import read_vector
from etl.readers import parse_fr_number, read_table

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / "data" / "demo"
MAPPINGS = tomllib.loads((REPO / "etl" / "mappings.toml").read_text(encoding="utf-8"))
TAXONOMY = tomllib.loads((REPO / "etl" / "taxonomy.toml").read_text(encoding="utf-8"))
# Westernmost point of metropolitan France (Ouessant) is at about -5.14°; the importer's France box starts at -5.5°.
FRANCE_WEST_LON = -5.5


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demo_a")
    demo.generate(d)
    return d


def _num(s):
    return parse_fr_number(s)[0]


def _records(path: Path) -> list[dict]:
    return [rec for _, rec in read_table(path).records()]


# --- determinism -----------------------------------------------------------------------------
def test_two_generations_are_byte_identical(gen, tmp_path):
    other = tmp_path / "demo_b"
    demo.generate(other)
    names = sorted(p.name for p in gen.iterdir())
    assert names == sorted(p.name for p in other.iterdir()) == demo.EXPECTED_FILES
    for name in names:
        assert (gen / name).read_bytes() == (other / name).read_bytes(), name


def test_committed_demo_matches_a_fresh_generation(gen):
    assert DEMO_DIR.is_dir(), "data/demo absent : lancez `python -m etl demo`"
    committed = sorted(p.name for p in DEMO_DIR.iterdir() if not p.name.startswith("."))
    assert committed == demo.EXPECTED_FILES
    stale = [n for n in committed if (DEMO_DIR / n).read_bytes() != (gen / n).read_bytes()]
    assert not stale, f"data/demo is stale, regenerate it with `python -m etl demo`: {stale}"


def test_is_complete(gen, tmp_path):
    assert demo.is_complete(gen)
    assert not demo.is_complete(tmp_path / "nothing")
    partial = tmp_path / "partial"
    demo.generate(partial)
    (partial / "actions.csv").unlink()
    assert not demo.is_complete(partial)


def test_generate_leaves_unchanged_files_untouched(gen, tmp_path):
    d = tmp_path / "again"
    demo.generate(d)
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    demo.generate(d)
    assert {p.name: p.stat().st_mtime_ns for p in d.iterdir()} == before


def test_demo_folder_is_small(gen):
    assert sum(p.stat().st_size for p in gen.iterdir()) < 2_000_000


# --- territories and geometry ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def communes(gen):
    return read_vector(gen / demo.FILES["communes"])


@pytest.fixture(scope="module")
def qpv24(gen):
    return read_vector(gen / demo.FILES["qpv2024"])


@pytest.fixture(scope="module")
def qpv15(gen):
    return read_vector(gen / demo.FILES["qpv2015"])


def test_territory_counts_and_codes(gen, communes):
    assert 35 <= len(communes) <= 45
    assert communes["INSEE_COM"].is_unique
    assert set(communes["INSEE_DEP"]) == {"96", "98", "99"}
    assert set(communes["INSEE_REG"]) == {"99"}
    assert all(c[:2] == d for c, d in zip(communes["INSEE_COM"], communes["INSEE_DEP"]))
    epci = _records(gen / "epci.csv")
    assert 3 <= len(epci) <= 8
    assert all(re.fullmatch(r"2999\d{5}", e["CODE_SIREN"]) for e in epci)
    assert set(communes["SIREN_EPCI"]) == {e["CODE_SIREN"] for e in epci}
    deps = _records(gen / demo.FILES["departements"])
    assert [(d["DEP"], d["REG"]) for d in deps] == [("96", "99"), ("98", "99"), ("99", "99")]
    assert all(d["CHEFLIEU"] in set(communes["INSEE_COM"]) for d in deps)
    regs = _records(gen / demo.FILES["regions"])
    assert [(r["REG"], r["LIBELLE"]) for r in regs] == [("99", demo.REGION_NAME)]
    assert (communes["POPULATION"] > 0).all()


def test_communes_form_an_adjacent_coverage_without_overlaps(communes):
    geoms = np.array(list(communes.geometry), dtype=object)
    assert all(g.is_valid and g.geom_type == "MultiPolygon" for g in geoms)
    assert shapely.coverage_is_valid(geoms)
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert sum(g.area for g in geoms) == pytest.approx(union.area, rel=1e-7)
    for i, g in enumerate(geoms):
        shared = [g.boundary.intersection(h.boundary).length for j, h in enumerate(geoms) if j != i]
        assert max(shared) > 0.001, communes["NOM"].iloc[i]
    for dep in ("96", "98", "99"):
        assert shapely.union_all(list(communes[communes["INSEE_DEP"] == dep].geometry)).geom_type == "Polygon"


def test_everything_lies_in_demo_bbox_far_from_france(gen, communes, qpv24, qpv15):
    bbox = box(*demo.DEMO_BBOX)
    assert demo.DEMO_BBOX[2] < FRANCE_WEST_LON
    for gdf in (communes, qpv24, qpv15, read_vector(gen / demo.FILES["cpts"])):
        assert all(bbox.contains(g) for g in gdf.geometry)


def test_qpv_2024_layout_and_codes(gen, communes, qpv24):
    raw = json.loads((gen / demo.FILES["qpv2024"]).read_text(encoding="utf-8"))
    assert raw["crs"]["properties"]["name"] == "urn:ogc:def:crs:OGC:1.3:CRS84"
    props = raw["features"][0]["properties"]
    assert list(props) == ["fid", "code_qp", "lib_qp", "insee_reg", "lib_reg", "insee_dep", "lib_dep",
                           "insee_com", "lib_com", "siren_epci"]
    coords = re.findall(r"-?\d+\.(\d+)", json.dumps([f["geometry"] for f in raw["features"]]))
    assert max(len(c) for c in coords) <= 5
    assert 20 <= len(qpv24) <= 30 and qpv24["code_qp"].is_unique
    assert all(re.fullmatch(r"QN0(96|98|99)\d{2}[MIN]", c) for c in qpv24["code_qp"])
    assert all(c[3:5] == d for c, d in zip(qpv24["code_qp"], qpv24["insee_dep"]))
    straddling = qpv24[qpv24["insee_com"].str.contains(", ")]
    assert len(straddling) == 1
    row = straddling.iloc[0]
    names = dict(zip(communes["INSEE_COM"], communes["NOM"]))
    codes = row["insee_com"].split(", ")
    assert row["lib_com"] == ", ".join(names[c] for c in codes)
    geoms = dict(zip(communes["INSEE_COM"], communes.geometry))
    for c in codes:  # a real share of the QPV lies in each commune
        assert row.geometry.intersection(geoms[c]).area > 0.2 * row.geometry.area


def test_every_qpv_inside_its_communes_and_disjoint(communes, qpv24, qpv15):
    geoms = dict(zip(communes["INSEE_COM"], communes.geometry))
    by_name = dict(zip(communes["NOM"], communes["INSEE_COM"]))
    for code, coms, g in zip(qpv24["code_qp"], qpv24["insee_com"], qpv24.geometry):
        assert g.is_valid
        assert shapely.union_all([geoms[c] for c in coms.split(", ")]).contains(g), code
    for code, coms, g in zip(qpv15["CODE_QP"], qpv15["COMMUNE_QP"], qpv15.geometry):
        assert g.is_valid
        assert shapely.union_all([geoms[by_name[n]] for n in coms.split(", ")]).contains(g), code
    for gdf in (qpv24, qpv15):
        gs = list(gdf.geometry)
        assert all(not a.intersects(b) for i, a in enumerate(gs) for b in gs[i + 1:])


def test_correspondence_and_2015_contours(gen, qpv24, qpv15):
    table = read_table(gen / demo.FILES["correspondence"])
    assert table.delimiter == ";"
    assert table.header == ["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1", "QP2015_2",
                            "Label_QP2015_2", "QP2015_3", "Label_QP2015_3"]
    rows = _records(gen / demo.FILES["correspondence"])
    assert sorted(r["QP2024"] for r in rows) == sorted(qpv24["code_qp"])
    statuts = [r["Statut"] for r in rows]
    assert {"INCHANGE", "MODIFIE", "NOUVEAU"} == set(statuts)
    for r in rows:
        assert {"INCHANGE": "I", "MODIFIE": "M", "NOUVEAU": "N"}[r["Statut"]] == r["QP2024"][-1]
        assert (r["QP2015_1"] == "") == (r["Statut"] == "NOUVEAU")
    assert sum(bool(r["QP2015_2"]) for r in rows) == 1
    assert all(re.fullmatch(r"QP0(96|98|99)\d{3}", c) for c in qpv15["CODE_QP"])
    raw = json.loads((gen / demo.FILES["qpv2015"]).read_text(encoding="utf-8"))
    assert raw["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::4326"
    assert list(raw["features"][0]["properties"]) == ["CODE_QP", "NOM_QP", "COMMUNE_QP"]
    g15 = dict(zip(qpv15["CODE_QP"], qpv15.geometry))
    g24 = dict(zip(qpv24["code_qp"], qpv24.geometry))
    predecessors = {c for r in rows for c in (r["QP2015_1"], r["QP2015_2"], r["QP2015_3"]) if c}
    assert predecessors < set(g15)  # plus 2015 QPVs that left the geography
    for r in rows:
        if r["Statut"] == "INCHANGE":
            assert g24[r["QP2024"]].equals(g15[r["QP2015_1"]])
        elif r["Statut"] == "MODIFIE":
            assert not g24[r["QP2024"]].equals(g15[r["QP2015_1"]])
            assert g24[r["QP2024"]].intersects(g15[r["QP2015_1"]])


def test_zoning_json(gen, qpv24):
    z = json.loads((gen / demo.FILES["zoning"]).read_text(encoding="utf-8"))
    assert set(z) == {"millesime", "source", "n_qpv", "n_zip", "n_zac", "communes"}
    ids = {q["id"]: q["z"] for c in z["communes"].values() for q in c["qpv"]}
    assert set(ids) == set(qpv24["code_qp"]) and z["n_qpv"] == len(ids)
    assert z["n_zip"] == sum(v == "ZIP" for v in ids.values()) > 0
    assert z["n_zac"] == sum(v == "ZAC" for v in ids.values()) > 0
    for c in z["communes"].values():
        assert c["zip"] + c["zac"] == len(c["qpv"])


# --- indicator tables ---------------------------------------------------------------------------
def _columns_for(section: str, key: str, family: str, header: list[str], yy: str = "") -> dict[str, bool]:
    """indicator -> whether one of its mapping entries is fully satisfied by `header`."""
    ok: dict[str, bool] = {}
    for e in MAPPINGS[section]:
        if e.get(key) != family:
            continue
        cols = [e["value"]] if "value" in e else e["numerator"] + e["denominator"]
        cols = [c.replace("{yy}", yy) for c in cols]
        ok[e["indicator"]] = ok.get(e["indicator"], False) or all(c in header for c in cols)
    return ok


@pytest.mark.parametrize("family", ["REVN", "DEMO", "IPRO"])
def test_onpv_tables_format(gen, family):
    for year in demo.ONPV_YEARS:
        path = gen / f"{family}_{year}.csv"
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
        first = raw.split(b"\r\n", 1)[0]
        assert first.endswith(b";;")  # trailing empty columns, like the real files
        table = read_table(path)
        assert table.delimiter == ";" and table.header[:2] == ["CODGEO", "LIBGEO"]
        codes = [r[0] for r in table.rows]
        assert ("Ensemble" in codes) == (year in demo.ENSEMBLE_YEARS)
        assert all(re.fullmatch(r"QP0(96|98|99)\d{3}", c) for c in codes if c != "Ensemble")
        assert any(cell == "" for r in table.rows for cell in r[2:]), "some secret cells expected"
        for r in table.rows:
            for cell in r[2:]:
                if family != "DEMO" or cell and not cell[0].isalpha():  # LIB_COM is text
                    _num(cell)  # every figure parses as a French number
        mapped = _columns_for("onpv", "family", family, table.header)
        missing = {i for i, ok in mapped.items() if not ok}
        expected_missing = {"REVN": {"part_c2s"} if year <= 2019 else {"beneficiaires_cmuc"}}.get(family, set())
        assert missing == expected_missing, (year, missing)
    revn = {y: read_table(gen / f"REVN_{y}.csv").header for y in demo.ONPV_YEARS}
    assert "CCMUC" in revn[2017] and "CCMUC" in revn[2019] and "CCMUC" not in revn[2021]
    assert "CC2S" in revn[2021] and {"C_C2SNP", "C_C2SP"} <= set(revn[2022])
    ipro = {y: read_table(gen / f"IPRO_{y}.csv").header for y in demo.ONPV_YEARS}
    assert "TX_TOT_EPREC" in ipro[2019] and "TX_TOT_EDLIM" in ipro[2021]
    assert "\u202f".encode() in (gen / "REVN_2022.csv").read_bytes()  # "11 240"


def test_filosofi_files(gen, communes):
    codes = set(communes["INSEE_COM"])
    for kind, col in (("DISP", "Q219"), ("DISP_PAUVRES", "TP6019")):
        for level in demo.FILO_LEVELS:
            path = gen / f"FILO2019_{kind}_{level}.csv"
            assert path.read_bytes().startswith(b"\xef\xbb\xbf")
            t = read_table(path)
            assert t.header[:4] == ["CODGEO", "LIBGEO", "NBMEN19", "NBPERS19"] and col in t.header
            ok = _columns_for("filosofi", "file", kind, t.header, "19")
            assert ok and all(ok.values()), (kind, ok)
        com = _records(gen / f"FILO2019_{kind}_COM.csv")
        assert {r["CODGEO"] for r in com} == codes
    pauvres = _records(gen / "FILO2019_DISP_PAUVRES_COM.csv")
    assert any(r["TP6019"] == "" for r in pauvres)  # small communes: secret


def test_realistic_spreads_between_qpvs_and_communes(gen):
    qpv = [r for r in _records(gen / "REVN_2019.csv") if r["CODGEO"] != "Ensemble"]
    tp_q = [_num(r["TP60"]) for r in qpv if r["TP60"]]
    q2_q = [_num(r["DISP_Q2"]) for r in qpv if r["DISP_Q2"]]
    com = _records(gen / "FILO2019_DISP_COM.csv")
    tp_c = [_num(r["TP6019"]) for r in _records(gen / "FILO2019_DISP_PAUVRES_COM.csv") if r["TP6019"]]
    q2_c = [_num(r["Q219"]) for r in com]
    assert 28 <= min(tp_q) and max(tp_q) <= 62 and max(tp_q) - min(tp_q) > 10
    assert 8 <= min(tp_c) and max(tp_c) <= 27
    assert 10_500 <= min(q2_q) and max(q2_q) <= 16_000
    assert 17_500 <= min(q2_c) and max(q2_c) <= 25_000
    empl = [_num(r["TX_TOT_EMPL"]) for r in _records(gen / "IPRO_2022.csv") if r["TX_TOT_EMPL"]]
    assert 35 <= min(empl) and max(empl) <= 62
    demo22 = _records(gen / "DEMO_2022.csv")
    mono = [_num(r["AM"]) / _num(r["A"]) * 100 for r in demo22 if r["AM"] and r["A"]]
    assert 15 <= min(mono) and max(mono) <= 40
    c2s = [(_num(r["C_C2SNP"]) + _num(r["C_C2SP"])) / _num(r["C"]) * 100
           for r in _records(gen / "REVN_2022.csv") if r["C_C2SNP"] and r["C_C2SP"] and r["C"]]
    assert 15 <= min(c2s) and max(c2s) <= 50
    # one small QPV has its whole Filosofi block secret
    secret = [r for r in qpv if r["DISP_Q2"] == "" and r["TP60"] == "" and r["PACT"] == ""]
    assert secret and all(r["A"] for r in secret)


def test_apl_workbook(gen, communes):
    """The DREES 2022-2024 layout: one "APL YYYY" sheet per year, 8 title and note rows, the header
    on row 9, a units row, one row per commune, a "Total" row."""
    wb = openpyxl.load_workbook(gen / demo.FILES["apl"], read_only=True)
    assert wb.sheetnames == [f"APL {y}" for y in demo.APL_YEARS]
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        header = rows[8]
        assert header[:3] == ("Code commune INSEE", "Commune", "APL aux médecins généralistes")
        assert "APL aux médecins généralistes de 65 ans ou moins" in header
        units, data, total = rows[9], rows[10:-1], rows[-1]
        assert units[0] is None and "habitant" in units[3]
        assert total[0] == "Total"
        assert sorted(r[0] for r in data) == sorted(communes["INSEE_COM"])
        col = header.index("APL aux médecins généralistes de 65 ans ou moins")
        assert all(0.5 < r[col] < 6 for r in data)
    assert wb.properties.created == demo.FIXED_TIME


# --- schemes, CPTS and actions -----------------------------------------------------------------------
def _theme_and_public_keys():
    themes = {}
    for axis in TAXONOMY["theme"]:
        themes[axis["id"]] = axis["label"]
        themes.update(dict(axis.get("children", [])))
    publics = dict(TAXONOMY["publics"]["items"])
    keys = lambda d: set(d) | {demo._fold(v) for v in d.values()}  # noqa: E731
    return keys(themes), keys(publics)


def test_schemes_and_cpts(gen, communes, qpv24):
    t = read_table(gen / demo.FILES["schemes"])
    assert t.header == demo.SCHEME_COLUMNS and t.delimiter == ";"
    rows = _records(gen / demo.FILES["schemes"])
    kinds = [r["type"] for r in rows]
    assert kinds.count("ASV") == 6 and kinds.count("CLS") >= 2 and kinds.count("CLSM") >= 2
    commune_codes = set(communes["INSEE_COM"])
    qpv_communes = dict(zip(qpv24["code_qp"], qpv24["insee_com"]))
    for r in rows:
        coms = re.split(r"[|,]", r["communes"])
        assert set(coms) <= commune_codes
        if r["type"] == "ASV":
            qpvs = re.split(r"[|,]", r["qpv"])
            assert 1 <= len(qpvs) <= 4 and len(coms) == 1
            assert all(coms[0] in qpv_communes[q].split(", ") for q in qpvs)
    cpts = read_vector(gen / demo.FILES["cpts"])
    assert list(cpts.columns[:-1]) == ["code_cpts", "nom", "porteur", "annee_creation", "statut", "communes"]
    assert len(cpts) >= 3 and cpts["code_cpts"].is_unique
    geoms = dict(zip(communes["INSEE_COM"], communes.geometry))
    seen: set[str] = set()
    for coms, g in zip(cpts["communes"], cpts.geometry):
        codes = coms.split(", ")
        assert set(codes) <= commune_codes and not (set(codes) & seen)
        seen |= set(codes)
        assert g.is_valid and g.symmetric_difference(shapely.union_all([geoms[c] for c in codes])).area < 1e-8


def test_actions(gen, communes, qpv24, qpv15):
    t = read_table(gen / demo.FILES["actions"])
    assert t.header == demo.ACTION_COLUMNS and t.delimiter == ";"
    rows = _records(gen / demo.FILES["actions"])
    assert len(rows) == demo.N_ACTIONS and len({r["id_action"] for r in rows}) == len(rows)
    themes, publics = _theme_and_public_keys()
    codes24, codes15 = set(qpv24["code_qp"]), set(qpv15["CODE_QP"])
    commune_codes = set(communes["INSEE_COM"])
    scheme_ids = {r["id_dispositif"] for r in _records(gen / demo.FILES["schemes"])}
    scheme_ids |= set(read_vector(gen / demo.FILES["cpts"])["code_cpts"])
    region = shapely.union_all(list(communes.geometry))
    methods = {"qpv2024": 0, "qpv2015": 0, "commune": 0, "coords": 0}
    used_themes, used_publics, years = set(), set(), set()
    for r in rows:
        assert r["titre"] and r["porteur"]
        start = int(r["annee_debut"])
        assert 2018 <= start <= 2025 and (r["annee_fin"] == "" or int(r["annee_fin"]) >= start)
        years.add(start)
        for item in r["thematiques"].split("|"):
            assert item in themes or demo._fold(item) in themes, item
            used_themes.add(demo._fold(item))
        for item in r["publics"].split("|"):
            assert item in publics or demo._fold(item) in publics, item
            used_publics.add(demo._fold(item))
        if r["qpv"]:
            assert r["qpv"] in codes24 | codes15
            methods["qpv2024" if r["qpv"] in codes24 else "qpv2015"] += 1
        elif r["commune"]:
            methods["commune"] += 1
        else:
            lon, lat = float(r["longitude"]), float(r["latitude"])
            assert region.contains(Point(lon, lat)) and box(*demo.DEMO_BBOX).contains(Point(lon, lat))
            methods["coords"] += 1
        if r["commune"]:
            assert r["commune"] in commune_codes
        if r["id_dispositif"]:
            assert r["id_dispositif"] in scheme_ids
    assert years == set(range(2018, 2026))
    assert all(n >= 15 for n in methods.values()), methods
    assert len(used_themes) >= 15 and len(used_publics) >= 10
    assert any("|" in r["thematiques"] for r in rows) and any("|" in r["publics"] for r in rows)
    # ids and labels are both used
    assert any(r["thematiques"].split("|")[0] in {a["id"] for a in TAXONOMY["theme"]} for r in rows)
    assert any(" " in r["thematiques"] for r in rows)


# --- names -------------------------------------------------------------------------------------
def test_every_name_is_visibly_fictional(gen, communes, qpv24, qpv15):
    names = list(communes["NOM"]) + list(qpv24["lib_qp"]) + list(qpv15["NOM_QP"])
    names += list(qpv24["lib_dep"]) + list(qpv24["lib_reg"])
    names += [r["NOM"] for r in _records(gen / "epci.csv")]
    names += [r["LIBELLE"] for r in _records(gen / demo.FILES["departements"])]
    names += [r["LIBELLE"] for r in _records(gen / demo.FILES["regions"])]
    for r in _records(gen / demo.FILES["schemes"]):
        names += [r["nom"], r["porteur"]]
    cpts = read_vector(gen / demo.FILES["cpts"])
    names += list(cpts["nom"]) + list(cpts["porteur"])
    for r in _records(gen / demo.FILES["actions"]):
        names += [r["porteur"]] + [f for f in r["financeurs"].split(", ")]
    not_fictional = sorted({n for n in names if not demo.is_visibly_fictional(n)})
    assert not not_fictional


def test_readme_says_fictional(gen):
    text = (gen / "README.md").read_text(encoding="utf-8")
    assert "fictives" in text and demo.REGION_NAME in text


def test_no_real_name_is_reused(real_dir, communes, qpv24, qpv15):
    real_communes = read_vector(real_dir / "reference_geo" / "commune_paca.geojson")
    real_qpv = read_vector(real_dir / "qpv_contours" / "qpv2024_paca_wgs84.geojson")
    real = {demo._fold(n) for n in list(real_communes["NOM"]) + list(real_qpv["lib_qp"])}
    ours = list(communes["NOM"]) + list(qpv24["lib_qp"]) + list(qpv15["NOM_QP"])
    assert not [n for n in ours if demo._fold(n) in real]
    assert not real_communes.geometry.intersects(box(*demo.DEMO_BBOX)).any()


# --- the demo goes through the real loaders ---------------------------------------------------------
def test_demo_builds_through_the_loaders(gen, tmp_path):
    loaders = REPO / "etl" / "loaders"
    missing = [n for n in LOADER_ORDER if not (loaders / f"{n}.py").exists()]
    if missing:
        pytest.skip(f"loaders not written yet: {', '.join(missing)}")
    from etl.build import build
    from etl.db import connect

    db = build(gen, tmp_path / "demo.duckdb", fictional=True, kind="build-demo", progress=lambda *a: None)
    con = connect(db, read_only=True)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        assert meta["fictional"] == "true"
        count = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        assert count("SELECT count(*) FROM territory WHERE level = 'commune'") == 40
        assert count("SELECT count(*) FROM territory WHERE level = 'qpv' AND generation = '2024'") == 25
        assert count("SELECT count(*) FROM scheme WHERE kind = 'ASV'") == 6
        assert count("SELECT count(*) FROM scheme WHERE kind = 'CPTS'") >= 3
        assert count("SELECT count(*) FROM action") == demo.N_ACTIONS
        assert count("SELECT count(*) FROM indicator_value WHERE level = 'qpv' AND status = 'ok'") > 0
        assert count("SELECT count(*) FROM indicator_value WHERE level = 'qpv' AND status = 'secret'") > 0
        assert count("SELECT count(*) FROM indicator_value WHERE level = 'commune'") > 0
        assert count("SELECT count(*) FROM load_issue WHERE kind = 'rejected'") == 0
    finally:
        con.close()
