"""The catalogue of official sources (etl/sources.toml) and what the download steps share:
the source description, the errors, the régions' départements, the cache folder, JSON helpers."""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse


from . import config


CATALOGUE_FILE = Path(__file__).with_name("sources.toml")
MANIFEST_NAME = ".atlas-download.json"
SIDECAR_SUFFIX = ".meta.json"
CHUNK = 1 << 16
VECTOR_SUFFIXES = {".geojson", ".shp", ".gpkg"}
FILTER_KINDS = ("region", "departement", "commune", "qpv", "epci")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd")

# Régions (COG 2016 onwards) and their départements, to filter layers that carry a
# département, commune or QPV code rather than a région code.
REGION_DEPARTEMENTS: dict[str, tuple[str, ...]] = {
    "01": ("971",), "02": ("972",), "03": ("973",), "04": ("974",), "06": ("976",),
    "11": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "24": ("18", "28", "36", "37", "41", "45"),
    "27": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "28": ("14", "27", "50", "61", "76"),
    "32": ("02", "59", "60", "62", "80"),
    "44": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "52": ("44", "49", "53", "72", "85"),
    "53": ("22", "29", "35", "56"),
    "75": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "76": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "84": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "93": ("04", "05", "06", "13", "83", "84"),
    "94": ("2A", "2B"),
    "99": ("96", "98", "99"),  # the fictional demo région (project convention)
}


class DownloadError(Exception):
    """A source could not be downloaded or laid out. The message is French and names the source."""


class ContentError(DownloadError):
    """The file received is not what the source announces (HTML page, corrupt archive, missing
    member): it is not used, and never replaces a good cached copy."""


class ChecksumError(DownloadError):
    """The downloaded file does not have the sha256 the catalogue expects."""


# ----------------------------------------------------------------------------- catalogue

_KNOWN_KEYS = {"id", "title", "publisher", "url", "datagouv", "resource", "filename", "mirror_path",
               "format", "extract", "licence", "vintage", "geography", "sha256", "regional",
               "region_filter", "regions", "optional", "page", "loader", "describes", "layout_checked"}


@dataclass
class Source:
    id: str
    title: str
    publisher: str
    format: str
    licence: str = "Licence Ouverte / Etalab 2.0"
    url: str | None = None
    datagouv: str | None = None
    resource: str | None = None
    filename: str = ""
    mirror_path: str | None = None
    extract: list[str] = field(default_factory=list)
    vintage: str | None = None
    geography: str | None = None
    sha256: str | None = None
    regional: bool = False
    region_filter: list[dict] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    optional: bool = False
    page: str | None = None
    loader: str | None = None          # the etl.loaders module that claims the laid files
    describes: str | None = None       # the year its figures describe, and how it is known
    layout_checked: bool = False       # its layout was checked on a file the producer published

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        sid = d.get("id", "?")
        unknown = set(d) - _KNOWN_KEYS
        if unknown:
            raise DownloadError(f"catalogue des sources, source « {sid} » : clé(s) inconnue(s) "
                                f"{', '.join(sorted(unknown))}")
        for key in ("id", "title", "publisher", "format"):
            if not d.get(key):
                raise DownloadError(f"catalogue des sources, source « {sid} » : clé « {key} » manquante")
        if not d.get("url") and not (d.get("datagouv") and d.get("resource")):
            raise DownloadError(f"catalogue des sources, source « {sid} » : il faut « url » ou "
                                "« datagouv » et « resource »")
        src = cls(**{k: v for k, v in d.items()})
        if isinstance(src.extract, str):
            src.extract = [src.extract]
        src.regions = [str(r) for r in src.regions]
        if src.sha256:
            src.sha256 = src.sha256.lower()
        if not src.filename:
            src.filename = PurePosixPath(urlparse(src.url or "").path).name
        if not src.filename or "/" in src.filename or src.filename.startswith("."):
            raise DownloadError(f"catalogue des sources, source « {sid} » : nom de fichier "
                                f"impossible à déduire, donnez « filename »")
        if src.regional and not src.region_filter:
            raise DownloadError(f"catalogue des sources, source « {sid} » : « regional » "
                                "sans règle « region_filter »")
        for rule in src.region_filter:
            if not rule.get("field") or rule.get("kind", "region") not in FILTER_KINDS:
                raise DownloadError(f"catalogue des sources, source « {sid} » : règle region_filter "
                                    f"invalide {rule} (il faut « field » et un « kind » parmi "
                                    f"{', '.join(FILTER_KINDS)})")
        return src

    @property
    def is_relative(self) -> bool:
        return bool(self.url) and not urlparse(self.url).scheme

    @property
    def expected(self) -> list[str]:
        """The files this source lays out (names or glob patterns; "!pattern": left out)."""
        return [("sauf " + p[1:]) if p.startswith("!") else p for p in self.extract] or [self.filename]

    def mirror_relpath(self) -> str:
        if self.is_relative:
            return self.url.lstrip("/")
        return self.mirror_path or f"{self.id}/{self.filename}"


def load_catalogue(path: Path = CATALOGUE_FILE) -> tuple[str, list[Source]]:
    """Return (base_url, sources) from a TOML catalogue."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DownloadError(f"catalogue des sources {path} illisible : {exc}") from None
    sources = [Source.from_dict(d) for d in data.get("source", [])]
    for src in sources:
        for key in ("page", "loader"):
            if not getattr(src, key):
                raise DownloadError(f"catalogue des sources, source « {src.id} » : clé « {key} » manquante "
                                    "(chaque source nomme la page de son producteur et le chargeur de ses fichiers)")
    ids = [s.id for s in sources]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise DownloadError(f"catalogue des sources : identifiant(s) en double {', '.join(sorted(dup))}")
    return data.get("base_url", "") or "", sources


def cache_dir() -> Path:
    """The download cache: $ATLAS_CACHE, read at call time, else etl.config.CACHE_DIR."""
    env = os.environ.get("ATLAS_CACHE")
    return Path(env) if env else config.CACHE_DIR


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def warn(msg: str) -> None:
    print(f"Avertissement : {msg}", file=sys.stderr)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class Fetched:
    source: Source
    path: Path
    meta: dict
    status: str  # downloaded | not-modified | cache | cache-offline
