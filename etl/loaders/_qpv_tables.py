"""What the loaders of QPV indicator tables share (onpv, filosofi_qpv): which QPV codes of a file
are kept, the minimal 2015 QPV rows they create, and the "Ensemble" row of all QPVs of France.

- A 2015 code (QP…) is kept when it is a loaded territory (2015 contours) or the predecessor,
  in the loaded correspondence, of a loaded 2024 QPV; in the second case a minimal territory
  row is created (level 'qpv', generation '2015', the file's label, département from the code,
  région from its 2024 successor).
- A 2024 code (QN…) is kept when it is a loaded 2024 QPV.
- "Ensemble" (all QPVs of France together; "00" in INSEE's separate _ENSQP files) is the reference
  INSEE, ONPV and SIG Ville publish beside each QPV: it goes to a territory of level 'ensemble_qpv',
  one per QPV geography (ENSEMBLES): all the QPVs of 2015 and all those of 2024 are two different
  populations, whose figures for the same year differ.
"""
from __future__ import annotations

import pandas as pd

from ._geo_common import QPV2015_RE, QPV2024_RE, qpv_departement

ENSEMBLE_LEVEL = "ensemble_qpv"
ENSEMBLES = {"QPV2015": ("QPV2015-FR", "Ensemble des QPV 2015 (France)"),
             "QPV2024": ("QPV2024-FR", "Ensemble des QPV 2024 (France)")}


def is_ensemble(code: str) -> bool:
    """"Ensemble" (ONPV tables, Filosofi-on-QPV files) or "00" (INSEE's separate _ENSQP file)."""
    return str(code or "").strip().casefold() in ("ensemble", "00")


def ensure_ensemble(ctx, geography: str, source_id: str) -> tuple[str, str]:
    """The territory the all-QPV figures of a QPV geography ('QPV2015', 'QPV2024') attach to
    (created once); returns (level, code)."""
    code, name = ENSEMBLES[geography]
    if not ctx.con.execute("SELECT count(*) FROM territory WHERE level = ? AND code = ?",
                           [ENSEMBLE_LEVEL, code]).fetchone()[0]:
        ctx.con.execute("INSERT INTO territory (level, code, name, generation, source_id) VALUES (?, ?, ?, ?, ?)",
                        [ENSEMBLE_LEVEL, code, name, geography, source_id])
    return ENSEMBLE_LEVEL, code


class QpvScope:
    """The QPV codes a build keeps, read once per loader run; `target()` decides per code."""

    def __init__(self, con):
        self.existing = {r[0] for r in con.execute(
            "SELECT code FROM territory WHERE level = 'qpv' AND code LIKE 'QP%'").fetchall()}
        self.loaded2024 = {r[0] for r in con.execute(
            "SELECT code FROM territory WHERE level = 'qpv' AND generation = '2024'").fetchall()}
        self.referenced: dict[str, tuple] = {}
        for code, label, region in con.execute("""
                SELECT c.qpv2015, any_value(c.label2015), any_value(t.region)
                FROM qpv_correspondence c
                JOIN territory t ON t.level = 'qpv' AND t.code = c.qpv2024
                WHERE c.qpv2015 IS NOT NULL
                GROUP BY c.qpv2015""").fetchall():
            self.referenced[code] = (label, region)
        self.created: dict[str, dict] = {}

    def keeps(self, code: str, label: str | None, source_id: str) -> bool:
        """Whether a QPV code's row is loaded (creating its minimal 2015 row when needed)."""
        if QPV2024_RE.match(code):
            return code in self.loaded2024
        if not QPV2015_RE.match(code):
            return False
        if code in self.existing:
            return True
        if code not in self.referenced:
            return False
        if code not in self.created:
            corr_label, region = self.referenced[code]
            self.created[code] = {"level": "qpv", "code": code, "name": label or corr_label or code,
                                  "generation": "2015", "region": region,
                                  "departement": qpv_departement(code), "source_id": source_id}
        return True

    def flush(self, ctx) -> None:
        if self.created:
            ctx.insert_df("territory", pd.DataFrame(list(self.created.values())))
            self.existing.update(self.created)
            self.created = {}
