"""`make bench`, browser part: the Inégalités map in Debian's headless Chromium (first render,
indicator change, bytes of the callbacks), the Atlas against the naive app."""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.benchmarks.common import (  # noqa: E402
    CHANGES, CHANGE_INDICATOR, CHROMIUM, CHROMIUM_ARGS, Report, START_INDICATOR, TARGET_CHANGE_BYTES,
    TARGET_FIRST_RENDER, TARGET_RATIO, TARGET_RESTYLE, fmt_bytes, fmt_value, fr, median)


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
