"""Reading an HTTP answer within a deadline and a size cap (downloads, the BAN geocoder).

requests' `timeout` bounds each read, not a transfer: a server that sends a byte every few seconds
never trips it. `read_body` reads with `read1` (whatever has arrived, at most one chunk), so that
the deadline is checked between bytes, and stops at a size cap. `call_within` runs a whole
request in a daemon thread and gives up waiting at its deadline (headers that never end): the
caller answers in time, the abandoned thread ends with its socket's own timeout.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterator, TypeVar

CHUNK = 64 * 1024
T = TypeVar("T")


class TooSlow(Exception):
    """The transfer passed its deadline (`.size`: bytes received)."""

    def __init__(self, size: int = 0):
        super().__init__(f"délai dépassé ({size} octets reçus)")
        self.size = size


class TooLarge(Exception):
    """The answer passed its size cap (`.size`: bytes received when it stopped)."""

    def __init__(self, size: int):
        super().__init__(f"réponse trop volumineuse ({size} octets)")
        self.size = size


def read_body(resp, deadline: float, limit: int | None = None, chunk: int = CHUNK) -> Iterator[bytes]:
    """The body of a streamed requests response, chunk by chunk as it arrives (decoded);
    TooSlow once time.monotonic() passes `deadline`, TooLarge beyond `limit` bytes."""
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TooSlow(size)
        data = resp.raw.read1(chunk, decode_content=True)
        if not data:
            return
        size += len(data)
        if limit is not None and size > limit:
            raise TooLarge(size)
        yield data


def call_within(fn: Callable[[], T], seconds: float) -> T:
    """fn() run in a daemon thread; its result (or its exception) when it ends within `seconds`,
    else TooSlow: the caller goes on, the thread is left to end on its own."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001  (handed to the caller)
            box["error"] = exc

    t = threading.Thread(target=run, name="atlas-http", daemon=True)
    t.start()
    t.join(max(0.0, seconds))
    if t.is_alive():
        raise TooSlow()
    if "error" in box:
        raise box["error"]
    return box["value"]
