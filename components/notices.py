"""Notices about the URL a page was opened with: a parameter given twice, a territory code the DB
does not know, a value out of range. The page is shown anyway (with what could be read), and says
what it ignored."""
from __future__ import annotations

from dash import html


def clip(value, n: int = 60) -> str:
    s = str(value)
    return s if len(s) <= n else s[: n - 1] + "…"


def url_notices(messages: list[str], notice_id: str = "url-notices") -> html.Div | None:
    """The messages as one polite status block (None when there is nothing to say)."""
    if not messages:
        return None
    return html.Div([html.P(m) for m in messages], className="note url-notice", role="status", id=notice_id)


def _subject(note) -> str | None:
    """A note's subject: the text of its leading <strong> ("Périmètre 2015 : " -> "périmètre 2015")."""
    kids = getattr(note, "children", None)
    first = kids[0] if isinstance(kids, (list, tuple)) and kids else None
    text = getattr(first, "children", None) if isinstance(first, html.Strong) else None
    if not isinstance(text, str):
        return None
    text = text.strip().rstrip(":").strip()
    return text[:1].lower() + text[1:] if text[:2].upper() != text[:2] else text


def folded_notes(notes: list, heading: str) -> list:
    """Notes about the figures shown as one line that opens (a <details>), whose summary names
    their subjects: "Remarques sur ces chiffres (2) : périmètre 2015 · années différentes". Placed
    under a map, they keep the map above the fold; nothing is said when there is nothing to say."""
    items = [n for n in notes if n is not None]
    if not items:
        return []
    subjects = [s for s in map(_subject, items) if s]
    more = len(items) - len(subjects)
    if more and subjects:
        subjects.append(f"{more} autre{'s' if more > 1 else ''}")
    said = f" : {' · '.join(subjects)}" if subjects else ""
    return [html.Details([html.Summary(f"{heading} ({len(items)}){said}", className="notes-fold-summary"),
                          html.Div(items, className="notes-fold-body")], className="notes-fold")]
