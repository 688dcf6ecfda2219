"""`python -m etl download`: cache, checksums, conditional GET, région filter, manifest.

Every file is fictional and served by a local HTTP server on 127.0.0.1 (mirror mode through
ATLAS_DATA_BASE_URL): nothing here touches the internet.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import socket
import threading
import zipfile
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pyogrio
import pytest

from etl import download as dl
from etl.download import ChecksumError, DownloadError, download, load_catalogue, retrieval_dates
from tests.official_layouts import (CORRESPONDANCE, ONPV_REVN, QPV_MEMBER, WRITERS, admin_express_7z, put,
                                    qpv_geojson, qpv_zip)

LAST_MODIFIED = "Wed, 03 Jan 2024 10:00:00 GMT"
TODAY = dt.datetime.now(dt.timezone.utc).date().isoformat()


# ----------------------------------------------------------------------------- local server

class Mirror:
    """Files served by path, with per-path counters of full (200) and 304 answers."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.status: dict[str, int] = {}
        self.content_type: dict[str, str] = {}
        self.validators = "etag"  # etag | last-modified | none
        self.full = Counter()
        self.not_modified = Counter()
        self.requests: list[tuple[str, dict]] = []
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def put(self, relpath: str, data: bytes) -> None:
        self.files["/" + relpath.lstrip("/")] = data

    def requests_to(self, relpath: str) -> list[dict]:
        return [h for p, h in self.requests if p == "/" + relpath.lstrip("/")]


def _handler(mirror: Mirror):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            path = urlparse(self.path).path
            mirror.requests.append((path, dict(self.headers)))
            if path in mirror.status:
                self.send_error(mirror.status[path])
                return
            data = mirror.files.get(path)
            if data is None:
                self.send_error(404)
                return
            etag = '"%s"' % hashlib.sha1(data).hexdigest()
            if (mirror.validators == "etag" and self.headers.get("If-None-Match") == etag) or \
                    (mirror.validators == "last-modified"
                     and self.headers.get("If-Modified-Since") == LAST_MODIFIED):
                mirror.not_modified[path] += 1
                self.send_response(304)
                self.end_headers()
                return
            mirror.full[path] += 1
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            if path in mirror.content_type:
                self.send_header("Content-Type", mirror.content_type[path])
            if mirror.validators == "etag":
                self.send_header("ETag", etag)
            if mirror.validators == "last-modified":
                self.send_header("Last-Modified", LAST_MODIFIED)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    m = Mirror()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(m))
    m.base = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("ATLAS_DATA_BASE_URL", m.base)
    monkeypatch.setenv("ATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "BACKOFF", 0)
    monkeypatch.setattr(dl, "DATAGOUV_API", "http://127.0.0.1:9/unused/")  # never the real one
    yield m
    server.shutdown()
    server.server_close()


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ----------------------------------------------------------------------------- fictional files
# Every source's file, in its official layout, from tests/official_layouts.py.

def _catalogue() -> dict[str, dl.Source]:
    return {s.id: s for s in load_catalogue()[1]}


def serve_basic(m: Mirror) -> None:
    cat = _catalogue()
    m.put(cat["qpv2024_contours"].mirror_relpath(), qpv_zip())
    m.put(cat["qpv2024_2015_correspondance"].mirror_relpath(), CORRESPONDANCE)
    m.put(cat["onpv_revn"].mirror_relpath(), ONPV_REVN)


BASIC = ["qpv2024_contours", "qpv2024_2015_correspondance", "onpv_revn"]


def _qpv_codes(path: Path) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return sorted(f["properties"]["code_qp"] for f in data["features"])


# ----------------------------------------------------------------------------- tests

def test_first_download_fetches_and_lays_out_files(mirror, tmp_path):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    manifest = download(dest, None, False, sources=BASIC)

    cat = _catalogue()
    for sid in BASIC:
        assert mirror.full["/" + cat[sid].mirror_relpath()] == 1
    # zip member extracted (and only the configured one), byte for byte
    laid = dest / "qpv2024_contours" / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
    assert laid.read_bytes() == qpv_geojson()
    assert sorted(p.name for p in (dest / "qpv2024_contours").iterdir()) == [laid.name]
    assert (dest / "qpv2024_2015_correspondance" / "liste-correspondance-qp2024-qp2015.csv").read_bytes() \
        == CORRESPONDANCE
    assert (dest / "onpv_revn" / "REVN_2022.csv").read_bytes() == ONPV_REVN
    assert _qpv_codes(laid) == ["QN01390N", "QN08391M", "QN09390I"]
    # cache: the downloaded file and its sidecar
    cached = tmp_path / "cache" / "qpv2024_contours" / "qpv-2024-geojson.zip"
    assert cached.read_bytes() == qpv_zip()
    side = json.loads((cached.parent / (cached.name + ".meta.json")).read_text())
    assert side["sha256"] == hashlib.sha256(qpv_zip()).hexdigest()
    assert side["size"] == len(qpv_zip())
    assert side["url"] == mirror.url(cat["qpv2024_contours"].mirror_relpath())
    assert side["etag"].startswith('"') and side["retrieved_at"].startswith(TODAY)
    assert {v["status"] for v in manifest["sources"].values()} == {"downloaded"}
    assert manifest["failed"] == {}
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_second_run_uses_cache_when_server_gives_no_validator(mirror, tmp_path):
    mirror.validators = "none"
    serve_basic(mirror)
    dest = tmp_path / "raw"
    download(dest, None, False, sources=BASIC)
    n = len(mirror.requests)
    manifest = download(dest, None, False, sources=BASIC)
    assert len(mirror.requests) == n  # nothing asked of the server
    assert {v["status"] for v in manifest["sources"].values()} == {"cache"}
    assert (dest / "onpv_revn" / "REVN_2022.csv").read_bytes() == ONPV_REVN


def test_conditional_get_with_etag_gets_304(mirror, tmp_path):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    first = download(dest, None, False, sources=BASIC)
    second = download(dest, None, False, sources=BASIC)
    path = _catalogue()["qpv2024_contours"].mirror_relpath()
    assert mirror.full["/" + path] == 1 and mirror.not_modified["/" + path] == 1
    sent = mirror.requests_to(path)
    assert "If-None-Match" not in sent[0] and sent[1]["If-None-Match"].startswith('"')
    assert {v["status"] for v in second["sources"].values()} == {"not-modified"}
    assert second["sources"]["qpv2024_contours"]["retrieved_at"] == \
        first["sources"]["qpv2024_contours"]["retrieved_at"]
    assert (dest / "qpv2024_contours" / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson").is_file()


def test_conditional_get_with_last_modified(mirror, tmp_path):
    mirror.validators = "last-modified"
    serve_basic(mirror)
    download(tmp_path / "raw", None, False, sources=["onpv_revn"])
    manifest = download(tmp_path / "raw", None, False, sources=["onpv_revn"])
    sent = mirror.requests_to("onpv/REVN_2022.csv")
    assert len(sent) == 2 and sent[1]["If-Modified-Since"] == LAST_MODIFIED
    assert mirror.full["/onpv/REVN_2022.csv"] == 1 and mirror.not_modified["/onpv/REVN_2022.csv"] == 1
    assert manifest["sources"]["onpv_revn"]["last_modified"] == LAST_MODIFIED


def test_file_changed_on_server_is_fetched_again(mirror, tmp_path):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    download(dest, None, False, sources=["onpv_revn"])
    newer = ONPV_REVN.replace(b"13 250", b"13 900")
    mirror.put("onpv/REVN_2022.csv", newer)
    manifest = download(dest, None, False, sources=["onpv_revn"])
    assert mirror.full["/onpv/REVN_2022.csv"] == 2
    assert (dest / "onpv_revn" / "REVN_2022.csv").read_bytes() == newer
    assert manifest["sources"]["onpv_revn"]["sha256"] == hashlib.sha256(newer).hexdigest()


def test_force_fetches_again_without_conditional_headers(mirror, tmp_path):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    download(dest, None, False, sources=BASIC)
    manifest = download(dest, None, True, sources=BASIC)
    path = _catalogue()["qpv2024_contours"].mirror_relpath()
    assert mirror.full["/" + path] == 2 and mirror.not_modified["/" + path] == 0
    assert "If-None-Match" not in mirror.requests_to(path)[1]
    assert {v["status"] for v in manifest["sources"].values()} == {"downloaded"}


def test_sha256_mismatch_is_an_error_and_file_is_not_used(mirror, tmp_path):
    mirror.put("pinned/REVN_2022.csv", ONPV_REVN)
    src = {"id": "onpv_pinned", "title": "Table REVN figée", "publisher": "ONPV", "format": "csv",
           "url": "pinned/REVN_2022.csv", "sha256": "0" * 64}
    dest = tmp_path / "raw"
    with pytest.raises(ChecksumError) as exc:
        download(dest, None, False, sources=[src])
    msg = str(exc.value)
    assert "onpv_pinned" in msg and "SHA-256" in msg and "0" * 64 in msg
    assert hashlib.sha256(ONPV_REVN).hexdigest() in msg
    cache = tmp_path / "cache" / "onpv_pinned"
    assert not cache.exists() or list(cache.iterdir()) == []
    assert not (dest / "onpv_pinned").exists()

    # with the right checksum it is used, and a pinned file is never asked for again
    src["sha256"] = hashlib.sha256(ONPV_REVN).hexdigest()
    download(dest, None, False, sources=[src])
    n = len(mirror.requests)
    manifest = download(dest, None, False, sources=[src])
    assert len(mirror.requests) == n
    assert manifest["sources"]["onpv_pinned"]["status"] == "cache"
    assert (dest / "onpv_pinned" / "REVN_2022.csv").read_bytes() == ONPV_REVN


def test_region_filter_keeps_only_the_regions_qpvs(mirror, tmp_path):
    serve_basic(mirror)
    name = "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
    m93 = download(tmp_path / "r93", "93", False, sources=["qpv2024_contours"])
    assert _qpv_codes(tmp_path / "r93" / "qpv2024_contours" / name) == ["QN01390N", "QN08391M"]
    download(tmp_path / "r11", "11", False, sources=["qpv2024_contours"])
    kept = json.loads((tmp_path / "r11" / "qpv2024_contours" / name).read_text(encoding="utf-8"))
    props = [f["properties"] for f in kept["features"]]
    assert [p["code_qp"] for p in props] == ["QN09390I"]
    # the ANCT layout is kept as published (codes stay strings, multi-commune lists untouched)
    assert props[0]["insee_reg"] == "11" and props[0]["lib_qp"] == "Cité des Chimères"
    laid93 = json.loads((tmp_path / "r93" / "qpv2024_contours" / name).read_text(encoding="utf-8"))
    assert laid93["features"][0]["properties"]["insee_com"] == "13901, 13902"
    assert m93["files"][f"qpv2024_contours/{name}"]["region"] == "93"
    # one download served both régions (the national file is cached once)
    assert mirror.full["/" + _catalogue()["qpv2024_contours"].mirror_relpath()] == 1


def test_unknown_region_code_is_refused(mirror, tmp_path):
    with pytest.raises(DownloadError, match="code de région inconnu"):
        download(tmp_path / "raw", "42", False, sources=BASIC)
    assert mirror.requests == []


def test_regions_restricted_source_is_skipped_for_other_regions(mirror, tmp_path):
    mirror.put("ars/qpv-zonage.json", b'{"millesime": "2025", "communes": {}}')
    m = download(tmp_path / "a", "11", False, sources=["ars_paca_zonage_qpv"])
    assert m["sources"] == {} and mirror.requests == []
    m = download(tmp_path / "b", "93", False, sources=["ars_paca_zonage_qpv"])
    assert (tmp_path / "b" / "ars_paca_zonage_qpv" / "qpv-zonage.json").is_file()


def test_404_is_a_clear_error_naming_the_source(mirror, tmp_path):
    with pytest.raises(DownloadError) as exc:
        download(tmp_path / "raw", None, False, sources=["qpv2024_2015_correspondance"])
    msg = str(exc.value)
    path = _catalogue()["qpv2024_2015_correspondance"].mirror_relpath()
    assert "qpv2024_2015_correspondance" in msg and "404" in msg and mirror.url(path) in msg
    assert len(mirror.requests) == 1  # a 404 is not retried


def test_html_error_page_instead_of_the_file_is_refused(mirror, tmp_path):
    path = _catalogue()["qpv2024_2015_correspondance"].mirror_relpath()
    mirror.put(path, b"<html><body>Ressource introuvable</body></html>")
    mirror.content_type["/" + path] = "text/html; charset=utf-8"
    with pytest.raises(DownloadError, match="qpv2024_2015_correspondance.*page HTML"):
        download(tmp_path / "raw", None, False, sources=["qpv2024_2015_correspondance"])
    assert not (tmp_path / "cache" / "qpv2024_2015_correspondance" / "liste-correspondance-qp2024-qp2015.csv").exists()


def test_500_is_retried_then_a_clear_error(mirror, tmp_path):
    serve_basic(mirror)
    path = _catalogue()["qpv2024_2015_correspondance"].mirror_relpath()
    mirror.status["/" + path] = 500
    with pytest.raises(DownloadError) as exc:
        download(tmp_path / "raw", None, False, sources=["qpv2024_2015_correspondance"])
    msg = str(exc.value)
    assert "qpv2024_2015_correspondance" in msg and "500" in msg and f"{dl.RETRIES + 1} essais" in msg
    assert len(mirror.requests_to(path)) == dl.RETRIES + 1
    # the next attempt succeeds once the server recovers
    del mirror.status["/" + path]
    download(tmp_path / "raw", None, False, sources=["qpv2024_2015_correspondance"])
    assert (tmp_path / "raw" / "qpv2024_2015_correspondance").is_dir()


def test_unreachable_server_error_and_offline_cache_fallback(mirror, tmp_path, monkeypatch, capsys):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    monkeypatch.setenv("ATLAS_DATA_BASE_URL", _dead_url())
    with pytest.raises(DownloadError, match="connexion impossible") as exc:
        download(dest, None, False, sources=["qpv2024_2015_correspondance"])
    assert "qpv2024_2015_correspondance" in str(exc.value)

    monkeypatch.setenv("ATLAS_DATA_BASE_URL", mirror.base)
    download(dest, None, False, sources=["qpv2024_2015_correspondance"])
    # the mirror is now unreachable: the cached copy is used, with a warning
    monkeypatch.setenv("ATLAS_DATA_BASE_URL", _dead_url())
    capsys.readouterr()
    manifest = download(dest, None, False, sources=["qpv2024_2015_correspondance"])
    assert manifest["sources"]["qpv2024_2015_correspondance"]["status"] == "cache-offline"
    assert "copie en cache" in capsys.readouterr().err
    with pytest.raises(DownloadError):  # --force never falls back on the cache
        download(dest, None, True, sources=["qpv2024_2015_correspondance"])


def test_optional_source_failure_is_a_warning(mirror, tmp_path, capsys):
    serve_basic(mirror)
    del mirror.files["/onpv/REVN_2022.csv"]
    manifest = download(tmp_path / "raw", None, False, sources=BASIC)
    assert list(manifest["failed"]) == ["onpv_revn"] and "404" in manifest["failed"]["onpv_revn"]
    assert "onpv_revn" in capsys.readouterr().err
    assert (tmp_path / "raw" / "qpv2024_contours").is_dir()
    assert not (tmp_path / "raw" / "onpv_revn").exists()


def test_manifest_and_retrieval_dates(mirror, tmp_path):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    manifest = download(dest, None, False, sources=BASIC)
    on_disk = json.loads((dest / ".atlas-download.json").read_text(encoding="utf-8"))
    assert on_disk == manifest
    name = "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
    entry = manifest["files"][f"qpv2024_contours/{name}"]
    assert entry["source_id"] == "qpv2024_contours"
    assert entry["sha256"] == hashlib.sha256(qpv_geojson()).hexdigest()
    src = manifest["sources"]["qpv2024_contours"]
    assert src["licence"] == "Licence Ouverte / Etalab 2.0" and src["publisher"] == "ANCT"
    assert src["vintage"] == "2024" and src["sha256"] == hashlib.sha256(qpv_zip()).hexdigest()

    dates = retrieval_dates(dest)
    assert dates == {name: TODAY, "liste-correspondance-qp2024-qp2015.csv": TODAY, "REVN_2022.csv": TODAY}
    # a file replaced by hand no longer claims the download's date
    (dest / "onpv_revn" / "REVN_2022.csv").write_bytes(b"CODGEO;X\nQP1;1\n")
    assert "REVN_2022.csv" not in retrieval_dates(dest)
    # a later partial download keeps the other sources' entries
    download(dest, None, False, sources=["qpv2024_2015_correspondance"])
    assert name in retrieval_dates(dest)

    assert retrieval_dates(tmp_path / "nothing-here") == {}
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / ".atlas-download.json").write_text("{not json")
    assert retrieval_dates(tmp_path / "broken") == {}


def test_retrieval_dates_of_a_folder_not_downloaded(real_dir):
    assert retrieval_dates(real_dir) == {}


def test_base_url_from_catalogue_and_env_override(mirror, tmp_path, monkeypatch):
    mirror.put("files/REVN_2022.csv", ONPV_REVN)
    mirror.put("onpv_abs/REVN_2022.csv", ONPV_REVN)
    cat = tmp_path / "sources.toml"
    cat.write_text(f'''
base_url = "{mirror.base}files/"
[[source]]
id = "onpv_rel"
title = "REVN relative"
publisher = "ONPV"
format = "csv"
url = "REVN_2022.csv"
page = "https://sig.ville.gouv.fr/"
loader = "onpv"
[[source]]
id = "onpv_abs"
title = "REVN absolute"
publisher = "ONPV"
format = "csv"
url = "https://example.invalid/tables/REVN_2022.csv"
page = "https://sig.ville.gouv.fr/"
loader = "onpv"
''', encoding="utf-8")
    # no env: the relative url is resolved against the catalogue's base_url
    monkeypatch.delenv("ATLAS_DATA_BASE_URL")
    m = download(tmp_path / "a", None, False, sources=["onpv_rel"], catalogue=cat)
    assert m["sources"]["onpv_rel"]["url"] == mirror.url("files/REVN_2022.csv")
    # env set to a dead host: it wins over the catalogue's base
    monkeypatch.setenv("ATLAS_DATA_BASE_URL", _dead_url())
    with pytest.raises(DownloadError, match="onpv_rel"):
        download(tmp_path / "b", None, True, sources=["onpv_rel"], catalogue=cat)
    # env set to the mirror: absolute urls are redirected to <base>/<id>/<filename>
    monkeypatch.setenv("ATLAS_DATA_BASE_URL", mirror.base)
    m = download(tmp_path / "c", None, False, sources=["onpv_abs"], catalogue=cat)
    assert m["sources"]["onpv_abs"]["url"] == mirror.url("onpv_abs/REVN_2022.csv")
    assert m["mirror"] == mirror.base
    # a relative source with neither base nor env cannot be fetched, and says how to fix it
    monkeypatch.delenv("ATLAS_DATA_BASE_URL")
    rel = {"id": "rel_only", "title": "Relative", "publisher": "ONPV", "format": "csv", "url": "x/REVN.csv"}
    with pytest.raises(DownloadError, match="ATLAS_DATA_BASE_URL") as exc:
        download(tmp_path / "d", None, False, sources=[rel])
    assert "rel_only" in str(exc.value)
    # the same for an optional source of the real catalogue is a warning, kept in the manifest
    m = download(tmp_path / "d", None, False, sources=["onpv_revn"])
    assert "ATLAS_DATA_BASE_URL" in m["failed"]["onpv_revn"]


def test_datagouv_resource_is_resolved_through_the_api(mirror, tmp_path, monkeypatch):
    monkeypatch.delenv("ATLAS_DATA_BASE_URL")
    monkeypatch.setattr(dl, "DATAGOUV_API", mirror.url("api/1/datasets/"))
    mirror.put("static/20240101/liste-correspondance-qp2024-qp2015.csv", b"old")
    mirror.put("static/20250601/liste-correspondance-qp2024-qp2015.csv", CORRESPONDANCE)
    slug = "quartiers-prioritaires-de-la-politique-de-la-ville-qpv"
    mirror.put(f"api/1/datasets/{slug}/", json.dumps({"slug": slug, "resources": [
        {"title": "liste-correspondance-qp2024-qp2015.csv", "last_modified": "2024-01-01T00:00:00",
         "url": mirror.url("static/20240101/liste-correspondance-qp2024-qp2015.csv")},
        {"title": "Liste de correspondance (mise à jour)", "last_modified": "2025-06-01T00:00:00",
         "url": mirror.url("static/20250601/liste-correspondance-qp2024-qp2015.csv")},
        {"title": "qpv-2024-geojson.zip", "last_modified": "2026-01-15T00:00:00",
         "url": mirror.url("static/qpv-2024-geojson.zip")},
    ]}).encode())
    m = download(tmp_path / "raw", None, False, sources=["qpv2024_2015_correspondance"])
    assert m["sources"]["qpv2024_2015_correspondance"]["url"].endswith("20250601/liste-correspondance-qp2024-qp2015.csv")
    assert (tmp_path / "raw" / "qpv2024_2015_correspondance" / "liste-correspondance-qp2024-qp2015.csv") \
        .read_bytes() == CORRESPONDANCE
    # a resource that is not in the dataset gives a clear error
    src = {"id": "absent", "title": "Absent", "publisher": "ANCT", "format": "csv",
           "datagouv": slug, "resource": "nope-*.csv", "filename": "nope.csv"}
    with pytest.raises(DownloadError, match="nope-\\*.csv.*introuvable"):
        download(tmp_path / "raw", None, False, sources=[src])


def test_7z_archive_shapefiles_extracted_and_filtered(mirror, tmp_path):
    src = _catalogue()["ign_admin_express_cog_carto"]
    mirror.put(src.mirror_relpath(), admin_express_7z(tmp_path))
    # national: the shapefiles are laid as they are, other layers left in the archive
    download(tmp_path / "fr", None, False, sources=[src.id])
    names = sorted(p.name for p in (tmp_path / "fr" / src.id).iterdir())
    assert "COMMUNE.shp" in names and "COMMUNE.dbf" in names and "ARRONDISSEMENT_MUNICIPAL.shp" in names
    assert "EPCI.shp" in names and "EPCI.dbf" in names
    # région 93: one GeoJSON per layer, only the région's features, no shapefile left
    download(tmp_path / "r93", "93", False, sources=[src.id])
    folder = tmp_path / "r93" / src.id
    assert sorted(p.name for p in folder.iterdir()) == ["ARRONDISSEMENT_MUNICIPAL.geojson", "COMMUNE.geojson",
                                                        "EPCI.geojson"]
    # the EPCI layer has no région field: the EPCIs of the région's communes are kept
    assert sorted(pyogrio.read_dataframe(folder / "EPCI.geojson")["CODE_SIREN"]) == ["299900001", "299900002"]
    communes = pyogrio.read_dataframe(folder / "COMMUNE.geojson")
    assert sorted(communes["INSEE_COM"]) == ["13901", "13902", "83901"]
    assert set(communes["INSEE_REG"]) == {"93"} and "SIREN_EPCI" in communes.columns
    arm = pyogrio.read_dataframe(folder / "ARRONDISSEMENT_MUNICIPAL.geojson")
    assert list(arm["INSEE_ARM"]) == ["13955"]
    assert mirror.full["/" + src.mirror_relpath()] == 1


def test_missing_archive_member_is_a_clear_error(mirror, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        put(zf, "autre.geojson", "{}")
    mirror.put(_catalogue()["qpv2024_contours"].mirror_relpath(), buf.getvalue())
    with pytest.raises(DownloadError, match="qpv2024_contours.*QP2024_France_Hexagonale_Outre_Mer_WGS84"):
        download(tmp_path / "raw", None, False, sources=["qpv2024_contours"])
    assert not (tmp_path / "raw" / "qpv2024_contours").exists()


def serve_catalogue(m: Mirror, tmp: Path, skip=()) -> None:
    """Every source of the real catalogue, in its official layout, but those of `skip`."""
    cat = _catalogue()
    for sid, write in WRITERS.items():
        if sid not in skip:
            m.put(cat[sid].mirror_relpath(), write(tmp))


def test_cli_download_whole_catalogue(mirror, tmp_path, capsys):
    from etl.__main__ import main

    serve_catalogue(mirror, tmp_path, skip={"drees_apl_mg", "onpv_demo"})
    dest = tmp_path / "raw"
    assert main(["download", "--region", "93", "--dest", str(dest)]) == 0
    out, err = capsys.readouterr()
    assert f"build --from {dest}" in out
    assert "drees_apl_mg" in err and "facultative" in err  # optional sources not on the mirror
    manifest = json.loads((dest / ".atlas-download.json").read_text(encoding="utf-8"))
    assert manifest["region"] == "93"
    assert set(manifest["failed"]) == {"onpv_demo", "drees_apl_mg"}
    laid = {Path(k).name for k in manifest["files"]}
    assert {"FILO2019_DISP_COM.csv", "FILO2019_DISP_Pauvres_COM.csv", "FILO2019_DISP_METROPOLE.csv",
            "FILO2019_DISP_Pauvres_EPCI.csv", "COMMUNE.geojson", "EPCI.geojson", "v_region_2024.csv",
            "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson", "base-cc-emploi-pop-active-2022.csv",
            "FILO2018_DISP_Pauvres_DEP.csv", "revenu-disponible-qp15-2021_ENSQP.csv",
            "FILO2021_DISP_Pauvres_REG.xlsx", "DS_FILOSOFI_CC_2023_data.csv", "data_CNAM2025_QP.csv",
            "data_CAF2024_COM.csv", "pop_QPV24.csv", "QP_METROPOLEOUTREMER_WGS84_EPSG4326.geojson"} <= laid
    assert not {"meta_indic-revenu-disponible-qp15-2021_QP.csv", "meta_base-cc-emploi-pop-active-2022.csv",
                "DS_FILOSOFI_CC_2023_metadata.csv", "meta_CNAM2025.csv", "QP_METROPOLE_LB93.shp"} & laid
    assert not any(n.startswith("FILO2019_DEC") for n in laid)
    assert set(retrieval_dates(dest)) == laid

    # an error is reported in French, names the source, and exits with 2
    mirror.status["/" + _catalogue()["insee_cog_regions"].mirror_relpath()] = 404
    assert main(["download", "--dest", str(tmp_path / "other"), "--force"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur") or "Erreur :" in err
    assert "insee_cog_regions" in err


def test_build_from_downloaded_folder_fills_retrieved_at(mirror, tmp_path):
    """End to end once the loaders exist: `build --from` records the retrieval dates."""
    import importlib

    from etl.build import LOADER_ORDER, build

    for name in LOADER_ORDER:
        try:
            importlib.import_module(f"etl.loaders.{name}")
        except ImportError:
            pytest.skip(f"loader etl.loaders.{name} not written yet")
    from etl.db import connect

    serve_catalogue(mirror, tmp_path)
    dest = tmp_path / "raw"
    download(dest, "93", False, sources=["qpv2024_contours", "ign_admin_express_cog_carto",
                                         "insee_cog_regions", "insee_cog_departements"])
    db = tmp_path / "atlas.duckdb"
    build(dest, db, retrieved=retrieval_dates(dest), progress=lambda *_: None)
    con = connect(db, read_only=True)
    try:
        rows = con.execute("SELECT file_name, retrieved_at FROM source WHERE file_name IS NOT NULL").fetchall()
    finally:
        con.close()
    dated = {f: r for f, r in rows if r}
    assert "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson" in dated
    assert set(dated.values()) == {TODAY}


def test_retrieval_dates_reach_the_source_table(mirror, tmp_path, ctx):
    """The contract with `build --from`: BuildContext.register_source fills retrieved_at."""
    serve_basic(mirror)
    dest = tmp_path / "raw"
    download(dest, "93", False, sources=["qpv2024_contours"])
    ctx.retrieved = retrieval_dates(dest)
    laid = dest / "qpv2024_contours" / "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
    ctx.register_source("qpv2024", laid, title="QPV 2024", publisher="ANCT")
    row = ctx.con.execute("SELECT file_name, retrieved_at FROM source WHERE source_id = 'qpv2024'").fetchone()
    assert row == (laid.name, TODAY)


# ----------------------------------------------------------------------------- faults (issue 10)

def _corrupt_crc(data: bytes) -> bytes:
    """The same zip with one byte of a member's compressed data flipped: it opens, its CRC is wrong."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    info = zf.getinfo(QPV_MEMBER)
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 10
    out = bytearray(data)
    out[at] ^= 0xFF
    return bytes(out)


def _state(dest: Path) -> dict:
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}


def test_a_corrupt_or_html_download_never_replaces_the_good_cache_nor_the_laid_files(mirror, tmp_path):
    serve_basic(mirror)
    dest = tmp_path / "raw"
    download(dest, None, False, sources=BASIC)
    before = _state(dest)
    cached = tmp_path / "cache" / "qpv2024_contours" / "qpv-2024-geojson.zip"
    rel = _catalogue()["qpv2024_contours"].mirror_relpath()
    for bad, ctype in ((_corrupt_crc(qpv_zip()), "application/zip"),
                       (b"<!DOCTYPE html><html><body>Maintenance</body></html>", "application/octet-stream")):
        mirror.put(rel, bad)
        mirror.content_type["/" + rel] = ctype
        manifest = download(dest, None, False, sources=BASIC)     # the server's new file is fetched
        assert cached.read_bytes() == qpv_zip()                   # the good cached copy is kept...
        assert manifest["sources"]["qpv2024_contours"]["status"] == "cache-offline"   # ...and used
        after = _state(dest)
        assert {k: v for k, v in after.items() if k != MANIFEST} == {k: v for k, v in before.items() if k != MANIFEST}
        assert json.loads(after[MANIFEST])["files"] == json.loads(before[MANIFEST])["files"]   # files and manifest agree
        assert not list((tmp_path / "cache").rglob("*.part"))
    # Forced (--force: no cached copy wanted) or without a good copy, a clear error, dest untouched.
    with pytest.raises(DownloadError, match="page HTML"):
        download(dest, None, True, sources=BASIC)
    mirror.put(rel, _corrupt_crc(qpv_zip()))
    with pytest.raises(DownloadError, match="CRC"):
        download(dest, None, True, sources=BASIC)
    assert {k: v for k, v in _state(dest).items() if k != MANIFEST} == \
        {k: v for k, v in before.items() if k != MANIFEST}
    # the next offline-like run still works from what it has
    mirror.put(rel, qpv_zip())
    download(dest, None, False, sources=BASIC)
    assert not list(dest.glob(".staging-*"))


MANIFEST = ".atlas-download.json"


class _Drip(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b"x")
                self.wfile.flush()
                threading.Event().wait(0.2)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_server_that_drips_is_abandoned_at_the_deadline_without_leftovers(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ATLAS_DATA_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    monkeypatch.setenv("ATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dl, "BACKOFF", 0)
    monkeypatch.setattr(dl, "DEADLINE", 1.5)
    src = _catalogue()["onpv_revn"]
    try:
        with pytest.raises(DownloadError, match="délai total"):
            dl.fetch(src, dl._session())
    finally:
        server.shutdown()
        server.server_close()
    assert not list((tmp_path / "cache").rglob("*.part"))
    assert not (tmp_path / "cache" / "onpv_revn" / src.filename).exists()
