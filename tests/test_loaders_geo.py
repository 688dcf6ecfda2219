"""Geography loaders: territories, qpv_contours, correspondence, zoning, cpts.

Fixtures are fictional (région 99, départements 96 and 98, invented names) and written in the
official layouts into tmp_path. The last test reads the real PACA files in place (real_dir).
"""
from __future__ import annotations

import csv
import importlib
import json

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box, mapping

from etl.build import input_files
from etl.errors import InputError
from etl.loaders import correspondence, cpts, qpv_contours, territories, zoning
from etl.loaders._geo_common import QPV2024_RE

ORDER = ["territories", "qpv_contours", "correspondence", "zoning", "cpts"]
X0, Y0, S = 5.0, 43.0, 0.1   # a fictional grid of 0.1° squares, somewhere Lambert-93 covers


def cell(i, j, size=S):
    return box(X0 + i * S, Y0 + j * S, X0 + i * S + size, Y0 + j * S + size)


COMMUNES = [  # code, name, population, dep, reg, epci, cell
    ("96001", "Bourg-Fictif", 12000, "96", "99", "299900001", (0, 0)),
    ("96002", "Val-des-Licornes", 3000, "96", "99", "299900001", (1, 0)),
    ("96003", "Mont-Chimère", 800, "96", "99", "299900002", (0, 1)),
    ("96004", "Pré-aux-Fées", 450, "96", "99", "299900002", (1, 1)),
    ("98001", "Port-Imaginaire", 9000, "98", "99", "299900003", (2, 0)),
    ("98002", "Lande-Songeuse", 1500, "98", "99", "NC", (2, 1)),
]


def write_geojson(path, props, geoms, crs84=True):
    doc = {"type": "FeatureCollection", "name": path.stem,
           "features": [{"type": "Feature", "properties": p, "geometry": None if g is None else mapping(g)}
                        for p, g in zip(props, geoms)]}
    if crs84:
        doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def commune_props(rows=COMMUNES):
    return [{"INSEE_COM": c, "NOM": n, "POPULATION": p, "INSEE_DEP": d, "INSEE_REG": r, "SIREN_EPCI": e}
            for c, n, p, d, r, e, _ in rows]


def write_communes(folder, rows=COMMUNES, name="commune_test.geojson"):
    return write_geojson(folder / name, commune_props(rows), [cell(*r[6]) for r in rows])


def write_csv(path, header, rows, delimiter=",", encoding="utf-8", newline="\n"):
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter, lineterminator=newline)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_reference(folder):
    """Communes, arrondissements, EPCI names and fictional COG lists."""
    write_communes(folder)
    write_geojson(folder / "arrondissement_municipal_test.geojson",
                  [{"INSEE_ARM": "96101", "NOM": "Bourg-Fictif 1er Arrondissement", "INSEE_COM": "96001",
                    "POPULATION": 7000},
                   {"INSEE_ARM": "96102", "NOM": "Bourg-Fictif 2e Arrondissement", "INSEE_COM": "96001",
                    "POPULATION": 5000}],
                  [box(X0, Y0, X0 + S / 2, Y0 + S), box(X0 + S / 2, Y0, X0 + S, Y0 + S)])
    write_csv(folder / "epci_test.csv", ["CODE_SIREN", "NOM"],
              [["299900001", "Communauté d'agglomération du Pays Fictif"],
               ["299900002", "Communauté de communes des Licornes"],
               ["299900003", "Communauté de communes du Port Imaginaire"],
               ["299900009", "Communauté de communes d'ailleurs"]])
    write_csv(folder / "v_departement_2024.csv", ["DEP", "REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"],
              [["96", "99", "96001", "0", "FICTIVIE", "Fictivie", "Fictivie"],
               ["98", "99", "98001", "0", "SONGERIE", "Songerie", "Songerie"]])
    write_csv(folder / "v_region_2024.csv", ["REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"],
              [["99", "96001", "0", "CHIMERIE", "Chimérie", "Chimérie"]])


QPV_PROPS = [
    {"fid": 1, "code_qp": "QN09601M", "lib_qp": "Quartier des Licornes", "insee_reg": "99", "lib_reg": "Chimérie",
     "insee_dep": "96", "lib_dep": "Fictivie", "insee_com": "96001, 96002", "lib_com": "Bourg-Fictif, Val-des-Licornes",
     "siren_epci": "299900001"},
    {"fid": 2, "code_qp": "QN09602N", "lib_qp": "Cité des Farfadets", "insee_reg": "99", "lib_reg": "Chimérie",
     "insee_dep": "96", "lib_dep": "Fictivie", "insee_com": "96003", "lib_com": "Mont-Chimère",
     "siren_epci": "299900002"},
    {"fid": 3, "code_qp": "QN09801I", "lib_qp": "Les Hauts-Rêveurs", "insee_reg": "99", "lib_reg": "Chimérie",
     "insee_dep": "98", "lib_dep": "Songerie", "insee_com": "98001", "lib_com": "Port-Imaginaire",
     "siren_epci": "299900003"},
]
QPV_GEOMS = [box(X0 + 0.08, Y0 + 0.02, X0 + 0.12, Y0 + 0.05),   # straddles 96001 / 96002
             box(X0 + 0.02, Y0 + 0.12, X0 + 0.05, Y0 + 0.15),
             box(X0 + 0.22, Y0 + 0.02, X0 + 0.25, Y0 + 0.04)]


def write_qpv2024(folder, props=QPV_PROPS, geoms=QPV_GEOMS, name="qp2024_test.geojson"):
    return write_geojson(folder / name, props, geoms)


def run(ctx, folder, names=ORDER):
    """Claim and load the files of `folder` the way etl.build does, for the given loaders."""
    files = input_files(folder)
    claimed = {}
    for name in names:
        mod = importlib.import_module(f"etl.loaders.{name}")
        mine = [p for p in files if p not in claimed and mod.detect(p)]
        claimed.update({p: name for p in mine})
        if mine:
            mod.load(ctx, mine)
    return {p.name: n for p, n in claimed.items()}


def q(ctx, sql, *params):
    return ctx.con.execute(sql, list(params)).fetchall()


def issues(ctx, kind, file=None):
    return [i for i in ctx.log.issues if i.kind == kind and (file is None or i.file == file)]


def assert_names(exc: InputError, file: str, where: str, field: str | None):
    msg = str(exc)
    assert f"fichier {file}" in msg
    assert where in msg
    if field:
        assert f"champ « {field} »" in msg


# ------------------------------------------------------------------------------- territories
def test_territories_levels_names_parents_and_dissolve(ctx, tmp_path):
    write_reference(tmp_path)
    claimed = run(ctx, tmp_path, ["territories"])
    assert set(claimed.values()) == {"territories"} and len(claimed) == 5
    counts = dict(q(ctx, "SELECT level, count(*) FROM territory GROUP BY level"))
    assert counts == {"commune": 6, "arrondissement": 2, "epci": 3, "departement": 2, "region": 1}
    assert "france" not in counts
    # Names from the COG lists of the input folder; EPCI from the CSV.
    names = dict(q(ctx, "SELECT code, name FROM territory WHERE level IN ('departement', 'region', 'epci')"))
    assert names["96"] == "Fictivie" and names["98"] == "Songerie" and names["99"] == "Chimérie"
    assert names["299900002"] == "Communauté de communes des Licornes"
    # Populations summed; parents filled.
    pop = dict(q(ctx, "SELECT level || ':' || code, population FROM territory"))
    assert pop["departement:96"] == 12000 + 3000 + 800 + 450
    assert pop["region:99"] == sum(c[2] for c in COMMUNES)
    assert pop["epci:299900001"] == 15000
    arm = q(ctx, "SELECT commune, departement, region, epci FROM territory WHERE level = 'arrondissement' "
                 "AND code = '96101'")
    assert arm == [("96001", "96", "99", "299900001")]
    assert q(ctx, "SELECT epci FROM territory WHERE code = '98002'") == [(None,)]   # 'NC' = no EPCI
    assert q(ctx, "SELECT departement, region FROM territory WHERE level = 'epci' AND code = '299900003'") \
        == [("98", "99")]
    # Dissolved shapes: the union of their communes, valid display geometries.
    area = dict(q(ctx, "SELECT level || ':' || code, ST_Area(geom) FROM territory"))
    assert area["departement:96"] == pytest.approx(4 * S * S, rel=1e-6)
    assert area["region:99"] == pytest.approx(6 * S * S, rel=1e-6)
    assert q(ctx, "SELECT count(*) FROM territory WHERE geom_display IS NULL OR NOT ST_IsValid(geom_display)") \
        == [(0,)]
    # The unused EPCI name is one out-of-scope summary; sources registered with their publisher.
    oos = issues(ctx, "out_of_scope")
    assert len(oos) == 1 and "299900009" in oos[0].value and oos[0].file == "epci_test.csv"
    pubs = dict(q(ctx, "SELECT source_id, publisher FROM source"))
    assert pubs["ign_admin_express_cog_carto_communes"] == "IGN"
    assert pubs["insee_cog_departements"] == "INSEE"
    assert all(lic == "Licence Ouverte / Etalab 2.0" for (lic,) in q(ctx, "SELECT licence FROM source"))


def test_territory_names_fall_back_to_code_and_bundled_cog(ctx, tmp_path):
    # A real département taken from the bundled list (not hard-coded), plus a fictional one.
    with open(territories.BUNDLED_DEP, encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    with open(territories.BUNDLED_REG, encoding="utf-8") as f:
        reg_name = {r["REG"]: r["LIBELLE"] for r in csv.DictReader(f)}[first["REG"]]
    dep = first["DEP"]
    rows = [(dep + "001", "Bourg-Fictif", 100, dep, first["REG"], "299900001", (0, 0)),
            ("96001", "Val-des-Licornes", 50, "96", "99", "299900002", (1, 0))]
    write_communes(tmp_path, rows)
    run(ctx, tmp_path, ["territories"])
    names = dict(q(ctx, "SELECT level || ':' || code, name FROM territory"))
    assert names[f"departement:{dep}"] == first["LIBELLE"]
    assert names[f"region:{first['REG']}"] == reg_name
    assert names["departement:96"] == "Département 96"
    assert names["region:99"] == "Région 99"
    assert names["epci:299900001"] == "EPCI 299900001"   # no EPCI list given
    assert len([i for i in issues(ctx, "warning") if i.field == "SIREN_EPCI"]) == 2
    assert q(ctx, "SELECT count(*) FROM source WHERE source_id = 'insee_cog_departements_embarque'") == [(1,)]


def test_bundled_cog_lists_are_complete():
    with open(territories.BUNDLED_DEP, encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["DEP", "REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"]
        deps = list(reader)
    with open(territories.BUNDLED_REG, encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["REG", "CHEFLIEU", "TNCC", "NCC", "NCCENR", "LIBELLE"]
        regs = list(reader)
    assert len(deps) == 101 and len({d["DEP"] for d in deps}) == 101
    assert len(regs) == 18 and len({r["REG"] for r in regs}) == 18
    assert {d["REG"] for d in deps} == {r["REG"] for r in regs}
    assert all(d["CHEFLIEU"].startswith(d["DEP"]) for d in deps)
    assert all(d["LIBELLE"] and d["NCC"] == d["NCC"].upper() for d in deps)


def test_lambert93_geopackage_layers_are_reprojected_lon_lat(ctx, tmp_path):
    gdf = gpd.GeoDataFrame(commune_props(), geometry=[cell(*r[6]) for r in COMMUNES], crs="EPSG:4326")
    path = tmp_path / "admin_express_test.gpkg"
    gdf.to_crs("EPSG:2154").to_file(path, layer="commune", driver="GPKG")
    deps = gpd.GeoDataFrame({"INSEE_DEP": ["96"], "NOM": ["Fictivie-des-Couches"], "INSEE_REG": ["99"]},
                            geometry=[box(X0, Y0, X0 + 2 * S, Y0 + 2 * S)], crs="EPSG:4326")
    deps.to_crs("EPSG:2154").to_file(path, layer="departement", driver="GPKG")
    assert territories.detect(path)
    run(ctx, tmp_path, ["territories"])
    x, y = q(ctx, "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM territory "
                  "WHERE level = 'commune' AND code = '96001'")[0]
    assert x == pytest.approx(X0 + S / 2, abs=1e-5) and y == pytest.approx(Y0 + S / 2, abs=1e-5)
    names = dict(q(ctx, "SELECT code, name FROM territory WHERE level = 'departement'"))
    assert names == {"96": "Fictivie-des-Couches", "98": "Département 98"}   # layer name wins


@pytest.mark.filterwarnings("ignore:Could not parse column")
@pytest.mark.parametrize("case, where, field", [
    ("duplicate", "entité 2", "INSEE_COM"),
    ("bad_code", "entité 1", "INSEE_COM"),
    ("bad_dep", "entité 1", "INSEE_DEP"),
    ("missing_column", "entité 1", "POPULATION"),
    ("bad_population", "entité 1", "POPULATION"),
    ("null_geometry", "entité 3", "geometry"),
])
def test_commune_layer_errors_name_file_feature_and_field(ctx, tmp_path, case, where, field):
    props = commune_props()
    geoms = [cell(*r[6]) for r in COMMUNES]
    if case == "duplicate":
        props[1]["INSEE_COM"] = props[0]["INSEE_COM"]
    elif case == "bad_code":
        props[0]["INSEE_COM"] = "9601"
    elif case == "bad_dep":
        props[0]["INSEE_DEP"] = "9"
    elif case == "missing_column":
        for p in props:
            del p["POPULATION"]
    elif case == "bad_population":
        props[0]["POPULATION"] = "beaucoup"
    elif case == "null_geometry":
        geoms[2] = None
    write_geojson(tmp_path / "commune_bad.geojson", props, geoms)
    with pytest.raises(InputError) as exc:
        run(ctx, tmp_path, ["territories"])
    assert_names(exc.value, "commune_bad.geojson", where, field)


def test_epci_csv_in_cp1252_names_line_and_field(ctx, tmp_path):
    write_communes(tmp_path)
    write_csv(tmp_path / "epci_test.csv", ["CODE_SIREN", "NOM"],
              [["299900001", "Communauté du Pays Fictif"]], encoding="cp1252")
    with pytest.raises(InputError) as exc:
        run(ctx, tmp_path, ["territories"])
    assert_names(exc.value, "epci_test.csv", "ligne 2", "NOM")
    assert "encodage" in str(exc.value)


def test_empty_commune_file_is_reported(ctx, tmp_path):
    (tmp_path / "commune_vide.geojson").write_bytes(b"")
    with pytest.raises(InputError) as exc:
        run(ctx, tmp_path, ["territories"])
    assert "commune_vide.geojson" in str(exc.value) and "vide" in str(exc.value)


# ------------------------------------------------------------------------------- QPV contours
def test_qpv2024_contours_links_parents_and_display(ctx, tmp_path):
    write_reference(tmp_path)
    write_qpv2024(tmp_path)
    claimed = run(ctx, tmp_path, ["territories", "qpv_contours"])
    assert claimed["qp2024_test.geojson"] == "qpv_contours"
    rows = q(ctx, "SELECT code, generation, region, departement, epci, commune, population FROM territory "
                  "WHERE level = 'qpv' ORDER BY code")
    assert rows == [("QN09601M", "2024", "99", "96", "299900001", "96001", None),
                    ("QN09602N", "2024", "99", "96", "299900002", "96003", None),
                    ("QN09801I", "2024", "99", "98", "299900003", "98001", None)]
    assert q(ctx, "SELECT commune_code FROM qpv_commune WHERE qpv_code = 'QN09601M' ORDER BY 1") \
        == [("96001",), ("96002",)]
    assert q(ctx, "SELECT count(*) FROM qpv_commune") == [(4,)]
    assert q(ctx, "SELECT count(*) FROM territory WHERE level = 'qpv' AND (geom_display IS NULL "
                  "OR NOT ST_IsValid(geom_display) OR ST_GeometryType(geom) <> 'MULTIPOLYGON')") == [(0,)]
    assert q(ctx, "SELECT geography, vintage, publisher FROM source WHERE source_id = 'qpv2024_contours'") \
        == [("QPV2024", "2024", "ANCT")]


def test_qpv2015_lambert93_shapefile_links_commune_names(ctx, tmp_path):
    write_reference(tmp_path)
    gdf = gpd.GeoDataFrame(
        {"CODE_QP": ["QP096001", "QP098001"], "NOM_QP": ["Quartier des Licornes", "Hauts Rêveurs"],
         "COMMUNE_QP": ["Bourg-Fictif, Val-des-Licornes", "Port Imaginaire"]},
        geometry=[QPV_GEOMS[0], QPV_GEOMS[2]], crs="EPSG:4326").to_crs("EPSG:2154")
    gdf.to_file(tmp_path / "QP_TEST_LB93.shp")
    claimed = run(ctx, tmp_path, ["territories", "qpv_contours"])
    assert {claimed[f"QP_TEST_LB93.{ext}"] for ext in ("shp", "dbf", "shx", "prj")} == {"qpv_contours"}
    rows = q(ctx, "SELECT code, generation, departement, commune, region FROM territory WHERE level = 'qpv' "
                  "ORDER BY code")
    assert rows == [("QP096001", "2015", "96", "96001", "99"), ("QP098001", "2015", "98", "98001", "99")]
    assert q(ctx, "SELECT count(*) FROM qpv_commune WHERE qpv_code = 'QP096001'") == [(2,)]
    x, y = q(ctx, "SELECT ST_XMin(geom), ST_YMin(geom) FROM territory WHERE code = 'QP096001'")[0]
    assert x == pytest.approx(X0 + 0.08, abs=1e-6) and y == pytest.approx(Y0 + 0.02, abs=1e-6)


def test_qpv_of_unloaded_departement_is_one_out_of_scope_issue(ctx, tmp_path):
    write_communes(tmp_path)
    props = QPV_PROPS + [dict(QPV_PROPS[2], code_qp="QN09901M", insee_dep="99", insee_com="99001")]
    write_qpv2024(tmp_path, props, QPV_GEOMS + [QPV_GEOMS[2]])
    run(ctx, tmp_path, ["territories", "qpv_contours"])
    assert q(ctx, "SELECT count(*) FROM territory WHERE level = 'qpv'") == [(3,)]
    oos = issues(ctx, "out_of_scope")
    assert len(oos) == 1 and "QN09901M" in oos[0].value


def test_qpv_invalid_geometry_is_repaired_and_reported(ctx, tmp_path):
    bowtie = shapely.Polygon([(X0 + 0.02, Y0 + 0.12), (X0 + 0.05, Y0 + 0.15), (X0 + 0.05, Y0 + 0.12),
                              (X0 + 0.02, Y0 + 0.15), (X0 + 0.02, Y0 + 0.12)])
    assert not bowtie.is_valid
    write_communes(tmp_path)
    write_qpv2024(tmp_path, geoms=[QPV_GEOMS[0], bowtie, QPV_GEOMS[2]])
    run(ctx, tmp_path, ["territories", "qpv_contours"])
    rep = issues(ctx, "repaired")
    assert len(rep) == 1 and rep[0].file == "qp2024_test.geojson"
    assert rep[0].line == "entité 2 (QN09602N)" and rep[0].field == "geometry"
    assert q(ctx, "SELECT ST_IsValid(geom) FROM territory WHERE code = 'QN09602N'") == [(True,)]


def _qpv_case(tmp_path, case):
    props = [dict(p) for p in QPV_PROPS]
    geoms = list(QPV_GEOMS)
    if case == "unknown_commune":
        props[2]["insee_com"] = "98999"
    elif case == "duplicate":
        props[1]["code_qp"] = props[0]["code_qp"]
    elif case == "bad_code":
        props[1]["code_qp"] = "QN9602N"
    elif case == "null_geometry":
        geoms[2] = None
    elif case == "missing_column":
        for p in props:
            del p["lib_qp"]
    elif case == "bad_commune_code":
        props[0]["insee_com"] = "96001, 9602"
    path = write_qpv2024(tmp_path, props, geoms)
    if case == "cp1252":
        props[1]["lib_qp"] = "Cité des Fées"
        write_qpv2024(tmp_path, props, geoms)
        path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    return path


@pytest.mark.parametrize("case, where, field", [
    ("unknown_commune", "entité 3", "insee_com"),
    ("duplicate", "entité 2", "code_qp"),
    ("bad_code", "entité 2", "code_qp"),
    ("null_geometry", "entité 3", "geometry"),
    ("missing_column", "entité 1", "lib_qp"),
    ("bad_commune_code", "entité 1", "insee_com"),
    ("cp1252", "entité 1", "lib_reg"),   # the first bad byte; see the test below
])
def test_qpv_errors_name_file_feature_and_field(ctx, tmp_path, case, where, field):
    write_communes(tmp_path)
    _qpv_case(tmp_path, case)
    with pytest.raises(InputError) as exc:
        run(ctx, tmp_path, ["territories", "qpv_contours"])
    assert_names(exc.value, "qp2024_test.geojson", where, field)


def test_cp1252_error_points_at_the_bad_feature(ctx, tmp_path):
    """The located encoding error names the feature holding the bad byte."""
    props = [dict(p) for p in QPV_PROPS]
    props[0]["lib_com"] = "Bourg-Fictif"       # ASCII before feature 2
    props[0]["lib_reg"] = props[1]["lib_reg"] = props[2]["lib_reg"] = "Chimerie"
    props[1]["lib_qp"] = "Cité des Fées"
    path = write_qpv2024(tmp_path, props)
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    with pytest.raises(InputError) as exc:
        qpv_contours.load(ctx, [path])
    assert_names(exc.value, "qp2024_test.geojson", "entité 2", "lib_qp")


@pytest.mark.parametrize("content, reason", [
    (b"", "vide"),
    (b'{"type": "FeatureCollection", "features": []}', "aucune entité"),
])
def test_empty_qpv_file_is_reported(ctx, tmp_path, content, reason):
    (tmp_path / "qp2024_vide.geojson").write_bytes(content)
    with pytest.raises(InputError) as exc:
        run(ctx, tmp_path, ["qpv_contours"])
    assert "fichier qp2024_vide.geojson" in str(exc.value) and reason in str(exc.value)


def test_detection_by_content_not_name(tmp_path):
    qpv = write_qpv2024(tmp_path, name="export_sig.geojson")
    com = write_communes(tmp_path, name="couche_a.geojson")
    onpv_like = write_csv(tmp_path / "REVN_2099.csv", ["CODGEO", "LIBGEO", "DISP_Q2"], [["QP096001", "X", "1"]],
                          delimiter=";")
    corr = write_csv(tmp_path / "table.csv", ["QP2024", "Label_QP2024", "Statut", "QP2015_1"],
                     [["QN09601M", "Quartier des Licornes", "MODIFIE", "QP096001"]], delimiter=";")
    zon = tmp_path / "z.json"
    zon.write_text(json.dumps({"n_zip": 0, "n_zac": 0, "communes": {}}), encoding="utf-8")
    assert qpv_contours.detect(qpv) and not territories.detect(qpv)
    assert territories.detect(com) and not qpv_contours.detect(com)
    assert correspondence.detect(corr) and not territories.detect(corr)
    assert zoning.detect(zon) and not qpv_contours.detect(zon)
    for mod in (territories, qpv_contours, correspondence, zoning, cpts):
        assert not mod.detect(onpv_like)


# ------------------------------------------------------------------------------- correspondence
CORR_HEADER = ["QP2024", "Label_QP2024", "Statut", "QP2015_1", "Label_QP2015_1", "QP2015_2", "Label_QP2015_2",
               "QP2015_3", "Label_QP2015_3"]
CORR_ROWS = [
    ["QN09601M", "Quartier des Licornes", "MODIFIE", "QP096001", "Quartier Des Licornes", "QP096002",
     "Les Farfadets", "", ""],
    ["QN09602N", "Cité des Farfadets", "NOUVEAU", "", "", "", "", "", ""],
    ["QN09801I", "Les Hauts-Rêveurs", "MODIFIE", "QP098001", "Hauts Rêveurs", "", "", "", ""],   # quirk
    ["QN09902M", "Ailleurs", "MODIFIE", "QP099002", "Ailleurs", "", "", "", ""],   # not loaded
    ["QN09903I", "Plus loin", "INCHANGE", "QP099003", "Plus loin", "", "", "", ""],   # not loaded
]


@pytest.mark.parametrize("variant", ["official", "lowercase_crlf"])
def test_correspondence_both_layouts(ctx, tmp_path, variant):
    write_communes(tmp_path)
    write_qpv2024(tmp_path)
    if variant == "official":
        write_csv(tmp_path / "liste-correspondance-qp2024-qp2015.csv", CORR_HEADER, CORR_ROWS, delimiter=";")
    else:
        write_csv(tmp_path / "corresp.csv", [h.lower() for h in CORR_HEADER], CORR_ROWS, newline="\r\n")
    run(ctx, tmp_path, ["territories", "qpv_contours", "correspondence"])
    rows = q(ctx, "SELECT qpv2024, statut, rank, qpv2015 FROM qpv_correspondence ORDER BY qpv2024, rank")
    assert rows == [("QN09601M", "modifie", 1, "QP096001"), ("QN09601M", "modifie", 2, "QP096002"),
                    ("QN09602N", "nouveau", None, None), ("QN09801I", "modifie", 1, "QP098001")]
    warn = [w for w in issues(ctx, "warning") if w.file.endswith(".csv")]
    assert [(w.line, w.field.lower()) for w in warn] == [("4", "statut")]
    oos = issues(ctx, "out_of_scope")
    assert len(oos) == 1 and oos[0].value.startswith("2 codes")


@pytest.mark.parametrize("case, line, field", [
    ("bad_statut", "ligne 3", "Statut"),
    ("bad_2015_code", "ligne 2", "QP2015_1"),
    ("duplicate", "ligne 3", "QP2024"),
    ("missing_column", "ligne 1", "STATUT"),
    ("cp1252", "ligne 2", "Label_QP2024"),
])
def test_correspondence_errors(ctx, tmp_path, case, line, field):
    header, rows = list(CORR_HEADER), [list(r) for r in CORR_ROWS]
    if case == "bad_statut":
        rows[1][2] = "DISPARU"
    elif case == "bad_2015_code":
        rows[0][3] = "QP96001"
    elif case == "duplicate":
        rows[1][0] = rows[0][0]
    elif case == "missing_column":
        header[2] = "Etat"
    elif case == "cp1252":
        rows[0][1] = "Quartier des Licornes élargi"
    path = write_csv(tmp_path / "correspondance_qp.csv", header, rows, delimiter=";",
                     encoding="cp1252" if case == "cp1252" else "utf-8")
    with pytest.raises(InputError) as exc:
        correspondence.load(ctx, [path])
    assert_names(exc.value, "correspondance_qp.csv", line, field)


# ------------------------------------------------------------------------------- zoning
def zoning_doc(**over):
    doc = {"millesime": "2099", "source": "arrete_fictif.xlsx", "n_qpv": 4, "n_zip": 2, "n_zac": 2,
           "communes": {
               "96001": {"zip": 1, "zac": 0, "qpv": [{"id": "QN09601M", "n": "Quartier des Licornes", "z": "ZIP"}]},
               "96002": {"zip": 1, "zac": 0, "qpv": [{"id": "QN09601M", "n": "Quartier des Licornes", "z": "ZIP"}]},
               "96003": {"zip": 0, "zac": 1, "qpv": [{"id": "QN09602N", "n": "Cité des Farfadets", "z": "ZAC"}]},
               "98001": {"zip": 1, "zac": 1, "qpv": [{"id": "QN09801I", "n": "Les Hauts-Rêveurs", "z": "ZAC"},
                                                     {"id": "QN09899M", "n": "Inconnu", "z": "ZIP"}]}}}
    doc.update(over)
    return doc


def test_zoning_rows_unlinked_and_count_checks(ctx, tmp_path):
    write_communes(tmp_path)
    write_qpv2024(tmp_path)
    doc = zoning_doc(n_zac=5)
    doc["communes"]["96003"]["zac"] = 2
    (tmp_path / "qpv-zonage.json").write_text(json.dumps(doc), encoding="utf-8")
    run(ctx, tmp_path, ["territories", "qpv_contours", "correspondence", "zoning"])
    assert q(ctx, "SELECT qpv_code, zone, millesime FROM gp_zoning ORDER BY 1") == [
        ("QN09601M", "ZIP", "2099"), ("QN09602N", "ZAC", "2099"), ("QN09801I", "ZAC", "2099")]
    unl = issues(ctx, "unlinked")
    assert [(u.value, u.line) for u in unl] == [("QN09899M", "communes.98001.qpv[2]")]
    warn = issues(ctx, "warning", "qpv-zonage.json")
    assert [(w.line, w.field, w.value) for w in warn] == [("communes.96003", "zac", "2"), (None, "n_zac", "5")]


@pytest.mark.parametrize("case, where, field", [
    ("bad_zone", "communes.96003.qpv[1]", "z"),
    ("bad_code", "communes.96003.qpv[1]", "id"),
    ("conflict", "communes.96002.qpv[1]", "z"),
])
def test_zoning_errors(ctx, tmp_path, case, where, field):
    doc = zoning_doc()
    if case == "bad_zone":
        doc["communes"]["96003"]["qpv"][0]["z"] = "ZRR"
    elif case == "bad_code":
        doc["communes"]["96003"]["qpv"][0]["id"] = "Q96"
    elif case == "conflict":
        doc["communes"]["96002"]["qpv"][0]["z"] = "ZAC"
    path = tmp_path / "qpv-zonage.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        zoning.load(ctx, [path])
    assert_names(exc.value, "qpv-zonage.json", where, field)


# ------------------------------------------------------------------------------- CPTS
def cpts_props():
    return [{"code_cpts": "CPTS-F01", "nom": "CPTS du Pays Fictif", "porteur": "Association Santé Licorne",
             "annee_creation": 2021, "statut": "Actif", "communes": "96001, 96002"},
            {"code_cpts": "CPTS-F02", "nom": "CPTS des Songes", "porteur": "Maison de santé des Songes",
             "annee_creation": None, "statut": "en projet", "communes": "98001, 98002"}]


def test_cpts_schemes_and_territories(ctx, tmp_path):
    write_communes(tmp_path)
    write_geojson(tmp_path / "territoires_cpts.geojson", cpts_props(),
                  [box(X0, Y0, X0 + 2 * S, Y0 + S), None])
    claimed = run(ctx, tmp_path, ["territories", "qpv_contours", "correspondence", "zoning", "cpts"])
    assert claimed["territoires_cpts.geojson"] == "cpts"
    rows = q(ctx, "SELECT scheme_id, kind, name, year_created, status, ST_Area(geom), geom_display IS NOT NULL "
                  "FROM scheme ORDER BY 1")
    assert [r[:5] for r in rows] == [("CPTS-F01", "CPTS", "CPTS du Pays Fictif", 2021, "actif"),
                                     ("CPTS-F02", "CPTS", "CPTS des Songes", None, "en projet")]
    assert rows[1][5] == pytest.approx(2 * S * S, rel=1e-6) and rows[1][6]   # union of its communes
    assert q(ctx, "SELECT scheme_id, code FROM scheme_territory ORDER BY 1, 2") == [
        ("CPTS-F01", "96001"), ("CPTS-F01", "96002"), ("CPTS-F02", "98001"), ("CPTS-F02", "98002")]
    assert [w.line for w in issues(ctx, "warning", "territoires_cpts.geojson")] == ["entité 2 (CPTS-F02)"]


@pytest.mark.parametrize("case, where, field", [
    ("unknown_commune", "entité 2", "communes"),
    ("duplicate", "entité 2", "code_cpts"),
    ("missing_column", "entité 1", "nom"),
])
def test_cpts_errors(ctx, tmp_path, case, where, field):
    write_communes(tmp_path)
    props = cpts_props()
    if case == "unknown_commune":
        props[1]["communes"] = "98001, 98777"
    elif case == "duplicate":
        props[1]["code_cpts"] = props[0]["code_cpts"]
    elif case == "missing_column":
        for p in props:
            del p["nom"]
    write_geojson(tmp_path / "cpts.geojson", props, [cell(0, 0), cell(2, 0)])
    with pytest.raises(InputError) as exc:
        run(ctx, tmp_path, ["territories", "cpts"])
    assert_names(exc.value, "cpts.geojson", where, field)


# ------------------------------------------------------------------------------- real files
def test_real_paca_geography(ctx, real_dir):
    files = {}
    for sub in ("reference_geo", "qpv_contours", "correspondance", "ars_zonage"):
        for p in input_files(real_dir / sub):
            files[p] = None
    claimed = {}
    for name in ORDER:
        mod = importlib.import_module(f"etl.loaders.{name}")
        mine = [p for p in files if p not in claimed and mod.detect(p)]
        claimed.update({p: name for p in mine})
        if mine:
            mod.load(ctx, mine)
    assert len(claimed) == len(files)
    counts = dict(q(ctx, "SELECT level, count(*) FROM territory GROUP BY level"))
    assert counts == {"commune": 946, "arrondissement": 16, "epci": 52, "departement": 6, "region": 1, "qpv": 135}
    assert q(ctx, "SELECT count(*) FROM territory WHERE level = 'qpv' AND generation = '2024'") == [(135,)]
    assert all(QPV2024_RE.match(c) for (c,) in q(ctx, "SELECT code FROM territory WHERE level = 'qpv'"))
    multi = dict(q(ctx, "SELECT qpv_code, count(*) FROM qpv_commune GROUP BY 1 HAVING count(*) > 1"))
    assert len(multi) == 4 and 2 in multi.values() and max(multi.values()) == 3
    # Every QPV and commune has its parents; dissolved départements carry the summed population.
    assert q(ctx, "SELECT count(*) FROM territory WHERE level IN ('qpv', 'commune') "
                  "AND (region IS NULL OR departement IS NULL OR epci IS NULL)") == [(0,)]
    assert q(ctx, "SELECT count(*) FROM territory t WHERE level = 'departement' AND population = "
                  "(SELECT sum(population) FROM territory c WHERE c.level = 'commune' AND c.departement = t.code)") \
        == [(6,)]
    assert q(ctx, "SELECT count(*) FROM territory WHERE NOT ST_IsValid(geom) OR NOT ST_IsValid(geom_display)") \
        == [(0,)]
    # Correspondence: one row per in-scope 2024 QPV and rank, the rest summarised once.
    assert q(ctx, "SELECT count(DISTINCT qpv2024) FROM qpv_correspondence") == [(135,)]
    assert q(ctx, "SELECT count(*) FROM qpv_correspondence WHERE statut = 'nouveau' AND rank IS NOT NULL") == [(0,)]
    oos = [i for i in issues(ctx, "out_of_scope") if i.file.endswith(".csv")]
    assert len(oos) == 1 and oos[0].value.startswith("1449 codes")
    assert any(i.kind == "warning" and i.field == "statut" for i in ctx.log.issues)
    # ARS zoning.
    assert dict(q(ctx, "SELECT zone, count(*) FROM gp_zoning GROUP BY 1")) == {"ZIP": 67, "ZAC": 68}
    assert not issues(ctx, "unlinked") and not issues(ctx, "repaired")
