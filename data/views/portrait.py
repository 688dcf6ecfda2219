"""What a territory's portrait says, as plain data: the one computation behind the Fiche page
(components/portrait.py renders it with Dash) and the PDF portrait and offline site
(publish/portrait.py renders it as HTML). Two renderings, one content: they cannot drift apart."""
from __future__ import annotations

import math

import pandas as pd

from data import access
from data.analysis import fmt, fmt_status
from data.provenance import short_source, vintage_text

PERIMETER_NOTE = ("* Valeur calculée sur le périmètre 2015 du quartier (contour modifié en 2024, ou statut "
                  "incertain) : à comparer avec prudence.")


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (not isinstance(v, (str, list)) and pd.isna(v))


def situation(value, ref, high_is_bad, tolerance: float = 0.1) -> str:
    """Plain-language position of a value against a reference ('plus défavorable', 'plus
    favorable', 'proche', or 'supérieur'/'inférieur' for indicators without a direction)."""
    if _nan(value) or _nan(ref) or ref == 0:
        return "—"
    ratio = float(value) / float(ref)
    if abs(ratio - 1) <= tolerance:
        return "proche"
    higher = ratio > 1
    if _nan(high_is_bad):
        return "supérieur" if higher else "inférieur"
    return "plus défavorable" if higher == bool(high_is_bad) else "plus favorable"


def determinants(level: str, code: str) -> pd.DataFrame:
    """One row per indicator the territory has: its value and year described, each reference
    (columns titled by access.reference_header: "Commune : Nice", "France métropolitaine"), its
    position against its département, its source. attrs: notes, key points (most unfavourable
    gaps to the département), source titles and source ids."""
    t = access.territory(level, code) or {}
    chain = access.reference_chain(level, code)
    vals = access.latest_values([(level, code)] + chain)
    cat = access.indicators().set_index("indicator_id")
    own = vals[(vals.level == level) & (vals.code == code)]
    lookup = {(r.level, r.code, r.indicator_id): r for r in vals.itertuples(index=False)}
    dep = ("departement", t.get("departement")) if level != "departement" and t.get("departement") else None
    rows, points, titles, p2015 = [], [], set(), False
    for ind_id in [i for i in cat.index if i in set(own.indicator_id)]:
        info = cat.loc[ind_id]
        dec = 1 if _nan(info.decimals) else int(info.decimals)
        r = own[own.indicator_id == ind_id].iloc[0]
        value = fmt_status(r.value, r.status, dec)
        if r.perimeter == "perimetre_2015":
            value += " *"
            p2015 = True
        row = {"indicator_id": ind_id, "Indicateur": info.label, "Unité": info.unit,
               "Année décrite": r.year_label, "Valeur": value, "value": r.value if r.status == "ok" else None}
        ref_dep = None
        for lvl, c in chain:
            rv = lookup.get((lvl, c, ind_id))
            row[access.reference_header(lvl, c)] = (f"{fmt_status(rv.value, rv.status, dec)} ({rv.year_label})"
                                                    if rv is not None else "n.d.")
            if rv is not None and isinstance(rv.source_title, str):
                titles.add(f"{rv.source_title} ({vintage_text(rv.vintage)}) — référence")
            if dep and (lvl, c) == dep and rv is not None and rv.status == "ok":
                ref_dep = rv.value
        hib = None if _nan(info.high_is_bad) else bool(info.high_is_bad)
        own_v = row["value"]
        row["Situation / départ."] = situation(own_v, ref_dep, hib) if dep else "—"
        row["Source"] = short_source(r.publisher, r.vintage)
        titles.add(f"{r.source_title} ({vintage_text(r.vintage)})" if isinstance(r.source_title, str) else row["Source"])
        rows.append(row)
        if row["Situation / départ."] == "plus défavorable" and ref_dep not in (None, 0) and own_v is not None:
            ratio = float(own_v) / float(ref_dep)
            bad = math.log(ratio) if hib else (-math.log(ratio) if ratio > 0 else 0)
            points.append((bad, f"{info.short_label or info.label} : {fmt(own_v, dec, info.unit)} contre "
                                f"{fmt(ref_dep, dec, info.unit)} dans le département ({r.year_label})."))
    df = pd.DataFrame(rows)
    df.attrs["notes"] = [PERIMETER_NOTE] if p2015 else []
    df.attrs["points"] = [txt for _, txt in sorted(points, key=lambda x: -x[0])[:4]]
    df.attrs["sources"] = sorted(titles)
    df.attrs["source_ids"] = sorted({s for s in vals.source_id.dropna()})
    return df
