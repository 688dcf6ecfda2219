"""`python -m etl download --check`: a dry run of the download catalogue.

For each source of etl/sources.toml it prints the URL it would fetch (the mirror's, the official
one, or data.gouv.fr's current resource), the producer's page, the files it expects inside, the
loader that claims them, the year they describe, whether their layout was checked on a published
file, and a verdict on the address: a HEAD request (a GET whose body is not read when the server
refuses HEAD), never a download. `--offline` skips the network and says so.

`claims(files)` tells which loader claims each laid file, by the build's own detection
(etl.build.claim_files): what a test compares with each source's declared loader.
"""
from __future__ import annotations

import os
import sys

import requests

from .catalogue import CATALOGUE_FILE, DownloadError, Source, load_catalogue
from .download import ENV_BASE_URL, TIMEOUT, _session, resolve_url

OK, UNREACHABLE, NOT_CHECKED = "ok", "injoignable", "non vérifiée"


def _size(headers) -> str:
    try:
        n = int(headers.get("Content-Length") or 0)
    except ValueError:
        return ""
    if not n:
        return ""
    return f", {n / 2**20:.1f} Mo".replace(".", ",") if n >= 2**20 else f", {max(1, n // 1024)} Ko"


def probe(src: Source, session: requests.Session, base: str) -> tuple[str, str, str]:
    """(url, verdict, detail) of one source, without downloading it."""
    try:
        url = resolve_url(src, base, session)
    except DownloadError as exc:
        return src.url or f"data.gouv.fr : {src.datagouv}", UNREACHABLE, str(exc)
    try:
        resp = session.head(url, allow_redirects=True, timeout=TIMEOUT)
        if resp.status_code in (403, 405, 501):        # HEAD refused: a GET whose body is never read
            resp = session.get(url, stream=True, timeout=TIMEOUT)
            resp.close()
    except requests.RequestException as exc:
        return url, UNREACHABLE, f"{type(exc).__name__} : connexion impossible"
    ctype = (resp.headers.get("Content-Type") or "").lower()
    if resp.status_code >= 400:
        return url, UNREACHABLE, f"le serveur répond {resp.status_code}"
    if ctype.startswith("text/html") and src.format != "html":
        return url, UNREACHABLE, "le serveur répond par une page HTML (adresse périmée ?)"
    return url, OK, f"joignable (HTTP {resp.status_code}{_size(resp.headers)})"


def check(offline: bool = False, out=None, catalogue=None) -> int:
    """Print the dry run; 0 when every required source answers (or offline), else 2."""
    base, sources = load_catalogue(catalogue or CATALOGUE_FILE)
    mirror = os.environ.get(ENV_BASE_URL, "").strip()
    out = out or sys.stdout
    w = lambda s="": print(s, file=out)  # noqa: E731
    w(f"Catalogue : {len(sources)} sources" + (f" (miroir {mirror})" if mirror else "")
      + (" — vérification hors ligne : aucune adresse n'est interrogée" if offline else ""))
    session = _session()
    bad = []
    try:
        for src in sources:
            if offline:
                url, verdict, detail = (src.url or f"data.gouv.fr : {src.datagouv} / {src.resource}",
                                        NOT_CHECKED, "hors ligne")
            else:
                url, verdict, detail = probe(src, session, base)
            if verdict == UNREACHABLE and not src.optional:
                bad.append(src.id)
            w()
            w(f"[{src.id}] {src.title} ({src.publisher})" + (" — facultative" if src.optional else ""))
            w(f"  adresse : {url}")
            if src.url and src.datagouv:
                w(f"  copie de secours : data.gouv.fr, jeu « {src.datagouv} », ressource « {src.resource} »")
            w(f"  page du producteur : {src.page}")
            w(f"  fichiers attendus : {', '.join(src.expected)}")
            w(f"  chargés par : etl/loaders/{src.loader}.py")
            if src.describes:
                w(f"  année décrite : {src.describes}")
            w("  mise en page : " + ("vérifiée sur un fichier publié" if src.layout_checked else
                                     "d'après la documentation du producteur, pas encore vérifiée sur un fichier publié"))
            w(f"  verdict : {verdict} — {detail}")
    finally:
        session.close()
    w()
    if bad:
        w(f"{len(bad)} source(s) obligatoire(s) injoignable(s) : {', '.join(bad)}")
        return 2
    w("Aucune source obligatoire injoignable." if not offline else "Vérification hors ligne terminée.")
    return 0


def claims(files) -> dict:
    """{file: loader name} for laid files, as a build would claim them (None: unclaimed)."""
    from .build import claim_files

    return claim_files(list(files))
