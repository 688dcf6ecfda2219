"""Build the DuckDB file from a folder of input files.

A build writes a new file next to the target and renames it over the old one only
when every loader succeeded: a failed build leaves the previous DB untouched.
"""
from __future__ import annotations

import datetime as dt
import importlib
import os
import tomllib
import uuid
from pathlib import Path

from .config import CATALOGUE_FILE, FICTIONAL_MARKER, SCHEMA_FILE, TAXONOMY_FILE
from .context import BuildContext
from .db import connect
from .dbswap import swap_in, write_failure, writer_lock
from .errors import InputError
from .importer import recover_archive, replay_imports
from .importer.archive import archive_dir, move_superseded

# Order matters: territories before QPVs (commune links), QPVs before indicators,
# indicators before the 2015 -> 2024 carry (finalize), schemes before actions.
LOADER_ORDER = [
    "territories",     # IGN Admin Express COG CARTO communes, arrondissements, EPCI list, COG names
    "qpv_contours",    # ANCT QPV contours, 2024 and 2015 layouts
    "correspondence",  # ANCT 2024 <-> 2015 correspondence
    "zoning",          # ARS QPV zoning for GPs (ZIP/ZAC)
    "cpts",            # CPTS territories
    "onpv",            # ONPV / sig.ville QPV indicator tables (finalize: dating by evidence, 2015 -> 2024)
    "filosofi_qpv",    # INSEE Filosofi on the QPV (year described in the column names; dates ONPV columns)
    "insee_qpv24",     # INSEE's data on the 2024 QPVs (CNAM, CAF, jobseekers, population) and their communal refs
    "filosofi",        # INSEE Filosofi reference territories
    "filosofi_long",   # INSEE Filosofi 2023+ in long format (DS_FILOSOFI_CC)
    "census",          # INSEE census communal bases (references summed from commune counts)
    "apl",             # DREES APL to GPs (xlsx)
    "user_files",      # schemes and actions in the Atlas import templates
]



def loader_modules():
    return [importlib.import_module(f"etl.loaders.{name}") for name in LOADER_ORDER]


def claim_files(files: list[Path], modules=None) -> dict[Path, str | None]:
    """Which loader claims each file: the first of LOADER_ORDER whose detect() accepts it (None: no
    loader). The build loads each loader's files in that order."""
    modules = modules or loader_modules()
    out: dict[Path, str | None] = {p: None for p in files}
    for mod in modules:
        name = mod.__name__.rsplit(".", 1)[-1]
        for p in files:
            if out[p] is None and mod.detect(p):
                out[p] = name
    return out


def create_schema(con) -> None:
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))


def load_reference_tables(con) -> None:
    """ASV taxonomy and indicator catalogue, from the TOML files beside this module."""
    tax = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    themes, sort = [], 0
    for axis in tax["theme"]:
        sort += 10
        themes.append((axis["id"], axis["label"], None, sort))
        themes += [(cid, label, axis["id"], sort + i)
                   for i, (cid, label) in enumerate(axis.get("children", []), start=1)]
    con.executemany("INSERT INTO theme VALUES (?,?,?,?)", themes)
    con.executemany("INSERT INTO public_group VALUES (?,?,?)",
                    [(pid, label, i) for i, (pid, label) in enumerate(tax["publics"]["items"], start=1)])
    cat = tomllib.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))
    con.executemany(
        "INSERT INTO indicator (indicator_id, label, short_label, unit, family, high_is_bad, definition, decimals, "
        "sort, ci_method, ci_numerator, ci_denominator, ci_scale, ci_denominator_from, ci_denominator_note) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(ind["id"], ind["label"], ind.get("short_label", ind["label"]), ind["unit"], ind["family"],
          _high_is_bad(ind, i), ind.get("definition"), ind.get("decimals", 1), i, *_interval(ind, i))
         for i, ind in enumerate(cat["indicator"], start=1)])


POLARITIES = {"high_is_bad": True, "low_is_bad": False, "none": None}
INTERVALS = ("wilson", "poisson")


def _interval(ind: dict, i: int) -> tuple:
    """(method, numerator, denominator, scale, denominator_from, note) of an indicator's confidence
    intervals (etl/catalogue.toml: interval, numerator_label...), all None without `interval`."""
    method = ind.get("interval")
    if method is None:
        return (None,) * 6
    where = f"[[indicator]] n° {i}"
    if method not in INTERVALS:
        raise InputError(CATALOGUE_FILE, where, "interval", "« wilson » (une proportion) ou « poisson » (un taux "
                         "d'événements)", method)
    for key in ("numerator_label", "denominator_label"):
        if not ind.get(key):
            raise InputError(CATALOGUE_FILE, where, key, "ce que compte l'effectif, obligatoire avec « interval »",
                             ind.get("id"))
    if ind.get("denominator_from") and not ind.get("denominator_note"):
        raise InputError(CATALOGUE_FILE, where, "denominator_note", "un dénominateur approché se dit : "
                         "« denominator_note » obligatoire avec « denominator_from »", ind.get("id"))
    return (method, ind["numerator_label"], ind["denominator_label"], float(ind.get("scale", 100)),
            ind.get("denominator_from"), ind.get("denominator_note"))


def _high_is_bad(ind: dict, i: int):
    """The catalogue's required `polarity`, stored as indicator.high_is_bad (TRUE, FALSE or NULL)."""
    pol = ind.get("polarity")
    if pol not in POLARITIES:
        raise InputError(CATALOGUE_FILE, f"[[indicator]] n° {i}", "polarity",
                         "sens obligatoire : « high_is_bad », « low_is_bad » ou « none » (aucun jugement)",
                         ind.get("id"))
    return POLARITIES[pol]


def input_files(folder: Path) -> list[Path]:
    """Every file under `folder`, sorted, skipping hidden files and documentation."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts) \
                and p.suffix.lower() not in (".md", ".txt", ".pdf"):
            out.append(p)
    return out


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


BUILD_LOCK_WAIT = 600.0   # seconds a build waits for a running import to finish


def build(folder: Path, db_path: Path, *, fictional: bool = False, kind: str = "build-dir",
          retrieved: dict[str, str] | None = None, progress=print, replay: bool = True,
          lock_timeout: float = BUILD_LOCK_WAIT) -> Path:
    """Build `db_path` from the files in `folder`. Raises InputError on bad input,
    in which case `db_path` is left as it was. With `replay`, the rows users imported into
    the previous DB (files kept in imports/ beside it) are imported again, each in its latest
    state. Official files are loaded without the writer lock; the replay and the rename
    happen under it, so an import acknowledged before the rename is never lost (etl.importer.archive)."""
    folder = Path(folder)
    db_path = Path(db_path)
    if not folder.is_dir():
        raise InputError(folder, None, None, "dossier d'entrée introuvable")
    fictional = fictional or (folder / FICTIONAL_MARKER).is_file()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.building-{os.getpid()}")
    tmp_wal = Path(str(tmp) + ".wal")
    for p in (tmp, tmp_wal):
        p.unlink(missing_ok=True)
    con = connect(tmp, spatial=True)
    try:
        create_schema(con)
        load_reference_tables(con)
        ctx = BuildContext(con=con, fictional=fictional, run_id=1, retrieved=retrieved or {})
        started = _now()
        con.execute("INSERT INTO meta VALUES ('fictional', ?), ('input', ?)",
                    ["true" if fictional else "false", str(folder)])
        files = input_files(folder)
        modules = loader_modules()
        owner = claim_files(files, modules)
        for mod in modules:
            name = mod.__name__.rsplit(".", 1)[-1]
            mine = [p for p in files if owner[p] == name]
            if mine:
                progress(f"[{name}] {', '.join(p.name for p in mine)}")
                mod.load(ctx, mine)
        for mod in modules:
            if hasattr(mod, "finalize"):
                mod.finalize(ctx)
        for p in files:
            if owner[p] is None:
                ctx.issue(p, None, None, None, "warning", "fichier non reconnu : ignoré")
        with writer_lock(db_path, timeout=lock_timeout):
            superseded = []
            if replay:
                if db_path.exists():
                    recover_archive(db_path)
                superseded = replay_imports(ctx, archive_dir(db_path), progress)
            ctx.flush_issues()
            counts = dict(con.execute(
                "SELECT level, count(*) FROM territory GROUP BY level ORDER BY level").fetchall())
            summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
            con.execute("INSERT INTO etl_run VALUES (1, ?, ?, ?, ?, 'ok', ?)",
                        [kind, str(folder), started, _now(), summary])
            # build_id: what the official data of this file is; imports keep it, so that the app reads
            # again only what an import changes (data/memory.py)
            con.execute("INSERT INTO meta VALUES ('built_at', ?), ('build_id', ?)", [_now(), uuid.uuid4().hex])
            con.execute("CHECKPOINT")
            con.close()
            tmp_wal.unlink(missing_ok=True)
            swap_in(tmp, db_path)
            move_superseded(superseded)
    except BaseException as exc:
        try:
            con.close()
        except Exception:
            pass
        tmp.unlink(missing_ok=True)
        tmp_wal.unlink(missing_ok=True)
        clear = write_failure(exc, db_path)
        if clear is not None:
            raise clear from exc
        raise
    return db_path
