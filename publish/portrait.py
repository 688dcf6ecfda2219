"""Portrait de territoire: a standalone HTML document (inline CSS and SVG, no script, no
network) about a QPV, a commune, an EPCI or an ASV, meant as the base of a shared health
diagnosis: key points, determinants against references, coverage by local schemes,
actions by theme and public, sources and vintages. Rendered to PDF by headless Chromium
(publish.render) for `python -m etl portrait` and the Fiche page's button, and written as the
fiches of the offline bundle (publish.export_site).

Every text from the data is escaped (html.escape); a secret or missing value is written
"secret" / "n.d.", never 0.
"""
from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from html import escape

import pandas as pd

from data import access
from data import analysis as an
from data.views import comparables
from data.views import portrait as views_portrait
from publish import svgmap

LEVELS = {"qpv": "Quartier prioritaire", "commune": "Commune", "epci": "EPCI", "asv": "Atelier santé ville"}
REF_LABELS = access.REFERENCE_HEADERS
KEY_INDICATORS = 6


class PortraitError(Exception):
    """Unknown level or territory (French message)."""



def _french_spaces(text: str) -> str:
    """No line break before ":", ";" or "%" in print (French typography: a no-break space)."""
    text = text.replace("IC ", "IC\u00a0")
    for mark in (" :", " ;", " %"):
        text = text.replace(mark, "\u00a0" + mark[1:])
    return text

def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (not isinstance(v, (str, list)) and pd.isna(v))


def _e(v) -> str:
    return "" if _nan(v) else escape(str(v))


# --- Data -----------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _catalogue(ver) -> pd.DataFrame:
    return access.indicators().set_index("indicator_id")


def catalogue() -> pd.DataFrame:
    """The indicator catalogue, indexed by id (cached per DB version)."""
    return _catalogue(access.version())


situation = views_portrait.situation     # (kept as this module's name: tests and callers use it)


def territory_actions(level: str, code: str, t: dict | None = None) -> pd.DataFrame:
    if level == "qpv":
        within = ("commune", t["commune"]) if t and t.get("commune") else None
        acts = access.actions(within=within)
        acts = acts[acts.qpv_code == code]
        if acts.empty and within is not None:
            acts = access.actions()
            acts = acts[acts.qpv_code == code]
        return acts
    if level == "asv":
        return access.actions(scheme_id=code)
    return access.actions(within=(level, code))


def action_breakdown(acts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(by axis of the ASV thematic framework, by public): label, n (distinct actions)."""
    themes = access.themes()
    if acts.empty:
        return pd.DataFrame(columns=["label", "n"]), pd.DataFrame(columns=["label", "n"])
    at = access.action_themes()
    at = at[at.action_id.isin(set(acts.action_id))]
    axes = themes[themes.parent_id.isna()][["theme_id", "label", "sort"]]
    by_axis = (at.drop_duplicates(["action_id", "axis_id"]).groupby("axis_id").action_id.nunique()
               .rename("n").reset_index().merge(axes, left_on="axis_id", right_on="theme_id")
               .sort_values("sort")[["label", "n"]])
    pubs = access.publics()[["label", "sort"]]
    exploded = acts.assign(p=acts.publics.fillna("").str.split(" ; ")).explode("p")
    exploded = exploded[exploded.p.astype(str).str.len() > 0]
    by_public = (exploded.groupby("p").action_id.nunique().rename("n").reset_index()
                 .merge(pubs, left_on="p", right_on="label").sort_values("sort")[["label", "n"]])
    return by_axis.reset_index(drop=True), by_public.reset_index(drop=True)


def determinants(level: str, code: str, t: dict | None = None, ci: str | None = None,
                 test_ref: str | None = None) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(rows without the Fiche-only columns, key points, source ids): data.views.portrait.determinants,
    the computation the Fiche page shares."""
    df = views_portrait.determinants(level, code, ci or "95", test_ref)
    out = df.drop(columns=[c for c in ("indicator_id", "value") if c in df])
    out.attrs["notes"] = df.attrs["notes"]
    out.attrs["test"] = df.attrs.get("test", {})
    return out, df.attrs["points"], df.attrs["source_ids"]


def qpv_matrix(qpv_codes: list[str], ref_pairs: list[tuple[str, str]]) -> tuple[pd.DataFrame, list[str]]:
    """Key indicators (columns) for several QPVs and their references (rows)."""
    cat = catalogue().reset_index()
    has_qpv = cat["levels"].map(lambda lv: lv is not None and "qpv" in list(lv))
    key = cat[has_qpv & cat.high_is_bad.notna()].head(KEY_INDICATORS)
    pairs = [("qpv", c) for c in qpv_codes] + ref_pairs
    vals = access.latest_values(pairs, list(key.indicator_id))
    rows = []
    for lvl, c in pairs:
        t = access.territory(lvl, c) or {"name": c}
        row = {"Territoire": f"{t['name']} ({c})" if lvl == "qpv" else access.reference_header(lvl, c)}
        for k in key.itertuples():
            v = vals[(vals.level == lvl) & (vals.code == c) & (vals.indicator_id == k.indicator_id)]
            dec = 1 if _nan(k.decimals) else int(k.decimals)
            label = f"{k.short_label} ({k.unit})"
            row[label] = (an.fmt_status(v.iloc[0].value, v.iloc[0].status, dec) + f" ({v.iloc[0].year_label})"
                          if len(v) else "n.d.")
        rows.append(row)
    return pd.DataFrame(rows), sorted({s for s in vals.source_id.dropna()})


# --- Maps -------------------------------------------------------------------------------------

def _pad(b, frac: float = 0.15, minimum: float = 0.01):
    dx, dy = max((b[2] - b[0]) * frac, minimum), max((b[3] - b[1]) * frac, minimum)
    return (b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy)


def locator_svg(level: str, code: str, t: dict, width: int = 640, link=None) -> str:
    """The territory highlighted over its surroundings (communes of its département, QPVs)."""
    dep = t.get("departement")
    within = ("departement", dep) if dep else None
    communes = access.geometries("commune", within)
    deps = access.geometries("departement")
    qpvs = access.geometries("qpv", within)
    layers = [svgmap.Layer([svgmap.Shape(g, fill="#ffffff", stroke="#b0b0b0", width=0.6)
                            for g in communes.geometry], "communes")]
    hl = "#c2410c"
    if level == "asv":
        sg = access.scheme_geometries()
        sg = sg[sg.code == code]
        covered = set(access.scheme_qpvs(code).code)
        focus = [g for g in sg.geometry if g is not None]
        layers.append(svgmap.Layer([svgmap.Shape(g, fill="#0b5e7e", stroke="#0b5e7e", width=2, opacity=0.12)
                                    for g in focus], "dispositif"))
        target = qpvs[qpvs.code.isin(covered)]
        focus += list(target.geometry)
    elif level == "qpv":
        target = qpvs[qpvs.code == code]
        focus = list(target.geometry)
        c = communes[communes.code == t.get("commune")]
        if len(c):
            layers.append(svgmap.Layer([svgmap.Shape(g, fill="none", stroke="#333", width=1.4)
                                        for g in c.geometry], "commune"))
    else:
        inside = access.geometries("commune", (level, code))
        focus = list(inside.geometry)
        layers.append(svgmap.Layer([svgmap.Shape(g, fill="#fde0cf", stroke="#c2410c", width=1.2,
                                                 title=n) for g, n in zip(inside.geometry, inside.name)],
                                   "territoire"))
        target = qpvs.iloc[0:0]
    layers.append(svgmap.Layer([svgmap.Shape(g, fill="none", stroke="#5a5a5a", width=1.6) for g in deps.geometry],
                               "departements"))
    others = qpvs if level != "asv" else qpvs[~qpvs.code.isin(set(target.code))]
    layers.append(svgmap.Layer([svgmap.Shape(g, fill="#d9d9d9", stroke="#555", width=0.6, title=n,
                                             href=link("qpv", c) if link else None)
                                for c, n, g in zip(others.code, others.name, others.geometry)
                                if c not in set(target.code)], "qpv"))
    layers.append(svgmap.Layer([svgmap.Shape(g, fill=hl, stroke="#000", width=2, title=n)
                                for n, g in zip(target.name, target.geometry)], "cible"))
    import shapely

    focus = [g for g in focus if g is not None]
    if not focus:
        return ""
    if level == "qpv":
        c = communes[communes.code == t.get("commune")]
        focus += list(c.geometry)          # locate the quarter in its commune
    b = shapely.union_all(focus).bounds
    frac = 0.08
    return svgmap.svg_map(layers, bounds=_pad(b, frac, 0.01), width=width, height=width * 0.62,
                          title=f"Localisation : {t['name']}", map_id=f"loc-{level}",
                          desc="En orange : le territoire du portrait ; en gris : les autres quartiers prioritaires ; "
                               "traits : communes et départements.")


# --- HTML -------------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #1d1d1f; font-size: 10.5pt; line-height: 1.4; margin: 0; }
main, header.doc, footer.doc, nav.doc { max-width: 186mm; margin: 0 auto; padding: 0 2mm; }
header.doc { border-bottom: 3px solid #0b5e7e; padding-bottom: 3mm; margin-bottom: 4mm; }
.kicker { text-transform: uppercase; letter-spacing: .06em; font-size: 8.5pt; color: #0b5e7e; font-weight: 700; margin: 0; }
h1 { font-size: 19pt; margin: 1mm 0 1mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; color: #07465e; border-bottom: 1px solid #d4d4d8; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm; }
.sub { color: #4a4a4f; margin: 0; }
.demo { background: #fff4d6; color: #5c4400; border: 1px solid #e6cf8a; padding: 2mm 3mm; border-radius: 4px; font-size: 9.5pt; }
.note { background: #fff4d6; color: #5c4400; padding: 1.5mm 3mm; border-radius: 4px; font-size: 9pt; }
.muted { color: #4a4a4f; }
.facts { display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; margin: 3mm 0; }
.fact { border: 1px solid #d4d4d8; border-radius: 4px; padding: 2mm 3mm; }
.fact .v { font-size: 14pt; font-weight: 700; color: #07465e; }
.fact .l { font-size: 8.5pt; color: #4a4a4f; }
table { border-collapse: collapse; width: 100%; font-size: 8.8pt; margin: 1mm 0 2mm; }
th, td { border-bottom: 1px solid #d4d4d8; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f5f5f3; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.det { font-size: 8pt; table-layout: auto; } table.det td:first-child { min-width: 32mm; }
table.det caption { caption-side: top; text-align: left; font-weight: 700; padding: 1mm 0; }
table.det th { hyphens: auto; overflow-wrap: normal; word-break: normal; }
tr { break-inside: avoid; }
.sit-bad { font-weight: 700; color: #8a1c00; }
.sit-good { color: #1f5c1f; }
.bars td.bar { width: 45%; }
.bar span { display: block; height: 3.2mm; background: #0b5e7e; min-width: .5mm; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 5mm; }
.map-block { break-inside: avoid; }
.map-block svg { width: 100%; height: auto; border: 1px solid #d4d4d8; }
.legend { font-size: 8.5pt; }
.legend-title { font-weight: 700; }
.legend-list { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 1mm 4mm; }
.legend-list li { display: flex; align-items: center; gap: 1.5mm; }
.legend-count { color: #4a4a4f; }
.legend-note { color: #4a4a4f; margin: 1mm 0 0; }
ul.points li { margin-bottom: 1mm; }
section { break-inside: auto; }
.sources li { font-size: 8.5pt; margin-bottom: .8mm; }
.diag td { height: 14mm; }
footer.doc { border-top: 1px solid #d4d4d8; margin-top: 6mm; padding-top: 2mm; font-size: 8pt; color: #4a4a4f; }
nav.doc { font-size: 10pt; margin: 3mm auto; }
a { color: #0b5e7e; }
@media screen { body { background: #f4f4f2; } main, header.doc, footer.doc { background: #fff; } main { padding: 4mm; }
  header.doc { padding: 4mm; margin-top: 4mm; } }
@media print { nav.doc { display: none; } h2 { break-after: avoid; } .page-break { break-before: page; } }
"""


def table_html(df: pd.DataFrame, num_cols: tuple = (), css_class: str = "", cell_class=None,
               caption: str | None = None) -> str:
    if df is None or df.empty:
        return '<p class="muted">Aucune donnée.</p>'
    head = "".join(f'<th scope="col" class="{"num" if c in num_cols else ""}">{_e(c)}</th>' for c in df.columns)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            cls = "num" if c in num_cols else ""
            if cell_class:
                cls = (cls + " " + cell_class(c, r[c])).strip()
            cells.append(f'<td class="{cls}">{_e(r[c])}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption class='muted'>{_e(caption)}</caption>" if caption else ""
    return f'<table class="{css_class}">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def bars_html(df: pd.DataFrame, label: str) -> str:
    if df is None or df.empty:
        return '<p class="muted">Aucune action recensée.</p>'
    top = max(int(df.n.max()), 1)
    rows = "".join(
        f'<tr><td>{_e(r.label)}</td><td class="num">{int(r.n)}</td>'
        f'<td class="bar"><div class="bar"><span style="width:{100 * int(r.n) / top:.1f}%"></span></div></td></tr>'
        for r in df.itertuples())
    return (f'<table class="bars"><thead><tr><th scope="col">{escape(label)}</th><th scope="col" class="num">'
            f'Actions</th><th scope="col"><span class="muted">(barre)</span></th></tr></thead><tbody>{rows}</tbody></table>')


def sources_html(source_ids) -> str:
    src = access.sources()
    src = src[src.source_id.isin(set(source_ids))]
    items = []
    for r in src.itertuples():
        parts = [_e(r.title)]
        if not _nan(r.publisher):
            parts.append(f"({_e(r.publisher)})")
        if not _nan(r.vintage):
            parts.append(f"— millésime {_e(r.vintage)}")
        if not _nan(r.geography):
            parts.append(f"— géographie {_e(r.geography)}")
        if not _nan(r.licence):
            parts.append(f"— {_e(r.licence)}")
        if not _nan(r.file_name):
            parts.append(f"— fichier {_e(r.file_name)}")
        items.append("<li>" + " ".join(parts) + "</li>")
    return '<ul class="sources">' + "".join(items) + "</ul>" if items else '<p class="muted">Aucune source.</p>'


def _header(kind: str, title: str, subtitle: str, fictional: bool) -> str:
    demo = ('<p class="demo"><strong>Données fictives de démonstration</strong> — territoires, chiffres et actions '
            "sont inventés ; aucun ne décrit un lieu réel.</p>") if fictional else ""
    return (f'<header class="doc"><p class="kicker">Atlas ASV — portrait de territoire · {escape(kind)}</p>'
            f"<h1>{escape(title)}</h1><p class='sub'>{escape(subtitle)}</p>{demo}</header>")


def _doc(title: str, body: str, nav: str = "") -> str:
    today = dt.date.today().strftime("%d/%m/%Y")
    return ("<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{nav}{body}"
            f"<footer class='doc'>Portrait produit par l'Atlas ASV le {today}. Base d'un diagnostic partagé de santé : "
            "les chiffres sont à compléter par les connaissances des habitants, des professionnels et des "
            "partenaires du territoire. Valeur « secret » : non diffusée (secret statistique) ; « n.d. » : "
            "non disponible. Aucune de ces valeurs n'est un zéro.</footer></body></html>")


def _diag_section() -> str:
    rows = "".join(f"<tr><th scope='row'>{escape(x)}</th><td></td></tr>" for x in (
        "Constats partagés (habitants, professionnels, élus)", "Ressources et acteurs du territoire",
        "Besoins prioritaires", "Pistes d'action et partenaires à mobiliser"))
    return ("<section><h2>Pour le diagnostic partagé</h2><p class='muted'>À compléter en réunion : ce portrait "
            "rassemble les données disponibles ; le diagnostic partagé y ajoute la parole des habitants et des "
            "acteurs.</p><table class='diag'><tbody>" + rows + "</tbody></table></section>")


def portrait_html(level: str, code: str, link=None, nav: str = "", ci: str | None = None,
                  test_ref: str | None = None) -> str:
    """The portrait of a territory as a standalone HTML document.

    `link(level, code)` gives the href of another territory's page (offline bundle), or None;
    `ci` and `test_ref`: the confidence level and the reference of the tests (the Fiche's)."""
    level = (level or "").lower()
    if level not in LEVELS:
        raise PortraitError(f"Niveau inconnu : {level!r} (qpv, commune, epci ou asv).")
    if not code or len(code) > 40:
        raise PortraitError("Code de territoire manquant ou invalide.")
    fictional = access.is_fictional()
    if level == "asv":
        return _scheme_portrait(code, fictional, link, nav)
    t = access.territory(level, code)
    if t is None:
        raise PortraitError(f"Territoire inconnu : {LEVELS[level]} {code}.")
    pars = access.parents(level, code)
    subtitle = f"{LEVELS[level]} {code}" + (" · " + " · ".join(
        f"{REF_LABELS.get(p['level'], p['level'])} : {p['name']}" for p in pars) if pars else "")
    det, points, det_sources = determinants(level, code, t, ci, test_ref)
    acts = territory_actions(level, code, t)
    by_axis, by_public = action_breakdown(acts)
    source_ids = set(det_sources) | set(acts.source_id.dropna()) | ({t["source_id"]} if t.get("source_id") else set())

    pop = views_portrait.population_fact(level, code)
    reg = views_portrait.registry_facts(level, code)
    schemes = reg["schemes"]
    cov = access.qpv_coverage((level, code)) if level in ("commune", "epci") else pd.DataFrame()
    zoning = access.gp_zoning()
    zone = zoning[zoning.qpv_code == code] if level == "qpv" else zoning.iloc[0:0]
    pop_label = (f"habitants sur le périmètre 2015 du quartier ({pop['year']}) : n.d. sur son périmètre 2024"
                 if pop.get("perimeter") == "2015" else
                 f"habitants ({pop['year']})" if pop["year"] else "habitants (population non disponible)")
    facts = [(an.fmt(pop["value"], 0) if pop["value"] is not None else "n.d.", pop_label),
             (str(len(acts)), "actions de santé recensées") if reg["actions_known"]
             else ("non recensées", "actions de santé : aucune liste d'actions chargée pour ce territoire")]
    if level == "qpv":
        facts.append({"oui": ("oui", "couvert par un Atelier santé ville"),
                      "non": ("non", "couvert par un Atelier santé ville (registre des dispositifs chargé)"),
                      "inconnu": ("inconnu", "couverture par un Atelier santé ville : registre des dispositifs "
                                             "non chargé pour ce territoire")}[reg["asv"]])
    else:
        n_q = len(cov)
        n_known = int(cov.registry_known.sum()) if n_q else 0
        n_asv = int(cov.has_asv.fillna(False).astype(bool).sum()) if n_q else 0
        if n_q and n_known == n_q:
            facts.append((f"{n_asv} / {n_q}", "quartiers prioritaires couverts par un ASV"))
        elif n_q:
            facts.append((f"{n_asv} / {n_q}", f"quartiers prioritaires couverts par un ASV connu ; couverture "
                                              f"inconnue pour {n_q - n_known} (registre non chargé)"))
        else:
            facts.append(("0", "quartier prioritaire"))

    body = [_header(LEVELS[level], t["name"], subtitle, fictional), "<main>"]
    body.append("<section><h2>En bref</h2><div class='facts'>" + "".join(
        f"<div class='fact'><div class='v'>{escape(v)}</div><div class='l'>{escape(l)}</div></div>" for v, l in facts)
        + "</div>")
    if points:
        body.append("<h3>Points saillants (écarts défavorables, années décrites entre parenthèses)</h3>"
                    "<ul class='points'>"
                    + "".join(f"<li>{escape(_french_spaces(p))}</li>" for p in points) + "</ul>")
    ref_text = access.reference_commune_text(code) if level == "qpv" else None
    if ref_text:
        body.append(f"<p class='ref-commune'>{escape(ref_text)}.</p>")
    if len(zone):
        body.append(f"<p>Zonage ARS médecins généralistes : <strong>{_e(zone.iloc[0].zone)}</strong> "
                    f"(millésime {_e(zone.iloc[0].millesime)}).</p>")
    loc = locator_svg(level, code, t, link=link)
    if loc:
        body.append(f"<div class='map-block'>{loc}</div>")
    body.append("</section>")

    body.append("<section><h2>Déterminants de santé et références</h2>")
    if len(det):
        body.append("<p class='muted'>Dernière année décrite pour le territoire ; chaque référence est celle de la "
                    "même année, sinon de l'année la plus proche avant (entre parenthèses). « Situation / départ. » : "
                    "position par rapport au département quand l'écart dépasse 10 %, dans le sens favorable ou "
                    "défavorable de l'indicateur (« plus élevé » ou « moins élevé » quand il n'en a pas).</p>")
        # Two tables, each of which fits the A4 page: the territory's values, then its references.
        test = det.attrs.get("test", {})
        own = [c for c in ("Indicateur", "Unité", "Année décrite", "Valeur", test.get("ic_col"), test.get("test_col"),
                           "Situation / départ.", "Source") if c in det.columns]
        refs = ["Indicateur"] + [c for c in det.columns if c not in own]
        body.append(table_html(det[own], num_cols=("Valeur",), css_class="det",
                               caption="Valeurs du territoire",
                               cell_class=lambda c, v: ("sit-bad" if v == views_portrait.WORSE else
                                                        "sit-good" if v == views_portrait.BETTER else "")
                               if c == "Situation / départ." else
                               ("sit-bad" if str(v).startswith("✗") else "sit-good" if str(v).startswith("✓") else "")
                               if c == test.get("test_col") else ""))
        if len(refs) > 1:
            body.append(table_html(det[refs], num_cols=tuple(refs[1:]), css_class="det refs",
                                   caption="Références (valeur et année décrite)"))
        body += [f"<p class='note'>{escape(n)}</p>" for n in det.attrs.get("notes", [])]
    else:
        body.append("<p class='muted'>Aucun indicateur disponible pour ce territoire.</p>")
    body.append("</section>")
    if level == "qpv":
        body.append(_comparables_section(code, link))

    body.append("<section><h2>Couverture par les dispositifs locaux de santé</h2>")
    if len(schemes):
        sch = pd.DataFrame({"Type": schemes.kind, "Dispositif": schemes.name, "Porteur": schemes.porteur,
                            "Créé en": schemes.year_created.map(lambda y: "" if _nan(y) else str(int(y))),
                            "Statut": schemes.status})
        body.append(table_html(sch))
    if level in ("qpv", "commune") and reg["schemes_text"]:
        body.append(f"<p class='{'' if reg['schemes_known'] else 'note'}'>{escape(reg['schemes_text'])}</p>")
    if len(cov):
        labels = an.COVERAGE_LABELS
        qt = pd.DataFrame({
            "Quartier prioritaire": [f"{n} ({c})" for n, c in zip(cov.name, cov.code)],
            "Population": [an.fmt(p, 0) if not _nan(p) else "n.d." for p in cov.population],
            "Couverture": [labels[c] for c in an.coverage_categories(cov.has_asv, cov.has_cls, cov.registry_known)],
            "ASV": cov.asv_names.fillna("—"),
        })
        body.append("<h3>Quartiers prioritaires du territoire</h3>" + table_html(qt, num_cols=("Population",)))
    body.append("</section>")

    body.append(_actions_section(acts, by_axis, by_public, reg["actions_text"]))
    body.append(_diag_section())
    body.append("<section><h2>Sources et millésimes</h2>" + sources_html(source_ids)
                + "<p class='muted'>Dispositifs et actions : registres importés dans l'atlas (voir la page Données).</p>"
                "</section></main>")
    return _doc(f"Portrait de territoire — {t['name']}", "".join(body), nav)


def _comparables_section(code: str, link) -> str:
    """The 10 most similar QPVs (data/views/comparables.py), with the method written out."""
    df = comparables.display_frame(code)
    used, left_out = comparables.variables()
    out = ["<section><h2>Quartiers comparables</h2>"]
    if df.empty:
        out.append("<p class='note'>Pas assez d'indicateurs de contexte connus pour ce quartier : aucun quartier "
                   "comparable ne peut être proposé.</p></section>")
        return "".join(out)
    keep = [c for c in df.columns if c not in ("Code", "Indicateurs comparés")][:8]
    shown = df[keep].copy()
    if link is not None:
        shown["Quartier"] = [f"{n} ({c})" for n, c in zip(df["Quartier"], df["Code"])]
    out.append(table_html(shown, num_cols=tuple(c for c in keep if c not in ("Rang", "Quartier", "Commune(s)")),
                          css_class="det"))
    out.append(f"<p class='muted'>{escape(comparables.METHOD_TEXT)} Indicateurs de contexte : "
               f"{escape(', '.join(used))}."
               + (f" Laissés de côté : {escape(', '.join(left_out))}." if left_out else "") + "</p>")
    years, sources = comparables.provenance(code)
    out.append(f"<p class='muted'>Années décrites : {escape(years)}. Sources : {escape(' ; '.join(sources))}.</p>"
               "</section>")
    return "".join(out)


def _actions_section(acts: pd.DataFrame, by_axis: pd.DataFrame, by_public: pd.DataFrame,
                     unlisted: str | None = None) -> str:
    out = ["<section><h2>Actions de santé</h2>"]
    if unlisted:
        out.append(f"<p class='note'>{escape(unlisted)}</p>")
    if acts.empty:
        out.append("" if unlisted else
                   "<p>Aucune action de santé localisée sur ce territoire dans les registres importés.</p>")
        out.append("</section>")
        return "".join(out)
    years = f"{int(acts.year_start.min())}–{int(acts.year_start.max())}" if acts.year_start.notna().any() else "n.d."
    out.append(f"<p>{len(acts)} action(s) recensée(s), années de début {escape(years)}. Une action peut relever de "
               "plusieurs axes et de plusieurs publics.</p>")
    out.append("<div class='two'><div><h3>Par axe thématique</h3>" + bars_html(by_axis, "Axe")
               + "</div><div><h3>Par public</h3>" + bars_html(by_public, "Public") + "</div></div>")
    recent = acts.sort_values(["year_start", "title"], ascending=[False, True]).head(12)
    lst = pd.DataFrame({
        "Action": recent.title,
        "Années": [f"{int(a)}" + (f"–{int(b)}" if not _nan(b) and b != a else "") if not _nan(a) else "n.d."
                   for a, b in zip(recent.year_start, recent.year_end)],
        "Porteur": recent.porteur.fillna("n.d."),
        "Thèmes": recent.themes.fillna(""),
    })
    out.append(f"<h3>Actions les plus récentes ({len(recent)} sur {len(acts)})</h3>" + table_html(lst))
    out.append("</section>")
    return "".join(out)


def _scheme_portrait(code: str, fictional: bool, link, nav: str) -> str:
    s = access.scheme(code)
    if s is None or s.get("kind") != "ASV":
        raise PortraitError(f"Atelier santé ville inconnu : {code}.")
    qpvs = access.scheme_qpvs(code)
    terr = access.scheme_territories(code)
    communes = terr[terr.level == "commune"]
    first = access.territory("qpv", qpvs.code.iloc[0]) if len(qpvs) else (
        access.territory("commune", communes.code.iloc[0]) if len(communes) else None)
    t = {"name": s["name"], "departement": (first or {}).get("departement")}
    refs = []
    if first:
        if first.get("departement"):
            refs.append(("departement", first["departement"]))
        refs += [("france", c) for c in access.territories("france").code]
    matrix, m_sources = qpv_matrix(list(qpvs.code), refs)
    acts = territory_actions("asv", code)
    by_axis, by_public = action_breakdown(acts)
    pop = qpvs.population.dropna()
    source_ids = set(m_sources) | set(acts.source_id.dropna()) | ({s["source_id"]} if s.get("source_id") else set())
    subtitle = " · ".join(x for x in (f"Porteur : {s['porteur']}" if not _nan(s.get("porteur")) else "",
                                      f"créé en {int(s['year_created'])}" if not _nan(s.get("year_created")) else "",
                                      f"statut : {s['status']}" if not _nan(s.get("status")) else "") if x)
    facts = [(str(len(qpvs)), "quartiers prioritaires couverts"),
             (an.fmt(pop.sum(), 0) if len(pop) else "n.d.",
              f"habitants en QPV (population connue pour {len(pop)} sur {len(qpvs)})"),
             (str(len(acts)), "actions rattachées à l'ASV")]
    body = [_header(LEVELS["asv"], s["name"], subtitle, fictional), "<main>",
            "<section><h2>En bref</h2><div class='facts'>" + "".join(
                f"<div class='fact'><div class='v'>{escape(v)}</div><div class='l'>{escape(l)}</div></div>"
                for v, l in facts) + "</div>"]
    loc = locator_svg("asv", code, t, link=link)
    if loc:
        body.append(f"<div class='map-block'>{loc}</div>")
    body.append("</section><section><h2>Territoire couvert</h2>")
    body.append("<p>Communes : " + (escape(", ".join(f"{n} ({c})" for n, c in zip(communes.name.fillna(""),
                                                                                   communes.code)))
                                    or "aucune commune entière") + ".</p>")
    body.append("</section><section><h2>Déterminants de santé des quartiers et références</h2>"
                "<p class='muted'>Dernière année disponible (entre parenthèses) pour les principaux indicateurs.</p>"
                + table_html(matrix, num_cols=tuple(c for c in matrix.columns if c != "Territoire"))
                + "</section>")
    body.append(_actions_section(acts, by_axis, by_public))
    body.append(_diag_section())
    body.append("<section><h2>Sources et millésimes</h2>" + sources_html(source_ids) + "</section></main>")
    return _doc(f"Portrait de territoire — {s['name']}", "".join(body), nav)
