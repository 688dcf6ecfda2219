"""What territory an imported registry covers: where the scheme registry or the action list is
complete, so that outside it a QPV's coverage and its actions are unknown, never "none" or 0.

Each import says it: declared by the user (`--territoire departement:13`, the Importer page's
field, a build folder's `<file stem>.territoire.txt`), or by default the communes its rows name
(the communes of its schemes, actions and of the QPVs they name). The resolved list is written
to registry_coverage with the import and kept in the archive's sidecar, so that a rebuild
replays it.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError

LEVELS = ("region", "departement", "epci", "commune")
LEVEL_FR = {"region": "région", "departement": "département", "epci": "EPCI", "commune": "commune"}
MAX_ITEMS = 2000


def parse_coverage(items) -> list[tuple[str, str]]:
    """["departement:13", "commune:13055"] or "departement:13, commune:13055" -> [(level, code)].
    Raises ValueError naming the first item that is not "level:code" with a known level."""
    if items is None:
        return []
    if isinstance(items, str):
        items = items.replace(";", ",").replace("\n", ",").split(",")
    out: list[tuple[str, str]] = []
    for raw in items:
        if isinstance(raw, (list, tuple)) and len(raw) == 2:
            level, code = str(raw[0]), str(raw[1])
        else:
            text = str(raw or "").strip()
            if not text or text.startswith("#"):
                continue
            level, _, code = text.partition(":")
        level, code = level.strip().lower(), code.strip()
        if level not in LEVELS or not code or len(code) > 20:
            raise ValueError(f"« {str(raw)[:60]} » : écrivez niveau:code, le niveau étant region, departement, "
                             "epci ou commune (ex. departement:13)")
        if (level, code) not in out:
            out.append((level, code))
        if len(out) > MAX_ITEMS:
            raise ValueError(f"plus de {MAX_ITEMS} territoires déclarés")
    return out


def read_sidecar(path: Path) -> list[tuple[str, str]] | None:
    """The territory a build-folder file declares in `<stem>.territoire.txt` beside it (None: none)."""
    side = Path(path).with_name(Path(path).stem + ".territoire.txt")
    if not side.is_file():
        return None
    try:
        return parse_coverage(side.read_text(encoding="utf-8").splitlines())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(side, None, None, f"territoire couvert illisible : {exc}") from None


def unknown_territories(con, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The declared territories the DB does not hold."""
    if not items:
        return []
    known = set(con.execute("SELECT level, code FROM territory WHERE level IN ('region', 'departement', 'epci', "
                            "'commune')").fetchall())
    return [it for it in items if it not in known]


def named_communes(con, kind: str, recs: list[dict]) -> list[tuple[str, str]]:
    """The default coverage of a file: the communes its rows name, directly or through their QPVs."""
    communes: set[str] = set()
    qpvs: set[str] = set()
    for r in recs:
        if kind == "schemes":
            for level, code in r.get("territories") or []:
                (communes if level == "commune" else qpvs).add(code)
        else:
            if isinstance(r.get("commune_code"), str):
                communes.add(r["commune_code"])
            if isinstance(r.get("qpv_code"), str):
                qpvs.add(r["qpv_code"])
    if qpvs:
        con.register("_cov_qpv", pd.DataFrame({"code": sorted(qpvs)}))
        try:
            communes |= {c for (c,) in con.execute(
                "SELECT DISTINCT commune_code FROM qpv_commune WHERE qpv_code IN (SELECT code FROM _cov_qpv)"
            ).fetchall()}
        finally:
            con.unregister("_cov_qpv")
    return [("commune", c) for c in sorted(communes)]


def write_coverage(con, kind: str, items: list[tuple[str, str]], declared: bool, source_id: str | None,
                   import_id: int | None) -> None:
    if not items:
        return
    con.executemany("INSERT INTO registry_coverage VALUES (?, ?, ?, ?, ?, ?)",
                    [(kind, level, code, declared, source_id, import_id) for level, code in items])


def coverage_text(con, items: list[tuple[str, str]], limit: int = 12) -> str:
    """ "département Bouches-du-Rhône (13) ; commune Aubagne (13005)" for a report."""
    if not items:
        return "aucun territoire"
    names = {}
    try:
        con.register("_cov_items", pd.DataFrame(items, columns=["level", "code"]))
        try:
            names = {(lv, c): n for lv, c, n in con.execute(
                "SELECT t.level, t.code, t.name FROM territory t JOIN _cov_items i USING (level, code)").fetchall()}
        finally:
            con.unregister("_cov_items")
    except Exception:   # noqa: BLE001 - a name is a courtesy; the codes are what counts
        names = {}
    parts = [f"{LEVEL_FR[lv]} {names[(lv, c)]} ({c})" if (lv, c) in names else f"{LEVEL_FR[lv]} {c}"
             for lv, c in items[:limit]]
    more = f" et {len(items) - limit} autre(s)" if len(items) > limit else ""
    return " ; ".join(parts) + more
