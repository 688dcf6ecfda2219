"""`make bench`, load part: the page's callbacks replayed by concurrent simulated users against
gunicorn, and identical restyles on one dev-server process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.benchmarks.common import (  # noqa: E402
    PY, Report, Server, TARGET_DEV_P95, WORKERS, fmt_value, fr, free_port, percentile)


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
