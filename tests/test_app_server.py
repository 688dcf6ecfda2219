"""The Flask server behind the Dash app: responses are compressed for the clients that accept it."""
import gzip
import json


def test_layout_and_callback_responses_are_compressed(demo_db_module):
    import app

    client = app.server.test_client()
    layout = client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"})
    assert layout.status_code == 200
    assert layout.headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(layout.data))["props"]          # the shell's layout, intact
    plain = client.get("/_dash-layout", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert json.loads(plain.data) == json.loads(gzip.decompress(layout.data))


def test_component_scripts_are_not_recompressed_per_request(demo_db_module):
    """Scripts are cached by browsers; compressing megabytes of JS on every request would slow
    the first render of each new visitor (measured with make bench)."""
    import app

    client = app.server.test_client()
    html = client.get("/", headers={"Accept-Encoding": "identity"}).get_data(as_text=True)
    script = next(s.split('"')[0] for s in html.split('<script src="')[1:] if "dash_renderer" in s)
    resp = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers
