"""Laying out downloaded files in the destination folder (etl/download.py's second step):
archive members extracted, national layers filtered to a région, each source staged then
swapped in."""
from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath


from .catalogue import (CHUNK, DownloadError, Fetched, REGION_DEPARTEMENTS, SHAPEFILE_PARTS, Source,
                        VECTOR_SUFFIXES, warn)


def _matches(name: str, patterns: list[str]) -> bool:
    """Whether a member matches one of the glob patterns (on its path or its name, case ignored) and
    none of the exclusions ("!meta_*": INSEE's variable dictionaries beside the data)."""
    low = name.lower()
    base = PurePosixPath(low).name

    def hit(p: str) -> bool:
        return fnmatch.fnmatchcase(low, p.lower()) or fnmatch.fnmatchcase(base, p.lower())
    return any(hit(p) for p in patterns if not p.startswith("!")) and \
        not any(hit(p[1:]) for p in patterns if p.startswith("!"))


def _extract(src: Source, archive: Path, out: Path) -> list[Path]:
    """Extract the members matching src.extract, flat, into `out`."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            chosen = choose_members(src, archive, names)
            for name in chosen:
                with zf.open(name) as fin, open(out / PurePosixPath(name).name, "wb") as fout:
                    shutil.copyfileobj(fin, fout, CHUNK)
    else:
        try:
            import py7zr
        except ImportError:  # pragma: no cover - py7zr is in requirements.txt
            raise DownloadError(f"source « {src.id} » : archive 7z, installez le paquet py7zr") from None
        if not py7zr.is_7zfile(archive):
            raise DownloadError(f"source « {src.id} » : le fichier téléchargé {archive.name} n'est "
                                "ni une archive zip ni une archive 7z (page d'erreur du serveur ?)")
        with py7zr.SevenZipFile(archive) as z:
            names = [i.filename for i in z.list() if not i.is_directory]
        chosen = choose_members(src, archive, names)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            with py7zr.SevenZipFile(archive) as z:
                z.extract(path=tmp, targets=chosen)
            for name in chosen:
                shutil.move(str(Path(tmp) / name), out / PurePosixPath(name).name)
    return [out / PurePosixPath(n).name for n in chosen]


def choose_members(src: Source, archive: Path, names: list[str]) -> list[str]:
    # Never follow absolute paths or '..' out of the extraction folder.
    names = [n for n in names if not n.startswith("/") and ".." not in PurePosixPath(n).parts]
    chosen = [n for n in names if _matches(n, src.extract)]
    for pat in src.extract:
        if not pat.startswith("!") and not any(_matches(n, [pat] + [x for x in src.extract if x.startswith("!")])
                                               for n in names):
            shown = ", ".join(names[:15]) + (" …" if len(names) > 15 else "")
            raise DownloadError(f"source « {src.id} » : aucun fichier « {pat} » dans l'archive "
                                f"{archive.name} (contenu : {shown or 'vide'})")
    flat = [PurePosixPath(n).name.lower() for n in chosen]
    dup = {n for n in flat if flat.count(n) > 1}
    if dup:
        raise DownloadError(f"source « {src.id} » : plusieurs fichiers de même nom dans l'archive "
                            f"{archive.name} ({', '.join(sorted(dup))}) ; précisez « extract »")
    return chosen


def _departement(code: str, kind: str) -> str:
    code = code.strip().upper()
    if kind == "commune":
        return code[:3] if code[:2] in ("97", "98") else code[:2]
    if kind == "qpv":  # QP + 3 chars (2015) or QN + 3 chars (2024): '013' -> '13', '974' stays
        dep = code[2:5]
        return dep[1:] if dep.startswith("0") else dep
    return code  # departement


def _in_region(values, kind: str, region: str, deps: tuple[str, ...]):
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append(False)
            continue
        s = str(v).split(",")[0].strip()  # multi-commune QPVs list several codes: the first decides
        if kind == "region":
            out.append(s.zfill(2) == region)
        else:
            dep = _departement(s, kind)
            out.append(dep in deps or dep.zfill(2) in deps)
    return out


EPCI_FIELDS = ("siren_epci", "codes_siren_des_epci")   # a commune's EPCI(s), ADMIN EXPRESS 3-x and 4-0


def _filter_region(src: Source, laid: list[Path], region: str) -> list[Path]:
    """Filter the laid vector layers to `region`; filtered layers are written as GeoJSON
    (a shapefile and its .dbf/.prj... are replaced by one .geojson)."""
    import pyogrio

    deps = REGION_DEPARTEMENTS[region]
    consumed: set[Path] = set()
    outputs: list[Path] = []
    epcis: set[str] = set()     # SIREN of the EPCIs of the région's communes (kind "epci")

    def rule_of(path: Path):
        return next((r for r in src.region_filter
                     if fnmatch.fnmatchcase(path.name.lower(), r.get("member", "*").lower())), None)

    # layers filtered by their EPCI come after the layers that say which EPCIs the région has
    for path in sorted(laid, key=lambda p: (rule_of(p) or {}).get("kind") == "epci"):
        if path.suffix.lower() not in VECTOR_SUFFIXES:
            continue
        rule = rule_of(path)
        if rule is None:
            continue
        group = [path]
        if path.suffix.lower() == ".shp":
            group = [p for p in laid if p.stem == path.stem and p.suffix.lower() in SHAPEFILE_PARTS]
        try:
            gdf = pyogrio.read_dataframe(path)
        except Exception as exc:
            raise DownloadError(f"source « {src.id} » : couche {path.name} illisible ({exc})") from None
        cols = {str(c).lower(): c for c in gdf.columns}
        col = cols.get(str(rule["field"]).lower())
        if col is None:
            raise DownloadError(f"source « {src.id} » : champ « {rule['field']} » absent de "
                                f"{path.name} (champs : {', '.join(map(str, gdf.columns))}) ; "
                                "impossible de filtrer par région")
        if rule.get("kind") == "epci":
            kept = gdf[[str(v).strip() in epcis for v in gdf[col]]]
        else:
            kept = gdf[_in_region(gdf[col].tolist(), rule.get("kind", "region"), region, deps)]
            for name in (c for c in kept.columns if str(c).lower() in EPCI_FIELDS):
                epcis.update(e.strip() for v in kept[name].dropna() for e in str(v).split(","))
        consumed.update(group)
        out = path.with_suffix(".geojson")
        tmp = out.with_name(f".{out.name}.tmp")
        if len(kept):
            pyogrio.write_dataframe(kept, tmp, driver="GeoJSON")
        for p in group:
            p.unlink(missing_ok=True)
        if len(kept):
            os.replace(tmp, out)
            outputs.append(out)
        else:
            warn(f"source « {src.id} » : aucune entité de la région {region} dans {path.name}")
    return [p for p in laid if p not in consumed] + outputs


def lay_out(f: Fetched, staging: Path, region: str | None) -> list[Path]:
    """Write the files of one fetched source into staging/<source id>/. Errors (an archive that
    cannot be extracted, a layer that cannot be filtered) become DownloadError."""
    src = f.source
    work = staging / src.id
    work.mkdir(parents=True)
    try:
        if src.extract:
            laid = _extract(src, f.path, work)
        else:
            laid = [work / src.filename]
            shutil.copyfile(f.path, laid[0])  # a copy: editing dest must not touch the cache
        if region and src.regional:
            laid = _filter_region(src, laid, region)
    except DownloadError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise DownloadError(f"source « {src.id} » : fichiers illisibles dans {f.path.name} "
                            f"({type(exc).__name__} : {exc}) ; la copie en cache est peut-être endommagée, "
                            "relancez avec --force") from None
    return laid


def swap_in(staging: Path, dest: Path, ids: list[str]) -> None:
    """Each staged source folder replaces its folder in `dest` (a rename each)."""
    for sid in ids:
        final, old = dest / sid, dest / f".old-{sid}-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(staging / sid, final)
        shutil.rmtree(old, ignore_errors=True)
