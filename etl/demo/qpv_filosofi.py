"""The demo's INSEE Filosofi-on-QPV file (2015 geography), in the 2018+ official layout.

As in the real world, the ONPV table of a later diffusion vintage republishes these figures:
the demo's REVN_2022 carries the income columns of this file, so a demo build dates them by
evidence (etl/loaders/_dating.py) and keeps them once. The figures are read back from the
generated REVN_2022 bytes (and completed from an own random sequence for the columns the ONPV
table lacks), so the other demo files are unchanged.
"""
from __future__ import annotations

import math

from .formats import _csv
from .plan import CRLF, FILES, FILO_QPV_YEAR
from .world import _Rand

NBSP = "\u00a0"          # INSEE's thousands separator in these files (not the ONPV's U+202F)
# column of the Filosofi-on-QPV layout <- column of REVN_2022 (None: generated)
COLUMNS = [("DISP_Q1", "DISP_Q1"), ("DISP_MED", "DISP_Q2"), ("DISP_Q3", "DISP_Q3"), ("DISP_EQ", None),
           ("DISP_D1", "DISP_D1"), ("DISP_D2", None), ("DISP_D3", None), ("DISP_D4", None), ("DISP_D6", None),
           ("DISP_D7", None), ("DISP_D8", None), ("DISP_D9", "DISP_D9"), ("DISP_RD", "DISP_D1D9"),
           ("DISP_GINI", None), ("DISP_S80S20", None), ("DISP_PACT", "PACT"), ("DISP_PCHO", None),
           ("DISP_PPEN", "PPEN"), ("DISP_PPAT", "PPAT"), ("DISP_PPSOC", "PPSOC"), ("DISP_PPFAM", None),
           ("DISP_PPMINI", None), ("DISP_PPLOGT", None), ("DISP_PIMPOT", "PIMPOT"), ("DISP_TP60", "TP60"),
           ("DISP_NOTE", None)]
DECIMALS = {"DISP_EQ": 2, "DISP_RD": 1, "DISP_GINI": 3, "DISP_S80S20": 1}


def _num(cell: str) -> float | None:
    s = cell.replace("\u202f", "").replace(NBSP, "").replace(" ", "").replace(",", ".")
    return float(s) if s else None


def _fmt(col: str, v: float | None) -> str:
    if v is None:
        return ""
    d = DECIMALS.get(col, 1 if col.startswith("DISP_P") or col == "DISP_TP60" else 0)
    s = f"{v:,.{d}f}".replace(",", NBSP).replace(".", ",")
    return s[1:] if s.startswith("-") and float(v) == 0 else s


def filosofi_qpv_file(revn_2022: bytes, seed: int) -> dict[str, bytes]:
    rnd = _Rand(seed)
    lines = revn_2022.decode("utf-8-sig").split(CRLF)
    header = [h.strip() for h in lines[0].split(";")]
    yy = f"{FILO_QPV_YEAR % 100:02d}"
    out_header = ["CODGEO"] + [f"{c}_A{yy}" for c, _ in COLUMNS]
    rows, medians, rates = [], [], []
    for line in lines[1:]:
        cells = dict(zip(header, line.split(";")))
        code = cells.get("CODGEO", "")
        if not code.startswith("QP"):
            continue
        v = {src: _num(cells.get(src, "")) for _, src in COLUMNS if src}
        known = v["DISP_Q2"] is not None
        d1, d9 = v.get("DISP_D1"), v.get("DISP_D9")
        gen = {}
        if known and d1 and d9:
            for i, k in enumerate(("DISP_D2", "DISP_D3", "DISP_D4", "DISP_D6", "DISP_D7", "DISP_D8"), start=1):
                step = (i if i < 4 else i + 1) / 8
                gen[k] = round(math.exp(math.log(d1) + (math.log(d9) - math.log(d1)) * step) / 10) * 10
            gen["DISP_EQ"] = round((v["DISP_Q3"] - v["DISP_Q1"]) / v["DISP_Q2"], 2) if v.get("DISP_Q3") else None
            gen["DISP_GINI"] = round(0.18 + 0.05 * rnd.random(), 3)
            gen["DISP_S80S20"] = round(2.6 + 0.8 * rnd.random(), 1)
            gen["DISP_PCHO"] = round(4 + 3 * rnd.random(), 1)
            gen["DISP_PPFAM"] = round(v["PPSOC"] * 0.3, 1) if v.get("PPSOC") is not None else None
            gen["DISP_PPMINI"] = round(v["PPSOC"] * 0.4, 1) if v.get("PPSOC") is not None else None
            gen["DISP_PPLOGT"] = (round(v["PPSOC"] - gen["DISP_PPFAM"] - gen["DISP_PPMINI"], 1)
                                  if v.get("PPSOC") is not None else None)
        gen["DISP_NOTE"] = 0
        row = [code]
        for col, src in COLUMNS:
            row.append(_fmt(col, v.get(src) if src else gen.get(col)) if col != "DISP_NOTE" else "0")
        rows.append(row)
        if known:
            medians.append(v["DISP_Q2"])
        if v.get("TP60") is not None:
            rates.append(v["TP60"])
    # the all-QPV row: a fictional figure of the demo's QPVs together (INSEE publishes it first)
    ens = {"DISP_MED": sorted(medians)[len(medians) // 2] if medians else None,
           "DISP_TP60": round(sum(rates) / len(rates), 1) if rates else None}
    ensemble = ["Ensemble"] + [_fmt(c, ens.get(c)) if c != "DISP_NOTE" else "0" for c, _ in COLUMNS]
    data = _csv([out_header, ensemble] + rows, ";", CRLF, bom=False, final_eol=True)
    return {FILES["filosofi_qpv"]: data}
