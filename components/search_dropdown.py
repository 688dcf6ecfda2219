"""Dropdowns whose option list grows with the territory, searched on the server.

Dash 4's dcc.Dropdown indexes every option in the browser when it mounts (js-search, every
substring of every word): with a few thousand options this blocks the page for seconds. A
*search dropdown* sends at most `FULL_LIST_MAX` options; above that it sends the selected
option(s) and the first `SEARCH_LIMIT` ones, and a server callback answers what the user types.

Usage, in the page (or component) that owns the dropdown:

    # module level: the full list, as a function of State/Input values (cached per DB version)
    register_search("fiche-code", picker_options, State("fiche-level", "value"))

    def layout(level=..., code=...):
        ... search_dropdown("fiche-code", code, states=(level,), clearable=False) ...

    # another callback that replaces the list (here: the level changed) sends the short list
    @callback(Output("fiche-code", "options"), ...)
    def change_level(level):
        return initial_options(full_options("fiche-code", level), new_value)

The search callback writes `options` with allow_duplicate=True, so the owner's callbacks keep
writing them too. It listens to the dropdown's `value` as well: a value set from elsewhere (a
map click, a table row) gets its option back (Dash 4 clears a value whose option is missing).

Matching is accent-, case- and punctuation-insensitive, on the label and on the code (the value,
or its part after "level:"). Options whose name (the label, or its part after "Niveau — "),
label or code begins with the typed text rank first, in the list's order (the owner orders it:
régions before communes...); then options where every typed word begins a word, the match
nearest the start of the name first; then plain substrings.

Every option sent carries a `search` key (label without accents + code): the browser filters
the options it receives again with its own matcher, which would otherwise hide "Féerie" when
"feerie" is typed. Options answering a query also carry the query itself, so that every server
match stays visible whatever the browser's tokenizer makes of it.
"""
from __future__ import annotations

import heapq
import re
import threading
import unicodedata
from collections import OrderedDict
from typing import Callable, Iterable

from dash import Input, Output, State, callback, dcc, no_update

from components import DROPDOWN_LABELS_FR
from data import access

FULL_LIST_MAX = 60      # up to this many options, the browser gets them all and filters itself
SEARCH_LIMIT = 50       # options sent before typing, and at most per answer
MAX_QUERY = 100         # characters of the typed text that are considered
CACHE_BUDGET = 400_000  # options kept in memory, all full lists together (least recently used dropped)
SEARCH_LABEL = "Tapez pour rechercher…"
NAME_SEP = " — "        # labels "Commune — Bourg-Fictif": the name follows the level

_REGISTRY: dict[str, Callable[..., list[dict]]] = {}


# --- Text folding ------------------------------------------------------------------------------

_LIGATURES = (("œ", "oe"), ("Œ", "OE"), ("æ", "ae"), ("Æ", "AE"), ("\u2019", "'"), ("\u2018", "'"))
_COMBINING = re.compile("[\u0300-\u036f]+")     # accents once NFKD has split them from their letter
_NON_WORD = re.compile(r"[\W_]+")


def fold(text) -> str:
    """Lower case without accents, ligatures spelt out, punctuation kept: 'Œuvre-Fée' -> 'oeuvre-fee'."""
    text = str(text)
    for lig, spelt in _LIGATURES:          # str.replace: much faster than str.translate on long texts
        text = text.replace(lig, spelt)
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text)).casefold()


def words(text) -> list[str]:
    """The folded words of a text: "L'Île-Saint-Denis (93039)" -> ['l', 'ile', 'saint', 'denis', '93039']."""
    return [w for w in _NON_WORD.split(fold(text)) if w]


_NON_WORD_KEEP_NL = re.compile(r"[^\w\n]+")


def _words_many(texts: list) -> list[str]:
    """The words of each text joined by spaces, folded in one pass (fast on long lists)."""
    if not texts:
        return []
    big = "\n".join(str(t).replace("\n", " ") for t in texts)
    big = _NON_WORD_KEEP_NL.sub(" ", fold(big).replace("_", " "))
    return [" ".join(line.split()) for line in big.split("\n")]


def _code(value) -> str:
    """The code part of a value: 'commune:96001' -> '96001'."""
    return str(value).rsplit(":", 1)[-1]


def _search_key(label, value, query: str | None = None) -> str:
    parts = fold(label).split() + words(label) + words(value)
    if query:
        parts.append(query.strip().lower())
    return " ".join(dict.fromkeys(p for p in parts if p and not _NON_WORD.fullmatch(p)))


def with_search_key(option: dict, query: str | None = None) -> dict:
    """A copy of the option with its `search` key (see the module docstring)."""
    label = option.get("label", option.get("value"))
    label = label if isinstance(label, (str, int, float)) else ""   # a component label: code only
    return {**option, "search": _search_key(label, option.get("value"), query)}


# --- Matching ----------------------------------------------------------------------------------

class OptionIndex:
    """A full option list, ready to be searched (folded texts are computed on the first search)."""

    def __init__(self, options: Iterable[dict]):
        self.options: list[dict] = list(options)
        self.by_value: dict = {o.get("value"): o for o in self.options}
        self._prepared: list[tuple[str, str, str]] | None = None

    def __len__(self) -> int:
        return len(self.options)

    def __contains__(self, value) -> bool:
        return _hashable(value) and value in self.by_value

    def _prepare(self) -> list[tuple[str, str, str, str]]:
        """Per option, space-separated folded words: the label, the name (the label after its
        "Niveau — " prefix, if any), the code, and " " + name, prefix and value words."""
        if self._prepared is None:
            labels = [o.get("label", o.get("value")) for o in self.options]
            labels = [str(lab) if isinstance(lab, (str, int, float)) else "" for lab in labels]
            values = [o.get("value") for o in self.options]
            split = [lab.split(NAME_SEP, 1) if NAME_SEP in lab else ("", lab) for lab in labels]
            prefixes = _words_many([p for p, _ in split])
            names = _words_many([n for _, n in split])
            vws = _words_many(values)
            codes = _words_many([_code(v) for v in values])
            self._prepared = [(f"{pw} {nw}".strip(), nw, code, f" {nw} {pw} {vw}")
                              for pw, nw, code, vw in zip(prefixes, names, codes, vws)]
        return self._prepared

    def selected(self, value) -> list[dict]:
        """The options of the selected value(s), in the value's order (unknown values left out)."""
        values = value if isinstance(value, (list, tuple)) else ([] if value is None else [value])
        wanted = dict.fromkeys(v for v in values if _hashable(v))
        return [self.by_value[v] for v in wanted if v in self.by_value]

    def initial(self, value, limit: int | None = None) -> list[dict]:
        """What the dropdown shows before anything is typed: every option when the list is short,
        else the selected option(s) followed by the first `limit` others."""
        if len(self.options) <= FULL_LIST_MAX:
            return [with_search_key(o) for o in self.options]
        limit = SEARCH_LIMIT if limit is None else limit
        sel = self.selected(value)
        chosen = {o.get("value") for o in sel}
        rest = [o for o in self.options[: limit + len(sel)] if o.get("value") not in chosen][:limit]
        return [with_search_key(o) for o in sel + rest]

    def matches(self, query: str, limit: int | None = None) -> list[dict]:
        """The options matching `query`, best first, at most `limit` (no query: none)."""
        limit = SEARCH_LIMIT if limit is None else limit
        q = words(str(query or "")[:MAX_QUERY])
        if not q:
            return []
        qs = " ".join(q)
        longest = max(q, key=len)
        starts = [" " + t for t in q]
        ranked = (_rank(starts, qs, row, i) for i, row in enumerate(self._prepare())
                  if longest in row[3] and all(t in row[3] for t in q))   # cheap test first
        return [self.options[i] for *_, i in heapq.nsmallest(limit, ranked)]

    def search(self, query, value, limit: int | None = None) -> list[dict]:
        """The answer to a typed text: the matches, then the selected option(s) that do not match
        (kept so that Dash keeps their label, and hidden by the browser's filter). An empty query
        gives the initial list."""
        q = str(query or "")[:MAX_QUERY]
        if not words(q):
            return self.initial(value, limit)
        found = self.matches(q, limit)
        seen = {o.get("value") for o in found}
        kept = [with_search_key(o) for o in self.selected(value) if o.get("value") not in seen]
        return [with_search_key(o, q) for o in found] + kept


def _rank(starts: list[str], qs: str, row: tuple, i: int) -> tuple[int, int, int]:
    """Sort key of an option containing every typed word (smaller is better): label, name or
    code beginning with the text, then every typed word beginning a word (the nearer the first
    one to the start of the name, the better), then the rest; the list's order last.
    `starts`: " " + each typed word."""
    label, name, code, text = row
    if name.startswith(qs) or label.startswith(qs) or code.startswith(qs):
        return (0, 0, i)
    first = None
    for start in starts:
        at = text.find(start)
        if at < 0:
            return (2, 0, i)
        if first is None:
            first = text.count(" ", 0, at)      # index of the word
    return (1, first, i)


def _hashable(v) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


# --- Full lists, cached per DB version ---------------------------------------------------------

def _freeze(v):
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v


class _Cache:
    """Full lists per (options_fn, dependency values) for one DB version, least recently used
    dropped beyond CACHE_BUDGET options in all; emptied when the DB file is replaced."""

    def __init__(self):
        self._lock = threading.Lock()
        self._data: OrderedDict[tuple, OptionIndex] = OrderedDict()
        self._version: tuple | None = None

    def get(self, version: tuple, key: tuple) -> OptionIndex | None:
        with self._lock:
            if version != self._version:
                self._data.clear()
                self._version = version
            index = self._data.get(key)
            if index is not None:
                self._data.move_to_end(key)
            return index

    def put(self, version: tuple, key: tuple, index: OptionIndex) -> None:
        with self._lock:
            if version != self._version:
                return
            self._data[key] = index
            self._data.move_to_end(key)
            total = sum(len(i) for i in self._data.values())
            while len(self._data) > 1 and total > CACHE_BUDGET:
                total -= len(self._data.popitem(last=False)[1])


_CACHE = _Cache()


def option_index(options_fn: Callable[..., list[dict]], *dep_values) -> OptionIndex:
    """options_fn(*dep_values) as an OptionIndex, cached until the DB file is replaced. Lists in
    dep_values reach options_fn as tuples (they are part of the cache key)."""
    return _cached(options_fn, dep_values, options_fn)


def remember(options_fn: Callable[..., list[dict]], options: list[dict], *dep_values) -> OptionIndex:
    """Store a full list a callback has just computed (what options_fn(*dep_values) would
    return), so that the first search does not compute it again. Returns its OptionIndex."""
    return _cached(options_fn, dep_values, lambda *_: options)


def _cached(options_fn, dep_values: tuple, make: Callable[..., list[dict]]) -> OptionIndex:
    """The cached OptionIndex of options_fn for dep_values, else make(*dep_values) indexed and kept."""
    version, key = access.version(), (options_fn, _freeze(dep_values))
    index = _CACHE.get(version, key)
    if index is None:
        index = OptionIndex(make(*key[1]))
        _CACHE.put(version, key, index)
    return index


def full_options(component_id: str, *dep_values) -> list[dict]:
    """The full option list of a registered dropdown (cached; do not mutate it)."""
    return option_index(_registered(component_id), *dep_values).options


def _registered(component_id: str) -> Callable[..., list[dict]]:
    try:
        return _REGISTRY[component_id]
    except KeyError:
        raise ValueError(f"{component_id!r} n'a pas de recherche : appelez register_search() "
                         "au chargement du module qui possède la liste") from None


# --- Public API --------------------------------------------------------------------------------

def initial_options(options: list[dict] | OptionIndex, value, limit: int | None = None) -> list[dict]:
    """The options to send for `value` when a callback replaces a search dropdown's list: all of
    them when the list is short, else the selected option(s) and the first `limit`."""
    index = options if isinstance(options, OptionIndex) else OptionIndex(options)
    return index.initial(value, limit)


def search_dropdown(component_id: str, value, options: list[dict] | OptionIndex | None = None, *,
                    states: tuple = (), multi: bool = False, limit: int | None = None,
                    **dropdown_kwargs) -> dcc.Dropdown:
    """A dcc.Dropdown sending the initial list only (see initial_options).

    `options`: the full list (or its OptionIndex), or None to take it from the function registered
    for component_id (called with `states`, the current values of its dependencies). component_id
    must have been registered with register_search. Other keyword arguments go to dcc.Dropdown;
    the default placeholder and the search box invite the user to type, and options keep the
    server's order."""
    options_fn = _registered(component_id)
    if options is None:
        index = option_index(options_fn, *states)
    else:
        index = options if isinstance(options, OptionIndex) else OptionIndex(options)
    dropdown_kwargs.setdefault("placeholder", SEARCH_LABEL)
    dropdown_kwargs.setdefault("labels", {**DROPDOWN_LABELS_FR, "search": SEARCH_LABEL})
    dropdown_kwargs.setdefault("search_order", "original")
    return dcc.Dropdown(id=component_id, options=index.initial(value, limit), value=value, multi=multi,
                        searchable=True, **dropdown_kwargs)


def search_answer(options_fn: Callable[..., list[dict]], search_value, value, dep_values: tuple = (),
                  limit: int | None = None):
    """The options a search dropdown shows for the typed text (no_update when the list is short:
    the browser already has every option)."""
    index = option_index(options_fn, *dep_values)
    if len(index) <= FULL_LIST_MAX:
        return no_update
    return index.search(search_value, value, limit)


def register_search(component_id: str, options_fn: Callable[..., list[dict]], *deps,
                    limit: int | None = None, follow_value: bool = True):
    """Register the server search of a dropdown (call once, at import time).

    options_fn(*dep_values) returns the full option list ({"label", "value"} dicts); deps are
    dash State (or Input) objects on other components, e.g. State("ineg-scope", "value"): their
    values are passed to options_fn (lists as tuples) and are part of the cache key, with the DB
    version. With an Input dep the list also refreshes when that component changes; with a State
    the owner's callback sends initial_options(...) itself.

    The callback: Output(component_id, "options", allow_duplicate=True) <- Input search_value,
    Input value (State value when not `follow_value`: the owner's callback that sets the value
    from elsewhere sends its option, in the same round trip), *deps. Returns the callback
    function (callable directly in tests)."""
    if component_id in _REGISTRY:
        raise ValueError(f"register_search: {component_id!r} est déjà enregistré")
    _REGISTRY[component_id] = options_fn
    value_dep = (Input if follow_value else State)(component_id, "value")

    @callback(Output(component_id, "options", allow_duplicate=True),
              Input(component_id, "search_value"), value_dep, *deps,
              prevent_initial_call=True)
    def search_options(search_value, value, *dep_values):
        return search_answer(options_fn, search_value, value, dep_values, limit)

    return search_options
