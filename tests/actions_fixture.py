"""A tiny fictional DB for the Actions page tests (and for running the page before the demo
exists): `python -m tests.actions_fixture /tmp/mini.duckdb`.

Everything here is invented: one département, two communes, four QPVs (one with an unknown
population, one with a hostile name), a need indicator with one secret value, one ASV and
a dozen actions placed by coordinates, by QPV only or by commune only.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import shapely
from shapely.geometry import box

from etl.build import create_schema, load_reference_tables
from etl.context import BuildContext
from etl.db import connect

HOSTILE = "<img src=x onerror=alert(1)>"


def _sq(x0, y0, size):
    return box(x0, y0, x0 + size, y0 + size)


TERRITORIES = [
    # level, code, name, generation, region, departement, epci, commune, population, geometry
    ("region", "99", "Région Imaginaire", "COG2024", None, None, None, None, 42000, _sq(5.0, 43.0, 0.4)),
    ("departement", "96", "Département des Chimères", "COG2024", "99", None, None, None, 42000,
     _sq(5.0, 43.0, 0.4)),
    ("epci", "299900001", "Communauté des Songes", "COG2024", "99", "96", None, None, 42000, _sq(5.0, 43.0, 0.4)),
    ("commune", "96001", "Bourg-Fictif", "COG2024", "99", "96", "299900001", None, 30000, _sq(5.0, 43.0, 0.2)),
    ("commune", "96002", "Val-des-Licornes", "COG2024", "99", "96", "299900001", None, 12000, _sq(5.2, 43.0, 0.2)),
    ("qpv", "QN09601A", "Quartier des Licornes", "2024", "99", "96", "299900001", "96001", 4000,
     _sq(5.02, 43.02, 0.04)),
    ("qpv", "QN09602B", "Cité des Dragons", "2024", "99", "96", "299900001", "96001", 2500, _sq(5.1, 43.1, 0.04)),
    ("qpv", "QN09603C", "Les Hauts-Imaginaires", "2024", "99", "96", "299900001", "96002", None,
     _sq(5.22, 43.02, 0.04)),
    ("qpv", "QN09604D", f"Quartier {HOSTILE}", "2024", "99", "96", "299900001", "96002", 1500,
     _sq(5.3, 43.1, 0.04)),
]

# action_id, title, year_start, year_end, porteur, qpv, commune, lon, lat, scheme, themes, publics
ACTIONS = [
    ("A01", "Ateliers cuisine du Quartier des Licornes", 2021, 2023, "Association Farfadet", "QN09601A", "96001",
     5.03, 43.03, "ASV-BF", ["nutrition"], ["enfants_jeunes"]),
    ("A02", "Marche santé des Licornes", 2022, None, "Association Farfadet", "QN09601A", "96001", None, None,
     "ASV-BF", ["activite_physique", "nutrition"], ["vieillissement"]),
    ("A03", "Dépistage itinérant", 2022, 2022, "Centre de santé Chimère", "QN09601A", "96001", None, None,
     "ASV-BF", ["vaccination_depistage"], ["precarite"]),
    ("A04", "Groupe de parole des Dragons", 2020, 2024, "Maison des Songes", "QN09602B", "96001", None, None,
     "ASV-BF", ["estime_de_soi"], ["femmes"]),
    ("A05", "Permanence d'accès aux droits", 2023, None, "Maison des Songes", "QN09602B", None, None, None,
     None, ["acces_droits_soins"], ["precarite"]),
    ("A06", "Diagnostic santé des Hauts", 2019, 2019, "Ville de Val-des-Licornes", "QN09603C", "96002", None, None,
     None, ["observation"], ["precarite"]),
    ("A07", "Prévention des addictions au collège", 2023, 2024, "Ville de Val-des-Licornes", "QN09603C", "96002",
     None, None, None, ["addictions"], ["enfants_jeunes"]),
    ("A08", HOSTILE + " atelier", 2024, None, "Association =HYPERLINK(1)", "QN09604D", "96002", 5.31, 43.11,
     None, ["nutrition"], ["parentalite"]),
    ("A09", "Forum santé de Bourg-Fictif", 2024, 2024, "Ville de Bourg-Fictif", None, "96001", None, None,
     "ASV-BF", ["prevention"], ["precarite"]),
    ("A10", "Qualité de l'air intérieur", 2021, 2022, "Ville de Val-des-Licornes", None, "96002", None, None,
     None, ["qualite_air"], ["petite_enfance"]),
    ("A11", "Action sans localisation", 2022, 2022, "Association Farfadet", None, None, None, None, None,
     ["nutrition"], ["precarite"]),
]

NEED = {"QN09601A": ("ok", 41.0), "QN09602B": ("ok", 22.0), "QN09603C": ("ok", 48.0),
        "QN09604D": ("secret", None)}


def build_mini_db(path: str | Path, actions_cover=(("region", "99"),), schemes_cover=(("region", "99"),)) -> Path:
    """The mini DB; the action list and the scheme registry are declared complete on
    `actions_cover` / `schemes_cover` (level, code) territories (elsewhere: unknown)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    con = connect(path, spatial=True)
    create_schema(con)
    load_reference_tables(con)
    ctx = BuildContext(con=con, fictional=True)
    con.execute("INSERT INTO meta VALUES ('fictional', 'true'), ('built_at', '2025-01-01T00:00:00')")
    con.executemany("INSERT INTO source (source_id, title, publisher, vintage, geography, file_name, fictional) "
                    "VALUES (?,?,?,?,?,?,TRUE)", [
                        ("mini_cog", "Communes fictives", "IGN", "2024", "COG2024", "communes.gpkg"),
                        ("mini_pop_qpv", "Population des QPV fictifs", "INSEE", "2020", "QPV2024", "pop.csv"),
                        ("mini_onpv", "Indicateurs fictifs des QPV", "ONPV", "2021", "QPV2024", "revn.csv"),
                        ("mini_actions", "Actions fictives", "Atlas ASV", "2024", None, "actions.csv"),
                    ])
    terr = pd.DataFrame([
        {"level": lv, "code": c, "name": n, "generation": g, "region": r, "departement": d, "epci": e,
         "commune": cm, "population": p, "geom": shapely.to_wkb(geom), "geom_display": shapely.to_wkb(geom),
         "source_id": "mini_pop_qpv" if lv == "qpv" else "mini_cog"}
        for lv, c, n, g, r, d, e, cm, p, geom in TERRITORIES])
    terr["population"] = terr["population"].astype("Int64")
    ctx.insert_df("territory", terr, geom_cols=("geom", "geom_display"))
    con.executemany("INSERT INTO qpv_commune (qpv_code, commune_code) VALUES (?, ?)",
                    [(c, cm) for lv, c, _, _, _, _, _, cm, _, _ in TERRITORIES if lv == "qpv"])
    con.executemany("INSERT INTO indicator_value (level, code, indicator_id, year, value, status, geography, "
                    "source_id, period) VALUES ('qpv', ?, 'taux_pauvrete_60', 2021, ?, ?, 'QPV2024', 'mini_onpv', -7979)",
                    [(c, v, st) for c, (st, v) in NEED.items()])
    con.execute("INSERT INTO scheme (scheme_id, kind, name, porteur, year_created, status, source_id) VALUES "
                "('ASV-BF', 'ASV', 'ASV de Bourg-Fictif', 'Ville de Bourg-Fictif', 2012, 'actif', 'mini_actions')")
    con.execute("INSERT INTO scheme_territory VALUES ('ASV-BF', 'commune', '96001')")
    for (aid, title, y0, y1, porteur, q, c, lon, lat, sch, themes, publics) in ACTIONS:
        method = "coordinates" if lon is not None else ("qpv" if q else ("commune" if c else None))
        con.execute("INSERT INTO action (action_id, title, description, year_start, year_end, porteur, qpv_code, "
                    "commune_code, lon, lat, location_method, scheme_id, funders, source_id) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?, 'mini_actions')",
                    [aid, title, f"Description fictive de l'action {aid}.", y0, y1, porteur, q, c, lon, lat,
                     method, sch, "ARS fictive | Ville fictive"])
        con.executemany("INSERT INTO action_theme VALUES (?, ?)", [(aid, t) for t in themes])
        con.executemany("INSERT INTO action_public VALUES (?, ?)", [(aid, p) for p in publics])
    con.executemany("INSERT INTO registry_coverage VALUES (?, ?, ?, TRUE, 'mini_actions', NULL)",
                    [("actions", lv, c) for lv, c in actions_cover] + [("schemes", lv, c) for lv, c in schemes_cover])
    con.execute("CHECKPOINT")
    con.close()
    return path


if __name__ == "__main__":
    print(build_mini_db(sys.argv[1] if len(sys.argv) > 1 else "/tmp/atlas-actions-mini.duckdb"))
