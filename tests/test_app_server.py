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
