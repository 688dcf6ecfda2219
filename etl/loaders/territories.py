"""Reference geography: communes, arrondissements municipaux, EPCI, départements, régions.

Inputs (any of GeoJSON, GeoPackage with one or several layers, shapefile; any CRS):
- IGN Admin Express COG CARTO COMMUNE layer: INSEE_COM, NOM, POPULATION, INSEE_DEP, INSEE_REG, SIREN_EPCI
  (ADMIN EXPRESS 4-0 GeoPackage: code_insee, nom_officiel, code_insee_du_departement,
  code_insee_de_la_region, codes_siren_des_epci, read under these names: _geo_common.field_aliases);
- ARRONDISSEMENT_MUNICIPAL layer: INSEE_ARM, NOM, INSEE_COM, POPULATION (level 'arrondissement');
- EPCI names as a CSV `CODE_SIREN,NOM`, or an EPCI layer (CODE_SIREN, NOM, geometry);
- optional DEPARTEMENT (INSEE_DEP, NOM) and REGION (INSEE_REG, NOM) layers;
- INSEE COG lists `v_departement_YYYY.csv` / `v_region_YYYY.csv` for names.

EPCI, département and région shapes are dissolved from the communes when no layer gives
them, with summed populations. Names: layer > COG CSV in the input folder > copies of the
COG 2024 lists bundled in etl/ref > "Département <code>". Field names match case-insensitively
(the GeoPackage edition of Admin Express uses lower case). The 'france' level is not created here.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import shapely

from ..errors import InputError
from ..geo import display_geometries
from ._geo_common import (COMMUNE_RE, DEP_RE, LICENCE, REG_RE, SIREN_RE, VECTOR_EXT, clean, csv_header,
                          insert_territories, is_sidecar, out_of_scope_summary, parse_int,
                          read_csv_located, read_layer, repair_geom, require, shapefile_of,
                          source_id_for, unreadable_named, vector_layers)

REF_DIR = Path(__file__).resolve().parent.parent / "ref"
BUNDLED_DEP = REF_DIR / "v_departement_2024.csv"
BUNDLED_REG = REF_DIR / "v_region_2024.csv"

COMMUNE_FIELDS = ("INSEE_COM", "NOM", "POPULATION", "INSEE_DEP", "INSEE_REG", "SIREN_EPCI")
ARM_FIELDS = ("INSEE_ARM", "NOM", "INSEE_COM", "POPULATION")
NO_EPCI = {"", "NC", "NR", "ZZZZZZZZZ"}   # Admin Express / COG markers of a commune outside any EPCI

IGN_URL = "https://geoservices.ign.fr/adminexpress"
COG_URL = "https://www.insee.fr/fr/information/2560452"
BANATIC_URL = "https://www.banatic.interieur.gouv.fr/"
NAME_PATTERN = r"^(commune|arrondissement|epci|departement|region|v_departement|v_region)"


# --------------------------------------------------------------------------- detection
def _vector_kind(fields: frozenset[str]) -> str | None:
    if "CODE_QP" in fields or "CODE_CPTS" in fields:
        return None
    if "INSEE_ARM" in fields:
        return "arrondissement"
    if "INSEE_COM" in fields and len(fields & set(COMMUNE_FIELDS[1:])) >= 2:
        return "commune"
    if "CODE_SIREN" in fields:
        return "epci_layer"
    if "INSEE_COM" not in fields and "INSEE_DEP" in fields and "NOM" in fields:
        return "departement_layer"
    if not fields & {"INSEE_COM", "INSEE_DEP"} and "INSEE_REG" in fields and "NOM" in fields:
        return "region_layer"
    return None


def _csv_kind(header: list[str]) -> str | None:
    h = set(header)
    if {"CODE_SIREN", "NOM"} <= h:
        return "epci_names"
    if "COM" in h:            # v_commune_YYYY.csv and the like: not ours
        return None
    if {"DEP", "REG", "LIBELLE"} <= h:
        return "cog_departement"
    if {"REG", "LIBELLE"} <= h and h & {"CHEFLIEU", "NCCENR", "NCC"}:
        return "cog_region"
    return None


def _classify(path: Path) -> list[tuple[str, str | None]]:
    found = []
    for layer, fields in vector_layers(path).items():
        kind = _vector_kind(fields)
        if kind:
            found.append((kind, layer))
    kind = _csv_kind(csv_header(path))
    if kind:
        found.append((kind, None))
    return found


def detect(path: Path) -> bool:
    path = Path(path)
    if is_sidecar(path):
        shp = shapefile_of(path)
        return shp is not None and detect(shp)
    if _classify(path):
        return True
    return unreadable_named(path, NAME_PATTERN, VECTOR_EXT | {".csv"})


# --------------------------------------------------------------------------- helpers
UNKNOWN_VINTAGE = "millésime inconnu"


def _year(path: Path) -> str | None:
    """The vintage a reference file's name (or its folder's) gives, or None: never a default."""
    for text in (path.name, path.parent.name):
        m = re.search(r"(?<!\d)(20[0-9]{2})(?!\d)", text)
        if m:
            return m.group(1)
    return None


def _vintage(ctx, path: Path) -> tuple[str | None, str, str]:
    """(vintage or None, the words for titles, geography version) of a reference file. Without a
    year in its name the vintage is unknown: said so in the title and in the load report."""
    year = _year(path)
    if year:
        return year, year, f"COG{year}"
    ctx.issue(path, None, None, path.name, "warning",
              "aucune année dans le nom du fichier ni de son dossier : millésime inconnu (géographie "
              "« COG millésime inconnu »)")
    return None, f"({UNKNOWN_VINTAGE})", f"COG {UNKNOWN_VINTAGE}"


def _as_multi(geom):
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "GeometryCollection":
        polys = []
        for g in geom.geoms:
            polys.extend(getattr(g, "geoms", [g]) if g.geom_type in ("Polygon", "MultiPolygon") else [])
        return shapely.MultiPolygon(polys)
    return geom


SLIVER_AREA = 1e-8   # square degrees (about 100 m²): holes left between generalised communes


def _dissolve(geoms: list) -> object:
    """Union of commune shapes, without the sliver holes that generalised outlines leave."""
    union = _as_multi(shapely.union_all(np.asarray(geoms, dtype=object)))
    polys = [shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area >= SLIVER_AREA])
             for p in union.geoms]
    return shapely.MultiPolygon(polys)


def _dominant(weights: dict[str, int]) -> str | None:
    """The key with the largest weight (population), ties broken by code."""
    if not weights:
        return None
    return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _read_cog_names(path: Path, kind: str) -> dict[str, tuple[str, str | None]]:
    """code -> (LIBELLE, REG) from an INSEE COG list (départements or régions)."""
    table = read_csv_located(path)
    code_col = "DEP" if kind == "cog_departement" else "REG"
    upper = {h.upper(): h for h in table.header}
    for need in (code_col, "LIBELLE"):
        if need not in upper:
            table.col(need)  # raises the standard "colonne obligatoire absente"
    out: dict[str, tuple[str, str | None]] = {}
    for line, rec in table.records():
        code = rec[upper[code_col]]
        name = rec[upper["LIBELLE"]]
        if not (DEP_RE.match(code) if code_col == "DEP" else REG_RE.match(code)):
            raise InputError(path, line, upper[code_col], "code mal formé", code)
        if not name:
            raise InputError(path, line, upper["LIBELLE"], "libellé vide")
        if code in out:
            raise InputError(path, line, upper[code_col], "code en double", code)
        out[code] = (name, rec.get(upper.get("REG", ""), None) if code_col == "DEP" else None)
    return out


def _register_cog(ctx, path: Path, kind: str, bundled: bool) -> str:
    what = "départements" if kind == "cog_departement" else "régions"
    year, words, geography = _vintage(ctx, path)
    base = f"insee_cog_{'departements' if kind == 'cog_departement' else 'regions'}"
    title = f"Code officiel géographique {words} : liste des {what}"
    if bundled:
        base += "_embarque"
        title += " (copie embarquée dans Atlas ASV)"
    return ctx.register_source(source_id_for(ctx, base, path), path, title=title, publisher="INSEE",
                               url=COG_URL, licence=LICENCE, vintage=year, geography=geography)


def _epci_of(raw, known: dict, path: Path, where: str, field: str) -> str | None:
    """SIREN of a commune's EPCI; Admin Express joins several with '/' (e.g. Grand Paris + EPT)."""
    value = clean(raw)
    if value.upper() in NO_EPCI:
        return None
    parts = [p.strip() for p in value.split("/") if p.strip()]
    for p in parts:
        if not SIREN_RE.match(p):
            raise InputError(path, where, field, "SIREN d'EPCI mal formé (9 chiffres attendus)", value)
    for p in parts:
        if p in known:
            return p
    return parts[0] if parts else None


# --------------------------------------------------------------------------- readers
def _read_communes(ctx, path: Path, layer, epci_known: dict, seen: dict) -> list[dict]:
    gdf, cols = read_layer(path, layer)
    require(path, cols, COMMUNE_FIELDS)
    year, words, geography = _vintage(ctx, path)
    sid = ctx.register_source(
        source_id_for(ctx, "ign_admin_express_cog_carto_communes", path), path,
        title=f"ADMIN EXPRESS COG CARTO {words} : communes", publisher="IGN", url=IGN_URL,
        licence=LICENCE, vintage=year, geography=geography)
    f = {k: cols[k] for k in COMMUNE_FIELDS}
    rows = []
    for i, (rec, geom) in enumerate(zip(gdf[list(f.values())].itertuples(index=False), gdf.geometry), start=1):
        rec = dict(zip(COMMUNE_FIELDS, rec))
        where = f"entité {i}"
        code = clean(rec["INSEE_COM"])
        if not COMMUNE_RE.match(code):
            raise InputError(path, where, f["INSEE_COM"],
                             "code commune mal formé (5 caractères attendus, ex. 96001 ou 2A004)", code)
        if code in seen:
            raise InputError(path, where, f["INSEE_COM"], f"code commune en double (déjà vu : {seen[code]})", code)
        seen[code] = f"{path.name}, entité {i}"
        where = f"entité {i} ({code})"
        name = clean(rec["NOM"])
        if not name:
            raise InputError(path, where, f["NOM"], "nom de commune vide")
        dep = clean(rec["INSEE_DEP"])
        if not DEP_RE.match(dep):
            raise InputError(path, where, f["INSEE_DEP"],
                             "code département mal formé (2 chiffres, 2A, 2B ou 3 chiffres outre-mer attendus)", dep)
        if not code.startswith(dep):
            raise InputError(path, where, f["INSEE_DEP"],
                             f"le département ne correspond pas au code commune {code}", dep)
        reg = clean(rec["INSEE_REG"])
        if not REG_RE.match(reg):
            raise InputError(path, where, f["INSEE_REG"], "code région mal formé (2 chiffres attendus)", reg)
        rows.append({
            "level": "commune", "code": code, "name": name, "generation": geography,
            "region": reg, "departement": dep,
            "epci": _epci_of(rec["SIREN_EPCI"], epci_known, path, where, f["SIREN_EPCI"]),
            "commune": None,
            "population": parse_int(rec["POPULATION"], path, where, f["POPULATION"]),
            "geom": repair_geom(ctx, geom, path, i, code, sid), "source_id": sid, "_file": path,
        })
    return rows


def _read_epci_names(path: Path) -> dict[str, str]:
    table = read_csv_located(path)
    upper = {h.upper(): h for h in table.header}
    code_col, name_col = upper.get("CODE_SIREN", "CODE_SIREN"), upper.get("NOM", "NOM")
    table.require(code_col, name_col)
    out: dict[str, str] = {}
    for line, rec in table.records():
        code, name = rec[code_col], rec[name_col]
        if not SIREN_RE.match(code):
            raise InputError(path, line, code_col, "SIREN d'EPCI mal formé (9 chiffres attendus)", code)
        if code in out:
            raise InputError(path, line, code_col, "SIREN d'EPCI en double", code)
        if not name:
            raise InputError(path, line, name_col, "nom d'EPCI vide")
        out[code] = name
    return out


def _read_named_layer(ctx, path: Path, layer, kind: str) -> tuple[dict[str, dict], str]:
    """EPCI, département or région layer: code -> {name, geom, population, region}."""
    code_field, regex, what = {
        "epci_layer": ("CODE_SIREN", SIREN_RE, "SIREN d'EPCI mal formé (9 chiffres attendus)"),
        "departement_layer": ("INSEE_DEP", DEP_RE, "code département mal formé (2 chiffres, 2A, 2B ou 3 chiffres outre-mer attendus)"),
        "region_layer": ("INSEE_REG", REG_RE, "code région mal formé (2 chiffres attendus)"),
    }[kind]
    gdf, cols = read_layer(path, layer)
    require(path, cols, (code_field, "NOM"))
    label = {"epci_layer": "EPCI", "departement_layer": "départements", "region_layer": "régions"}[kind]
    year, words, geography = _vintage(ctx, path)
    sid = ctx.register_source(
        source_id_for(ctx, f"ign_admin_express_cog_carto_{kind.split('_')[0]}", path), path,
        title=f"ADMIN EXPRESS COG CARTO {words} : {label}", publisher="IGN", url=IGN_URL,
        licence=LICENCE, vintage=year, geography=geography)
    out: dict[str, dict] = {}
    for i, geom in enumerate(gdf.geometry, start=1):
        row = gdf.iloc[i - 1]
        code = clean(row[cols[code_field]])
        if not regex.match(code):
            raise InputError(path, f"entité {i}", cols[code_field], what, code)
        if code in out:
            raise InputError(path, f"entité {i}", cols[code_field], "code en double", code)
        name = clean(row[cols["NOM"]])
        if not name:
            raise InputError(path, f"entité {i} ({code})", cols["NOM"], "nom vide")
        pop = parse_int(row[cols["POPULATION"]], path, f"entité {i} ({code})", cols["POPULATION"]) \
            if "POPULATION" in cols else None
        reg = clean(row[cols["INSEE_REG"]]) if "INSEE_REG" in cols and kind == "departement_layer" else None
        out[code] = {"name": name, "geom": repair_geom(ctx, geom, path, i, code, sid), "population": pop,
                     "region": reg or None, "source_id": sid, "_file": path}
    return out, sid


def _read_arrondissements(ctx, path: Path, layer, communes: dict[str, dict]) -> list[dict]:
    gdf, cols = read_layer(path, layer)
    require(path, cols, ARM_FIELDS)
    year, words, geography = _vintage(ctx, path)
    sid = ctx.register_source(
        source_id_for(ctx, "ign_admin_express_cog_carto_arrondissements", path), path,
        title=f"ADMIN EXPRESS COG CARTO {words} : arrondissements municipaux", publisher="IGN",
        url=IGN_URL, licence=LICENCE, vintage=year, geography=geography)
    rows, seen, outside = [], set(), []
    for i, geom in enumerate(gdf.geometry, start=1):
        row = gdf.iloc[i - 1]
        code = clean(row[cols["INSEE_ARM"]])
        if not COMMUNE_RE.match(code):
            raise InputError(path, f"entité {i}", cols["INSEE_ARM"],
                             "code d'arrondissement mal formé (5 caractères attendus)", code)
        if code in seen:
            raise InputError(path, f"entité {i}", cols["INSEE_ARM"], "code d'arrondissement en double", code)
        seen.add(code)
        where = f"entité {i} ({code})"
        com = clean(row[cols["INSEE_COM"]])
        if not COMMUNE_RE.match(com):
            raise InputError(path, where, cols["INSEE_COM"], "code commune mal formé (5 caractères attendus)", com)
        name = clean(row[cols["NOM"]])
        if not name:
            raise InputError(path, where, cols["NOM"], "nom vide")
        parent = communes.get(com)
        if communes and parent is None:
            outside.append(code)
            continue
        dep = parent["departement"] if parent else (com[:3] if com.startswith("97") else com[:2])
        rows.append({
            "level": "arrondissement", "code": code, "name": name, "generation": geography,
            "region": parent["region"] if parent else None, "departement": dep,
            "epci": parent["epci"] if parent else None, "commune": com,
            "population": parse_int(row[cols["POPULATION"]], path, where, cols["POPULATION"]),
            "geom": repair_geom(ctx, geom, path, i, code, sid), "source_id": sid,
        })
    out_of_scope_summary(ctx, path, cols["INSEE_COM"], outside,
                         "arrondissements municipaux de communes non chargées", sid)
    return rows


# --------------------------------------------------------------------------- load
def load(ctx, paths: list[Path]) -> None:
    items: dict[str, list[tuple[Path, str | None]]] = defaultdict(list)
    for p in paths:
        p = Path(p)
        if is_sidecar(p):
            continue
        found = _classify(p)
        if not found:  # claimed by its name only: read it so the user learns what is wrong
            if p.suffix.lower() == ".csv":
                table = read_csv_located(p)
                raise InputError(p, 1, None, "en-tête non reconnu : attendu CODE_SIREN,NOM ou une liste "
                                 f"du COG INSEE (en-tête lu : {','.join(table.header)})")
            _, cols = read_layer(p)
            raise InputError(p, "entité 1", None, "couche non reconnue : champs attendus "
                             f"{', '.join(COMMUNE_FIELDS)} (champs lus : {', '.join(cols.values())})")
        for kind, layer in found:
            items[kind].append((p, layer))

    # Names: EPCI list, COG lists found in the input folder, else the bundled COG 2024 copies.
    epci_names: dict[str, str] = {}
    epci_name_files: dict[str, Path] = {}
    epci_sources = []
    for p, _ in items["epci_names"]:
        for code, name in _read_epci_names(p).items():
            if code in epci_names:
                raise InputError(p, None, "CODE_SIREN", f"SIREN d'EPCI déjà donné par {epci_name_files[code].name}", code)
            epci_names[code] = name
            epci_name_files[code] = p
        epci_sources.append(ctx.register_source(
            source_id_for(ctx, "epci_noms", p), p, title="Liste des EPCI à fiscalité propre (SIREN et nom)",
            publisher="IGN / DGCL (BANATIC)", url=BANATIC_URL, licence=LICENCE, vintage=_year(p)))
    cog: dict[str, dict] = {"cog_departement": {}, "cog_region": {}}
    for kind in cog:
        for p, _ in items[kind]:
            cog[kind].update(_read_cog_names(p, kind))
            _register_cog(ctx, p, kind, bundled=False)
    bundled = {"cog_departement": BUNDLED_DEP, "cog_region": BUNDLED_REG}
    bundled_names: dict[str, dict] = {}
    for kind, path in bundled.items():
        if not cog[kind] and path.exists():
            bundled_names[kind] = _read_cog_names(path, kind)

    # Communes.
    layers_given = {k: {} for k in ("epci_layer", "departement_layer", "region_layer")}
    for kind in layers_given:
        for p, layer in items[kind]:
            data, _ = _read_named_layer(ctx, p, layer, kind)
            dup = set(data) & set(layers_given[kind])
            if dup:
                raise InputError(p, None, None, f"codes déjà donnés par une autre couche : {', '.join(sorted(dup))}")
            layers_given[kind].update(data)
    known_epci = {**epci_names, **{c: d["name"] for c, d in layers_given["epci_layer"].items()}}
    seen: dict[str, str] = {}
    communes: list[dict] = []
    for p, layer in items["commune"]:
        communes.extend(_read_communes(ctx, p, layer, known_epci, seen))
    by_code = {c["code"]: c for c in communes}

    rows: list[dict] = []
    if communes:
        disp = display_geometries([c["geom"] for c in communes], coverage=True)
        for c, d in zip(communes, disp):
            c["geom_display"] = d
        rows.extend(communes)
    commune_sid = communes[0]["source_id"] if communes else None

    # Arrondissements municipaux.
    arms: list[dict] = []
    for p, layer in items["arrondissement"]:
        arms.extend(_read_arrondissements(ctx, p, layer, by_code))
    dup = [c for c, n in Counter(a["code"] for a in arms).items() if n > 1]
    if dup:
        raise InputError(items["arrondissement"][-1][0], None, "INSEE_ARM",
                         f"arrondissements donnés deux fois : {', '.join(sorted(dup))}")
    if arms:
        for a, d in zip(arms, display_geometries([a["geom"] for a in arms], coverage=True)):
            a["geom_display"] = d
        rows.extend(arms)

    rows.extend(_epci_rows(ctx, communes, layers_given["epci_layer"], epci_names, epci_name_files,
                           epci_sources, commune_sid))
    dep_rows = _upper_rows(ctx, "departement", communes, layers_given["departement_layer"],
                           cog["cog_departement"], bundled_names.get("cog_departement", {}), commune_sid)
    rows.extend(dep_rows)
    rows.extend(_upper_rows(ctx, "region", communes, layers_given["region_layer"], cog["cog_region"],
                            bundled_names.get("cog_region", {}), commune_sid, dep_rows=dep_rows))

    # Record the bundled COG copies as sources when they provided at least one name.
    for kind, names in bundled_names.items():
        level = "departement" if kind == "cog_departement" else "region"
        if any(r["level"] == level and r["code"] in names and r.get("_name_from") == "bundled" for r in rows):
            _register_cog(ctx, bundled[kind], kind, bundled=True)
    insert_territories(ctx, rows)


def _epci_rows(ctx, communes, layer_data, names, name_files, name_sources, commune_sid) -> list[dict]:
    members: dict[str, list[dict]] = defaultdict(list)
    for c in communes:
        if c["epci"]:
            members[c["epci"]].append(c)
    codes = sorted(set(members) | (set(layer_data) if not communes else set()))
    if communes:
        outside = sorted(set(layer_data) - set(members))
        if outside:
            first = layer_data[outside[0]]
            out_of_scope_summary(ctx, first["_file"], "CODE_SIREN", outside, "EPCI sans commune chargée",
                                 first["source_id"])
        unused = sorted(set(names) - set(members))
        if unused and name_sources:
            first = name_files[unused[0]]
            out_of_scope_summary(ctx, first, "CODE_SIREN", unused, "EPCI sans commune chargée", name_sources[0])
    rows, to_dissolve = [], []
    for code in codes:
        given = layer_data.get(code)
        mem = members.get(code, [])
        pop_by_dep, pop_by_reg = Counter(), Counter()
        for c in mem:
            pop_by_dep[c["departement"]] += c["population"] or 0
            pop_by_reg[c["region"]] += c["population"] or 0
        if given:
            name = given["name"]
        elif code in names:
            name = names[code]
        else:
            name = f"EPCI {code}"
            ctx.issue(mem[0]["_file"], None, "SIREN_EPCI", code, "warning",
                      "EPCI sans nom (absent de la liste des EPCI) : nommé par son SIREN", mem[0]["source_id"])
        pops = [c["population"] for c in mem if c["population"] is not None]
        row = {"level": "epci", "code": code, "name": name, "generation": mem[0]["generation"] if mem else None,
               "region": _dominant(pop_by_reg), "departement": _dominant(pop_by_dep), "epci": None,
               "commune": None, "population": sum(pops) if pops else (given or {}).get("population"),
               "geom": given["geom"] if given else None,
               "source_id": given["source_id"] if given else commune_sid}
        if row["geom"] is None:
            to_dissolve.append((row, [c["geom"] for c in mem]))
        rows.append(row)
    for row, geoms in to_dissolve:
        row["geom"] = _dissolve(geoms)
    if rows:
        for r, d in zip(rows, display_geometries([r["geom"] for r in rows], coverage=True)):
            r["geom_display"] = d
    return rows


def _upper_rows(ctx, level, communes, layer_data, cog_names, bundled_names, commune_sid,
                dep_rows=None) -> list[dict]:
    """Département or région rows: shapes from a layer when given, else dissolved."""
    key = "departement" if level == "departement" else "region"
    members: dict[str, list[dict]] = defaultdict(list)
    for c in communes:
        members[c[key]].append(c)
    if communes:
        codes = sorted(members)
        outside = sorted(set(layer_data) - set(members))
        if outside:
            first = layer_data[outside[0]]
            out_of_scope_summary(ctx, first["_file"], "INSEE_DEP" if level == "departement" else "INSEE_REG",
                                 outside, f"{'départements' if level == 'departement' else 'régions'} "
                                 "sans commune chargée", first["source_id"])
    else:
        codes = sorted(layer_data)
    label = "Département" if level == "departement" else "Région"
    rows = []
    for code in codes:
        given = layer_data.get(code)
        mem = members.get(code, [])
        if given:
            name, origin = given["name"], "layer"
        elif code in cog_names:
            name, origin = cog_names[code][0], "cog"
        elif code in bundled_names:
            name, origin = bundled_names[code][0], "bundled"
        else:
            name, origin = f"{label} {code}", "code"
        pops = [c["population"] for c in mem if c["population"] is not None]
        region = None
        if level == "departement":
            regs = Counter(c["region"] for c in mem)
            region = regs.most_common(1)[0][0] if regs else (given or {}).get("region") \
                or (cog_names.get(code) or bundled_names.get(code) or (None, None))[1]
        rows.append({
            "level": level, "code": code, "name": name,
            "generation": mem[0]["generation"] if mem else None,
            "region": region, "departement": None, "epci": None, "commune": None,
            "population": sum(pops) if pops else (given or {}).get("population"),
            "geom": given["geom"] if given else None,
            "source_id": given["source_id"] if given else commune_sid, "_name_from": origin,
        })
    deps_by_code = {r["code"]: r for r in (dep_rows or [])}
    for r in rows:
        if r["geom"] is not None:
            continue
        if level == "region" and deps_by_code:
            parts = [d["geom"] for d in deps_by_code.values() if d["region"] == r["code"]]
        else:
            parts = [c["geom"] for c in members[r["code"]]]
        r["geom"] = _dissolve(parts)
    if rows:
        for r, d in zip(rows, display_geometries([r["geom"] for r in rows], coverage=True)):
            r["geom_display"] = d
    return rows
