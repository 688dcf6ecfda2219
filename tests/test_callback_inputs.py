"""No HTTP 500 from any input (issue 21): every registered server callback, read from
/_dash-dependencies, receives random and mistyped values; none answers 5xx, and nothing escapes a
callback (components/guard.ERRORS stays empty: wrong kinds are refused before the callback runs,
unknown values by the callback itself). Malformed requests answer 400, unknown script paths 404."""
from __future__ import annotations

import json
import random

import pytest

from components import guard

# Values a person could never send through the page, and values that look right but name nothing.
HOSTILE = [None, "", "x", "region:96", "qpv:QN09601M", "commune:96001", "departement:99", "qpv:ZZ", "zz:zz",
           "taux_pauvrete_60", "2019", "m2022", "2019-01", "ecart", "valeur", "ratio", "quantiles", "QN09601M",
           0, -1, 1, 2, 3.5, 10**12, -10**12, True, False, [], ["a", 1], [None], ["taux_pauvrete_60", "x"],
           {}, {"a": 1}, {"id": None}, {"points": [{"customdata": "QN09601M"}]}, {"points": "x"},
           {"row": 0, "column": 0, "column_id": "code"}, {"row": 10**6, "column": 1, "column_id": "nope"},
           [{"column_id": "nope", "direction": "asc"}], [{"column_id": "value", "direction": "sideways"}],
           "A" * 5000, "é\u202f\U0001f600", "../../etc/passwd", "<script>alert(1)</script>", "a\x00b",
           "data:text/csv;base64,Y29kZTt4Cg==", "data:text/csv;base64,@@@", "?scope=region:96&year=zz"]
TOKEN = "jeton-de-test-suffisamment-long"
# Values of the right kind for a property, naming things that exist or not: they pass the type
# checks and reach the callbacks, which must refuse what names nothing.
TEXTS = ["", "x", "qpv:QN09601M", "commune:96001", "departement:99", "region:99", "epci:299900001", "qpv:ZZ",
         "taux_pauvrete_60", "part_c2s", "apl_medecins_generalistes", "population", "2019", "m2022", "1900",
         "ecart", "valeur", "ratio", "difference", "quantiles", "jenks", "manuel", "commune", "ensemble_qpv",
         "france", "qpv", "epci", "count", "density", "prevention", "precarite", "ASV-96-01", "A-0001",
         "actions", "schemes", "quarantine", "all", "dots", "groups", "QN09601M", TOKEN, "é\u202f\U0001f600", "A" * 3000]
PLAUSIBLE = {
    "value": lambda r: r.choice([r.choice(TEXTS), r.randint(-5, 3000), r.random() * 10,
                                 r.sample(TEXTS, r.randint(0, 4)), [r.randint(1990, 2030), r.randint(1990, 2030)]]),
    "n_clicks": lambda r: r.choice([None, 0, 1, r.randint(2, 10**6)]),
    "n_blur": lambda r: r.choice([None, 0, 1, 7]), "n_submit": lambda r: r.choice([None, 1]),
    "page_current": lambda r: r.choice([None, 0, 1, 10**6]),
    "search_value": lambda r: r.choice(TEXTS), "search": lambda r: r.choice(
        ["", "?scope=region:99", "?indicator=zz&year=m1900&mode=ecart", "?t=qpv:QN09601M,qpv:zz", "?x=%00"]),
    "pathname": lambda r: r.choice(["/", "/inegalites", "/actions", "/fiche", "/zz", "/" + "a" * 300]),
    "sort_by": lambda r: [{"column_id": r.choice(["value", "code", "name", "gap", "nope"]),
                           "direction": r.choice(["asc", "desc"])} for _ in range(r.randint(0, 2))],
    "active_cell": lambda r: r.choice([None, {"row": r.randint(0, 50), "column": r.randint(0, 9),
                                              "column_id": r.choice(["code", "title", "nope"]),
                                              "row_id": r.choice(TEXTS)}]),
    "clickData": lambda r: r.choice([None, {"points": [{"customdata": r.choice(TEXTS)}]},
                                     {"latlng": {"lat": 47.0, "lng": -8.0}, "properties": {"code": r.choice(TEXTS)}}]),
    "contents": lambda r: r.choice([None, "data:text/csv;base64,aWRfYWN0aW9uO3RpdHJlCkEtMTtUZXN0Cg==",
                                    "data:text/csv;base64,@@@", "pas une url de données"]),
    "filename": lambda r: r.choice([None, "a.csv", "a\u0000b.csv", "../../x.xlsx", "é" * 300]),
    "data": lambda r: r.choice([None, r.choice(TEXTS), {}, {"id": r.choice(TEXTS), "sha256": "0" * 64},
                                {"format": "atlas-asv-presentation", "slides": [{"url": "/", "title": 3}]},
                                {"url": r.choice(["/", "/zz", "x"]), "n": 2}, [r.choice(TEXTS)], r.randint(0, 9)]),
}
PLAUSIBLE["options"] = lambda r: [{"label": t, "value": t} for t in r.sample(TEXTS, r.randint(0, 5))]
PLAUSIBLE["columns"] = lambda r: [{"id": c, "name": r.choice([c, [c, "x"], 3])} for c in r.sample(
    ["code", "name", "value", "Source", "Année décrite", "=cmd"], r.randint(0, 4))]
PLAUSIBLE["derived_virtual_data"] = lambda r: [{"code": r.choice(TEXTS), "value": r.random(), "Source": "=1+1",
                                                "name": r.choice(TEXTS)} for _ in range(r.randint(0, 5))]
MATCH_VALUES = ["ineg-table", "act-list", "cov-ranking", "ineg-qpv", "ASV", "CLS", "zz", 0, 7]
TRIALS = 30


def _concrete(pattern: dict, rnd: random.Random, match, i: int = 0) -> dict:
    out = {}
    for k, v in pattern.items():
        if v == ["MATCH"]:
            out[k] = match
        elif isinstance(v, list):          # ALL / ALLSMALLER
            out[k] = rnd.choice(MATCH_VALUES) if i else match
        else:
            out[k] = v
    return out


def _value_for(prop: str, rnd: random.Random, plausible: float):
    """A value of the property's kind (with probability `plausible`), else anything at all."""
    if prop in PLAUSIBLE and rnd.random() < plausible:
        return PLAUSIBLE[prop](rnd)
    return rnd.choice(HOSTILE)


def _item(dep, rnd, match, plausible):
    cid, prop = dep["id"], dep["property"]
    value = (lambda: _value_for(prop, rnd, plausible))  # noqa: E731
    if cid.startswith("{"):
        pat = json.loads(cid)
        if any(isinstance(v, list) and v != ["MATCH"] for v in pat.values()):
            return [{"id": _concrete(pat, rnd, match, i), "property": prop, "value": value()}
                    for i in range(rnd.randint(0, 3))]
        return {"id": _concrete(pat, rnd, match), "property": prop, "value": value()}
    return {"id": cid, "property": prop, "value": value()}


def _outputs(output: str, rnd, match):
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    outs = []
    for part in parts:
        ident, prop = part.rsplit(".", 1)
        prop = prop.split("@")[0]
        if ident.startswith("{"):
            pat = json.loads(ident)
            if any(isinstance(v, list) and v != ["MATCH"] for v in pat.values()):
                outs.append([{"id": _concrete(pat, rnd, match, 0), "property": prop}])
                continue
            ident = _concrete(pat, rnd, match)
        outs.append({"id": ident, "property": prop})
    return outs if output.startswith("..") else outs[0]


def _bodies(deps, seed=21):
    rnd = random.Random(seed)
    for dep in deps:
        if dep.get("clientside_function"):
            continue
        for trial in range(TRIALS):
            match = rnd.choice(MATCH_VALUES)
            plausible = 1.0 if trial % 2 else 0.6       # every value of its kind, or a few mistyped
            inputs = [_item(d, rnd, match, plausible) for d in dep["inputs"]]
            state = [_item(d, rnd, match, plausible) for d in dep.get("state", [])]
            singles = [i for i in inputs if isinstance(i, dict)]
            first = rnd.choice(singles) if singles else None
            changed = [f"{json.dumps(first['id'], separators=(',', ':'), sort_keys=True) if isinstance(first['id'], dict) else first['id']}.{first['property']}"] if first else []
            yield dep["output"], {"output": dep["output"], "outputs": _outputs(dep["output"], rnd, match),
                                  "inputs": inputs, "state": state, "changedPropIds": changed}


@pytest.fixture(scope="module")
def client(demo_db_module, monkeypatch_module):
    import app

    monkeypatch_module.setenv("ATLAS_ADMIN_TOKEN", TOKEN)
    return app.server.test_client()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_every_callback_answers_any_input_without_a_server_error(client):
    deps = client.get("/_dash-dependencies").get_json()
    server_side = [d for d in deps if not d.get("clientside_function")]
    assert len(server_side) >= 35
    guard.ERRORS.clear()
    failures, seen = [], set()
    for output, body in _bodies(deps):
        seen.add(output)
        r = client.post("/_dash-update-component", json=body)
        if r.status_code >= 500 or r.status_code == 400:
            failures.append((r.status_code, output[:120], json.dumps(body)[:400]))
    assert len(seen) == len(server_side)
    assert failures == [], failures[:5]
    assert list(guard.ERRORS) == [], list(guard.ERRORS)[:5]


def test_malformed_requests_answer_400_and_unknown_scripts_404(client):
    for body in ({"output": "nope.children", "inputs": [], "state": []}, {"inputs": "x"}, {"output": 3},
                 {"output": "ineg-legend.children", "inputs": "pas une liste"}):
        assert client.post("/_dash-update-component", json=body).status_code == 400, body
    assert client.post("/_dash-update-component", data="pas du json",
                       content_type="application/json").status_code == 400
    assert client.get("/_dash-component-suites/dash/deps/nope.js").status_code == 404
    assert client.get("/_dash-component-suites/nope/x.js").status_code == 404
    guard.ERRORS.clear()
