"""What a territory's portrait says, as plain data: the one computation behind the Fiche page
(components/portrait.py renders it with Dash) and the PDF portrait and offline site
(publish/portrait.py renders it as HTML). Two renderings, one content: they cannot drift apart.

- determinants: each indicator's latest figure (its most recent year described) against each
  reference of the same year described, else the closest earlier one (like compared with like),
  both years written; the position against the département worded by the indicator's polarity;
  the source named by its dataset and year ("Filosofi 2018, INSEE");
- population_fact: the population with the year it describes;
- registry_facts: what is known of the schemes and actions, where a registry is loaded: outside,
  "registre non chargé" / "non recensées", never "aucun" or 0.
"""
from __future__ import annotations

import math

import pandas as pd

from data import access
from data.analysis import fmt, fmt_status
from data.provenance import short_source, vintage_text

PERIMETER_NOTE = ("* Valeur calculée sur le périmètre 2015 du quartier (contour modifié en 2024, ou statut "
                  "incertain) : à comparer avec prudence.")
WORSE, BETTER = "plus défavorable", "plus favorable"


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (not isinstance(v, (str, list)) and pd.isna(v))


def situation(value, ref, high_is_bad, tolerance: float = 0.1) -> str:
    """Plain-language position of a value against a reference: 'plus défavorable' / 'plus
    favorable' for an indicator with a direction, 'plus élevé' / 'moins élevé' for one without
    (a dispersion ratio, a population, an age share has no good direction), 'proche' within
    the tolerance, '—' when either side is unknown."""
    if _nan(value) or _nan(ref) or ref == 0:
        return "—"
    ratio = float(value) / float(ref)
    if abs(ratio - 1) <= tolerance:
        return "proche"
    higher = ratio > 1
    if _nan(high_is_bad):
        return "plus élevé" if higher else "moins élevé"
    return WORSE if higher == bool(high_is_bad) else BETTER


def determinants(level: str, code: str) -> pd.DataFrame:
    """One row per indicator the territory has: its value and year described, each reference of
    the same year described when it has one, else the closest earlier (columns titled by
    access.reference_header: "Commune : Nice", "France métropolitaine", "Ensemble des QPV
    (France)"), its position against its département, its source. attrs: notes, key points (the
    most unfavourable gaps to the département, both years said), source titles and source ids."""
    t = access.territory(level, code) or {}
    chain = access.reference_chain(level, code)
    own_all = access.latest_values([(level, code)])
    cat = access.indicators().set_index("indicator_id")
    dep = ("departement", t.get("departement")) if level != "departement" and t.get("departement") else None
    rows, points, titles, p2015, source_ids = [], [], set(), False, set(own_all.source_id.dropna())
    for ind_id in [i for i in cat.index if i in set(own_all.indicator_id)]:
        info = cat.loc[ind_id]
        dec = 1 if _nan(info.decimals) else int(info.decimals)
        r = own_all[own_all.indicator_id == ind_id].iloc[0]
        value = fmt_status(r.value, r.status, dec)
        if r.perimeter == "perimetre_2015":
            value += " *"
            p2015 = True
        row = {"indicator_id": ind_id, "Indicateur": info.label, "Unité": info.unit,
               "Année décrite": r.year_label, "Valeur": value, "value": r.value if r.status == "ok" else None}
        ref_dep = None
        for lvl, c in chain:
            ref = access.reference_values_at(ind_id, lvl, [c], r.period)
            rv = ref.iloc[0] if len(ref) else None
            row[access.reference_header(lvl, c)] = (f"{fmt_status(rv.value, rv.status, dec)} ({rv.year_label})"
                                                    if rv is not None else "n.d.")
            if rv is not None:
                source_ids.add(rv.source_id)
                if isinstance(rv.source_title, str):
                    titles.add(f"{rv.source_title} ({vintage_text(rv.vintage)}) — référence")
            if dep and (lvl, c) == dep and rv is not None and rv.status == "ok":
                ref_dep = rv
        hib = None if _nan(info.high_is_bad) else bool(info.high_is_bad)
        own_v = row["value"]
        row["Situation / départ."] = situation(own_v, None if ref_dep is None else ref_dep.value, hib) \
            if dep else "—"
        row["Source"] = short_source(r.publisher, r.vintage, r.dataset)
        titles.add(f"{r.source_title} ({vintage_text(r.vintage)})" if isinstance(r.source_title, str)
                   else row["Source"])
        rows.append(row)
        if row["Situation / départ."] == WORSE and ref_dep is not None and ref_dep.value not in (None, 0):
            ratio = float(own_v) / float(ref_dep.value)
            bad = math.log(ratio) if hib else (-math.log(ratio) if ratio > 0 else 0)
            points.append((bad, f"{info.short_label or info.label} : {fmt(own_v, dec, info.unit)} ({r.year_label}) "
                                f"contre {fmt(ref_dep.value, dec, info.unit)} dans le département "
                                f"({ref_dep.year_label})."))
    df = pd.DataFrame(rows)
    df.attrs["notes"] = [PERIMETER_NOTE] if p2015 else []
    df.attrs["points"] = [txt for _, txt in sorted(points, key=lambda x: -x[0])[:4]]
    df.attrs["sources"] = sorted(titles)
    df.attrs["source_ids"] = sorted(s for s in source_ids if isinstance(s, str))
    return df


def population_fact(level: str, code: str) -> dict:
    """{"value", "year", "text"[, "perimeter": "2015"]}: the territory's population and the year it
    describes. For a QPV the latest published figure on its own perimeter; a figure of the 2015
    perimeter only is given as such ("perimeter"); for other territories the population of the
    reference geography."""
    t = access.territory(level, code) or {}
    hist = access.value_history(level, code, ["population"])
    ok = hist[hist.status == "ok"]
    exact = ok[ok.perimeter == "exact"]
    if len(exact):
        last = exact.iloc[-1]
        year = last.year_label
        return {"value": float(last.value), "year": year,
                "text": f"Population : {fmt(last.value, 0)} habitants ({year})"}
    pop = t.get("population")
    if not _nan(pop):
        src = access.sources().set_index("source_id")
        sid = t.get("source_id")
        vint = vintage_text(src.loc[sid, "vintage"]) if isinstance(sid, str) and sid in src.index else "millésime inconnu"
        return {"value": float(pop), "year": f"référentiel géographique, {vint}",
                "text": f"Population : {fmt(pop, 0)} habitants (référentiel géographique, {vint})"}
    if len(ok):
        last = ok.iloc[-1]
        return {"value": float(last.value), "year": last.year_label, "perimeter": "2015",
                "text": (f"Population : n.d. sur le périmètre 2024 ({fmt(last.value, 0)} habitants sur le périmètre "
                         f"2015 du quartier, {last.year_label})")}
    return {"value": None, "year": None, "text": "Population : n.d."}


def registry_facts(level: str, code: str) -> dict:
    """What the portrait can say of the local schemes and actions of a territory.

    schemes_known / actions_known: whether the scheme registry / an action list is loaded
    complete there. asv: "oui" (an ASV is known: a fact), "non" (registry complete, no ASV), or
    "inconnu". n_actions: the count, or None where no action list is loaded."""
    known_s = access.territory_registry_known("schemes", level, code) if level in ("qpv", "commune", "epci") \
        else True
    known_a = access.territory_registry_known("actions", level, code) if level in ("qpv", "commune", "epci") \
        else True
    sch = access.schemes_covering(level, code) if level in ("qpv", "commune") else pd.DataFrame(columns=["kind"])
    has_asv = bool((sch.kind == "ASV").any()) if len(sch) else False
    return {
        "schemes_known": known_s, "actions_known": known_a, "schemes": sch,
        "asv": "oui" if has_asv else ("non" if known_s else "inconnu"),
        "schemes_text": (None if known_s and len(sch) else "Aucun dispositif ASV, CLS, CLSM ou CPTS recensé."
                         if known_s else "Registre des dispositifs non chargé pour tout ce territoire : d'autres "
                         "dispositifs que ceux-ci peuvent le couvrir." if len(sch)
                         else "Registre des dispositifs non chargé pour ce territoire : ses dispositifs ne sont "
                              "pas connus."),
        "actions_text": None if known_a else access.NOT_LOADED["actions"].capitalize() + ".",
    }
