"""Atlas ASV benchmarks: `make bench` runs this script, which writes docs/benchmarks.md.

    .venv/bin/python tests/benchmarks/run.py [--runs 3] [--budget 570] [--port-base 0] [--quick]

What is measured (each figure is the median of several runs; the table gives the count):
- ETL: the demo build (data/demo), and a synthetic France-scale build (tests/benchmarks/synthetic.py:
  35,000 communes, 1,600 QPVs, ONPV and Filosofi tables, 100,000 actions in the import template),
  each in a child process: wall time, CPU time, peak memory, and the time of each loader;
- map payload: bytes of /geo/qpv.pbf (geobuf, what the app sends) for one région and for all
  France, against the same layer as plain GeoJSON (full and display geometry);
- browser (Playwright, Debian's headless Chromium): time from navigation until every QPV path
  of the Inégalités map is in the DOM, time from an indicator change until the fills change,
  and the bytes of the Dash callback responses of that change;
- server: p50 / p95 latency and errors of the page's callbacks replayed by 20 and 50 concurrent
  simulated users (loopback only, bounded in requests and time) against gunicorn with several
  workers, the way `make serve` runs it;
- the Actions and Couverture pages (tests/benchmarks/pages_bench.py): their layout, a filter
  change, the map's points, first render in the browser at France scale (100,000 actions), against
  the naive approach (every action and every row in the page); and the latency of 50 users while an
  import is applied to the served DB every 10 s;
- side by side: the same map drawn the naive way (tests/benchmarks/naive_app.py: full-geometry
  GeoJSON inline in a plain dl.GeoJSON, the whole GeoJSON re-sent on each indicator change).

Parts: this script (ETL, map payload, the report, main), common.py (targets, report, formatting,
servers), browser_bench.py, load_bench.py, pages_bench.py, naive_app.py, synthetic.py.

Everything runs on 127.0.0.1, in a temporary folder; the synthetic inputs are cached (they are
deterministic) under $ATLAS_BENCH_CACHE or the system temp folder. Servers started here are
stopped here, by their process id.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.benchmarks.browser_bench import bench_browser  # noqa: E402
from tests.benchmarks.common import (  # noqa: E402
    CHANGES, CHANGE_INDICATOR, CHROMIUM, CHROMIUM_ARGS, OUT, PY, Report, START_INDICATOR, Server,
    TARGET_BYTES, TARGET_CPU_CACHED, TARGET_CPU_UNCACHED, TARGET_LOAD_P95, WORKERS, fmt_bytes, fmt_value,
    fr, free_port, machine_info, median, percentile)
from tests.benchmarks.load_bench import bench_dev_server, bench_load, load_test  # noqa: E402


# ------------------------------------------------------------------------------ ETL (child processes)
def child_build(src: str, db: str) -> None:
    """Run in a child process: build `db` from `src`, print one JSON line with wall and CPU
    time, peak RSS and the seconds spent in each loader (load and finalize)."""
    import etl.build as build_mod

    spent: dict[str, float] = {}
    original = build_mod.loader_modules

    def timed(fn, key):
        def run(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[key] = spent.get(key, 0.0) + time.perf_counter() - t
        return run

    def timed_modules():
        mods = original()
        for m in mods:
            name = m.__name__.rsplit(".", 1)[-1]
            for fn in ("load", "finalize"):
                if hasattr(m, fn) and not getattr(getattr(m, fn), "_bench", False):
                    wrapped = timed(getattr(m, fn), f"{name}.{fn}")
                    wrapped._bench = True
                    setattr(m, fn, wrapped)
        return mods

    build_mod.loader_modules = timed_modules
    t0, c0 = time.perf_counter(), time.process_time()
    build_mod.build(Path(src), Path(db), fictional=True, kind="benchmark", progress=lambda *_: None)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                      "maxrss_mb": ru.ru_maxrss / 1024, "loaders": spent}))


def child_page(spec: str) -> None:
    """Run in a child process: the Inégalités page's server side for each (DB, scope) of
    `spec` (JSON list): layout time and size, hideout and table size per indicator, restyle
    time, scope-picker options. Prints one JSON line (a list)."""
    cases = json.loads(spec)
    os.environ["ATLAS_DB"] = cases[0][0]
    import plotly.utils

    import app  # noqa: F401  (registers the pages)
    from components import scope as scope_mod
    from data import access
    from data.views import inegalites as iv
    from pages import inegalites as ig

    size = lambda obj: len(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder).encode("utf-8"))  # noqa: E731
    results = []
    for db, scope in cases:
        access.configure(db)
        query = {"indicator": START_INDICATOR} | ({"scope": scope} if scope != "france" else {})
        times = []
        for _ in range(2):
            t = time.perf_counter()
            layout = ig.layout(**query)
            times.append(time.perf_counter() - t)
        out = {"layout_s": times, "layout_bytes": size(layout)}
        # What the page sends for its two searchable pickers, and the lists they search on the server.
        sent_scope, sent_qpv = ig._find(layout, "ineg-scope").options, ig._find(layout, "ineg-qpv-pick").options
        out["scope_options"], out["scope_options_bytes"] = len(sent_scope), size(sent_scope)
        out["scope_options_all"] = len(scope_mod.scope_options())
        out["qpv_options"], out["qpv_options_bytes"] = len(sent_qpv), size(sent_qpv)
        out["qpv_options_all"] = len(ig.qpv_options(scope_mod.parse_scope(scope)))
        out["page_callback_on_load"] = False     # the layout request holds the page (components/layout.py)
        def restyle(st):
            return ig.restyle_outputs("ineg-indicator", st.indicator, st.year, st.mode, st.ref, st.gap, st.method,
                                      st.k, st.breaks, st.palette, st.scope, None)

        restyle(ig.parse_state(query))      # the memory layer's per-version structures, built once
        uncached, cached = [], []
        states = [ig.parse_state(query | {"indicator": ind}) for ind in [START_INDICATOR] + CHANGES]
        states += [ig.parse_state(query | {"indicator": ind, "mode": "ecart", "ref": ref})
                   for ind, ref in ((START_INDICATOR, "commune"), (CHANGE_INDICATOR, "departement"))]
        for st in states:
            iv._compute.cache_clear()       # the view is computed: what the first person asking pays
            t = time.process_time()
            restyle(st)
            uncached.append(time.process_time() - t)
            t = time.process_time()
            restyle(st)                     # memoized: what the next fifty pay
            cached.append(time.process_time() - t)
        out["restyle_cpu_uncached"], out["restyle_cpu_cached"] = uncached, cached
        for ind in (START_INDICATOR, CHANGE_INDICATOR):
            st = ig.parse_state(query | {"indicator": ind})
            v = ig.compute_view(st)
            out[f"hideout_{ind}"] = size(iv.style(v, None, with_codes=False))
            out[f"style_with_codes_{ind}"] = size(iv.style(v))
            out[f"restyle_bytes_{ind}"] = size(restyle(st))
            out[f"table_{ind}"] = size(iv.table_page(v))
        out.update(_statistics_costs(query, size))
        results.append(out)
    print(json.dumps(results))


def _statistics_costs(query: dict, size) -> dict:
    """Issue 20 at this scale: the funnel callback (view computed / memoized), the intervals of a
    view vectorised against the naive loop (one library call per QPV), and the Fiche of a QPV
    (intervals, tests, default reference, comparable QPVs) first and second time."""
    import numpy as np

    from data import access, stats
    from data.views import intervals, portrait as vp
    from data.views import inegalites as iv
    from pages import fiche
    from pages import inegalites as ig

    st = ig.parse_state(query)
    args = (st.indicator, st.year, st.mode, st.ref, st.gap, st.method, st.k, st.breaks, st.palette, st.scope)
    out = {}
    iv._compute.cache_clear()
    t = time.process_time()
    fig, *_ = ig.funnel_outputs(*args, "95")
    out["funnel_cpu_uncached"] = time.process_time() - t
    t = time.process_time()
    ig.funnel_outputs(*args, "95")
    out["funnel_cpu_cached"] = time.process_time() - t
    out["funnel_bytes"] = size(fig)
    rows = access.values(st.indicator, "qpv", access.parse_scope(st.scope), period=st.year)
    ind = access.indicator(st.indicator)
    t = time.process_time()
    vec = intervals.with_intervals(rows, ind)
    out["intervals_vectorised_s"] = time.process_time() - t
    sp = intervals.spec(ind)
    t = time.process_time()
    naive = [stats.interval(sp.method, r.ci_num, r.ci_den, 0.95, sp.scale) if isinstance(r.ci_basis, str) else None
             for r in vec.itertuples()]
    out["intervals_naive_s"] = time.process_time() - t
    out["intervals_rows"] = int(vec.ci_basis.notna().sum())
    out["intervals_agree"] = all(n is None or abs(float(np.ravel(n[0])[0]) - lo) < 1e-9
                                 for n, lo in zip(naive, vec.ci_lo))
    if st.scope not in ("", "france", None) or len(rows) < 100:
        return out                         # the Fiche: once, at France scale
    code = rows[rows.status == "ok"].code.iloc[0]
    times = []
    for _ in range(2):
        t = time.perf_counter()
        fiche.layout(level="qpv", code=code)
        times.append(time.perf_counter() - t)
    out["fiche_layout_s"] = times
    out["fiche_default_test"] = vp.default_test_ref("qpv", code)
    return out


def bench_page(report: Report, dbs: dict, counts: dict) -> None:
    """Server side of the Inégalités page (one child process, outside any server)."""
    cases = [("demo", "france", "démo"), ("france", "france", "France synthétique, échelle France"),
             ("france", f"region:{counts['france']['largest_region']}", "France synthétique, échelle d'une région")]
    spec = json.dumps([[str(dbs[name]), scope] for name, scope, _ in cases])
    proc = subprocess.run([PY, __file__, "--child-page", spec], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1][:300] if proc.stderr.strip() else "?"
        report.notes.append(f"Page Inégalités : mesure côté serveur impossible ({last})")
        return
    for (name, scope, label), d in zip(cases, json.loads(proc.stdout.strip().splitlines()[-1])):
        report.add("Page", f"Inégalités ({label}) : calcul de la page par le serveur (layout)", d["layout_s"], "s")
        report.add("Page", f"Inégalités ({label}) : taille de la page envoyée (JSON du layout)",
                   [d["layout_bytes"]], "o",
                   note=f"dont sélecteur de territoire {fmt_bytes(d['scope_options_bytes'])} "
                        f"({fr(d['scope_options'])} options envoyées sur {fr(d['scope_options_all'])}, "
                        f"recherche côté serveur), liste des QPV {fmt_bytes(d['qpv_options_bytes'])} "
                        f"({fr(d['qpv_options'])} sur {fr(d['qpv_options_all'])})")
        key = "demo" if name == "demo" else "france"
        target = TARGET_CPU_UNCACHED[key] if scope == "france" else None
        unc = median(d["restyle_cpu_uncached"])
        report.add("Page", f"Inégalités ({label}) : temps CPU du serveur par changement d'indicateur, vue "
                   "calculée (première personne à la demander)", [x * 1000 for x in d["restyle_cpu_uncached"]],
                   "ms", f"≤ {fr(target * 1000)} ms" if target else "", (unc <= target) if target else None,
                   note=f"{len(d['restyle_cpu_uncached'])} vues différentes (indicateurs, écarts) ; la couche "
                        "mémoire déjà chargée")
        cac = median(d["restyle_cpu_cached"])
        report.add("Page", f"Inégalités ({label}) : temps CPU du serveur par changement d'indicateur, vue déjà "
                   "calculée (mémoïsée)", [x * 1000 for x in d["restyle_cpu_cached"]], "ms",
                   f"≤ {fr(TARGET_CPU_CACHED * 1000)} ms", cac <= TARGET_CPU_CACHED)
        report.add("Carte (octets)", f"Inégalités ({label}) : données de style seules (ce qui recolore la "
                   "carte : un caractère par QPV et les couleurs) par indicateur",
                   [d[f"hideout_{START_INDICATOR}"], d[f"hideout_{CHANGE_INDICATOR}"]], "o",
                   note=f"avec la liste des codes (mise en page, changement de territoire) : "
                        f"{fmt_bytes(d[f'style_with_codes_{CHANGE_INDICATOR}'])} ; page du tableau : "
                        f"{fmt_bytes(d[f'table_{CHANGE_INDICATOR}'])} ; réponse entière du rappel : "
                        f"{fmt_bytes(d[f'restyle_bytes_{CHANGE_INDICATOR}'])}")
        report.add("Statistiques", f"Inégalités ({label}) : temps CPU du graphique en entonnoir par changement, "
                   "vue calculée (première personne à la demander)", [d["funnel_cpu_uncached"] * 1000], "ms",
                   note=f"vue déjà calculée (rendu mémoïsé avec elle) : {fr(d['funnel_cpu_cached'] * 1000, 1)} ms ; "
                        f"figure envoyée : {fmt_bytes(d['funnel_bytes'])}")
        report.add("Statistiques", f"Inégalités ({label}) : intervalles de confiance de {fr(d['intervals_rows'])} QPV, "
                   "vectorisés (statsmodels sur tout le tableau)", [d["intervals_vectorised_s"] * 1000], "ms",
                   note=f"approche naïve (un appel par QPV) : {fr(d['intervals_naive_s'] * 1000, 1)} ms, "
                        f"{fr(d['intervals_naive_s'] / max(d['intervals_vectorised_s'], 1e-9), 1)} fois plus ; "
                        f"mêmes bornes : {'oui' if d['intervals_agree'] else 'NON'}")
        if "fiche_layout_s" in d:
            report.add("Statistiques", f"Fiche d'un QPV ({label}) : calcul de la page (intervalles, tests, "
                       "référence par défaut, QPV comparables, évolution), première fois", d["fiche_layout_s"][:1],
                       "s", note=f"deuxième fois (contenu mémoïsé par version de la base) : "
                                 f"{fr(d['fiche_layout_s'][1] * 1000, 1)} ms ; référence des tests par défaut : "
                                 f"{d['fiche_default_test']}")
        report.info.setdefault("page", {})[f"{name}:{scope}"] = d
        if d["scope_options_bytes"] > 0.5 * d["layout_bytes"] and d["scope_options_bytes"] > 500_000:
            report.notes.append(
                f"Page Inégalités ({label}) : le sélecteur de territoire (components/scope.py) envoie "
                f"{fr(d['scope_options'])} options ({fmt_bytes(d['scope_options_bytes'])}, "
                f"{fr(100 * d['scope_options_bytes'] / d['layout_bytes'])} % de la page) : toutes les communes "
                "à chaque chargement de page ; le navigateur met ensuite plusieurs secondes à les traiter avant "
                "même de demander les géométries de la carte.")


def run_child_build(src: Path, db: Path, timeout: float) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([PY, __file__, "--child-build", str(src), str(db)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"build failed ({src}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_outer"] = time.perf_counter() - t
    return out


def synthetic_key() -> str:
    """The version of the synthetic inputs: their generator, the demo code it builds on, its seed."""
    from tests.benchmarks import synthetic

    demo_code = b"".join(p.read_bytes() for p in sorted((REPO / "etl" / "demo").glob("*.py")))
    if not demo_code:
        raise FileNotFoundError(REPO / "etl" / "demo")
    return hashlib.sha1(Path(synthetic.__file__).read_bytes() + demo_code
                        + str(synthetic.SEED).encode()).hexdigest()[:12]


def synthetic_inputs(report: Report) -> Path:
    """The synthetic France folder, generated once per generator version (cached)."""
    from tests.benchmarks import synthetic

    key = synthetic_key()
    root = Path(os.environ.get("ATLAS_BENCH_CACHE", Path(tempfile.gettempdir()) / "atlas-bench-cache"))
    dest = root / f"france-{key}"
    done = dest / "SYNTHETIQUE.txt"
    if done.exists():
        counts = json.loads(done.read_text(encoding="utf-8").splitlines()[1])
        report.notes.append(f"Entrées synthétiques reprises du cache ({dest}) : générées lors d'une exécution "
                            f"précédente en {fr(counts['seconds']['total'], 0)} s.")
    else:
        if dest.exists():
            shutil.rmtree(dest)
        tmp = root / f".tmp-{key}-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        proc = subprocess.run([PY, synthetic.__file__, str(tmp)], cwd=REPO, capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"synthetic generation failed:\n{proc.stderr[-3000:]}")
        counts = json.loads(proc.stdout.strip().splitlines()[-1])
        report.add("ETL", "Génération des entrées synthétiques France (une fois, puis cache)",
                   [time.perf_counter() - t], "s")
        tmp.rename(dest)
    report.info["synthetic"] = counts
    return dest


def bench_etl(report: Report, work: Path, runs: int, france_runs: int, deadline: float) -> tuple[Path, Path]:
    from etl import demo
    from etl.config import DEMO_DIR

    src = DEMO_DIR
    if not demo.is_complete(src):
        src = work / "demo-src"
        demo.generate(src)
    demo_db = work / "demo.duckdb"
    res = [run_child_build(src, demo_db, 600) for _ in range(runs)]
    report.add("ETL", "Construction de la démo (data/demo → fichier temporaire), durée", [r["wall"] for r in res], "s")
    report.add("ETL", "Construction de la démo, temps CPU", [r["cpu"] for r in res], "s")
    report.add("ETL", "Construction de la démo, mémoire maximale (RSS du processus)",
               [r["maxrss_mb"] for r in res], "Mo")

    fr_src = synthetic_inputs(report)
    france_db = work / "france.duckdb"
    res = []
    for i in range(max(1, france_runs)):
        if i and time.monotonic() > deadline - 420:
            report.notes.append(f"Construction France : {i} exécution(s) au lieu de {france_runs} (budget de temps).")
            break
        res.append(run_child_build(fr_src, france_db, 1500))
    c = report.info["synthetic"]
    what = (f"{fr(c['communes'])} communes, {fr(c['qpv2024'])} QPV 2024 (+{fr(c['qpv2015'])} de 2015), "
            f"{c['departements']} départements, {fr(c['epci'])} EPCI, tableaux ONPV et Filosofi, "
            f"{fr(c['actions'])} actions")
    report.add("ETL", f"Construction France synthétique ({what}), durée", [r["wall"] for r in res], "s")
    report.add("ETL", "Construction France synthétique, temps CPU", [r["cpu"] for r in res], "s")
    report.add("ETL", "Construction France synthétique, mémoire maximale (RSS du processus)",
               [r["maxrss_mb"] for r in res], "Mo")
    keys = sorted({k for r in res for k in r["loaders"]}, key=lambda k: -res[-1]["loaders"].get(k, 0))
    for k in keys:
        loader, fn = k.split(".")
        label = {"user_files": "import des dispositifs et des 100 000 actions (user_files)"}.get(loader, loader)
        report.add("ETL", f"  dont chargeur {label}{' (finalize)' if fn == 'finalize' else ''}",
                   [r["loaders"].get(k, 0.0) for r in res], "s")
    report.info["france_build"] = res[-1]
    return demo_db, france_db


# ------------------------------------------------------------------------------ map payload
def _db_counts(db: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        out = {
            "qpv": q("SELECT count(*) FROM territory WHERE level='qpv' AND generation='2024' "
                     "AND geom_display IS NOT NULL"),
            "communes": q("SELECT count(*) FROM territory WHERE level='commune' AND geom_display IS NOT NULL"),
            "departements": q("SELECT count(*) FROM territory WHERE level='departement' "
                              "AND geom_display IS NOT NULL"),
            "values": q("SELECT count(*) FROM indicator_value"), "actions": q("SELECT count(*) FROM action"),
            "largest_region": con.execute("SELECT region, count(*) n FROM territory WHERE level='qpv' AND "
                                          "generation='2024' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 1").fetchone(),
        }
        out["qpv_region"] = out["largest_region"][1]
        out["largest_region"] = out["largest_region"][0]
        out["communes_region"] = con.execute(
            "SELECT count(*) FROM territory WHERE level='commune' AND geom_display IS NOT NULL AND region = ?",
            [out["largest_region"]]).fetchone()[0]
        return out
    finally:
        con.close()


def _geojson_bytes(db: Path, simplified: bool) -> int:
    """The QPV layer as a plain GeoJSON FeatureCollection (same properties as the geobuf)."""
    import duckdb
    import shapely

    con = duckdb.connect(str(db), read_only=True)
    col = "geom_display" if simplified else "geom"
    try:
        rows = con.execute(f"SELECT code, name, {col} FROM territory WHERE level='qpv' AND generation='2024' "
                           f"AND {col} IS NOT NULL ORDER BY code").fetchall()
    finally:
        con.close()
    geoms = shapely.to_geojson(shapely.from_wkb([bytes(r[2]) for r in rows]))
    feats = ['{"type":"Feature","id":%d,"geometry":%s,"properties":%s}'
             % (i, g, json.dumps({"code": c, "name": n}, ensure_ascii=False, separators=(",", ":")))
             for i, ((c, n, _), g) in enumerate(zip(rows, geoms))]
    return len(('{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}").encode("utf-8"))


def bench_payload(report: Report, servers: dict, dbs: dict, counts: dict, runs: int) -> dict:
    import requests

    sizes = {}
    for name, label in (("demo", "démo (1 région)"), ("france", "France synthétique")):
        base = servers[name].base
        cases = [("France entière" if name == "france" else "toute la base", "/geo/qpv.pbf")]
        if name == "france":
            cases.append((f"une région ({counts[name]['qpv_region']} QPV)",
                          f"/geo/qpv.pbf?scope=region:{counts[name]['largest_region']}"))
        else:
            cases.append(("scope région 99", "/geo/qpv.pbf?scope=region:99"))
        for case, path in cases:
            times, body = [], b""
            for _ in range(runs + 1):
                t = time.perf_counter()
                r = requests.get(base + path, timeout=120)
                times.append(time.perf_counter() - t)
                r.raise_for_status()
                body = r.content
            sizes[(name, path)] = len(body)
            n_qpv = counts[name]["qpv"] if "scope=region" not in path or name == "demo" else counts[name]["qpv_region"]
            target = ""
            ok = None
            if name == "france" and path == "/geo/qpv.pbf":
                target, ok = "< 1 Mo", len(body) < TARGET_BYTES
            report.add("Carte (octets)", f"Couche QPV {label}, {case} : /geo/qpv.pbf (geobuf), {fr(n_qpv)} QPV",
                       [len(body)], "o", target, ok,
                       note=f"gzip : {fmt_bytes(len(gzip.compress(body, 6)))} ; 1re requête {fr(times[0], 2)} s, "
                            f"suivantes {fr(median(times[1:]) or 0, 3)} s")
        report.info.setdefault("qpv_pbf", {})[name] = sizes[(name, "/geo/qpv.pbf")]
        full = _geojson_bytes(dbs[name], simplified=False)
        disp = _geojson_bytes(dbs[name], simplified=True)
        sizes[(name, "geojson_full")] = full
        sizes[(name, "geojson_display")] = disp
        pbf = sizes[(name, "/geo/qpv.pbf")]
        report.add("Carte (octets)", f"Même couche ({label}) en GeoJSON, géométrie complète", [full], "o",
                   note=f"× {fr(full / pbf, 1)} la taille geobuf")
        report.add("Carte (octets)", f"Même couche ({label}) en GeoJSON, géométrie d'affichage", [disp], "o",
                   note=f"× {fr(disp / pbf, 1)} la taille geobuf")
        t = time.perf_counter()
        r = requests.get(base + "/geo/commune.pbf", timeout=600)
        cold = time.perf_counter() - t
        sizes[(name, "communes")] = len(r.content)
        report.add("Carte (octets)", f"Communes {label} en une couche (/geo/commune.pbf), "
                   f"{fr(counts[name]['communes'])} communes", [len(r.content)], "o",
                   note=f"la couche entière, telle que la route la sert sans scope ; 1re requête (encodage "
                        f"par le worker) {fr(cold, 1)} s")
        if name == "france":
            report.info["communes_bytes"] = len(r.content)
        reg = counts[name]["largest_region"]
        warm_workers(base, ["/geo/qpv.pbf", "/geo/departement.pbf", f"/geo/qpv.pbf?scope=region:{reg}",
                            f"/geo/commune.pbf?scope=region:{reg}"])
    return sizes


def warm_workers(base: str, paths: list[str], n: int = WORKERS) -> None:
    """Fill each gunicorn worker's geometry caches: n concurrent requests per path reach n
    different sync workers (each serves one request at a time)."""
    import requests

    def get(path):
        try:
            requests.get(base + path, timeout=600)
        except requests.RequestException:
            pass

    for path in paths:
        threads = [threading.Thread(target=get, args=(path,)) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


# ------------------------------------------------------------------------------ output
def write_markdown(report: Report, path: Path, elapsed: float) -> None:
    i = report.info
    load_end = os.getloadavg()
    lines = [
        "# Mesures de performance",
        "",
        "Produit par `make bench` (`tests/benchmarks/run.py`) ; ne pas modifier à la main, relancer la commande.",
        "Chaque chiffre est la **médiane** de plusieurs exécutions (colonne « n ») ; « min – max » donne",
        "l'étendue. Les cibles viennent des tickets (3 : couche QPV France < 1 Mo ; 9 : faire mieux que",
        "l'approche naïve dans la même exécution, 1er rendu, changement d'indicateur, temps CPU du serveur,",
        "octets par changement, latence sous 50 utilisateurs et sur un seul processus).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| Date | {i['date']} |",
        f"| Processeurs (nproc) | {i['nproc']} |",
        f"| Mémoire | {fr(i['ram_gib'], 1) if i.get('ram_gib') else 'n.d.'} Gio |",
        f"| Processeur | {i['cpu']} |",
        f"| Chromium | {i.get('chromium_playwright') or i['chromium']} (`{CHROMIUM}`, headless) |",
        f"| Python / DuckDB | {i['python']} / {i['duckdb']} |",
        f"| Charge moyenne (1, 5, 15 min) au début / à la fin | "
        f"{' ; '.join(fr(x, 1) for x in i['load_start'])} / {' ; '.join(fr(x, 1) for x in load_end)} |",
        f"| Commit | {i['commit']} |",
        f"| Durée totale de `make bench` | {fr(elapsed, 0)} s |",
        "",
    ]
    busy = max(i["load_start"][0], load_end[0]) > (i["nproc"] or 1)
    if busy:
        lines += ["> **Attention** : la machine était chargée par d'autres processus pendant la mesure (charge",
                  "> moyenne supérieure au nombre de processeurs) ; les durées sont plus longues qu'à vide. Les",
                  "> tailles en octets ne dépendent pas de la charge.", ""]
    sections = [("ETL", "Chargement (ETL)"), ("Carte (octets)", "Carte : octets envoyés"),
                ("Page", "Pages Inégalités, Actions et Couverture : côté serveur (processus seul, hors navigateur)"),
                ("Statistiques", "Statistiques : entonnoir, intervalles de confiance, Fiche (côté serveur, processus seul)"),
                ("Navigateur", "Navigateur (Chromium headless)"), ("Serveur", "Serveur (gunicorn, boucle locale)"),
                ("Naïf", "Comparaison avec l'approche naïve (GeoJSON complet en ligne dans un dl.GeoJSON)")]
    for key, title in sections:
        rows = [r for r in report.rows if r.section == key]
        if not rows:
            continue
        lines += [f"## {title}", "", "| Mesure | Médiane | n | min – max | Cible | Remarque |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            vals = [v for v in r.values if v is not None]
            spread = (f"{fmt_value(min(vals), r.unit)} – {fmt_value(max(vals), r.unit)}"
                      if len(vals) > 1 and r.unit != "txt" else "")
            target = f"{r.target} : {'atteinte' if r.ok else '**manquée**'}" if r.ok is not None else r.target
            lines.append(f"| {r.measure} | {fmt_value(r.value, r.unit)} | {len(vals)} | {spread} | {target} | "
                         f"{r.note} |")
        lines.append("")
    missed = [r for r in report.rows if r.ok is False]
    lines += ["## Constats", ""]
    if missed:
        for r in missed:
            lines.append(f"- Cible **manquée** : {r.measure} = {fmt_value(r.value, r.unit)} (cible {r.target}).")
    else:
        lines.append("- Toutes les cibles mesurées sont atteintes.")
    lines += [f"- {n}" for n in report.notes]
    lines += ["", "## Méthode", "",
              "- ETL : `etl.build.build` dans un processus enfant (durée murale, temps CPU, RSS maximal du "
              "processus), sur `data/demo` et sur un dossier synthétique France aux formats officiels "
              "(`tests/benchmarks/synthetic.py`, déterministe, entièrement fictif, posé dans l'Atlantique) ; "
              "le détail par chargeur mesure leurs fonctions `load` et `finalize`.",
              "- Octets : corps des réponses HTTP de gunicorn (sans compression ; la colonne remarque donne la "
              "taille gzip qu'un proxy inverse enverrait) ; GeoJSON de comparaison = mêmes entités et propriétés "
              "(code, nom), géométrie complète ou d'affichage, sans espaces.",
              "- Navigateur : Playwright et Chromium headless, un contexte neuf par exécution (pas de cache "
              "navigateur) ; avant les mesures, chaque worker a déjà encodé ses geobuf (requêtes simultanées, "
              "comme sur un serveur en service) ; « 1er rendu » = de la navigation jusqu'à ce que "
              "tous les tracés SVG de la couche QPV soient dans le DOM ; « changement d'indicateur » = du "
              "clic sur l'option de la liste jusqu'au changement des couleurs de remplissage ; octets des "
              "rappels = `decodedBodySize` des réponses `/_dash-update-component` (Resource Timing), JSON "
              "décompressé (l'application compresse ses réponses, l'approche naïve non ; les rapports "
              "comparent donc les tailles décompressées), la taille sur le réseau (`encodedBodySize`) en remarque.",
              f"- Serveur : `gunicorn --workers {WORKERS} app:server` (comme `make serve`) ; chaque "
              "utilisateur simulé (un fil Python) charge la page (HTML, mise en page, dépendances, geobuf des "
              "QPV ; la requête de mise en page porte l'adresse de la page, comme celle d'un navigateur, et "
              "contient la page) puis rejoue une fois, dans l'ordre, les rappels Dash enregistrés dans une vraie "
              f"session (les {len(CHANGES)} changements d'indicateur) sans pause ; tous partent ensemble ; délai "
              "de 60 s par "
              "requête et temps imparti global indiqué dans le tableau (les requêtes restantes ne sont pas "
              "envoyées et comptent comme manquées) ; une seule passe par nombre d'utilisateurs, les centiles "
              "portent sur toutes les requêtes de la passe ; le client tourne sur la même machine à 2 cœurs "
              "que le serveur.",
              "- Temps CPU du serveur : `time.process_time()` autour de `restyle_outputs` (le rappel d'un "
              "changement d'indicateur), dans un processus seul, la couche mémoire chargée ; « vue calculée » : "
              "le cache des vues vidé avant chaque mesure ; « vue mémoïsée » : la même demande juste après.",
              "- Serveur de développement : `python app.py` (Flask, un fil par requête), 20 requêtes identiques "
              "d'un changement d'indicateur envoyées ensemble.",
              "- Approche naïve : `tests/benchmarks/naive_app.py`, même base, mêmes valeurs, 5 classes par "
              "quantiles, GeoJSON complet dans `dl.GeoJSON(data=…)`, renvoyé en entier à chaque changement.",
              ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


# ------------------------------------------------------------------------------ main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Atlas ASV benchmarks -> docs/benchmarks.md")
    ap.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    ap.add_argument("--france-builds", type=int, default=2,
                    help="synthetic France builds (default 2; the second one only if time allows)")
    ap.add_argument("--budget", type=float, default=570, help="seconds; runs are cut to stay within it")
    ap.add_argument("--port-base", type=int, default=0, help="first port (then +10...); 0: any free port")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--keep", help="keep the work folder (DBs, logs) here")
    ap.add_argument("--skip-etl", action="store_true",
                    help="(development) reuse demo.duckdb and france.duckdb of the --keep folder")
    ap.add_argument("--child-build", nargs=2, metavar=("SRC", "DB"), help=argparse.SUPPRESS)
    ap.add_argument("--child-page", metavar="JSON", help=argparse.SUPPRESS)
    ap.add_argument("--child-pages", metavar="JSON", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_pages:
        from tests.benchmarks import pages_bench

        pages_bench.child_pages(args.child_pages)
        return 0
    if args.child_build:
        child_build(*args.child_build)
        return 0
    if args.child_page:
        child_page(args.child_page)
        return 0
    if not Path(CHROMIUM).exists():
        print(f"Chromium absent ({CHROMIUM}) : installez le paquet Debian « chromium ».", file=sys.stderr)
        return 2

    started = time.monotonic()
    deadline = started + args.budget
    report = Report(info=machine_info())
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="atlas-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    servers: dict[str, Server] = {}
    try:
        print("ETL…", flush=True)
        if args.skip_etl:
            demo_db, france_db = work / "demo.duckdb", work / "france.duckdb"
            report.notes.append("ETL non mesuré dans cette exécution (--skip-etl).")
        else:
            demo_db, france_db = bench_etl(report, work, args.runs, args.france_builds, deadline)
        dbs = {"demo": demo_db, "france": france_db}
        counts = {k: _db_counts(v) for k, v in dbs.items()}
        report.info["counts"] = counts
        print("Servers…", flush=True)
        ports = iter(range(args.port_base, args.port_base + 100, 10)) if args.port_base else None
        for name, module, db, workers in (("demo", "app:server", demo_db, WORKERS),
                                          ("france", "app:server", france_db, WORKERS),
                                          ("demo-naive", "tests.benchmarks.naive_app:server", demo_db, 2),
                                          ("france-naive", "tests.benchmarks.naive_app:server", france_db, 2)):
            port = free_port(next(ports) if ports else 0)
            servers[name] = Server(module, db, port, workers, work / f"gunicorn-{name}.log")
            servers[name].wait()   # one at a time: a dozen workers importing Dash at once on 2 cores is slow
        print("Payload…", flush=True)
        bench_payload(report, servers, dbs, counts, args.runs)
        for name in ("demo-naive", "france-naive"):
            warm_workers(servers[name].base, ["/_dash-layout"], 2)
        print("Page (server side)…", flush=True)
        bench_page(report, dbs, counts)
        from tests.benchmarks import pages_bench

        pages_bench.bench_pages(report, dbs, PY, REPO, __file__, fmt_bytes, fr)

        from data import access
        access.configure(france_db)
        ind = access.indicators()
        labels = {r.indicator_id: f"{r.family.capitalize()} — {r.label}" for r in ind.itertuples(index=False)}
        print("Browser…", flush=True)
        shots = Path(os.environ.get("ATLAS_SCREENSHOTS", "/tmp/atlas-screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        _, captured = bench_browser(report, servers, counts, labels, args.runs, deadline - 240, shots)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                pages_bench.bench_pages_browser(report, browser, servers, counts["france"]["qpv"], 2, fmt_bytes, fr,
                                                median, WORKERS)
            finally:
                browser.close()
        print("Load…", flush=True)
        for name in ("demo-naive", "france-naive"):
            servers.pop(name).stop()
        bench_load(report, servers["demo"], captured["demo-atlas"], f"/inegalites?indicator={START_INDICATOR}",
                   "démo, page Inégalités", p95_target=TARGET_LOAD_P95["demo"])
        reg = counts["france"]["largest_region"]
        bench_load(report, servers["france"], captured["france-region"],
                   f"/inegalites?indicator={START_INDICATOR}&scope=region:{reg}",
                   "France synthétique, page Inégalités à l'échelle d'une région", max_seconds=60,
                   p95_target=TARGET_LOAD_P95["region"])
        pages_bench.bench_load_under_writes(report, servers["france"], captured["france-region"],
                                            f"/inegalites?indicator={START_INDICATOR}&scope=region:{reg}",
                                            "France synthétique, page Inégalités à l'échelle d'une région",
                                            france_db, load_test, percentile, fr, WORKERS)
        for s in servers.values():
            s.stop()
        servers.clear()
        print("Dev server…", flush=True)
        bench_dev_server(report, demo_db, captured["demo-atlas"], work)
    finally:
        for s in servers.values():
            s.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    if elapsed > 600:
        report.notes.append(f"Durée totale {fr(elapsed, 0)} s : au-delà des 10 minutes visées.")
    write_markdown(report, Path(args.out), elapsed)
    print(f"Écrit : {args.out} ({fr(elapsed, 0)} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
