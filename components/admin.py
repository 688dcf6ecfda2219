"""Admin token for the pages that change the DB (the "Importer" page).

The import page is enabled only when the environment variable ATLAS_ADMIN_TOKEN holds a
token; it is read at each call, so the nav link and the page follow the environment of
the process that serves them. A token given by a user is compared in constant time.
"""
from __future__ import annotations

import hmac
import os

TOKEN_ENV = "ATLAS_ADMIN_TOKEN"


def admin_token() -> str | None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def import_enabled() -> bool:
    return admin_token() is not None


def token_ok(given) -> bool:
    """True when `given` is the admin token (hmac.compare_digest); always False when the
    import is disabled or nothing was given."""
    expected = admin_token()
    if expected is None or not isinstance(given, str) or not given.strip():
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))
