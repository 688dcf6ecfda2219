"""Comparer: 2 to 6 territories (QPVs, communes, EPCIs) side by side on chosen indicators,
with their references, as dots or bars and a table; plain language and large type."""
from __future__ import annotations

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html, no_update
from plotly.subplots import make_subplots

from components import guard
from components.charts import french_layout, graph
from components.notices import clip, url_notices
from components.scope import LEVEL_LABELS
from components.search_dropdown import option_index, register_search, search_dropdown
from components.tables import data_table
from data import access
from data.analysis import fmt, fmt_status
from data.provenance import short_source

dash.register_page(__name__, path="/comparer", name="Comparer", title="Atlas ASV — Comparer", order=5,
                   multi_params=("t", "ind"))     # ?t=a&t=b is ?t=a,b

DEFAULT_INDICATORS = ["taux_pauvrete_60", "revenu_median_uc", "taux_emploi_15_64", "part_c2s",
                      "part_familles_monoparentales"]
REFERENCE_LEVELS = [("", "Aucune"), ("commune", "Commune de chaque territoire"), ("epci", "EPCI"),
                    ("departement", "Département"), ("region", "Région"), ("france", "France"),
                    ("ensemble_qpv", "Ensemble des QPV de France (pour les QPV)")]
MAX_TERRITORIES = 6


def default_indicators(terrs, view: str, available: pd.DataFrame) -> list[str]:
    """The indicators shown when the address names none: the usual five where the selected
    territories have them (the QPVs of each group in group mode), completed up to three with
    the next indicators of the catalogue published at their level; the usual five otherwise."""
    levels = {"qpv"} if view == "groups" else {lvl for lvl, _ in terrs}
    has = [r.indicator_id for r in available.itertuples() if levels & set(r.levels or [])]
    picked = [i for i in DEFAULT_INDICATORS if i in has]
    picked += [i for i in has if i not in picked][:max(0, 3 - len(picked))]
    return picked or [i for i in DEFAULT_INDICATORS if i in set(available.indicator_id)]


def territory_options() -> list[dict]:
    opts = []
    for level in ("qpv", "commune", "epci"):
        df = access.territories(level)
        # the code tells homonyms apart (several communes of France share a name)
        opts += [{"label": f"{LEVEL_LABELS[level]} — {n} ({c})", "value": f"{level}:{c}"}
                 for c, n in zip(df.code, df.name)]
    return opts


# Every QPV, commune and EPCI of the DB: searched on the server.
register_search("compare-territories", territory_options)


def parse_territories(values) -> list[tuple[str, str]]:
    out = []
    for v in values or []:
        if isinstance(v, str) and ":" in v:
            lvl, code = v.split(":", 1)
            if lvl in ("qpv", "commune", "epci") and (lvl, code) not in out:
                out.append((lvl, code))
    return out


def with_references(terrs: list[tuple[str, str]], ref_level: str | None) -> list[tuple[str, str, bool]]:
    """The selected territories, then each one's reference at `ref_level` (deduplicated)."""
    rows = [(lvl, code, False) for lvl, code in terrs]
    if not ref_level:
        return rows
    seen = set(terrs)
    for lvl, code in terrs:
        for rl, rc in access.reference_chain(lvl, code):
            if rl == ref_level and (rl, rc) not in seen:
                seen.add((rl, rc))
                rows.append((rl, rc, True))
    return rows


def plain_name(level: str, code: str) -> str:
    """A territory as a sentence names it: a QPV with its commune ("La Viste, à Marseille")."""
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
            ref = access.reference_values_at(ind, rl, [rc], max(periods) if periods else None)
            if len(ref):
                out.append(ref.assign(level=rl, indicator_id=ind, perimeter="exact"))
    return pd.concat(out, ignore_index=True) if out else vals.iloc[0:0]


def comparison_frame(terrs, indicator_ids, ref_level) -> pd.DataFrame:
    """One row per (indicator, territory): the selected territories, then their references, each
    selected territory knowing its own reference (`ref_key`); references of the same year described
    as the territories' figures where they have it (else the closest earlier), both years said."""
    rows = with_references(terrs, ref_level)
    vals = access.latest_values([(l, c) for l, c, is_ref in rows if not is_ref], indicator_ids)
    cat = access.indicators().set_index("indicator_id")
    names = {}
    for l, c, is_ref in rows:
        t = access.territory(l, c)
        suffix = f" ({LEVEL_LABELS[l].lower()})" if l not in ("qpv", "france") else ""
        names[(l, c)] = (t["name"] if t else c) + suffix
    ref_of = {}
    for l, c, is_ref in rows:
        if not is_ref and ref_level:
            ref_of[(l, c)] = next((f"{rl}:{rc}" for rl, rc in access.reference_chain(l, c) if rl == ref_level), None)
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
                "source": short_source(r.publisher, r.vintage, r.dataset) if r is not None else None,
            })
    return pd.DataFrame(out)


def plotted(df: pd.DataFrame) -> list[str]:
    """Indicators with at least one value among the selected territories: the others get no plot."""
    sel = df[~df.is_reference]
    return [i for i in dict.fromkeys(df.indicator_id) if sel[(sel.indicator_id == i)].value.notna().any()]


def comparison_figure(df: pd.DataFrame, view: str = "dots") -> go.Figure:
    inds = plotted(df)
    # each plot its rows; between two plots, room for the upper one's axis labels and the lower
    # one's title (about 80 px, as a share of the plotting height)
    height = max(300, sum(70 + 34 * int(df[(df.indicator_id == i)].value.notna().sum()) for i in inds)
                 + 80 * max(0, len(inds) - 1))
    spacing = min(80 / height, 0.9 / (len(inds) - 1)) if len(inds) > 1 else 0.1
    fig = make_subplots(rows=max(1, len(inds)), cols=1, vertical_spacing=spacing,
                        subplot_titles=[f"{df[df.indicator_id == i].indicator.iloc[0]} ({df[df.indicator_id == i].unit.iloc[0]})"
                                        for i in inds])
    for n, ind in enumerate(inds, start=1):
        d = df[(df.indicator_id == ind) & df.value.notna()]
        colors = ["#8a8a8a" if ref else "#0b5e7e" for ref in d.is_reference]
        text = [fmt_status(v, s, dec) for v, s, dec in zip(d.value, d.status, d.decimals)]
        if view == "bars":
            fig.add_trace(go.Bar(x=d.value, y=d.territory, orientation="h", marker_color=colors, text=text,
                                 textposition="outside", showlegend=False, hoverinfo="skip"), row=n, col=1)
        else:
            fig.add_trace(go.Scatter(x=d.value, y=d.territory, mode="markers+text", text=text,
                                     textposition="middle right",
                                     marker={"size": 16, "color": colors,
                                             "symbol": ["diamond" if r else "circle" for r in d.is_reference]},
                                     showlegend=False, hoverinfo="skip"), row=n, col=1)
        fig.update_yaxes(autorange="reversed", row=n, col=1)
        if d.value.ge(0).all():  # start at zero: differences keep their true size
            fig.update_xaxes(range=[0, d.value.max() * 1.18 or 1], row=n, col=1)
    french_layout(fig, height=height)
    fig.update_layout(font={"size": 17})
    fig.update_annotations(font={"size": 17})
    return fig


STATUS_WORDS = {"secret": "secret statistique", "missing": "non disponible"}


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
            if bad is True:
                s += f" La situation la plus défavorable est à {hi_name}."
            elif bad is False:
                s += f" La situation la plus défavorable est à {lo_name}."
        elif len(ok) == 1:
            s = f"{label} : {fmt(ok.value.iloc[0], dec, unit)} à {plain[ok.index[0]]} ; pas d'autre valeur à comparer."
        else:
            s = f"{label} : aucune valeur disponible pour ces territoires, pas de graphique."
        if d.ref_key.notna().any():
            refs = allrows.set_index("key")
            for i, r in ok.iterrows():
                ref = refs.loc[r.ref_key] if isinstance(r.ref_key, str) and r.ref_key in refs.index else None
                if ref is None or pd.isna(ref.value):
                    continue
                ratio = _ratio_text(r.value, ref.value)
                years = f"({r.year_label} ; référence : {ref.year_label})"
                if ratio:
                    s += (f" À {plain[i]}, la valeur est {ratio} {ref.plain} : {fmt(r.value, dec, unit)} "
                          f"contre {fmt(ref.value, dec, unit)} {years}.")
                else:       # a zero or negative figure: a ratio would mean nothing, the two figures do
                    s += (f" À {plain[i]} : {fmt(r.value, dec, unit)}, contre {fmt(ref.value, dec, unit)} pour "
                          f"{ref.plain} {years}.")
        if len(missing):
            s += " Sans valeur : " + ", ".join(f"{plain[i]} ({STATUS_WORDS.get(st, 'non disponible')})"
                                              for i, st in zip(missing.index, missing.status)) + "."
        out.append(s)
    if none_at_all:
        out.append("Aucune valeur disponible pour ces territoires dans les données chargées, pas de graphique : "
                   + ", ".join(none_at_all) + ".")
    return out


def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    t = df.assign(shown=[fmt_status(v, s, dec) + (" *" if p == "perimetre_2015" else "")
                         for v, s, dec, p in zip(df.value, df.status, df.decimals, df.perimeter)])
    return pd.DataFrame({"Indicateur": t.indicator, "Unité": t.unit, "Territoire": t.territory,
                         "Valeur": t.shown, "Année décrite": t.year_label, "Source": t.source})


GROUP_LEVELS = ("commune", "epci")


def group_frame(groups, indicator_ids) -> pd.DataFrame:
    """One row per (indicator, group, QPV of the group): the QPV's value, and the group's own
    value (its commune or EPCI figure, the reference line of the plot) of the year the QPVs'
    figures describe, else the closest earlier."""
    cat = access.indicators().set_index("indicator_id")
    rows = []
    for ind in indicator_ids:
        if ind not in cat.index:
            continue
        info = cat.loc[ind]
        for lvl, code in groups:
            vals = access.values(ind, "qpv", (lvl, code))
            periods = vals.period[vals.status.isin(["ok", "secret"])].dropna()
            g = access.reference_values_at(ind, lvl, [code], int(periods.max()) if len(periods) else None)
            g_ok = len(g) and g.iloc[0].status == "ok"
            for r in vals.itertuples():
                rows.append({"indicator_id": ind, "indicator": info.short_label, "unit": info.unit,
                             "decimals": int(info.decimals) if not pd.isna(info.decimals) else 1,
                             "group": plain_name(lvl, code), "group_level": lvl, "qpv": r.name,
                             "value": r.value if r.status == "ok" else None, "status": r.status,
                             "year_label": r.year_label if isinstance(r.year_label, str) else "n.d.",
                             "group_value": float(g.iloc[0].value) if g_ok else None,
                             "group_year": g.iloc[0].year_label if len(g) else "n.d."})
    return pd.DataFrame(rows)


def group_figure(df: pd.DataFrame) -> go.Figure:
    inds = [i for i in dict.fromkeys(df.indicator_id) if df[df.indicator_id == i].value.notna().any()]
    fig = make_subplots(rows=max(1, len(inds)), cols=1, vertical_spacing=0.1,
                        subplot_titles=[f"{df[df.indicator_id == i].indicator.iloc[0]} ({df[df.indicator_id == i].unit.iloc[0]})"
                                        for i in inds])
    for n, ind in enumerate(inds, start=1):
        d = df[(df.indicator_id == ind) & df.value.notna()]
        fig.add_trace(go.Scatter(x=d.value, y=d.group, mode="markers", name="QPV", showlegend=n == 1,
                                 marker={"size": 11, "color": "#0b5e7e", "opacity": 0.7}, text=d.qpv,
                                 hovertemplate="%{text} : %{x}<extra></extra>"), row=n, col=1)
        med = d.groupby("group", sort=False).value.median()
        fig.add_trace(go.Scatter(x=med.values, y=med.index, mode="markers", name="Médiane des QPV",
                                 showlegend=n == 1, marker={"size": 20, "symbol": "diamond", "color": "#c2410c"},
                                 hovertemplate="médiane : %{x}<extra></extra>"), row=n, col=1)
        ref = df[df.indicator_id == ind].drop_duplicates("group").dropna(subset=["group_value"])
        fig.add_trace(go.Scatter(x=ref.group_value, y=ref.group, mode="markers", name="Valeur de la commune ou de l'EPCI",
                                 showlegend=n == 1, marker={"size": 30, "symbol": "line-ns", "line": {"width": 3,
                                                                                                      "color": "#1d1d1f"}},
                                 hovertemplate="commune ou EPCI : %{x}<extra></extra>"), row=n, col=1)
        fig.update_yaxes(autorange="reversed", row=n, col=1)
    french_layout(fig, height=max(320, len(inds) * (90 + 60 * df.group.nunique())))
    fig.update_layout(font={"size": 17}, legend={"orientation": "h", "y": -0.08})
    fig.update_annotations(font={"size": 17})
    return fig


def group_sentences(df: pd.DataFrame) -> list[str]:
    out = []
    for ind in dict.fromkeys(df.indicator_id):
        d = df[df.indicator_id == ind]
        unit, dec, label = d.unit.iloc[0], int(d.decimals.iloc[0]), d.indicator.iloc[0]
        parts = []
        for group, g in d.groupby("group", sort=False):
            ok = g.value.dropna()
            if not len(ok):
                parts.append(f"{group} : aucune valeur pour ses {len(g)} QPV")
                continue
            year = g.year_label[g.value.notna()].iloc[0]
            txt = f"{group} : médiane des {len(ok)} QPV {fmt(ok.median(), dec, unit)} ({year})"
            if g.group_value.notna().any():
                txt += f", contre {fmt(g.group_value.iloc[0], dec, unit)} pour l'ensemble ({g.group_year.iloc[0]})"
            if len(ok) < len(g):
                txt += f" ; {len(g) - len(ok)} QPV sans valeur"
            parts.append(txt)
        out.append(f"{label} — " + " ; ".join(parts) + ".")
    return out


def group_body(terrs, indicator_ids):
    groups = [(l, c) for l, c in terrs if l in GROUP_LEVELS]
    if len(groups) < 2:
        return html.P("Mode groupes : choisissez de deux à six communes ou EPCI ; leurs quartiers prioritaires "
                      "sont comparés groupe par groupe.", className="note", id="compare-msg")
    if not indicator_ids:
        return html.P("Choisissez au moins un indicateur.", className="note", id="compare-msg")
    df = group_frame(groups, indicator_ids)
    if df.empty or not df.value.notna().any():
        return html.P("Aucune valeur pour les quartiers de ces territoires.", className="note", id="compare-msg")
    return html.Div([
        html.H2("En clair"),
        html.Ul([html.Li(s) for s in group_sentences(df)], id="compare-sentences", className="big-type"),
        graph("compare-graph", group_figure(df), source="Points : chaque QPV ; losange : médiane des QPV du "
              "groupe ; trait : valeur de la commune ou de l'EPCI.", export_name="comparaison_groupes",
              export_title="Quartiers prioritaires de " + ", ".join(dict.fromkeys(df.group)) + " : comparaison par groupe"),
        html.H2("Tableau"),
        data_table("compare-table", pd.DataFrame({
            "Indicateur": df.indicator, "Groupe": df.group, "QPV": df.qpv,
            "Valeur": [fmt_status(v, st, dec) for v, st, dec in zip(df.value, df.status, df.decimals)],
            "Année décrite": df.year_label,
            "Valeur de la commune ou de l'EPCI": [fmt(v, dec) if v is not None and not pd.isna(v) else "n.d."
                                                  for v, dec in zip(df.group_value, df.decimals)]}),
            filename="comparaison_groupes", page_size=40),
    ], id="compare-body")


def body(terrs, indicator_ids, ref_level, view):
    if view == "groups":
        return group_body(terrs, indicator_ids)
    if len(terrs) < 2:
        return html.P("Choisissez au moins deux territoires à comparer.", className="note", id="compare-msg")
    if not indicator_ids:
        return html.P("Choisissez au moins un indicateur.", className="note", id="compare-msg")
    df = comparison_frame(terrs, indicator_ids, ref_level)
    notes = []
    if (df.perimeter == "perimetre_2015").any():
        notes.append(html.P("* Valeur calculée sur le périmètre 2015 du quartier (contour modifié en 2024).",
                            className="note"))
    sources = sorted({s for s in df.source.dropna()})
    shown = plotted(df)
    return html.Div([
        html.H2("En clair"),
        html.Ul([html.Li(s) for s in plain_sentences(df)], id="compare-sentences", className="big-type"),
        graph("compare-graph", comparison_figure(df, view),
              source="Sources : " + " ; ".join(sources) if sources else None, export_name="comparaison",
              export_title="Comparaison : " + ", ".join(dict.fromkeys(df[~df.is_reference].plain))) if shown else
        html.P("Aucun des indicateurs choisis n'a de valeur pour ces territoires : pas de graphique.",
               className="note", id="compare-no-plot"),
        html.P("Losanges gris : territoires de référence.", className="muted") if ref_level and shown else None,
        *notes,
        html.H2("Tableau"),
        data_table("compare-table", table_frame(df), filename="comparaison", page_size=40),
    ], id="compare-body")


def _listed(value) -> list[str]:
    """A list parameter written ?t=a,b or ?t=a&t=b (or both): its values, in order."""
    items = value if isinstance(value, list) else [value]
    return [v.strip() for item in items if isinstance(item, str) for v in item.split(",") if v.strip()]


def chosen(t=None, ind=None, view: str = "dots") -> tuple[list[str], list[str], list[str], pd.DataFrame]:
    """(territories, indicators, notices, indicators available) that the page shows for its URL:
    the known territories asked (six at most), else the first two QPVs with a poverty rate; the
    indicators asked, else those of default_indicators."""
    index = option_index(territory_options)
    asked = _listed(t)
    selected = list(dict.fromkeys(v for v in asked if v in index))
    unknown = [v for v in asked if v not in index]
    notices = [f"Territoire inconnu dans l'adresse : {', '.join('« ' + clip(v, 40) + ' »' for v in unknown[:5])}"
               + (" …" if len(unknown) > 5 else "") + " (ignoré)."] if unknown else []
    if len(selected) > MAX_TERRITORIES:
        notices.append(f"Six territoires au plus : les {len(selected) - MAX_TERRITORIES} derniers de l'adresse sont "
                       "ignorés.")
        selected = selected[:MAX_TERRITORIES]
    if not selected:  # default: the first two QPVs that have a poverty rate
        v = access.values("taux_pauvrete_60", "qpv")
        selected = [f"qpv:{c}" for c in v[v.status == "ok"].code][:2] or \
            [o["value"] for o in index.options if o["value"].startswith("qpv:")][:2]
    cat = access.indicators()
    available = cat[cat.levels.map(lambda l: l is not None and len(l) > 0)]
    inds = [i for i in _listed(ind) if i in set(available.indicator_id)] if _listed(ind) \
        else default_indicators(parse_territories(selected), view, available)
    return selected, inds, notices, available


def view_title(t=None, ind=None, view: str = "dots", **_) -> str:
    """The territories, indicators and years compared (a slide's title), as the page shows them."""
    view = view if view in ("dots", "bars", "groups") else "dots"
    selected, inds, _, available = chosen(t, ind, view)
    terrs = parse_territories(selected)
    names = [plain_name(lvl, code) for lvl, code in terrs]
    labels = dict(zip(available.indicator_id, available.short_label))
    shown = [labels[i] for i in inds if i in labels]
    years = sorted({access.year_labels(i, lvl).get(access.default_period(i, lvl))
                    for i in inds for lvl in {lvl for lvl, _ in terrs}} - {None})
    out = "Comparer : " + (" ; ".join(names) or "territoires")
    if shown:
        out += f" — {', '.join(shown[:3])}" + (f" et {len(shown) - 3} autre(s)" if len(shown) > 3 else "")
    return out + (f" ({', '.join(years)})" if years else "")


def layout(t=None, ind=None, ref: str | None = "france", view: str = "dots", **_):
    view = view if view in ("dots", "bars", "groups") else "dots"
    selected, inds, notices, available = chosen(t, ind, view)
    index = option_index(territory_options)
    ind_opts = [{"label": r.label, "value": r.indicator_id} for r in available.itertuples()]
    ref = ref if isinstance(ref, str) and ref in dict(REFERENCE_LEVELS) else "france"
    return html.Div([
        url_notices(notices),
        html.H1("Comparer des territoires"),
        html.P("Choisissez de deux à six quartiers, communes ou intercommunalités et les indicateurs à mettre "
               "côte à côte, avec une référence.", className="lead big-type page-intro"),
        html.Div([
            html.Div([html.Label("Territoires (2 à 6)", htmlFor="compare-territories"),
                      search_dropdown("compare-territories", selected, index, multi=True,
                                      style={"minWidth": "420px"})], className="control"),
            html.Div([html.Label("Indicateurs", htmlFor="compare-indicators"),
                      dcc.Dropdown(id="compare-indicators", options=ind_opts, value=inds, multi=True,
                                   style={"minWidth": "420px"})], className="control"),
            html.Div([html.Label("Référence", htmlFor="compare-ref"),
                      dcc.Dropdown(id="compare-ref", options=[{"label": l, "value": v} for v, l in REFERENCE_LEVELS],
                                   value=ref, clearable=False)], className="control"),
            html.Fieldset([html.Legend("Affichage", className="control-label"),
                      dcc.RadioItems(id="compare-view", options=[{"label": " Points", "value": "dots"},
                                                                 {"label": " Barres", "value": "bars"},
                                                                 {"label": " Groupes (les QPV de chaque commune ou EPCI)",
                                                                  "value": "groups"}],
                                     value=view, inline=True,
                                     inputStyle={"marginLeft": "0.6rem"})], className="control"),
        ], className="controls big-type"),
        html.P("", id="compare-limit", className="note", role="status"),
        html.Div(body(parse_territories(selected), inds, ref, view), id="compare-content"),
    ], className="big-type")


@callback(Output("compare-content", "children"), Output("url-state", "search", allow_duplicate=True),
          Output("compare-territories", "value"), Output("compare-limit", "children"),
          Input("compare-territories", "value"), Input("compare-indicators", "value"),
          Input("compare-ref", "value"), Input("compare-view", "value"), prevent_initial_call=True)
def update(terr_values, inds, ref, view):
    """A 7th territory never enters the selection (nor the URL): the dropdown gets the first six
    back, and the page says why."""
    terrs = parse_territories(guard.many(terr_values))
    inds = guard.many(inds, set(access.indicators().indicator_id))
    ref = guard.one(ref, dict(REFERENCE_LEVELS), "france")
    view = guard.one(view, ("dots", "bars", "groups"), "dots")
    limit = ""
    if len(terrs) > MAX_TERRITORIES:
        limit = (f"Six territoires au plus : « {plain_name(*terrs[MAX_TERRITORIES])} » n'a pas été ajouté. "
                 "Retirez un territoire pour en choisir un autre.")
        terrs = terrs[:MAX_TERRITORIES]
    kept = [f"{l}:{c}" for l, c in terrs]
    search = (f"?t={','.join(kept)}&ind={','.join(inds)}"
              f"&ref={ref or ''}&view={view}")
    return (body(terrs, inds, ref, view), search,
            kept if limit else no_update, limit)
