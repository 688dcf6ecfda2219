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

Everything runs on 127.0.0.1, in a temporary folder; the synthetic inputs are cached (they are
deterministic) under $ATLAS_BENCH_CACHE or the system temp folder. Servers started here are
stopped here, by their process id.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

PY = sys.executable
CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
OUT = REPO / "docs" / "benchmarks.md"
TARGET_BYTES = 1_000_000       # issue 3: all-France QPV layer under 1 MB
# Issue 9 (per case: demo, one région of the synthetic France, all of it)
TARGET_FIRST_RENDER = {"demo": 1.3, "region": 2.0, "france": 2.0}
TARGET_RESTYLE = {"demo": 0.2, "region": 0.2, "france": 0.3}
TARGET_RATIO = {"demo": 1.2, "france": 2.0}                 # naive / Atlas, first render and indicator change
TARGET_CPU_UNCACHED = {"demo": 0.010, "france": 0.030}      # server CPU per restyle, view not memoized
TARGET_CPU_CACHED = 0.002
TARGET_LOAD_P95 = {"demo": 0.3, "region": 0.6}              # 50 users: callback p95
TARGET_DEV_P95 = 0.5                                        # 20 identical restyles on one dev-server process
TARGET_CHANGE_BYTES = 40_000                                # France scale, decoded
START_INDICATOR = "taux_pauvrete_60"
CHANGE_INDICATOR = "revenu_median_uc"
# The three indicator changes of a session (browser, and replayed by the simulated users).
CHANGES = ["revenu_median_uc", "part_c2s", "taux_emploi_15_64"]
WORKERS = 4                    # as `make serve` (Makefile WORKERS)


# ------------------------------------------------------------------------------ statistics
def percentile(values, p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between order statistics
    (numpy's default); None when there is no value."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    return float(np.percentile(vals, p))


def median(values) -> float | None:
    return percentile(values, 50)


@dataclass
class Row:
    section: str
    measure: str
    values: list
    unit: str                  # "s", "o" (bytes), "Mo" (RSS), "n", "%", "x", "txt"
    target: str = ""
    ok: bool | None = None     # None: no target
    note: str = ""

    @property
    def value(self):
        if self.unit == "txt":
            return self.values[0] if self.values else ""
        return median(self.values)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def add(self, *a, **kw) -> Row:
        r = Row(*a, **kw)
        self.rows.append(r)
        print(f"  {r.section} | {r.measure}: {fmt_value(r.value, r.unit)} (n={len(r.values)})"
              + (f" [{'OK' if r.ok else 'MANQUÉ'} {r.target}]" if r.ok is not None else ""), flush=True)
        return r


# ------------------------------------------------------------------------------ formatting (French)
def fr(x: float, decimals: int = 0) -> str:
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def fmt_bytes(n: float) -> str:
    if n >= 1_000_000:
        return f"{fr(n)} o ({fr(n / 1_000_000, 2)} Mo)"
    if n >= 10_000:
        return f"{fr(n)} o ({fr(n / 1000, 1)} ko)"
    return f"{fr(n)} o"


def fmt_value(v, unit: str) -> str:
    if v is None:
        return "n.d."
    if unit == "txt":
        return str(v)
    if unit == "s":
        return f"{fr(v, 2 if v < 10 else 1)} s"
    if unit == "ms":
        return f"{fr(v, 1 if v < 10 else 0)} ms"
    if unit == "o":
        return fmt_bytes(v)
    if unit == "Mo":
        return f"{fr(v, 0)} Mo"
    if unit == "x":
        return f"× {fr(v, 1)}"
    if unit == "%":
        return f"{fr(v, 1)} %"
    return fr(v, 0)


# ------------------------------------------------------------------------------ machine
def machine_info() -> dict:
    info = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        info["ram_gib"] = round(int(mem) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        info["ram_gib"] = None
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "n.d."
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout
        info["chromium"] = out.strip() or "n.d."
    except (OSError, subprocess.SubprocessError):
        info["chromium"] = "absent"
    try:
        import duckdb
        info["duckdb"] = duckdb.__version__
    except ImportError:
        info["duckdb"] = "n.d."
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                        text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["commit"] = "n.d."
    info["load_start"] = os.getloadavg()
    return info


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


# ------------------------------------------------------------------------------ servers
def free_port(preferred: int = 0) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1, as `make serve` starts it; stopped by its own pid."""

    def __init__(self, module: str, db: Path, port: int, workers: int, log: Path):
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, ATLAS_DB=str(db), PYTHONPATH=str(REPO))
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [str(Path(PY).with_name("gunicorn")), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--timeout", "120", "--no-control-socket", module], cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, path: str = "/", timeout: float = 300) -> None:
        import requests

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log.name}")
            try:
                if requests.get(self.base + path, timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn not ready after {timeout} s ({self.base})")

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker (children of the gunicorn master), from /proc."""
        out = []
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return out
        for pid in kids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


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


# ------------------------------------------------------------------------------ browser
JS_COUNT = "([sel, n]) => document.querySelectorAll(sel).length >= n ? performance.now() : false"
JS_FILLS = "(sel) => Array.from(document.querySelectorAll(sel), p => p.getAttribute('fill')).join(',')"
JS_FILLS_CHANGED = """([sel, before]) => {
    const now = Array.from(document.querySelectorAll(sel), p => p.getAttribute('fill')).join(',');
    return now !== before ? performance.now() : false;
}"""
JS_ARM = """() => {
    window.__benchT0 = null;
    document.addEventListener('pointerdown', () => { window.__benchT0 = performance.now(); }, true);
}"""
JS_RESOURCES = """(t0) => performance.getEntriesByType('resource').filter(e => e.startTime >= t0).map(e => ({
    name: e.name, start: e.startTime, end: e.responseEnd, bytes: e.decodedBodySize, wire: e.encodedBodySize,
    transfer: e.transferSize}))"""
JS_BUSY = "() => !!document.querySelector('[data-dash-is-loading=\"true\"]')"
JS_PATH_WATCH = """
window.__lastPathAdd = 0;
new MutationObserver((muts) => {
  for (const m of muts) {
    for (const n of m.addedNodes) {
      if (n.nodeName === 'path' || (n.querySelector && n.querySelector('path'))) {
        window.__lastPathAdd = performance.now();
        return;
      }
    }
  }
}).observe(document, {childList: true, subtree: true});
"""


def _kind(url: str) -> str:
    if "_dash-update-component" in url:
        return "callback"
    if "/geo/" in url:
        return "geo"
    if "_dash-layout" in url:
        return "layout"
    return "static"


def _wait_quiet(page, since: float, quiet_s: float = 1.0, timeout_s: float = 60) -> list[dict]:
    """Callback responses after `since`, once none has started for `quiet_s` and none is pending."""
    end = time.monotonic() + timeout_s
    last_n, last_change = -1, time.monotonic()
    entries: list[dict] = []
    while time.monotonic() < end:
        entries = page.evaluate(JS_RESOURCES, since)
        n = len(entries)
        if n != last_n:
            last_n, last_change = n, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s and not page.evaluate(JS_BUSY):
            break
        page.wait_for_timeout(150)
    return entries


def _choose(page, dropdown_id: str, label: str) -> None:
    """Pick an option of a Dash 4 dropdown as a person does: open, type, click."""
    page.locator(f"#{dropdown_id}").click()
    search = page.get_by_placeholder("Rechercher")
    if search.count():
        search.last.fill(label[:40])
    # the option whose label begins with `label` (Inégalités' labels end with the reference levels)
    page.locator(".dash-dropdown-content label.dash-dropdown-option",
                 has=page.get_by_label(re.compile("^" + re.escape(label)))).first.click()


def _cpu_top(profile: dict, n: int = 2) -> list[tuple[str, str, float]]:
    """(script file, heaviest function, ms of self time) of the scripts that used the most CPU
    in a CDP CPU profile; idle, program and garbage-collector time left out."""
    nodes = {node["id"]: node["callFrame"] for node in profile.get("nodes", [])}
    by_file: dict[str, float] = {}
    by_fn: dict[tuple[str, str], float] = {}
    for sid, dt_us in zip(profile.get("samples", []), profile.get("timeDeltas", [])):
        cf = nodes.get(sid)
        if not cf or not cf.get("url"):
            continue
        f = cf["url"].split("?")[0].rsplit("/", 1)[-1]
        by_file[f] = by_file.get(f, 0.0) + dt_us / 1000
        key = (f, cf.get("functionName") or "(anonyme)")
        by_fn[key] = by_fn.get(key, 0.0) + dt_us / 1000
    out = []
    for f, ms in sorted(by_file.items(), key=lambda kv: -kv[1])[:n]:
        fn = max((k for k in by_fn if k[0] == f), key=lambda k: by_fn[k])[1]
        out.append((f, fn, ms))
    return out


def browse_once(browser, url: str, map_sel: str, paths_sel: str, n_paths: int, full: bool,
                dropdown_id: str, option_labels: list[str], capture: list | None = None,
                screenshot: Path | None = None, timeout_ms: int = 120_000, full_timeout_ms: int = 120_000,
                cpu_profile: bool = False) -> dict:
    """One visit in a fresh browser context. `first_render`: navigation -> every QPV path in
    the DOM. `full_render` (when `full`): the last SVG path added to the page once every
    geometry request has finished and nothing was added for a second (basemap included).
    Then one indicator change per label of `option_labels`, each timed until the fills change."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    page = ctx.new_page()
    page.add_init_script(JS_PATH_WATCH)
    errors: list[str] = []
    geo: dict[str, int] = {"inflight": 0}
    geo_urls: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    def on_request(r) -> None:
        if "/geo/" in r.url:
            geo["inflight"] += 1
            geo_urls.append(r.url.split("/geo/", 1)[1])
        if capture is not None and "/_dash-update-component" in r.url and r.method == "POST":
            capture.append(r.post_data)

    def on_done(r) -> None:
        if "/geo/" in r.url:
            geo["inflight"] -= 1

    page.on("request", on_request)
    page.on("requestfinished", on_done)
    page.on("requestfailed", on_done)
    cdp = None
    if cpu_profile:   # where the browser's main thread spends the time until the first render
        cdp = ctx.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
        cdp.send("Profiler.start")
    try:
        page.goto(url, wait_until="commit")
        first = page.wait_for_function(JS_COUNT, arg=[paths_sel, n_paths], polling="raf",
                                       timeout=timeout_ms).json_value()
        cpu_top = _cpu_top(cdp.send("Profiler.stop")["profile"]) if cdp else []
        full_at = None
        if full:
            end = time.monotonic() + full_timeout_ms / 1000
            while time.monotonic() < end:
                last, now = page.evaluate("() => [window.__lastPathAdd, performance.now()]")
                if geo["inflight"] == 0 and now - last > 1000:
                    full_at = last
                    break
                page.wait_for_timeout(250)
        n_map_paths = page.evaluate("(sel) => document.querySelectorAll(sel + ' path').length", map_sel)
        steps = page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const lay = performance.getEntriesByType('resource').find(e => e.name.includes('_dash-layout'));
            const geo = performance.getEntriesByType('resource').filter(e => e.name.includes('/geo/qpv'));
            return {dcl: nav ? nav.domContentLoadedEventEnd : null, layout: lay ? lay.responseEnd : null,
                    geo: geo.length ? geo[0].responseEnd : null};
        }""")
        load_entries = _wait_quiet(page, 0.0)
        cbs = sorted((e for e in load_entries if _kind(e["name"]) == "callback"), key=lambda e: e["start"])
        content_at = cbs[0]["end"] / 1000 if cbs else None   # the page-content callback comes first
        loaded = {}
        for e in load_entries:
            loaded[_kind(e["name"])] = loaded.get(_kind(e["name"]), 0) + e["bytes"]
        if screenshot:
            page.screenshot(path=str(screenshot))
        page.evaluate(JS_ARM)
        changes = []
        for label in option_labels:
            before = page.evaluate(JS_FILLS, paths_sel)
            if capture is not None:
                capture.append("--change--")
            _choose(page, dropdown_id, label)
            changed = page.wait_for_function(JS_FILLS_CHANGED, arg=[paths_sel, before], polling="raf",
                                             timeout=timeout_ms).json_value()
            t0 = page.evaluate("() => window.__benchT0")
            cb = [e for e in _wait_quiet(page, t0) if _kind(e["name"]) == "callback"]
            changes.append({"restyle": (changed - t0) / 1000,
                            "callbacks_done": (max(e["end"] for e in cb) - t0) / 1000 if cb else None,
                            "bytes": sum(e["bytes"] for e in cb), "requests": len(cb),
                            "wire": sum(e["wire"] for e in cb)})
        first_change = changes[0]
        return {"first_render": first / 1000, "full_render": full_at / 1000 if full_at else None,
                "map_paths": n_map_paths, "geo_urls": geo_urls, "content_at": content_at, "cpu_top": cpu_top,
                "load_callbacks": len(cbs), "steps": steps, "restyle": median([c["restyle"] for c in changes]),
                "restyles": [c["restyle"] for c in changes],
                "callbacks_done": first_change["callbacks_done"],
                "change_bytes": median([c["bytes"] for c in changes]), "change_requests": first_change["requests"],
                "change_wire": median([c["wire"] for c in changes]),
                "load_bytes": loaded, "errors": errors}
    finally:
        ctx.close()


def _cases(servers: dict, counts: dict, labels: dict) -> list[dict]:
    """The pages measured in the browser: the Inégalités page on the demo, on the synthetic
    France at its default scope (all France) and at one région's scope; the naive map."""
    out = []
    for name in ("demo", "france"):
        c = counts[name]
        atlas = dict(map_sel="#ineg-map", paths_sel="#ineg-map path[data-code]", dropdown_id="ineg-indicator",
                     option_labels=[labels[i] for i in CHANGES])
        url = f"{servers[name].base}/inegalites?indicator={START_INDICATOR}"
        label = "démo" if name == "demo" else "France synthétique, échelle France"
        out.append(dict(key=f"{name}-atlas", label=label, n_qpv=c["qpv"], url=url, n_paths=c["qpv"], full=True,
                        full_timeout=120_000 if name == "demo" else 30_000, max_runs=None if name == "demo" else 2,
                        **atlas))
        if name == "france":
            reg = c["largest_region"]
            out.append(dict(key="france-region", label=f"France synthétique, échelle d'une région ({reg})",
                            n_qpv=c["qpv_region"], url=f"{url}&scope=region:{reg}", n_paths=c["qpv_region"],
                            full=True, full_timeout=60_000, max_runs=2, **atlas))
        out.append(dict(key=f"{name}-naive", label="démo" if name == "demo" else "France synthétique",
                        n_qpv=c["qpv"], url=f"{servers[name + '-naive'].base}/", map_sel="#naive-map",
                        paths_sel="#naive-map path", n_paths=c["qpv"], full=False, full_timeout=0,
                        max_runs=None if name == "demo" else 2,
                        dropdown_id="naive-indicator", option_labels=list(CHANGES)))
    return out


def _step(res: list[dict], key: str) -> float | None:
    vals = [r["steps"].get(key) for r in res if r.get("steps") and r["steps"].get(key) is not None]
    return median(vals) / 1000 if vals else None


def bench_browser(report: Report, servers: dict, counts: dict, labels: dict, runs: int, deadline: float,
                  shots: Path) -> tuple[dict, list]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[dict]] = {}
    captured: dict[str, list] = {"demo-atlas": [], "france-region": []}
    cases = _cases(servers, counts, labels)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        report.info["chromium_playwright"] = browser.version
        try:
            for case in cases:
                key = case["key"]
                results[key] = []
                want = min(runs, case["max_runs"] or runs)
                for i in range(want):
                    if i and time.monotonic() > deadline:
                        report.notes.append(f"Navigateur, {case['label']} : {i} exécution(s) mesurée(s) au lieu "
                                            f"de {want} (budget de temps).")
                        break
                    cap = captured.get(key) if i == 0 else None
                    r = browse_once(browser, case["url"], case["map_sel"], case["paths_sel"], case["n_paths"],
                                    case["full"], case["dropdown_id"], case["option_labels"], capture=cap,
                                    screenshot=shots / f"bench-{key}.png" if i == 0 else None,
                                    full_timeout_ms=case["full_timeout"], cpu_profile=i == 0 and case["full"])
                    results[key].append(r)
                    if r["errors"]:
                        report.notes.append(f"Erreurs JavaScript ({case['label']}) : {sorted(set(r['errors']))[:3]}")
                print(f"  browser {key}: first {[round(r['first_render'], 2) for r in results[key]]} "
                      f"restyle {[round(r['restyle'], 2) for r in results[key]]}", flush=True)
        finally:
            browser.close()

    for case in cases:
        key, label, res = case["key"], case["label"], results[case["key"]]
        if not res:
            continue
        if key.endswith("naive"):
            report.add("Naïf", f"Approche naïve ({label}, {fr(case['n_qpv'])} QPV) : 1er rendu",
                       [r["first_render"] for r in res], "s",
                       note=f"scripts exécutés (DOMContentLoaded) à {fmt_value(_step(res, 'dcl'), 's')}, mise en "
                            f"page (GeoJSON compris) reçue à {fmt_value(_step(res, 'layout'), 's')}")
            report.add("Naïf", f"Approche naïve ({label}) : changement d'indicateur → couleurs changées",
                       [r["restyle"] for r in res], "s")
            report.add("Naïf", f"Approche naïve ({label}) : octets au chargement (mise en page avec GeoJSON en "
                       "ligne)", [r["load_bytes"].get("layout", 0) + r["load_bytes"].get("callback", 0) for r in res],
                       "o")
            report.add("Naïf", f"Approche naïve ({label}) : octets par changement d'indicateur",
                       [r["change_bytes"] for r in res], "o")
            continue
        first = [r["first_render"] for r in res]
        scale = "demo" if key.startswith("demo") else ("region" if key == "france-region" else "france")
        on_load = median([r["load_callbacks"] for r in res])
        report.add("Navigateur", f"Inégalités ({label}, {fr(case['n_qpv'])} QPV) : 1er rendu, navigation → "
                   "tous les tracés QPV dans le DOM", first, "s", f"≤ {fr(TARGET_FIRST_RENDER[scale], 1)} s",
                   median(first) <= TARGET_FIRST_RENDER[scale],
                   note=f"rappels Dash envoyés au chargement : {fr(on_load)} ; étapes (médianes) : scripts "
                        f"exécutés (DOMContentLoaded) à {fmt_value(_step(res, 'dcl'), 's')}, mise en page reçue à "
                        f"{fmt_value(_step(res, 'layout'), 's')}, géométrie des QPV reçue à "
                        f"{fmt_value(_step(res, 'geo'), 's')}"
                        + ("" if not res[0]["cpu_top"] else " ; scripts les plus coûteux jusqu'au 1er rendu "
                           "(profil CPU, 1re exécution) : " + ", ".join(
                               f"{f} {fmt_value(ms / 1000, 's')} (surtout {fn})" for f, fn, ms in res[0]["cpu_top"])))
        full = [r["full_render"] for r in res]
        layers = sorted({u for r in res for u in r["geo_urls"]})
        report.add("Navigateur", f"Inégalités ({label}) : carte complète (QPV + fond de carte), dernier tracé "
                   "ajouté", [v for v in full if v is not None], "s",
                   note=f"{fr(median([r['map_paths'] for r in res]))} tracés SVG ; couches : "
                        + ", ".join(f"/geo/{u}" for u in layers)
                        + ("" if all(v is not None for v in full) else
                           f" ; carte pas encore complète après {case['full_timeout'] // 1000} s dans "
                           f"{sum(v is None for v in full)} exécution(s) sur {len(full)}"))
        if any(u == "commune.pbf" for u in layers) and counts[case["key"].split("-")[0]]["communes"] > 5000:
            report.notes.append(
                f"Fond de carte ({label}) : la page demande toutes les communes (/geo/commune.pbf, "
                f"{fr(counts['france']['communes'])} communes, {fmt_bytes(report.info.get('communes_bytes', 0))}), "
                "alors que le ticket 3 demande de les charger par département, jamais toute la France.")
        report.add("Navigateur", f"Inégalités ({label}) : changement d'indicateur → couleurs changées",
                   [x for r in res for x in r["restyles"]], "s", f"≤ {fr(TARGET_RESTYLE[scale], 1)} s",
                   median([x for r in res for x in r["restyles"]]) <= TARGET_RESTYLE[scale],
                   note=f"{len(CHANGES)} changements par visite")
        report.add("Navigateur", f"Inégalités ({label}) : changement d'indicateur → fin du dernier rappel",
                   [r["callbacks_done"] for r in res], "s",
                   note=f"{fr(median([r['change_requests'] for r in res]))} requêtes de rappel")
        big = scale == "france"
        report.add("Carte (octets)", f"Inégalités ({label}) : réponses des rappels Dash pour un changement "
                   "d'indicateur (style de la carte, légende, tableau…)", [r["change_bytes"] for r in res], "o",
                   f"≤ {fmt_bytes(TARGET_CHANGE_BYTES)}" if big else "",
                   median([r["change_bytes"] for r in res]) <= TARGET_CHANGE_BYTES if big else None,
                   note=f"{fr(median([r['change_requests'] for r in res]))} requête(s) ; aucune géométrie ; "
                        f"sur le réseau (compressé) : {fmt_bytes(median([r['change_wire'] for r in res]))}")
        report.add("Carte (octets)", f"Inégalités ({label}) : chargement de la page, géométries (/geo/*.pbf)",
                   [r["load_bytes"].get("geo", 0) for r in res], "o")
        report.add("Carte (octets)", f"Inégalités ({label}) : chargement de la page, mise en page et rappels Dash",
                   [r["load_bytes"].get("layout", 0) + r["load_bytes"].get("callback", 0) for r in res], "o")

    for atlas_key, naive_key, label in (("demo-atlas", "demo-naive", "démo"),
                                        ("france-atlas", "france-naive", "France synthétique, échelle France")):
        a, nv = results.get(atlas_key), results.get(naive_key)
        if not a or not nv:
            continue
        data = lambda r: sum(r["load_bytes"].get(k, 0) for k in ("geo", "layout", "callback"))  # noqa: E731
        ratios = [
            ("octets au chargement (géométrie + mise en page + rappels)", median([data(r) for r in nv]),
             median([data(r) for r in a])),
            ("octets par changement d'indicateur", median([r["change_bytes"] for r in nv]),
             median([r["change_bytes"] for r in a])),
            ("temps du 1er rendu des QPV", median([r["first_render"] for r in nv]),
             median([r["first_render"] for r in a])),
            ("temps de changement d'indicateur", median([r["restyle"] for r in nv]),
             median([r["restyle"] for r in a])),
        ]
        page = report.info.get("page", {}).get("demo:france" if atlas_key == "demo-atlas" else "france:france")
        geo = report.info.get("qpv_pbf", {}).get("demo" if atlas_key == "demo-atlas" else "france")
        if geo:
            ratios.insert(0, ("octets de la géométrie QPV seule (GeoJSON complet / geobuf)",
                              median([r["load_bytes"].get("layout", 0) for r in nv]), geo))
        if page:
            ratios.insert(2, ("octets par changement d'indicateur, ce qui recolore la carte seul (GeoJSON "
                              "complet / données de style)", median([r["change_bytes"] for r in nv]),
                              page[f"hideout_{CHANGE_INDICATOR}"]))
        scale = "demo" if atlas_key == "demo-atlas" else "france"
        for what, naive_v, atlas_v in ratios:
            if naive_v and atlas_v:
                timed = what.startswith("temps")
                target = TARGET_RATIO[scale] if timed else None
                report.add("Naïf", f"Rapport naïf / Atlas ({label}) : {what}", [naive_v / atlas_v], "x",
                           f"≥ × {fr(target, 1)}" if target else "",
                           (naive_v / atlas_v >= target) if target else None,
                           note=f"naïf {fmt_value(naive_v, 's' if timed else 'o')}, Atlas "
                                f"{fmt_value(atlas_v, 's' if timed else 'o')} (même exécution) ; > 1 : Atlas fait "
                                "mieux")
    a, nv = results.get("france-atlas"), results.get("france-naive")
    if a and nv and median([r["first_render"] for r in nv]) < TARGET_RATIO["france"] * median(
            [r["first_render"] for r in a]):
        top = a[0]["cpu_top"][0] if a[0]["cpu_top"] else None
        report.notes.append(
            f"Rapport naïf / Atlas à l'échelle France, 1er rendu : la mise en page arrive à "
            f"{fmt_value(_step(a, 'layout'), 's')} et la géométrie des QPV à {fmt_value(_step(a, 'geo'), 's')} ; "
            f"de là au 1er rendu ({fmt_value(median([r['first_render'] for r in a]), 's')}), Leaflet crée et dessine "
            f"{fr(median([r['map_paths'] for r in a]))} tracés SVG"
            + (f" (script le plus coûteux : {top[0]}, {fmt_value(top[2] / 1000, 's')}, surtout {top[1]})" if top else "")
            + f". L'approche naïve dessine la même couche après avoir reçu "
            f"{fmt_bytes(median([r['load_bytes'].get('layout', 0) for r in nv]))} de GeoJSON : ce dessin, commun aux "
            "deux, borne le rapport.")
    a, nv = results.get("demo-atlas"), results.get("demo-naive")
    if a and nv and median([r["first_render"] for r in nv]) < 1.2 * median([r["first_render"] for r in a]):
        report.notes.append(
            "Rapports naïf / Atlas sur la démo : l'approche naïve est une page Dash réduite à une liste et une carte ; "
            "son 1er rendu suit de peu l'exécution des scripts de Dash, communs aux deux. L'Atlas reçoit sa page avec "
            "la mise en page (aucun rappel au chargement) ; ce qui reste est le rendu par React de la page entière "
            "(contrôles, légende, tableau, carte) puis le dessin des couches (voir les étapes et les scripts les plus "
            "coûteux dans les lignes « 1er rendu »). Un changement d'indicateur reçoit sa réponse en 10 à 15 ms ; le "
            "reste est le traitement de la réponse par Dash (légende, tableau, notes, listes) avant le recoloriage.")
    return results, captured


# ------------------------------------------------------------------------------ load
def _output_name(body: str) -> str:
    """A short name for a recorded callback: its first output, without Dash's hash suffix."""
    try:
        out = json.loads(body).get("output", "")
    except ValueError:
        return "?"
    return out.strip(".").split("...")[0].split("@")[0][:60]


def load_test(base: str, page_path: str, posts: list[str], users: int, max_seconds: float = 120,
              request_timeout: float = 60) -> dict:
    """`users` threads start together; each loads the page (HTML, layout, dependencies, QPV
    geobuf) then replays the recorded callbacks once, in order, with no pause. Bounded: one
    pass per user, a timeout per request and a global deadline after which the steps left are
    not sent (counted as `skipped`); 127.0.0.1 only."""
    import requests

    if not base.startswith("http://127.0.0.1:"):
        raise ValueError("load tests target 127.0.0.1 only")
    # As a browser does: the layout request carries the page's URL (Referer), and holds the page.
    steps = [("page", "GET", page_path, None), ("page", "GET", "/_dash-layout", None),
             ("page", "GET", "/_dash-dependencies", None), ("geo", "GET", "/geo/qpv.pbf", None)]
    referer = base + page_path
    steps += [("callback", "POST", "/_dash-update-component", body) for body in posts]
    lat: dict[str, list[float]] = {"page": [], "geo": [], "callback": []}
    by_output: dict[str, list[float]] = {}
    errors: list[str] = []
    skipped = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(users)
    deadline = [0.0]

    def user() -> None:
        s = requests.Session()
        try:
            barrier.wait(timeout=60)
        except threading.BrokenBarrierError:
            pass
        for k, (kind, method, path, body) in enumerate(steps):
            if time.monotonic() > deadline[0]:
                with lock:
                    skipped[0] += len(steps) - k
                break
            t = time.perf_counter()
            try:
                headers = {"Content-Type": "application/json"} if body else {"Referer": referer}
                r = s.request(method, base + path, data=body, timeout=request_timeout, headers=headers)
                _ = r.content
                why = None if r.status_code < 400 else f"HTTP {r.status_code} {path.split('?')[0]}"
            except requests.RequestException as exc:
                why = f"{type(exc).__name__} {path.split('?')[0]}"
            with lock:
                lat[kind].append(time.perf_counter() - t)
                if body:
                    by_output.setdefault(_output_name(body), []).append(lat[kind][-1])
                if why:
                    errors.append(why)
        s.close()

    threads = [threading.Thread(target=user, daemon=True) for _ in range(users)]
    t0 = time.perf_counter()
    deadline[0] = time.monotonic() + max_seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max_seconds + request_timeout + 30)
    wall = time.perf_counter() - t0
    n = sum(len(v) for v in lat.values())
    return {"lat": lat, "by_output": by_output, "errors": errors, "skipped": skipped[0],
            "planned": users * len(steps), "wall": wall,
            "requests": n, "rps": n / wall if wall else None}


def bench_load(report: Report, server: Server, posts: list[str], page_path: str, label: str,
               user_counts=(20, 50), max_seconds: float = 120, p95_target: float | None = None) -> None:
    import requests

    body = [p for p in posts if p and p != "--change--"]
    if not body:
        report.notes.append(f"Charge ({label}) : aucun rappel capturé dans le navigateur, test non fait.")
        return
    for p in body:  # warm-up: one sequential pass
        requests.post(server.base + "/_dash-update-component", data=p, timeout=120,
                      headers={"Content-Type": "application/json"})
    for users in user_counts:
        res = load_test(server.base, page_path, body, users, max_seconds=max_seconds)
        cb = res["lat"]["callback"]
        failed = len(res["errors"]) + res["skipped"]
        head = f"{users} utilisateurs simultanés ({label})"
        report.add("Serveur", f"{head} : latence des rappels, p50", [percentile(cb, 50)], "s",
                   note=f"gunicorn {WORKERS} workers ; {len(cb)} rappels ; {fr(res['requests'])} requêtes sur "
                        f"{fr(res['planned'])} prévues, en {fr(res['wall'], 1)} s ({fr(res['rps'], 1)} req/s)")
        slow = max(res["by_output"].items(), key=lambda kv: percentile(kv[1], 50) or 0, default=None)
        p95 = percentile(cb, 95)
        targeted = users == 50 and p95_target is not None
        report.add("Serveur", f"{head} : latence des rappels, p95", [p95], "s",
                   f"≤ {fr(p95_target, 1)} s" if targeted else "", (p95 is not None and p95 <= p95_target)
                   if targeted else None,
                   note=(f"rappel le plus lent (p50) : {slow[0]} ({fmt_value(percentile(slow[1], 50), 's')})"
                         if slow else "") + f" ; {len(body)} rappels par utilisateur (changements d'indicateur)")
        report.add("Serveur", f"{head} : page + mise en page + geobuf, p95",
                   [percentile(res["lat"]["page"] + res["lat"]["geo"], 95)], "s")
        why = "; ".join(f"{n} × {e}" for e, n in sorted(
            {e: res["errors"].count(e) for e in set(res["errors"])}.items(), key=lambda kv: -kv[1])[:3])
        report.add("Serveur", f"{head} : requêtes en échec (erreur HTTP ou délai de 60 s dépassé) + non "
                   f"envoyées avant la fin du temps imparti ({fr(max_seconds)} s)", [failed], "n",
                   "0" if users == 50 else "", failed == 0 if users == 50 else None,
                   note=f"{len(res['errors'])} en échec, {res['skipped']} non envoyées" + (f" ({why})" if why else ""))
    rss = server.worker_rss_mb()
    if rss:
        report.add("Serveur", f"Mémoire de chaque worker après la charge ({label})", rss, "Mo",
                   note=f"{len(rss)} workers ; total {fr(sum(rss))} Mo")


def bench_dev_server(report: Report, db: Path, posts: list[str], work: Path, n: int = 20) -> None:
    """`n` identical restyles sent at once to one development-server process (python app.py:
    Flask, one thread per request), as when a room clicks the same indicator at once."""
    import requests

    body = next((p for p in posts if p and p != "--change--"), None)
    if body is None:
        report.notes.append("Serveur de développement : aucun rappel capturé, mesure non faite.")
        return
    port = free_port()
    log = open(work / "dev-server.log", "w")
    proc = subprocess.Popen([PY, "app.py", "--db", str(db), "--port", str(port)], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, env=dict(os.environ, ATLAS_DB=str(db)))
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                if requests.get(base + "/_dash-layout", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        headers = {"Content-Type": "application/json"}
        requests.post(base + "/_dash-update-component", data=body, headers=headers, timeout=60)   # warm
        lat, errors = [], []
        barrier = threading.Barrier(n)

        def one():
            barrier.wait(timeout=30)
            t = time.perf_counter()
            try:
                r = requests.post(base + "/_dash-update-component", data=body, headers=headers, timeout=60)
                if r.status_code >= 400:
                    errors.append(r.status_code)
            except requests.RequestException as exc:
                errors.append(type(exc).__name__)
            lat.append(time.perf_counter() - t)

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        p95 = percentile(lat, 95)
        report.add("Serveur", f"{n} changements d'indicateur identiques envoyés ensemble à un seul processus "
                   "(serveur de développement, démo) : latence p95", [p95], "s", f"≤ {fr(TARGET_DEV_P95, 1)} s",
                   p95 is not None and p95 <= TARGET_DEV_P95 and not errors,
                   note=f"p50 {fmt_value(percentile(lat, 50), 's')} ; {len(errors)} erreur(s)")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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
