"""Command line: python -m etl {build,download,report,import,demo,portrait,export-site} ..."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import DEMO_DIR, resolve_db_path
from .errors import InputError


def _cmd_build(args) -> int:
    from .build import build

    db = resolve_db_path(args.db)
    if args.demo:
        from . import demo

        if args.regenerate or not demo.is_complete(DEMO_DIR):
            demo.generate(DEMO_DIR)
        build(DEMO_DIR, db, fictional=True, kind="build-demo", replay=not args.no_replay)
    else:
        from .download import retrieval_dates

        folder = Path(args.from_dir)
        build(folder, db, fictional=False, kind="build-dir", retrieved=retrieval_dates(folder),
              replay=not args.no_replay)
    print(f"Base écrite : {db}")
    from .report import print_summary

    print_summary(db, out=sys.stdout, detail=False)
    return 0


def _cmd_download(args) -> int:
    from .download import DownloadError, download

    if args.check:
        from .check import check

        try:
            return check(offline=args.offline)
        except DownloadError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return 2
    try:
        manifest = download(Path(args.dest), region=args.region, force=args.force)
    except DownloadError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    print(f"{len(manifest['files'])} fichier(s) dans {args.dest}"
          + (f" ({len(manifest['failed'])} source(s) facultative(s) indisponible(s))" if manifest["failed"] else ""))
    print(f"Étape suivante : python -m etl build --from {args.dest}")
    return 0


def _cmd_report(args) -> int:
    from .report import print_summary

    print_summary(resolve_db_path(args.db), out=sys.stdout, detail=True, limit=args.limit)
    return 0


def _cmd_import(args) -> int:
    from .importer import cli_import

    return cli_import(args)


def _cmd_demo(args) -> int:
    from . import demo

    demo.generate(Path(args.dest))
    print(f"Jeu de démonstration fictif écrit dans {args.dest}")
    return 0


def _open_db(args):
    from data import access

    db = resolve_db_path(args.db)
    if not db.exists():
        raise FileNotFoundError(f"Base introuvable : {db}. Lancez `python -m etl build --demo`.")
    access.configure(db)
    return access


def _cmd_portrait(args) -> int:
    from publish.portrait import PortraitError, portrait_html

    try:
        _open_db(args)
        doc = portrait_html(args.level, args.code)
    except (FileNotFoundError, PortraitError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.html:
        out.write_text(doc, encoding="utf-8")
    else:
        from publish.render import Renderer, RenderError

        renderer = Renderer(None)
        try:
            out.write_bytes(renderer.html_pdf(doc).data)
        except RenderError as exc:
            print(f"Erreur : {exc}", file=sys.stderr)
            return 2
        finally:
            renderer.close()
    print(f"Portrait écrit : {out}")
    return 0


def _cmd_export_site(args) -> int:
    from publish.export_site import ExportError, export_site

    try:
        _open_db(args)
        info = export_site(Path(args.dest), args.scope, progress=lambda m: print(m))
    except (FileNotFoundError, ExportError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    print(f"Atlas hors ligne écrit dans {info['dest']} : {info['maps']} cartes, {info['fiches']} fiches. "
          f"Ouvrez {Path(info['dest']) / 'index.html'} dans un navigateur.")
    return 0


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m etl", description="Atlas ASV : chargement des données")
    p.add_argument("--db", help="chemin de la base DuckDB (défaut : $ATLAS_DB ou data/atlas.duckdb)")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="construire la base")
    g = b.add_mutually_exclusive_group(required=True)
    g.add_argument("--demo", action="store_true", help="jeu de démonstration fictif (data/demo)")
    g.add_argument("--from", dest="from_dir", metavar="DIR", help="dossier de fichiers officiels")
    b.add_argument("--regenerate", action="store_true", help="régénérer les fichiers de démonstration")
    b.add_argument("--no-replay", action="store_true",
                   help="ne pas réimporter les fichiers d'actions et de dispositifs gardés dans imports/ "
                        "à côté de la base (par défaut, une reconstruction les rejoue)")
    b.add_argument("--db", default=argparse.SUPPRESS)
    b.set_defaults(func=_cmd_build)

    d = sub.add_parser("download", help="télécharger les données officielles (avec cache)")
    d.add_argument("--region", metavar="CODE", help="code INSEE de région (ex. 93)")
    d.add_argument("--dest", default="data/raw", help="dossier de destination (défaut data/raw)")
    d.add_argument("--force", action="store_true", help="ignorer le cache")
    d.add_argument("--check", action="store_true",
                   help="sans rien télécharger : pour chaque source, l'adresse, les fichiers attendus, le chargeur, "
                        "l'année décrite, la mise en page (vérifiée ou non sur un fichier publié) et un verdict")
    d.add_argument("--offline", action="store_true", help="avec --check : n'interroger aucune adresse")
    d.set_defaults(func=_cmd_download)

    r = sub.add_parser("report", help="ce qui est chargé, d'où, et ce qui a été rejeté")
    r.add_argument("--limit", type=int, default=50, help="nombre maximal de lignes par catégorie")
    r.add_argument("--db", default=argparse.SUPPRESS)
    r.set_defaults(func=_cmd_report)

    i = sub.add_parser("import", help="importer des actions ou des dispositifs (ASV, CLS, CLSM, CPTS)")
    i.add_argument("kind", choices=["actions", "schemes"])
    i.add_argument("file")
    i.add_argument("--mapping", help="fichier de correspondance des colonnes (TOML)")
    i.add_argument("--quarantine", action="store_true",
                   help="charger les lignes valides et mettre les autres en quarantaine")
    i.add_argument("--report", help="dossier où écrire le rapport CSV/HTML")
    i.add_argument("--dry-run", action="store_true", help="valider seulement")
    i.add_argument("--offline", action="store_true", help="ne pas géocoder les adresses")
    i.add_argument("--territoire", metavar="NIVEAU:CODE,...",
                   help="territoire où ce registre est complet (ex. departement:13 ou commune:13055,commune:13005) ; "
                        "par défaut, les communes que nomme le fichier. Ailleurs, la couverture et les actions "
                        "restent « non recensées », jamais « aucune »")
    i.add_argument("--db", default=argparse.SUPPRESS)
    i.set_defaults(func=_cmd_import)

    m = sub.add_parser("demo", help="(ré)écrire les fichiers du jeu de démonstration fictif")
    m.add_argument("--dest", default=str(DEMO_DIR))
    m.set_defaults(func=_cmd_demo)
    po = sub.add_parser("portrait", help="portrait de territoire en PDF (base d'un diagnostic partagé)")
    po.add_argument("--level", required=True, choices=["qpv", "commune", "epci", "asv"])
    po.add_argument("--code", required=True, help="code du territoire (QPV, INSEE, SIREN) ou identifiant de l'ASV")
    po.add_argument("--out", required=True, help="fichier PDF à écrire")
    po.add_argument("--html", action="store_true", help="écrire le document HTML au lieu du PDF")
    po.add_argument("--db", default=argparse.SUPPRESS)
    po.set_defaults(func=_cmd_portrait)

    es = sub.add_parser("export-site", help="atlas hors ligne : cartes et fiches lisibles sans serveur ni réseau")
    es.add_argument("dest", metavar="DIR")
    es.add_argument("--scope", help="périmètre, ex. departement:96 (défaut : tout le territoire chargé)")
    es.add_argument("--db", default=argparse.SUPPRESS)
    es.set_defaults(func=_cmd_export_site)
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        print("La base existante n'a pas été modifiée.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
