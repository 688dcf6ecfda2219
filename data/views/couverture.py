"""The Couverture page's state and data (pages/couverture.py renders them): layers and need in
the URL, each QPV's coverage by the local health schemes, tooltips, the schemes of a scope, a
scheme's fiche, the ranking of QPVs without an ASV, the sources of the map. Reads through
data.access only."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely

from data import access, stats
from data.analysis import COVERAGE_LABELS, coverage_categories, fmt, rank_by_need
from data.views import intervals

KINDS = ("ASV", "CLS", "CLSM", "CPTS")
KIND_LABELS = {"ASV": "Atelier santé ville", "CLS": "Contrat local de santé",
               "CLSM": "Conseil local de santé mentale",
               "CPTS": "Communauté professionnelle territoriale de santé"}

# Layer keys (URL) -> names shown in the map's layer control.
LAYERS = {
    "qpv": "QPV 2024 selon leur couverture",
    "asv": "Territoires des ASV",
    "cls": "Territoires des CLS",
    "clsm": "Territoires des CLSM",
    "cpts": "Territoires des CPTS",
    "zonage": "Zonage ARS médecins (ZIP, ZAC, ZAR, ZV)",
}
DEFAULT_LAYERS = ["qpv", "asv"]
DEFAULT_NEED = "taux_pauvrete_60"


# --- State in the URL ---------------------------------------------------------------------

def parse_layers(raw: str | None) -> list[str]:
    """'qpv,asv' -> ['qpv', 'asv']; None -> the default layers; '' -> no layer."""
    if raw is None:
        return list(DEFAULT_LAYERS)
    keys = {k.strip() for k in str(raw).split(",")}
    return [k for k in LAYERS if k in keys]


def layers_from_overlays(names) -> list[str]:
    shown = set(names or [])
    return [k for k, name in LAYERS.items() if name in shown]


def need_options() -> list[dict]:
    ind = access.indicators()
    opts = []
    for r in ind.itertuples():
        levels = list(r.levels) if isinstance(r.levels, (list, tuple, np.ndarray)) else []
        if "qpv" not in levels:
            continue
        sens = {True: "élevé = défavorable", False: "faible = défavorable"}.get(
            None if pd.isna(r.high_is_bad) else bool(r.high_is_bad), "sens neutre")
        opts.append({"label": f"{r.label} ({r.unit}, {sens})", "value": r.indicator_id})
    return opts


def valid_need(need: str | None, options: list[dict]) -> str | None:
    values = [o["value"] for o in options]
    if need in values:
        return need
    if DEFAULT_NEED in values:
        return DEFAULT_NEED
    return values[0] if values else None


def state_search(scope, layers: list[str], need: str | None, scheme: str | None) -> str:
    params = {"scope": access.scope_value(scope), "layers": ",".join(layers)}
    if need:
        params["need"] = need
    if scheme:
        params["scheme"] = scheme
    return "?" + urlencode(params, safe=":,")


# --- Data for the view ------------------------------------------------------------------

def _as_list(v) -> list:
    """A DuckDB list cell as a Python list (NULL -> [])."""
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else []


def coverage_frame(scope) -> pd.DataFrame:
    """One row per 2024 QPV in scope: coverage category ('asv', 'cls', 'none', or 'unknown' where
    the scheme registry is not loaded complete and no ASV is known), the schemes covering it
    (directly or through its communes) and its ARS GP zone."""
    cov = access.qpv_coverage(scope)
    cov["category"] = coverage_categories(cov.has_asv, cov.has_cls, cov.registry_known)
    zoning = access.gp_zoning()
    cov["zone"] = cov.code.map(dict(zip(zoning.qpv_code, zoning.zone)))
    cov["scheme_ids"] = [_as_list(v) for v in cov.scheme_ids]
    return cov


def qpv_tooltips(cov: pd.DataFrame) -> dict[str, list[str]]:
    """Tooltip lines per QPV (plain text: assets/atlas.js escapes them)."""
    sch = access.schemes()
    info = {r.scheme_id: (r.kind, r.name, r.status) for r in sch.itertuples()}
    order = {k: i for i, k in enumerate(KINDS)}
    pop_years = population_years(cov)
    out = {}
    for r in cov.astype(object).itertuples():
        lines = [COVERAGE_LABELS[r.category]]
        if r.category == "unknown":
            lines.append(access.NOT_LOADED["schemes"].capitalize())
        covering = sorted((info[s] for s in r.scheme_ids if s in info), key=lambda x: (order.get(x[0], 9), x[1]))
        lines += [f"{kind} : {name}" + (f" ({status})" if isinstance(status, str) and status != "actif" else "")
                  for kind, name, status in covering]
        if isinstance(r.zone, str):
            lines.append(f"Zonage ARS médecins : {r.zone}")
        if r.population is not None and not pd.isna(r.population):
            lines.append(f"Population : {fmt(r.population, 0)} hab. ({pop_years.get(r.code, 'année n.d.')})")
        out[r.code] = lines
    return out


def scheme_tooltips(kind: str) -> dict[str, list[str]]:
    sch = access.schemes(kind)
    return {r.scheme_id: [KIND_LABELS[kind] + (f" — porteur : {r.porteur}" if isinstance(r.porteur, str) else ""),
                          "Cliquer pour ouvrir sa fiche"] for r in sch.itertuples()}


def schemes_in_scope(scope, cov: pd.DataFrame | None = None) -> pd.DataFrame:
    """Schemes covering a commune or a QPV of the scope (all schemes without scope)."""
    sch = access.schemes()
    if not scope:
        return sch
    st = access.scheme_territories()
    communes = set(access.territories("commune", scope).code)
    qpvs = set(access.territories("qpv", scope).code)
    ids = set(st[((st.level == "commune") & st.code.isin(communes))
                 | ((st.level == "qpv") & st.code.isin(qpvs))].scheme_id)
    if cov is not None:
        ids |= {s for lst in cov.scheme_ids for s in lst}
    return sch[sch.scheme_id.isin(ids)]


def scope_bounds(scope):
    if scope:
        b = access.bounds(*scope)
        if b:
            return b
    for level in ("departement", "commune", "qpv"):
        g = access.geometries(level)
        if len(g):
            return tuple(shapely.total_bounds(g.geometry.values))
    return None


def padded_bounds(b, pad: float = 0.02):
    return None if b is None else (b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad)


def _source_label(source_id, sources: pd.DataFrame) -> str | None:
    if source_id is None or (isinstance(source_id, float) and pd.isna(source_id)):
        return None
    row = sources[sources.source_id == source_id]
    if row.empty:
        return str(source_id)
    r = row.iloc[0]
    out = f"{r.title} ({r.publisher})"
    if isinstance(r.vintage, str) and r.vintage:
        out += f", millésime {r.vintage}"
    return out


def fr_date(iso) -> str:
    try:
        return dt.date.fromisoformat(str(iso)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(iso)


def registry_sources() -> list[str]:
    """Where the schemes come from: their source(s), and the import(s) that loaded them."""
    sch = access.schemes()
    src = access.sources()
    out = []
    for sid in sorted({s for s in sch.source_id if isinstance(s, str)}):
        lbl = _source_label(sid, src)
        row = src[src.source_id == sid]
        if len(row) and isinstance(row.iloc[0].file_name, str):
            lbl += f", fichier {row.iloc[0].file_name}"
        out.append(lbl)
    try:
        log = access.import_log()
        log = log[log.kind == "schemes"]
        out += [f"import du {fr_date(r.imported_at)} ({r.file_name})" for r in log.itertuples()]
    except Exception:  # noqa: BLE001 - an older DB without import_log
        pass
    return out


def map_sources(cov: pd.DataFrame) -> list[str]:
    """The map's sources, one sentence per layer (the page lists them, one per line)."""
    src = access.sources()
    parts = []
    if len(cov):
        t = access.territory("qpv", cov.code.iloc[0])
        lbl = _source_label(t.get("source_id") if t else None, src)
        if lbl:
            parts.append(f"Contours des QPV 2024 : {lbl}")
    pop = population_source(cov)
    if pop:
        parts.append(pop)
    reg = registry_sources()
    parts.append("Dispositifs : " + (" ; ".join(reg) if reg else "aucun registre chargé (couverture inconnue)"))
    zoning = access.gp_zoning()
    if len(zoning):
        mill = ", ".join(sorted({str(m) for m in zoning.millesime.dropna()})) or "n.d."
        titles = ", ".join(sorted({str(t) for t in zoning.source_title.dropna()}))
        parts.append(f"Zonage ARS médecins généralistes : {titles or 'ARS'}, millésime {mill}")
    else:
        parts.append("Zonage ARS : non chargé")
    return [p.rstrip(".") + "." for p in parts]


def scheme_fiche_data(scheme_id: str) -> dict | None:
    """Everything the scheme fiche shows: identity, QPVs and communes covered, actions by theme."""
    s = access.scheme(scheme_id)
    if s is None:
        return None
    qpvs = access.scheme_qpvs(scheme_id)
    terr = access.scheme_territories(scheme_id)
    communes = terr[terr.level == "commune"][["code", "name"]].reset_index(drop=True)
    communes_via_qpv = False
    if communes.empty and len(qpvs):
        qc = access.qpv_communes(list(qpvs.code)).drop_duplicates("commune_code")
        communes = pd.DataFrame({"code": qc.commune_code, "name": qc.commune_name}).reset_index(drop=True)
        communes_via_qpv = True
    by_theme = access.action_counts("scheme", scheme_id, "theme")
    n_actions = len(access.actions(scheme_id=scheme_id))
    src = access.sources()
    source = _source_label(s.get("source_id"), src)
    imp = s.get("import_id")
    if imp is not None and not pd.isna(imp):
        log = access.import_log()
        row = log[log.import_id == imp]
        if len(row):
            source = (source + " ; " if source else "") + \
                f"import du {fr_date(row.iloc[0].imported_at)} ({row.iloc[0].file_name})"
    year = s.get("year_created")
    return {
        "scheme_id": scheme_id, "kind": s["kind"], "kind_label": KIND_LABELS.get(s["kind"], s["kind"]),
        "name": s["name"], "porteur": s.get("porteur"),
        "year_created": None if year is None or pd.isna(year) else int(year),
        "status": s.get("status"), "url": s.get("contact_url"),
        "qpvs": qpvs, "communes": communes, "communes_via_qpv": communes_via_qpv,
        "actions_by_theme": by_theme, "n_actions": n_actions, "source": source,
    }


def ranking_frame(scope, need: str, cov: pd.DataFrame | None = None) -> pd.DataFrame:
    """QPVs of the scope known to have no ASV (the scheme registry is complete on them), ranked by
    `need` (latest value; secret and missing last). QPVs whose coverage is unknown are left out:
    an unloaded registry says nothing of their ASV. No rank without its uncertainty: each value
    carries its 95 % interval and its tested comparison (`test`) with one national benchmark
    (France, else all QPVs: data.views.intervals.national_benchmark), named in attrs["benchmark"]."""
    cov = coverage_frame(scope) if cov is None else cov
    no_asv = cov[cov.category.isin(["cls", "none"])][["code", "name", "commune", "population", "category"]]
    vals = access.values(need, "qpv", scope)[["code", "year", "period", "year_label", "value", "status", "perimeter",
                                              "numerator", "denominator", "source_title", "publisher", "vintage"]]
    df = no_asv.merge(vals, on="code", how="left")
    info = access.indicator(need) or {}
    hib = intervals.polarity(info)
    df = intervals.with_intervals(df.assign(status=df.status.fillna("missing")), info, stats.DEFAULT_LEVEL, "qpv",
                                  scope)
    ok = df[df.status == "ok"]
    period = int(ok.period.mode().iloc[0]) if len(ok) and ok.period.notna().any() else None
    bench = intervals.national_benchmark(need, period)
    df["test"] = intervals.tested(df, bench["value"] if bench else np.nan, hib)
    out = rank_by_need(df, hib)
    out.attrs["benchmark"] = f"{bench['name']} ({bench['year_label']})" if bench else None
    out.attrs["benchmark_source"] = bench["source"] if bench else None
    return out


def population_note(cov: pd.DataFrame) -> str:
    """For how many QPVs the inhabitants counted in the legend are known."""
    if cov.empty:
        return ""
    n_known = int(cov.population.notna().sum())
    return f"Habitants : population connue pour {n_known} QPV sur {len(cov)}."


def population_years(cov: pd.DataFrame) -> dict[str, str]:
    """QPV code -> the year its known population describes, as written (data.provenance)."""
    known = cov[cov.population.notna()]
    if known.empty:
        return {}
    vals = access.latest_values([("qpv", c) for c in known.code], ["population"])
    vals = vals[vals.status == "ok"]
    return dict(zip(vals.code, vals.year_label))


def population_source(cov: pd.DataFrame) -> str | None:
    known = cov[cov.population.notna()]
    if known.empty:
        return None
    vals = access.latest_values([("qpv", c) for c in known.code], ["population"])
    vals = vals[vals.status == "ok"]
    src = sorted({f"{t} ({y})" for t, y in zip(vals.source_title, vals.year_label) if isinstance(t, str)})
    return "Population des QPV : " + " ; ".join(src) if src else None


def registry_coverage_text(scope) -> str | None:
    """What the page says of the registry on its scope: None when complete, else the sentence."""
    state = access.registry_state("schemes", scope)
    if state == "complete":
        return None
    if state == "absent":
        return ("Registre des dispositifs non chargé pour ce territoire : la couverture des quartiers par un ASV "
                "ou un CLS y est inconnue, pas nulle. Importez le registre (page Importer ou "
                "python -m etl import schemes) en déclarant le territoire qu'il couvre.")
    return ("Registre des dispositifs chargé pour une partie de ce territoire seulement : ailleurs, la couverture "
            "des quartiers est inconnue (en gris), pas nulle ; ces quartiers ne sont pas classés parmi les QPV "
            "sans ASV.")
