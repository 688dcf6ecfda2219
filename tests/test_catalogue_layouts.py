"""Every source of the download catalogue, end to end on a local mirror (issue 19).

Each source is served in its official layout (tests/official_layouts.py, fictional figures);
`download --check` lists every source with its verdict; `download --region` then `build --from`
load each laid file with the loader the catalogue declares, and the figures arrive with the year
they describe.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl import check
from etl.__main__ import main
from etl.build import build
from etl.catalogue import load_catalogue
from etl.db import connect
from etl.download import download, retrieval_dates
from tests.official_layouts import WRITERS
from tests.test_download import mirror, serve_catalogue  # noqa: F401  (the local HTTP mirror fixture)


def _catalogue():
    return {s.id: s for s in load_catalogue()[1]}


def test_every_catalogue_source_has_an_official_layout_fixture():
    assert set(WRITERS) == set(_catalogue())


def test_check_lists_every_source_with_its_address_loader_and_verdict(mirror, tmp_path, capsys):  # noqa: F811
    serve_catalogue(mirror, tmp_path, skip={"drees_apl_mg"})
    assert main(["download", "--check"]) == 0                  # an optional source missing: a warning only
    out = capsys.readouterr().out
    blocks = {b.split("]")[0].lstrip("["): b for b in out.split("\n\n") if b.startswith("[")}
    cat = _catalogue()
    assert set(blocks) == set(cat)
    for sid, src in cat.items():
        block = blocks[sid]
        assert f"adresse : {mirror.url(src.mirror_relpath())}" in block
        assert f"chargés par : etl/loaders/{src.loader}.py" in block
        assert f"page du producteur : {src.page}" in block
        assert ("vérifiée sur un fichier publié" if src.layout_checked else "pas encore vérifiée") in block
        verdict = "injoignable — le serveur répond 404" if sid == "drees_apl_mg" else "verdict : ok — joignable"
        assert verdict in block, block
    assert "année décrite : 1er janvier 2025" in blocks["insee_qpv24_cnam"]
    assert "sauf meta_*" in blocks["filosofi_qpv2024_2021"]
    assert not mirror.full["/" + cat["drees_apl_mg"].mirror_relpath()]
    assert sum(mirror.full.values()) == 0 or all(h.get("Range") is None for _, h in mirror.requests)

    # a required source that does not answer: named, exit code 2
    mirror.status["/" + cat["insee_cog_regions"].mirror_relpath()] = 404
    assert main(["download", "--check"]) == 2
    out = capsys.readouterr().out
    assert "1 source(s) obligatoire(s) injoignable(s) : insee_cog_regions" in out

    # offline: nothing is asked of any server
    asked = len(mirror.requests)
    assert main(["download", "--check", "--offline"]) == 0
    out = capsys.readouterr().out
    assert out.count("verdict : non vérifiée — hors ligne") == len(cat)
    assert len(mirror.requests) == asked


@pytest.fixture
def downloaded(mirror, tmp_path):  # noqa: F811
    serve_catalogue(mirror, tmp_path)
    dest = tmp_path / "raw"
    manifest = download(dest, "93", False)
    assert manifest["failed"] == {}
    return dest


def test_each_laid_file_is_claimed_by_the_loader_its_source_declares(downloaded):
    for sid, src in _catalogue().items():
        files = sorted(p for p in (downloaded / sid).iterdir() if p.is_file())
        assert files, sid
        claimed = check.claims(files)
        assert {p.name: claimed[p] for p in files} == {p.name: src.loader for p in files}, sid


def _value(con, level, code, indicator, year=None):
    rows = con.execute("SELECT year, ref_year, value, status, geography FROM indicator_value "
                       "WHERE level = ? AND code = ? AND indicator_id = ? ORDER BY period",
                       [level, code, indicator]).fetchall()
    return rows if year is None else [r for r in rows if r[0] == year]


def test_build_from_the_whole_catalogue_gives_each_figure_its_year(downloaded, tmp_path):
    db = tmp_path / "atlas.duckdb"
    build(downloaded, db, retrieved=retrieval_dates(downloaded), progress=lambda *_: None)
    con = connect(db, read_only=True)
    try:
        # INSEE's 2024-geography releases: QPV figures on the 2024 perimeter, the year each describes
        assert _value(con, "qpv", "QN08391M", "part_c2s") == [(2025, 2025, pytest.approx(705 / 2310 * 100),
                                                               "ok", "QPV2024")]
        assert _value(con, "commune", "13901", "part_c2s", 2025)[0][2] == pytest.approx(140 / 1150 * 100)
        assert _value(con, "qpv", "QN08391M", "part_allocataires_rsa")[0][:2] == (2024, 2024)
        pop = _value(con, "qpv", "QN01390N", "population")
        assert [(y, r, v) for y, r, v, *_ in pop] == [(2024, 2020, 2140)]
        # Filosofi on the 2024 QPVs (2021), its "Ensemble" row the all-QPV reference
        assert _value(con, "qpv", "QN08391M", "taux_pauvrete_60", 2021)[0][1:] == (2021, 41.2, "ok", "QPV2024")
        assert _value(con, "ensemble_qpv", "QPV2024-FR", "taux_pauvrete_60", 2021)[0][2] == 43.1
        # Filosofi 2021 supra-communal workbooks, Filosofi 2023 long format (a secret stays secret)
        assert _value(con, "region", "93", "taux_pauvrete_60", 2021)[0][2] == 15.2
        assert _value(con, "commune", "13901", "taux_pauvrete_60", 2023)[0][1:4] == (2023, 17.3, "ok")
        assert _value(con, "commune", "13902", "taux_pauvrete_60", 2023)[0][2:4] == (None, "secret")
        # census 2022 (two bases in Latin-1), APL 2022-2024 workbook
        assert _value(con, "commune", "13901", "part_rp_hlm", 2022)[0][1] == 2022
        assert _value(con, "commune", "13901", "part_sans_diplome", 2022)[0][2] is not None
        apl = _value(con, "commune", "13901", "apl_medecins_generalistes")
        assert [(y, r) for y, r, *_ in apl] == [(2022, 2022), (2023, 2023), (2024, 2024)]
        assert apl[-1][2] == pytest.approx(3.2)
        # geography: EPCI names from the EPCI layer, 2015 QPVs from the WGS84 layer, zoning
        assert con.execute("SELECT name FROM territory WHERE level = 'epci' AND code = '299900001'").fetchone() \
            == ("CA Fictive du Littoral",)
        assert con.execute("SELECT count(*) FROM territory WHERE level = 'qpv' AND generation = '2015'").fetchone() \
            == (1,)
        assert con.execute("SELECT zone FROM gp_zoning WHERE qpv_code = 'QN01390N'").fetchone() == ("ZIP",)
        # every source carries its retrieval date and says how its year is known
        undated = con.execute("SELECT source_id FROM source WHERE file_name IS NOT NULL AND retrieved_at IS NULL"
                              ).fetchall()
        assert undated == []
    finally:
        con.close()
    manifest = json.loads((downloaded / ".atlas-download.json").read_text(encoding="utf-8"))
    assert manifest["region"] == "93" and Path(next(iter(manifest["files"]))).parts[0] in WRITERS


def test_data_model_doc_lists_each_source_as_the_catalogue_says():
    """docs/data-model.md: one row per source, its loader, the year it describes, whether its layout
    was checked on a published file, as etl/sources.toml says."""
    doc = (Path(__file__).resolve().parent.parent / "docs" / "data-model.md").read_text(encoding="utf-8")
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`") and cells[3].startswith("`"):
            rows[cells[0].strip("`")] = cells
    cat = _catalogue()
    assert set(rows) == set(cat)
    for sid, src in cat.items():
        _, publisher, _, loader, describes, checked = rows[sid]
        assert (publisher, loader.strip("`"), describes, checked) == \
            (src.publisher, src.loader, src.describes, "oui" if src.layout_checked else "non"), sid
