"""Fictional territory and helpers for the importer tests (not a test module).

Three square communes side by side, three 2024 QPVs and a 2015 -> 2024 correspondence,
all invented. Codes and names follow the conventions of the fictional demo (département
96: "Bourg-Fictif" 96003, QPV QN09601M...) so that the documented templates import into
this territory as into the demo; like the demo, it lies off the French coast (lon -6.9 to
-6.3, lat 45.85 to 45.95), i.e. outside France's bounding boxes.
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
    ("96003", "Bourg-Fictif", _box(-6.90, 45.85, -6.70, 45.95)),
    ("96009", "Fictif-la-Rivière", _box(-6.70, 45.85, -6.50, 45.95)),
    ("96015", "Licorneville", _box(-6.50, 45.85, -6.30, 45.95)),
]
QPVS = [
    ("QN09601M", "Plateau des Fées", "96003", _box(-6.80, 45.89, -6.78, 45.91)),
    ("QN09602I", "Les Hippogriffes", "96003", _box(-6.77, 45.87, -6.75, 45.89)),
    ("QN09605I", "Les Dryades", "96009", _box(-6.62, 45.88, -6.58, 45.92)),
]
# (qpv2024, statut, rank, qpv2015)
CORRESPONDENCE = [
    ("QN09601M", "modifie", 1, "QP096001"),
    ("QN09601M", "modifie", 2, "QP096009"),
    ("QN09605I", "modifie", 1, "QP096009"),   # QP096009 was split in two
    ("QN09602I", "inchange", 1, "QP096002"),
]

POINT_IN_QPV1 = (-6.79, 45.90)      # Plateau des Fées, Bourg-Fictif
POINT_IN_QPV2 = (-6.60, 45.90)      # Les Dryades, Fictif-la-Rivière
POINT_IN_COMMUNE3 = (-6.40, 45.90)  # Licorneville, no QPV


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
            con.execute("INSERT INTO qpv_commune (qpv_code, commune_code) VALUES (?, ?)", [code, commune])
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
               communes="96003", qpv="QN09601M")
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


def demo_then_import(folder, rows: list[dict], quarantine: bool = False):
    """(demo DB, the same DB after importing `rows` as actions) in `folder`, built once."""
    import shutil

    from etl.build import build
    from etl.config import DEMO_DIR
    from etl.importer import apply

    first = folder / "demo.duckdb"
    build(DEMO_DIR, first, fictional=True, progress=lambda *_: None)
    second = folder / "demo_plus.duckdb"
    shutil.copyfile(first, second)
    rep = apply(csv_bytes(rows), "actions", db=second, filename="ajout.csv", offline=True, quarantine=quarantine)
    assert rep.applied, rep.summary()
    return first, second, rep
