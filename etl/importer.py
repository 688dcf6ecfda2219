"""Import users' files: local health schemes (ASV, CLS, CLSM, CPTS) and actions.

Public API (also meant for the app's "Importer" page):

    report = validate(data_or_path, "actions", db=DB, filename="x.csv")   # read-only, nothing written
    report = apply(data_or_path, "actions", db=DB, quarantine=False)      # single-writer path
    report.ok, report.errors, report.warnings, report.needs_coordinates, report.to_frame()
    import_into(con, path, kind, ...)   # inside an open connection (build loader, tests)
    safe_cell(value), write_safe_csv(...), write_safe_xlsx(...)           # from etl.safe_export (no live formulas)

Files are CSV (UTF-8 with or without BOM, or Excel's Windows-1252; ';', ',' or tab) or
XLSX, in the templates documented in docs/import.md, or in another layout described by
a column-mapping TOML file. Every row is validated first; by default a single error
rejects the whole file (nothing is written). With `quarantine=True` the valid rows are
loaded and the rejected ones are kept in `import_quarantine` with their reasons and the
raw row as JSON. Rows are keyed by id_dispositif / id_action: re-importing a file
changes nothing, a corrected file updates the rows in place.
"""
from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import functools
import hashlib
import html
import io
import json
import math
import os
import re
import sys
import tomllib
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import DATA_DIR, resolve_db_path
from .context import BuildContext
from .db import connect_snapshot, load_spatial
from .loaders._geo_common import QPV2015_RE, QPV2024_RE
from . import archive as archive_store
from .archive import archived_imports  # noqa: F401  (public name kept)
from .dbswap import updated_copy, writer_lock
from .errors import InputError
from .readers import decode_text
# Safe exports (formula injection): one implementation, shared with the app's table
# downloads (components/tables.py); re-exported here as part of the importer's API.
from .safe_export import is_formula_like, safe_cell, safe_xlsx_cell, write_safe_csv, write_safe_xlsx  # noqa: F401

# ---------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------

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

# ---------------------------------------------------------------------------
# Limits (documented in docs/import.md)
# ---------------------------------------------------------------------------

MAX_FILE_MB = int(os.environ.get("ATLAS_IMPORT_MAX_MB", "25"))
MAX_ROWS = 200_000
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024
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

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

LEVEL_FR = {"error": "erreur", "warning": "avertissement", "locate": "à localiser"}


@dataclass
class Problem:
    """One finding about the file: a row (spreadsheet row number), a column, a value, a reason."""
    row: int | None
    column: str | None
    value: str | None
    reason: str
    level: str = "error"   # error | warning | locate (an address to geocode: coordinates needed)

    def __str__(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"ligne {self.row}")
        if self.column:
            parts.append(f"colonne « {self.column} »")
        if self.value not in (None, ""):
            parts.append(f"valeur « {_clip(self.value, 80)} »")
        where = ", ".join(parts)
        return f"{where} : {self.reason}" if where else self.reason


@dataclass
class ImportReport:
    kind: str
    file_name: str
    sha256: str = ""
    size: int = 0
    mode: str = "all-or-nothing"          # or 'quarantine'
    n_rows: int = 0
    n_inserted: int = 0
    n_updated: int = 0
    n_unchanged: int = 0
    n_rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    fatal: bool = False                   # a file-level error: nothing can be loaded
    applied: bool = False                 # the DB was changed (or the rows were written in the build)
    import_id: int | None = None
    sheet: str | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignored_columns: list[str] = field(default_factory=list)

    # -- views ------------------------------------------------------------
    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def needs_coordinates(self) -> list[Problem]:
        """Rows whose address could not be geocoded: give longitude/latitude."""
        return [p for p in self.problems if p.level == "locate"]

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({p.row for p in self.errors if p.row is not None})

    @property
    def ok(self) -> bool:
        """No error at all: the file can be imported as a whole."""
        return not self.fatal and not self.errors

    def loadable(self, quarantine: bool | None = None) -> bool:
        """Whether an import would write something (all-or-nothing needs no error)."""
        q = self.mode == "quarantine" if quarantine is None else quarantine
        return not self.fatal and (q or not self.errors)

    @property
    def n_valid(self) -> int:
        return self.n_rows - len(self.rejected_rows)

    # -- output -----------------------------------------------------------
    def to_records(self) -> list[dict]:
        return [{"gravite": LEVEL_FR[p.level], "ligne": p.row, "colonne": p.column, "valeur": p.value,
                 "motif": p.reason} for p in self.problems]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_records(), columns=["gravite", "ligne", "colonne", "valeur", "motif"])

    def to_dict(self) -> dict:
        """JSON-serialisable form (e.g. for a dcc.Store)."""
        d = asdict(self)
        d.update(ok=self.ok, n_valid=self.n_valid, rejected_rows=self.rejected_rows)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ImportReport":
        d = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        d["problems"] = [Problem(**p) for p in d.get("problems", [])]
        return cls(**d)

    def raise_for_errors(self) -> None:
        """Raise InputError naming the first error (used by the build: all-or-nothing)."""
        errs = self.errors
        if not errs:
            return
        first = errs[0]
        more = f" (et {len(errs) - 1} autre(s) erreur(s))" if len(errs) > 1 else ""
        raise InputError(self.file_name, first.row, first.column, first.reason + more, first.value)

    def status_text(self) -> str:
        if self.fatal:
            return "Import refusé : le fichier ne peut pas être lu. La base n'a pas été modifiée."
        if self.applied:
            if self.mode == "quarantine" and self.n_rejected:
                return (f"Import effectué : {self.n_valid} ligne(s) valide(s) chargée(s), "
                        f"{self.n_rejected} ligne(s) rejetée(s) mise(s) en quarantaine.")
            return "Import effectué."
        if self.errors and self.mode != "quarantine":
            return ("Import refusé (tout ou rien) : aucune ligne n'a été chargée, la base n'a pas été modifiée. "
                    "Corrigez les erreurs, ou relancez avec --quarantine pour charger les lignes valides.")
        return "Validation seulement : rien n'a été écrit."

    def how_read(self) -> str:
        """How the file was read: sheet, encoding, separator, header line (French)."""
        how = []
        if self.sheet:
            how.append(f"feuille « {self.sheet} »")
        if self.encoding:
            how.append(f"encodage {self.encoding}")
        if self.delimiter:
            how.append("séparateur « " + ("tabulation" if self.delimiter == "\t" else self.delimiter) + " »")
        if self.header_row:
            how.append(f"en-tête ligne {self.header_row}")
        return ", ".join(how)

    def summary(self, max_lines: int = 20) -> str:
        """French multi-line summary for the terminal."""
        lines = [f"Import des {KIND_FR[self.kind]} : {self.file_name}"
                 + (f" (sha256 {self.sha256[:12]}…)" if self.sha256 else "")]
        if self.sheet or self.encoding:
            lines.append("  Lu : " + self.how_read())
        if not self.fatal:
            lines.append(f"  Lignes lues : {self.n_rows} — valides : {self.n_valid}, rejetées : {len(self.rejected_rows)}")
            verb = "" if self.applied else " (prévu)"
            lines.append(f"  Nouvelles : {self.n_inserted}, mises à jour : {self.n_updated}, "
                         f"inchangées : {self.n_unchanged}{verb}")
            lines.append(f"  Avertissements : {len(self.warnings)} ; "
                         f"à localiser (coordonnées à fournir) : {len(self.needs_coordinates)}")
        for title, items in (("Erreurs", self.errors), ("À localiser", self.needs_coordinates),
                             ("Avertissements", self.warnings)):
            if items:
                lines.append(f"{title} ({len(items)}) :")
                for p in items[:max_lines]:
                    lines.append(f"  - {p}")
                if len(items) > max_lines:
                    lines.append(f"  … et {len(items) - max_lines} de plus (voir le rapport CSV/HTML)")
        lines.append(self.status_text())
        return "\n".join(lines)

    def write_csv(self, target) -> None:
        write_safe_csv(target, ["gravite", "ligne", "colonne", "valeur", "motif"],
                       [[r["gravite"], r["ligne"], r["colonne"], r["valeur"], r["motif"]] for r in self.to_records()])

    def to_html(self) -> str:
        e = html.escape
        head = [
            ("Fichier", self.file_name), ("Type", KIND_FR[self.kind]), ("SHA-256", self.sha256),
            ("Mode", "quarantaine" if self.mode == "quarantine" else "tout ou rien"),
            ("Lignes lues", self.n_rows), ("Lignes valides", self.n_valid),
            ("Lignes rejetées", len(self.rejected_rows)), ("Nouvelles", self.n_inserted),
            ("Mises à jour", self.n_updated), ("Inchangées", self.n_unchanged),
            ("Avertissements", len(self.warnings)), ("À localiser", len(self.needs_coordinates)),
        ]
        rows = "\n".join(
            f"<tr class=\"{e(p.level)}\"><td>{e(LEVEL_FR[p.level])}</td><td>{'' if p.row is None else p.row}</td>"
            f"<td>{e(p.column or '')}</td><td>{e(_clip(p.value or '', 300))}</td><td>{e(p.reason)}</td></tr>"
            for p in self.problems)
        meta = "\n".join(f"<tr><th scope=\"row\">{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in head)
        return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8">
<title>Rapport d'import – {e(self.file_name)}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}} table{{border-collapse:collapse;margin:1rem 0}}
th,td{{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}}
tr.error td:first-child{{color:#a00000;font-weight:bold}} tr.locate td:first-child{{color:#7a4b00}}
td{{white-space:pre-wrap;overflow-wrap:break-word}} td:nth-child(2),td:nth-child(3){{white-space:nowrap}}
</style></head><body>
<h1>Rapport d'import des {e(KIND_FR[self.kind])}</h1>
<p><strong>{e(self.status_text())}</strong></p>
<table>{meta}</table>
<h2>Détail ({len(self.problems)})</h2>
<table><thead><tr><th>Gravité</th><th>Ligne</th><th>Colonne</th><th>Valeur</th><th>Motif</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""

    def write(self, folder: str | os.PathLike) -> tuple[Path, Path]:
        """Write rapport-import-<kind>-<date>.csv and .html into `folder`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = folder / f"rapport-import-{KIND_FR[self.kind]}-{stamp}-{Path(self.file_name).stem[:40]}"
        csv_path, html_path = base.with_suffix(".csv"), base.with_suffix(".html")
        self.write_csv(csv_path)
        html_path.write_text(self.to_html(), encoding="utf-8")
        return csv_path, html_path


class _Fatal(Exception):
    def __init__(self, reason: str, row: int | None = None, column: str | None = None, value=None):
        super().__init__(reason)
        self.problem = Problem(row, column, None if value is None else str(value), reason)


def _clip(s: str, n: int) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


# ---------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Column mapping
# ---------------------------------------------------------------------------

@dataclass
class Mapping:
    """Column mapping for files whose headers differ from the template (TOML, see docs/import.md)."""
    columns: dict[str, list[str]] = field(default_factory=dict)   # template column -> source column(s)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # template column -> {norm(source value): value}
    sheet: str | None = None
    list_separator: str | None = None
    name: str = "correspondance"

    def translate(self, column: str, text: str) -> str:
        table = self.values.get(column)
        if not table:
            return text
        return table.get(norm_label(text), text)


def load_mapping(source: str | os.PathLike | dict, kind: str | None = None) -> Mapping:
    """Read a column-mapping TOML file (or an already parsed dict)."""
    name = "correspondance"
    if isinstance(source, dict):
        doc = source
    else:
        path = Path(source)
        name = path.name
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise InputError(path, None, None, "fichier de correspondance introuvable") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(path, None, None, f"fichier de correspondance illisible (TOML attendu) : {exc}") from None
    allowed = set(SPEC[_kind(kind)]) if kind else set(SPEC["schemes"]) | set(SPEC["actions"])
    unknown_sections = set(doc) - {"colonnes", "valeurs", "fichier", "listes"}
    if unknown_sections:
        raise InputError(name, None, None, f"section(s) inconnue(s) : {', '.join(sorted(unknown_sections))} "
                         "(sections possibles : colonnes, valeurs, fichier, listes)")
    m = Mapping(name=name)
    for col, src in (doc.get("colonnes") or {}).items():
        if col not in allowed:
            raise InputError(name, None, f"colonnes.{col}", "colonne du modèle inconnue ; colonnes possibles : "
                             + ", ".join(sorted(allowed)))
        srcs = [src] if isinstance(src, str) else src
        if not isinstance(srcs, list) or not srcs or not all(isinstance(s, str) and s.strip() for s in srcs):
            raise InputError(name, None, f"colonnes.{col}",
                             "valeur attendue : un nom de colonne, ou une liste de noms de colonnes", src)
        m.columns[col] = [s.strip() for s in srcs]
    for col, table in (doc.get("valeurs") or {}).items():
        if col not in allowed or not isinstance(table, dict):
            raise InputError(name, None, f"valeurs.{col}", "table de valeurs pour une colonne du modèle attendue")
        m.values[col] = {norm_label(k): str(v) for k, v in table.items()}
    fichier = doc.get("fichier") or {}
    m.sheet = fichier.get("feuille")
    m.list_separator = (doc.get("listes") or {}).get("separateur")
    return m


def _kind(kind: str) -> str:
    try:
        return KIND_ALIASES[str(kind).lower()]
    except KeyError:
        raise ValueError(f"unknown import kind {kind!r} (expected one of {KINDS})") from None


# ---------------------------------------------------------------------------
# Reading CSV / XLSX
# ---------------------------------------------------------------------------

@dataclass
class _Table:
    header: list[str]                       # header cells as written
    cols: dict[str, list[int]]              # template column -> source column indexes
    rows: list[tuple[int, list[Any]]]       # (spreadsheet row number, cells)
    header_row: int
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignored: list[str] = field(default_factory=list)

    def display(self, col: str) -> str:
        """Column name for messages: the user's header, with the template name when different."""
        idx = self.cols.get(col)
        if not idx:
            return col
        names = " + ".join(self.header[i] for i in idx)
        return names if norm_header(names) == col else f"{names} ({col})"


def _match_header(cells: list[Any], kind: str, mapping: Mapping | None) -> tuple[dict, list[str]] | None:
    """Return (template column -> indexes, ignored headers) if `cells` is the header row."""
    texts = [_cell_text(c) for c in cells]
    normed = [norm_header(t) for t in texts]
    cols: dict[str, list[int]] = {}
    used: set[int] = set()
    for spec in COLUMNS[kind]:
        wanted = mapping.columns.get(spec.name) if mapping else None
        if wanted:
            idx = []
            for w in wanted:
                hits = [i for i, n in enumerate(normed) if n == norm_header(w)]
                if not hits:
                    idx = None
                    break
                idx.append(hits[0])
            if idx:
                cols[spec.name] = idx
                used.update(idx)
        else:
            hits = [i for i, n in enumerate(normed) if n == spec.name and i not in used]
            if len(hits) > 1:
                raise _Fatal(f"colonne « {spec.name} » présente plusieurs fois dans l'en-tête (colonnes "
                             + ", ".join(_col_letter(i) for i in hits) + ")", column=spec.name)
            if hits:
                cols[spec.name] = hits
                used.update(hits)
    if not all(r in cols for r in REQUIRED[kind]):
        return None
    ignored = [t for i, t in enumerate(texts) if i not in used and t]
    return cols, ignored


def _header_hint(kind: str, first_rows: list[list[Any]], mapping: Mapping | None) -> str:
    other = "actions" if kind == "schemes" else "schemes"
    for cells in first_rows:
        try:
            if _match_header(cells, other, None):
                cmd = "import actions" if other == "actions" else "import schemes"
                return (f" Ce fichier ressemble à un fichier {KIND_FR_DE[other]} : utilisez « {cmd} ».")
        except _Fatal:
            pass
    seen = next((r for r in first_rows if any(_cell_text(c) for c in r)), None)
    shown = "" if seen is None else " Première ligne lue : « " + _clip(
        " | ".join(_cell_text(c) for c in seen if _cell_text(c)), 200) + " »."
    if mapping:
        missing = [c for c in REQUIRED[kind] if c in mapping.columns]
        return shown + (" Vérifiez les noms de colonnes du fichier de correspondance ("
                        + ", ".join(f"{c} = {mapping.columns[c]}" for c in missing) + ")." if missing else "")
    return shown + " Si votre fichier utilise d'autres noms de colonnes, fournissez un fichier de correspondance (--mapping)."


def _no_header(kind: str, first_rows, mapping) -> _Fatal:
    return _Fatal(f"en-tête introuvable : les colonnes obligatoires {', '.join(REQUIRED[kind])} n'apparaissent "
                  f"dans aucune des {HEADER_SCAN_ROWS} premières lignes." + _header_hint(kind, first_rows, mapping))


def _sniff_format(data: bytes, name: str) -> str:
    """'xlsx' or 'csv'; raises _Fatal for anything that is not a spreadsheet we read."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
                if "xl/workbook.xml" in names:
                    total = sum(i.file_size for i in z.infolist())
                    if total > MAX_XLSX_UNCOMPRESSED:
                        raise _Fatal(f"classeur trop volumineux une fois décompressé ({total // 2**20} Mo ; "
                                     f"maximum {MAX_XLSX_UNCOMPRESSED // 2**20} Mo)")
                    return "xlsx"
                if "mimetype" in names and b"opendocument.spreadsheet" in z.read("mimetype"):
                    raise _Fatal("format OpenDocument (.ods) non pris en charge : enregistrez le fichier "
                                 "en .xlsx ou en CSV")
        except zipfile.BadZipFile:
            raise _Fatal("archive ZIP corrompue : ce n'est pas un classeur XLSX lisible") from None
        raise _Fatal("archive ZIP qui n'est pas un classeur Excel (.xlsx)")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _Fatal("ancien format Excel (.xls, Excel 97-2003) non pris en charge : enregistrez le fichier "
                     "en .xlsx ou en CSV")
    if head.startswith(b"%PDF"):
        raise _Fatal("ce fichier est un PDF, pas un tableur : fournissez un fichier CSV ou XLSX")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv-utf16"
    if b"\x00" in data[:4096]:
        raise _Fatal("fichier binaire non reconnu : ce n'est pas un tableur CSV ou XLSX")
    return "csv"


def _read_csv(data: bytes, name: str, kind: str, mapping: Mapping | None, utf16: bool) -> _Table:
    if utf16:
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _Fatal("encodage UTF-16 invalide") from None
    else:
        try:
            text, encoding = decode_text(Path(name), data=data, allow_cp1252=True)
        except InputError as exc:
            raise _Fatal(exc.reason, row=exc.line if isinstance(exc.line, int) else None) from None
        if encoding == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8 (BOM)"
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise _Fatal("le fichier est vide")
    first_records: dict[str, list[list[str]]] = {}
    found = None
    for delim in (";", ",", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        recs = []
        try:
            for rec in reader:
                recs.append(rec)
                if len(recs) >= HEADER_SCAN_ROWS:
                    break
        except csv.Error:
            continue
        first_records[delim] = recs
        for i, rec in enumerate(recs):
            m = _match_header(rec, kind, mapping)
            if m:
                found = (delim, i + 1, m)
                break
        if found:
            break
    if not found:
        raise _no_header(kind, first_records.get(";") or first_records.get(",") or [], mapping)
    delim, header_row, (cols, ignored) = found
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    rows: list[tuple[int, list[Any]]] = []
    header: list[str] = []
    n = 0
    try:
        for n, rec in enumerate(reader, start=1):
            if n < header_row:
                continue
            if n == header_row:
                header = [c.strip() for c in rec]
                continue
            if not any(c.strip() for c in rec):
                continue
            rows.append((n, rec))
            if len(rows) > MAX_ROWS:
                raise _Fatal(f"trop de lignes : plus de {MAX_ROWS} (découpez le fichier)")
    except csv.Error as exc:
        raise _Fatal(f"CSV mal formé ({exc}) : vérifiez les guillemets", row=n + 1) from None
    return _Table(header, cols, rows, header_row, None, encoding, delim, ignored)


def _read_xlsx(data: bytes, name: str, kind: str, mapping: Mapping | None) -> _Table:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, XML errors...
        raise _Fatal(f"classeur XLSX illisible ou corrompu ({type(exc).__name__})") from None
    try:
        names = wb.sheetnames
        if mapping and mapping.sheet:
            if mapping.sheet not in names:
                raise _Fatal(f"feuille « {mapping.sheet} » absente du classeur (feuilles : {', '.join(names)})")
            names = [mapping.sheet]
        first_seen: list[list[Any]] = []
        for sheet in names:
            ws = wb[sheet]
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()   # trust the cells, not a possibly wrong <dimension>
            it = enumerate(ws.iter_rows(values_only=True), start=1)
            buffer = []
            found = None
            for r, cells in it:
                cells = list(cells)
                buffer.append((r, cells))
                m = _match_header(cells, kind, mapping)
                if m:
                    found = (r, cells, m)
                    break
                if len(buffer) >= HEADER_SCAN_ROWS:
                    break
            if not found:
                if not first_seen:
                    first_seen = [c for _, c in buffer]
                continue
            header_row, header_cells, (cols, ignored) = found
            rows = []
            for r, cells in it:
                if not any(_cell_text(c) for c in cells):
                    continue
                rows.append((r, list(cells)))
                if len(rows) > MAX_ROWS:
                    raise _Fatal(f"trop de lignes : plus de {MAX_ROWS} (découpez le fichier)")
            header = [_cell_text(c) for c in header_cells]
            return _Table(header, cols, rows, header_row, sheet, None, None, ignored)
        raise _no_header(kind, first_seen, mapping)
    finally:
        wb.close()


def _read(data: bytes, name: str, kind: str, mapping: Mapping | None) -> _Table:
    fmt = _sniff_format(data, name)
    if fmt == "xlsx":
        return _read_xlsx(data, name, kind, mapping)
    return _read_csv(data, name, kind, mapping, utf16=(fmt == "csv-utf16"))


def _source_bytes(source, filename: str | None) -> tuple[bytes, str]:
    """Accept a path, bytes, or a binary file object; enforce the size limit before reading."""
    limit = MAX_FILE_MB * 1024 * 1024
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise InputError(path, None, None, "fichier introuvable")
        size = path.stat().st_size
        if size > limit:
            raise _Fatal(_too_big(size))
        return path.read_bytes(), name
    if hasattr(source, "read"):
        data = source.read(limit + 1)
        name = filename or getattr(source, "name", "fichier")
    else:
        data = bytes(source)
        name = filename or "fichier"
    if len(data) > limit:
        raise _Fatal(_too_big(len(data)))
    return data, Path(str(name)).name


def _too_big(size: int) -> str:
    return (f"fichier trop volumineux : {size / 2**20:.1f} Mo, la taille maximale acceptée est de "
            f"{MAX_FILE_MB} Mo. Découpez-le en plusieurs fichiers (par année ou par territoire).")


def bytes_from_upload(contents: str) -> bytes:
    """Decode the `contents` of a dcc.Upload ('data:<mime>;base64,<data>')."""
    return base64.b64decode(contents.split(",", 1)[1] if "," in contents else contents)


def detect_kind(path: str | os.PathLike) -> str | None:
    """'schemes' or 'actions' if the file's header is one of the templates (cheap sniff)."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv", ".xlsx", ".xlsm"):
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(65536)
        if head.startswith(b"PK"):
            if path.stat().st_size > MAX_FILE_MB * 1024 * 1024:
                return None
            data = path.read_bytes()
        else:
            data = head.rsplit(b"\n", 1)[0] if len(head) == 65536 else head
        for kind in KINDS:
            try:
                _read(data, path.name, kind, None) if data.startswith(b"PK") else _read_csv_head(data, kind)
                return kind
            except (_Fatal, InputError):
                continue
    except OSError:
        return None
    return None


def _read_csv_head(data: bytes, kind: str) -> None:
    try:
        text, _ = decode_text(Path("x"), data=data, allow_cp1252=True)
    except InputError:
        raise _Fatal("illisible") from None
    lines = text.lstrip("\ufeff").splitlines()[:HEADER_SCAN_ROWS]
    for delim in (";", ",", "\t"):
        for rec in csv.reader(lines, delimiter=delim):
            if _match_header(rec, kind, None):
                return
    raise _Fatal("pas un modèle")


# ---------------------------------------------------------------------------
# Value parsers
# ---------------------------------------------------------------------------

class _Bad(Exception):
    """A cell-level validation error (reason in French)."""


def _parse_year(v: Any) -> int | None:
    """A year from '2021', 2021, an Excel date serial (44197), a date cell or a date text."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, (dt.datetime, dt.date)):
        year = v.year
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        year = _year_from_number(float(v))
    else:
        s = str(v).strip()
        if s.startswith("="):
            raise _Bad("formule Excel non acceptée : collez les valeurs (Collage spécial > Valeurs)")
        if re.fullmatch(r"\d+([.,]0+)?|\d+[.,]\d+", s):
            year = _year_from_number(float(s.replace(",", ".")))
        else:
            year = _year_from_date_text(s)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise _Bad(f"année hors de la plage acceptée ({YEAR_MIN}–{YEAR_MAX})")
    return year


def _year_from_number(x: float) -> int:
    if not math.isfinite(x):
        raise _Bad("année illisible")
    if x.is_integer() and YEAR_MIN <= x <= YEAR_MAX:
        return int(x)
    lo = (dt.date(YEAR_MIN, 1, 1) - EXCEL_EPOCH).days
    hi = (dt.date(YEAR_MAX, 12, 31) - EXCEL_EPOCH).days
    if lo <= x <= hi:   # an Excel date serial (days since 1899-12-30)
        return (EXCEL_EPOCH + dt.timedelta(days=int(x))).year
    raise _Bad(f"année illisible : attendu une année ({YEAR_MIN}–{YEAR_MAX}) ou une date")


_DATE_FORMS = [
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][\d:.]+)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?: [\d:.]+)?$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{1,2})[-/.](\d{4})$"), ("m", "y")),
]


def _year_from_date_text(s: str) -> int:
    for rx, parts in _DATE_FORMS:
        m = rx.match(s)
        if m:
            d = dict(zip(parts, (int(g) for g in m.groups())))
            try:
                dt.date(d["y"], d["m"], d.get("d", 1))
            except ValueError:
                raise _Bad("date invalide") from None
            return d["y"]
    if re.match(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$", s):
        raise _Bad("année sur deux chiffres ambiguë : écrivez l'année sur quatre chiffres")
    if re.match(r"^\d{4}\s*[-–/à]\s*\d{4}$", s):
        raise _Bad("une seule année attendue : mettez l'année de fin dans la colonne annee_fin")
    raise _Bad(f"année illisible : attendu une année ({YEAR_MIN}–{YEAR_MAX}) ou une date (JJ/MM/AAAA)")


def _parse_coord(s: str) -> float:
    t = s.replace("\u00a0", "").replace(" ", "")
    if not _FLOAT_RE.match(t):
        raise _Bad("nombre décimal attendu (degrés décimaux, ex. 5,3698)")
    return float(t.replace(",", "."))


def in_france(lon: float, lat: float) -> bool:
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in FRANCE_BOXES.values())


def _split_list(text: str, extra: str | None = None) -> list[str]:
    seps = "|\n" + (extra or "")
    parts = re.split("[" + re.escape(seps) + "]", text)
    return [p.strip() for p in parts if p.strip()]


def _split_codes(text: str, spaces: bool = True) -> list[str]:
    return [p.strip() for p in re.split(r"[\s,;|/]+" if spaces else r"[,;|/]+", text.strip()) if p.strip()]


def _norm_commune(code: str) -> str:
    c = code.strip().upper()
    if re.fullmatch(r"\d{4}", c):
        c = "0" + c   # Excel drops the leading zero of 01001...
    return c


# ---------------------------------------------------------------------------
# Geocoding (Base adresse nationale)
# ---------------------------------------------------------------------------

@dataclass
class GeoResult:
    lon: float
    lat: float
    score: float
    label: str
    citycode: str | None


class Geocoder:
    """BAN geocoder with an on-disk cache. Offline, only the cache is used.

    The search URL defaults to $ATLAS_BAN_URL, else https://api-adresse.data.gouv.fr/search/
    (the same API is served by the Géoplateforme: https://data.geopf.fr/geocodage/search)."""

    def __init__(self, base_url: str | None = None, cache_dir: str | os.PathLike | None = None,
                 offline: bool = False, timeout: float = 10.0, min_score: float = BAN_MIN_SCORE):
        self.base_url = base_url or os.environ.get("ATLAS_BAN_URL") or BAN_URL
        cache = cache_dir or Path(os.environ.get("ATLAS_CACHE") or (DATA_DIR / "cache")) / "ban"
        self.cache_dir = Path(cache)
        self.offline = offline
        self.timeout = timeout
        self.min_score = min_score
        self.unavailable_reason: str | None = None
        self._session = None

    def _cache_file(self, q: str, citycode: str | None) -> Path:
        key = hashlib.sha256(json.dumps([norm_label(q), citycode]).encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.json"

    def geocode(self, address: str, citycode: str | None = None) -> tuple[GeoResult | None, str | None]:
        """(result, None) or (None, French reason)."""
        q = " ".join(address.split())
        if len(q) < 3 or not q[0].isalnum():
            return None, "adresse trop courte ou mal formée pour le géocodage"
        if len(q) > 200:
            return None, "adresse trop longue pour le géocodage (200 caractères au plus)"
        cf = self._cache_file(q, citycode)
        if cf.exists():
            try:
                hit = json.loads(cf.read_text(encoding="utf-8"))
                return self._result(hit)
            except (OSError, ValueError):
                pass
        if self.offline:
            return None, "mode hors ligne : adresse non géocodée"
        if self.unavailable_reason:
            return None, self.unavailable_reason
        import requests

        params = {"q": q, "limit": 1}
        if citycode:
            params["citycode"] = citycode
        try:
            if self._session is None:
                self._session = requests.Session()
            r = self._session.get(self.base_url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            self.unavailable_reason = f"service d'adresses (BAN) injoignable ({type(exc).__name__}) : adresse non géocodée"
            return None, self.unavailable_reason
        if r.status_code >= 500 or r.status_code == 429:
            self.unavailable_reason = f"service d'adresses (BAN) indisponible (HTTP {r.status_code}) : adresse non géocodée"
            return None, self.unavailable_reason
        if r.status_code != 200:
            return None, f"adresse refusée par le service de géocodage (HTTP {r.status_code})"
        try:
            feats = r.json().get("features") or []
        except ValueError:
            return None, "réponse illisible du service de géocodage"
        hit: dict = {"found": False}
        if feats:
            f0 = feats[0]
            lon, lat = f0["geometry"]["coordinates"][:2]
            props = f0.get("properties", {})
            hit = {"found": True, "lon": float(lon), "lat": float(lat), "score": float(props.get("score", 0)),
                   "label": props.get("label", ""), "citycode": props.get("citycode")}
        cf.parent.mkdir(parents=True, exist_ok=True)
        tmp = cf.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(hit, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, cf)
        return self._result(hit)

    def _result(self, hit: dict) -> tuple[GeoResult | None, str | None]:
        if not hit.get("found"):
            return None, "adresse introuvable dans la Base adresse nationale"
        if hit["score"] < self.min_score:
            return None, (f"adresse trop imprécise (score {hit['score']:.2f} < {self.min_score} ; "
                          f"meilleure proposition : {hit.get('label', '')})")
        return GeoResult(hit["lon"], hit["lat"], hit["score"], hit.get("label", ""), hit.get("citycode")), None


# ---------------------------------------------------------------------------
# Reference lookups (territories, taxonomy, schemes)
# ---------------------------------------------------------------------------

@dataclass
class _Lookups:
    communes: dict[str, str | None]        # code -> parent commune (arrondissements) or None
    commune_names: dict[str, str]
    qpv2024: dict[str, str | None]         # code -> main commune
    qpv_names: dict[str, str]
    qpv_communes: dict[str, set[str]]
    corr2015: dict[str, list[str]]         # 2015 code -> 2024 successors
    schemes: set[str]
    themes: dict[str, str]                 # norm(id or label) -> id
    theme_list: str
    publics: dict[str, str]
    public_list: str

    @classmethod
    def load(cls, con) -> "_Lookups":
        communes, names = {}, {}
        for level, code, name, parent in con.execute(
                "SELECT level, code, name, commune FROM territory WHERE level IN ('commune', 'arrondissement')").fetchall():
            communes[code] = parent if level == "arrondissement" else None
            names[code] = name
        qpv, qnames = {}, {}
        for code, name, commune in con.execute(
                "SELECT code, name, commune FROM territory WHERE level = 'qpv' "
                "AND (generation = '2024' OR code LIKE 'QN%')").fetchall():
            qpv[code] = commune
            qnames[code] = name
        qc: dict[str, set[str]] = {}
        for q, c in con.execute("SELECT qpv_code, commune_code FROM qpv_commune").fetchall():
            qc.setdefault(q, set()).add(c)
        corr: dict[str, list[str]] = {}
        for q15, q24 in con.execute(
                "SELECT DISTINCT qpv2015, qpv2024 FROM qpv_correspondence WHERE qpv2015 IS NOT NULL "
                "ORDER BY 1, 2").fetchall():
            corr.setdefault(q15, []).append(q24)
        schemes = {r[0] for r in con.execute("SELECT scheme_id FROM scheme").fetchall()}
        themes, tl = {}, []
        for tid, label in con.execute("SELECT theme_id, label FROM theme ORDER BY sort").fetchall():
            themes[norm_label(tid)] = tid
            themes[norm_label(label)] = tid
            tl.append(f"{tid} ({label})")
        publics, pl = {}, []
        for pid, label in con.execute("SELECT public_id, label FROM public_group ORDER BY sort").fetchall():
            publics[norm_label(pid)] = pid
            publics[norm_label(label)] = pid
            pl.append(f"{pid} ({label})")
        return cls(communes, names, qpv, qnames, qc, corr, schemes, themes, "; ".join(tl), publics, "; ".join(pl))


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

class _RowCtx:
    def __init__(self, rownum: int, table: _Table, cells: list[Any], mapping: Mapping | None, report: ImportReport):
        self.rownum = rownum
        self.table = table
        self.cells = cells
        self.mapping = mapping
        self.report = report
        self.n_errors = 0

    def raw(self, col: str) -> Any:
        idx = self.table.cols.get(col)
        if not idx:
            return None
        n = len(self.cells)
        if len(idx) == 1:
            return self.cells[idx[0]] if idx[0] < n else None
        vals = [self.cells[i] if i < n else None for i in idx]
        sep = " | " if col in ("thematiques", "publics", "financeurs", "communes", "qpv") else " "
        return sep.join(t for t in (_cell_text(v) for v in vals) if t)

    def text(self, col: str) -> str:
        return _cell_text(self.raw(col))

    def error(self, col: str | None, value: Any, reason: str) -> None:
        self.n_errors += 1
        self.report.problems.append(Problem(self.rownum, self.table.display(col) if col else None,
                                            None if value is None else _clip(_cell_text(value), 500), reason))

    def warn(self, col: str | None, value: Any, reason: str, level: str = "warning") -> None:
        self.report.problems.append(Problem(self.rownum, self.table.display(col) if col else None,
                                            None if value is None else _clip(_cell_text(value), 500), reason, level))

    def raw_json(self) -> str:
        out = {}
        for i, v in enumerate(self.cells):
            key = self.table.header[i] if i < len(self.table.header) and self.table.header[i] else f"colonne_{_col_letter(i)}"
            if v is not None and _cell_text(v) != "":
                out[key] = _cell_text(v)
        return json.dumps(out, ensure_ascii=False)

    def str_field(self, col: str, required: bool = False) -> str | None:
        raw = self.raw(col)
        s = _cell_text(raw)
        if self.mapping and col not in ("thematiques", "publics"):
            s = self.mapping.translate(col, s)
        if not s:
            if required:
                self.error(col, raw, "valeur obligatoire manquante")
            return None
        spec = SPEC[self.report.kind].get(col)
        if spec and len(s) > spec.max_len:
            self.error(col, s, f"texte trop long ({len(s)} caractères ; maximum {spec.max_len})")
            return None
        bad = _CONTROL_RE.search(s)
        if bad:
            self.error(col, s, f"caractère de contrôle non autorisé (U+{ord(bad.group()):04X})")
            return None
        return s

    def year_field(self, col: str, required: bool = False) -> int | None:
        raw = self.raw(col)
        if _cell_text(raw) == "":
            if required:
                self.error(col, raw, "année obligatoire manquante")
            return None
        try:
            return _parse_year(raw)
        except _Bad as exc:
            self.error(col, raw, str(exc))
            return None

    def terms(self, col: str, index: dict[str, str], allowed: str, what: str, required: bool) -> list[str]:
        raw_text = self.text(col)
        if not raw_text:
            if required:
                self.error(col, raw_text, f"au moins une {what} est obligatoire ; valeurs possibles : {allowed}")
            return []
        extra = self.mapping.list_separator if self.mapping else None
        out: list[str] = []
        unknown = 0
        for item in _split_list(raw_text, extra):
            translated = self.mapping.translate(col, item) if self.mapping else item
            if translated.strip() == "":
                continue  # mapped to nothing on purpose
            hit = index.get(norm_label(translated))
            if hit is None and re.search(r"[,;]", translated):
                parts = [p.strip() for p in re.split(r"[,;]", translated) if p.strip()]
                hits = [index.get(norm_label(self.mapping.translate(col, p) if self.mapping else p)) for p in parts]
                if parts and all(hits):
                    out.extend(h for h in hits if h not in out)
                    continue
            if hit is None:
                unknown += 1
                self.error(col, item, f"{what} inconnue « {item} » ; valeurs possibles (identifiant ou libellé) : {allowed}")
                continue
            if hit not in out:
                out.append(hit)
        if required and not out and not unknown:
            self.error(col, raw_text, f"au moins une {what} est obligatoire")
        return out


def _commune_code(row: _RowCtx, col: str, value: str, lk: _Lookups) -> str | None:
    code = _norm_commune(value)
    if not _COMMUNE_RE.match(code):
        row.error(col, value, "code commune INSEE mal formé (5 caractères attendus, ex. 13055 ou 2A004)")
        return None
    if code not in lk.communes:
        row.error(col, value, "code commune inconnu : absent des communes chargées dans la base")
        return None
    parent = lk.communes[code]
    if parent:
        row.warn(col, value, f"arrondissement municipal rattaché à sa commune {parent}")
        code = parent
    elif code != value.strip():
        row.warn(col, value, f"code commune complété en {code} (zéro initial perdu par le tableur)")
    return code


def _qpv_codes(row: _RowCtx, col: str, value: str, lk: _Lookups) -> tuple[list[str], str | None] | None:
    """2024 code(s) for one QPV code as given. Returns (codes, 2015 code if mapped) or None on error."""
    code = value.strip().upper()
    if _QPV2024_RE.match(code):
        if code not in lk.qpv2024:
            row.error(col, value, "code QPV 2024 inconnu : absent des QPV chargés dans la base")
            return None
        return [code], None
    if _QPV2015_RE.match(code):
        succ = [c for c in lk.corr2015.get(code, []) if c in lk.qpv2024] or lk.corr2015.get(code, [])
        if not succ:
            row.error(col, value, "code QPV 2015 sans successeur 2024 dans la table de correspondance "
                                  "(quartier sorti de la géographie prioritaire, ou code inconnu) : "
                                  "indiquez la commune ou un code QPV 2024")
            return None
        return succ, code
    row.error(col, value, "code QPV mal formé : attendu QN + 3 + 2 chiffres + lettre (2024, ex. QN01301M) "
                          "ou QP + 6 caractères (2015, ex. QP013001)")
    return None


def _validate_scheme(row: _RowCtx, lk: _Lookups) -> dict | None:
    rec: dict[str, Any] = {"_row": row.rownum}
    rec["scheme_id"] = row.str_field("id_dispositif", required=True)
    t = row.str_field("type", required=True)
    if t is not None:
        kind = SCHEME_TYPES.get(norm_label(t))
        if kind is None:
            row.error("type", t, "type de dispositif inconnu ; valeurs possibles : ASV, CLS, CLSM, CPTS")
        rec["kind"] = kind
    rec["name"] = row.str_field("nom", required=True)
    rec["porteur"] = row.str_field("porteur")
    rec["year_created"] = row.year_field("annee_creation")
    st = row.str_field("statut")
    rec["status"] = None
    if st is not None:
        rec["status"] = SCHEME_STATUS.get(norm_label(st))
        if rec["status"] is None:
            row.error("statut", st, "statut inconnu ; valeurs possibles : actif, en projet, terminé")
    url = row.str_field("site_web")
    if url is not None and not _URL_RE.match(url):
        row.error("site_web", url, "adresse web invalide : elle doit commencer par https://, http:// ou www.")
        url = None
    rec["contact_url"] = url
    territories: list[tuple[str, str]] = []
    communes_txt = row.str_field("communes")
    for c in _split_codes(communes_txt or ""):
        code = _commune_code(row, "communes", c, lk)
        if code and ("commune", code) not in territories:
            territories.append(("commune", code))
    qpv_txt = row.str_field("qpv")
    for q in _split_codes(qpv_txt or ""):
        res = _qpv_codes(row, "qpv", q, lk)
        if res:
            codes, given = res
            if given:
                row.warn("qpv", q, "QPV 2015 remplacé par son (ses) successeur(s) 2024 : " + ", ".join(codes))
            for code in codes:
                if ("qpv", code) not in territories:
                    territories.append(("qpv", code))
    rec["territories"] = tuple(sorted(territories))
    if row.n_errors == 0 and not territories:
        row.warn("communes", None, "aucun territoire couvert (communes ou qpv) : le dispositif n'apparaîtra pas sur la carte")
    return rec if row.n_errors == 0 else None


def _validate_action(row: _RowCtx, lk: _Lookups) -> dict | None:
    rec: dict[str, Any] = {"_row": row.rownum}
    rec["action_id"] = row.str_field("id_action", required=True)
    rec["title"] = row.str_field("titre", required=True)
    rec["description"] = row.str_field("description")
    rec["year_start"] = row.year_field("annee_debut", required=True)
    rec["year_end"] = row.year_field("annee_fin")
    if rec["year_start"] and rec["year_end"] and rec["year_end"] < rec["year_start"]:
        row.error("annee_fin", row.raw("annee_fin"), f"année de fin antérieure à l'année de début ({rec['year_start']})")
    rec["porteur"] = row.str_field("porteur")
    rec["themes"] = tuple(sorted(row.terms("thematiques", lk.themes, lk.theme_list, "thématique", True)))
    rec["publics"] = tuple(sorted(row.terms("publics", lk.publics, lk.public_list, "catégorie de public", False)))
    rec["funders"] = row.str_field("financeurs")
    rec["address"] = row.str_field("adresse")
    sid = row.str_field("id_dispositif")
    if sid is not None and sid not in lk.schemes:
        row.error("id_dispositif", sid, "dispositif inconnu : importez d'abord le fichier des dispositifs, "
                                        "ou corrigez l'identifiant")
    rec["scheme_id"] = sid
    # Location: QPV and commune codes, coordinates.
    rec["qpv_code"] = rec["qpv_code_given"] = rec["commune_code"] = None
    rec["_qpv_choices"] = None
    qtxt = row.str_field("qpv")
    if qtxt:
        codes = _split_codes(qtxt, spaces=False)
        if not codes:
            row.error("qpv", qtxt, "aucun code de QPV lisible (seulement des séparateurs)")
        elif len(codes) > 1:
            row.error("qpv", qtxt, "une action se rattache à un seul QPV ; pour une action sur plusieurs "
                                   "quartiers, indiquez la commune ou le dispositif")
        else:
            res = _qpv_codes(row, "qpv", codes[0], lk)
            if res:
                found, given = res
                rec["qpv_code_given"] = given
                if len(found) == 1:
                    rec["qpv_code"] = found[0]
                else:
                    rec["_qpv_choices"] = found
    ctxt = row.str_field("commune")
    if ctxt:
        codes = _split_codes(ctxt, spaces=False)
        if not codes:
            row.error("commune", ctxt, "aucun code de commune lisible (seulement des séparateurs)")
        elif len(codes) > 1:
            row.error("commune", ctxt, "une seule commune attendue par action")
        else:
            rec["commune_code"] = _commune_code(row, "commune", codes[0], lk)
    rec["lon"] = rec["lat"] = None
    lon_t, lat_t = row.text("longitude"), row.text("latitude")
    if lon_t or lat_t:
        if not (lon_t and lat_t):
            missing = "latitude" if lon_t else "longitude"
            row.error(missing, None, "longitude et latitude vont ensemble : la " + missing + " manque")
        else:
            try:
                lon = _parse_coord(lon_t)
            except _Bad as exc:
                row.error("longitude", lon_t, str(exc))
                lon = None
            try:
                lat = _parse_coord(lat_t)
            except _Bad as exc:
                row.error("latitude", lat_t, str(exc))
                lat = None
            if lon is not None and lat is not None:
                if 100_000 <= abs(lon) <= 1_300_000 and 6_000_000 <= abs(lat) <= 7_200_000:
                    row.error("longitude", f"{lon_t} ; {lat_t}", "coordonnées en mètres (Lambert-93 ?) : "
                              "donnez des degrés décimaux WGS84 (ex. 5,3698 ; 43,2965)")
                elif abs(lon) > 180 or abs(lat) > 90:
                    row.error("latitude" if abs(lat) > 90 else "longitude", f"{lon_t} ; {lat_t}",
                              "coordonnées hors des bornes (longitude −180 à 180, latitude −90 à 90)")
                else:
                    rec["lon"], rec["lat"] = lon, lat
    if row.n_errors == 0 and not (rec["qpv_code"] or rec["_qpv_choices"] or rec["commune_code"]
                                  or rec["lon"] is not None or rec["address"] or rec["scheme_id"]):
        row.error(None, None, "aucune localisation : renseignez qpv, commune, longitude/latitude, adresse "
                              "ou id_dispositif")
    rec["location_method"] = None
    return rec if row.n_errors == 0 else None


def _ensure_spatial(con) -> None:
    try:
        con.execute("SELECT ST_Intersects(ST_Point(0, 0), ST_Point(0, 0))")
    except Exception:
        load_spatial(con)


def _point_territories(con, points: list[tuple[float, float]]) -> list[tuple[str | None, str | None]]:
    """(QPV 2024 code, commune code) containing each point (None when outside)."""
    if not points:
        return []
    _ensure_spatial(con)
    df = pd.DataFrame({"k": range(len(points)), "lon": [p[0] for p in points], "lat": [p[1] for p in points]})
    con.register("_import_pts", df)
    try:
        rows = con.execute("""
            SELECT p.k, t.level, min(t.code)
            FROM _import_pts p JOIN territory t
              ON ST_Intersects(t.geom, ST_Point(p.lon, p.lat))
            WHERE t.geom IS NOT NULL
              AND (t.level = 'commune' OR (t.level = 'qpv' AND (t.generation = '2024' OR t.code LIKE 'QN%')))
            GROUP BY 1, 2""").fetchall()
    finally:
        con.unregister("_import_pts")
    out: list[list[str | None]] = [[None, None] for _ in points]
    for k, level, code in rows:
        out[k][0 if level == "qpv" else 1] = code
    return [tuple(o) for o in out]


def _locate_actions(con, recs: list[dict], rows: dict[int, _RowCtx], lk: _Lookups, geocoder: Geocoder) -> None:
    """Geocode addresses, place points into QPVs and communes, pick the location method."""
    for rec in recs:
        if rec["lon"] is None and rec["address"]:
            res, reason = geocoder.geocode(rec["address"], rec["commune_code"])
            if res:
                rec["lon"], rec["lat"], rec["_geocoded"] = res.lon, res.lat, res
            else:
                rec["_geocode_reason"] = reason
    pts = [r for r in recs if r["lon"] is not None]
    found = _point_territories(con, [(r["lon"], r["lat"]) for r in pts])
    # points in no loaded territory: would they fall into one with longitude and latitude swapped?
    lost = [i for i, (pq, pc) in enumerate(found) if pq is None and pc is None]
    swapped = _point_territories(con, [(pts[i]["lat"], pts[i]["lon"]) for i in lost])
    swapped_in_db = {i: sw != (None, None) for i, sw in zip(lost, swapped)}
    for i, (rec, (pq, pc)) in enumerate(zip(pts, found)):
        row = rows[rec["_row"]]
        given = "adresse" if rec.get("_geocoded") else "longitude"
        shown = f"{rec['lon']} ; {rec['lat']}"
        if pc is None and pq is None:
            if swapped_in_db[i] or (not in_france(rec["lon"], rec["lat"]) and in_france(rec["lat"], rec["lon"])):
                row.error(given, shown, "longitude et latitude semblent inversées : le point "
                          f"(longitude {rec['lat']}, latitude {rec['lon']}) "
                          + ("tombe dans le territoire chargé" if swapped_in_db[i] else "serait en France"))
                continue
            if not in_france(rec["lon"], rec["lat"]):
                row.error(given, shown, "point situé hors de France (métropole et outre-mer) et hors des "
                                        "communes chargées dans la base")
                continue
            row.warn(given, shown, "point hors des communes chargées dans la base : action conservée avec "
                                   "ses coordonnées, sans commune ni QPV")
        if rec["_qpv_choices"]:
            if pq in rec["_qpv_choices"]:
                rec["qpv_code"] = pq
            else:
                row.error("qpv", rec["qpv_code_given"], "QPV 2015 divisé en plusieurs QPV 2024 ("
                          + ", ".join(rec["_qpv_choices"]) + ") et point dans aucun d'eux : indiquez le code 2024")
                continue
        elif rec["qpv_code"] is None:
            rec["qpv_code"] = pq
        elif pq != rec["qpv_code"]:
            row.warn("qpv", rec["qpv_code"], "le point n'est pas dans ce QPV"
                     + (f" (il est dans {pq})" if pq else "") + " : le code QPV donné est conservé")
        if rec["commune_code"] is None:
            rec["commune_code"] = pc or (rec["_geocoded"].citycode if rec.get("_geocoded")
                                         and rec["_geocoded"].citycode in lk.communes else None)
        elif pc and pc != rec["commune_code"]:
            row.warn("commune", rec["commune_code"], f"le point est dans la commune {pc} : le code commune donné est conservé")
        rec["location_method"] = "address" if rec.get("_geocoded") else "coordinates"
    for rec in recs:
        row = rows[rec["_row"]]
        if row.n_errors:
            continue
        if rec["_qpv_choices"] and rec["qpv_code"] is None:
            row.error("qpv", rec["qpv_code_given"], "QPV 2015 divisé en plusieurs QPV 2024 ("
                      + ", ".join(rec["_qpv_choices"]) + ") : indiquez le code 2024, ou des coordonnées")
            continue
        if rec["qpv_code"] and rec["commune_code"] is None:
            rec["commune_code"] = lk.qpv2024.get(rec["qpv_code"])
        elif rec["qpv_code"] and rec["commune_code"] and lk.qpv_communes.get(rec["qpv_code"]) \
                and rec["commune_code"] not in lk.qpv_communes[rec["qpv_code"]] and rec["location_method"] is None:
            row.warn("commune", rec["commune_code"], f"le QPV {rec['qpv_code']} n'est pas situé dans cette commune")
        if rec["location_method"] is None:
            if rec["qpv_code"]:
                rec["location_method"] = "qpv"
            elif rec["commune_code"]:
                rec["location_method"] = "commune"
            elif rec["scheme_id"]:
                rec["location_method"] = "dispositif"
        if rec.get("_geocode_reason"):
            where = ("action localisée seulement par son QPV ou sa commune" if rec["location_method"] in ("qpv", "commune")
                     else "action non localisée sur la carte")
            row.warn("adresse", rec["address"], f"{rec['_geocode_reason']} ; {where} : "
                     "ajoutez longitude et latitude", level="locate")


def _prepare(con, data: bytes, name: str, kind: str, report: ImportReport, mapping: Mapping | None,
             geocoder: Geocoder, only: set[str] | None = None) -> list[dict]:
    """Read and validate; returns the records of the valid rows. Reads only. With `only`
    (a replay), rows whose key is not in it are skipped, as if absent from the file."""
    table = _read(data, name, kind, mapping)
    key_col = "id_dispositif" if kind == "schemes" else "id_action"
    if only is not None:
        table.rows = [(n, cells) for n, cells in table.rows
                      if _cell_text(_RowCtx(n, table, cells, mapping, report).raw(key_col)) in only]
    report.sheet, report.header_row = table.sheet, table.header_row
    report.encoding, report.delimiter = table.encoding, table.delimiter
    report.ignored_columns = table.ignored
    for col in table.ignored:
        report.problems.append(Problem(table.header_row, col, None,
                                       "colonne non reconnue : ignorée (ajoutez-la au fichier de correspondance "
                                       "si elle doit être chargée)", "warning"))
    if mapping:
        for col, srcs in mapping.columns.items():
            if col not in table.cols:
                report.problems.append(Problem(table.header_row, " + ".join(srcs), None,
                                               f"colonne prévue par le fichier de correspondance pour « {col} » "
                                               "absente du fichier : ignorée", "warning"))
    if not table.rows:
        raise _Fatal("le fichier ne contient aucune ligne de données sous l'en-tête", row=table.header_row)
    report.n_rows = len(table.rows)
    lk = _Lookups.load(con)
    validator = _validate_scheme if kind == "schemes" else _validate_action
    key = "scheme_id" if kind == "schemes" else "action_id"
    rows: dict[int, _RowCtx] = {}
    recs: list[dict] = []
    seen: dict[str, list[int]] = {}
    for rownum, cells in table.rows:
        row = _RowCtx(rownum, table, cells, mapping, report)
        rows[rownum] = row
        extra = [c for c in cells[len(table.header):] if _cell_text(c)] if len(cells) > len(table.header) else None
        if extra:
            row.error(None, extra[0], "cellule(s) au-delà de la dernière colonne de l'en-tête "
                                      "(séparateur ou guillemets mal placés ?)")
        rec = validator(row, lk)
        ident = _cell_text(row.raw(key_col))
        if ident:
            seen.setdefault(ident, []).append(rownum)
        if rec is not None and row.n_errors == 0:
            recs.append(rec)
    for ident, where in seen.items():
        if len(where) > 1:
            for r in where:
                rows[r].error(key_col, ident, "identifiant en double dans le fichier (lignes "
                              + ", ".join(map(str, where)) + ") : chaque ligne doit avoir son propre identifiant")
    recs = [r for r in recs if rows[r["_row"]].n_errors == 0]
    if kind == "actions":
        _locate_actions(con, recs, rows, lk, geocoder)
        recs = [r for r in recs if rows[r["_row"]].n_errors == 0]
    report._rows = rows  # type: ignore[attr-defined]  (raw rows for the quarantine table)
    report.problems.sort(key=lambda p: (p.row is None, p.row or 0))
    report.n_rejected = len(report.rejected_rows)
    return recs


# ---------------------------------------------------------------------------
# Diff and write
# ---------------------------------------------------------------------------

ACTION_FIELDS = ["title", "description", "year_start", "year_end", "porteur", "qpv_code", "commune_code",
                 "lon", "lat", "location_method", "scheme_id", "funders", "address", "qpv_code_given"]
SCHEME_FIELDS = ["kind", "name", "porteur", "year_created", "status", "contact_url"]


def _comparable(rec: dict, kind: str) -> tuple:
    fields = SCHEME_FIELDS if kind == "schemes" else ACTION_FIELDS
    vals = []
    for f in fields:
        v = rec.get(f)
        if isinstance(v, float):
            v = None if math.isnan(v) else round(v, 7)
        vals.append(v)
    if kind == "schemes":
        return tuple(vals) + (tuple(sorted(rec["territories"])),)
    return tuple(vals) + (tuple(sorted(rec["themes"])), tuple(sorted(rec["publics"])))


def _existing(con, kind: str, ids: list[str]) -> dict[str, tuple]:
    if not ids:
        return {}
    con.register("_import_ids", pd.DataFrame({"id": ids}))
    try:
        if kind == "schemes":
            base = con.execute(f"SELECT scheme_id, {', '.join(SCHEME_FIELDS)} FROM scheme "
                               "WHERE scheme_id IN (SELECT id FROM _import_ids)").fetchall()
            terr: dict[str, list] = {}
            for sid, level, code in con.execute("SELECT scheme_id, level, code FROM scheme_territory "
                                                "WHERE scheme_id IN (SELECT id FROM _import_ids)").fetchall():
                terr.setdefault(sid, []).append((level, code))
            out = {}
            for r in base:
                rec = dict(zip(SCHEME_FIELDS, r[1:]))
                rec["territories"] = terr.get(r[0], [])
                out[r[0]] = _comparable(rec, kind)
            return out
        base = con.execute(f"SELECT action_id, {', '.join(ACTION_FIELDS)} FROM action "
                           "WHERE action_id IN (SELECT id FROM _import_ids)").fetchall()
        themes: dict[str, list] = {}
        for aid, t in con.execute("SELECT action_id, theme_id FROM action_theme "
                                  "WHERE action_id IN (SELECT id FROM _import_ids)").fetchall():
            themes.setdefault(aid, []).append(t)
        publics: dict[str, list] = {}
        for aid, p in con.execute("SELECT action_id, public_id FROM action_public "
                                  "WHERE action_id IN (SELECT id FROM _import_ids)").fetchall():
            publics.setdefault(aid, []).append(p)
        out = {}
        for r in base:
            rec = dict(zip(ACTION_FIELDS, r[1:]))
            rec["themes"], rec["publics"] = themes.get(r[0], []), publics.get(r[0], [])
            out[r[0]] = _comparable(rec, kind)
        return out
    finally:
        con.unregister("_import_ids")


def _diff(con, kind: str, recs: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    key = "scheme_id" if kind == "schemes" else "action_id"
    old = _existing(con, kind, [r[key] for r in recs])
    new, changed, same = [], [], []
    for r in recs:
        prev = old.get(r[key])
        if prev is None:
            new.append(r)
        elif prev != _comparable(r, kind):
            changed.append(r)
        else:
            same.append(r)
    return new, changed, same


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _frame(recs: list[dict], cols: list[str], extra: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame([{c: r.get(c) for c in cols} for r in recs], columns=cols)
    for k, v in extra.items():
        df[k] = v
    for c in ("year_start", "year_end", "year_created", "import_id"):
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    for c in ("lon", "lat"):
        if c in df.columns:
            df[c] = df[c].astype("float64")
    return df


def _write(con, report: ImportReport, recs: list[dict], *, source_id: str | None,
           ctx: BuildContext | None) -> None:
    kind = report.kind
    key = "scheme_id" if kind == "schemes" else "action_id"
    new, changed, same = _diff(con, kind, recs)
    report.n_inserted, report.n_updated, report.n_unchanged = len(new), len(changed), len(same)
    own_tx = True
    try:
        con.begin()
    except Exception:   # already inside a transaction: the caller owns it
        own_tx = False
    try:
        import_id = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM import_log").fetchone()[0]
        report.import_id = import_id
        if source_id is None:
            source_id = f"import_{kind}_{report.sha256[:12]}"
            con.execute("INSERT OR IGNORE INTO source (source_id, title, publisher, file_name, sha256, retrieved_at, "
                        "fictional) VALUES (?, ?, ?, ?, ?, ?, FALSE)",
                        [source_id, f"Import de {KIND_FR[kind]} : {report.file_name}",
                         "Fichier fourni par un utilisateur (import Atlas ASV)", report.file_name, report.sha256,
                         dt.date.today().isoformat()])
        bctx = ctx or BuildContext(con=con)
        extra = {"source_id": source_id, "import_id": import_id}
        ids_changed = [r[key] for r in changed]
        if kind == "schemes":
            cols = ["scheme_id"] + SCHEME_FIELDS
            _update_rows(con, "scheme", "scheme_id", SCHEME_FIELDS, _frame(changed, cols, extra))
            bctx.insert_df("scheme", _frame(new, cols, extra))
            touched = new + changed
            _delete_children(con, "scheme_territory", "scheme_id", ids_changed)
            terr = pd.DataFrame([{"scheme_id": r["scheme_id"], "level": lv, "code": c}
                                 for r in touched for lv, c in r["territories"]], columns=["scheme_id", "level", "code"])
            bctx.insert_df("scheme_territory", terr)
            _scheme_geometries(con, [r["scheme_id"] for r in touched])
        else:
            cols = ["action_id"] + ACTION_FIELDS
            _update_rows(con, "action", "action_id", ACTION_FIELDS, _frame(changed, cols, extra))
            bctx.insert_df("action", _frame(new, cols, extra))
            touched = new + changed
            _delete_children(con, "action_theme", "action_id", ids_changed)
            _delete_children(con, "action_public", "action_id", ids_changed)
            bctx.insert_df("action_theme", pd.DataFrame(
                [{"action_id": r["action_id"], "theme_id": t} for r in touched for t in r["themes"]],
                columns=["action_id", "theme_id"]))
            bctx.insert_df("action_public", pd.DataFrame(
                [{"action_id": r["action_id"], "public_id": p} for r in touched for p in r["publics"]],
                columns=["action_id", "public_id"]))
        rows = getattr(report, "_rows", {})
        quarantine = [{"import_id": import_id, "row_number": p.row, "field": p.column, "value": p.value,
                       "reason": p.reason, "raw": rows[p.row].raw_json() if p.row in rows else None}
                      for p in report.errors]
        if quarantine:
            bctx.insert_df("import_quarantine", pd.DataFrame(quarantine))
        con.execute("INSERT INTO import_log VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [import_id, kind, report.file_name, report.sha256, _now(), report.n_rows, report.n_inserted,
                     report.n_updated, report.n_unchanged, report.n_rejected, report.mode])
        if ctx is None:
            run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM etl_run").fetchone()[0]
            bctx.run_id = run_id
            for p in report.warnings + report.needs_coordinates:
                bctx.issue(report.file_name, p.row, p.column, p.value,
                           "unlinked" if p.level == "locate" else "warning", p.reason, source_id)
            for p in report.errors:
                bctx.issue(report.file_name, p.row, p.column, p.value, "rejected", p.reason, source_id)
            bctx.flush_issues()
            con.execute("INSERT INTO etl_run VALUES (?, ?, ?, ?, ?, 'ok', ?)",
                        [run_id, f"import-{kind}", report.file_name, _now(), _now(),
                         f"nouvelles: {report.n_inserted}, mises à jour: {report.n_updated}, "
                         f"inchangées: {report.n_unchanged}, rejetées: {report.n_rejected}"])
        if own_tx:
            con.commit()
    except BaseException:
        if own_tx:
            con.rollback()
        raise
    report.applied = True


def _delete_children(con, table: str, key: str, ids: list[str]) -> None:
    if not ids:
        return
    con.register("_import_del", pd.DataFrame({"id": ids}))
    try:
        con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT id FROM _import_del)")
    finally:
        con.unregister("_import_del")


def _scheme_geometries(con, scheme_ids: list[str]) -> None:
    """geom = union of the covered territories (kept as it was when none has a geometry)."""
    if not scheme_ids:
        return
    import shapely

    from .geo import display_geometries

    con.register("_import_sch", pd.DataFrame({"id": scheme_ids}))
    try:
        rows = con.execute("""
            SELECT st.scheme_id, t.geom FROM scheme_territory st
            JOIN territory t ON t.level = st.level AND t.code = st.code
            WHERE st.scheme_id IN (SELECT id FROM _import_sch) AND t.geom IS NOT NULL
            ORDER BY 1, st.level, st.code""").fetchall()
    finally:
        con.unregister("_import_sch")
    by: dict[str, list] = {}
    for sid, wkb in rows:
        by.setdefault(sid, []).append(shapely.from_wkb(bytes(wkb)))
    if not by:
        return
    _ensure_spatial(con)
    ids = sorted(by)
    geoms = [shapely.union_all(by[s]) for s in ids]
    disp = display_geometries(geoms)
    for sid, g, d in zip(ids, geoms, disp):
        con.execute("UPDATE scheme SET geom = ST_GeomFromWKB(?), geom_display = ST_GeomFromWKB(?) WHERE scheme_id = ?",
                    [shapely.to_wkb(g), shapely.to_wkb(d), sid])


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------

def _new_report(kind: str, name: str, quarantine: bool) -> ImportReport:
    return ImportReport(kind=_kind(kind), file_name=name, mode="quarantine" if quarantine else "all-or-nothing")


def _start(source, kind: str, filename: str | None, quarantine: bool) -> tuple[ImportReport, bytes | None]:
    name = filename or (Path(source).name if isinstance(source, (str, os.PathLike)) else "fichier")
    report = _new_report(kind, name, quarantine)
    try:
        data, report.file_name = _source_bytes(source, filename)
    except _Fatal as exc:
        report.fatal = True
        report.problems.append(exc.problem)
        return report, None
    except InputError as exc:
        report.fatal = True
        report.problems.append(Problem(None, None, str(source), exc.reason))
        return report, None
    report.size = len(data)
    report.sha256 = hashlib.sha256(data).hexdigest()
    return report, data


def _mapping(mapping, kind) -> Mapping | None:
    if mapping is None or isinstance(mapping, Mapping):
        return mapping
    return load_mapping(mapping, kind)


def _run_prepare(con, data, report, mapping, geocoder, only: set[str] | None = None) -> list[dict]:
    try:
        return _prepare(con, data, report.file_name, report.kind, report, mapping, geocoder, only)
    except _Fatal as exc:
        report.fatal = True
        report.problems.insert(0, exc.problem)
        return []


def validate(source, kind: str, *, db: str | os.PathLike | None = None, con=None, filename: str | None = None,
             mapping: str | os.PathLike | Mapping | dict | None = None, offline: bool = False,
             quarantine: bool = False, geocoder: Geocoder | None = None) -> ImportReport:
    """Validate a file against the current DB without writing anything.

    `source`: a path, the file's bytes (e.g. from bytes_from_upload) or a binary file object.
    Uses `con` when given (any connection, read-only is fine), else opens `db` read-only.
    The report's n_inserted / n_updated / n_unchanged are what an apply would do."""
    report, data = _start(source, kind, filename, quarantine)
    if data is None:
        return report
    mapping = _mapping(mapping, report.kind)
    geocoder = geocoder or Geocoder(offline=offline)
    own = con is None
    if own:
        con = _open_read_only(db)
    try:
        _prepare_and_diff(con, data, report, mapping, geocoder)
    finally:
        if own:
            con.close()
        report.__dict__.pop("_rows", None)
    return report


def _prepare_and_diff(con, data, report, mapping, geocoder):
    """Validate the rows and sort them into new, changed and unchanged (counts go to the report)."""
    recs = _run_prepare(con, data, report, mapping, geocoder)
    new = changed = same = []
    if not report.fatal:
        new, changed, same = _diff(con, report.kind, recs)
        report.n_inserted, report.n_updated, report.n_unchanged = len(new), len(changed), len(same)
    return recs, new, changed, same


def _update_rows(con, table: str, key: str, fields: list[str], df: pd.DataFrame) -> None:
    """Overwrite existing rows (matched on their stable key) with the imported values."""
    if df.empty:
        return
    con.register("_import_upd", df)
    try:
        sets = ", ".join(f"{c} = u.{c}" for c in fields + ["source_id", "import_id"])
        con.execute(f"UPDATE {table} SET {sets} FROM _import_upd u WHERE {table}.{key} = u.{key}")
    finally:
        con.unregister("_import_upd")


def _open_read_only(db):
    path = resolve_db_path(db)
    if not path.is_file():
        raise InputError(path, None, None, "base introuvable : construisez-la d'abord "
                                           "(python -m etl build --demo ou --from DOSSIER)")
    return connect_snapshot(path)


def apply(source, kind: str, *, db: str | os.PathLike | None = None, filename: str | None = None,
          mapping: str | os.PathLike | Mapping | dict | None = None, quarantine: bool = False,
          offline: bool = False, geocoder: Geocoder | None = None, lock_timeout: float = 30.0,
          archive: bool = True) -> ImportReport:
    """Validate and import a file through the single-writer path.

    Under the writer lock (<db>.lock), the file is validated against the live DB opened
    read-only; when it is importable, the DB is copied next to itself, the rows are
    written into the copy, and the copy is renamed over the DB (os.replace). Readers
    (the app) never see a half-written file; a failure leaves the DB untouched.
    Returns the report; `report.applied` tells whether the DB changed. Raises
    DatabaseBusy (an InputError) when another writer holds the lock too long."""
    report, data = _start(source, kind, filename, quarantine)
    if data is None:
        return report
    mapping = _mapping(mapping, report.kind)
    geocoder = geocoder or Geocoder(offline=offline)
    db_path = resolve_db_path(db)
    with writer_lock(db_path, timeout=lock_timeout):
        recover_archive(db_path)
        con = _open_read_only(db_path)
        try:
            recs = _prepare_and_diff(con, data, report, mapping, geocoder)[0]
        finally:
            con.close()
        if not report.loadable(quarantine):
            report.__dict__.pop("_rows", None)
            return report
        pending = None
        try:
            with updated_copy(db_path, spatial=False) as wcon:   # spatial loaded on demand
                _write(wcon, report, recs, source_id=None, ctx=None)
                if archive:   # durable before the swap: a rebuild replays what the DB holds
                    pending = archive_store.write_pending(
                        db_path, data, _archive_meta(report, mapping, *_row_keys(report, recs)))
        except BaseException:
            report.applied = False
            if pending is not None:
                pending.discard()
            raise
        finally:
            report.__dict__.pop("_rows", None)
        if pending is not None:
            pending.promote()
    return report


def recover_archive(db_path: Path) -> list[str]:
    """Under the writer lock: settle the pending archives of writers that died (etl.archive)."""
    folder = archive_store.archive_dir(db_path)
    if not folder.is_dir() or not any(p.name.startswith(archive_store.PENDING_PREFIX) for p in folder.iterdir()):
        return []
    con = _open_read_only(db_path)
    try:
        imported = {(int(i), str(h)) for i, h in con.execute("SELECT import_id, sha256 FROM import_log").fetchall()}
    finally:
        con.close()
    return archive_store.recover_pending(db_path, imported)


def _archive_meta(report: ImportReport, mapping: Mapping | None, keys: list[str], rejected: list[str]) -> dict:
    return {"kind": report.kind, "file_name": report.file_name, "quarantine": report.mode == "quarantine",
            "mapping": asdict(mapping) if mapping is not None else None,
            "import_id": report.import_id, "sha256": report.sha256, "keys": keys, "rejected_keys": rejected}


def _row_keys(report: ImportReport, recs: list[dict]) -> tuple[list[str], list[str]]:
    """(keys imported, keys of rows rejected and not imported) of a validated file."""
    key = "scheme_id" if report.kind == "schemes" else "action_id"
    key_col = "id_dispositif" if report.kind == "schemes" else "id_action"
    done = sorted({r[key] for r in recs})
    rows = getattr(report, "_rows", {})
    bad = {_cell_text(rows[r].raw(key_col)) for r in report.rejected_rows if r in rows}
    return done, sorted(k for k in bad - set(done) if k)


def _keys_of_archived(path: Path, meta: dict) -> tuple[set[str], set[str]]:
    """Keys of a file archived before sidecars listed them: every identifier it holds
    (taken as imported; the replay validates the rows again anyway)."""
    kind = meta.get("kind")
    key_col = "id_dispositif" if kind == "schemes" else "id_action"
    try:
        mapping = Mapping(**meta["mapping"]) if meta.get("mapping") else None
    except TypeError:
        mapping = None
    try:
        table = _read(path.read_bytes(), meta.get("file_name") or path.name, kind, mapping)
    except (_Fatal, InputError, OSError):
        return set(), set()
    report = _new_report(kind, path.name, False)
    keys = {_cell_text(_RowCtx(n, table, cells, mapping, report).raw(key_col)) for n, cells in table.rows}
    return {k for k in keys if k}, set()


def replay_imports(ctx: BuildContext, folder: Path, progress=print) -> list[Path]:
    """Re-import into a build the latest state of every row that users imported into the
    previous DB (files kept in `folder`, see etl.archive): a rebuild with new official data
    keeps their actions and schemes. Each key comes from the last file that imported it;
    files are replayed oldest first, each with its mapping and mode. A file that no longer
    imports (for instance a QPV code absent from the new geography, without quarantine) is
    skipped and reported in the build's load issues; its rows stay out, as an import of it
    would leave them out. Returns the archived files whose keys are all superseded (the
    build moves them out of the archive once it has been renamed into place)."""
    plan, superseded = archive_store.replay_plan(archive_store.archived_imports(folder), _keys_of_archived)
    for item in plan:
        path, meta = item.path, item.meta
        kind = meta.get("kind")
        try:
            mapping = Mapping(**meta["mapping"]) if meta.get("mapping") else None
        except TypeError:
            mapping = None
        report = import_into(ctx.con, path.read_bytes(), kind, filename=meta.get("file_name") or path.name,
                             mapping=mapping, quarantine=bool(meta.get("quarantine")), offline=True, ctx=ctx,
                             only=item.only)
        if not report.loadable(bool(meta.get("quarantine"))):
            first = report.problems[0] if report.problems else None
            why = f" ligne {first.row}, colonne « {first.column} » : {first.reason}" if first else ""
            ctx.issue(path, None, None, None, "rejected",
                      f"import de {KIND_FR.get(kind, kind)} non rejoué ({report.status_text()}){why}")
            progress(f"[imports] {path.name} : non rejoué")
            continue
        for p in report.warnings + report.needs_coordinates:
            ctx.issue(path, p.row, p.column, p.value, "unlinked" if p.level == "locate" else "warning",
                      p.reason, None)
        progress(f"[imports] {path.name} : rejoué ({report.n_inserted} ajouts, {report.n_updated} mises à jour)")
    for path in superseded:
        progress(f"[imports] {path.name} : remplacé par des imports plus récents, non rejoué")
    return superseded


def import_into(con, source, kind: str, *, filename: str | None = None,
                mapping: str | os.PathLike | Mapping | dict | None = None, quarantine: bool = False,
                offline: bool = True, geocoder: Geocoder | None = None, source_id: str | None = None,
                ctx: BuildContext | None = None, only: set[str] | None = None) -> ImportReport:
    """Validate and write into an open read-write connection (the build, tests).

    All-or-nothing unless `quarantine`: with any error nothing is written. The caller
    decides what an error means (the build calls report.raise_for_errors())."""
    report, data = _start(source, kind, filename, quarantine)
    if data is None:
        return report
    mapping = _mapping(mapping, report.kind)
    geocoder = geocoder or Geocoder(offline=offline)
    recs = _run_prepare(con, data, report, mapping, geocoder, only)
    if report.loadable(quarantine):
        _write(con, report, recs, source_id=source_id, ctx=ctx)
    report.__dict__.pop("_rows", None)
    return report


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def cli_import(args) -> int:
    """`python -m etl import {actions,schemes} FILE [--mapping M] [--quarantine] [--report DIR]
    [--dry-run] [--offline] [--db PATH]`. Exit code 0 when imported (or importable in a dry
    run), 2 when rejected or when no row at all could be loaded."""
    db = resolve_db_path(getattr(args, "db", None))
    kind = _kind(args.kind)
    mapping = load_mapping(args.mapping, kind) if getattr(args, "mapping", None) else None
    common = dict(mapping=mapping, quarantine=bool(getattr(args, "quarantine", False)),
                  offline=bool(getattr(args, "offline", False)))
    if getattr(args, "dry_run", False):
        report = validate(args.file, kind, db=db, **common)
    else:
        report = apply(args.file, kind, db=db, **common)
    print(report.summary())
    folder = Path(args.report) if getattr(args, "report", None) else db.parent / "imports" / "rapports"
    csv_path, html_path = report.write(folder)
    print(f"Rapport détaillé : {csv_path}\n                   {html_path}")
    if report.applied and (report.n_valid > 0 or not report.errors):
        return 0
    if getattr(args, "dry_run", False) and report.loadable() and (report.n_valid > 0 or not report.errors):
        return 0
    return 2


# ---------------------------------------------------------------------------
# Templates (docs/modeles)
# ---------------------------------------------------------------------------

EXAMPLE_ROWS: dict[str, list[list[str]]] = {
    "schemes": [
        ["ASV-96-001", "ASV", "Atelier santé ville de Bourg-Fictif (exemple)", "Mairie de Bourg-Fictif", "2008",
         "actif", "96003", "QN09601M|QN09602I", "https://asv-bourg-fictif.example.org"],
        ["CLS-96-001", "CLS", "Contrat local de santé du Pays de Bourg-Fictif (exemple)",
         "Communauté de communes du Pays de Bourg-Fictif", "2019", "actif", "96003|96009", "", ""],
        ["CLSM-96-001", "CLSM", "Conseil local de santé mentale de Bourg-Fictif (exemple)", "CCAS de Bourg-Fictif",
         "2021", "en projet", "96003", "", ""],
    ],
    "actions": [
        ["ACT-2024-001", "Ateliers cuisine à petit budget",
         "Six ateliers collectifs au centre social, avec une diététicienne.", "2024", "2025",
         "Centre social des Licornes", "nutrition|Éducation pour la santé", "precarite|Parentalité",
         "QN09601M", "", "", "", "", "ASV-96-001", "ARS|Ville de Bourg-Fictif"],
        ["ACT-2024-002", "Permanence d'accès aux droits santé",
         "Accueil sans rendez-vous pour l'ouverture des droits (C2S, AME).", "01/09/2023", "",
         "CCAS de Bourg-Fictif", "Accès aux droits et aux soins", "Personnes isolées|precarite",
         "QP096002", "", "", "", "", "ASV-96-001", "CPAM"],
        ["ACT-2024-003", "Parcours sport-santé au parc des Chimères", "", "2024", "",
         "Association Cœur Vaillant", "activite_physique", "vieillissement", "", "", "-6,7917", "45,9014", "",
         "CLS-96-001", ""],
        ["ACT-2024-004", "Semaine d'information sur la santé mentale", "Ciné-débat et stands.", "2024", "2024",
         "CLSM de Bourg-Fictif", "sante mentale|SISM", "Enfants et jeunes", "", "96009", "", "",
         "1 place de la Mairie, Fictif-la-Rivière", "CLSM-96-001", "Ville"],
    ],
}

TEMPLATE_NAMES = {"schemes": "modele_dispositifs", "actions": "modele_actions"}

# An export in another layout (column names in the style of a regional action-tracking
# tool such as OSCARS; invented content) and the mapping file that imports it.
EXAMPLE_EXPORT_HEADER = ["N° de l'action", "Intitulé", "Résumé", "Date de début", "Date de fin",
                         "Structure porteuse", "Thème", "Sous-thème", "Public(s)", "Code INSEE",
                         "Quartier prioritaire (code)", "Adresse", "Code postal", "Ville", "Financeur(s)", "Contact"]
EXAMPLE_EXPORT_ROWS = [
    ["OSC-1201", "Marche santé du mardi", "Marche encadrée d'une heure.", "15/03/2024", "", "Maison des Licornes",
     "Sport santé", "", "Seniors ; Personnes isolées", "96003", "QN09601M", "", "", "", "Ville", "accueil@example.org"],
    ["OSC-1202", "Ateliers « bien manger »", "", "2023", "2024", "Centre social des Chimères", "Alimentation",
     "Éducation pour la santé", "Tout public", "96009", "", "", "", "", "ARS ; CAF", ""],
    ["OSC-1203", "Point écoute jeunes", "Permanence d'une psychologue.", "01/10/2024", "", "Association Écoute Fictive",
     "Bien-être psychique", "", "Jeunes 12-25 ans", "96009", "", "3 rue des Fées", "96090", "Fictif-la-Rivière",
     "ARS", ""],
]
EXAMPLE_MAPPING = """\
# Correspondance des colonnes : export de type OSCARS -> modèle d'actions Atlas ASV.
# Usage : python -m etl import actions export_oscars.csv --mapping correspondance_oscars.toml

[fichier]
# feuille = "Actions"          # pour un classeur XLSX : feuille à lire (sinon détectée)

[colonnes]
# colonne du modèle = "colonne de votre fichier" (ou une liste : les cellules sont réunies)
id_action = "N° de l'action"
titre = "Intitulé"
description = "Résumé"
annee_debut = "Date de début"
annee_fin = "Date de fin"
porteur = "Structure porteuse"
thematiques = ["Thème", "Sous-thème"]
publics = "Public(s)"
commune = "Code INSEE"
qpv = "Quartier prioritaire (code)"
adresse = ["Adresse", "Code postal", "Ville"]
financeurs = "Financeur(s)"

[listes]
separateur = ";"                # séparateur des valeurs multiples dans vos cellules (en plus de |)

[valeurs.thematiques]
# valeur de votre fichier = identifiant (ou libellé) de la nomenclature ASV
"Alimentation" = "nutrition"
"Sport santé" = "activite_physique"
"Accès aux soins" = "acces_droits_soins"
"Bien-être psychique" = "sante_mentale"

[valeurs.publics]
"Tout public" = ""              # chaîne vide : valeur ignorée
"Jeunes 12-25 ans" = "enfants_jeunes"
"Seniors" = "vieillissement"
"""


def _save_reproducible(wb, path: Path) -> None:
    """Save a workbook byte-for-byte reproducibly (fixed dates in the properties and the
    zip entries), so that regenerating the templates does not change them."""
    buf = io.BytesIO()
    wb.save(buf)
    fixed = "2024-01-01T00:00:00Z"
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + fixed.encode(), data)
            out.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def write_templates(dest: str | os.PathLike) -> list[Path]:
    """Write the CSV and XLSX templates (with filled example rows) into `dest`."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from .build import TAXONOMY_FILE

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tax = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    written = []
    for kind in KINDS:
        header = [c.name for c in COLUMNS[kind]]
        csv_path = dest / f"{TEMPLATE_NAMES[kind]}.csv"
        write_safe_csv(csv_path, header, EXAMPLE_ROWS[kind])
        written.append(csv_path)

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = KIND_FR[kind]
        bold = Font(bold=True)
        fill = PatternFill("solid", fgColor="DDE7F0")
        for j, h in enumerate(header, start=1):
            c = ws.cell(1, j, h)
            c.font, c.fill = bold, fill
            ws.column_dimensions[_col_letter(j - 1)].width = max(14, min(40, len(h) + 8))
        for i, row in enumerate(EXAMPLE_ROWS[kind], start=2):
            for j, v in enumerate(row, start=1):
                safe_xlsx_cell(ws.cell(i, j), v)
        ws.freeze_panes = "A2"
        if kind == "schemes":
            for col, values in (("type", "ASV,CLS,CLSM,CPTS"), ("statut", "actif,en projet,terminé")):
                letter = _col_letter(header.index(col))
                dv = DataValidation(type="list", formula1=f'"{values}"', allow_blank=True)
                ws.add_data_validation(dv)
                dv.add(f"{letter}2:{letter}5000")
        help_ws = wb.create_sheet("aide")
        help_ws.append(["colonne", "obligatoire", "description", "exemple"])
        for c in help_ws[1]:
            c.font, c.fill = bold, fill
        for j, spec in enumerate(COLUMNS[kind]):
            help_ws.append([spec.name, "oui" if spec.required else "non", spec.help, EXAMPLE_ROWS[kind][0][j]])
        for letter, width in (("A", 18), ("B", 12), ("C", 90), ("D", 40)):
            help_ws.column_dimensions[letter].width = width
        for row in help_ws.iter_rows(min_row=2):
            row[2].alignment = Alignment(wrap_text=True, vertical="top")
        if kind == "actions":
            vals = wb.create_sheet("valeurs")
            vals.append(["thématique (identifiant)", "libellé", "axe", "", "public (identifiant)", "libellé"])
            for c in vals[1]:
                c.font = bold
            theme_rows = []
            for axis in tax["theme"]:
                theme_rows.append([axis["id"], axis["label"], ""])
                theme_rows.extend([cid, label, axis["label"]] for cid, label in axis.get("children", []))
            pubs = tax["publics"]["items"]
            for i in range(max(len(theme_rows), len(pubs))):
                t = theme_rows[i] if i < len(theme_rows) else ["", "", ""]
                p = pubs[i] if i < len(pubs) else ["", ""]
                vals.append(t + [""] + list(p))
            for letter, width in (("A", 26), ("B", 50), ("C", 36), ("E", 24), ("F", 46)):
                vals.column_dimensions[letter].width = width
        wb.properties.creator = "Atlas ASV"
        xlsx_path = dest / f"{TEMPLATE_NAMES[kind]}.xlsx"
        _save_reproducible(wb, xlsx_path)
        written.append(xlsx_path)
    export = dest / "exemple_export_oscars.csv"
    with open(export, "w", encoding="utf-8", newline="") as f:
        f.write("Export des actions – extraction du 02/12/2024\r\n")   # a title line above the header
        w = csv.writer(f, delimiter=",", lineterminator="\r\n")
        w.writerow(EXAMPLE_EXPORT_HEADER)
        w.writerows(EXAMPLE_EXPORT_ROWS)
    mapping = dest / "correspondance_oscars.toml"
    mapping.write_text(EXAMPLE_MAPPING, encoding="utf-8")
    return written + [export, mapping]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m etl.importer", description="Modèles d'import Atlas ASV")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("templates", help="écrire les modèles CSV et XLSX")
    t.add_argument("dest", nargs="?", default="docs/modeles")
    args = p.parse_args(argv)
    for path in write_templates(args.dest):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
