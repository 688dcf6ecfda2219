"""Helpers shared by the geography loaders (territories, qpv_contours, correspondence,
zoning, cpts): cheap format sniffing, code formats, located encoding errors, territory rows.
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pyogrio

from ..errors import InputError
from ..geo import read_vector, repair, to_wkb
from ..readers import Table, read_table, sniff_delimiter

LICENCE = "Licence Ouverte / Etalab 2.0"

VECTOR_EXT = {".geojson", ".json", ".gpkg", ".shp"}
SHP_SIDECAR_EXT = {".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd"}

# Code formats (INSEE / ANCT). Demo codes (96, 98, 99, QN096...) fit them too.
COMMUNE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
DEP_RE = re.compile(r"^(\d{2}|2[AB]|9[78]\d)$")
REG_RE = re.compile(r"^\d{2}$")
SIREN_RE = re.compile(r"^\d{9}$")
QPV2024_RE = re.compile(r"^QN(0\d\d|02[AB]|9[78]\d)\d{2}[NMIC]$")
QPV2015_RE = re.compile(r"^QP(0\d\d|02[AB]|9[78]\d)\d{3}$")
QPV_FORMAT_HINT = ("attendu QN + département sur 3 caractères + 2 chiffres + lettre N/M/I/C "
                   "(ex. QN09601M), ou QP + département sur 3 caractères + 3 chiffres (ex. QP096001)")

TERRITORY_COLUMNS = ["level", "code", "name", "generation", "region", "departement", "epci", "commune",
                     "population", "geom", "geom_display", "source_id"]


# --------------------------------------------------------------------------- values and codes
def clean(value) -> str:
    """A cell as a stripped string ('' for null/NaN). Integral floats lose their '.0'."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def split_codes(value) -> list[str]:
    """'96001, 96002' or '96001|96002' -> ['96001', '96002'] (order kept, duplicates dropped)."""
    out: list[str] = []
    for part in re.split(r"[,|;]", clean(value)):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def qpv_generation(code: str) -> str | None:
    if QPV2024_RE.match(code):
        return "2024"
    if QPV2015_RE.match(code):
        return "2015"
    return None


def qpv_departement(code: str) -> str:
    """Département of a QPV code: QN096.. -> '96', QN02A.. -> '2A', QN971.. -> '971'."""
    dep3 = code[2:5]
    return dep3[1:] if dep3.startswith("0") else dep3


def norm_label(text: str) -> str:
    """Comparison key for names: no accents, case, apostrophe style or punctuation."""
    text = unicodedata.normalize("NFKD", (text or "").replace("œ", "oe").replace("Œ", "OE")
                                 .replace("æ", "ae").replace("Æ", "AE"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\b(st)\b", "saint", re.sub(r"\bste\b", "sainte", text))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def parse_int(raw, path, where, field, *, minimum: int | None = 0) -> int | None:
    """An integer cell (int, integral float or digit string); '' -> None; anything else -> InputError."""
    s = clean(raw).replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if s == "":
        return None
    try:
        n = int(s)
    except ValueError:
        raise InputError(path, where, field, "nombre entier attendu", raw) from None
    if minimum is not None and n < minimum:
        raise InputError(path, where, field, f"valeur inférieure à {minimum}", raw)
    return n


# --------------------------------------------------------------------------- sniffing
def is_sidecar(path: Path) -> bool:
    return path.suffix.lower() in SHP_SIDECAR_EXT or path.name.lower().endswith(".shp.xml")


def shapefile_of(path: Path) -> Path | None:
    """The .shp a shapefile sidecar (.dbf, .prj...) belongs to, when it exists."""
    name = path.name
    stem = name[:-8] if name.lower().endswith(".shp.xml") else path.stem
    for ext in (".shp", ".SHP"):
        shp = path.with_name(stem + ext)
        if shp.exists():
            return shp
    return None


def vector_layers(path: Path) -> dict[str | None, frozenset[str]]:
    """Upper-cased field names of each layer of a vector file; {} when not a readable vector file."""
    path = Path(path)
    if path.suffix.lower() not in VECTOR_EXT or not path.is_file():
        return {}
    st = path.stat()
    return _vector_layers(str(path), st.st_mtime_ns, st.st_size)


# ADMIN EXPRESS 4-0 (GeoPackage, 2025-2026 editions) renamed the fields of its layers: read under
# the names of the earlier editions (one `code_insee` is a commune, a département, a région or an
# arrondissement code depending on the layer).
ADMIN_EXPRESS_4 = {
    "commune": {"CODE_INSEE": "INSEE_COM", "NOM_OFFICIEL": "NOM", "CODE_INSEE_DU_DEPARTEMENT": "INSEE_DEP",
                "CODE_INSEE_DE_LA_REGION": "INSEE_REG", "CODES_SIREN_DES_EPCI": "SIREN_EPCI"},
    "arrondissement_municipal": {"CODE_INSEE": "INSEE_ARM", "NOM_OFFICIEL": "NOM",
                                 "CODE_INSEE_DE_LA_COMMUNE_DE_RATTACHEMENT": "INSEE_COM"},
    "epci": {"NOM_OFFICIEL": "NOM"},
    "departement": {"CODE_INSEE": "INSEE_DEP", "NOM_OFFICIEL": "NOM", "CODE_INSEE_DE_LA_REGION": "INSEE_REG"},
    "region": {"CODE_INSEE": "INSEE_REG", "NOM_OFFICIEL": "NOM"},
}


def field_aliases(layer, fields) -> dict[str, str]:
    """{upper-cased field: the name the loaders read} for an ADMIN EXPRESS 4-0 layer (by its name,
    else by its fields), {} for any other layer."""
    up = {str(f).upper() for f in fields}
    if "NOM_OFFICIEL" not in up:
        return {}
    name = str(layer or "").lower()
    kind = next((k for k in ADMIN_EXPRESS_4 if name == k or name.endswith(k)), None)
    if kind is None:
        kind = ("commune" if "CODES_SIREN_DES_EPCI" in up else
                "arrondissement_municipal" if "CODE_INSEE_DE_LA_COMMUNE_DE_RATTACHEMENT" in up else
                "epci" if "CODE_SIREN" in up and "CODE_INSEE" not in up else
                "departement" if "CODE_INSEE_DE_LA_REGION" in up else
                "region" if "CODE_INSEE" in up else None)
    return dict(ADMIN_EXPRESS_4.get(kind, {}))


@lru_cache(maxsize=256)
def _vector_layers(path: str, _mtime: int, size: int) -> dict[str | None, frozenset[str]]:
    if size == 0:
        return {}
    p = Path(path)
    if p.suffix.lower() == ".json":
        with open(p, "rb") as f:
            head = f.read(4096)
        if b"Feature" not in head:
            return {}
    try:
        if p.suffix.lower() == ".gpkg":
            layers = [str(name) for name, _ in pyogrio.list_layers(p)]
        else:
            layers = [None]
        out = {}
        for layer in layers:
            info = pyogrio.read_info(p, layer=layer)
            alias = field_aliases(layer, info["fields"])
            out[layer] = frozenset(alias.get(str(f).upper(), str(f).upper()) for f in info["fields"])
        return out
    except Exception:  # not a vector file GDAL can open: simply not ours
        return {}


def csv_header(path: Path) -> list[str]:
    """Upper-cased header of a delimited text file ([] when not a .csv or unreadable)."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return []
    with open(path, "rb") as f:
        head = f.read(65536)
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first.strip():
        return []
    row = next(csv.reader([first], delimiter=sniff_delimiter(first)), [])
    return [h.strip().upper() for h in row]


def unreadable_named(path: Path, pattern: str, exts: set[str]) -> bool:
    """Name-based fallback: an empty or unreadable file whose name matches `pattern` (a regex
    searched in the lower-cased name), so that the loader reports it instead of the build
    ignoring it as an unknown file."""
    if path.suffix.lower() not in exts or not re.search(pattern, path.name.lower()):
        return False
    if path.stat().st_size == 0:
        return True
    if path.suffix.lower() in VECTOR_EXT:
        return not any(vector_layers(path).values())   # unreadable, or a layer without any field
    return not csv_header(path)


# --------------------------------------------------------------------------- reading
def _encoding_reason(byte: int) -> str:
    return (f"encodage invalide : l'octet 0x{byte:02X} n'est pas de l'UTF-8 (fichier probablement "
            "enregistré en Windows-1252 / Latin-1 ; réenregistrez-le en UTF-8)")


def check_geojson_utf8(path: Path) -> None:
    """GeoJSON must be UTF-8: raise an InputError naming the feature and property of the first bad byte."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        return
    except UnicodeDecodeError as err:
        pos = err.start
    before = raw[:pos]
    feature = len(re.findall(rb'"type"\s*:\s*"Feature"', before))
    keys = re.findall(rb'"([^"\\]+)"\s*:\s*"[^"]*$', before[-2000:])
    field = keys[-1].decode("cp1252", errors="replace") if keys else None
    value_start = before.rfind(b'"') + 1
    value_end = raw.find(b'"', pos)
    value = raw[value_start: value_end if value_end > 0 else pos + 20].decode("cp1252", errors="replace")
    where = f"entité {feature}" if feature else None
    raise InputError(path, where, field, _encoding_reason(raw[pos]), value)


def read_layer(path: Path, layer: str | None = None):
    """Read a vector layer in WGS84; returns (GeoDataFrame, {UPPER field name: actual name})."""
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json") and path.exists() and path.stat().st_size:
        check_geojson_utf8(path)
    gdf = read_vector(path, layer=layer)
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    alias = field_aliases(layer, fields)
    cols = {alias.get(str(c).upper(), str(c).upper()): c for c in fields}
    return gdf, cols


def require(path: Path, cols: dict[str, str], names: tuple[str, ...] | list[str]) -> None:
    """Every field of `names` must exist (case-insensitive); the first feature is named."""
    for n in names:
        if n.upper() not in cols:
            raise InputError(path, "entité 1", n, "champ obligatoire absent de la couche "
                             f"(champs présents : {', '.join(sorted(cols.values())) or 'aucun'})")


def read_csv_located(path: Path, delimiter: str | None = None, allow_cp1252: bool = False) -> Table:
    """etl.readers.read_table, with an encoding error completed by the column of the bad byte.
    `allow_cp1252`: the producer ships this layout in Windows-1252 / Latin-1 (a file that mixes
    it with UTF-8 is still refused, naming the line)."""
    try:
        return read_table(path, delimiter=delimiter, allow_cp1252=allow_cp1252)
    except InputError as exc:
        if exc.field is not None or not exc.reason.startswith("encodage invalide"):
            raise
        raw = path.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            raw.decode("utf-8")
            raise
        except UnicodeDecodeError as err:
            pos = err.start
        first = raw.split(b"\n", 1)[0].decode("cp1252", errors="replace").rstrip("\r")
        delim = delimiter or sniff_delimiter(first)
        header = next(csv.reader([first], delimiter=delim), [])
        start = raw.rfind(b"\n", 0, pos) + 1
        end = raw.find(b"\n", pos)
        line_text = raw[start: end if end >= 0 else len(raw)].decode("cp1252", errors="replace").rstrip("\r")
        idx = raw[start:pos].decode("cp1252", errors="replace").count(delim)
        cells = next(csv.reader(io.StringIO(line_text), delimiter=delim), [])
        field = header[idx].strip() if idx < len(header) and header[idx].strip() else f"colonne {idx + 1}"
        raise InputError(path, exc.line, field, exc.reason, cells[idx] if idx < len(cells) else None) from None


def read_json(path: Path):
    """A JSON document, with InputErrors naming the file and line on bad encoding or syntax."""
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(path, None, None, "le fichier est vide")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(path, raw[: err.start].count(b"\n") + 1, None, _encoding_reason(raw[err.start])) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(path, err.lineno, None, f"JSON illisible ({err.msg}, colonne {err.colno})") from None


@lru_cache(maxsize=64)
def _json_keys(path: str, _mtime: int, size: int) -> frozenset[str]:
    if size == 0 or size > 50_000_000:
        return frozenset()
    try:
        doc = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return frozenset()
    return frozenset(doc) if isinstance(doc, dict) else frozenset()


def json_keys(path: Path) -> frozenset[str]:
    """Top-level keys of a .json object file (empty when not one)."""
    path = Path(path)
    if path.suffix.lower() != ".json" or not path.is_file():
        return frozenset()
    st = path.stat()
    return _json_keys(str(path), st.st_mtime_ns, st.st_size)


# --------------------------------------------------------------------------- DB helpers
def source_id_for(ctx, base: str, path: Path) -> str:
    """A source id not yet used in this build: `base`, else `base_<file stem>`, else numbered."""
    used = {r[0] for r in ctx.con.execute("SELECT source_id FROM source").fetchall()}
    if base not in used:
        return base
    stem = re.sub(r"[^0-9a-z]+", "_", path.stem.lower()).strip("_")
    cand = f"{base}_{stem}"
    n = 2
    while cand in used:
        cand = f"{base}_{stem}_{n}"
        n += 1
    return cand


def issue_logger(ctx, source_id: str):
    """A `log` callback for etl.geo.repair that records the issue with its source."""
    def log(file, line, field, value, kind, reason):
        ctx.issue(file, line, field, value, kind, reason, source_id)
    return log


def repair_geom(ctx, geom, path: Path, feature: int, code: str, source_id: str):
    return repair(geom, path, feature, log=issue_logger(ctx, source_id), code=code)


def territory_codes(con, level: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT code FROM territory WHERE level = ?", [level]).fetchall()}


def commune_index(con) -> dict[str, dict]:
    """Loaded communes: code -> {name, region, departement, epci}."""
    rows = con.execute(
        "SELECT code, name, region, departement, epci FROM territory WHERE level = 'commune'").fetchall()
    return {r[0]: {"name": r[1], "region": r[2], "departement": r[3], "epci": r[4]} for r in rows}


def insert_territories(ctx, rows: list[dict]) -> int:
    """Insert territory rows (dicts with shapely geometries in geom / geom_display)."""
    if not rows:
        return 0
    df = pd.DataFrame(rows)
    for c in TERRITORY_COLUMNS:
        if c not in df:
            df[c] = None
    df = df[TERRITORY_COLUMNS].copy()
    df["geom"] = to_wkb(df["geom"])
    df["geom_display"] = to_wkb(df["geom_display"])
    for c in TERRITORY_COLUMNS:
        if c == "population":
            df[c] = pd.array([None if v is None or pd.isna(v) else int(v) for v in df[c]], dtype="Int64")
        elif c not in ("geom", "geom_display"):
            df[c] = pd.Series([None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                               for v in df[c]], dtype=object)
    return ctx.insert_df("territory", df, geom_cols=("geom", "geom_display"))


def out_of_scope_summary(ctx, path: Path, field: str, codes: list[str], what: str, source_id: str) -> None:
    """One summary issue per file for rows about territories that are not loaded."""
    if not codes:
        return
    sample = ", ".join(codes[:10]) + (", …" if len(codes) > 10 else "")
    ctx.issue(path, None, field, f"{len(codes)} codes : {sample}", "out_of_scope",
              f"{len(codes)} {what} : ignorés (hors du territoire chargé)", source_id)
