"""Benchmarks of the Actions and Couverture pages, and of serving while imports write (issue 21).

Called by tests/benchmarks/run.py (`make bench`), which owns the servers, the DBs and the report:
- server side, in a child process: each page's layout (time, JSON bytes) on the demo and on the
  synthetic France (100,000 actions); for Actions, a filter change (the callback's JSON), the
  points the map asks for at its first zoom, and the naive approach measured in the same run
  (every action as a point, every row of the list, in the page);
- in the browser: first render of each page at France scale (until the density layer is drawn)
  and the JSON bytes of the page load (layout and callbacks);
- 50 simultaneous users on the Inégalités page while an import is applied to the served DB every
  IMPORT_EVERY seconds (each import renames a new file over the DB: every worker reads it again,
  in the background).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

TARGET_ACTIONS_BYTES = 1_000_000          # issue 21: a page load holds at most 1 MB of JSON
TARGET_ACTIONS_FIRST_RENDER = 1.5         # s, France scale
TARGET_WRITES_P95 = 1.0                   # s, 50 users while imports write
IMPORT_EVERY = 10.0                       # s
UNDER_WRITES_MIN = 32.0                   # s of load: the imports at 0, 10, 20 and 30 s land during it


def child_pages(spec: str) -> None:
    """In a child process: the server side of the Actions and Couverture pages for each (DB, label)
    of `spec`. Prints one JSON line."""
    from contextvars import copy_context

    cases = json.loads(spec)
    os.environ["ATLAS_DB"] = cases[0][0]
    os.environ["ATLAS_WARM"] = "0"
    import plotly.utils

    import app  # noqa: F401  (registers the pages)
    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    from components.action_charts import action_records
    from components.action_map import fit_zoom
    from data import access
    from data.views.action_points import features
    from data.views.actions import compute, parse_state
    from pages import actions as pa, couverture as pc

    size = lambda obj: len(json.dumps(obj, cls=plotly.utils.PlotlyJSONEncoder).encode("utf-8"))  # noqa: E731
    out = []
    for db, _label in cases:
        access.configure(db)
        d = {}
        for name, page in (("actions", pa), ("couverture", pc)):
            times = []
            for _ in range(3):
                t = time.perf_counter()
                lay = page.layout()
                times.append(time.perf_counter() - t)
            d[f"{name}_layout_s"], d[f"{name}_layout_bytes"] = times, size(lay)
        st = parse_state({})
        v = compute(st)
        d["actions"] = len(v.acts)

        def run(fn, trig, *args):
            def inner():
                context_value.set(AttributeDict(triggered_inputs=[{"prop_id": trig, "value": None}]))
                return fn(*args)
            return copy_context().run(inner)

        themes = list(access.themes().theme_id[:2])
        times, sizes = [], []
        for theme in themes + themes:           # first: computed; second: memoized
            t = time.perf_counter()
            res = run(pa.update_view, "act-themes.value", "qpv", None, [theme], [], None, [], None, None, "count",
                      None, None, None, None, None)
            times.append(time.perf_counter() - t)
            sizes.append(size(res))
        d["change_s"], d["change_bytes"] = times, sizes
        bbox = pa.scope_bbox(None)
        zoom = fit_zoom(bbox)
        t = time.perf_counter()
        pts = features(v.acts, zoom, bbox)
        d["points_s"], d["points_bytes"], d["points_features"] = time.perf_counter() - t, size(pts), len(pts["features"])
        # the naive approach: every action as a point and every row of the list, in the page
        t = time.perf_counter()
        every = features(v.acts, 20, None)
        rows = action_records(v.acts)
        d["naive_s"], d["naive_bytes"] = time.perf_counter() - t, size(every) + size(rows)
        out.append(d)
    print(json.dumps(out))


def bench_pages(report, dbs: dict, py: str, repo: Path, runner: str, fmt_bytes, fr) -> None:
    """Server side of the Actions and Couverture pages (one child process)."""
    cases = [("demo", "démo"), ("france", "France synthétique, échelle France")]
    spec = json.dumps([[str(dbs[name]), label] for name, label in cases])
    proc = subprocess.run([py, runner, "--child-pages", spec], cwd=repo, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1][:300] if proc.stderr.strip() else "?"
        report.notes.append(f"Pages Actions et Couverture : mesure côté serveur impossible ({last})")
        return
    for (name, label), d in zip(cases, json.loads(proc.stdout.strip().splitlines()[-1])):
        france = name == "france"
        for page, title in (("actions", "Actions"), ("couverture", "Couverture ASV")):
            report.add("Page", f"{title} ({label}) : calcul de la page par le serveur (layout, après le premier)",
                       d[f"{page}_layout_s"][1:], "s")
            report.add("Page", f"{title} ({label}) : taille de la page envoyée (JSON du layout)",
                       [d[f"{page}_layout_bytes"]], "o",
                       f"≤ {fmt_bytes(TARGET_ACTIONS_BYTES)}" if france and page == "actions" else "",
                       d[f"{page}_layout_bytes"] <= TARGET_ACTIONS_BYTES if france and page == "actions" else None,
                       note=f"{fr(d['actions'])} actions" if page == "actions" else "")
        report.add("Page", f"Actions ({label}) : changement de thème, réponse du rappel (JSON)", d["change_bytes"], "o",
                   note="carte, légendes, graphiques, première page des deux tableaux ; aucun point, aucune liste "
                        "entière")
        report.add("Page", f"Actions ({label}) : changement de thème, temps du serveur (vue calculée puis mémoïsée)",
                   d["change_s"], "s")
        report.add("Carte (octets)", f"Actions ({label}) : points demandés par la carte au premier zoom "
                   "(/geo/actions.json, regroupés sur le serveur)", [d["points_bytes"]], "o",
                   note=f"{fr(d['points_features'])} repères ; calcul {fr(d['points_s'] * 1000)} ms")
        report.add("Carte (octets)", f"Actions ({label}) : approche naïve, chaque action en point et toute la liste "
                   "dans la page", [d["naive_bytes"]], "o",
                   note=f"× {fr(d['naive_bytes'] / max(1, d['actions_layout_bytes'] + d['points_bytes']), 0)} ce que "
                        f"l'atlas envoie (page + points) ; calcul {fr(d['naive_s'], 1)} s")


def warm_page(base: str, path: str, n: int) -> None:
    """Each of `n` workers builds the page once (the layout request carries the page's URL)."""
    import requests

    def get():
        try:
            requests.get(base + "/_dash-layout", headers={"Referer": base + path}, timeout=600)
        except requests.RequestException:
            pass
    threads = [threading.Thread(target=get) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bench_pages_browser(report, browser, servers: dict, n_qpv: int, runs: int, fmt_bytes, fr, median,
                        workers: int) -> None:
    """First render of the Actions and Couverture pages at France scale, and the JSON of the load."""
    for path in ("/actions", "/couverture"):
        warm_page(servers["france"].base, path, workers)
    for path, sel, title in (("/actions", "#act-map .leaflet-overlay-pane path", "Actions"),
                             ("/couverture", "#cov-map .cov-pane-qpv path", "Couverture ASV")):
        firsts, json_bytes = [], []
        for _ in range(runs):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
            page = ctx.new_page()
            sizes: list[int] = []

            def on_response(r, sizes=sizes):
                if "/_dash-layout" in r.url or "/_dash-update-component" in r.url or "/geo/actions.json" in r.url:
                    try:
                        sizes.append(len(r.body()))
                    except Exception:  # noqa: BLE001  (a response gone with the page)
                        pass
            page.on("response", on_response)
            try:
                page.goto(servers["france"].base + path, wait_until="commit")
                first = page.wait_for_function(
                    "([sel, n]) => document.querySelectorAll(sel).length >= n ? performance.now() : false",
                    arg=[sel, int(n_qpv * 0.9)], polling="raf", timeout=120_000).json_value()
                firsts.append(first / 1000)
                page.wait_for_load_state("networkidle", timeout=60_000)
                json_bytes.append(sum(sizes))
            finally:
                ctx.close()
        target = TARGET_ACTIONS_FIRST_RENDER if path == "/actions" else None
        report.add("Navigateur", f"{title} (France synthétique, échelle France) : premier rendu (carte de densité "
                   "dessinée)", firsts, "s", f"≤ {fr(target, 1)} s" if target else "",
                   (median(firsts) <= target) if target else None,
                   note="navigation → chemins des QPV dans la carte ; gunicorn, workers déjà chauds")
        report.add("Navigateur", f"{title} (France synthétique, échelle France) : JSON reçu au chargement (mise en "
                   "page, rappels, points)", json_bytes, "o",
                   f"≤ {fmt_bytes(TARGET_ACTIONS_BYTES)}" if path == "/actions" else "",
                   (median(json_bytes) <= TARGET_ACTIONS_BYTES) if path == "/actions" else None)


class Importer:
    """Applies a small import to `db` every `every` seconds in a thread, as the Importer page would."""

    def __init__(self, db: Path, every: float = IMPORT_EVERY):
        self.db, self.every = Path(db), every
        self.done: list[float] = []
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from etl.importer import apply
        from tests.importer_support import action_row, csv_bytes

        import duckdb

        con = duckdb.connect(str(self.db), read_only=True)
        try:
            qpv = con.execute("SELECT code FROM territory WHERE level = 'qpv' AND generation = '2024' "
                              "ORDER BY code LIMIT 1").fetchone()[0]
        finally:
            con.close()
        k = 0
        while not self._stop.wait(0 if k == 0 else self.every):
            k += 1
            rows = [action_row(id_action=f"BENCH-W-{k}-{i}", titre=f"Action de l'import {k}", qpv=qpv)
                    for i in range(5)]
            t = time.perf_counter()
            try:
                rep = apply(csv_bytes(rows), "actions", db=self.db, filename=f"bench-{k}.csv", offline=True,
                            archive=False)
                (self.done if rep.applied else self.failed).append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001  (reported)
                self.failed.append(str(exc))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=120)


def bench_load_under_writes(report, server, posts: list[str], page_path: str, label: str, db: Path,
                            load_test, percentile, fr, workers: int, max_seconds: float = 60) -> None:
    """50 users on a page while an import is applied to the served DB every IMPORT_EVERY seconds."""
    body = [p for p in posts if p and p != "--change--"]
    if not body:
        report.notes.append(f"Charge sous écritures ({label}) : aucun rappel capturé, test non fait.")
        return
    # One pass of 50 users lasts a second or two: passes follow one another until the load has run
    # for UNDER_WRITES_MIN seconds, so that several imports land while users are being served.
    lat: dict[str, list[float]] = {"page": [], "geo": [], "callback": []}
    errors: list[str] = []
    skipped, passes, start = 0, 0, time.monotonic()
    with Importer(db) as imp:
        while True:
            left = max_seconds - (time.monotonic() - start)
            res = load_test(server.base, page_path, body, 50, max_seconds=max(5.0, left))
            passes += 1
            for k in lat:
                lat[k] += res["lat"][k]
            errors += res["errors"]
            skipped += res["skipped"]
            elapsed = time.monotonic() - start
            if elapsed >= UNDER_WRITES_MIN or elapsed >= max_seconds:
                break
    res = {"lat": lat, "errors": errors, "skipped": skipped, "wall": time.monotonic() - start}
    cb = res["lat"]["callback"]
    p95 = percentile(cb, 95)
    failed = len(res["errors"]) + res["skipped"]
    head = f"50 utilisateurs simultanés pendant des imports ({label})"
    note = (f"un import de 5 actions toutes les {fr(IMPORT_EVERY)} s dans la base servie : {len(imp.done)} faits "
            f"pendant la charge ({fr(res['wall'], 1)} s, {passes} passages de 50 utilisateurs à la suite)"
            + (f", {len(imp.failed)} en échec" if imp.failed else "")
            + f" ; chaque import remplace le fichier, relu par chacun des {workers} workers en arrière-plan")
    report.add("Serveur", f"{head} : latence des rappels, p95", [p95], "s", f"≤ {fr(TARGET_WRITES_P95, 1)} s",
               p95 is not None and p95 <= TARGET_WRITES_P95, note=note)
    report.add("Serveur", f"{head} : latence des rappels, p50", [percentile(cb, 50)], "s")
    report.add("Serveur", f"{head} : page + mise en page + geobuf, p95",
               [percentile(res["lat"]["page"] + res["lat"]["geo"], 95)], "s")
    report.add("Serveur", f"{head} : requêtes en échec + non envoyées", [failed], "n", "0", failed == 0,
               note=f"{len(res['errors'])} en échec, {res['skipped']} non envoyées")


if __name__ == "__main__":      # the child process
    child_pages(sys.argv[1])
