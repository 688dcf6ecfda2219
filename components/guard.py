"""The inputs of every server callback, checked before the callback runs.

A page only lets a person send what its controls allow, but anyone can post anything to
/_dash-update-component. `install(app)` wraps each registered server callback once: each input and
state value is checked by the kind its property (or, for stores, its component id) holds
(PROP_KINDS, ID_KINDS: types, lengths); a value of the wrong kind answers "no update" (HTTP 204)
and the callback never sees it. Values of the right kind but unknown (a year that does not exist,
a code of no territory) are the callbacks' to refuse, and they do, through the same parsing the
URL goes through. Whatever still escapes a callback is caught by `on_error` (the app's global
handler): logged, counted in ERRORS, answered with no update, never an HTTP 500. A request whose
body is not a callback call at all (unknown output, missing fields) answers 400. Dash's own
script route answers 404 for an unknown file.
"""
from __future__ import annotations

import functools
import json
import logging
import math
from collections import deque

from dash.exceptions import PreventUpdate

log = logging.getLogger("atlas.guard")

MAX_TEXT = 4_000                 # a URL, a search, a code, a name
MAX_UPLOAD = 80 * 2**20          # an upload's data URL (the importer caps files at 50 MB before base64)
MAX_ITEMS = 2_000                # items of a multi-value control or list
MAX_JSON = 2 * 2**20             # a store's JSON
ERRORS: deque = deque(maxlen=200)   # (callback output, exception text) of what escaped a callback


class Invalid(Exception):
    """A value of the wrong kind for its property."""


def _count(v):
    if v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 10**9):
        return v
    raise Invalid


def _text(limit):
    def check(v):
        if v is None or (isinstance(v, str) and len(v) <= limit and "\x00" not in v):
            return v
        raise Invalid
    return check


def _scalar(v) -> bool:
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, (int, float)):
        return math.isfinite(v) and abs(v) < 1e15
    return isinstance(v, str) and len(v) <= MAX_TEXT and "\x00" not in v


def _value(v):
    """A control's value: a scalar, or a list of scalars (multi-select, range)."""
    if _scalar(v) or (isinstance(v, list) and len(v) <= MAX_ITEMS and all(_scalar(x) and x is not None for x in v)):
        return v
    raise Invalid


def _mapping(v):
    if v is None or (isinstance(v, dict) and _small(v)):
        return v
    raise Invalid


def _listing(v):
    if v is None or (isinstance(v, list) and len(v) <= MAX_ITEMS and _small(v)):
        return v
    raise Invalid


def _json(v):
    if _small(v):
        return v
    raise Invalid


def _small(v) -> bool:
    try:
        return len(json.dumps(v)) <= MAX_JSON
    except (TypeError, ValueError):
        return False


def _sort_by(v):
    """A DataTable's sort: [{"column_id": str, "direction": "asc" | "desc"}, ...]."""
    if v is None or (isinstance(v, list) and len(v) <= 20 and all(
            isinstance(s, dict) and isinstance(s.get("column_id"), str) and len(s["column_id"]) <= 200
            and s.get("direction") in ("asc", "desc") for s in v)):
        return v
    raise Invalid


def _cell(v):
    """A DataTable's active cell: {"row": int, "column": int, "column_id": str, ...}."""
    if v is None:
        return v
    if isinstance(v, dict) and all(isinstance(v.get(k), int) and not isinstance(v.get(k), bool) and v[k] >= 0
                                   for k in ("row", "column")) and isinstance(v.get("column_id"), str):
        return v
    raise Invalid


def _path(v):
    """A URL path: absolute, no NUL (Dash's own page router refuses anything else with an exception)."""
    if v is None or (isinstance(v, str) and v.startswith("/") and len(v) <= MAX_TEXT and "\x00" not in v):
        return v
    raise Invalid


def _flag(v):
    if v is None or isinstance(v, bool):
        return v
    raise Invalid


PROP_KINDS = {
    "n_clicks": _count, "n_blur": _count, "n_submit": _count, "page_current": _count,
    "value": _value, "search_value": _text(MAX_TEXT), "search": _text(MAX_TEXT), "pathname": _path,
    "hash": _text(MAX_TEXT), "href": _text(MAX_TEXT), "url": _text(MAX_TEXT), "src": _text(MAX_TEXT),
    "filename": _text(1_000), "contents": _text(MAX_UPLOAD), "className": _text(MAX_TEXT),
    "sort_by": _sort_by, "active_cell": _cell, "clickData": _mapping, "hoverData": _mapping,
    "viewport": _mapping, "options": _listing, "hidden": _flag, "disabled": _flag,
    "derived_virtual_data": _listing, "columns": _listing,
}
# Stores and other components whose property holds a value of a known kind (default: any small JSON).
ID_KINDS = {
    "page-shown": _mapping, "page-wanted": _mapping, "imp-pending": _mapping, "presentation-store": _mapping,
    "act-selected": _text(MAX_TEXT), "cov-scheme": _text(MAX_TEXT), "present-shown": _text(MAX_JSON),
    "cov-layers": _listing, "present-index": _count,
}


def _checker(dep: dict):
    """The check of one input or state of a callback (its id may be a pattern-matching dict)."""
    cid, prop = dep.get("id"), dep.get("property")
    name = cid if isinstance(cid, str) else None
    if name in ID_KINDS:
        return ID_KINDS[name]
    return PROP_KINDS.get(prop, _json)


def _is_all(dep: dict) -> bool:
    """An ALL / ALLSMALLER pattern: the value is the list of the matching components' values."""
    cid = dep.get("id")
    if isinstance(cid, str) and cid.startswith("{"):
        try:
            cid = json.loads(cid)
        except ValueError:
            return False
    return isinstance(cid, dict) and any(v in (["ALL"], ["ALLSMALLER"]) for v in cid.values())


def _check_all(check):
    def each(v):
        if isinstance(v, list) and len(v) <= MAX_ITEMS:
            return [check(x) for x in v]
        raise Invalid
    return each


# --------------------------------------------------------------------------- values of the right kind, known
def one(value, choices=None, default=None):
    """A single text value, kept when it is one of `choices` (any text when None), else `default`."""
    if isinstance(value, str) and (choices is None or value in choices):
        return value
    return default


def many(value, choices=None) -> list[str]:
    """The text values of a multi-select (a lone value counts as one) that are among `choices`
    (any text when None), in order, once each."""
    items = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(v for v in items if isinstance(v, str) and (choices is None or v in choices)))


def guarded(func, deps: list[dict], name: str):
    """`func` (a Dash-registered callback) with its positional arguments checked against `deps`."""
    checks = [(_check_all(_checker(d)) if _is_all(d) else _checker(d)) for d in deps]

    @functools.wraps(func)
    def run(*args, **kwargs):
        if len(args) != len(checks):
            raise PreventUpdate
        try:
            for check, v in zip(checks, args):
                check(v)
        except Invalid:
            log.info("callback %s: input of the wrong kind refused", name[:120])
            raise PreventUpdate from None
        return func(*args, **kwargs)
    run.atlas_guarded = True
    return run


def on_error(err: Exception):
    """The app's global callback error handler: nothing a callback raises reaches the visitor as an
    HTTP 500. Logged with the callback's output, kept in ERRORS (tests read it), no update."""
    from dash import ctx

    try:
        where = str(ctx.outputs_list)[:200]
    except Exception:  # noqa: BLE001  (outside a callback context)
        where = "?"
    ERRORS.append((where, f"{type(err).__name__}: {err}"[:500]))
    log.exception("callback %s failed", where, exc_info=err)
    return None


def install(app) -> None:
    """Guard every server callback of `app` (call once, after the pages registered theirs), make
    malformed callback requests answer 400 and unknown component-suite files 404."""
    for output, cb in app.callback_map.items():
        func = cb.get("callback")
        if func is None or getattr(func, "atlas_guarded", False):
            continue
        cb["callback"] = guarded(func, list(cb.get("inputs", [])) + list(cb.get("state", [])), output)
    _bad_requests_are_400(app)


def _bad_requests_are_400(app) -> None:
    from flask import jsonify

    server = app.server
    endpoint = next((r.endpoint for r in server.url_map.iter_rules() if r.rule.endswith("_dash-update-component")),
                    None)
    suites = next((r.endpoint for r in server.url_map.iter_rules() if "_dash-component-suites" in r.rule), None)
    if endpoint and not getattr(server.view_functions[endpoint], "atlas_guarded", False):
        dispatch = server.view_functions[endpoint]

        @functools.wraps(dispatch)
        def checked_dispatch(*args, **kwargs):
            try:
                return dispatch(*args, **kwargs)
            except PreventUpdate:
                raise
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                ERRORS.append(("requête", f"{type(exc).__name__}: {exc}"[:500]))
                log.info("malformed callback request refused: %s", exc)
                return jsonify({"message": "Requête de mise à jour invalide."}), 400
        checked_dispatch.atlas_guarded = True
        server.view_functions[endpoint] = checked_dispatch
    if suites and not getattr(server.view_functions[suites], "atlas_guarded", False):
        serve = server.view_functions[suites]

        @functools.wraps(serve)
        def checked_serve(*args, **kwargs):
            from dash.exceptions import DependencyException

            try:
                return serve(*args, **kwargs)
            except (DependencyException, FileNotFoundError, OSError, KeyError):
                return "Fichier inconnu.", 404
        checked_serve.atlas_guarded = True
        server.view_functions[suites] = checked_serve
