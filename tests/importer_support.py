"""Fictional territory and helpers for the importer tests (not a test module).

Three square communes side by side, three 2024 QPVs and a 2015 -> 2024 correspondence,
all invented ("Bourg-Fictif", "Quartier des Licornes"...), placed in a corner of
metropolitan France so that the "outside France" checks are meaningful.
"""
from __future__ import annotations

import csv
import hashlib
import io
import shutil
from pathlib import Path

from etl.build import create_schema, load_reference_tables
from etl.db import connect

ACTION_HEADER = ["id_action", "titre", "description", "annee_debut", "annee_fin", "porteur", "thematiques",
                 "publics", "qpv", "commune", "longitude", "latitude", "adresse", "id_dispositif", "financeurs"]
SCHEME_HEADER = ["id_dispositif", "type", "nom", "porteur", "annee_creation", "statut", "communes", "qpv", "site_web"]


def _box(x0, y0, x1, y1) -> str:
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


COMMUNES = [
    ("96001", "Bourg-Fictif", _box(4.80, 44.00, 4.90, 44.10)),
    ("96002", "Val-des-Licornes", _box(4.90, 44.00, 5.00, 44.10)),
    ("96003", "Pont-Imaginaire", _box(5.00, 44.00, 5.10, 44.10)),
]
QPVS = [
    ("QN09601M", "Quartier des Licornes", "96001", _box(4.82, 44.02, 4.86, 44.06)),
    ("QN09602N", "Les Hauts-Fictifs", "96002", _box(4.92, 44.02, 4.96, 44.06)),
    ("QN09603I", "Cité des Chimères", "96001", _box(4.86, 44.07, 4.89, 44.09)),
]
# (qpv2024, statut, rank, qpv2015)
CORRESPONDENCE = [
    ("QN09601M", "modifie", 1, "QP096001"),
    ("QN09601M", "modifie", 2, "QP096003"),
    ("QN09602N", "modifie", 1, "QP096003"),   # QP096003 was split in two
    ("QN09603I", "inchange", 1, "QP096002"),
]

POINT_IN_QPV1 = (4.84, 44.04)       # Quartier des Licornes, Bourg-Fictif
POINT_IN_QPV2 = (4.94, 44.04)       # Les Hauts-Fictifs, Val-des-Licornes
POINT_IN_COMMUNE3 = (5.05, 44.05)   # Pont-Imaginaire, no QPV


def make_territory_db(path: Path) -> Path:
    con = connect(path, spatial=True)
    try:
        create_schema(con)
        load_reference_tables(con)
        con.execute("INSERT INTO territory (level, code, name, generation, region, departement) "
                    "VALUES ('region', '99', 'Région Fictive', 'COG2024', NULL, NULL), "
                    "('departement', '96', 'Département Fictif', 'COG2024', '99', NULL)")
        for code, name, wkt in COMMUNES:
            con.execute("INSERT INTO territory (level, code, name, generation, region, departement, population, geom) "
                        "VALUES ('commune', ?, ?, 'COG2024', '99', '96', 10000, ST_GeomFromText(?))", [code, name, wkt])
        for code, name, commune, wkt in QPVS:
            con.execute("INSERT INTO territory (level, code, name, generation, region, departement, commune, geom) "
                        "VALUES ('qpv', ?, ?, '2024', '99', '96', ?, ST_GeomFromText(?))", [code, name, commune, wkt])
            con.execute("INSERT INTO qpv_commune VALUES (?, ?)", [code, commune])
        for q24, statut, rank, q15 in CORRESPONDENCE:
            con.execute("INSERT INTO qpv_correspondence (qpv2024, statut, rank, qpv2015) VALUES (?, ?, ?, ?)",
                        [q24, statut, rank, q15])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def copy_db(base: Path, dest: Path) -> Path:
    shutil.copyfile(base, dest)
    return dest


def action_row(**kw) -> dict:
    row = {h: "" for h in ACTION_HEADER}
    row.update(id_action="A1", titre="Atelier fictif", annee_debut="2024", thematiques="nutrition",
               qpv="QN09601M")
    row.update({k: str(v) for k, v in kw.items()})
    return row


def scheme_row(**kw) -> dict:
    row = {h: "" for h in SCHEME_HEADER}
    row.update(id_dispositif="ASV-96-001", type="ASV", nom="Atelier santé ville de Bourg-Fictif",
               communes="96001", qpv="QN09601M")
    row.update({k: str(v) for k, v in kw.items()})
    return row


def csv_bytes(rows: list[dict], header: list[str] | None = None, delimiter: str = ";",
              encoding: str = "utf-8", bom: bool = False, preamble: list[list[str]] | None = None) -> bytes:
    header = header or list(rows[0].keys())
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for line in preamble or []:
        w.writerow(line)
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def table_dump(db: Path, tables=("scheme", "scheme_territory", "action", "action_theme", "action_public",
                                 "import_log", "import_quarantine")) -> dict:
    """Sorted contents of the given tables (geometry as WKB hex), to compare before/after."""
    con = connect(db, read_only=True)
    try:
        out = {}
        for t in tables:
            rows = con.execute(f"SELECT * FROM {t}").fetchall()
            out[t] = sorted((tuple(v.hex() if isinstance(v, (bytes, bytearray)) else v for v in r)
                             for r in rows), key=repr)
        return out
    finally:
        con.close()


def file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def rows_of_db(db: Path, sql: str, params=None) -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
