"""What the Inégalités page shows of a view (pages/inegalites.py): its legend, notes, source line,
table columns, the selected QPV's panel, and the controls with their options. Functions of a view
state and its memoized view (data.views.inegalites) that return layout; the page owns the
callbacks."""
from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
from dash import dcc, html

from components.maps import SPECK_NOTE, legend
from components.notices import folded_notes
from components.scope import LEVEL_LABELS, scope_dropdown
from data import access
from data import analysis as an
from data import palettes as pal
from data import stats
from data.provenance import period_token, source_text
from data.views import inegalites as iv
from data.views import intervals
from data.views.inegalites import MODES, ViewState

# --- Rendering of a view ----------------------------------------------------------------------

def legend_block(st: ViewState, v: iv.View) -> html.Div:
    ind, cls = v.indicator, v.classification
    items = []
    if cls:
        for color, label, n in zip(v.colors, v.labels, cls.counts):
            items.append((color, label, f"{n} QPV"))
    counts = v.status.value_counts().to_dict()
    if counts.get("secret"):
        items.append(("secret", "Secret statistique (non diffusé)", f"{counts['secret']} QPV"))
    if counts.get("missing"):
        items.append(("missing", "Pas de donnée", f"{counts['missing']} QPV"))
    if counts.get("noref"):
        items.append(("missing", "Écart non calculable : référence secrète ou absente", f"{counts['noref']} QPV"))
    labels = access.year_labels(st.indicator, "qpv")
    label = labels.get(st.year if st.year else max(labels or [0]))
    year = f" ({label})" if label else ""
    method = st.method if not v.message else "quantiles"
    if st.mode == "ecart":
        kind = "rapport" if st.gap == "ratio" else "différence"
        ref_years = list(dict.fromkeys(v.frame.loc[v.frame.gap_status.eq("ok"), "ref_year_label"].dropna()))
        ref_year = f", référence : {', '.join(ref_years)}" if ref_years and [label] != ref_years else ""
        title = (f"{ind['short_label']}{year} : écart à la référence « {an.REFERENCE_LEVELS[st.ref]} » "
                 f"({kind}{ref_year})")
        centre = ("1 = même niveau que la référence ; 1,5 = une fois et demie la référence."
                  if st.gap == "ratio" else "0 = même niveau que la référence.")
        note = [centre, f"Classes : {an.GAP_METHODS[method]}.", _direction_text(ind, gap=True)]
    else:
        title = f"{ind['short_label']}{year} ({ind['unit']})"
        note = [f"Classes : {an.METHODS[method].lower()}.", _direction_text(ind)]
    if counts.get("secret") or counts.get("missing") or counts.get("noref"):
        note.append("Les quartiers hachurés (secret) ou en blanc pointillé (sans donnée) ne sont dans "
                    "aucune classe : leur valeur n'est pas connue, elle n'est jamais comptée comme 0.")
    if not cls:
        note.append("Aucune valeur disponible pour ce choix : aucune classe.")
    note.append(SPECK_NOTE)
    alerts = [v.message, cls.merged_note() if cls else None]
    return legend(items, title, " ".join(n for n in note if n), legend_id="ineg-legend-box", alerts=alerts)


def _direction_text(ind: dict, gap: bool = False) -> str:
    hib = ind.get("high_is_bad")
    if iv._nan(hib):
        return "Indicateur sans sens favorable ou défavorable."
    if gap:
        return ("Teintes chaudes : quartier en situation moins favorable que sa référence (valeur plus élevée)."
                if hib else
                "Teintes chaudes : quartier en situation moins favorable que sa référence (valeur plus faible).")
    return ("Couleurs les plus foncées : situation la plus défavorable (valeur élevée)." if hib else
            "Couleurs les plus foncées : situation la plus défavorable (valeur faible).")


def table_columns(st: ViewState, v: iv.View) -> list[dict]:
    ind = v.indicator
    d = iv.decimals_of(ind)
    gap_unit = "" if st.gap == "ratio" else (" (pts)" if ind["unit"] == "%" else f" ({ind['unit']})")
    return [
        {"name": "Quartier (QPV)", "id": "name"},
        {"name": "Code", "id": "code"},
        {"name": "Commune(s)", "id": "communes"},
        _num(f"{ind['short_label']} ({ind['unit']})", "value", d),
        {"name": "Statut", "id": "statut"},
        {"name": "Année décrite", "id": "year"},
        {"name": f"Référence ({an.REFERENCE_LEVELS[st.ref]})", "id": "ref_name"},
        _num("Valeur de référence", "ref_value", d),
        {"name": "Année de la référence", "id": "ref_year"},
        _num(("Écart (rapport)" if st.gap == "ratio" else "Écart (différence)") + gap_unit, "gap",
             2 if st.gap == "ratio" else d),
        _num(f"IC {stats.LEVEL_LABELS[st.ci]} : borne basse", "ci_lo", d),
        _num(f"IC {stats.LEVEL_LABELS[st.ci]} : borne haute", "ci_hi", d),
        {"name": f"Comparaison testée avec la référence (IC {stats.LEVEL_LABELS[st.ci]})", "id": "test"},
        {"name": "Classe sur la carte", "id": "classe"},
        {"name": "Périmètre", "id": "perimetre"},
    ]


def _num(name: str, col: str, decimals: int) -> dict:
    return {"name": name, "id": col, "type": "numeric",
            "format": {"locale": {"decimal": ",", "group": "\u202f", "separate_4digits": True},
                       "specifier": f",.{decimals}f"}}


def table_records(st: ViewState, v: iv.View) -> list[dict]:
    """Every table row, in name order (the table shows one page of them)."""
    return list(v.records)


def _names_where(v: iv.View, mask: np.ndarray) -> list[str]:
    return list(v.frame["name"].to_numpy(dtype=object)[mask])


def notes(st: ViewState, v: iv.View) -> list:
    f = v.frame
    status = f["status"].to_numpy(dtype=object)
    perimeter = f["perimeter"].to_numpy(dtype=object)
    geography = f["geography"].to_numpy(dtype=object)
    known = (status == "ok") | (status == "secret")
    out = []
    p2015 = known & (perimeter == "perimetre_2015")
    if p2015.any():
        listed = _names_where(v, p2015)
        names = ", ".join(listed[:8]) + (" …" if len(listed) > 8 else "")
        out.append(html.P([html.Strong("Périmètre 2015 : "),
                           f"pour {len(listed)} quartier(s) ({names}), la valeur a été calculée sur le "
                           "périmètre 2015 du quartier, modifié en 2024 : elle décrit un territoire un peu "
                           "différent du quartier actuel. Colonne « Périmètre » du tableau."],
                          className="note", id="ineg-perimeter-note"))
    other = known & (perimeter == "exact") & np.array([isinstance(g, str) and g != "QPV2024" for g in geography],
                                                      dtype=bool)
    if other.any():
        geos = ", ".join(sorted(set(geography[other])))
        out.append(html.P([html.Strong("Autre géographie : "),
                           f"pour {int(other.sum())} quartier(s), la valeur a été publiée sur la géographie {geos} ; "
                           "leur périmètre n'a pas changé en 2024."],
                          className="note", id="ineg-geography-note"))
    ref_ok = f["ref_status"].to_numpy(dtype=object) == "ok"
    years = f["year_label"].to_numpy(dtype=object)
    ref_years = f["ref_year_label"].to_numpy(dtype=object)
    other = (status == "ok") & ref_ok & (years != ref_years)
    if other.any():
        pairs = list(dict.fromkeys(zip(years[other], ref_years[other])))
        said = " ; ".join(f"{y} comparé à {r}" for y, r in pairs[:4])
        out.append(html.P([html.Strong("Années différentes : "),
                           f"pour {int(other.sum())} quartier(s), la référence n'a pas de valeur de la même année : "
                           f"l'écart la compare à celle de l'année la plus proche avant, sinon après ({said}). "
                           "Colonnes « Année décrite » et « Année de la référence » du tableau."],
                          className="note", id="ineg-years-note"))
    if v.refs is None or v.refs.empty:
        avail = [an.REFERENCE_LEVELS[x] for x in v.ref_levels]
        out.append(html.P([html.Strong("Référence : "),
                           f"aucune valeur de cet indicateur à l'échelle « {an.REFERENCE_LEVELS[st.ref]} » ; "
                           + (f"niveaux disponibles : {', '.join(avail)}." if avail else
                              "cet indicateur n'a de valeur de référence à aucune échelle, l'écart ne peut "
                              "pas être calculé.")],
                          className="note", id="ineg-reference-note"))
    if st.ref == "commune" and any(" ; " in c for c in f["communes"].to_numpy(dtype=object)):
        out.append(html.P("Un quartier qui s'étend sur plusieurs communes est comparé à celle qui contient la plus "
                          "grande part de sa surface (le panneau du quartier dit laquelle, et cette part).",
                          className="muted"))
    return folded_notes(out, "Remarques sur ces chiffres")


def years_text(period, labels) -> str:
    """", année(s) décrite(s) : 2019." from the rows' periods and year labels — and, for values whose
    source does not say which year they describe (negative period), that it does not: a diffusion
    vintage is not a year described. Numpy: it runs at each render."""
    period = np.asarray(period, dtype=float)
    labels = np.asarray(labels, dtype=object)
    dated = np.isfinite(period) & (period >= 0)
    order = np.argsort(period[dated], kind="stable")
    years = list(dict.fromkeys(y for y in labels[dated][order] if isinstance(y, str)))
    out = f", année(s) décrite(s) : {', '.join(years)}" if years else ""
    if (np.isfinite(period) & (period < 0)).any():
        out += (" ; pour une partie des valeurs, " if years else ", ") + "année décrite non déclarée par la source"
    return out + "."


def source_line(st: ViewState, v: iv.View) -> list:
    f = v.frame
    status = f["status"].to_numpy(dtype=object)
    known = (status == "ok") | (status == "secret")
    col = lambda c: f[c].to_numpy(dtype=object)[known]   # noqa: E731
    srcs = dict.fromkeys(zip(col("source_title"), col("publisher"), col("vintage"), col("geography")))
    parts = []
    if srcs:
        parts.append("Source : " + " ; ".join(
            source_text(title, pub, vint, geo) for title, pub, vint, geo in srcs)
            + years_text(f["period"].to_numpy(dtype=float)[known], col("year_label")))
    else:
        parts.append("Source : aucune valeur pour ce choix.")
    refs = v.refs
    if refs is not None and len(refs):
        rs = dict.fromkeys(zip(refs["source_title"], refs["publisher"], refs["vintage"]))
        parts.append(f"Référence ({an.REFERENCE_LEVELS[st.ref]}) : " + " ; ".join(
            source_text(title, pub, vint) for title, pub, vint in rs)
            + years_text(refs["period"].to_numpy(dtype=float), refs["year_label"].to_numpy(dtype=object)))
    else:
        parts.append(f"Référence ({an.REFERENCE_LEVELS[st.ref]}) : aucune valeur disponible.")
    parts.append("Fond de carte : contours des communes et départements de la base (hors ligne) ; "
                 "tuiles OpenStreetMap en option.")
    return [html.Span(p + " ") for p in parts]


# --- Side panel -------------------------------------------------------------------------------

def panel(st: ViewState, code: str | None) -> list:
    """Figures of the selected QPV against every reference level, and a link to its fiche."""
    if not code:
        return [html.P("Cliquez sur un quartier de la carte, ou choisissez-le dans la liste ou le tableau, "
                       "pour voir ses chiffres.", className="muted", id="ineg-panel-empty")]
    t = access.territory("qpv", code)
    if t is None:
        return [html.P("Quartier inconnu.", className="muted")]
    ind = access.indicator(st.indicator)
    d, unit = iv.decimals_of(ind), ind["unit"]
    own = access.values(st.indicator, "qpv", None, st.year)
    own = own[own.code == code]
    r = own.iloc[0] if len(own) else None
    status = r.status if r is not None else "missing"
    value = r.value if r is not None else None
    communes = access.qpv_communes([code])
    v = iv.compute_view(st)
    at = v._position.get(code)
    own_row = v.frame.iloc[at] if at is not None else None
    lo, hi = (own_row["ci_lo"], own_row["ci_hi"]) if own_row is not None else (float("nan"), float("nan"))
    hib = intervals.polarity(ind)
    rows, ref_sources = [], []
    for level, ref_code in access.reference_chain("qpv", code):
        ref = access.reference_values_at(st.indicator, level, [ref_code], st.year)
        rr = ref.iloc[0] if len(ref) else None
        if rr is not None and isinstance(rr.source_title, str):
            ref_sources.append(source_text(rr.source_title, rr.publisher, rr.vintage))
        rstat = rr.status if rr is not None else "missing"
        rval = rr.value if rr is not None else None
        g = an.gap([value if status == "ok" else float("nan")], [rval if rstat == "ok" else float("nan")], st.gap)[0]
        name = rr["name"] if rr is not None else (access.territory(level, ref_code) or {}).get("name", ref_code)
        test = stats.compare(value if status == "ok" else float("nan"), lo, hi,
                             rval if rstat == "ok" else float("nan"), hib)[0]
        rows.append(html.Tr([
            html.Td(f"{LEVEL_LABELS.get(level, level)} — {name}"),
            html.Td([an.fmt_status(rval, rstat, d, unit)]
                    + ([html.Span(f"({rr.year_label})", className="ref-year")] if rr is not None else []),
                    className="num"),
            html.Td(an.fmt_gap(g, st.gap, d, unit), className="num"),
            html.Td(stats.outcome_text(test), className=f"test test-{test}"),
        ]))
    val_text = an.fmt_status(value, status, d, unit)
    year = f" ({r.year_label})" if r is not None and isinstance(r.year_label, str) else ""
    out = [
        html.H3(t["name"], id="ineg-panel-title"),
        html.P([f"QPV {code}", " · ", "commune(s) : ",
                " ; ".join(n for n in communes.commune_name if isinstance(n, str)) or "n.d."], className="muted"),
        html.P([html.Strong(f"{ind['short_label']}{year} : "), html.Span(val_text, id="ineg-panel-value")]
               + ([" ", html.Span("(secret statistique : valeur non diffusée)", className="muted")]
                  if status == "secret" else [])),
    ]
    if status == "ok" and own_row is not None:
        ci = intervals.interval_text(lo, hi, d, unit)
        sp = intervals.spec(ind)
        out.append(html.P([html.Strong(f"Intervalle de confiance à {stats.LEVEL_LABELS[st.ci]} : "),
                           html.Span(ci, id="ineg-panel-ci"),
                           html.Span(f" ({intervals.basis_text(sp, own_row['ci_basis'], own_row['ci_num'], own_row['ci_den'])})",
                                     className="muted")] if ci else
                          [html.Span(own_row["ci_why"][:1].upper() + own_row["ci_why"][1:], id="ineg-panel-ci",
                                     className="muted")]))
    klass = v.class_text(code)
    if klass:
        out.append(html.P([html.Strong("Classe sur la carte : "),
                           html.Span(klass + (f" (sur {len(v.labels)})" if klass[:1].isdigit() else ""),
                                     id="ineg-panel-class")]))
    ref_commune = access.reference_commune_text(code)
    if ref_commune:
        out.insert(2, html.P(ref_commune + ".", className="muted", id="ineg-panel-ref-commune"))
    if r is not None and r.perimeter == "perimetre_2015":
        out.append(html.P("Valeur calculée sur le périmètre 2015 du quartier (contour modifié en 2024, ou statut "
                          "incertain : voir sa fiche).", className="note"))
    out.append(html.Table([
        html.Thead(html.Tr([html.Th("Référence"), html.Th("Valeur (année)", className="num"),
                            html.Th("Écart" + (" (rapport)" if st.gap == "ratio" else " (différence)"),
                                    className="num"),
                            html.Th(f"Test (IC {stats.LEVEL_LABELS[st.ci]})")])),
        html.Tbody(rows)], className="simple", id="ineg-panel-table"))
    # every figure of the panel says where it comes from: the QPV's value, then its references'
    own = source_text(r.source_title, r.publisher, r.vintage) if r is not None and isinstance(r.source_title, str) \
        else None
    refs_text = " ; ".join(dict.fromkeys(ref_sources))
    text = (f"Source : {own}" + (f" ; références : {refs_text}" if refs_text else "") if own
            else f"Sources des références : {refs_text}" if refs_text else "")
    if text:
        out.append(html.P(text + ".", className="source-line", id="ineg-panel-source"))
    out.append(html.P(dcc.Link("Ouvrir la fiche du quartier", href=f"/fiche?{urlencode({'level': 'qpv', 'code': code})}",
                               id="ineg-fiche-link", className="btn")))
    return out


# --- Controls ---------------------------------------------------------------------------------

def _radio(cid: str, label: str, options: dict, value) -> html.Fieldset:
    return html.Fieldset([
        html.Legend(label, className="control-label"),
        dcc.RadioItems(id=cid, options=[{"label": v, "value": k} for k, v in options.items()], value=value,
                       inline=True, className="radio-inline"),
    ], className="control fieldset")


def _dropdown(cid: str, label: str, options: list, value, **kw) -> html.Div:
    return html.Div([html.Label(label, htmlFor=cid),
                     dcc.Dropdown(id=cid, options=options, value=value, clearable=False, **kw)],
                    className="control")


def palette_options(mode: str, high_is_bad=None) -> list[dict]:
    opts = []
    for name in pal.palettes_for(mode):
        cols = pal.palette(name, 5, high_is_bad)
        opts.append({"label": html.Span([html.Span(className="pal-swatch", style={"background": c}) for c in cols]
                                        + [html.Span(pal.PALETTE_LABELS.get(name, name), className="pal-name")]),
                     "value": name, "search": pal.PALETTE_LABELS.get(name, name)})
    return opts


def reference_label(level: str) -> str:
    v = an.REFERENCE_LEVELS[level]
    return (f"Sa {v}" if level in ("commune", "region") else f"Son {v}" if level in ("epci", "departement")
            else v[:1].upper() + v[1:])


def reference_options(indicator: str | None) -> list[dict]:
    """Reference levels; those without any value of the indicator say so."""
    avail = iv.reference_levels_with_values(indicator) if indicator else []
    return [{"label": reference_label(k) if k in avail else f"{reference_label(k)} (pas de valeur)", "value": k}
            for k in an.REFERENCE_LEVELS]


def indicator_options(cat: pd.DataFrame) -> list[dict]:
    """One option per indicator, saying at which levels a reference exists."""
    out = []
    for r in cat.itertuples(index=False):
        levels = [an.REFERENCE_LEVELS[lv] for lv in iv.reference_levels_with_values(r.indicator_id)]
        refs = f"références : {', '.join(levels)}" if levels else "aucune référence"
        out.append({"label": f"{r.family.capitalize()} — {r.label} ({refs})", "value": r.indicator_id,
                    "search": f"{r.family} {r.label}"})
    return out


def year_options(indicator: str | None) -> list[dict]:
    """One option per period, most recent year described first: "2019" when the year the figures
    describe is known, "millésime de diffusion 2022" otherwise (a vintage repeating an earlier one
    says so). Values are URL tokens (data.provenance.period_token)."""
    labels = access.year_labels(indicator, "qpv") if indicator else {}
    return [{"label": labels[p], "value": period_token(p)} for p in sorted(labels, reverse=True)]


def controls(st: ViewState, cat: pd.DataFrame) -> html.Div:
    """Two rows (what is shown, and against what), then the classes and colours folded in one
    line that opens: the map stays above the fold at 1366 x 768."""
    hib = iv.high_is_bad_of(cat, st.indicator)
    gap_cls = "control-group" + ("" if st.mode == "ecart" else " is-secondary")
    return html.Div([
        html.Div([
            scope_dropdown("ineg-scope", st.scope),
            html.Div(_dropdown("ineg-indicator", "Indicateur", indicator_options(cat), st.indicator),
                     className="control-wide"),
            _dropdown("ineg-year", "Année décrite (ou millésime)", year_options(st.indicator),
                      period_token(st.year), style={"minWidth": "200px"}),
        ], className="control-row"),
        html.Div([
            _radio("ineg-mode", "Afficher", MODES, st.mode),
            html.Div([
                _dropdown("ineg-ref", "Référence de chaque quartier", reference_options(st.indicator), st.ref),
                _radio("ineg-gap", "Écart calculé en", an.GAP_TYPES, st.gap),
            ], className=gap_cls, id="ineg-gap-controls"),
        ], className="control-row"),
        html.Details([
            html.Summary(classes_summary(st), id="ineg-classes-summary"),
            html.Div([
                _dropdown("ineg-method", "Classes", [{"label": v, "value": k} for k, v in an.METHODS.items()],
                          st.method),
                _radio("ineg-k", "Nombre de classes", {k: str(k) for k in range(3, 8)}, st.k),
                html.Div([html.Label("Seuils manuels (séparés par « ; »)", htmlFor="ineg-breaks"),
                          dcc.Input(id="ineg-breaks", type="text", value=st.breaks, debounce=True,
                                    placeholder="ex. 20 ; 30 ; 40", disabled=st.method != "manual",
                                    className="text-input")], className="control"),
                _dropdown("ineg-palette", "Couleurs (adaptées aux daltoniens)", palette_options(st.mode, hib),
                          st.palette, style={"minWidth": "260px"}),
                _radio("ineg-ci", "Intervalles de confiance et tests", stats.LEVEL_LABELS, st.ci),
            ], className="control-row"),
        ], className="controls-more", id="ineg-classes", open=st.method == "manual"),
    ], className="controls ineg-controls")


def classes_summary(st: ViewState) -> str:
    """The folded line of the class controls says what they are set to."""
    method = an.METHODS.get(st.method, st.method).lower()
    colours = pal.PALETTE_LABELS.get(st.palette, st.palette) if st.palette else "couleurs par défaut"
    return (f"Classes, couleurs et intervalles : {method}, {st.k} classes, {colours.lower()}, "
            f"IC à {stats.LEVEL_LABELS[st.ci]}")
