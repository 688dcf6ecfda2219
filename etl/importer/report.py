"""The import report: each problem found (row, column, value, reason) and the counts, as text for
the terminal, CSV and HTML for the user, and a dict for the Importer page."""
from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..safe_export import (
    write_safe_csv,
)
from .spec import KIND_FR, _clip, safe_file_name

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
    import_id: int | None = None          # the DB's row number in import_log (a rebuild renumbers it)
    import_ref: str | None = None         # the import's stable reference, shown to users ("20261205-173012-3fa9")
    sheet: str | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    # the territory where this registry is complete (etl.importer.coverage): [[level, code], ...],
    # declared by the user or, by default, the communes the file names; its text for people
    coverage: list[list[str]] = field(default_factory=list)
    coverage_declared: bool = False
    coverage_text: str = ""

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
                return (f"Import effectué{f' (référence {self.import_ref})' if self.import_ref else ''} : "
                        f"{self.n_valid} ligne(s) valide(s) chargée(s), "
                        f"{self.n_rejected} ligne(s) rejetée(s) mise(s) en quarantaine.")
            return "Import effectué" + (f" (référence {self.import_ref})." if self.import_ref else ".")
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
            if self.coverage_text:
                lines.append(f"  {self.coverage_label()} : {self.coverage_text}")
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

    def coverage_label(self) -> str:
        how = "déclaré" if self.coverage_declared else "par défaut, les communes que nomme le fichier"
        return f"Territoire où le registre est complet ({how})"

    def write_csv(self, target) -> None:
        write_safe_csv(target, ["gravite", "ligne", "colonne", "valeur", "motif"],
                       [[r["gravite"], r["ligne"], r["colonne"], r["valeur"], r["motif"]] for r in self.to_records()])

    def to_html(self) -> str:
        e = html.escape
        head = [
            ("Fichier", self.file_name), ("Type", KIND_FR[self.kind]), ("SHA-256", self.sha256),
        ] + ([("Référence de l'import", self.import_ref)] if self.import_ref else []) + [
            ("Mode", "quarantaine" if self.mode == "quarantine" else "tout ou rien"),
            ("Lignes lues", self.n_rows), ("Lignes valides", self.n_valid),
            ("Lignes rejetées", len(self.rejected_rows)), ("Nouvelles", self.n_inserted),
            ("Mises à jour", self.n_updated), ("Inchangées", self.n_unchanged),
            ("Avertissements", len(self.warnings)), ("À localiser", len(self.needs_coordinates)),
        ] + ([(self.coverage_label(), self.coverage_text)] if self.coverage_text else [])
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
        base = folder / f"rapport-import-{KIND_FR[self.kind]}-{stamp}-{Path(safe_file_name(self.file_name)).stem[:40]}"
        csv_path, html_path = base.with_suffix(".csv"), base.with_suffix(".html")
        self.write_csv(csv_path)
        html_path.write_text(self.to_html(), encoding="utf-8")
        return csv_path, html_path


class _Fatal(Exception):
    def __init__(self, reason: str, row: int | None = None, column: str | None = None, value=None):
        super().__init__(reason)
        self.problem = Problem(row, column, None if value is None else str(value), reason)
