"""Low-level readers for the official text formats (INSEE/ONPV CSV, GeoJSON...).

Every failure raises `InputError` naming the file, line and field.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

_NBSP = "\u00a0\u202f"
_NUM_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
SECRET_MARKERS = {"s", "secret", "c", "nd", "n.d.", "nc", "n.c.", "so"}


_UTF8_MULTIBYTE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")


def decode_text(path: Path, data: bytes | None = None, allow_cp1252: bool = False) -> tuple[str, str]:
    """Decode a text file. Returns (text, encoding). UTF-8 (with or without BOM) is the official
    encoding, decoded strictly. Windows-1252 (Excel's) is accepted only when allowed and only when
    no line holds a valid multi-byte UTF-8 character: a UTF-8 file with one Windows-1252 line is
    refused, naming that line (decoding it all as Windows-1252 would turn "é" into "Ã©" everywhere)."""
    raw = path.read_bytes() if data is None else data
    if not raw.strip():
        raise InputError(path, None, None, "le fichier est vide")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        byte = f"0x{raw[exc.start]:02X}"
        mixed = _UTF8_MULTIBYTE.search(raw) is not None
        if allow_cp1252 and not mixed:
            try:
                return raw.decode("cp1252"), "cp1252"
            except UnicodeDecodeError as bad:
                line = raw[: bad.start].count(b"\n") + 1
                raise InputError(path, line, None, f"encodage illisible : l'octet 0x{raw[bad.start]:02X} n'est ni "
                                 "de l'UTF-8 ni du Windows-1252 ; réenregistrez le fichier en UTF-8") from None
        if allow_cp1252:
            first = raw[: _UTF8_MULTIBYTE.search(raw).start()].count(b"\n") + 1
            raise InputError(path, line, None,
                             f"encodage mélangé : le fichier est en UTF-8 (caractères accentués UTF-8 dès la ligne "
                             f"{first}) mais la ligne {line} contient l'octet {byte}, qui n'est pas de l'UTF-8 "
                             "(un copier-coller depuis un fichier Windows-1252 ?) : corrigez cette ligne, ou "
                             "réenregistrez tout le fichier en UTF-8") from None
        raise InputError(
            path, line, None,
            f"encodage invalide : l'octet {byte} n'est pas de l'UTF-8 "
            "(fichier probablement enregistré en Windows-1252 / Latin-1 ; réenregistrez-le en UTF-8)",
        ) from None


@dataclass
class Table:
    """A delimited text table: header and rows as strings, with 1-based file line numbers."""
    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    delimiter: str
    encoding: str

    def col(self, name: str) -> int:
        try:
            return self.header.index(name)
        except ValueError:
            raise InputError(self.path, 1, name, "colonne obligatoire absente de l'en-tête") from None

    def require(self, *names: str) -> None:
        for n in names:
            self.col(n)

    def records(self):
        """Yield (line_number, {column: value}) for each data row."""
        for line, row in zip(self.lines, self.rows):
            yield line, dict(zip(self.header, row))


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=counts.get) if max(counts.values()) > 0 else ","


def read_table(path: str | Path, delimiter: str | None = None, allow_cp1252: bool = False,
               text: str | None = None) -> Table:
    """Read a delimited table. Drops trailing empty columns (ONPV files carry hundreds),
    trims header names, rejects duplicate or empty header names and ragged rows."""
    path = Path(path)
    encoding = "utf-8"
    if text is None:
        text, encoding = decode_text(path, allow_cp1252=allow_cp1252)
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delim = delimiter or sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header: list[str] | None = None
    rows, lines = [], []
    for row in reader:
        line = reader.line_num
        if header is None:
            header = [h.strip() for h in row]
            while header and header[-1] == "":
                header.pop()
            if not header:
                raise InputError(path, line, None, "en-tête vide")
            seen = set()
            for h in header:
                if h == "":
                    raise InputError(path, line, None, "nom de colonne vide au milieu de l'en-tête")
                if h in seen:
                    raise InputError(path, line, h, "colonne en double dans l'en-tête")
                seen.add(h)
            continue
        if not any(c.strip() for c in row):
            continue
        extra = row[len(header):]
        if any(c.strip() for c in extra):
            raise InputError(path, line, None,
                             f"la ligne a {len(row)} cellules non vides au-delà des {len(header)} colonnes de l'en-tête")
        row = row[: len(header)]
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        rows.append([c.strip() for c in row])
        lines.append(line)
    if header is None:
        raise InputError(path, None, None, "le fichier est vide")
    if not rows:
        raise InputError(path, None, None, "le fichier ne contient aucune ligne de données")
    return Table(path, header, rows, lines, delim, encoding)


XLSX_HEADER_SCAN = 30


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(int(v)) if v.is_integer() else repr(v)
    return str(v).strip()


def read_xlsx_table(path: str | Path, key: str = "CODGEO") -> Table:
    """A table from an Excel workbook as INSEE ships some of them (title rows, then a header
    row holding `key`): the first sheet with that header, its rows as text, numbers written
    with a point. The lines are the sheet's row numbers."""
    import zipfile

    import openpyxl

    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise InputError(path, None, None, "classeur Excel illisible (ce n'est pas un fichier .xlsx)")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  (openpyxl raises many kinds)
        raise InputError(path, None, None, f"classeur Excel illisible ({type(exc).__name__})") from None
    try:
        for ws in wb.worksheets:
            it = ws.iter_rows(values_only=True)
            for n, row in enumerate(it, start=1):
                if n > XLSX_HEADER_SCAN:
                    break
                cells = [_cell_text(c) for c in row]
                if key in [c.upper() for c in cells]:
                    header = [c.upper() if c.upper() == key else c for c in cells]
                    while header and header[-1] == "":
                        header.pop()
                    rows, lines = [], []
                    for m, r in enumerate(it, start=n + 1):
                        vals = [_cell_text(c) for c in r][:len(header)]
                        if any(vals):
                            rows.append(vals + [""] * (len(header) - len(vals)))
                            lines.append(m)
                    if not rows:
                        raise InputError(path, f"feuille « {ws.title} »", None, "aucune ligne sous l'en-tête")
                    return Table(path, header, rows, lines, "xlsx", "xlsx")
    finally:
        wb.close()
    raise InputError(path, None, key, f"en-tête introuvable : aucune feuille n'a de colonne {key}")


def parse_fr_number(raw: str | None, path: Path | str = "", line: int | None = None,
                    field: str | None = None) -> tuple[float | None, str]:
    """Parse a French-formatted number ("6 490", "55,3", "-9,4").

    Returns (value, status): ("ok" with a float), ("secret", None) for an empty
    or secret-marked cell, and raises InputError for anything else.
    """
    if raw is None:
        return None, "secret"
    s = raw.strip()
    for ch in _NBSP:
        s = s.replace(ch, " ")
    if s == "" or s.lower() in SECRET_MARKERS:
        return None, "secret"
    s = s.replace(" ", "")
    if not _NUM_RE.match(s):
        raise InputError(path, line, field, "nombre illisible", raw)
    if "," in s:
        if "." in s:
            raise InputError(path, line, field, "nombre ambigu (virgule et point)", raw)
        s = s.replace(",", ".")
    return float(s), "ok"
