"""Inégalités: a catalogue indicator mapped on the 2024 QPVs, as values or as gaps to each
QPV's own reference (commune, EPCI, département, région, France), with a legend that counts
QPVs per class, secret and missing values drawn apart, and a sortable table of the same
figures (the accessible alternative to the map).

Map performance: the QPV geometry is fetched once per scope as geobuf (its `url` changes only
with the scope); an indicator, year, class or palette change only sends a new `hideout`.
The whole view is in the URL (see `state_query`), so a shared link restores it.
"""
import math
import re
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import dash
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update
from dash_extensions.javascript import Namespace

from components.geo_routes import layer_url
from components.maps import atlas_map, commune_layer_url, legend, live_style, live_style_ref, territory_layer
from components.scope import LEVEL_LABELS, parse_scope, scope_dropdown, scope_value
from components.search_dropdown import initial_options, option_index, register_search, search_dropdown
from components.tables import data_table, table_ref
from data import access
from data import analysis as an

dash.register_page(__name__, path="/inegalites", name="Inégalités", title="Atlas ASV — Inégalités", order=1)

MAP_ID = "ineg-map"
QPV_LAYER = "ineg-qpv"
BASE_PREFIX = "ineg-base"
TABLE_ID = "ineg-table"
MODES = {"valeur": "Valeur de l'indicateur", "ecart": "Écart à la référence"}
STATUS_TEXT = {"ok": "disponible", "secret": "secret statistique", "missing": "pas de donnée"}
APART_TEXT = {"secret": "hors classes : secret statistique", "missing": "hors classes : pas de donnée",
              "noref": "hors classes : référence non disponible"}
_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")


# --- State (URL <-> view) -------------------------------------------------------------------

@dataclass(frozen=True)
class ViewState:
    indicator: str | None = None
    year: int | None = None
    method: str = "quantiles"
    k: int = 5
    palette: str | None = None
    breaks: str = ""
    mode: str = "valeur"
    ref: str = "commune"
    gap: str = "ratio"
    scope: str = "france"
    qpv: str | None = None
    view: str | None = None          # "lat,lon,zoom"


def qpv_indicators() -> pd.DataFrame:
    """Catalogue indicators that have values on QPVs."""
    ind = access.indicators()
    has_qpv = ind["levels"].map(lambda lv: not isinstance(lv, (str, type(None))) and not pd.api.types.is_scalar(lv)
                                and "qpv" in list(lv))
    return ind[has_qpv].reset_index(drop=True)


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def parse_view(text) -> tuple[float, float, float] | None:
    try:
        lat, lon, zoom = (float(x) for x in str(text).split(","))
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= zoom <= 20):
        return None
    return lat, lon, zoom


def parse_state(query: dict | None = None, catalogue: pd.DataFrame | None = None) -> ViewState:
    """A valid ViewState from URL query parameters (anything invalid falls back to a default)."""
    q = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    cat = qpv_indicators() if catalogue is None else catalogue
    ids = list(cat.indicator_id)
    indicator = q.get("indicator") if q.get("indicator") in ids else (
        "taux_pauvrete_60" if "taux_pauvrete_60" in ids else (ids[0] if ids else None))
    years = access.indicator_years(indicator, "qpv") if indicator else []
    year = _int(q.get("year"))
    year = year if year in years else (years[-1] if years else None)
    mode = q.get("mode") if q.get("mode") in MODES else "valeur"
    method = q.get("method") if q.get("method") in an.METHODS else "quantiles"
    k = min(7, max(3, _int(q.get("k"), 5)))
    high_is_bad = _high_is_bad(cat, indicator)
    palette = q.get("palette")
    if palette not in an.palettes_for(mode):
        palette = default_palette(mode, high_is_bad)
    ref = q.get("ref") if q.get("ref") in an.REFERENCE_LEVELS else "commune"
    gap = q.get("gap") if q.get("gap") in an.GAP_TYPES else "ratio"
    scope = scope_value(parse_scope(q.get("scope")))
    qpv = q.get("qpv") if q.get("qpv") and _CODE_RE.match(str(q.get("qpv"))) else None
    view = q.get("view") if parse_view(q.get("view")) else None
    breaks = str(q.get("breaks", ""))[:200]
    return ViewState(indicator, year, method, k, palette, breaks, mode, ref, gap, scope, qpv, view)


def state_query(st: ViewState) -> str:
    """The URL query string of a view (what a shared link restores)."""
    params = {"indicator": st.indicator, "year": st.year, "mode": st.mode, "ref": st.ref, "gap": st.gap,
              "method": st.method, "k": st.k, "palette": st.palette,
              "breaks": st.breaks if st.method == "manual" else None,
              "scope": st.scope, "qpv": st.qpv, "view": st.view}
    return "?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def default_palette(mode: str, high_is_bad) -> str:
    return "PuOr" if mode == "ecart" else an.default_palette(high_is_bad)


def _high_is_bad(cat: pd.DataFrame, indicator: str | None):
    row = cat[cat.indicator_id == indicator]
    if row.empty:
        return None
    v = row.iloc[0]["high_is_bad"]
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) else bool(v)


def _view_param(center, zoom) -> str | None:
    """Map view for the URL from dl.Map center ({lat, lng} or [lat, lng]) and zoom."""
    if center is None or zoom is None:
        return None
    if isinstance(center, dict):
        lat, lon = center.get("lat"), center.get("lng", center.get("lon"))
    else:
        lat, lon = center[0], center[1]
    try:
        return f"{float(lat):.5f},{float(lon):.5f},{float(zoom):g}"
    except (TypeError, ValueError):
        return None


# --- Figures --------------------------------------------------------------------------------

def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (not isinstance(v, str) and pd.isna(v))


def figures(st: ViewState) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per 2024 QPV in scope: its value, its reference (chosen level) and the gap;
    and the reference territories' rows. (Not kept in df.attrs: pandas deep-copies attrs
    into every frame derived from df.)"""
    scope = parse_scope(st.scope)
    vals = access.values(st.indicator, "qpv", scope, st.year)
    qpvs = access.territories("qpv", scope)
    france = list(access.territories("france").code)
    ref_of = an.reference_codes(qpvs, st.ref, france)
    refs = access.reference_values_at(st.indicator, st.ref, sorted({c for c in ref_of.values() if c}), st.year)
    df = an.gap_frame(vals, ref_of, refs, st.gap, access.territory_names(st.ref))
    df["communes"] = df.code.map(access.qpv_commune_names(list(df.code)) if len(df) else {}).fillna("")
    return df, refs


def display_status(df: pd.DataFrame, mode: str) -> pd.Series:
    """'ok', 'secret', 'missing' or 'noref' (écart mode only) for each QPV."""
    if mode == "ecart":
        return df["gap_status"]
    return df["status"].where(df["status"].isin(["ok", "secret"]), "missing")


def _manual_breaks(st: ViewState):
    """(breaks, message): the typed manual breaks, or None and why they are not used."""
    try:
        breaks = an.parse_breaks(st.breaks)
        if not breaks:
            raise ValueError("aucun seuil saisi")
        if len(breaks) > 6:
            raise ValueError("6 seuils au plus, soit 7 classes")
        return breaks, None
    except ValueError as exc:
        return None, str(exc)


def classification(st: ViewState, df: pd.DataFrame):
    """(Classification or None, sides or None, message or None). In écart mode classes are
    centred on parity (an.gap_classes) and `sides` tells which side of parity each class is.
    Manual breaks that cannot be read fall back to quantiles, with a message."""
    breaks, message = (None, None)
    if st.method == "manual":
        breaks, why = _manual_breaks(st)
        if breaks is None:
            message = f"Seuils manuels non utilisés ({why}) : classes par quantiles."
    if st.mode == "ecart":
        method = st.method if breaks is not None or st.method != "manual" else "quantiles"
        gc = an.gap_classes(df.code, df.gap, st.gap, st.k, method, breaks)
        if gc is None:
            return None, None, message
        return gc.classification, gc.sides, gc.message or message
    vals = pd.to_numeric(df.value, errors="coerce").where(df.status.eq("ok"))
    method = st.method if breaks is not None or st.method != "manual" else "quantiles"
    return an.classify(df.code, vals, method, st.k, breaks), None, message


def _decimals(ind: dict) -> int:
    d = ind.get("decimals")
    return 1 if _nan(d) else int(d)


def units(st: ViewState, ind: dict) -> tuple[str, int]:
    """(unit, decimals) of what is mapped."""
    if st.mode == "ecart":
        if st.gap == "ratio":
            return "", 2
        return ("pts" if ind["unit"] == "%" else ind["unit"]), _decimals(ind)
    return ind["unit"], _decimals(ind)


def compute_view(st: ViewState) -> dict:
    """Everything the map, legend, table and notes show for a state."""
    ind = access.indicator(st.indicator)
    df, refs = figures(st)
    status = display_status(df, st.mode)
    cls, sides, message = classification(st, df)
    high_is_bad = ind.get("high_is_bad")
    high_is_bad = None if _nan(high_is_bad) else bool(high_is_bad)
    pal = st.palette if st.palette in an.palettes_for(st.mode) else default_palette(st.mode, high_is_bad)
    if not cls:
        colors = []
    elif sides is not None:
        colors = an.diverging_colors(pal, sides, high_is_bad)
    else:
        colors = an.palette(pal, cls.k, high_is_bad)
    unit, decimals = units(st, ind)
    labels = an.class_labels(cls, decimals, unit) if cls else []
    ref_label_lvl = an.REFERENCE_LEVELS[st.ref]
    decimals_ind = _decimals(ind)

    tooltips = {}
    for r in df.astype(object).itertuples(index=False):     # object: fast row access
        ref_label = f"{ref_label_lvl} {r.ref_name}" if isinstance(r.ref_name, str) else ref_label_lvl
        tooltips[r.code] = an.tooltip_lines(
            ind["short_label"] or ind["label"], r.year if not _nan(r.year) else None, r.value, r.status,
            ind["unit"], decimals_ind, ref_label, r.ref_value, r.ref_status, r.ref_year, r.gap, r.gap_status,
            st.gap, r.perimeter)
    classes = cls.classes if cls else {}
    apart = {c: ("secret" if s == "secret" else "missing") for c, s in zip(df.code, status) if s != "ok"}
    hideout = an.choropleth_hideout(classes, colors, apart, tooltips, st.qpv)
    return {"indicator": ind, "frame": df, "refs": refs, "status": status, "classification": cls, "colors": colors,
            "labels": labels, "hideout": hideout, "message": message, "palette": pal,
            "unit": unit, "decimals": decimals, "ref_levels": reference_levels_with_values(st.indicator)}


def reference_levels_with_values(indicator: str) -> list[str]:
    """Reference levels (commune ... France) that have values of the indicator."""
    cat = access.indicators()
    row = cat[cat.indicator_id == indicator]
    if row.empty:
        return []
    lv = row.iloc[0]["levels"]
    lv = [] if lv is None or pd.api.types.is_scalar(lv) else list(lv)
    return [level for level in an.REFERENCE_LEVELS if level in lv]


def legend_block(st: ViewState, v: dict) -> html.Div:
    ind, cls = v["indicator"], v["classification"]
    items = []
    if cls:
        for color, label, n in zip(v["colors"], v["labels"], cls.counts):
            items.append((color, label, f"{n} QPV"))
    counts = v["status"].value_counts().to_dict()
    if counts.get("secret"):
        items.append(("secret", "Secret statistique (non diffusé)", f"{counts['secret']} QPV"))
    if counts.get("missing"):
        items.append(("missing", "Pas de donnée", f"{counts['missing']} QPV"))
    if counts.get("noref"):
        items.append(("missing", "Écart non calculable : référence secrète ou absente", f"{counts['noref']} QPV"))
    year = f" ({st.year})" if st.year else ""
    if st.mode == "ecart":
        kind = "rapport" if st.gap == "ratio" else "différence"
        title = f"{ind['short_label']}{year} : écart à la référence « {an.REFERENCE_LEVELS[st.ref]} » ({kind})"
        centre = ("1 = même niveau que la référence ; 1,5 = une fois et demie la référence."
                  if st.gap == "ratio" else "0 = même niveau que la référence.")
        method = st.method if not v["message"] else "quantiles"
        note = [centre, f"Classes : {an.GAP_METHODS[method]}.", _direction_text(ind, gap=True)]
    else:
        title = f"{ind['short_label']}{year} ({ind['unit']})"
        method = st.method if not v["message"] else "quantiles"
        note = [f"Classes : {an.METHODS[method].lower()}.", _direction_text(ind)]
    if counts.get("secret") or counts.get("missing") or counts.get("noref"):
        note.append("Les quartiers hachurés (secret) ou en blanc pointillé (sans donnée) ne sont dans "
                    "aucune classe : leur valeur n'est pas connue, elle n'est jamais comptée comme 0.")
    if not cls:
        note.append("Aucune valeur disponible pour ce choix : aucune classe.")
    return legend(items, title, " ".join(n for n in note if n), legend_id="ineg-legend-box")


def _direction_text(ind: dict, gap: bool = False) -> str:
    hib = ind.get("high_is_bad")
    if _nan(hib):
        return "Indicateur sans sens favorable ou défavorable."
    if gap:
        return ("Teintes chaudes : quartier en situation moins favorable que sa référence (valeur plus élevée)."
                if hib else
                "Teintes chaudes : quartier en situation moins favorable que sa référence (valeur plus faible).")
    return ("Couleurs les plus foncées : situation la plus défavorable (valeur élevée)." if hib else
            "Couleurs les plus foncées : situation la plus défavorable (valeur faible).")


def table_columns(st: ViewState, v: dict) -> list[dict]:
    ind = v["indicator"]
    d = _decimals(ind)
    gap_unit = "" if st.gap == "ratio" else (" (pts)" if ind["unit"] == "%" else f" ({ind['unit']})")
    return [
        {"name": "Quartier (QPV)", "id": "name"},
        {"name": "Code", "id": "code"},
        {"name": "Commune(s)", "id": "communes"},
        _num(f"{ind['short_label']} ({ind['unit']})", "value", d),
        {"name": "Statut", "id": "statut"},
        {"name": "Année", "id": "year", "type": "numeric", "sort_as_null": [""]},
        {"name": f"Référence ({an.REFERENCE_LEVELS[st.ref]})", "id": "ref_name"},
        _num("Valeur de référence", "ref_value", d),
        _num(("Écart (rapport)" if st.gap == "ratio" else "Écart (différence)") + gap_unit, "gap",
             2 if st.gap == "ratio" else d),
        {"name": "Classe sur la carte", "id": "classe"},
        {"name": "Périmètre", "id": "perimetre"},
    ]


def _num(name: str, col: str, decimals: int) -> dict:
    return {"name": name, "id": col, "type": "numeric", "sort_as_null": ["secret", "n.d."],
            "format": {"locale": {"decimal": ",", "group": "\u202f", "separate_4digits": True},
                       "specifier": f",.{decimals}f"}}


def table_records(st: ViewState, v: dict) -> list[dict]:
    df, labels = v["frame"], v["labels"]
    classes = v["classification"].classes if v["classification"] else {}
    out = []
    for r, s in zip(df.astype(object).itertuples(index=False), v["status"]):
        cell = float(r.value) if r.status == "ok" and not _nan(r.value) else ("secret" if r.status == "secret" else "n.d.")
        ref = float(r.ref_value) if r.ref_status == "ok" and not _nan(r.ref_value) else (
            "secret" if r.ref_status == "secret" else "n.d.")
        g = float(r.gap) if r.gap_status == "ok" else "n.d."
        cls = classes.get(r.code)
        classe = f"{cls + 1} : {labels[cls]}" if cls is not None and s == "ok" else APART_TEXT.get(s, "")
        out.append({
            "id": r.code, "name": r.name, "code": r.code, "communes": r.communes, "value": cell,
            "statut": STATUS_TEXT.get(r.status, r.status),
            "year": "" if _nan(r.year) else int(r.year),
            "ref_name": r.ref_name if isinstance(r.ref_name, str) else "n.d.", "ref_value": ref, "gap": g,
            "classe": classe,
            "perimetre": perimeter_text(r.perimeter, r.geography),
        })
    return out


def perimeter_text(perimeter, geography) -> str:
    if perimeter == "perimetre_2015":
        return "2015 (quartier modifié en 2024)"
    if isinstance(geography, str) and geography == "QPV2015":
        return "2015 (inchangé en 2024)"
    if isinstance(geography, str) and geography not in ("QPV2024", ""):
        return geography
    return "2024"


def notes(st: ViewState, v: dict) -> list:
    df = v["frame"]
    out = []
    if v["message"]:
        out.append(html.P(v["message"], className="note", id="ineg-breaks-note"))
    known = df[df.status.isin(["ok", "secret"])]
    p2015 = known[known.perimeter.eq("perimetre_2015")]
    if len(p2015):
        names = ", ".join(p2015.name.head(8)) + (" …" if len(p2015) > 8 else "")
        out.append(html.P([html.Strong("Périmètre 2015 : "),
                           f"pour {len(p2015)} quartier(s) ({names}), la valeur a été calculée sur le "
                           "périmètre 2015 du quartier, modifié en 2024 : elle décrit un territoire un peu "
                           "différent du quartier actuel. Colonne « Périmètre » du tableau."],
                          className="note", id="ineg-perimeter-note"))
    same = known[known.perimeter.eq("exact") & known.geography.notna() & known.geography.ne("QPV2024")]
    if len(same):
        geos = ", ".join(sorted(set(same.geography)))
        out.append(html.P([html.Strong("Autre géographie : "),
                           f"pour {len(same)} quartier(s), la valeur a été publiée sur la géographie {geos} ; "
                           "leur périmètre n'a pas changé en 2024."],
                          className="note", id="ineg-geography-note"))
    refs = v["refs"]
    if refs is None or refs.empty:
        avail = [an.REFERENCE_LEVELS[x] for x in v.get("ref_levels", [])]
        out.append(html.P([html.Strong("Référence : "),
                           f"aucune valeur de cet indicateur à l'échelle « {an.REFERENCE_LEVELS[st.ref]} » ; "
                           + (f"niveaux disponibles : {', '.join(avail)}." if avail else
                              "cet indicateur n'a de valeur de référence à aucune échelle, l'écart ne peut "
                              "pas être calculé.")],
                          className="note", id="ineg-reference-note"))
    if st.ref == "commune" and (df.communes.str.contains(" ; ")).any():
        out.append(html.P("Un quartier qui s'étend sur plusieurs communes est comparé à sa commune principale.",
                          className="muted"))
    return out


def source_line(st: ViewState, v: dict) -> list:
    df = v["frame"]
    known = df[df.status.isin(["ok", "secret"])]
    parts = []
    srcs = known[["source_title", "publisher", "vintage", "geography"]].drop_duplicates()
    if len(srcs):
        parts.append("Source : " + " ; ".join(
            f"{r.source_title} ({r.publisher}), millésime {r.vintage or 'n.d.'}, géographie {r.geography}"
            for r in srcs.itertuples(index=False)) + ".")
    else:
        parts.append("Source : aucune valeur pour ce choix.")
    refs = v["refs"]
    if refs is not None and len(refs):
        rs = refs[["source_title", "publisher", "vintage"]].drop_duplicates()
        years = sorted({int(y) for y in refs.year.dropna()})
        parts.append(f"Référence ({an.REFERENCE_LEVELS[st.ref]}) : " + " ; ".join(
            f"{r.source_title} ({r.publisher}), millésime {r.vintage or 'n.d.'}" for r in rs.itertuples(index=False))
            + f", année(s) {', '.join(map(str, years))}.")
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
    d, unit = _decimals(ind), ind["unit"]
    own = access.values(st.indicator, "qpv", None, st.year)
    own = own[own.code == code]
    r = own.iloc[0] if len(own) else None
    status = r.status if r is not None else "missing"
    value = r.value if r is not None else None
    communes = access.qpv_communes([code])
    rows = []
    for level, ref_code in access.reference_chain("qpv", code):
        ref = access.reference_values_at(st.indicator, level, [ref_code], st.year)
        rr = ref.iloc[0] if len(ref) else None
        rstat = rr.status if rr is not None else "missing"
        rval = rr.value if rr is not None else None
        g = an.gap([value if status == "ok" else float("nan")], [rval if rstat == "ok" else float("nan")], st.gap)[0]
        name = rr["name"] if rr is not None else (access.territory(level, ref_code) or {}).get("name", ref_code)
        rows.append(html.Tr([
            html.Td(f"{LEVEL_LABELS.get(level, level)} — {name}"),
            html.Td([an.fmt_status(rval, rstat, d, unit)]
                    + ([html.Span(f"({int(rr.year)})", className="ref-year")] if rr is not None else []),
                    className="num"),
            html.Td(an.fmt_gap(g, st.gap, d, unit), className="num"),
        ]))
    val_text = an.fmt_status(value, status, d, unit)
    year = "" if r is None or _nan(r.year) else f" ({int(r.year)})"
    out = [
        html.H3(t["name"], id="ineg-panel-title"),
        html.P([f"QPV {code}", " · ", "commune(s) : ",
                " ; ".join(n for n in communes.commune_name if isinstance(n, str)) or "n.d."], className="muted"),
        html.P([html.Strong(f"{ind['short_label']}{year} : "), html.Span(val_text, id="ineg-panel-value")]
               + ([" ", html.Span("(secret statistique : valeur non diffusée)", className="muted")]
                  if status == "secret" else [])),
    ]
    if r is not None and r.perimeter == "perimetre_2015":
        out.append(html.P("Valeur calculée sur le périmètre 2015 du quartier (modifié en 2024).", className="note"))
    out.append(html.Table([
        html.Thead(html.Tr([html.Th("Référence"), html.Th("Valeur (année)", className="num"),
                            html.Th("Écart" + (" (rapport)" if st.gap == "ratio" else " (différence)"),
                                    className="num")])),
        html.Tbody(rows)], className="simple", id="ineg-panel-table"))
    if r is not None and isinstance(r.source_title, str):
        out.append(html.P(f"Source : {r.source_title} ({r.publisher}), millésime {r.vintage or 'n.d.'}.",
                          className="source-line"))
    out.append(html.P(dcc.Link("Ouvrir la fiche du quartier", href=f"/fiche?{urlencode({'level': 'qpv', 'code': code})}",
                               id="ineg-fiche-link", className="btn")))
    return out


# --- Layout ---------------------------------------------------------------------------------

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
    for name in an.palettes_for(mode):
        cols = an.palette(name, 5, high_is_bad)
        opts.append({"label": html.Span([html.Span(className="pal-swatch", style={"background": c}) for c in cols]
                                        + [html.Span(an.PALETTE_LABELS.get(name, name), className="pal-name")]),
                     "value": name, "search": an.PALETTE_LABELS.get(name, name)})
    return opts


def reference_options(indicator: str | None) -> list[dict]:
    """Reference levels; those without any value of the indicator say so."""
    avail = reference_levels_with_values(indicator) if indicator else []
    out = []
    for k, v in an.REFERENCE_LEVELS.items():
        label = f"Sa {v}" if k in ("commune", "region") else f"Son {v}" if k in ("epci", "departement") else v
        out.append({"label": label if k in avail else f"{label} (pas de valeur)", "value": k})
    return out


def indicator_options(cat: pd.DataFrame) -> list[dict]:
    return [{"label": f"{r.family.capitalize()} — {r.label}", "value": r.indicator_id}
            for r in cat.itertuples(index=False)]


def year_options(indicator: str | None) -> list[dict]:
    return [{"label": str(y), "value": y} for y in (access.indicator_years(indicator, "qpv") if indicator else [])]


def qpv_options(scope) -> list[dict]:
    df = access.territories("qpv", scope)
    return [{"label": f"{n} ({c})", "value": c} for c, n in zip(df.code, df.name)]


def qpv_pick_options(scope_val) -> list[dict]:
    """Every option of the QPV picker: the QPVs of the scope picker's value."""
    return qpv_options(parse_scope(scope_val))


# The QPV picker lists up to 1,600 QPVs at national scale: searched on the server.
register_search("ineg-qpv-pick", qpv_pick_options, State("ineg-scope", "value"))


def scope_bounds(scope) -> tuple | None:
    if scope:
        return access.bounds(*scope)
    for level in ("qpv", "departement"):
        box = access.extent(level)
        if box:
            return box
    return None


def _find(component, cid: str):
    if getattr(component, "id", None) == cid:
        return component
    kids = getattr(component, "children", None)
    for k in (kids if isinstance(kids, (list, tuple)) else [kids]):
        if hasattr(k, "to_plotly_json"):
            found = _find(k, cid)
            if found is not None:
                return found
    return None


def _fix_view(m, view: str | None) -> None:
    """Initial view: the URL's center/zoom when given (else atlas_map fits the scope's bounds)."""
    parsed = parse_view(view)
    if parsed:
        m.center, m.zoom = [parsed[0], parsed[1]], parsed[2]
        if getattr(m, "bounds", None) is not None:
            del m.bounds


def controls(st: ViewState, cat: pd.DataFrame) -> html.Div:
    hib = _high_is_bad(cat, st.indicator)
    gap_cls = "control-group" + ("" if st.mode == "ecart" else " is-secondary")
    return html.Div([
        html.Div([
            scope_dropdown("ineg-scope", st.scope),
            _dropdown("ineg-indicator", "Indicateur", indicator_options(cat), st.indicator,
                      style={"minWidth": "380px"}),
            _dropdown("ineg-year", "Année", year_options(st.indicator), st.year, style={"minWidth": "110px"}),
        ], className="control-row"),
        html.Div([
            _radio("ineg-mode", "Afficher", MODES, st.mode),
            html.Div([
                _dropdown("ineg-ref", "Référence de chaque quartier", reference_options(st.indicator), st.ref),
                _radio("ineg-gap", "Écart calculé en", an.GAP_TYPES, st.gap),
            ], className=gap_cls, id="ineg-gap-controls"),
        ], className="control-row"),
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
        ], className="control-row"),
    ], className="controls ineg-controls")


def layout(**query):
    try:
        access.meta()
    except FileNotFoundError as exc:
        return html.Div([html.H1("Inégalités entre quartiers"), html.P(str(exc), className="note")])
    cat = qpv_indicators()
    if cat.empty:
        return html.Div([html.H1("Inégalités entre quartiers"),
                         html.P("Aucun indicateur n'a de valeur à l'échelle des quartiers dans la base chargée.",
                                className="note")])
    st = parse_state(query, cat)
    scope = parse_scope(st.scope)
    pick_index = option_index(qpv_pick_options, scope_value(scope))
    if st.qpv not in pick_index:
        st = replace(st, qpv=None)
    v = compute_view(st)
    bounds = scope_bounds(scope)
    qpv_layer = territory_layer(QPV_LAYER, "qpv", scope, hideout=v["hideout"])
    qpv_layer.onEachFeature = Namespace("atlas", "qpvmap")("onEachFeature")
    m = atlas_map(MAP_ID, [("Quartiers prioritaires (2024)", qpv_layer, True)], within=scope, bounds=bounds,
                  height="560px", base_prefix=BASE_PREFIX)
    _fix_view(m, st.view)
    communes = _find(m, f"{BASE_PREFIX}-communes")
    if communes is not None:
        communes.url = commune_layer_url(scope)
    return html.Div([
        html.H1("Inégalités entre quartiers prioritaires"),
        html.P("Chaque quartier prioritaire (géographie 2024) est coloré selon la valeur d'un indicateur, ou "
               "selon son écart à sa propre commune, son EPCI, son département, sa région ou la France. "
               "Le tableau sous la carte donne les mêmes chiffres.", className="lead"),
        controls(st, cat),
        html.Div(notes(st, v), id="ineg-notes", **{"aria-live": "polite"}),
        html.Div([
            html.Div([
                live_style(QPV_LAYER),
                html.Div(m, className="map-frame", role="region",
                         **{"aria-label": "Carte des quartiers prioritaires (le tableau ci-dessous en donne les "
                                          "mêmes chiffres)"}),
                html.P(source_line(st, v), className="source-line", id="ineg-source"),
            ], className="ineg-map-col"),
            html.Aside([
                html.Div(legend_block(st, v), id="ineg-legend"),
                html.Div([
                    html.H2("Quartier sélectionné", className="panel-heading"),
                    html.Div([html.Label("Choisir un quartier", htmlFor="ineg-qpv-pick"),
                              search_dropdown("ineg-qpv-pick", st.qpv, pick_index, clearable=True,
                                           placeholder="Rechercher un quartier…")], className="control"),
                    html.Div(panel(st, st.qpv), id="ineg-panel", **{"aria-live": "polite"}),
                ], className="ineg-panel"),
            ], className="ineg-side"),
        ], className="ineg-grid"),
        html.H2("Tableau des quartiers", id="ineg-table-title"),
        html.P("Cliquez sur une ligne pour sélectionner le quartier sur la carte. Les valeurs secrètes ou "
               "absentes sont écrites en toutes lettres et restent en fin de tri.", className="muted"),
        data_table(TABLE_ID, pd.DataFrame(table_records(st, v)), table_columns(st, v), page_size=15,
                   filename="inegalites_qpv", style_data_conditional=_selected_style(st.qpv)),
    ], className="page-inegalites")


def _selected_style(code: str | None) -> list[dict]:
    if not code or not _CODE_RE.match(code):
        return []
    return [{"if": {"filter_query": f'{{id}} = "{code}"'}, "backgroundColor": "#fff4d6", "fontWeight": "700"}]


# --- Callbacks ------------------------------------------------------------------------------

CONTROL_INPUTS = [Input("ineg-indicator", "value"), Input("ineg-year", "value"), Input("ineg-mode", "value"),
                  Input("ineg-ref", "value"), Input("ineg-gap", "value"), Input("ineg-method", "value"),
                  Input("ineg-k", "value"), Input("ineg-breaks", "value"), Input("ineg-palette", "value"),
                  Input("ineg-scope", "value")]


def _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, qpv=None, view=None) -> ViewState:
    return parse_state({"indicator": indicator, "year": year, "mode": mode, "ref": ref, "gap": gap,
                        "method": method, "k": k, "breaks": breaks, "palette": palette, "scope": scope,
                        "qpv": qpv, "view": view})


@callback(Output(QPV_LAYER, "url"), Output(f"{BASE_PREFIX}-communes", "url"), Output(MAP_ID, "viewport"),
          Output("ineg-qpv-pick", "options"), Output("ineg-qpv-pick", "value", allow_duplicate=True),
          Input("ineg-scope", "value"), State("ineg-qpv-pick", "value"), prevent_initial_call=True)
def on_scope(scope_val, picked):
    """Only a scope change fetches geometry again (one geobuf per scope)."""
    scope = parse_scope(scope_val)
    b = scope_bounds(scope)
    viewport = {"bounds": [[b[1], b[0]], [b[3], b[2]]], "transition": "fitBounds"} if b else no_update
    index = option_index(qpv_pick_options, scope_val)
    keep = picked if picked in index else None
    return layer_url("qpv", scope), commune_layer_url(scope), viewport, initial_options(index, keep), keep


def next_year(indicator, year, previous_options):
    """Year shown after an indicator change: its latest year, unless an earlier year was
    chosen and the new indicator has it too."""
    opts = year_options(indicator)
    years = [o["value"] for o in opts]
    previous = [o["value"] for o in previous_options or []]
    was_latest = not previous or year == max(previous)
    keep = year in years and not was_latest
    return opts, (year if keep else (years[-1] if years else None))


@callback(Output(live_style_ref(QPV_LAYER), "data"), Output("ineg-legend", "children"),
          Output(table_ref(TABLE_ID), "data"), Output(table_ref(TABLE_ID), "columns"),
          Output("ineg-notes", "children"), Output("ineg-source", "children"),
          Output("ineg-year", "options"), Output("ineg-year", "value"), Output("ineg-ref", "options"),
          Output("ineg-palette", "options"), Output("ineg-palette", "value"),
          Output("ineg-breaks", "disabled"), Output("ineg-gap-controls", "className"),
          *CONTROL_INPUTS, State("ineg-qpv-pick", "value"), State("ineg-year", "options"),
          prevent_initial_call=True)
def restyle(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, year_opts):
    return restyle_outputs(ctx.triggered_id, indicator, year, mode, ref, gap, method, k, breaks, palette, scope,
                           picked, year_opts)


def restyle_outputs(trig, indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked=None,
                    year_opts=None):
    """A control changed (`trig`: its id): new style data (restyled in place in the browser,
    no geometry sent), legend, table, notes; and, in the same round trip, the controls that
    follow the indicator (years, reference levels) and the mode (palettes, manual breaks,
    gap options)."""
    years_out = year_value = refs_out = pal_opts = no_update
    if trig == "ineg-indicator":
        years_out, year = next_year(indicator, year, year_opts)
        year_value, refs_out = year, reference_options(indicator)
    if trig in ("ineg-indicator", "ineg-mode"):
        pal_opts = palette_options(mode, _high_is_bad(qpv_indicators(), indicator))
    st = _state(indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked)
    v = compute_view(st)
    pal_value = st.palette if st.palette != palette else no_update
    return (v["hideout"], legend_block(st, v), table_records(st, v), table_columns(st, v), notes(st, v),
            source_line(st, v), years_out, year_value, refs_out, pal_opts, pal_value,
            method != "manual", "control-group" + ("" if mode == "ecart" else " is-secondary"))


clientside_callback(
    """function (feature) {
        if (!feature || !feature.properties || !feature.properties.code) {
            return window.dash_clientside.no_update;
        }
        return feature.properties.code;
    }""",
    Output("ineg-qpv-pick", "value", allow_duplicate=True), Input(QPV_LAYER, "clickData"),
    prevent_initial_call=True)


@callback(Output("ineg-qpv-pick", "value", allow_duplicate=True),
          Input(table_ref(TABLE_ID), "active_cell"), prevent_initial_call=True)
def pick_from_table(cell):
    if not cell or not cell.get("row_id"):
        return no_update
    return cell["row_id"]


# Selection runs in the browser (the table's rows stay there): only the style's `selected` key
# changes (the QPV is outlined in place), its table row is highlighted (as _selected_style) and
# the table turns to the page that holds it, as currently sorted.
clientside_callback(
    """function (code, rows, pageSize) {
        const ok = typeof code === "string" && /^[A-Za-z0-9_.-]{1,20}$/.test(code);
        const sel = ok ? code : null;
        const style = ok ? [{"if": {"filter_query": '{id} = "' + code + '"'},
                             "backgroundColor": "#fff4d6", "fontWeight": "700"}] : [];
        const ids = (rows || []).map(function (r) { return r.id; });
        const i = ok ? ids.indexOf(code) : -1;
        const page = i >= 0 ? Math.floor(i / (pageSize || 15)) : window.dash_clientside.no_update;
        return [{selected: sel}, style, page];
    }""",
    Output(live_style_ref(QPV_LAYER), "data", allow_duplicate=True),
    Output(table_ref(TABLE_ID), "style_data_conditional"),
    Output(table_ref(TABLE_ID), "page_current"),
    Input("ineg-qpv-pick", "value"),
    State(table_ref(TABLE_ID), "derived_virtual_data"), State(table_ref(TABLE_ID), "page_size"),
    prevent_initial_call=True)


@callback(Output("ineg-panel", "children"),
          Input("ineg-qpv-pick", "value"), Input("ineg-indicator", "value"), Input("ineg-year", "value"),
          Input("ineg-gap", "value"), prevent_initial_call=True)
def show_panel(code, indicator, year, gap):
    st = _state(indicator, year, "valeur", "commune", gap, "quantiles", 5, "", None, "france")
    return panel(st, code if code and _CODE_RE.match(code) else None)


# The URL follows the view in the browser (map moves fire often: no server round trip). Same
# parameters, order and encoding as state_query; an unchanged URL is not written again.
clientside_callback(
    """function (indicator, year, mode, ref, gap, method, k, breaks, palette, scope, picked, center, zoom) {
        const p = new URLSearchParams();
        const add = function (key, v) { if (v !== null && v !== undefined && v !== "") { p.append(key, String(v)); } };
        add("indicator", indicator); add("year", year); add("mode", mode); add("ref", ref); add("gap", gap);
        add("method", method); add("k", k); add("palette", palette);
        if (method === "manual") { add("breaks", breaks); }
        add("scope", scope); add("qpv", picked);
        if (center && zoom !== null && zoom !== undefined) {
            const lat = Array.isArray(center) ? center[0] : center.lat;
            const lng = Array.isArray(center) ? center[1] : (center.lng !== undefined ? center.lng : center.lon);
            if (isFinite(lat) && isFinite(lng) && isFinite(zoom)) {
                add("view", Number(lat).toFixed(5) + "," + Number(lng).toFixed(5) + "," + String(Number(zoom)));
            }
        }
        const q = "?" + p.toString();
        return q === window.location.search ? window.dash_clientside.no_update : q;
    }""",
    Output("url-state", "search", allow_duplicate=True),
    *CONTROL_INPUTS, Input("ineg-qpv-pick", "value"), Input(MAP_ID, "center"), Input(MAP_ID, "zoom"),
    prevent_initial_call=True)
