"""What an import file holds: the two kinds (schemes, actions), the template columns, the limits,
the code formats, and the text helpers shared by every step of an import."""
from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..loaders._geo_common import QPV2015_RE, QPV2024_RE

KINDS = ("schemes", "actions")


KIND_ALIASES = {"schemes": "schemes", "scheme": "schemes", "dispositifs": "schemes", "dispositif": "schemes",
                "actions": "actions", "action": "actions"}


KIND_FR = {"schemes": "dispositifs", "actions": "actions"}


KIND_FR_DE = {"schemes": "de dispositifs", "actions": "d'actions"}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    required: bool
    help: str          # French, shown in the XLSX template and mirrored in docs/import.md
    max_len: int = 300


COLUMNS: dict[str, list[ColumnSpec]] = {
    "schemes": [
        ColumnSpec("id_dispositif", True, "Identifiant stable du dispositif, choisi par vous (ex. ASV-13-001). "
                   "C'est la clé : réimporter le même identifiant met la ligne à jour.", 100),
        ColumnSpec("type", True, "ASV, CLS, CLSM ou CPTS (ou le nom en toutes lettres).", 100),
        ColumnSpec("nom", True, "Nom du dispositif."),
        ColumnSpec("porteur", False, "Structure porteuse (mairie, CCAS, association...)."),
        ColumnSpec("annee_creation", False, "Année de création : 2012, ou une date (01/09/2012)."),
        ColumnSpec("statut", False, "actif, en projet ou terminé."),
        ColumnSpec("communes", False, "Codes INSEE des communes couvertes, séparés par | ou par des virgules.",
                   100_000),
        ColumnSpec("qpv", False, "Codes des QPV couverts (2024 : QN..., ou 2015 : QP..., convertis en 2024), "
                   "séparés par | ou par des virgules.", 100_000),
        ColumnSpec("site_web", False, "Adresse du site (https://... ou www....).", 500),
    ],
    "actions": [
        ColumnSpec("id_action", True, "Identifiant stable de l'action, choisi par vous (ex. ACT-2024-001). "
                   "C'est la clé : réimporter le même identifiant met la ligne à jour.", 100),
        ColumnSpec("titre", True, "Titre de l'action.", 500),
        ColumnSpec("description", False, "Description libre.", 20000),
        ColumnSpec("annee_debut", True, "Année de début : 2024, ou une date (15/03/2024)."),
        ColumnSpec("annee_fin", False, "Année de fin (vide si en cours)."),
        ColumnSpec("porteur", False, "Structure qui porte l'action."),
        ColumnSpec("thematiques", True, "Une ou plusieurs thématiques (identifiant ou libellé), séparées par |.", 2000),
        ColumnSpec("publics", False, "Publics visés (identifiant ou libellé), séparés par |.", 2000),
        ColumnSpec("qpv", False, "Code du QPV (2024 : QN..., ou 2015 : QP..., converti en 2024)."),
        ColumnSpec("commune", False, "Code INSEE de la commune (5 caractères)."),
        ColumnSpec("longitude", False, "Longitude en degrés décimaux WGS84 (ex. 5,3698)."),
        ColumnSpec("latitude", False, "Latitude en degrés décimaux WGS84 (ex. 43,2965)."),
        ColumnSpec("adresse", False, "Adresse postale, géocodée par la Base adresse nationale (BAN) quand "
                   "aucune coordonnée n'est donnée."),
        ColumnSpec("id_dispositif", False, "Identifiant du dispositif (ASV, CLS...) auquel l'action est rattachée.", 100),
        ColumnSpec("financeurs", False, "Financeurs, séparés par |.", 1000),
    ],
}


REQUIRED = {k: [c.name for c in v if c.required] for k, v in COLUMNS.items()}


SPEC = {k: {c.name: c for c in v} for k, v in COLUMNS.items()}


SCHEME_TYPES = {"asv": "ASV", "cls": "CLS", "clsm": "CLSM", "cpts": "CPTS",
                "atelier sante ville": "ASV", "ateliers sante ville": "ASV", "contrat local de sante": "CLS",
                "conseil local de sante mentale": "CLSM",
                "communaute professionnelle territoriale de sante": "CPTS"}


SCHEME_STATUS = {"actif": "actif", "active": "actif", "en projet": "en projet", "projet": "en projet",
                 "termine": "terminé", "terminee": "terminé"}


# Budgets of one import (docs/import.md), read at call time (module attributes: a caller may change
# them). Each is checked while the file is streamed; the reading time stays under gunicorn's 120 s
# worker timeout (Makefile `serve`), so that the Importer page always answers with a message.
MAX_FILE_MB = int(os.environ.get("ATLAS_IMPORT_MAX_MB", "25"))          # bytes of the file as sent
MAX_ROWS = 200_000                                                      # data rows
MAX_CELLS = 4_000_000                                                   # cells read, empty ones included
MAX_CELL_CHARS = 100_000                                                # characters in one cell
MAX_XLSX_UNCOMPRESSED = 150 * 1024 * 1024                               # a workbook once unzipped
MAX_READ_SECONDS = float(os.environ.get("ATLAS_IMPORT_MAX_SECONDS", "60"))   # reading the file
HEADER_SCAN_ROWS = 30


YEAR_MIN, YEAR_MAX = 1950, 2100


EXCEL_EPOCH = dt.date(1899, 12, 30)


# Rectangles around France (metropolitan and overseas territories), lon/lat.
FRANCE_BOXES = {
    "France métropolitaine": (-5.5, 41.2, 9.8, 51.3),
    "Guadeloupe": (-61.9, 15.8, -60.9, 16.6),
    "Martinique": (-61.3, 14.3, -60.7, 14.95),
    "Guyane": (-54.7, 2.0, -51.5, 6.0),
    "La Réunion": (55.1, -21.5, 55.95, -20.8),
    "Mayotte": (44.9, -13.1, 45.4, -12.5),
    "Saint-Martin": (-63.2, 18.0, -62.9, 18.15),
    "Saint-Pierre-et-Miquelon": (-56.5, 46.7, -56.1, 47.2),
}


BAN_URL = "https://api-adresse.data.gouv.fr/search/"


BAN_MIN_SCORE = 0.5


# One definition of the ANCT code formats (Corsica included: QN02A01M, QP02A001).
_QPV2024_RE = QPV2024_RE


_QPV2015_RE = QPV2015_RE


_COMMUNE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


_URL_RE = re.compile(r"^(https?://|www\.)[^\s<>\"'`]+$", re.IGNORECASE)


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


_FLOAT_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _clip(s: str, n: int) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


@functools.lru_cache(maxsize=65536)
def norm_label(s: str) -> str:
    """Case-, accent- and punctuation-insensitive form used to match labels and headers."""
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = (s.replace("\u2019", "'").replace("\u2018", "'").replace("œ", "oe").replace("Œ", "oe")
         .replace("æ", "ae").replace("Æ", "ae"))
    return re.sub(r"[\s_\-\u00a0\u2010-\u2015]+", " ", s.lower()).strip()


def norm_header(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", norm_label(s)).strip("_")


def _cell_text(v: Any) -> str:
    """A spreadsheet cell as text, as a user would read it."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        return "VRAI" if v else "FAUX"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(getattr(v, "text", v)).strip()   # openpyxl ArrayFormula and the like


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _kind(kind: str) -> str:
    try:
        return KIND_ALIASES[str(kind).lower()]
    except KeyError:
        raise ValueError(f"unknown import kind {kind!r} (expected one of {KINDS})") from None


def safe_file_name(name, default: str = "fichier") -> str:
    """A file name as the user gave it, made harmless before any use (reports, archive names,
    messages): its last path part only, control characters (NUL included) and path separators
    removed, leading dots dropped, at most 150 characters; `default` when nothing is left."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if c.isprintable() and c not in "/\\").strip().lstrip(".").strip()
    if len(text) > 150:
        stem, dot, ext = text.rpartition(".")
        text = (stem[:140] + "." + ext[:9]) if dot and len(ext) <= 9 else text[:150]
    return text or default
