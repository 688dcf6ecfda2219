"""One-page portrait of a territory (QPV, commune, EPCI, or an ASV/scheme territory):
locator map, key determinants against references, evolution, coverage by schemes,
actions by theme and public, sources. Used by the Fiche page and its print/PDF output."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from plotly.subplots import make_subplots

from components.charts import french_layout, graph
from components.maps import atlas_map, territory_layer
from components.scope import LEVEL_LABELS
from components.tables import data_table
from data import access
from data.provenance import geography_text
from data.views import comparables
from data.views import memo_view
from data.views import portrait as views_portrait

def determinants_frame(level: str, code: str, ci: str = "95", test_ref: str | None = None
                       ) -> tuple[pd.DataFrame, list[str]]:
    """(rows, notes) of data.views.portrait.determinants, the one computation the PDF shares."""
    df = views_portrait.determinants(level, code, ci, test_ref)
    return df, df.attrs["notes"]


def comparables_section(code: str) -> html.Div:
    """The 10 QPVs most similar to this one (data/views/comparables.py): their main figures, a
    link to each fiche, one link to compare with the five nearest; the method written out."""
    df = comparables.display_frame(code)
    used, left_out = comparables.variables()
    if df.empty:
        return html.Div([html.H2("Quartiers comparables"),
                         html.P("Pas assez d'indicateurs de contexte connus pour ce quartier : aucun quartier "
                                "comparable ne peut être proposé.", className="note", id="fiche-comparables-none")])
    shown = df.assign(Fiche=[f"[Fiche](/fiche?level=qpv&code={c})" for c in df["Code"]])
    cols = [{"name": c, "id": c, "presentation": "markdown"} if c == "Fiche" else {"name": c, "id": c}
            for c in shown.columns]
    years, sources = comparables.provenance(code)
    peers = list(df["Code"])[:5]
    compare = "/comparer?" + "&".join(f"t=qpv:{c}" for c in [code] + peers) + "&ref=comparables"
    method = comparables.METHOD_TEXT + " Indicateurs de contexte : " + ", ".join(used) + "." + (
        f" Laissés de côté (connus pour moins de la moitié des quartiers) : {', '.join(left_out)}." if left_out else "")
    return html.Div([
        html.H2("Quartiers comparables", id="fiche-comparables-title"),
        html.P(f"Les {len(df)} quartiers prioritaires de la base dont le contexte ressemble le plus à celui-ci : "
               "pour comparer ce qui est comparable.", className="lead"),
        data_table("fiche-comparables", shown, columns=cols, filename=f"qpv_comparables_{code}",
                   meta=[("Titre", f"Quartiers comparables — {code}"), ("Méthode", method),
                         ("Années décrites", years), ("Sources", " ; ".join(sources))], page_size=10),
        html.P(dcc.Link("Comparer ce quartier à ses cinq plus proches comparables", href=compare,
                        id="fiche-compare-peers", className="btn")),
        html.P(method, className="source-line", id="fiche-comparables-method"),
        html.P(f"Années décrites : {years}. Sources : {' ; '.join(sources)}.", className="source-line",
               id="fiche-comparables-sources"),
    ], id="fiche-comparables")


def series_points(h: pd.DataFrame) -> tuple[pd.DataFrame, str, list[str]]:
    """(points, axis title, left out) of one indicator's series. Figures whose year described is
    known are placed on that year; figures known only by their diffusion vintage cannot be: they
    are left out (and said) when any figure is dated, else the axis is the diffusion vintage."""
    ok = h[h.status == "ok"].sort_values("period")
    dated = ok[ok.period >= 0]
    if len(dated):
        undated = ok[ok.period < 0]
        return dated.assign(x=dated.period.astype(int)), "année décrite", list(undated.year_label)
    return ok.assign(x=ok.year.astype(int)), "millésime de diffusion", []


def _with_gaps(pts: pd.DataFrame) -> tuple[list, list, list, list]:
    """x, y, labels and symbols with a None at every missing year, so the line breaks there."""
    x, y, text, sym = [], [], [], []
    prev = None
    for r in pts.itertuples():
        if prev is not None and r.x - prev > 1:
            x.append(prev + 1)
            y.append(None)
            text.append("")
            sym.append("circle")
        x.append(r.x)
        y.append(r.value)
        geo = geography_text(getattr(r, "geography", None))
        text.append(f"{r.year_label}, géographie {geo}" if geo else r.year_label)
        sym.append("circle-open" if r.perimeter == "perimetre_2015" else "circle")
        prev = r.x
    return x, y, text, sym


def evolution_figure(level: str, code: str, max_indicators: int = 6) -> go.Figure | None:
    """Indicators with at least two distinct figures (a vintage repeating the previous one is
    the same figure: shown once) on an axis of years described, or of diffusion vintages when no
    figure is dated (series_points). A missing year breaks the line; a figure of the 2015
    perimeter is an open circle, and a change of geography (2015 -> 2024 QPVs) a dotted line.
    Rates start at 0, so that a change of two points does not fill the chart."""
    hist = access.value_history(level, code, distinct=True)
    if hist.empty:
        return None
    cat = access.indicators().set_index("indicator_id")
    series = {}
    for i in cat.index:
        pts, axis, left_out = series_points(hist[hist.indicator_id == i])
        if len(pts) > 1:
            series[i] = (pts, axis, left_out)
    multi = list(series)[:max_indicators]
    if not multi:
        return None
    cols = 3 if len(multi) > 2 else len(multi)
    rows = math.ceil(len(multi) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[cat.loc[i].short_label for i in multi],
                        vertical_spacing=0.2)
    left = []
    for n, ind in enumerate(multi):
        pts, axis, left_out = series[ind]
        row, col = n // cols + 1, n % cols + 1
        x, y, text, sym = _with_gaps(pts)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=cat.loc[ind].short_label, connectgaps=False,
                                 marker={"symbol": sym, "size": 9, "color": "#0b5e7e"},
                                 line={"color": "#0b5e7e"}, showlegend=False, customdata=text,
                                 hovertemplate="%{customdata} : %{y:,.1f} " + cat.loc[ind].unit + "<extra></extra>"),
                      row=row, col=col)
        geos = list(pts.geography)
        for a, b, xa, xb in zip(geos, geos[1:], pts.x, pts.x[1:]):
            if a != b:
                fig.add_vline(x=(xa + xb) / 2, line_dash="dot", line_color="#8a3b00", row=row, col=col)
        fig.update_xaxes(title_text=axis, row=row, col=col)
        if cat.loc[ind].unit == "%" and pts.value.min() >= 0:
            fig.update_yaxes(rangemode="tozero", row=row, col=col)
        if left_out:
            left.append((cat.loc[ind].short_label, left_out))
    french_layout(fig, height=270 * rows)
    fig.update_xaxes(dtick=1, tickformat="d")
    fig.update_layout(meta={"left_out": left})
    return fig


def evolution_note(fig: go.Figure | None) -> str:
    """What the evolution chart leaves out and how to read it."""
    text = ("Années décrites en abscisse ; une année sans donnée interrompt la ligne. Cercles vides : valeur sur le "
            "périmètre 2015 du quartier ; pointillé vertical : changement de géographie des quartiers.")
    left = ((fig.layout.meta or {}).get("left_out") if fig is not None else None) or []
    if left:
        labels = sorted({lab for _, labs in left for lab in labs})
        text += (f" Non placées faute d'année décrite connue, pour {', '.join(name for name, _ in left)} : "
                 f"les valeurs connues seulement par leur millésime de diffusion ({labels[0].split()[-1]} à "
                 f"{labels[-1].split()[-1]}) ; voir le tableau." if len(labels) > 1 else
                 f" Non placée faute d'année décrite connue : la valeur du {labels[0]} ; voir le tableau.")
    return text


def evolution_absent_text(level: str, code: str) -> str:
    hist = access.value_history(level, code, distinct=True)
    if hist.empty:
        return "Aucune donnée chiffrée pour ce territoire dans la base chargée : pas d'évolution à montrer."
    return ("Une seule valeur distincte par indicateur (les millésimes repris à l'identique comptent une fois) : "
            "pas d'évolution à montrer.")


def bar_counts(df: pd.DataFrame, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=df.n, y=df.label, orientation="h", marker_color="#0b5e7e",
                           text=df.n, textposition="outside",
                           hovertemplate="%{y} : %{x} actions<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return french_layout(fig, title, height=max(220, 32 * len(df) + 80))


def registry_source_text(reg: dict) -> str:
    if reg["schemes_known"] and reg["actions_known"]:
        return "Actions et dispositifs : registres importés (voir Données)."
    missing = [x for x, known in (("registre des dispositifs", reg["schemes_known"]),
                                  ("liste des actions", reg["actions_known"])) if not known]
    return f"Actions et dispositifs : {' et '.join(missing)} non chargé(s) pour ce territoire (voir Données)."


def locator(level: str, code: str, map_id: str = "fiche-map") -> html.Div | None:
    t = access.territory(level, code)
    if t is None:
        return None
    if level == "qpv":
        within = ("commune", t["commune"]) if t.get("commune") else None
    elif level in ("commune", "epci"):
        within = ("departement", t["departement"]) if t.get("departement") else None
    else:
        within = None
    hideout = {"classes": {code: 0}, "colors": ["#c2410c"], "selected": code,
               "tooltips": {}}
    layer = territory_layer(f"{map_id}-layer", level, within, hideout=hideout)
    b = access.bounds(level, code)
    if b:
        pad = 0.01 if level == "qpv" else 0.05
        b = (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)
    return atlas_map(map_id, [(LEVEL_LABELS.get(level, level), layer, True)], within=within, bounds=b,
                     height="320px")


STATUT_TEXT = {"inchange": "inchangé depuis 2015", "modifie": "contour modifié en 2024",
               "nouveau": "nouveau quartier en 2024", "commune": "quartier d'outre-mer (géographie communale)"}


def lineage_note(code: str) -> html.P | None:
    """Where the figures of a 2024 QPV come from, or why it has none."""
    lin = access.qpv_lineage(code)
    if not lin:
        return None
    preds = ", ".join(f"{n} ({c})" for c, n in lin["predecessors"])
    if lin["conflict"]:
        text = (f"Statut incertain : {lin['conflict']}. Par prudence, le quartier est traité comme modifié : ses "
                "chiffres de la géographie 2015 sont signalés « périmètre 2015 »")
    else:
        text = f"Quartier {STATUT_TEXT.get(lin['statut'], lin['statut'])}"
    if preds:
        text += f" ; quartier(s) 2015 d'origine : {preds}"
    text += "."
    if lin["statut"] == "nouveau":
        text += " Les indicateurs publiés sur la géographie 2015 ne le couvrent pas."
    elif len(lin["predecessors"]) > 1:
        text += (" Il regroupe plusieurs quartiers 2015 : leurs indicateurs ne peuvent pas lui être "
                 "attribués sans recalcul par l'INSEE.")
    return html.P(text, id="fiche-lineage", className="muted" if lin["unchanged"] else "note")


def territory_portrait(level: str, code: str, ci: str = "95", test_ref: str | None = None) -> html.Div:
    """The Fiche's content, memoized per DB version (a layout tree shared read-only by every
    request: fifty people opening the same fiche in a meeting compute it once)."""
    return _portrait((level, code, ci, test_ref))


@memo_view(maxsize=64)
def _portrait(key: tuple) -> html.Div:
    level, code, ci, test_ref = key
    t = access.territory(level, code)
    if t is None:
        return html.Div(html.P(f"Territoire inconnu : {level} {code}.", className="note"), id="fiche-body")
    pars = access.parents(level, code)
    subtitle = " · ".join(f"{LEVEL_LABELS.get(p['level'], p['level'])} : {p['name']}" for p in pars)
    det, notes = determinants_frame(level, code, ci, test_ref)
    evo = evolution_figure(level, code)
    reg = views_portrait.registry_facts(level, code)
    sch = reg["schemes"]
    by_theme = access.action_counts(level, code, "theme")
    by_public = access.action_counts(level, code, "public")
    zoning = access.gp_zoning()
    zone = zoning[zoning.qpv_code == code] if level == "qpv" else zoning.iloc[0:0]
    srcs = det.attrs.get("sources", [])
    ref_commune = access.reference_commune_text(code) if level == "qpv" else None
    table_cols = [c for c in det.columns if c not in ("indicator_id", "value")]
    return html.Div([
        html.H1([t["name"], html.Span(f" — {LEVEL_LABELS.get(level, level)} {code}", className="muted")],
                id="fiche-title"),
        html.P(subtitle, className="lead"),
        html.P(ref_commune + ".", id="fiche-reference-commune", className="muted") if ref_commune else None,
        html.P(views_portrait.population_fact(level, code)["text"], id="fiche-population"),
        lineage_note(code) if level == "qpv" else None,
        html.P(f"Zonage ARS médecins généralistes : {zone.iloc[0].zone} (millésime {zone.iloc[0].millesime})"
               if len(zone) else None),
        html.Div([
            html.Div(locator(level, code), className="fiche-map"),
            html.Div([
                html.H2("Dispositifs de santé"),
                html.Ul([html.Li([html.Strong(f"{r.kind} "), r.name,
                                  html.Span(f" — porteur : {r.porteur}" if r.porteur else "", className="muted")])
                         for r in sch.itertuples()], id="fiche-schemes") if len(sch) else None,
                html.P(reg["schemes_text"], id="fiche-schemes" if not len(sch) else "fiche-schemes-note",
                       className="note" if not reg["schemes_known"] else None) if reg["schemes_text"] else None,
            ]),
        ], className="grid-2"),
        html.H2("Déterminants de santé et références"),
        data_table("fiche-determinants", det[table_cols] if len(det) else det, filename=f"fiche_{code}",
                   meta=[("Titre", f"Déterminants de santé et références — {t['name']}"),
                         ("Territoire", f"{LEVEL_LABELS.get(level, level)} {t['name']} ({code})"),
                         ("Sources", " ; ".join(srcs))],
                   page_size=30) if len(det) else html.P("Aucun indicateur disponible pour ce territoire."),
        html.Div([html.P(n, className="note") for n in notes]),
        comparables_section(code) if level == "qpv" else None,
        html.H2("Évolution", className="page-break"),
        graph("fiche-evolution", evo, source=evolution_note(evo))
        if evo is not None else html.P(evolution_absent_text(level, code), id="fiche-no-evolution"),
        html.H2("Actions de santé"),
        html.P(reg["actions_text"], className="note", id="fiche-actions-unlisted") if reg["actions_text"] else None,
        html.Div([
            graph("fiche-actions-theme", bar_counts(by_theme, "Par axe thématique"))
            if len(by_theme) else html.P("Aucune action localisée ici.", id="fiche-no-actions")
            if reg["actions_known"] else html.Div(),
            graph("fiche-actions-public", bar_counts(by_public, "Par public"))
            if len(by_public) else html.Div(),
        ], className="grid-2"),
        html.H2("Sources et millésimes"),
        html.Ul([html.Li(s) for s in srcs] + [html.Li(registry_source_text(reg))], id="fiche-sources"),
    ], id="fiche-body")
