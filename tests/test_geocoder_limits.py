"""A geocoder that cannot hang a worker (issue 21, item 3): hostile BAN servers on 127.0.0.1.

A server that drips a byte at a time, one that never finishes its headers, one that redirects the
addresses to another host, one that answers hundreds of megabytes: the validation ends near its
deadline, follows no redirect, reads a bounded answer, and lists the rows left unlocated."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from etl.importer import Geocoder, validate
from tests.importer_support import action_row, csv_bytes


class _Hostile(BaseHTTPRequestHandler):
    mode = "drip"
    sent = 0
    other_host_hits = 0

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        cls = type(self)
        try:
            if cls.mode == "drip":           # a valid start, then a byte every 0.3 s for minutes
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.end_headers()
                for _ in range(1000):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    cls.sent += 1
                    time.sleep(0.3)
            elif cls.mode == "stall":        # the status line, then headers that never end
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(1000):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.3)
            elif cls.mode == "redirect":     # re-post the addresses elsewhere
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_address[1]}/ailleurs/")
                self.end_headers()
            elif cls.mode == "huge":         # an endless answer, as fast as the socket takes it
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.end_headers()
                block = b"atlas_id,adresse,latitude,longitude\n" + b"0,x,1,1\n" * 8192
                for _ in range(100_000):
                    self.wfile.write(block)
                    cls.sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):  # noqa: N802
        type(self).other_host_hits += 1

    def log_message(self, *args):
        pass


@pytest.fixture
def hostile(monkeypatch, tmp_path):
    _Hostile.sent = _Hostile.other_host_hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ATLAS_BAN_URL", f"http://127.0.0.1:{server.server_address[1]}/search/")
    monkeypatch.setenv("ATLAS_CACHE", str(tmp_path / "cache"))
    yield _Hostile
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from etl.build import build
    from etl.config import DEMO_DIR

    db = tmp_path_factory.mktemp("geo") / "demo.duckdb"
    build(DEMO_DIR, db, fictional=True, progress=lambda *_: None)
    return db


def _rows(n=3):
    return csv_bytes([action_row(id_action=f"H{i}", qpv="", commune="96003", adresse=f"{i} rue Fictive")
                      for i in range(n)])


@pytest.mark.parametrize("mode, words", [("drip", "pas de réponse complète"), ("stall", "pas de réponse complète"),
                                         ("redirect", "redirection refusée"), ("huge", "trop volumineuse")])
def test_a_hostile_ban_server_never_holds_the_validation(demo_db, hostile, mode, words):
    hostile.mode = mode
    geo = Geocoder(deadline=2.0, timeout=2.0)
    started = time.monotonic()
    rep = validate(_rows(), "actions", db=demo_db, filename="h.csv", geocoder=geo)
    took = time.monotonic() - started
    assert took < 15, took                      # the server would go on for minutes
    assert rep.ok and len(rep.needs_coordinates) == 3
    assert all(words in p.reason and "non géocodée" in p.reason for p in rep.needs_coordinates), \
        [p.reason for p in rep.needs_coordinates]
    if mode == "redirect":
        assert hostile.other_host_hits == 0     # the addresses were not re-sent anywhere
    if mode == "huge":
        assert hostile.sent < 300 * 2**20       # the client stopped reading long before


def test_the_import_deadline_covers_every_request(demo_db, hostile, monkeypatch):
    """Past the import's deadline, no further request is made: the addresses left are listed."""
    hostile.mode = "drip"
    monkeypatch.setattr(Geocoder, "BATCH", 2)
    geo = Geocoder(deadline=1.5, timeout=1.0)
    started = time.monotonic()
    rep = validate(_rows(6), "actions", db=demo_db, filename="h.csv", geocoder=geo)
    assert time.monotonic() - started < 15
    assert len(rep.needs_coordinates) == 6 and rep.ok
