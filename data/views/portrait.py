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

from data import access, stats
from data.analysis import fmt, fmt_status
from data.provenance import short_source, vintage_text
from data.views import comparables, intervals, memo_view

PERIMETER_NOTE = ("* Valeur calculée sur le périmètre 2015 du quartier (contour modifié en 2024, ou statut "
                  "incertain) : à comparer avec prudence.")
WORSE, BETTER = "plus défavorable", "plus favorable"
# The reference a Fiche tests each value against (its control; the portrait's default: the département).
TEST_REFS = {"commune": ("commune", "la commune"), "epci": ("EPCI", "l'EPCI"),
             "departement": ("départ.", "le département"), "region": ("région", "la région"),
             "france": ("France", "la France"), "ensemble_qpv": ("ens. QPV", "l'ensemble des QPV de France"),
             "comparables": ("QPV comparables", "la médiane des 10 QPV comparables")}
DEFAULT_TEST_REF = "departement"


def test_refs(level: str) -> list[str]:
    """The reference levels a territory's values can be tested against."""
    out = [k for k in TEST_REFS if k != level and (k not in ("commune", "ensemble_qpv", "comparables") or level == "qpv")]
    return out


# Preference order of the default reference of the tests (the comparable QPVs are offered, never
# chosen by default: a territory comes first, as elected officials compare).
DEFAULT_ORDER = ("departement", "commune", "ensemble_qpv", "region", "france", "epci")


def default_test_ref(level: str, code: str) -> str:
    """The reference the Fiche tests a territory against when none is chosen: of the territories
    in DEFAULT_ORDER, the one with a value for most of the territory's indicators that have an
    interval (ties go to the earlier one). With real files the département often has no value for
    QPV indicators (ONPV and CAF figures are published on QPVs and communes only): testing against
    it would leave every value "Non testé (sans référence)". Memoized per DB version."""
    return _default_test_ref((level, code))


@memo_view(maxsize=512)
def _default_test_ref(key: tuple[str, str]) -> str:
    level, code = key
    refs = [k for k in DEFAULT_ORDER if k in test_refs(level)]
    own = access.latest_values([(level, code)])
    own = own[own.status == "ok"]
    cat = access.indicators().set_index("indicator_id")
    tested = [(r.indicator_id, r.period) for r in own.itertuples()
              if r.indicator_id in cat.index and isinstance(cat.loc[r.indicator_id, "ci_method"], str)]
    chain = access.reference_chain(level, code)
    counts = {}
    for ref in refs:
        codes = [c for lvl, c in chain if lvl == ref]
        counts[ref] = sum(any(len(v := access.reference_values_at(i, ref, [c], p)) and v.iloc[0].status == "ok"
                              for c in codes) for i, p in tested)
    best = max(refs, key=lambda k: (counts[k], -refs.index(k)), default=DEFAULT_TEST_REF)
    return best if counts.get(best) else (DEFAULT_TEST_REF if DEFAULT_TEST_REF in refs else best)


def test_note(ci: str, test_ref: str, chosen_by_default: bool = False) -> str:
    why = (f" ({TEST_REFS[test_ref][1]} : la référence qui a une valeur pour le plus grand nombre de ces "
           "indicateurs ; une autre peut être choisie)" if chosen_by_default else "")
    return (f"« Test / {TEST_REFS[test_ref][0]} » : la valeur comparée avec {TEST_REFS[test_ref][1]}{why} sur son intervalle "
            f"de confiance à {stats.LEVEL_LABELS[ci]} — « Similaire » quand la référence est dans l'intervalle, sinon "
            "« Meilleur » ou « Moins bon » selon le sens de l'indicateur (« Plus haut » ou « Plus bas » sans sens) ; "
            "« Non testé » sans intervalle, sans valeur de référence ou pour une valeur secrète. "
            f"« {IC_NONE} » : effectifs non publiés ; « {IC_NA} » : indicateur sans effectifs (médiane, rapport, "
            "indice, nombre).")


IC_NONE, IC_NA = "non calculable", "sans objet"


def _untested_why(status: str, has_ci: bool, bench) -> str:
    if status == "secret":
        return "valeur secrète"
    if status != "ok":
        return "pas de valeur"
    if not has_ci:
        return ""                  # the interval's column says why
    return "sans référence" if bench is None else ""


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


def determinants(level: str, code: str, ci: str = stats.DEFAULT_LEVEL, test_ref: str | None = None) -> pd.DataFrame:
    """One row per indicator the territory has: its value and year described, its confidence
    interval and its test against `test_ref` (data/views/intervals.py), each reference of the same
    year described when it has one, else the closest earlier (columns titled by
    access.reference_header: "Commune : Nice", "France métropolitaine", "Ensemble des QPV
    (France)"), its position against its département, its source. attrs: notes, key points (values
    significantly less favourable than the test reference, then untested gaps of more than 10 % to
    the département, said untested; both years said), source titles and source ids."""
    ci = stats.level_token(ci)
    default = default_test_ref(level, code)
    test_ref = test_ref if test_ref in test_refs(level) else default
    auto = test_ref == default != DEFAULT_TEST_REF          # said in the notes: why not the département
    ic_col, test_col = f"IC {stats.LEVEL_LABELS[ci]}", f"Test / {TEST_REFS[test_ref][0]}"
    approx = []
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
        ind = access.indicator(ind_id)
        own = intervals.with_intervals(own_all[own_all.indicator_id == ind_id].iloc[:1], ind, ci, level).iloc[0]
        row[ic_col] = intervals.interval_text(own.ci_lo, own.ci_hi, dec) or (
            "—" if r.status != "ok" else IC_NA if own.ci_why == intervals.NO_METHOD else IC_NONE)
        if own.ci_basis == "approx":
            row[ic_col] += " †"
            approx.append(f"{info.short_label or info.label} : {intervals.spec(ind).denominator_note}")
        row[test_col] = None           # filled below: the column stands beside the interval
        bench, bench_year = None, None
        if test_ref == "comparables":
            bench = comparables.median_value(ind_id, code, r.period)[0]
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
            if lvl == test_ref and bench is None and rv is not None and rv.status == "ok":
                bench, bench_year = rv.value, rv.year_label
        hib = None if _nan(info.high_is_bad) else bool(info.high_is_bad)
        own_v = row["value"]
        row["Situation / départ."] = situation(own_v, None if ref_dep is None else ref_dep.value, hib) \
            if dep else "—"
        outcome = intervals.tested(own.to_frame().T, [float("nan") if bench is None else bench],
                                   intervals.polarity(ind))[0]
        why = _untested_why(r.status, own.ci_basis in ("counts", "approx"), bench) if outcome == "not_tested" else ""
        row[test_col] = stats.outcome_text(outcome) + (f" ({why})" if why else "")
        row["Source"] = short_source(r.publisher, r.vintage, r.dataset)
        titles.add(f"{r.source_title} ({vintage_text(r.vintage)})" if isinstance(r.source_title, str)
                   else row["Source"])
        rows.append(row)
        head = f"{info.short_label or info.label} : {fmt(own_v, dec, info.unit)} ({r.year_label}) contre "
        if outcome == "worse" and bench is not None:
            said = f" ({bench_year})" if bench_year else ""
            points.append((0, _badness(own_v, bench, hib), head + f"{fmt(bench, dec, info.unit)} pour "
                           f"{TEST_REFS[test_ref][1]}{said} : significativement plus défavorable "
                           f"(IC {stats.LEVEL_LABELS[ci]})."))
        elif outcome == "not_tested" and row["Situation / départ."] == WORSE and ref_dep is not None:
            points.append((1, _badness(own_v, ref_dep.value, hib), head + f"{fmt(ref_dep.value, dec, info.unit)} "
                           f"dans le département ({ref_dep.year_label}) ; écart non testé ({why or _no_interval(own.ci_why)})."))
    df = pd.DataFrame(rows)
    df.attrs["notes"] = ([PERIMETER_NOTE] if p2015 else []) + ([test_note(ci, test_ref, auto)] if rows else []) + (
        ["† Intervalle à dénominateur approché — " + " ; ".join(dict.fromkeys(approx)) + "."] if approx else [])
    df.attrs["test"] = {"ci": ci, "ref": test_ref, "ic_col": ic_col, "test_col": test_col}
    df.attrs["points"] = [txt for *_, txt in sorted(points, key=lambda x: (x[0], -x[1]))[:4]]
    df.attrs["sources"] = sorted(titles)
    df.attrs["source_ids"] = sorted(s for s in source_ids if isinstance(s, str))
    return df


def _no_interval(ci_why) -> str:
    """Why a value has no interval, short: "indicateur sans effectifs", "effectifs non publiés"."""
    return "indicateur sans effectifs" if ci_why == intervals.NO_METHOD else "effectifs non publiés"


def _badness(value, ref, high_is_bad) -> float:
    """How unfavourable a value is against its reference (log of their ratio, signed by the
    indicator's direction): orders the key points."""
    if value is None or ref is None or not value > 0 or not ref > 0:
        return 0.0
    r = math.log(float(value) / float(ref))
    return r if high_is_bad is not False else -r


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
