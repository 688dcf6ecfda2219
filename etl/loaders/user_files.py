"""Schemes (dispositifs) and actions in the Atlas import templates, found in a build folder.

The files go through the importer's own validation (etl.importer), all-or-nothing,
inside the build's connection: one bad row fails the build with a message naming the
file, the line and the column. Addresses are not geocoded online during a build (a
build must not depend on the network); the geocoding cache is used when present.
The territory where a file's registry is complete is read from `<file stem>.territoire.txt`
beside it (one "niveau:code" per line, e.g. departement:13), else it is the communes the file
names (etl.importer.coverage).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ..context import BuildContext
from ..importer import KIND_FR, detect_kind, import_into
from ..importer.coverage import read_sidecar

_ORDER = {"schemes": 0, "actions": 1}   # actions may refer to schemes


def detect(path: Path) -> bool:
    return Path(path).is_file() and detect_kind(path) is not None


def load(ctx: BuildContext, paths: list[Path]) -> None:
    files = sorted(((detect_kind(p), Path(p)) for p in paths), key=lambda kp: (_ORDER[kp[0]], kp[1].name))
    for kind, path in files:
        source_id = ctx.register_source(
            f"fichier_{kind}_{path.stem}", path,
            title=f"{KIND_FR[kind].capitalize()} ({path.name})",
            publisher="modèle d'import Atlas ASV", geography="QPV2024")
        # a file of the build folder: its reference is its content's, the same at every build
        ref = f"dossier-{hashlib.sha256(path.read_bytes()).hexdigest()[:10]}"
        report = import_into(ctx.con, path, kind, offline=True, source_id=source_id, ctx=ctx,
                             coverage=read_sidecar(path), import_ref=ref)
        report.raise_for_errors()   # file-level problems are errors too
        for p in report.warnings + report.needs_coordinates:
            ctx.issue(path, p.row, p.column, p.value, "unlinked" if p.level == "locate" else "warning",
                      p.reason, source_id)

