"""Files uploaded to the Importer page and waiting for their confirmation, on disk beside the DB.

<DB folder>/imports/pending/<random id>/ holds the bytes (`data`), what was validated
(`meta.json`) and the column mapping used (`mapping.toml`); any gunicorn worker can serve the
confirmation. Each pending file is bound to the admin token that uploaded it: `meta.json` keeps a
keyed digest of that token (never the token), and reading, re-checking, confirming or deleting a
pending file needs the same token: someone who knows a pending id but not the token can neither
use nor delete it. File names are made harmless (etl.importer.safe_file_name) before they are
stored. Folders are deleted after the import and swept after PENDING_TTL seconds.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from components.admin import token_ok
from data import access
from etl.importer import safe_file_name

PENDING_TTL = 6 * 3600          # seconds a validated file waits for its confirmation
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def pending_root() -> Path:
    return access.db_path().parent / "imports" / "pending"


def pending_dir(pid) -> Path | None:
    """The folder of a pending id, or None when the id is malformed (it comes from the browser)."""
    if not isinstance(pid, str) or not _ID_RE.match(pid):
        return None
    return pending_root() / pid


def _token_digest(token: str) -> str:
    """A digest of the token, keyed so that it cannot be compared with a digest of a guess offline."""
    return hmac.new(b"atlas-asv-pending-upload", token.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def sweep_pending(ttl: float = PENDING_TTL, now: float | None = None) -> int:
    """Delete pending folders older than `ttl` seconds; returns how many were deleted."""
    root = pending_root()
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    n = 0
    for d in root.iterdir():
        try:
            if d.is_dir() and now - d.stat().st_mtime > ttl:
                shutil.rmtree(d, ignore_errors=True)
                n += 1
        except OSError:
            continue
    return n


def save_pending(data: bytes, file_name, token: str) -> str:
    """Write an uploaded file into a new pending folder bound to `token`; returns its random id."""
    if not token_ok(token):
        raise PermissionError("jeton d'administration requis")
    sweep_pending()
    pid = secrets.token_urlsafe(24)
    d = pending_root() / pid
    d.mkdir(parents=True, mode=0o700)
    (d / "data").write_bytes(data)
    _write_meta(d, {"file_name": safe_file_name(file_name), "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(), "created": time.time(),
                    "token": _token_digest(token)})
    return pid


def _write_meta(d: Path, meta: dict) -> None:
    tmp = d / "meta.json.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, d / "meta.json")


def _owned(pid, token) -> Path | None:
    """The pending folder of `pid` when `token` is the admin token and the one that uploaded it."""
    d = pending_dir(pid)
    if d is None or not token_ok(token):
        return None
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    given = _token_digest(token)
    return d if isinstance(meta, dict) and hmac.compare_digest(str(meta.get("token", "")), given) else None


def read_pending(pid, token) -> tuple[bytes, dict] | None:
    d = _owned(pid, token)
    if d is None:
        return None
    try:
        return (d / "data").read_bytes(), json.loads((d / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pending_file(pid, token, name: str) -> Path | None:
    """A file of the pending folder (the full report, rapport.csv) for its owner, else None."""
    d = _owned(pid, token)
    return d / name if d is not None and (d / name).is_file() else None


def update_pending(pid, token, mapping: tuple[bytes, str] | None = None, report_csv=None, **meta) -> None:
    """Record what was validated (kind, mapping file, the full report) next to the pending file."""
    d = _owned(pid, token)
    got = read_pending(pid, token)
    if d is None or got is None:
        return
    m = got[1]
    m.update(meta)
    if mapping is None:
        (d / "mapping.toml").unlink(missing_ok=True)
        m["mapping_name"] = None
    else:
        (d / "mapping.toml").write_bytes(mapping[0])
        m["mapping_name"] = safe_file_name(mapping[1])
    if report_csv is not None:
        report_csv(d / "rapport.csv")
    _write_meta(d, m)


def pending_mapping(pid, token) -> tuple[bytes, str] | None:
    d = _owned(pid, token)
    got = read_pending(pid, token)
    if d is None or got is None or not got[1].get("mapping_name"):
        return None
    try:
        return (d / "mapping.toml").read_bytes(), got[1]["mapping_name"]
    except OSError:
        return None


def drop_pending(pid, token) -> None:
    """Delete a pending folder: only its owner's token can."""
    d = _owned(pid, token)
    if d is not None:
        shutil.rmtree(d, ignore_errors=True)
