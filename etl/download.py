"""`python -m etl download`: fetch the official open data listed in etl/sources.toml.

Two steps:

1. Each source is downloaded into a cache (``$ATLAS_CACHE`` or data/cache), one folder per
   source, written to a temporary file and renamed, with its sha256 checked when the catalogue
   gives one. A JSON sidecar beside each cached file records its URL, sha256, size, retrieval
   date and the server's ETag / Last-Modified. A later run re-uses the cached file unless
   ``force`` is set or a conditional GET (If-None-Match / If-Modified-Since) says it changed.
2. The files are laid out in the destination folder, one sub-folder per source: archive
   members extracted, national layers filtered to the région when one is given. A manifest
   (``.atlas-download.json``) records where each laid file comes from and when it was
   retrieved; `retrieval_dates` reads it back for `build --from`.

``ATLAS_DATA_BASE_URL`` points every source at a mirror (see the header of sources.toml).

Guarantees: a downloaded file is verified (pinned sha256 when the catalogue gives one, not an HTML
page, an archive whose members' checksums are right and which holds the members `extract` names,
JSON that starts like JSON) before it replaces the cached copy, so a bad download never replaces a
good one (the cached copy is used instead, with a warning); each file has an overall deadline
(``ATLAS_DOWNLOAD_DEADLINE``, 30 min) besides the per-read timeout; every source is laid out in a
staging folder first, then swapped in, and the manifest written last: if one source fails, the
destination is left as it was.

Why not pooch: it downloads into a temporary file, checks a known hash and moves the file into its
cache, which is what `_download` does in a few lines; but it never re-checks a file whose hash is not
pinned (most sources here are not: data.gouv.fr resources change under the same URL, and are
revalidated with If-None-Match / If-Modified-Since), has no overall deadline, and would still need
the content checks, the fallback on the cached copy and the région filter written around it.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlparse

import requests
from tqdm import tqdm

from .context import sha256_file
from .httpread import TooSlow, read_body
from .catalogue import (CATALOGUE_FILE, CHUNK, ChecksumError, ContentError, DownloadError, Fetched,
                        MANIFEST_NAME, REGION_DEPARTEMENTS, SIDECAR_SUFFIX, Source, cache_dir,
                        load_catalogue, now_iso, read_json, warn, write_json)
from .unpack import choose_members, lay_out, swap_in

ENV_BASE_URL = "ATLAS_DATA_BASE_URL"
DATAGOUV_API = "https://www.data.gouv.fr/api/1/datasets/"
USER_AGENT = "atlas-asv-etl/1.0 (python-requests)"
RETRIES = 2            # extra attempts after a network error or a 5xx / 429 answer
BACKOFF = 1.0          # seconds; doubled at each attempt
TIMEOUT = (15, 120)    # connect, read (seconds)
# Whole transfer of one file (seconds): a server that drips a byte now and then never trips the
# read timeout, this deadline ends it.
DEADLINE = float(os.environ.get("ATLAS_DOWNLOAD_DEADLINE", "1800"))


# ----------------------------------------------------------------------------- HTTP

def _session() -> requests.Session:
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    return s


class _Retryable(Exception):
    pass


def _describe(src: Source, url: str) -> str:
    return f"source « {src.id} » ({src.title}), adresse {url}"


def _with_retries(src: Source, url: str, attempt_fn):
    """Run attempt_fn() and retry network errors and 5xx / 429 answers with backoff."""
    last = ""
    for attempt in range(RETRIES + 1):
        try:
            return attempt_fn()
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError, _Retryable) as exc:
            last = _reason(exc)
            if attempt < RETRIES:
                time.sleep(BACKOFF * 2 ** attempt)
        except requests.RequestException as exc:
            raise DownloadError(f"téléchargement impossible, {_describe(src, url)} : {_reason(exc)}") from None
    raise DownloadError(f"téléchargement impossible après {RETRIES + 1} essais, {_describe(src, url)} : {last}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, _Retryable):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return "délai d'attente dépassé"
    if isinstance(exc, requests.ConnectionError):
        return "connexion impossible (réseau indisponible ou serveur injoignable)"
    return f"{type(exc).__name__} : {exc}"


def _check_status(src: Source, url: str, resp: requests.Response) -> None:
    if resp.status_code >= 500 or resp.status_code == 429:
        resp.close()
        raise _Retryable(f"le serveur répond {resp.status_code} ({resp.reason})")
    if resp.status_code >= 400:
        resp.close()
        raise DownloadError(f"téléchargement impossible, {_describe(src, url)} : "
                            f"le serveur répond {resp.status_code} ({resp.reason})")


def _resolve_datagouv(src: Source, session: requests.Session) -> str:
    """Current URL of a data.gouv.fr resource, looked up through the data.gouv.fr API."""
    api = f"{DATAGOUV_API}{src.datagouv}/"

    def attempt():
        resp = session.get(api, timeout=TIMEOUT)
        _check_status(src, api, resp)
        try:
            return resp.json()
        except ValueError:
            raise DownloadError(f"réponse illisible de l'API data.gouv.fr, {_describe(src, api)}") from None

    data = _with_retries(src, api, attempt)
    pat = src.resource.lower()
    found = []
    for res in data.get("resources", []) if isinstance(data, dict) else []:
        rurl = res.get("url") or ""
        names = [(res.get("title") or "").lower(), PurePosixPath(urlparse(rurl).path).name.lower()]
        if rurl and any(fnmatch.fnmatchcase(n, pat) for n in names):
            found.append(res)
    if not found:
        raise DownloadError(f"ressource « {src.resource} » introuvable dans le jeu de données "
                            f"data.gouv.fr « {src.datagouv} », {_describe(src, api)}")
    return max(found, key=lambda r: r.get("last_modified") or "")["url"]


def resolve_url(src: Source, catalogue_base: str = "", session: requests.Session | None = None) -> str:
    """The URL to fetch: mirror (ATLAS_DATA_BASE_URL), absolute url, relative url, or data.gouv.fr."""
    mirror = os.environ.get(ENV_BASE_URL, "").strip()
    if mirror:
        return urljoin(mirror.rstrip("/") + "/", src.mirror_relpath())
    if src.url and not src.is_relative:
        return src.url
    if src.is_relative:
        if not catalogue_base:
            raise DownloadError(
                f"source « {src.id} » ({src.title}) : pas d'adresse officielle stable connue "
                f"(chemin relatif « {src.url} ») ; indiquez un miroir avec la variable "
                f"d'environnement {ENV_BASE_URL}" + (f", ou voyez {src.page}" if src.page else ""))
        return urljoin(catalogue_base.rstrip("/") + "/", src.url.lstrip("/"))
    return _resolve_datagouv(src, session or _session())


# ----------------------------------------------------------------------------- cache



def _cache_paths(src: Source) -> tuple[Path, Path]:
    folder = cache_dir() / src.id
    target = folder / src.filename
    return target, target.with_name(target.name + SIDECAR_SUFFIX)


def _cached(src: Source) -> dict | None:
    """The sidecar of a usable cached file, or None."""
    target, side = _cache_paths(src)
    if not target.is_file() or not side.is_file():
        return None
    meta = read_json(side)
    if not meta or meta.get("size") != target.stat().st_size:
        return None
    if src.sha256 and meta.get("sha256") != src.sha256:
        return None  # pinned checksum changed in the catalogue: fetch again
    return meta


def _conditional_headers(meta: dict) -> dict:
    h = {}
    if meta.get("etag"):
        h["If-None-Match"] = meta["etag"]
    if meta.get("last_modified"):
        h["If-Modified-Since"] = meta["last_modified"]
    return h


def _download(src: Source, url: str, session: requests.Session, headers: dict,
              old_meta: dict | None) -> Fetched:
    target, side = _cache_paths(src)
    target.parent.mkdir(parents=True, exist_ok=True)

    def attempt():
        resp = session.get(url, headers=headers, stream=True, timeout=TIMEOUT)
        _check_status(src, url, resp)
        if resp.status_code == 304:
            resp.close()
            if old_meta is None:
                raise DownloadError(f"réponse 304 inattendue sans copie en cache, {_describe(src, url)}")
            meta = dict(old_meta, checked_at=now_iso())
            write_json(side, meta)
            return Fetched(src, target, meta, "not-modified")
        ctype = (resp.headers.get("Content-Type") or "").lower()
        if ctype.startswith("text/html") and src.format != "html":
            resp.close()
            raise ContentError(f"téléchargement impossible, {_describe(src, url)} : le serveur a renvoyé "
                               f"une page HTML au lieu du fichier {src.format} attendu (adresse périmée ?"
                                + (f" voyez {src.page})" if src.page else ")"))
        # With a Content-Encoding (gzip...), requests decodes and Content-Length no longer applies.
        encoded = bool(resp.headers.get("Content-Encoding"))
        total = None if encoded else int(resp.headers.get("Content-Length") or 0) or None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{src.filename}.", suffix=".part", dir=target.parent)
        tmp = Path(tmp_name)
        h = hashlib.sha256()
        size = 0
        deadline = time.monotonic() + DEADLINE
        try:
            # read_body checks the deadline between bytes: a server that drips a byte at a time is dropped.
            with os.fdopen(fd, "wb") as out, resp, \
                    tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                         desc=src.id, file=sys.stderr, leave=False) as bar:
                try:
                    for chunk in read_body(resp, deadline, chunk=CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        size += len(chunk)
                        bar.update(len(chunk))
                except TooSlow:
                    raise DownloadError(f"téléchargement abandonné, {_describe(src, url)} : délai total de "
                                        f"{DEADLINE:g} s dépassé ({size} octets reçus) ; le serveur est trop "
                                        "lent, réessayez plus tard") from None
            if total is not None and size != total:
                raise _Retryable(f"transfert incomplet ({size} octets reçus sur {total})")
            digest = h.hexdigest()
            if src.sha256 and digest != src.sha256:
                raise ChecksumError(
                    f"empreinte SHA-256 inattendue, {_describe(src, url)} : attendue {src.sha256}, "
                    f"obtenue {digest} ; le fichier n'a pas été utilisé (le fichier publié a peut-être "
                    "changé : vérifiez-le puis mettez à jour « sha256 » dans etl/sources.toml)")
            verify(src, tmp)                 # before it may replace the cached copy
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        meta = {
            "source_id": src.id, "url": url, "file": src.filename, "sha256": digest, "size": size,
            "retrieved_at": now_iso(), "checked_at": now_iso(),
            "etag": resp.headers.get("ETag"), "last_modified": resp.headers.get("Last-Modified"),
            "content_type": resp.headers.get("Content-Type"),
        }
        write_json(side, meta)
        return Fetched(src, target, meta, "downloaded")

    return _with_retries(src, url, attempt)


def fetch(src: Source, session: requests.Session, force: bool = False, catalogue_base: str = "") -> Fetched:
    """Bring one source into the cache (or confirm the cached copy) and return it."""
    target, _ = _cache_paths(src)
    meta = None if force else _cached(src)
    if meta is not None and src.sha256:
        return Fetched(src, target, meta, "cache")  # pinned content: nothing can have changed
    try:
        url = resolve_url(src, catalogue_base, session)
        headers = {}
        if meta is not None:
            if meta.get("url") == url:
                headers = _conditional_headers(meta)
                if not headers:
                    return Fetched(src, target, meta, "cache")  # server gives no validator
            else:
                meta = None  # the source moved (or mirror mode changed): fetch it again
        try:
            return _download(src, url, session, headers, meta)
        except DownloadError as first:
            # an official address first, then its copy on data.gouv.fr (`url` and `datagouv` both given)
            if isinstance(first, ChecksumError) or not (src.url and src.datagouv) \
                    or os.environ.get(ENV_BASE_URL, "").strip():
                raise
            warn(f"{first} ; essai de la copie sur data.gouv.fr")
            return _download(src, _resolve_datagouv(src, session), session, {}, None)
    except DownloadError as exc:
        fallback = None if force else _cached(src)
        if fallback is None or isinstance(exc, ChecksumError):
            raise
        warn(f"{exc} ; la copie en cache du {fallback.get('retrieved_at', '?')[:10]} est utilisée.")
        return Fetched(src, target, fallback, "cache-offline")


# ----------------------------------------------------------------------------- verification

_HTML_START = (b"<!doctype html", b"<html", b"<head")


def verify(src: Source, path: Path) -> None:
    """Raise ContentError unless `path` is what `src` announces: not an HTML error page, an
    archive that opens with every member's checksum right and the members `extract` asks for,
    JSON that starts like JSON."""
    with open(path, "rb") as f:
        head = f.read(4096)
    start = head.lstrip().lower()
    if src.format != "html" and start.startswith(_HTML_START):
        raise ContentError(f"source « {src.id} » : le serveur a renvoyé une page HTML au lieu du fichier "
                           f"{src.format} attendu (adresse périmée ?" + (f" voyez {src.page})" if src.page else ")"))
    if src.extract or src.filename.lower().endswith((".zip", ".7z")):
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as zf:
                    bad = zf.testzip()
                    names = [i.filename for i in zf.infolist() if not i.is_dir()]
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as exc:
                raise ContentError(f"source « {src.id} » : archive zip endommagée (contrôle CRC impossible : {exc})") from None
            if bad is not None:
                raise ContentError(f"source « {src.id} » : archive zip endommagée (contrôle CRC faux pour « {bad} »)")
        else:
            import py7zr

            if not py7zr.is_7zfile(path):
                raise ContentError(f"source « {src.id} » : le fichier reçu n'est ni une archive zip ni une "
                                   "archive 7z (page d'erreur du serveur ?)")
            try:
                with py7zr.SevenZipFile(path) as z:
                    names = [i.filename for i in z.list() if not i.is_directory]
                    bad = z.testzip()
            except Exception as exc:  # py7zr raises its own errors, lzma and zlib ones
                raise ContentError(f"source « {src.id} » : archive 7z endommagée ({type(exc).__name__})") from None
            if bad is not None:
                raise ContentError(f"source « {src.id} » : archive 7z endommagée (contrôle faux pour « {bad} »)")
        if src.extract:
            try:
                choose_members(src, path, names)
            except DownloadError as exc:
                raise ContentError(str(exc)) from None
    elif src.format in ("geojson", "json") and not start.startswith((b"{", b"[")):
        raise ContentError(f"source « {src.id} » : le fichier reçu n'est pas du JSON")


# ----------------------------------------------------------------------------- entry points

def _select(all_sources: list[Source], sources: list | None) -> list[Source]:
    if sources is None:
        return list(all_sources)
    by_id = {s.id: s for s in all_sources}
    out = []
    for item in sources:
        if isinstance(item, Source):
            out.append(item)
        elif isinstance(item, dict):
            out.append(Source.from_dict(item))
        elif item in by_id:
            out.append(by_id[item])
        else:
            raise DownloadError(f"source inconnue « {item} » (sources du catalogue : "
                                f"{', '.join(sorted(by_id))})")
    return out


def download(dest: Path, region: str | None = None, force: bool = False, sources: list | None = None,
             catalogue: Path | None = None) -> dict:
    """Download the catalogue's sources (or `sources`: ids or source dicts) and lay them in `dest`.

    Returns the manifest written to dest/.atlas-download.json. Raises DownloadError when a
    required source fails; optional sources that fail are reported and skipped.
    """
    dest = Path(dest)
    if region is not None:
        region = str(region).strip().zfill(2)
        if region not in REGION_DEPARTEMENTS:
            raise DownloadError(f"code de région inconnu : « {region} » (codes INSEE valides : "
                                f"{', '.join(sorted(REGION_DEPARTEMENTS))})")
    base, all_sources = load_catalogue(catalogue or CATALOGUE_FILE)
    chosen = [s for s in _select(all_sources, sources)
              if region is None or not s.regions or region in s.regions]
    session = _session()
    fetched: list[Fetched] = []
    failed: dict[str, str] = {}
    try:
        for src in chosen:
            try:
                f = fetch(src, session, force=force, catalogue_base=base)
            except DownloadError as exc:
                if not src.optional:
                    raise
                warn(f"{exc} (source facultative : ignorée)")
                failed[src.id] = str(exc)
                continue
            fetched.append(f)
            print(f"[{src.id}] {_STATUS_LABELS[f.status]} : {f.path.name}", file=sys.stderr)
    finally:
        session.close()

    dest.mkdir(parents=True, exist_ok=True)
    for leftover in dest.glob(".staging-*"):        # a run that died before its swap
        shutil.rmtree(leftover, ignore_errors=True)
    manifest_path = dest / MANIFEST_NAME
    manifest = read_json(manifest_path) or {}
    files = manifest.get("files", {}) if manifest.get("format") == 1 else {}
    srcs = manifest.get("sources", {}) if manifest.get("format") == 1 else {}
    # Every source is laid out in a staging folder first: if one fails, dest is left as it was.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=dest))
    try:
        laid_by = {f.source.id: lay_out(f, staging, region) for f in fetched}
        swap_in(staging, dest, list(laid_by))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for f in fetched:
        src = f.source
        laid = [dest / src.id / p.name for p in laid_by[src.id]]
        files = {k: v for k, v in files.items() if v.get("source_id") != src.id}
        for p in laid:
            rel = p.relative_to(dest).as_posix()
            files[rel] = {
                "name": p.name, "source_id": src.id, "size": p.stat().st_size,
                "sha256": sha256_file(p), "retrieved_at": f.meta.get("retrieved_at"),
                "region": region if src.regional else None,
            }
        srcs[src.id] = {
            "title": src.title, "publisher": src.publisher, "licence": src.licence,
            "vintage": src.vintage, "geography": src.geography, "url": f.meta.get("url"),
            "file": src.filename, "sha256": f.meta.get("sha256"), "size": f.meta.get("size"),
            "retrieved_at": f.meta.get("retrieved_at"), "checked_at": f.meta.get("checked_at"),
            "etag": f.meta.get("etag"), "last_modified": f.meta.get("last_modified"),
            "status": f.status,
        }
    manifest = {"format": 1, "updated_at": now_iso(), "region": region,
                "mirror": os.environ.get(ENV_BASE_URL) or None,
                "files": dict(sorted(files.items())), "sources": dict(sorted(srcs.items())),
                "failed": failed}
    write_json(manifest_path, manifest)
    return manifest


_STATUS_LABELS = {
    "downloaded": "téléchargé",
    "not-modified": "inchangé sur le serveur, copie en cache réutilisée",
    "cache": "copie en cache réutilisée",
    "cache-offline": "serveur injoignable, copie en cache réutilisée",
}


def retrieval_dates(folder: Path) -> dict[str, str]:
    """File name -> ISO retrieval date (YYYY-MM-DD) of the files `download` laid in `folder`.

    Read from the folder's manifest; a file whose size no longer matches the manifest (replaced
    by hand) is left out. A folder that was not filled by `download` gives {}.
    """
    folder = Path(folder)
    manifest = read_json(folder / MANIFEST_NAME)
    if not manifest or manifest.get("format") != 1:
        if (folder / MANIFEST_NAME).exists():
            warn(f"manifeste de téléchargement {folder / MANIFEST_NAME} illisible : dates de "
                  "récupération ignorées")
        return {}
    out = {}
    for rel, info in (manifest.get("files") or {}).items():
        p = folder / rel
        when = info.get("retrieved_at")
        if when and p.is_file() and p.stat().st_size == info.get("size"):
            out[p.name] = str(when)[:10]
    return out
