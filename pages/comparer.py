"""Comparer: 2 to 6 territories (QPVs, communes, EPCIs) side by side on chosen indicators,
with their references, as dots or bars and a table; plain language and large type."""
from __future__ import annotations

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, callback, dcc, html, no_update
from plotly.subplots import make_subplots

from components import guard
from components.charts import french_layout, graph
from components.notices import clip, url_notices
from components.scope import LEVEL_LABELS
from components.search_dropdown import initial_options, option_index, register_search, search_dropdown
from components.tables import data_table
from data import access, stats
from data.analysis import fmt, fmt_status
from data.views import comparables, intervals
from data.views.comparer import COMPARABLES, comparison_frame, plain_name, plain_sentences

dash.register_page(__name__, path="/comparer", name="Comparer", title="Atlas ASV — Comparer", order=5,
                   multi_params=("t", "ind"))     # ?t=a&t=b is ?t=a,b

DEFAULT_INDICATORS = ["taux_pauvrete_60", "revenu_median_uc", "taux_emploi_15_64", "part_c2s",
                      "part_familles_monoparentales"]
REFERENCE_LEVELS = [("", "Aucune"), ("commune", "Commune de chaque territoire"), ("epci", "EPCI"),
                    ("departement", "Département"), ("region", "Région"), ("france", "France"),
                    ("ensemble_qpv", "Ensemble des QPV de France (pour les QPV)"),
                    (COMPARABLES, "Médiane des 10 QPV comparables (pour les QPV)")]
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
        bars = _error_bars(d)
        if view == "bars":
            fig.add_trace(go.Bar(x=d.value, y=d.territory, orientation="h", marker_color=colors, text=text,
                                 textposition="outside", showlegend=False, hoverinfo="skip", error_x=bars),
                          row=n, col=1)
        else:
            fig.add_trace(go.Scatter(x=d.value, y=d.territory, mode="markers+text", text=text,
                                     textposition="middle right", error_x=bars,
                                     marker={"size": 16, "color": colors,
                                             "symbol": ["diamond" if r else "circle" for r in d.is_reference]},
                                     showlegend=False, hoverinfo="skip"), row=n, col=1)
        fig.update_yaxes(autorange="reversed", row=n, col=1)
        top = pd.concat([d.value, pd.to_numeric(d.get("ci_hi"), errors="coerce")]).max() if "ci_hi" in d else d.value.max()
        if d.value.ge(0).all():  # start at zero: differences keep their true size
            fig.update_xaxes(range=[0, top * 1.18 or 1], row=n, col=1)
    french_layout(fig, height=height)
    fig.update_layout(font={"size": 17})
    fig.update_annotations(font={"size": 17})
    return fig


def _error_bars(d: pd.DataFrame) -> dict | None:
    """Each value's confidence interval as an error bar (none where there is no interval)."""
    if "ci_lo" not in d:
        return None
    lo = pd.to_numeric(d.ci_lo, errors="coerce")
    hi = pd.to_numeric(d.ci_hi, errors="coerce")
    if lo.isna().all():
        return None
    return {"type": "data", "symmetric": False, "array": (hi - d.value).fillna(0).tolist(),
            "arrayminus": (d.value - lo).fillna(0).tolist(), "color": "#3a3a3f", "thickness": 1.5, "width": 6}


def table_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The table under the chart: each value with its interval and its test against its reference;
    the bounds, the method and the confidence level as columns of their own (exports keep them)."""
    if df.empty:
        return df
    t = df.assign(shown=[fmt_status(v, s, dec) + (" *" if p == "perimetre_2015" else "")
                         for v, s, dec, p in zip(df.value, df.status, df.decimals, df.perimeter)])
    level = stats.LEVEL_LABELS[df.attrs.get("ci", stats.DEFAULT_LEVEL)]
    specs = {i: intervals.spec(access.indicator(i)) for i in dict.fromkeys(df.indicator_id)}

    def bound(x, dec, ref):
        return "" if ref else ("—" if x is None or pd.isna(x) else fmt(x, dec))
    return pd.DataFrame({
        "Indicateur": t.indicator, "Unité": t.unit, "Territoire": t.territory, "Valeur": t.shown,
        "Année décrite": t.year_label,
        f"IC {level} : borne basse": [bound(x, d, r) for x, d, r in zip(t.ci_lo, t.decimals, t.is_reference)],
        f"IC {level} : borne haute": [bound(x, d, r) for x, d, r in zip(t.ci_hi, t.decimals, t.is_reference)],
        "Test avec la référence": ["" if r else stats.outcome_text(o) for o, r in zip(t.test, t.is_reference)],
        "Méthode de l'intervalle": ["" if r else (intervals.basis_text(specs[i], b, n, dn) or w or "")
                                    for i, b, n, dn, w, r in zip(t.indicator_id, t.ci_basis, t.ci_num, t.ci_den,
                                                                 t.ci_why, t.is_reference)],
        "Source": t.source})


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


def body(terrs, indicator_ids, ref_level, view, ci: str = stats.DEFAULT_LEVEL):
    if view == "groups":
        return group_body(terrs, indicator_ids)
    if len(terrs) < 2:
        return html.P("Choisissez au moins deux territoires à comparer.", className="note", id="compare-msg")
    if not indicator_ids:
        return html.P("Choisissez au moins un indicateur.", className="note", id="compare-msg")
    df = comparison_frame(terrs, indicator_ids, ref_level, ci)
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
        html.P(("Losanges gris : territoires de référence. " if ref_level else "") + "Traits : intervalle de "
               f"confiance à {stats.LEVEL_LABELS[ci]} de chaque valeur qui en a un.", className="muted")
        if shown else None,
        *notes,
        html.P(f"Écarts testés sur l'intervalle de confiance à {stats.LEVEL_LABELS[ci]} de chaque territoire : "
               "« significatif » quand la référence est hors de l'intervalle (méthodes et limites : page Données).",
               className="muted", id="compare-test-note") if ref_level else None,
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


def layout(t=None, ind=None, ref: str | None = "france", view: str = "dots", ic: str | None = None, **_):
    view = view if view in ("dots", "bars", "groups") else "dots"
    ci = stats.level_token(ic)
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
            html.Fieldset([html.Legend("Intervalles de confiance", className="control-label"),
                           dcc.RadioItems(id="compare-ci", options=[{"label": f" {v}", "value": k}
                                                                    for k, v in stats.LEVEL_LABELS.items()],
                                          value=ci, inline=True, inputStyle={"marginLeft": "0.6rem"})],
                          className="control"),
        ], className="controls big-type"),
        html.Div(peers_button(parse_territories(selected)), id="compare-peers-wrap"),
        html.P("", id="compare-limit", className="note", role="status"),
        html.Div(body(parse_territories(selected), inds, ref, view, ci), id="compare-content"),
    ], className="big-type")


def peers_button(terrs) -> html.Button:
    """Compare the first QPV of the selection with its comparable QPVs, in one click."""
    qpv = next((c for lvl, c in terrs if lvl == "qpv"), None)
    label = (f"Ajouter les QPV comparables à {plain_name('qpv', qpv)}" if qpv
             else "Ajouter des QPV comparables (choisissez d'abord un QPV)")
    return html.Button(label, id="compare-add-peers", n_clicks=0, type="button", className="btn btn-secondary",
                       disabled=qpv is None, title="Les plus proches par leur contexte, jusqu'à six territoires")


def with_peers(terr_values: list[str]) -> list[str]:
    """The selection with the comparables of its first QPV added, nearest first, up to six."""
    kept = list(dict.fromkeys(terr_values))
    qpv = next((v.split(":", 1)[1] for v in kept if v.startswith("qpv:")), None)
    if qpv is None:
        return kept
    for c in comparables.comparable_codes(qpv):
        if len(kept) >= MAX_TERRITORIES:
            break
        if f"qpv:{c}" not in kept:
            kept.append(f"qpv:{c}")
    return kept


@callback(Output("compare-territories", "value", allow_duplicate=True), Output("compare-territories", "options",
                                                                               allow_duplicate=True),
          Input("compare-add-peers", "n_clicks"), State("compare-territories", "value"), prevent_initial_call=True)
def add_peers(n, terr_values):
    if not n:
        return no_update, no_update
    kept = with_peers(guard.many(terr_values))
    return kept, initial_options(option_index(territory_options), kept)


@callback(Output("compare-content", "children"), Output("url-state", "search", allow_duplicate=True),
          Output("compare-territories", "value"), Output("compare-limit", "children"),
          Output("compare-peers-wrap", "children"),
          Input("compare-territories", "value"), Input("compare-indicators", "value"),
          Input("compare-ref", "value"), Input("compare-view", "value"), Input("compare-ci", "value"),
          prevent_initial_call=True)
def update(terr_values, inds, ref, view, ci=None):
    """A 7th territory never enters the selection (nor the URL): the dropdown gets the first six
    back, and the page says why."""
    terrs = parse_territories(guard.many(terr_values))
    inds = guard.many(inds, set(access.indicators().indicator_id))
    ref = guard.one(ref, dict(REFERENCE_LEVELS), "france")
    view = guard.one(view, ("dots", "bars", "groups"), "dots")
    ci = stats.level_token(guard.one(ci))
    limit = ""
    if len(terrs) > MAX_TERRITORIES:
        limit = (f"Six territoires au plus : « {plain_name(*terrs[MAX_TERRITORIES])} » n'a pas été ajouté. "
                 "Retirez un territoire pour en choisir un autre.")
        terrs = terrs[:MAX_TERRITORIES]
    kept = [f"{l}:{c}" for l, c in terrs]
    search = (f"?t={','.join(kept)}&ind={','.join(inds)}"
              f"&ref={ref or ''}&view={view}" + (f"&ic={ci}" if ci != stats.DEFAULT_LEVEL else ""))
    return (body(terrs, inds, ref, view, ci), search,
            kept if limit else no_update, limit, peers_button(terrs))
