"""Helpers for browser tests."""
from __future__ import annotations

import os
from pathlib import Path

SHOTS = Path(os.environ.get("ATLAS_SCREENSHOTS", "/tmp/atlas-screenshots"))


def wait_dash(pg, timeout: int = 20000) -> None:
    """Wait until Dash has rendered and no callback is pending."""
    pg.wait_for_selector("#react-entry-point", timeout=timeout)
    pg.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=\"true\"]') && "
        "document.querySelector('#_pages_content') && document.querySelector('#_pages_content').children.length > 0",
        timeout=timeout)


def screenshot(pg, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
