"""How provenance is written on screen and in exports: the year a figure describes, the vintage
of the file it comes from, its source. One place, so that every page says it the same way.

Every value carries two years (docs/data-model.md):
- `year`, the diffusion vintage of its file (REVN_2022.csv: 2022);
- `ref_year`, the year the figure describes, when the producer's documentation or its own files
  give it (declared in etl/catalogue.toml, read in column names, or established by comparing
  files at load), else unknown (NULL).
A series is keyed by its `period`: the year described when known, else the diffusion vintage
minus UNDATED_OFFSET, so that undated vintages sort before every dated year and the "latest"
figure of a series is its most recent year described (period_of, period_token, parse_period).
A vintage whose values repeat the previous one's (`same_as`, detected at load) is the same
figure published again: it is said so, and shown once in series."""
from __future__ import annotations

import re

import pandas as pd

UNKNOWN_VINTAGE = "millésime inconnu"
FICTIONAL_PUBLISHER_PREFIX = "Atlas ASV, jeu fictif au format "


UNDATED_OFFSET = 10000


def _int(v) -> int | None:
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


def year_text(year, ref_year=None, same_as=None, short: bool = False) -> str:
    """"2019" when the year described is known ("2018, millésime de diffusion 2022" when the vintage differs);
    "millésime de diffusion 2022" when it is not; "n.d." without any year. A vintage repeating an
    earlier one is written as that one ("…, repris à l'identique en 2022"); `short` leaves the
    repetition out (axis ticks, dropdown options already grouped)."""
    y, r, s = _int(year), _int(ref_year), _int(same_as)
    if y is None:
        return "n.d."
    if s is not None and s != y:
        base = year_text(s, ref_year)
        return base if short else f"{base}, repris à l'identique dans le millésime {y}"
    if r is None:
        return f"millésime de diffusion {y}"
    return str(r) if r == y else f"{r}, millésime de diffusion {y}"


def geography_text(geography) -> str:
    """A geography version in words: "QPV 2024", "QPV 2015", "communes 2024" ('' when unknown)."""
    g = str(geography or "")
    if g.startswith("QPV"):
        return f"QPV {g[3:]}"
    if g.startswith("COG"):
        return f"communes {g[3:]}"
    return g


def period_of(year, ref_year=None) -> int:
    """The series key of a value: its year described, else its vintage minus UNDATED_OFFSET."""
    r = _int(ref_year)
    return r if r is not None else int(year) - UNDATED_OFFSET


def is_dated(period) -> bool:
    return _int(period) is not None and int(period) >= 0


def comparable_year(period) -> int | None:
    """The year a period stands for when periods are compared: the year described, or for an
    undated figure its diffusion vintage (the latest year it can describe)."""
    p = _int(period)
    if p is None:
        return None
    return p if p >= 0 else p + UNDATED_OFFSET


def period_token(period) -> str | None:
    """How a period is written in a URL: "2019" (year described) or "m2022" (diffusion vintage)."""
    p = _int(period)
    if p is None:
        return None
    return str(p) if p >= 0 else f"m{p + UNDATED_OFFSET}"


def parse_period(token) -> int | None:
    """Inverse of period_token; None for anything else ("2019", 2019, "m2022" are read)."""
    if isinstance(token, bool):
        return None
    if isinstance(token, int):
        return token if 1900 <= token <= 2200 or -UNDATED_OFFSET + 1900 <= token <= -UNDATED_OFFSET + 2200 else None
    s = str(token or "").strip()
    if len(s) > 6:
        return None
    undated = s[:1] in ("m", "M")
    digits = s[1:] if undated else s
    if not (len(digits) == 4 and digits.isdigit()):
        return None
    y = int(digits)
    if not 1900 <= y <= 2200:
        return None
    return y - UNDATED_OFFSET if undated else y


def vintage_text(vintage) -> str:
    """"millésime 2022", or "millésime inconnu": never a guessed year."""
    v = "" if vintage is None else str(vintage).strip()
    return f"millésime {v}" if v and v.lower() not in ("nan", "none", "<na>") else UNKNOWN_VINTAGE


def publisher_text(publisher) -> str:
    pub = str(publisher or "source inconnue")
    if pub.startswith(FICTIONAL_PUBLISHER_PREFIX):
        pub = pub[len(FICTIONAL_PUBLISHER_PREFIX):] + " (fictif)"
    return pub


def short_source(publisher, vintage, dataset=None) -> str:
    """"Filosofi 2018, INSEE" when the source names its dataset, else "ONPV / INSEE, millésime
    2022" — with "(fictif)" for the demo's sources."""
    if isinstance(dataset, str) and dataset.strip():
        return f"{dataset.strip()}, {publisher_text(publisher)}"
    return f"{publisher_text(publisher)}, {vintage_text(vintage)}"


def source_text(title, publisher=None, vintage=None, geography=None) -> str:
    """"Title (publisher), millésime 2022, géographie QPV2015" with what is known; the vintage is
    not repeated when the title already gives it ("…, millésime de diffusion 2022 (…)")."""
    out = str(title or "source inconnue")
    if publisher:
        out += f" ({publisher})"
    v = vintage_text(vintage)
    if not (v != UNKNOWN_VINTAGE and re.search(rf"millésime(?: de diffusion)? {re.escape(v.split()[-1])}\b", out)):
        out += f", {v}"
    if geography:
        out += f", géographie {geography}"
    return out
