"""Helpers for browser tests."""
from __future__ import annotations

import os
from pathlib import Path

SHOTS = Path(os.environ.get("ATLAS_SCREENSHOTS", "/tmp/atlas-screenshots"))


# Dash's own callback queue (window.store, dash-renderer): a callback that is triggered waits in
# "requested" before it runs, and outputs such as stores or tables never get data-dash-is-loading.
JS_DASH_IDLE = """() => {
    const content = document.getElementById('page-content');
    const cbs = window.store && window.store.getState().callbacks;
    const pending = !cbs || ['requested', 'prioritized', 'blocked', 'executing', 'watched', 'executed']
        .some(k => (cbs[k] || []).length > 0);
    return !!content && content.children.length > 0 && !pending &&
        !document.querySelector('[data-dash-is-loading="true"]');
}"""

JS_DASH_PENDING = """() => {
    const cbs = (window.store && window.store.getState().callbacks) || {};
    const out = {};
    Object.entries(cbs).forEach(([k, v]) => {
        if (Array.isArray(v) && v.length) { out[k] = v.map(c => (c.callback && c.callback.output) || '?'); }
    });
    out.loading = Array.from(document.querySelectorAll('[data-dash-is-loading="true"]'), e => e.id || e.tagName);
    out.content = !!document.getElementById('page-content');
    return JSON.stringify(out);
}"""


def wait_dash(pg, timeout: int = 20000) -> None:
    """Wait until Dash has rendered the page and no callback is queued or running. Work outside
    Dash (map geometry fetches, Plotly drawing, lazy table chunks) needs expect(...) as well."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    pg.wait_for_selector("#react-entry-point", timeout=timeout)
    try:
        pg.wait_for_function(JS_DASH_IDLE, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(f"Dash still busy after {timeout} ms: {pg.evaluate(JS_DASH_PENDING)}") from None


def screenshot(pg, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def wait_search(pg, fragment: str, timeout: int = 15000) -> None:
    """Wait until the URL's query string contains `fragment` (Dash updates it with
    history.pushState, which fires no load event for Playwright's wait_for_url)."""
    pg.wait_for_function("(f) => decodeURIComponent(location.search).includes(f)", arg=fragment,
                         timeout=timeout)


SEARCH_BOX = "input.dash-dropdown-search"


def open_dropdown(pg, dropdown_id: str):
    """Open a Dash 4 dropdown; returns the locator of its search box. A popover still closing
    after a previous choice must be gone first: its search box would reach nothing."""
    pg.wait_for_function("(sel) => !Array.from(document.querySelectorAll(sel)).some(e => e.offsetParent !== null)",
                         arg=SEARCH_BOX)
    pg.locator(f"#{dropdown_id}").click()
    return pg.locator(f"{SEARCH_BOX}:visible")


def option(pg, name: str, exact: bool = False):
    """The choice named `name` in the open dropdown: a radio (or checkbox, when several can be
    chosen) named by its label, as assets/a11y.js exposes Dash 4's option lists; the locator is
    that label, which takes the click."""
    return pg.locator(".dash-dropdown-content label.dash-dropdown-option").filter(
        has=pg.get_by_label(name, exact=exact))


def choose(pg, dropdown_id: str, option_text: str, search: str | None = None) -> None:
    """Open a Dash 4 dropdown, optionally type in its search box, click an option."""
    box = open_dropdown(pg, dropdown_id)
    if search:
        box.wait_for()
        box.fill(search)
    option(pg, option_text).first.click()
    pg.keyboard.press("Escape")


def csv_table(text: str) -> tuple[list[list[str]], list[list[str]]]:
    """(provenance lines, table rows) of an exported CSV: the provenance comes first, then an empty
    line, then the table (components/tables.export_meta)."""
    import csv as _csv
    import io as _io

    rows = list(_csv.reader(_io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    blank = rows.index([]) if [] in rows else -1
    return rows[:max(blank, 0)], rows[blank + 1:]
