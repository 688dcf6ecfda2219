"""Command line: python -m etl import {actions,schemes} FILE ... and python -m etl.importer templates DIR."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config import resolve_db_path
from .api import apply, validate
from .mapping import load_mapping
from .spec import _kind
from .templates import write_templates


def cli_import(args) -> int:
    """`python -m etl import {actions,schemes} FILE [--mapping M] [--quarantine] [--report DIR]
    [--dry-run] [--offline] [--territoire departement:13,commune:83137] [--db PATH]`. Exit code 0 when imported (or importable in a dry
    run), 2 when rejected or when no row at all could be loaded."""
    db = resolve_db_path(getattr(args, "db", None))
    kind = _kind(args.kind)
    mapping = load_mapping(args.mapping, kind) if getattr(args, "mapping", None) else None
    common = dict(mapping=mapping, quarantine=bool(getattr(args, "quarantine", False)),
                  offline=bool(getattr(args, "offline", False)), coverage=getattr(args, "territoire", None))
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m etl.importer", description="Modèles d'import Atlas ASV")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("templates", help="écrire les modèles CSV et XLSX")
    t.add_argument("dest", nargs="?", default="docs/modeles")
    args = p.parse_args(argv)
    for path in write_templates(args.dest):
        print(path)
    return 0
