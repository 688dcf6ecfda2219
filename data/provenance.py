"""How provenance is written on screen and in exports: the year a figure describes, the vintage
of the file it comes from, its source. One place, so that every page says it the same way.

Every value carries two years (docs/data-model.md):
- `year`, the diffusion vintage of its file (REVN_2022.csv: 2022), which orders a series;
- `ref_year`, the year the figure describes, when the producer's documentation gives it
  (declared per table and vintage in etl/catalogue.toml), else unknown (NULL).
A vintage whose values repeat the previous one's (`same_as`, detected at load) is the same
figure published again: it is said so, and shown once in series."""
from __future__ import annotations

import pandas as pd

UNKNOWN_VINTAGE = "millésime inconnu"
FICTIONAL_PUBLISHER_PREFIX = "Atlas ASV, jeu fictif au format "


def _int(v) -> int | None:
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


def year_text(year, ref_year=None, same_as=None, short: bool = False) -> str:
    """"2019" when the year described is known (with the diffusion vintage when it differs);
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
    return str(r) if r == y else f"{r} (millésime de diffusion {y})"


def vintage_text(vintage) -> str:
    """"millésime 2022", or "millésime inconnu": never a guessed year."""
    v = "" if vintage is None else str(vintage).strip()
    return f"millésime {v}" if v and v.lower() not in ("nan", "none", "<na>") else UNKNOWN_VINTAGE


def publisher_text(publisher) -> str:
    pub = str(publisher or "source inconnue")
    if pub.startswith(FICTIONAL_PUBLISHER_PREFIX):
        pub = pub[len(FICTIONAL_PUBLISHER_PREFIX):] + " (fictif)"
    return pub


def short_source(publisher, vintage) -> str:
    """"ONPV / INSEE, millésime 2022" — or "... (fictif)" for the demo's sources."""
    return f"{publisher_text(publisher)}, {vintage_text(vintage)}"


def source_text(title, publisher=None, vintage=None, geography=None) -> str:
    """"Title (publisher), millésime 2022, géographie QPV2015" with what is known."""
    out = str(title or "source inconnue")
    if publisher:
        out += f" ({publisher})"
    out += f", {vintage_text(vintage)}"
    if geography:
        out += f", géographie {geography}"
    return out
