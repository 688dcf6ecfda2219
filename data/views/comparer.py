"""What Comparer compares, as data (pages/comparer.py renders it): each selected territory's latest
figures and its reference's (like compared with like), its confidence interval and its test
against the reference (data/views/intervals.py), "la médiane des QPV comparables" as a reference
(data/views/comparables.py), and the plain-language sentences for elected officials."""
from __future__ import annotations

import numpy as np
import pandas as pd

from data import access, stats
from data.access import LEVEL_LABELS
from data.analysis import fmt
from data.provenance import short_source
from data.views import comparables, intervals

COMPARABLES = "comparables"     # the reference level "médiane des QPV comparables" (of each QPV)


def _chain(level: str, code: str) -> list[tuple[str, str]]:
    """A territory's references, and for a QPV the median of its comparable QPVs."""
    return access.reference_chain(level, code) + ([(COMPARABLES, code)] if level == "qpv" else [])


def with_references(terrs: list[tuple[str, str]], ref_level: str | None) -> list[tuple[str, str, bool]]:
    """The selected territories, then each one's reference at `ref_level` (deduplicated)."""
    rows = [(lvl, code, False) for lvl, code in terrs]
    if not ref_level:
        return rows
    seen = set(terrs)
    for lvl, code in terrs:
        for rl, rc in _chain(lvl, code):
            if rl == ref_level and (rl, rc) not in seen:
                seen.add((rl, rc))
                rows.append((rl, rc, True))
    return rows


def plain_name(level: str, code: str) -> str:
    """A territory as a sentence names it: a QPV with its commune ("La Viste, à Marseille")."""
    if level == COMPARABLES:
        return f"la médiane des QPV comparables à {plain_name('qpv', code)}"
    t = access.territory(level, code) or {}
    name = t.get("name") or code
    if level == "qpv" and t.get("commune"):
        commune = (access.territory("commune", t["commune"]) or {}).get("name")
        return f"{name}, à {commune}" if commune else name
    return name


def _reference_rows(vals: pd.DataFrame, rows, ref_of: dict, indicator_ids) -> pd.DataFrame:
    """The references' figures, like compared with like: for each indicator, a reference's value of
    the year its territories' figures describe (the latest among them), else the closest earlier."""
    out = []
    for ind in indicator_ids:
        own = vals[vals.indicator_id == ind].set_index(["level", "code"])
        for rl, rc, is_ref in rows:
            if not is_ref:
                continue
            periods = [int(own.loc[(l, c), "period"]) for (l, c), rk in ref_of.items()
                       if rk == f"{rl}:{rc}" and (l, c) in own.index]
            period = max(periods) if periods else None
            ref = _comparables_row(ind, rc, period) if rl == COMPARABLES else \
                access.reference_values_at(ind, rl, [rc], period)
            if len(ref):
                out.append(ref.assign(level=rl, indicator_id=ind, perimeter="exact"))
    return pd.concat(out, ignore_index=True) if out else vals.iloc[0:0]


def _comparables_row(indicator_id: str, code: str, period: int | None) -> pd.DataFrame:
    """The "médiane des QPV comparables" of a QPV as a reference row (data/views/comparables.py)."""
    median, n = comparables.median_value(indicator_id, code, period)
    label = access.year_labels(indicator_id, "qpv").get(period, "dernière valeur") if period is not None \
        else "dernière valeur"
    return pd.DataFrame([{"code": code, "name": f"médiane des QPV comparables ({n} valeurs)", "year": period,
                          "period": period, "year_label": label, "value": median,
                          "status": "ok" if median is not None else "missing", "source_id": None,
                          "source_title": None, "publisher": None, "vintage": None,
                          "dataset": f"médiane de {n} QPV comparables"}])


def comparison_frame(terrs, indicator_ids, ref_level, ci: str = stats.DEFAULT_LEVEL) -> pd.DataFrame:
    """One row per (indicator, territory): the selected territories, then their references, each
    selected territory knowing its own reference (`ref_key`); references of the same year described
    as the territories' figures where they have it (else the closest earlier), both years said.
    Each selected territory's value carries its interval at `ci` (ci_lo, ci_hi, ci_basis, ci_why)
    and its test against its reference (`test`, data.stats.compare)."""
    rows = with_references(terrs, ref_level)
    vals = access.latest_values([(l, c) for l, c, is_ref in rows if not is_ref], indicator_ids)
    vals = _with_intervals(vals, ci)
    cat = access.indicators().set_index("indicator_id")
    names = {}
    for l, c, is_ref in rows:
        if l == COMPARABLES:
            names[(l, c)] = f"Médiane des QPV comparables à {(access.territory('qpv', c) or {}).get('name', c)}"
            continue
        t = access.territory(l, c)
        suffix = f" ({LEVEL_LABELS[l].lower()})" if l not in ("qpv", "france") else ""
        names[(l, c)] = (t["name"] if t else c) + suffix
    ref_of = {}
    for l, c, is_ref in rows:
        if not is_ref and ref_level:
            ref_of[(l, c)] = next((f"{rl}:{rc}" for rl, rc in _chain(l, c) if rl == ref_level), None)
    vals = pd.concat([vals, _reference_rows(vals, rows, ref_of, indicator_ids)], ignore_index=True)
    out = []
    for ind in indicator_ids:
        if ind not in cat.index:
            continue
        info = cat.loc[ind]
        for l, c, is_ref in rows:
            v = vals[(vals.level == l) & (vals.code == c) & (vals.indicator_id == ind)]
            r = v.iloc[0] if len(v) else None
            out.append({
                "indicator_id": ind, "indicator": info.short_label, "unit": info.unit,
                "decimals": int(info.decimals) if not pd.isna(info.decimals) else 1,
                "high_is_bad": info.high_is_bad, "level": l, "code": c, "key": f"{l}:{c}",
                "territory": names[(l, c)], "plain": plain_name(l, c), "is_reference": is_ref,
                "ref_key": ref_of.get((l, c)),
                "value": float(r.value) if r is not None and r.status == "ok" else None,
                "status": r.status if r is not None else "missing",
                "year": int(r.year) if r is not None else None,
                "year_label": r.year_label if r is not None else "n.d.",
                "perimeter": r.perimeter if r is not None else None,
                "source": (short_source(r.publisher, r.vintage, r.dataset) if r is not None and
                           isinstance(r.publisher, str) else (r.dataset if r is not None else None)),
                **{k: (r[k] if r is not None and k in r and not is_ref else None)
                   for k in ("ci_lo", "ci_hi", "ci_basis", "ci_why", "ci_num", "ci_den")},
            })
    df = pd.DataFrame(out)
    if df.empty:
        return df
    by_key = {(i, k): v for i, k, v in zip(df.indicator_id, df.key, df.value)}
    bench = [by_key.get((i, rk)) if isinstance(rk, str) else None for i, rk in zip(df.indicator_id, df.ref_key)]
    methods = {ind: getattr(intervals.spec(access.indicator(ind)), "method", None) for ind in indicator_ids}
    df["ci_method"] = [methods.get(i) if not ref else None for i, ref in zip(df.indicator_id, df.is_reference)]
    df["test"] = [stats.compare(v if v is not None else np.nan, lo if lo is not None else np.nan,
                                hi if hi is not None else np.nan, b if b is not None else np.nan,
                                None if hib is None or pd.isna(hib) else bool(hib))[0] if not ref else None
                  for v, lo, hi, b, hib, ref in zip(df.value, df.ci_lo, df.ci_hi, bench, df.high_is_bad,
                                                    df.is_reference)]
    df.attrs["ci"] = ci
    return df


def _with_intervals(vals: pd.DataFrame, ci: str) -> pd.DataFrame:
    """Each value's interval (data/views/intervals.py), indicator by indicator and level by level."""
    if vals.empty:
        return vals.assign(ci_lo=np.nan, ci_hi=np.nan, ci_basis=None, ci_why="", ci_num=np.nan, ci_den=np.nan)
    parts = [intervals.with_intervals(g, access.indicator(ind), ci, lvl)
             for (ind, lvl), g in vals.groupby(["indicator_id", "level"], sort=False)]
    return pd.concat(parts).sort_index()


STATUS_WORDS = {"secret": "secret statistique", "missing": "non disponible"}


def test_clause(r, ref, ci: str, decimals: int, unit: str) -> str | None:
    """The tested comparison of a territory with its reference, in words ("significativement plus
    élevée" only when the reference lies outside the interval), None when it was not tested."""
    test = getattr(r, "test", None)
    if not isinstance(test, str) or test == "not_tested":
        return None
    level = stats.LEVEL_LABELS[ci]
    interval = intervals.interval_text(r.ci_lo, r.ci_hi, decimals, unit)
    approx = ", dénominateur approché" if r.ci_basis == "approx" else ""
    if r.test == "similar":
        return (f"Écart non significatif au seuil de {level} : la valeur de référence est dans l'intervalle de "
                f"confiance ({interval}{approx}).")
    higher = r.value > ref.value
    verdict = {"better": ", situation meilleure", "worse": ", situation moins bonne"}.get(r.test, "")
    return (f"Écart significatif au seuil de {level} : valeur significativement {'plus' if higher else 'moins'} "
            f"élevée que celle de {ref.plain}{verdict} (intervalle de confiance : {interval}{approx}).")


def extremes_clause(d: pd.DataFrame, worst, best, ci: str) -> str:
    """Which territory is in the most unfavourable situation, only as far as a test says so: the
    territories at the unfavourable extreme tested against those at the other (data.stats.compare_two,
    on each value's counts). Never a ranking without its test."""
    worst_name = " et ".join(d.plain[i] for i in worst)
    best_name = " et ".join(d.plain[i] for i in best)
    level = stats.LEVEL_LABELS[ci]
    col = lambda i, k: d[k][i] if k in d else None   # noqa: E731  (rows built by hand lack the interval columns)
    outcomes = [stats.compare_two(col(w, "ci_method"), col(w, "ci_num"), col(w, "ci_den"), col(b, "ci_num"),
                                  col(b, "ci_den"), stats.LEVELS[ci]) for w in worst for b in best]
    if None in outcomes:
        whys = [col(i, "ci_why") for i in list(worst) + list(best)]
        why = next((w for w in whys if isinstance(w, str) and w), intervals.NO_COUNTS).split(" (")[0]  # no (( ))
        return f"Valeur la plus défavorable : {worst_name} (écart avec {best_name} non testé, {why})."
    approx = ", dénominateur approché" if any(col(i, "ci_basis") == "approx" for i in list(worst) + list(best)) else ""
    if all(o in ("higher", "lower") for o in outcomes):
        return (f"La situation la plus défavorable est à {worst_name} : écart avec {best_name} significatif au "
                f"seuil de {level} (test du score{approx}).")
    return (f"Écart entre {worst_name} et {best_name} non significatif au seuil de {level} (test du score{approx}) : "
            "aucun n'est en situation significativement plus défavorable.")


def _ratio_text(v: float, ref: float) -> str | None:
    """How a value stands to its reference, up to "celle de": "2,7 fois celle de", "1,3 fois moins
    élevée que celle de" (never "0,8 fois"). None where a ratio means nothing (a value or
    reference of zero or below)."""
    if not ref or ref <= 0 or v <= 0:
        return None
    r = v / ref
    if 0.95 <= r <= 1.05:
        return "proche de celle de"
    if r > 1:
        return f"{fmt(r, 1)} fois celle de"
    return f"{fmt(1 / r, 1)} fois moins élevée que celle de"


def plain_sentences(df: pd.DataFrame) -> list[str]:
    """For elected officials, per indicator: the highest and lowest territories, the most
    unfavourable one, each territory's distance to its reference with the years, and who lacks
    the figure. No nested parentheses."""
    out, none_at_all = [], []
    for ind in dict.fromkeys(df.indicator_id):
        d = df[(df.indicator_id == ind) & (~df.is_reference)]
        if d.value.isna().all() and not d.status.eq("secret").any():
            none_at_all.append(d.indicator.iloc[0])       # said once, for all such indicators, below
            continue
        allrows = df[df.indicator_id == ind]
        ok = d[d.value.notna()]
        label = d.indicator.iloc[0]
        unit, dec, raw_bad = d.unit.iloc[0], int(d.decimals.iloc[0]), d.high_is_bad.iloc[0]
        unit = "" if unit == "indice" else unit            # "4,0", not "4,0 indice"
        bad = None if raw_bad is None or pd.isna(raw_bad) else bool(raw_bad)
        plain = d.plain
        missing = d[d.value.isna()]
        shown = ok.value.round(dec)
        if len(ok) >= 2 and shown.max() == shown.min():        # the same figure everywhere, as displayed
            s = (f"{label} : {fmt(ok.value.iloc[0], dec, unit)} à " + " comme à ".join(plain[i] for i in ok.index)
                 + ", même valeur.")
        elif len(ok) >= 2:
            # every territory at the highest and at the lowest figure, as displayed (ties included)
            hi_name = " et à ".join(plain[i] for i in shown.index[shown == shown.max()])
            lo_name = " et à ".join(plain[i] for i in shown.index[shown == shown.min()])
            s = (f"{label} : {fmt(shown.max(), dec, unit)} à {hi_name}, "
                 f"{fmt(shown.min(), dec, unit)} à {lo_name}.")
            if bad is not None:
                worst, best = (shown == shown.max(), shown == shown.min())[::1 if bad else -1]
                s += " " + extremes_clause(d, shown.index[worst], shown.index[best],
                                           df.attrs.get("ci", stats.DEFAULT_LEVEL))
        elif len(ok) == 1:
            s = f"{label} : {fmt(ok.value.iloc[0], dec, unit)} à {plain[ok.index[0]]} ; pas d'autre valeur à comparer."
        else:
            s = f"{label} : aucune valeur disponible pour ces territoires, pas de graphique."
        if d.ref_key.notna().any():
            refs = allrows.set_index("key")
            untested = []
            for i, r in ok.iterrows():
                ref = refs.loc[r.ref_key] if isinstance(r.ref_key, str) and r.ref_key in refs.index else None
                if ref is None or pd.isna(ref.value):
                    continue
                ratio = _ratio_text(r.value, ref.value)
                if ratio == "proche de celle de" and getattr(r, "test", None) in ("higher", "lower", "better", "worse"):
                    ratio = None      # "proche" and "significativement plus élevée" would contradict: the figures
                years = f"({r.year_label} ; référence : {ref.year_label})"
                if ratio:
                    s += (f" À {plain[i]}, la valeur est {ratio} {ref.plain} : {fmt(r.value, dec, unit)} "
                          f"contre {fmt(ref.value, dec, unit)} {years}.")
                else:       # a zero or negative figure: a ratio would mean nothing, the two figures do
                    s += (f" À {plain[i]} : {fmt(r.value, dec, unit)}, contre {fmt(ref.value, dec, unit)} pour "
                          f"{ref.plain} {years}.")
                clause = test_clause(r, ref, df.attrs.get("ci", stats.DEFAULT_LEVEL), dec, unit)
                if clause:
                    s += " " + clause
                else:
                    untested.append(r)
            if untested:
                whys = list(dict.fromkeys((getattr(r, "ci_why", None) or intervals.NO_COUNTS).split(" (")[0]
                                          for r in untested))          # no nested parentheses
                s += (" Écart non testé" + (f" pour {', '.join(plain[r.name] for r in untested)}"
                                            if len(untested) < len(ok) else "")
                      + f" ({' ; '.join(whys)}).")
        if len(missing):
            s += " Sans valeur : " + ", ".join(f"{plain[i]} ({STATUS_WORDS.get(st, 'non disponible')})"
                                              for i, st in zip(missing.index, missing.status)) + "."
        out.append(s)
    if none_at_all:
        out.append("Aucune valeur disponible pour ces territoires dans les données chargées, pas de graphique : "
                   + ", ".join(none_at_all) + ".")
    return out
