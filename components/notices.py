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
