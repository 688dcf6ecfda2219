"""Views: what a page shows for a state of its controls (indicator, year, classes, scope...),
computed from data.access and memoized per DB version (`memo_view`), so that the second
person asking for the same view gets it for next to nothing. A view is plain data (frames,
lists, strings), never layout; pages render it."""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import wraps

from data import db


def memo_view(maxsize: int = 128):
    """Memoize `fn(key)` per DB version in a bounded LRU. Results are shared between callers:
    treat them as read-only. `fn.uncached(key)` computes afresh (tests compare both)."""
    def deco(fn):
        cache: OrderedDict = OrderedDict()
        lock = threading.Lock()
        state = {"version": None}

        @wraps(fn)
        def wrapper(key):
            ver = db.version()
            with lock:
                if state["version"] != ver:           # the file was replaced: forget every view
                    cache.clear()
                    state["version"] = ver
                hit = cache.get(key)
                if hit is not None:
                    cache.move_to_end(key)
                    return hit
            value = fn(key)
            with lock:
                if state["version"] == ver:
                    cache[key] = value
                    cache.move_to_end(key)
                    while len(cache) > maxsize:
                        cache.popitem(last=False)
            return value

        wrapper.uncached = fn
        wrapper.cache_clear = cache.clear
        wrapper.cache_len = lambda: len(cache)
        return wrapper
    return deco
