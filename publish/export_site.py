"""Offline bundle: `python -m etl export-site DIR [--scope departement:96]` writes a folder
that opens in any browser with no server and no network, for meetings without a laptop
running Python:

    DIR/index.html                 what is inside, links to every map and fiche
    DIR/cartes/<name>.html         one map per QPV indicator (latest year), the ASV coverage map
    DIR/fiches/<level>-<code>.html a portrait (publish.portrait) of each QPV, commune and EPCI in scope,
                                   and of each ASV with a QPV in scope
    DIR/LISEZMOI.txt

Maps are inline SVG (publish.svgmap): no JavaScript library, no tile server. A few lines of
inline script add zoom buttons (the maps work without them). Every text is escaped.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from html import escape
from pathlib import Path

import pandas as pd
import shapely

from data import palettes as pal
from data import access
from data import analysis as an
from publish import portrait, svgmap

SCOPE_LEVELS = ("region", "departement", "epci", "commune")
FICHE_LEVELS = ("qpv", "commune", "epci")


class ExportError(Exception):
    pass


def parse_scope(text: str | None) -> tuple[str, str] | None:
    if not text or text == "france":
        return None
    level, _, code = text.partition(":")
    if level not in SCOPE_LEVELS or not re.fullmatch(r"[A-Za-z0-9_.-]{1,20}", code or ""):
        raise ExportError(f"Périmètre invalide : {text!r} (ex. departement:96, epci:200054781, region:93).")
    if access.territory(level, code) is None:
        raise ExportError(f"Territoire inconnu : {level} {code}.")
    return (level, code)


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", str(text))[:80] or "x"


PLAIN_CODE = re.compile(r"[A-Z0-9_-]{1,80}")


def fiche_file(level: str, code: str) -> str:
    """The file of a fiche, one per (level, code): the code itself when it is made of capitals,
    digits, "_" and "-" only (QPV, commune and EPCI codes); otherwise its sanitised form and "~" with
    a hash of the code, so that "A/B" and "A_B", or "ab" and "AB" on a file system that ignores case,
    never share a file ("~" never appears in a plain name)."""
    code = str(code)
    if PLAIN_CODE.fullmatch(code):
        return f"{level}-{code}.html"
    digest = hashlib.sha256(f"{level}:{code}".encode("utf-8")).hexdigest()[:10]
    return f"{level}-{safe_name(code)[:60]}~{digest}.html"


ZOOM_JS = """<script>
(function () {
  document.querySelectorAll(".zoomable").forEach(function (box) {
    var svg = box.querySelector("svg"); if (!svg) { return; }
    var vb0 = svg.getAttribute("viewBox").split(" ").map(Number), vb = vb0.slice();
    function set() { svg.setAttribute("viewBox", vb.join(" ")); }
    function zoom(f, cx, cy) {
      cx = cx === undefined ? vb[0] + vb[2] / 2 : cx; cy = cy === undefined ? vb[1] + vb[3] / 2 : cy;
      vb = [cx - (cx - vb[0]) * f, cy - (cy - vb[1]) * f, vb[2] * f, vb[3] * f]; set();
    }
    box.querySelector(".z-in").addEventListener("click", function () { zoom(0.66); });
    box.querySelector(".z-out").addEventListener("click", function () { zoom(1.5); });
    box.querySelector(".z-reset").addEventListener("click", function () { vb = vb0.slice(); set(); });
    var drag = null;
    svg.addEventListener("pointerdown", function (e) { if (e.target.closest("a")) { return; } drag = [e.clientX, e.clientY, vb[0], vb[1]]; });
    window.addEventListener("pointerup", function () { drag = null; });
    svg.addEventListener("pointermove", function (e) {
      if (!drag) { return; }
      var k = vb[2] / svg.getBoundingClientRect().width;
      vb[0] = drag[2] - (e.clientX - drag[0]) * k; vb[1] = drag[3] - (e.clientY - drag[1]) * k; set();
    });
  });
})();
</script>"""

PAGE_CSS = portrait.CSS + """
main.wide, header.doc.wide, nav.doc.wide, footer.doc.wide { max-width: 1200px; }
.map-layout { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 1.2fr); gap: 4mm; align-items: start; }
@media (max-width: 900px) { .map-layout { grid-template-columns: 1fr; } }
.legend-list { display: block; }
.legend-list li { margin: 1mm 0; }
.legend-label { flex: 1; }
.zoom-tools { display: flex; gap: 2mm; margin: 1mm 0; }
.zoom-tools button { font: inherit; padding: .5mm 3mm; border: 1px solid #0b5e7e; background: #fff; color: #0b5e7e; border-radius: 3px; cursor: pointer; }
.atlas-svg-map { width: 100%; height: auto; border: 1px solid #d4d4d8; background: #f4f1ea; touch-action: none; }
.atlas-svg-map a path:hover { stroke-width: 3; }
ul.links { columns: 2; }
@media (max-width: 700px) { ul.links { columns: 1; } }
"""


def _page(title: str, body: str, depth: int, wide: bool = True, script: str = "") -> str:
    up = "../" * depth
    cls = " wide" if wide else ""
    nav = f'<nav class="doc{cls}"><a href="{up}index.html">← Sommaire de l\'atlas hors ligne</a></nav>' if depth else ""
    return ("<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head><body>{nav}{body}"
            f"<footer class='doc{cls}'>Atlas ASV — version hors ligne produite le "
            f"{dt.date.today().strftime('%d/%m/%Y')}. Sources et millésimes sous chaque carte et dans chaque "
            f"fiche.</footer>{script}</body></html>")


def _demo_banner() -> str:
    if not access.is_fictional():
        return ""
    return ("<p class='demo'><strong>Données fictives de démonstration</strong> — territoires, chiffres et actions "
            "sont inventés ; aucun ne décrit un lieu réel.</p>")


def _base_layers(scope) -> list[svgmap.Layer]:
    communes = access.geometries("commune", scope)
    return [svgmap.Layer([svgmap.Shape(g, fill="#ffffff", stroke="#b0b0b0", width=0.6, title=n)
                          for n, g in zip(communes.name, communes.geometry)], "communes")]


def _dep_layer() -> svgmap.Layer:
    deps = access.geometries("departement")
    return svgmap.Layer([svgmap.Shape(g, fill="none", stroke="#5a5a5a", width=1.6) for g in deps.geometry],
                        "departements")


def _bounds(scope):
    g = access.geometries(scope[0], scope) if scope else access.geometries("departement")
    if g.empty:
        g = access.geometries("qpv")
    if g.empty:
        return None
    b = shapely.union_all(list(g.geometry)).bounds
    dx, dy = (b[2] - b[0]) * 0.03, (b[3] - b[1]) * 0.03
    return (b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy)


def _map_page(title: str, subtitle: str, svg: str, legend: str, source: str, notes: list[str]) -> str:
    notes_html = "".join(f"<p class='note'>{escape(n)}</p>" for n in notes)
    body = (f"<header class='doc wide'><p class='kicker'>Atlas ASV — carte</p><h1>{escape(title)}</h1>"
            f"<p class='sub'>{escape(subtitle)}</p>{_demo_banner()}</header><main class='wide'>{notes_html}"
            "<div class='map-layout'><div class='zoomable'><div class='zoom-tools' role='group' "
            "aria-label='Zoom de la carte'><button type='button' class='z-in'>Zoom +</button>"
            "<button type='button' class='z-out'>Zoom −</button><button type='button' class='z-reset'>"
            f"Vue d'ensemble</button></div>{svg}</div><div>{legend}"
            "<p class='muted'>Survolez un quartier pour son nom et sa valeur ; cliquez pour ouvrir sa fiche.</p></div>"
            f"</div><p class='source-line'>{escape(source)}</p></main>")
    return _page(title, body, 1, script=ZOOM_JS)


def indicator_map(ind: pd.Series, scope, bounds) -> tuple[str, str] | None:
    """(title, html) of a QPV choropleth of an indicator's latest year."""
    years = access.indicator_years(ind.indicator_id, "qpv")
    if not years:
        return None
    period = access.default_period(ind.indicator_id, "qpv")
    year = access.year_labels(ind.indicator_id, "qpv").get(period, "n.d.")
    vals = access.values(ind.indicator_id, "qpv", scope, period)
    if vals.empty:
        return None
    hib = None if pd.isna(ind.high_is_bad) else bool(ind.high_is_bad)
    dec = 1 if pd.isna(ind.decimals) else int(ind.decimals)
    ok = pd.to_numeric(vals.value, errors="coerce").where(vals.status.eq("ok"))
    cls = an.classify(vals.code, ok, "quantiles", 5)
    colors = pal.palette(pal.default_palette(hib), cls.k, hib) if cls else []
    labels = cls.labels(dec, ind.unit) if cls else []
    geo = access.geometries("qpv", scope).set_index("code")
    shapes = []
    for r in vals.itertuples():
        if r.code not in geo.index:
            continue
        c = cls.classes.get(r.code) if cls else None
        if r.status == "secret":
            fill, dash = "url(#pat-secret)", None
        elif c is None:
            fill, dash = "#ffffff", "2 3"
        else:
            fill, dash = colors[c], None
        tip = f"{r.name} ({r.code}) — {ind.short_label} {year} : {an.fmt_status(r.value, r.status, dec, ind.unit)}"
        if r.perimeter == "perimetre_2015" and r.status != "missing":
            tip += " (périmètre 2015)"
        shapes.append(svgmap.Shape(geo.loc[r.code].geometry, fill=fill, stroke="#222", width=1.0, dash=dash,
                                   title=tip, href=f"../fiches/{fiche_file('qpv', r.code)}"))
    layers = _base_layers(scope) + [_dep_layer(), svgmap.Layer(shapes, "qpv")]
    title = f"{ind.label} ({year})"
    svg = svgmap.svg_map(layers, bounds=bounds, width=900, title=title, map_id="carte",
                         desc="Quartiers prioritaires colorés par classe de valeur ; le tableau de chaque fiche "
                              "donne les mêmes chiffres.")
    items = [(col, lab, f"{n} QPV") for col, lab, n in zip(colors, labels, cls.counts)] if cls else []
    n_secret = int(vals.status.eq("secret").sum())
    n_missing = int((~vals.status.isin(["ok", "secret"])).sum())
    if n_secret:
        items.append(("url(#pat-secret)", "Secret statistique (non diffusé)", f"{n_secret} QPV"))
    if n_missing:
        items.append(("missing", "Pas de donnée", f"{n_missing} QPV"))
    direction = ("Couleurs foncées : situation la plus défavorable." if hib is not None
                 else "Indicateur sans sens favorable ou défavorable.")
    legend = svgmap.legend_html(items, f"{ind.short_label} {year} ({ind.unit})",
                                f"Classes par quantiles. {direction} Un quartier secret ou sans donnée n'est dans "
                                "aucune classe : sa valeur n'est jamais comptée comme 0.")
    known = vals[vals.status.isin(["ok", "secret"])]
    srcs = known[["source_title", "publisher", "vintage", "geography"]].drop_duplicates()
    source = "Source : " + (" ; ".join(
        f"{r.source_title} ({r.publisher}), millésime {_txt(r.vintage)}, géographie {_txt(r.geography)}"
        for r in srcs.itertuples(index=False)) or "aucune valeur") + \
        ". Fond : contours des communes et départements de la base (sans serveur de tuiles)."
    notes = []
    n2015 = int(known.perimeter.eq("perimetre_2015").sum())
    if n2015:
        notes.append(f"Périmètre 2015 : pour {n2015} quartier(s), la valeur a été calculée sur le périmètre 2015 "
                     "du quartier, modifié en 2024 (indiqué dans l'infobulle).")
    return title, _map_page(title, f"Quartiers prioritaires (géographie 2024) — {_scope_label(scope)}", svg, legend,
                            source, notes)


COVERAGE_FILL = {"asv": "#1b4f72", "cls": "url(#pat-cls)", "none": "url(#pat-none)", "unknown": "#d9d9d9"}


def coverage_map(scope, bounds) -> tuple[str, str]:
    cov = access.qpv_coverage(scope)
    geo = access.geometries("qpv", scope).set_index("code")
    cats = an.coverage_categories(cov.has_asv, cov.has_cls, cov.registry_known)
    shapes = []
    for r, cat in zip(cov.itertuples(), cats):
        if r.code not in geo.index:
            continue
        tip = f"{r.name} ({r.code}) — {an.COVERAGE_LABELS[cat]}" + (f" : {r.asv_names}" if isinstance(r.asv_names, str)
                                                                    else "")
        shapes.append(svgmap.Shape(geo.loc[r.code].geometry, fill=COVERAGE_FILL[cat], stroke="#222", width=1.0,
                                   title=tip, href=f"../fiches/{fiche_file('qpv', r.code)}"))
    sg = access.scheme_geometries()
    asv = sg[(sg.kind == "ASV") & sg.geometry.notna()]
    asv_shapes = [svgmap.Shape(g, fill="#1b4f72", stroke="#1b4f72", width=2.2, opacity=0.06, title=f"ASV — {n}")
                  for n, g in zip(asv.name, asv.geometry)]
    layers = _base_layers(scope) + [_dep_layer(), svgmap.Layer(asv_shapes, "asv"), svgmap.Layer(shapes, "qpv")]
    title = "Couverture des quartiers prioritaires par les Ateliers santé ville"
    svg = svgmap.svg_map(layers, bounds=bounds, width=900, title=title, map_id="carte")
    counts = an.coverage_counts(cats)
    items = [(COVERAGE_FILL[c], an.COVERAGE_LABELS[c], f"{counts[c]} QPV") for c in an.COVERAGE_CATEGORIES
             if c != "unknown" or counts[c]]
    items.append(("line:#1b4f72", "Territoire d'un ASV (contour)", str(len(asv))))
    legend = svgmap.legend_html(items, "Couverture des QPV 2024",
                                "Un QPV est couvert par un dispositif qui le cite ou qui couvre sa commune. "
                                "Rayures : CLS seulement ; points : ni ASV ni CLS"
                                + ("; gris : couverture inconnue, le registre des dispositifs n'étant pas chargé "
                                   "pour ce territoire (ce n'est pas une absence d'ASV)" if counts["unknown"] else "")
                                + ".")
    src_ids = set(access.schemes().source_id.dropna())
    src = access.sources()
    src = src[src.source_id.isin(src_ids)]
    source = "Sources : " + (" ; ".join(f"{r.title} ({r.publisher}), millésime {_txt(r.vintage)}"
                                         for r in src.itertuples()) or "registre des dispositifs importé") + \
        ". Contours des QPV 2024. Fond : contours de la base (sans serveur de tuiles)."
    return title, _map_page(title, f"Quartiers prioritaires (géographie 2024) — {_scope_label(scope)}", svg, legend,
                            source, [])


def _txt(v) -> str:
    """A text for a source field: 'n.d.' when absent (None, NaN)."""
    return "n.d." if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "" else str(v)


def _scope_label(scope) -> str:
    if not scope:
        return "tout le territoire chargé"
    t = access.territory(*scope)
    return f"{portrait.REF_LABELS.get(scope[0], scope[0])} {t['name'] if t else scope[1]}"


def fiche_targets(scope) -> list[tuple[str, str, str]]:
    """(level, code, name) of the territories with a fiche in the bundle."""
    out = []
    for level in FICHE_LEVELS:
        if scope and level == "epci" and scope[0] == "commune":
            continue
        df = access.territories(level, scope)
        if level == "commune" and scope is None:
            with_qpv = set(access.qpv_communes().commune_code)
            df = df[df.code.isin(with_qpv)]
        out += [(level, c, n) for c, n in zip(df.code, df.name)]
    qpvs = set(access.territories("qpv", scope).code)
    for r in access.schemes("ASV").itertuples():
        if set(access.scheme_qpvs(r.scheme_id).code) & qpvs:
            out.append(("asv", r.scheme_id, r.name))
    return out


def export_site(dest: Path, scope_text: str | None = None, progress=print) -> dict:
    """Write the bundle into `dest` (replaced when it exists and holds a previous bundle)."""
    dest = Path(dest)
    scope = parse_scope(scope_text)
    if dest.exists() and any(dest.iterdir()):
        if not (dest / "index.html").exists() or not (dest / "LISEZMOI.txt").exists():
            raise ExportError(f"Le dossier {dest} n'est pas vide et ne contient pas un atlas hors ligne : "
                              "choisissez un dossier vide.")
        shutil.rmtree(dest)
    (dest / "cartes").mkdir(parents=True)
    (dest / "fiches").mkdir()
    bounds = _bounds(scope)
    maps = []
    cat = access.indicators()
    for ind in cat.itertuples():
        if ind.levels is None or "qpv" not in list(ind.levels):
            continue
        made = indicator_map(pd.Series(ind._asdict()), scope, bounds)
        if made:
            name = f"indicateur-{safe_name(ind.indicator_id)}.html"
            (dest / "cartes" / name).write_text(made[1], encoding="utf-8")
            maps.append((name, made[0], ind.family))
    title, page = coverage_map(scope, bounds)
    (dest / "cartes" / "couverture-asv.html").write_text(page, encoding="utf-8")
    maps.insert(0, ("couverture-asv.html", title, "couverture"))
    progress(f"{len(maps)} cartes écrites")

    targets = fiche_targets(scope)
    exported = {(level, code) for level, code, _ in targets}

    def link(level, code):
        return fiche_file(level, code) if (level, code) in exported else None

    fiches = []
    for level, code, name in targets:
        doc = portrait.portrait_html(level, code, link=link,
                                     nav="<nav class='doc'><a href='../index.html'>← Sommaire de l'atlas hors "
                                         "ligne</a></nav>")
        (dest / "fiches" / fiche_file(level, code)).write_text(doc, encoding="utf-8")
        fiches.append((level, code, name))
    progress(f"{len(fiches)} fiches écrites")
    (dest / "index.html").write_text(index_html(scope, maps, fiches), encoding="utf-8")
    (dest / "LISEZMOI.txt").write_text(
        "Atlas ASV — version hors ligne\n\nOuvrez index.html dans un navigateur (double-clic) : aucune connexion "
        "ni aucun serveur n'est nécessaire.\nCartes : dossier cartes/ ; fiches (portraits de territoire) : "
        "dossier fiches/.\n" + ("\nDONNÉES FICTIVES DE DÉMONSTRATION : aucun chiffre ne décrit un lieu réel.\n"
                                if access.is_fictional() else ""), encoding="utf-8")
    return {"maps": len(maps), "fiches": len(fiches), "dest": str(dest)}


def index_html(scope, maps, fiches) -> str:
    meta = access.meta()
    groups = {}
    for level, code, name in fiches:
        groups.setdefault(level, []).append((code, name))
    parts = [f"<header class='doc wide'><p class='kicker'>Atlas ASV — version hors ligne</p>"
             f"<h1>Santé et quartiers prioritaires : {escape(_scope_label(scope))}</h1>"
             f"<p class='sub'>Base construite le {escape(str(meta.get('built_at', 'n.d.'))[:10])}. "
             "Ce dossier s'ouvre sans connexion et sans serveur.</p>" + _demo_banner() + "</header><main class='wide'>",
             "<h2>Cartes</h2><ul class='links'>"]
    parts += [f"<li><a href='cartes/{escape(f)}'>{escape(t)}</a></li>" for f, t, _ in maps]
    parts.append("</ul>")
    titles = {"qpv": "Fiches des quartiers prioritaires", "commune": "Fiches des communes",
              "epci": "Fiches des EPCI", "asv": "Fiches des Ateliers santé ville"}
    for level in ("qpv", "commune", "epci", "asv"):
        if groups.get(level):
            parts.append(f"<h2>{titles[level]}</h2><ul class='links'>")
            parts += [f"<li><a href='fiches/{escape(fiche_file(level, c))}'>{escape(n)} ({escape(c)})</a></li>"
                      for c, n in sorted(groups[level], key=lambda x: str(x[1]))]
            parts.append("</ul>")
    parts.append("<h2>Sources</h2>" + portrait.sources_html(set(access.sources().source_id)) + "</main>")
    return _page("Atlas ASV — version hors ligne", "".join(parts), 0)
