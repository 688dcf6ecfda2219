"""ANCT correspondence between 2024 and 2015 QPVs (liste-correspondance-qp2024-qp2015.csv).

Accepts the official file (`;`-separated, capitalised headers QP2024;Label_QP2024;Statut;QP2015_1;
Label_QP2015_1;...;QP2015_3;Label_QP2015_3) and the lower-case, `,`-separated CRLF copy found in
public repositories. One qpv_correspondence row per (2024 QPV, rank) pair; a 2024 QPV with no
2015 predecessor ('nouveau', and the Mayotte 'commune' QPVs) gets one row with rank NULL.

The file covers all France: rows about 2024 QPVs that are not among the loaded contours are
counted in one 'out_of_scope' issue and not stored (all rows are stored when no 2024 contour
is loaded). Known quirks of the source (statut not matching the code's last letter, labels
differing from the contours beyond accents and apostrophes...) become 'warning' issues.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from data.lineage import STATUT_LETTERS as STATUTS

from ..errors import InputError
from ._geo_common import (LICENCE, QPV2015_RE, QPV2024_RE, csv_header, norm_label, out_of_scope_summary,
                          read_csv_located, source_id_for, unreadable_named)

URL = "https://www.data.gouv.fr/fr/datasets/quartiers-prioritaires-de-la-politique-de-la-ville-qpv/"
COLUMNS = ["qpv2024", "label2024", "statut", "rank", "qpv2015", "label2015", "source_id"]


def detect(path: Path) -> bool:
    path = Path(path)
    header = set(csv_header(path))
    if {"QP2024", "STATUT", "QP2015_1"} <= header:
        return True
    return unreadable_named(path, r"correspondance.*q", {".csv"})


def _statut(raw: str) -> str | None:
    s = unicodedata.normalize("NFKD", raw.strip().lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return s if s in STATUTS else None


def load(ctx, paths: list[Path]) -> None:
    loaded = dict(ctx.con.execute(
        "SELECT code, name FROM territory WHERE level = 'qpv' AND generation = '2024'").fetchall())
    done: set[str] = set()
    for p in paths:
        _load_file(ctx, Path(p), loaded, done)


def _load_file(ctx, path: Path, loaded: dict[str, str], done: set[str]) -> None:
    table = read_csv_located(path)
    col = {h.upper(): h for h in table.header}
    for need in ("QP2024", "STATUT", "QP2015_1"):
        if need not in col:
            table.col(need)  # raises "colonne obligatoire absente" naming line 1 and the column
    ranks = [k for k in (1, 2, 3) if f"QP2015_{k}" in col]
    sid = ctx.register_source(
        source_id_for(ctx, "qpv2024_2015_correspondance", path), path,
        title="Correspondance entre les quartiers prioritaires 2024 et 2015", publisher="ANCT", url=URL,
        licence=LICENCE, vintage="2024", geography="QPV2024")
    rows, outside, seen = [], [], {}
    for line, rec in table.records():
        rec = {k.upper(): v for k, v in rec.items()}
        code = rec["QP2024"]
        if not QPV2024_RE.match(code):
            raise InputError(path, line, col["QP2024"], "code QPV 2024 mal formé (attendu QN + département sur "
                             "3 caractères + 2 chiffres + lettre N, M, I ou C, ex. QN09601M)", code)
        if code in seen:
            raise InputError(path, line, col["QP2024"], f"code QPV 2024 en double (déjà ligne {seen[code]})", code)
        seen[code] = line
        statut = _statut(rec["STATUT"])
        if statut is None:
            raise InputError(path, line, col["STATUT"],
                             "statut inconnu (attendu INCHANGE, MODIFIE, NOUVEAU ou COMMUNE)", rec["STATUT"])
        preds = []
        for k in ranks:
            old = rec[f"QP2015_{k}"]
            if not old:
                continue
            if not QPV2015_RE.match(old):
                raise InputError(path, line, col[f"QP2015_{k}"], "code QPV 2015 mal formé "
                                 "(attendu QP + département sur 3 caractères + 3 chiffres, ex. QP096001)", old)
            preds.append((k, old, rec.get(f"LABEL_QP2015_{k}") or None))
        if code in done:
            raise InputError(path, line, col["QP2024"], "code QPV 2024 déjà donné par un autre fichier", code)
        if loaded and code not in loaded:
            outside.append(code)
            continue
        done.add(code)
        label = rec.get("LABEL_QP2024") or None
        _quirks(ctx, path, line, col, code, label, statut, preds, loaded, sid)
        if preds:
            rows.extend({"qpv2024": code, "label2024": label, "statut": statut, "rank": k,
                         "qpv2015": old, "label2015": lab, "source_id": sid} for k, old, lab in preds)
        else:
            rows.append({"qpv2024": code, "label2024": label, "statut": statut, "rank": None,
                         "qpv2015": None, "label2015": None, "source_id": sid})
    if rows:
        df = pd.DataFrame(rows, columns=COLUMNS)
        df["rank"] = pd.array(df["rank"], dtype="Int64")
        ctx.insert_df("qpv_correspondence", df)
    out_of_scope_summary(ctx, path, col["QP2024"], outside, "QPV 2024 absents des contours chargés", sid)


def _quirks(ctx, path, line, col, code, label, statut, preds, loaded, sid) -> None:
    """Warnings for the inconsistencies the official file is known to carry."""
    letter = STATUTS[statut]
    if code[-1] != letter:
        ctx.issue(path, line, col["STATUT"], f"{code} : {statut}", "warning",
                  f"statut « {statut} » incohérent avec la dernière lettre du code ({code[-1]}) : "
                  "statut du fichier conservé, mais le quartier n'est traité comme inchangé que si les deux "
                  "concordent", sid)
    if statut in ("nouveau", "commune") and preds:
        ctx.issue(path, line, col["QP2015_1"], preds[0][1], "warning",
                  f"QPV de statut « {statut} » avec un prédécesseur 2015", sid)
    if statut in ("inchange", "modifie") and not preds:
        ctx.issue(path, line, col["QP2015_1"], code, "warning",
                  f"QPV de statut « {statut} » sans code 2015", sid)
    if statut == "inchange" and len(preds) > 1:
        ctx.issue(path, line, col["QP2015_2"], code, "warning",
                  "QPV « inchangé » avec plusieurs prédécesseurs 2015", sid)
    if label and code in loaded and norm_label(label) != norm_label(loaded[code]):
        ctx.issue(path, line, col.get("LABEL_QP2024"), label, "warning",
                  f"libellé différent de celui des contours (« {loaded[code]} »)", sid)
