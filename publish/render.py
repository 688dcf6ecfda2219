"""Server-side rendering for exports: app pages to PNG/PDF in headless Chromium (Playwright),
standalone HTML to PDF, and plotly charts to PNG/SVG/PDF with kaleido.

One Chromium per process, started on first use and reused. Playwright's sync API must stay
on the thread that started it, so a dedicated thread owns the browser and runs jobs from a
bounded queue; callers (Flask request threads, CLI) wait for their job with a time limit.
Every job gets a fresh browser context whose network is restricted to the app's own
loopback address: a rendered page cannot fetch anything else (no SSRF through redirects,
no tile servers). App pages are loaded from a private loopback server started in-process on
a free port (never from the Host header of a request).

Fork-safe (gunicorn): nothing starts at import; a process whose pid differs from the one
that started the renderer gets a new one.
"""
from __future__ import annotations

import atexit
import os
import queue
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]

# A4 at 96 CSS px per inch, 12 mm margins (the @page rule of assets/style.css).
MM = 96 / 25.4
A4_PORTRAIT_CONTENT_PX = round((210 - 24) * MM)    # 703
A4_PORTRAIT_CONTENT_H = (297 - 24) * MM             # 1032
A4_LANDSCAPE_CONTENT = ((297 - 24) * MM, (210 - 24) * MM)


class RenderError(Exception):
    """A rendering failure; the message is French and shown to the user."""


class RenderBusy(RenderError):
    pass


class RenderTimeout(RenderError):
    pass


@dataclass
class Rendered:
    data: bytes
    mime: str
    meta: dict = field(default_factory=dict)


# --- Chromium renderer ------------------------------------------------------------------

class Renderer:
    """Renders app pages (served by `wsgi_app` on a private loopback port) and HTML strings."""

    def __init__(self, wsgi_app=None, timeout: float = 40.0, max_pending: int = 4):
        self.wsgi_app = wsgi_app
        self.timeout = timeout
        self.grace = 15.0          # extra wait for a job queued behind others
        self._jobs: queue.Queue = queue.Queue(maxsize=max_pending)
        self._thread: threading.Thread | None = None
        self._server = None
        self._base: str | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    # lifecycle ------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="atlas-renderer", daemon=True)
                self._thread.start()

    def base_url(self) -> str:
        """The private loopback server of the app (started on first use)."""
        if self.wsgi_app is None:
            raise RenderError("Rendu de page impossible : aucune application à servir.")
        with self._lock:
            if self._base is None:
                from werkzeug.serving import WSGIRequestHandler, make_server

                class Quiet(WSGIRequestHandler):
                    def log_request(self, *args, **kwargs):   # the renderer's own page loads
                        pass

                srv = make_server("127.0.0.1", 0, self.wsgi_app, threaded=True, request_handler=Quiet)
                threading.Thread(target=srv.serve_forever, name="atlas-render-server", daemon=True).start()
                self._server = srv
                self._base = f"http://127.0.0.1:{srv.server_port}"
        return self._base

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            try:
                self._jobs.put_nowait(None)
            except queue.Full:
                pass
            self._thread.join(timeout=10)
        if self._server is not None:
            self._server.shutdown()
            self._server = None
            self._base = None

    def _loop(self) -> None:
        from playwright.sync_api import sync_playwright

        if not os.path.exists(CHROMIUM):
            err = RenderError(f"Chromium introuvable ({CHROMIUM}) : installez le paquet Debian « chromium ».")
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                job[1].set_exception(err)
        with sync_playwright() as p:
            browser = None
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                fn, fut = job
                if not fut.set_running_or_notify_cancel():
                    continue            # its caller gave up waiting
                try:
                    if browser is None or not browser.is_connected():
                        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                    fut.set_result(fn(browser))
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    fut.set_exception(exc)
            if browser is not None:
                browser.close()

    def run(self, fn, timeout: float | None = None):
        """Run fn(browser) on the renderer thread; wait at most `timeout` seconds."""
        self._ensure_thread()
        fut: Future = Future()
        try:
            self._jobs.put_nowait((fn, fut))
        except queue.Full:
            raise RenderBusy("Trop d'exports en cours : réessayez dans un instant.") from None
        try:
            return fut.result(timeout=(timeout or self.timeout) + self.grace)
        except FutureTimeout:
            fut.cancel()
            raise RenderTimeout("L'export a pris trop de temps et a été abandonné.") from None
        except Exception as exc:
            if type(exc).__name__ == "TimeoutError":       # Playwright's own time limits
                raise RenderTimeout("La page à exporter n'a pas fini de s'afficher à temps.") from exc
            raise

    # contexts -------------------------------------------------------------------------
    def _context(self, browser, width: int, height: int, scale: float = 1.0, allowed: str | None = None):
        ctx = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=scale,
                                  locale="fr-FR", timezone_id="Europe/Paris", accept_downloads=False)
        ctx.set_default_timeout(self.timeout * 1000)

        def guard(route):
            url = route.request.url
            if allowed and (url == allowed or url.startswith(allowed + "/")):
                return route.continue_()
            if url.startswith(("data:", "blob:", "about:")):
                return route.continue_()
            return route.abort()

        ctx.route("**/*", guard)
        return ctx

    def _open_app_page(self, ctx, path: str, mode: str):
        base = self.base_url()
        page = ctx.new_page()
        page.goto(base + with_param(path, mode, "1"), wait_until="load")
        wait_ready(page, self.timeout)
        return page

    # jobs -----------------------------------------------------------------------------
    def page_png(self, path: str, width: int = 1600, scale: float = 1.0, mode: str = "export") -> Rendered:
        """A full-page PNG of an app page in export mode (a finished figure for map pages)."""
        check_path(path)
        width = max(600, min(int(width), 3000))
        scale = max(1.0, min(float(scale), 3.0))

        def job(browser):
            ctx = self._context(browser, width, 900, scale, self.base_url())
            try:
                page = self._open_app_page(ctx, path, mode)
                box = page.evaluate("() => window.atlasExport ? window.atlasExport.mapBox() : null")
                png = page.screenshot(full_page=True, type="png")
                return Rendered(png, "image/png", {"map_box": box, "scale": scale, "width": width})
            finally:
                ctx.close()

        return self.run(job)

    def page_pdf(self, path: str, layout: str = "figure", max_pages: int = 2) -> Rendered:
        """A PDF of an app page. layout 'figure': one landscape A4 page scaled to fit (maps);
        'document': portrait A4 pages with the print CSS (fiche), shrunk until it fits in
        `max_pages` pages when possible."""
        check_path(path)

        def job(browser):
            if layout == "figure":
                width = 1400
                ctx = self._context(browser, width, 900, 1.0, self.base_url())
                try:
                    page = self._open_app_page(ctx, path, "export")
                    page.add_style_tag(content="@page { size: A4 landscape; margin: 12mm; }")
                    page.emulate_media(media="print")
                    h = page.evaluate("() => document.documentElement.scrollHeight")
                    w = page.evaluate("() => document.documentElement.scrollWidth")
                    s = min(A4_LANDSCAPE_CONTENT[0] / max(w, 1), A4_LANDSCAPE_CONTENT[1] / max(h, 1) * 0.98, 1.0)
                    pdf = page.pdf(format="A4", landscape=True, print_background=True, scale=max(0.1, s),
                                   margin={k: "12mm" for k in ("top", "right", "bottom", "left")})
                    return Rendered(pdf, "application/pdf", {"scale": s})
                finally:
                    ctx.close()
            # Shrink to fit `max_pages`: measure the parts between page breaks in the print
            # layout, scale so that the tallest part fits a page, and lay the page out again at
            # the width the scaled print needs (maps and charts follow the window's size).
            ctx = self._context(browser, A4_PORTRAIT_CONTENT_PX, 1000, 1.0, self.base_url())
            try:
                page = self._open_app_page(ctx, path, "print")
                page.emulate_media(media="print")
                s = 1.0
                for _ in range(2):
                    parts = page.evaluate(PARTS_JS)
                    if len(parts) > max_pages:
                        break
                    need = min(1.0, A4_PORTRAIT_CONTENT_H / max(parts) * 0.96)
                    if need >= s - 0.01:
                        break
                    s = max(need, 0.5)
                    relayout(page, round(A4_PORTRAIT_CONTENT_PX / s))
                pdf = page.pdf(format="A4", print_background=True, scale=s, prefer_css_page_size=True)
                while pdf_pages(pdf) > max_pages and s > 0.55:
                    s = round(s * 0.9, 3)
                    relayout(page, round(A4_PORTRAIT_CONTENT_PX / s))
                    pdf = page.pdf(format="A4", print_background=True, scale=s, prefer_css_page_size=True)
            finally:
                ctx.close()
            return Rendered(pdf, "application/pdf", {"scale": s})

        return self.run(job)

    def html_pdf(self, html: str, landscape: bool = False) -> Rendered:
        """A PDF of a standalone HTML document (no network at all)."""

        def job(browser):
            ctx = self._context(browser, A4_PORTRAIT_CONTENT_PX, 1000, 1.0, None)
            try:
                page = ctx.new_page()
                page.set_content(html, wait_until="load")
                page.emulate_media(media="print")
                pdf = page.pdf(format="A4", landscape=landscape, print_background=True, prefer_css_page_size=True)
                return Rendered(pdf, "application/pdf", {})
            finally:
                ctx.close()

        return self.run(job)


_renderers: dict[int, Renderer] = {}
_registry_lock = threading.Lock()


def get_renderer(wsgi_app=None) -> Renderer:
    """The process-wide renderer (a new one after a fork)."""
    pid = os.getpid()
    with _registry_lock:
        r = _renderers.get(pid)
        if r is None:
            _renderers.clear()          # inherited from a parent process: unusable here
            r = _renderers[pid] = Renderer(wsgi_app)
            atexit.register(r.close)
        elif wsgi_app is not None and r.wsgi_app is None:
            r.wsgi_app = wsgi_app
        return r


# --- Page readiness ---------------------------------------------------------------------

READY_JS = """() => {
  const root = document.documentElement;
  if (root.classList.contains('atlas-ready')) { return true; }
  return false;
}"""


def wait_ready(page, timeout: float) -> None:
    """Wait for the Dash page, its maps and charts (assets/export.js sets html.atlas-ready),
    then two animation frames."""
    page.wait_for_selector("#page-content > *", timeout=timeout * 1000)
    page.wait_for_function(READY_JS, timeout=timeout * 1000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


# Heights (CSS px) of the parts of a page between its forced page breaks (.page-break).
PARTS_JS = """() => {
  const cuts = Array.from(document.querySelectorAll('.page-break'))
    .filter(e => e.offsetParent !== null)
    .map(e => e.getBoundingClientRect().top + window.scrollY);
  const all = [0].concat(cuts, [document.documentElement.scrollHeight]);
  return all.slice(1).map((c, i) => Math.max(c - all[i], 1));
}"""


def relayout(page, width: int) -> None:
    """Resize the window (Leaflet and plotly follow) and let the page settle."""
    page.set_viewport_size({"width": int(width), "height": 1000})
    page.wait_for_timeout(700)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


# --- URLs -------------------------------------------------------------------------------

def check_path(path: str) -> str:
    """Only same-app relative URLs ("/page?query"): no scheme, no host, no '//' or '\\'."""
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//") or "\\" in path \
            or len(path) > 3000 or any(ord(c) < 32 for c in path):
        raise RenderError("Adresse à exporter invalide : seule une page de l'atlas peut être exportée.")
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        raise RenderError("Adresse à exporter invalide : seule une page de l'atlas peut être exportée.")
    return path


def with_param(path: str, key: str, value: str) -> str:
    from urllib.parse import parse_qsl, urlencode

    parts = urlsplit(path)
    q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if k not in ("export", "present", "print")]
    q.append((key, value))
    return parts.path + "?" + urlencode(q)


def pdf_pages(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


# --- Charts (plotly + kaleido) -----------------------------------------------------------

_kaleido_slots = threading.BoundedSemaphore(4)     # at most 4 chart exports running or waiting
CHART_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
CHART_DEADLINE_S = float(os.environ.get("ATLAS_CHART_DEADLINE", "90"))


def french_figure(fig):
    """French number separators and the app's font on an exported figure."""
    fig.update_layout(separators=", ")
    if not fig.layout.font or not fig.layout.font.family:
        fig.update_layout(font={"family": "DejaVu Sans, Arial, sans-serif"})
    return fig


def chart_bytes(fig, fmt: str, width: int = 1000, height: int | None = None, scale: float = 2.0) -> bytes:
    """A plotly figure as PNG, SVG or PDF, French separators forced: kaleido in a child process
    (publish/chart_image.py) stopped with its Chromium when it outlives CHART_DEADLINE_S."""
    import json
    import signal
    import subprocess
    import sys

    import plotly.utils

    if fmt not in CHART_FORMATS:
        raise RenderError(f"Format de graphique inconnu : {fmt}")
    fig = french_figure(fig)
    height = height or int(fig.layout.height or 500)
    if not _kaleido_slots.acquire(blocking=False):
        raise RenderBusy("Trop d'exports de graphiques en cours : réessayez dans un instant.")
    try:
        job = json.dumps({"figure": fig.to_plotly_json(), "format": fmt, "width": int(width), "height": int(height),
                          "scale": scale if fmt == "png" else 1, "timeout": CHART_DEADLINE_S},
                         cls=plotly.utils.PlotlyJSONEncoder)
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        proc = subprocess.Popen([sys.executable, "-m", "publish.chart_image"], cwd=repo, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(job.encode("utf-8"), timeout=CHART_DEADLINE_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)          # the child and its Chromium
            proc.communicate()
            raise RenderError("L'export du graphique a dépassé le délai (machine très chargée) : "
                              "réessayez dans un instant.") from None
        if proc.returncode != 0 or not out:
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
            raise RenderError(f"Le graphique n'a pas pu être exporté ({last[0][:200]}).")
        return out
    finally:
        _kaleido_slots.release()
