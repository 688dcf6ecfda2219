"""Browser tests: the app served from a thread on 127.0.0.1, driven by Playwright in
Debian's headless Chromium. One app and one demo DB per test process (Dash pages
register their callbacks once per process)."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")

# Assertions retry until their condition holds; on a machine busy with other work (CI at a load
# average of 20-30) a callback can take several seconds, so the bound is generous. A passing
# assertion returns as soon as its condition holds: the bound costs nothing when all is well.
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=20_000)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    from etl.build import build
    from etl.config import DEMO_DIR

    db = tmp_path_factory.mktemp("db") / "demo.duckdb"
    build(DEMO_DIR, db, fictional=True, kind="build-demo", progress=lambda *_: None)
    return db


@pytest.fixture(scope="session")
def app_module(demo_db):
    from data import access

    access.configure(demo_db)
    import app as app_mod  # noqa: PLC0415  (one import per process)

    return app_mod


@pytest.fixture(scope="session")
def live_server(app_module):
    from werkzeug.serving import make_server

    port = _free_port()
    srv = make_server("127.0.0.1", port, app_module.server, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}"
    srv.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium absent ({CHROMIUM}) : installez le paquet Debian « chromium » (make test le fait)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="fr-FR")
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.base_url = live_server  # type: ignore[attr-defined]
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    ctx.close()
