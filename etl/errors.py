"""Errors and issues raised while reading input files.

An `InputError` aborts the current build or import: nothing is written. Messages are
French (they reach users) and always name the file, the line (or feature) and the field.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from pathlib import Path


def _where(file: str | Path, line: int | str | None, field: str | None) -> str:
    parts = [f"fichier {Path(file).name}"]
    if line is not None:
        parts.append(line if isinstance(line, str) and not line.isdigit() else f"ligne {line}")
    if field:
        parts.append(f"champ « {field} »")
    return ", ".join(parts)


class InputError(Exception):
    """A fatal problem in an input file."""

    def __init__(self, file: str | Path, line: int | str | None, field: str | None, reason: str,
                 value: object = None):
        self.file = str(file)
        self.line = line
        self.field = field
        self.reason = reason
        self.value = value
        shown = "" if value is None else f" (valeur : {str(value)[:80]!r})"
        super().__init__(f"{_where(file, line, field)} : {reason}{shown}")


@dataclass
class Issue:
    """A non-fatal issue recorded in the load report (table load_issue)."""
    file: str
    line: str | None
    field: str | None
    value: str | None
    kind: str  # rejected | repaired | unlinked | out_of_scope | warning
    reason: str
    source_id: str | None = None


@dataclass
class IssueLog:
    issues: list[Issue] = dc_field(default_factory=list)

    def add(self, file, line, field, value, kind, reason, source_id=None) -> None:
        self.issues.append(Issue(Path(file).name, None if line is None else str(line), field,
                                 None if value is None else str(value)[:500], kind, reason, source_id))

    def of_kind(self, kind: str) -> list[Issue]:
        return [i for i in self.issues if i.kind == kind]
