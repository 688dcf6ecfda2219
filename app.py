"""Atlas ASV — the Dash app.

    python app.py [--host 127.0.0.1] [--port 8050] [--db data/atlas.duckdb]

`server` is the WSGI object (gunicorn app:server). The DB is opened read-only.
"""
from __future__ import annotations

import argparse
import os
import threading

import duckdb

import dash_leaflet
from dash import Dash, dash_table, dcc
from flask_compress import Compress

from data import access, memory

if os.environ.get("ATLAS_DB"):
    access.configure(os.environ["ATLAS_DB"])

from components import layout as shell  # noqa: E402
from components import geo_routes  # noqa: E402
from components import export as export_routes  # noqa: E402
from components import action_map, guard, maps, tables  # noqa: E402

# The code of the components every map page draws at once is loaded with the page, not on demand:
# a component whose code arrives after the first render is drawn by React up to ~0.3 s later
# (Suspense reveals are throttled), and the QPV layer's geobuf decoder used to be fetched only
# after its geometry. Other chunks (Plotly, date pickers...) stay lazy.
EAGER_CHUNKS = {dash_leaflet: ("async-GeoJSON.js", "async-geobuf.js"), dcc: ("dcc/async-dropdown.js",),
                dash_table: ("dash_table/async-table.js", "dash_table/async-highlight.js")}
for _module, _chunks in EAGER_CHUNKS.items():
    for _res in _module._js_dist:
        if _res.get("relative_package_path") in _chunks:
            _res.pop("async", None)

app = Dash(
    __name__,
    use_pages=True,
    pages_folder="pages",
    suppress_callback_exceptions=True,
    on_error=guard.on_error,      # nothing a callback raises is an HTTP 500 (components/guard.py)
    title="Atlas ASV",
    update_title=None,
    meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"},
               # the layout request carries the page's URL (components/layout.py builds the page with it)
               {"name": "referrer", "content": "same-origin"}],
)
server = app.server
# The interface is French: screen readers pick a French voice (RGAA 8.3, WCAG 3.1.1).
app.index_string = app.index_string.replace("<html>", '<html lang="fr">', 1)
# Callback and layout responses compressed (brotli or gzip, as the browser accepts): a France-scale
# indicator change is ~0.9 MB of JSON, seconds on a meeting-room connection otherwise. Only JSON and
# HTML: the component scripts are large, cached by browsers and would be recompressed per request.
server.config.update(COMPRESS_MIMETYPES=["application/json", "text/html"], COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=1,
                     COMPRESS_MIN_SIZE=1024)
Compress(server)
geo_routes.register(server)
shell.register_routes(server)
action_map.register(server)
export_routes.register(server)
maps.register_routes(server)
tables.register_routes(server)
app.layout = shell.app_layout
# Dash completes its setup (registering its script paths and callbacks) on the first request a
# process serves, without a lock: with threaded workers, two first requests race and the second
# one gets HTTP 500 on scripts or "callback not found". Run that setup now, once per process.
with server.test_request_context("/"):
    server.preprocess_request()
guard.install(app)               # every server callback's inputs checked before it runs


def _warm() -> None:
    """Read the DB's tables into memory (data.memory) before the first visitor asks: fifty people
    opening the same link after a restart then wait for nobody's load but the first one's."""
    try:
        memory.tables()
    except (FileNotFoundError, OSError, duckdb.Error):
        pass      # no DB yet: the pages say so


if os.environ.get("ATLAS_WARM", "1") != "0":
    threading.Thread(target=_warm, name="atlas-warm", daemon=True).start()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Atlas ASV")
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8050")))
    p.add_argument("--db", default=None, help="base DuckDB (défaut : $ATLAS_DB ou data/atlas.duckdb)")
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    if args.db:
        access.configure(args.db)
    print(f"Atlas ASV sur http://{args.host}:{args.port} (base : {access.db_path()})")
    app.run(host=args.host, port=args.port, debug=args.debug)


if __name__ == "__main__":
    main()
