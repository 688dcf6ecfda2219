"""Reading an import file: format sniffing (CSV, XLSX, and what is neither), encodings, the header
row (possibly below a preamble, possibly through a mapping), and budgets enforced while streaming."""
from __future__ import annotations

import base64
import csv
import io
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..readers import decode_text
from . import spec
from .mapping import Mapping
from .report import _Fatal
from .spec import (
    COLUMNS,
    HEADER_SCAN_ROWS,
    KIND_FR_DE,
    KINDS,
    REQUIRED,
    _cell_text,
    _clip,
    _col_letter,
    norm_header,
    safe_file_name,
)

# csv's own cap on a field (128 KiB) would abort the header scan on one long cell ("en-tête
# introuvable"); the file's size bounds a field, and _Budget names the row and column of a long cell.
csv.field_size_limit(2**31 - 1)


def _fr_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


class _Budget:
    """What reading one file may cost (spec: rows, cells, characters per cell, seconds), checked
    row by row while the file streams; each overrun stops the read with a message naming where."""

    def __init__(self, seconds: float | None = None):
        self.seconds = spec.MAX_READ_SECONDS if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds
        self.cells = 0
        self.rows = 0

    def row(self, rownum: int, cells, header: list[str] | None = None) -> None:
        self.cells += len(cells)
        self.rows += 1
        if self.cells > spec.MAX_CELLS:
            raise _Fatal(f"trop de cellules : plus de {_fr_int(spec.MAX_CELLS)} cellules lues (vides comprises) "
                         f"à la ligne {rownum} ; supprimez les lignes et colonnes vides en fin de feuille, ou "
                         "découpez le fichier", row=rownum)
        for i, c in enumerate(cells):
            if isinstance(c, str) and len(c) > spec.MAX_CELL_CHARS:
                col = header[i] if header and i < len(header) and header[i] else f"colonne {_col_letter(i)}"
                raise _Fatal(f"cellule trop longue : {_fr_int(len(c))} caractères (au plus "
                             f"{_fr_int(spec.MAX_CELL_CHARS)})", row=rownum, column=col, value=c[:80])
        if self.rows % 256 == 0 and time.monotonic() > self.deadline:
            raise _Fatal(f"lecture trop longue : plus de {self.seconds:g} s, arrêtée à la ligne {rownum} ; le "
                         "fichier contient sans doute des milliers de lignes vides mises en forme : supprimez-les, "
                         "ou enregistrez la feuille en CSV", row=rownum)

    def data_row(self, rownum: int, n_rows: int) -> None:
        if n_rows > spec.MAX_ROWS:
            raise _Fatal(f"trop de lignes : plus de {_fr_int(spec.MAX_ROWS)} (découpez le fichier)", row=rownum)


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
    for col in COLUMNS[kind]:
        wanted = mapping.columns.get(col.name) if mapping else None
        if wanted:
            idx = []
            for w in wanted:
                hits = [i for i, n in enumerate(normed) if n == norm_header(w)]
                if not hits:
                    idx = None
                    break
                idx.append(hits[0])
            if idx:
                cols[col.name] = idx
                used.update(idx)
        else:
            hits = [i for i, n in enumerate(normed) if n == col.name and i not in used]
            if len(hits) > 1:
                raise _Fatal(f"colonne « {col.name} » présente plusieurs fois dans l'en-tête (colonnes "
                             + ", ".join(_col_letter(i) for i in hits) + ")", column=col.name)
            if hits:
                cols[col.name] = hits
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
                    if total > spec.MAX_XLSX_UNCOMPRESSED:
                        raise _Fatal(f"classeur trop volumineux une fois décompressé ({total // 2**20} Mo ; "
                                     f"maximum {spec.MAX_XLSX_UNCOMPRESSED // 2**20} Mo) : supprimez les lignes "
                                     "vides mises en forme, ou enregistrez la feuille en CSV")
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


def _read_csv(data: bytes, name: str, kind: str, mapping: Mapping | None, utf16: bool,
              budget: _Budget | None = None) -> _Table:
    budget = budget or _Budget()
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
    broken: tuple[int, str] | None = None
    found = None
    for delim in (";", ",", "\t"):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        recs = []
        try:
            for rec in reader:
                recs.append(rec)
                if len(recs) >= HEADER_SCAN_ROWS:
                    break
        except csv.Error as exc:
            broken = broken or (reader.line_num, str(exc))
        first_records[delim] = recs
        for i, rec in enumerate(recs):
            m = _match_header(rec, kind, mapping)
            if m:
                found = (delim, i + 1, m)
                break
        if found:
            break
    if not found:
        if broken:
            raise _Fatal(f"CSV mal formé avant l'en-tête ({broken[1]}) : vérifiez les guillemets", row=broken[0])
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
            budget.row(n, rec, header or None)
            if n == header_row:
                header = [c.strip() for c in rec]
                continue
            if not any(c.strip() for c in rec):
                continue
            rows.append((n, rec))
            budget.data_row(n, len(rows))
    except csv.Error as exc:
        raise _Fatal(f"CSV mal formé ({exc}) : vérifiez les guillemets", row=n + 1) from None
    return _Table(header, cols, rows, header_row, None, encoding, delim, ignored)


def _forbidden(exc: BaseException | None) -> bool:
    """A DTD, entities or external references refused by defusedxml (here or as the cause)."""
    while exc is not None:
        if type(exc).__name__ in ("DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _xlsx_broken(sheet: str, row: int, exc: Exception) -> _Fatal:
    what = type(exc).__name__
    if _forbidden(exc):
        return _Fatal(f"classeur refusé : le XML {'de la feuille « ' + sheet + ' »' if row else sheet} déclare "
                      "une DTD ou des entités XML, ce qu'un "
                      "classeur Excel ne fait jamais (refusé par sécurité) ; réenregistrez-le depuis le tableur")
    return _Fatal(f"classeur XLSX illisible : le XML de la feuille « {sheet} » est endommagé après la ligne "
                  f"{row} ({what}) ; réenregistrez-le depuis le tableur, ou en CSV", row=row or None)


def _read_xlsx(data: bytes, name: str, kind: str, mapping: Mapping | None, budget: _Budget | None = None) -> _Table:
    import openpyxl

    budget = budget or _Budget()
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, XML errors...
        raise _xlsx_broken("du classeur", 0, exc) if _forbidden(exc) else _Fatal(
            f"classeur XLSX illisible ou corrompu ({type(exc).__name__})") from None
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
            r = 0
            try:
                it = enumerate(ws.iter_rows(values_only=True), start=1)
                buffer = []
                found = None
                for r, cells in it:
                    cells = list(cells)
                    budget.row(r, cells)
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
                header = [_cell_text(c) for c in header_cells]
                rows = []
                for r, cells in it:
                    budget.row(r, cells, header)
                    if not any(_cell_text(c) for c in cells):
                        continue
                    rows.append((r, list(cells)))
                    budget.data_row(r, len(rows))
            except _Fatal:
                raise
            except Exception as exc:   # broken XML, a DTD, an unreadable cell: raised while streaming
                raise _xlsx_broken(sheet, r, exc) from None
            return _Table(header, cols, rows, header_row, sheet, None, None, ignored)
        raise _no_header(kind, first_seen, mapping)
    finally:
        wb.close()


def _read(data: bytes, name: str, kind: str, mapping: Mapping | None, seconds: float | None = None) -> _Table:
    """The file's table. `seconds`: reading budget (default spec.MAX_READ_SECONDS)."""
    fmt = _sniff_format(data, name)
    budget = _Budget(seconds)
    if fmt == "xlsx":
        return _read_xlsx(data, name, kind, mapping, budget)
    return _read_csv(data, name, kind, mapping, utf16=(fmt == "csv-utf16"), budget=budget)


def _source_bytes(source, filename: str | None) -> tuple[bytes, str]:
    """Accept a path, bytes, or a binary file object; enforce the size limit before reading.
    The name returned is safe_file_name's."""
    limit = spec.MAX_FILE_MB * 1024 * 1024
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = filename or path.name
        if not path.is_file():
            raise InputError(path, None, None, "fichier introuvable")
        size = path.stat().st_size
        if size > limit:
            raise _Fatal(_too_big(size))
        return path.read_bytes(), safe_file_name(name)
    if hasattr(source, "read"):
        data = source.read(limit + 1)
        name = filename or getattr(source, "name", "fichier")
    else:
        data = bytes(source)
        name = filename or "fichier"
    if len(data) > limit:
        raise _Fatal(_too_big(len(data)))
    return data, safe_file_name(name)


def _too_big(size: int) -> str:
    return (f"fichier trop volumineux : {size / 2**20:.1f} Mo, la taille maximale acceptée est de "
            f"{spec.MAX_FILE_MB} Mo. Découpez-le en plusieurs fichiers (par année ou par territoire).")


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
            if path.stat().st_size > spec.MAX_FILE_MB * 1024 * 1024:
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
