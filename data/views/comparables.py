"""Comparable QPVs: for a QPV, the 10 QPVs of the loaded DB nearest to it on a documented set of
context indicators (its population and social make-up), as Fingertips offers "similar areas".

Method (said on screen and in exports by `METHOD_TEXT`): each context indicator's latest value of
every 2024 QPV; the population on a logarithmic scale; each variable standardised (z-scores over
the QPVs that have it); Euclidean distance over the variables both QPVs have, rescaled to the
variables the QPV has; a QPV sharing fewer than half of them is not compared; ties broken by code,
so that the list is the same for the same DB. A variable known for fewer than half of the QPVs is
left out and said. The median of the comparables' values is a reference level of Comparer and of
the Fiche's tests ("médiane des QPV comparables").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import access
from data import stats
from data.analysis import fmt
from data.memory import tables
from data.provenance import vintage_text

# (indicator, transformation) — the QPV's size, income, poverty, employment, family and age make-up
CONTEXT = [("population", "log"), ("taux_pauvrete_60", None), ("revenu_median_uc", None),
           ("part_prestations_sociales", None), ("taux_emploi_15_64", None),
           ("part_familles_monoparentales", None), ("part_moins_25", None), ("part_etrangers", None)]
K = 10
MIN_COVERAGE = 0.5          # a variable known for fewer QPVs than this share is left out
METHOD_TEXT = ("Quartiers les plus proches sur les indicateurs de contexte ci-dessous (dernière valeur connue ; "
               "population en logarithme) : chaque indicateur centré-réduit sur l'ensemble des QPV de la base, "
               "distance euclidienne sur les indicateurs connus des deux quartiers, ramenée au nombre "
               "d'indicateurs du quartier ; un quartier qui en partage moins de la moitié n'est pas comparé. "
               "Même base, même liste.")


def _matrix() -> tuple:
    """(QPV codes, indicators used, raw values, standardised values, indicators left out, and per
    indicator used each QPV's year described and source), once per DB version."""
    def build():
        qpvs = access.territory_frame("qpv")
        codes = sorted(qpvs["code"])
        known = set(access.indicators().indicator_id)
        used, cols, left_out, years, sources = [], [], [], [], []
        for ind, how in CONTEXT:
            if ind not in known:
                continue
            v = access.values(ind, "qpv").set_index("code")
            col = pd.to_numeric(v["value"].where(v["status"] == "ok"), errors="coerce").reindex(codes)
            if how == "log":
                col = np.log10(col.where(col > 0))
            if col.notna().mean() < MIN_COVERAGE:
                left_out.append(ind)
                continue
            used.append(ind)
            cols.append(col.to_numpy(dtype=float))
            ok = v[v["status"] == "ok"].reindex(codes)
            years.append(ok["year_label"].to_numpy(dtype=object))
            sources.append([f"{t} ({vintage_text(vi)})" if isinstance(t, str) else None
                            for t, vi in zip(ok["source_title"], ok["vintage"])])
        raw = np.column_stack(cols) if cols else np.empty((len(codes), 0))
        return codes, used, raw, stats.standardise(raw), left_out, years, sources
    return tables().memo("comparables_matrix", build)


def variables() -> tuple[list[str], list[str]]:
    """(labels of the indicators used, labels of those left out for lack of values)."""
    _, used, _, _, left, _, _ = _matrix()
    label = {r.indicator_id: r.label for r in access.indicators().itertuples()}
    return ([label.get(i, i) + (" (en logarithme)" if i == "population" else "") for i in used],
            [label.get(i, i) for i in left])


def comparables(code: str, k: int = K) -> pd.DataFrame:
    """The k QPVs nearest to `code`: rank, code, name, commune, distance, shared (number of
    indicators compared), then each context indicator's value. Empty when the QPV is unknown or
    has too few context values."""
    return tables().memo(("comparables", code, k), lambda: _comparables(code, k)).copy()


def _comparables(code: str, k: int) -> pd.DataFrame:
    codes, used, raw, z, *_ = _matrix()
    cols = ["rang", "code", "name", "commune", "distance", "shared"] + used
    try:
        i = codes.index(code)
    except ValueError:
        return pd.DataFrame(columns=cols)
    rows, dist, shared = stats.nearest(z, i, k)
    if not len(rows):
        return pd.DataFrame(columns=cols)
    found = [codes[r] for r in rows]
    names = access.territory_names("qpv")
    communes = access.qpv_commune_names(found)
    out = pd.DataFrame({"rang": np.arange(1, len(rows) + 1), "code": found, "name": [names.get(c, c) for c in found],
                        "commune": [communes.get(c, "") for c in found], "distance": dist, "shared": shared})
    for j, ind in enumerate(used):
        vals = raw[rows, j]
        out[ind] = 10 ** vals if ind == "population" else vals
    return out[cols]


def provenance(code: str) -> tuple[str, list[str]]:
    """(years described per indicator, sources) of the figures the comparables' list shows for
    `code`'s comparables and itself: "Taux de pauvreté : 2019 ; Population : millésime de
    diffusion 2021"."""
    codes, used, _, _, _, years, sources = _matrix()
    found = [c for c in comparable_codes(code) + [code] if c in codes]
    rows = [codes.index(c) for c in found]
    label = {r.indicator_id: r.short_label or r.label for r in access.indicators().itertuples()}
    parts, srcs = [], []
    for j, ind in enumerate(used):
        ys = [y for y in dict.fromkeys(years[j][r] for r in rows) if isinstance(y, str)]
        if ys:
            parts.append(f"{label.get(ind, ind)} : {', '.join(ys)}")
        srcs += [s for s in (sources[j][r] for r in rows) if s]
    return " ; ".join(parts), list(dict.fromkeys(srcs))


def comparable_codes(code: str, k: int = K) -> list[str]:
    return list(comparables(code, k)["code"])


def median_value(indicator_id: str, code: str, period: int | None = None) -> tuple[float | None, int]:
    """(median, n) of the comparables' values of an indicator (the period's, else their latest):
    the "médiane des QPV comparables" reference; None when fewer than 3 of them have a value."""
    peers = comparable_codes(code)
    if not peers:
        return None, 0
    v = access.values(indicator_id, "qpv", None, period)
    v = v[v.code.isin(peers) & (v.status == "ok")]
    if period is not None and len(v) < 3:
        v = access.values(indicator_id, "qpv")
        v = v[v.code.isin(peers) & (v.status == "ok")]
    vals = pd.to_numeric(v["value"], errors="coerce").dropna()
    return (float(vals.median()), len(vals)) if len(vals) >= 3 else (None, len(vals))


def display_frame(code: str) -> pd.DataFrame:
    """The comparables as the Fiche lists them (French headers, figures as displayed)."""
    df = comparables(code)
    cat = access.indicators().set_index("indicator_id")
    out = pd.DataFrame({"Rang": df["rang"], "Quartier": df["name"], "Code": df["code"], "Commune(s)": df["commune"],
                        "Distance": [fmt(d, 2) for d in df["distance"]],
                        "Indicateurs comparés": df["shared"].astype(int)})
    for ind in [c for c in df.columns if c in cat.index]:
        info = cat.loc[ind]
        dec = 0 if ind == "population" else (1 if pd.isna(info.decimals) else int(info.decimals))
        unit = "" if info.unit in ("indice", "habitants") else f" ({info.unit})"
        out[f"{info.short_label}{unit}"] = ["n.d." if pd.isna(x) else fmt(x, dec) for x in df[ind]]
    return out
