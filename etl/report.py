"""`python -m etl report`: what is loaded, from which source and vintage, what was rejected and why."""
from __future__ import annotations

import sys
from pathlib import Path

from data.provenance import vintage_text

from .db import connect

KIND_LABELS = {
    "rejected": "Lignes rejetées",
    "repaired": "Géométries réparées",
    "unlinked": "Codes non rattachés",
    "out_of_scope": "Hors du territoire chargé",
    "warning": "Avertissements",
}
LEVEL_LABELS = {
    "france": "France", "region": "Régions", "departement": "Départements", "epci": "EPCI",
    "commune": "Communes", "arrondissement": "Arrondissements municipaux", "qpv": "QPV",
    "ensemble_qpv": "Ensemble des QPV (référence nationale)",
}


def print_summary(db_path: Path, out=sys.stdout, detail: bool = True, limit: int = 50) -> None:
    if not Path(db_path).exists():
        print(f"Aucune base à {db_path} : lancez `python -m etl build --demo` ou `--from DIR`.", file=out)
        return
    con = connect(db_path, read_only=True)
    try:
        w = lambda s="": print(s, file=out)  # noqa: E731
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("fictional") == "true":
            w("*** DONNÉES FICTIVES DE DÉMONSTRATION : aucun chiffre ne décrit un territoire réel ***")
        w(f"Base : {db_path} (construite le {meta.get('built_at', '?')})")
        w()
        w("Territoires")
        for level, gen, n in con.execute(
                "SELECT level, coalesce(generation, ''), count(*) FROM territory GROUP BY ALL ORDER BY ALL").fetchall():
            suffix = f" {gen}" if level == "qpv" and gen else ""
            w(f"  {LEVEL_LABELS.get(level, level)}{suffix} : {n}")
        counts = con.execute("""
            SELECT (SELECT count(*) FROM indicator_value),
                   (SELECT count(*) FROM indicator_value WHERE status = 'secret'),
                   (SELECT count(*) FROM indicator_value WHERE perimeter = 'perimetre_2015'),
                   (SELECT count(*) FROM scheme), (SELECT count(*) FROM action),
                   (SELECT count(*) FROM gp_zoning), (SELECT count(*) FROM qpv_correspondence)""").fetchone()
        w(f"Valeurs d'indicateurs : {counts[0]} (dont {counts[1]} non diffusées, "
          f"{counts[2]} sur le périmètre 2015)")
        w(f"Dispositifs : {counts[3]} · actions : {counts[4]} · zonage ARS : {counts[5]} QPV · "
          f"correspondance 2024-2015 : {counts[6]} lignes")
        w()
        if detail:
            w("Sources")
        else:
            n = con.execute("SELECT count(*) FROM source").fetchone()[0]
            w(f"Sources : {n} fichiers (détail : python -m etl report)")
        for sid, title, publisher, vintage, geo, fname, retrieved in con.execute(
                "SELECT source_id, title, publisher, vintage, geography, file_name, retrieved_at "
                "FROM source ORDER BY source_id").fetchall() if detail else []:
            n = con.execute("SELECT count(*) FROM indicator_value WHERE source_id = ?", [sid]).fetchone()[0]
            extra = f", {n} valeurs" if n else ""
            got = f", récupéré le {retrieved}" if retrieved else ""
            w(f"  - {title} — {publisher}, {vintage_text(vintage)}, géographie {geo or 'inconnue'}"
              f" [{fname or '-'}{extra}{got}]")
        w()
        _evidence(con, w, detail)
        _coverage(con, w)
        rows = con.execute(
            "SELECT kind, count(*) FROM load_issue GROUP BY kind ORDER BY kind").fetchall()
        if not rows:
            w("Aucun rejet ni avertissement.")
        for kind, n in rows:
            w(f"{KIND_LABELS.get(kind, kind)} : {n}")
            if not detail:
                continue
            for f, line, field, value, reason in con.execute(
                    "SELECT file, line, field, value, reason FROM load_issue WHERE kind = ? "
                    "ORDER BY file, try_cast(line AS INTEGER) NULLS LAST, line LIMIT ?", [kind, limit]).fetchall():
                loc = ", ".join(x for x in (f, line and (line if not line.isdigit() else f"ligne {line}"),
                                            field and f"champ {field}") if x)
                val = f" [{value}]" if value else ""
                w(f"    {loc}{val} : {reason}")
            if n > limit:
                w(f"    … et {n - limit} autres (--limit pour en voir plus)")
    finally:
        con.close()


def _evidence(con, w, detail: bool) -> None:
    """The ONPV columns dated by evidence (etl/loaders/_dating.py), with the evidence."""
    rows = con.execute("""
        SELECT s.file_name, e.column_name, e.indicator_id, e.ref_year, t.file_name, e.evidence_column,
               e.n_compared, e.n_matching, e.n_dropped
        FROM year_evidence e LEFT JOIN source s ON s.source_id = e.source_id
        LEFT JOIN source t ON t.source_id = e.evidence_source_id ORDER BY 1, 3""").fetchall()
    if not rows:
        return
    w(f"Années décrites établies par comparaison des fichiers : {len(rows)} colonne(s)")
    if detail:
        for f, col, ind, year, ev, ev_col, n, same, dropped in rows:
            w(f"    {f}, colonne {col} ({ind}) : décrit {year} — {same} des {n} QPV comparés ont la même valeur "
              f"(arrondie comme dans les fichiers) dans {ev}, colonne {ev_col} ; {dropped} valeur(s) en double "
              f"gardée(s) une fois, attribuée(s) à {ev}")
    w()


def _coverage(con, w) -> None:
    """Where the scheme registry and the action list are complete (etl.importer.coverage)."""
    rows = con.execute("SELECT kind, level, code, bool_or(declared) FROM registry_coverage "
                       "GROUP BY ALL ORDER BY ALL").fetchall()
    absent = {"schemes": "Registre des dispositifs : non chargé (couverture des QPV « inconnue » partout, "
                         "jamais « sans ASV »)",
              "actions": "Liste des actions : non chargée (actions « non recensées » partout, jamais « 0 »)"}
    for kind, label in (("schemes", "Registre des dispositifs"), ("actions", "Liste des actions")):
        mine = [(lv, c, d) for k, lv, c, d in rows if k == kind]
        if not mine:
            w(absent[kind])
            continue
        n = len(mine)
        sample = ", ".join(f"{lv} {c}" for lv, c, _ in mine[:8]) + (", …" if n > 8 else "")
        w(f"{label} : complet sur {n} territoire(s) ({sample})")
    w()
