"""Locating actions: the Base adresse nationale (BAN) geocoder with its cache, and points placed into
the QPVs and communes of the DB."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import DATA_DIR
from ..db import load_spatial
from ..httpread import TooLarge, TooSlow, call_within, read_body
from .spec import BAN_MIN_SCORE, BAN_URL, norm_label
from .validation import _Lookups, _RowCtx, in_france


@dataclass
class GeoResult:
    lon: float
    lat: float
    score: float
    label: str
    citycode: str | None


DEADLINE = 90.0     # seconds of geocoding per import at most (all its requests together)


class Geocoder:
    """BAN geocoder with an on-disk cache. Offline, only the cache is used.

    Addresses are geocoded in batches through the BAN's CSV endpoint (<search URL>csv/: one
    request for a whole file instead of one per row), each answer cached on disk. The search URL
    defaults to $ATLAS_BAN_URL, else https://api-adresse.data.gouv.fr/search/ (the same API is served
    by the Géoplateforme: https://data.geopf.fr/geocodage/search)."""

    BATCH = 2000        # addresses per CSV request
    BYTES_PER_ADDRESS = 4096    # an answer larger than this per address (plus 64 KiB) is refused

    def __init__(self, base_url: str | None = None, cache_dir: str | os.PathLike | None = None,
                 offline: bool = False, timeout: float = 30.0, min_score: float = BAN_MIN_SCORE,
                 deadline: float | None = None):
        """`timeout`: one request's whole time (connection, answer), whatever the server sends;
        `deadline`: every request of this geocoder together (one import), from the first one
        ($ATLAS_BAN_DEADLINE, default DEADLINE seconds). Past it, the addresses left are not geocoded
        and their rows say so (they keep their QPV or commune, or ask for coordinates)."""
        self.base_url = base_url or os.environ.get("ATLAS_BAN_URL") or BAN_URL
        cache = cache_dir or Path(os.environ.get("ATLAS_CACHE") or (DATA_DIR / "cache")) / "ban"
        self.cache_dir = Path(cache)
        self.offline = offline
        self.timeout = timeout
        self.deadline = float(deadline if deadline is not None else os.environ.get("ATLAS_BAN_DEADLINE") or DEADLINE)
        self._deadline_at: float | None = None
        self.min_score = min_score
        self.unavailable_reason: str | None = None

    @property
    def csv_url(self) -> str:
        return self.base_url.rstrip("/") + "/csv/"

    def _cache_file(self, q: str, citycode: str | None) -> Path:
        key = hashlib.sha256(json.dumps([norm_label(q), citycode]).encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.json"

    def _cached(self, q: str, citycode: str | None) -> dict | None:
        cf = self._cache_file(q, citycode)
        try:
            return json.loads(cf.read_text(encoding="utf-8")) if cf.exists() else None
        except (OSError, ValueError):
            return None

    def _store(self, q: str, citycode: str | None, hit: dict) -> None:
        cf = self._cache_file(q, citycode)
        try:
            cf.parent.mkdir(parents=True, exist_ok=True)
            tmp = cf.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(hit, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, cf)
        except OSError:
            pass      # a cache that cannot be written only costs a request next time

    @staticmethod
    def _query(address: str) -> tuple[str | None, str | None]:
        q = " ".join(str(address or "").split())
        if len(q) < 3 or not q[0].isalnum():
            return None, "adresse trop courte ou mal formée pour le géocodage"
        if len(q) > 200:
            return None, "adresse trop longue pour le géocodage (200 caractères au plus)"
        return q, None

    def geocode(self, address: str, citycode: str | None = None) -> tuple[GeoResult | None, str | None]:
        """(result, None) or (None, French reason)."""
        return self.geocode_many([(address, citycode)])[0]

    def geocode_many(self, items: list[tuple[str, str | None]]) -> list[tuple[GeoResult | None, str | None]]:
        """Each (address, citycode) geocoded: from the cache, else in batched CSV requests."""
        out: list = [None] * len(items)
        todo: dict[tuple[str, str | None], list[int]] = {}
        for i, (address, citycode) in enumerate(items):
            q, why = self._query(address)
            if q is None:
                out[i] = (None, why)
                continue
            hit = self._cached(q, citycode)
            if hit is not None:
                out[i] = self._result(hit)
            else:
                todo.setdefault((q, citycode), []).append(i)
        keys = list(todo)
        for start in range(0, len(keys), self.BATCH):
            chunk = keys[start:start + self.BATCH]
            answers = self._batch(chunk)
            for key, hit in zip(chunk, answers):
                res = self._result(hit) if isinstance(hit, dict) else (None, hit)
                for i in todo[key]:
                    out[i] = res
        return out

    def _batch(self, keys: list[tuple[str, str | None]]) -> list[dict | str]:
        """One CSV request for these queries: a cached answer dict per query, or a reason."""
        if self.offline:
            return ["mode hors ligne : adresse non géocodée"] * len(keys)
        if self.unavailable_reason:
            return [self.unavailable_reason] * len(keys)
        now = time.monotonic()
        if self._deadline_at is None:
            self._deadline_at = now + self.deadline
        budget = min(self.timeout, self._deadline_at - now)
        if budget <= 0:
            self.unavailable_reason = (f"délai du géocodage dépassé ({self.deadline:g} s pour l'import) : "
                                       "adresse non géocodée")
            return [self.unavailable_reason] * len(keys)
        try:
            status, content = call_within(lambda: self._post(keys, time.monotonic() + budget), budget + 1)
        except (TooSlow, TooLarge) as exc:
            why = "réponse trop volumineuse" if isinstance(exc, TooLarge) else f"pas de réponse complète en {budget:.0f} s"
            self.unavailable_reason = f"service d'adresses (BAN) : {why} : adresse non géocodée"
            return [self.unavailable_reason] * len(keys)
        except Exception as exc:  # noqa: BLE001  (requests' errors, a reset connection...)
            self.unavailable_reason = (f"service d'adresses (BAN) injoignable ({type(exc).__name__}) : "
                                       "adresse non géocodée")
            return [self.unavailable_reason] * len(keys)
        if status != 200:
            what = "redirection refusée" if 300 <= status < 400 else "indisponible"
            self.unavailable_reason = (f"service d'adresses (BAN) {what} (HTTP {status}) : "
                                       "adresse non géocodée")
            return [self.unavailable_reason] * len(keys)
        try:
            rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))
            by_id = {int(row["atlas_id"]): row for row in rows}
        except (UnicodeDecodeError, KeyError, ValueError, csv.Error):
            return ["réponse illisible du service de géocodage"] * len(keys)
        answers: list[dict | str] = []
        for k, (q, city) in enumerate(keys):
            row = by_id.get(k)
            if row is None:
                answers.append("réponse du service de géocodage sans cette adresse")
                continue
            hit: dict = {"found": False}
            try:
                if row.get("latitude") and row.get("longitude"):
                    hit = {"found": True, "lon": float(row["longitude"]), "lat": float(row["latitude"]),
                           "score": float(row.get("result_score") or 0), "label": row.get("result_label", ""),
                           "citycode": row.get("result_citycode") or None}
            except ValueError:
                answers.append("réponse illisible du service de géocodage")
                continue
            self._store(q, city, hit)
            answers.append(hit)
        return answers

    def _post(self, keys: list[tuple[str, str | None]], deadline: float) -> tuple[int, bytes | None]:
        """(HTTP status, body) of one CSV request: no redirect followed, the body read until
        `deadline` and at most BYTES_PER_ADDRESS per address."""
        import requests

        buf = io.StringIO(newline="")
        w = csv.writer(buf, delimiter=",", lineterminator="\n")
        w.writerow(["atlas_id", "adresse", "citycode"])
        for k, (q, city) in enumerate(keys):
            w.writerow([k, q, city or ""])
        files = {"data": ("adresses.csv", buf.getvalue().encode("utf-8"), "text/csv")}
        form = [("columns", "adresse")] + ([("citycode", "citycode")] if any(c for _, c in keys) else [])
        wait = max(0.1, deadline - time.monotonic())
        with requests.post(self.csv_url, data=form, files=files, timeout=(min(5.0, wait), wait),
                           allow_redirects=False, stream=True) as r:
            if r.status_code != 200:
                return r.status_code, None
            limit = 65536 + self.BYTES_PER_ADDRESS * len(keys)
            return 200, b"".join(read_body(r, deadline, limit))

    def _result(self, hit: dict) -> tuple[GeoResult | None, str | None]:
        if not hit.get("found"):
            return None, "adresse introuvable dans la Base adresse nationale"
        if hit["score"] < self.min_score:
            return None, (f"adresse trop imprécise (score {hit['score']:.2f} < {self.min_score} ; "
                          f"meilleure proposition : {hit.get('label', '')})")
        return GeoResult(hit["lon"], hit["lat"], hit["score"], hit.get("label", ""), hit.get("citycode")), None


def _ensure_spatial(con) -> None:
    try:
        con.execute("SELECT ST_Intersects(ST_Point(0, 0), ST_Point(0, 0))")
    except Exception:
        load_spatial(con)


def _point_territories(con, points: list[tuple[float, float]]) -> list[tuple[str | None, str | None]]:
    """(QPV 2024 code, commune code) containing each point (None when outside)."""
    if not points:
        return []
    _ensure_spatial(con)
    df = pd.DataFrame({"k": range(len(points)), "lon": [p[0] for p in points], "lat": [p[1] for p in points]})
    con.register("_import_pts", df)
    try:
        rows = con.execute("""
            SELECT p.k, t.level, min(t.code)
            FROM _import_pts p JOIN territory t
              ON ST_Intersects(t.geom, ST_Point(p.lon, p.lat))
            WHERE t.geom IS NOT NULL
              AND (t.level = 'commune' OR (t.level = 'qpv' AND (t.generation = '2024' OR t.code LIKE 'QN%')))
            GROUP BY 1, 2""").fetchall()
    finally:
        con.unregister("_import_pts")
    out: list[list[str | None]] = [[None, None] for _ in points]
    for k, level, code in rows:
        out[k][0 if level == "qpv" else 1] = code
    return [tuple(o) for o in out]


def _locate_actions(con, recs: list[dict], rows: dict[int, _RowCtx], lk: _Lookups, geocoder: Geocoder) -> None:
    """Geocode addresses, place points into QPVs and communes, pick the location method."""
    wanted = [rec for rec in recs if rec["lon"] is None and rec["address"]]
    for rec, (res, reason) in zip(wanted, geocoder.geocode_many([(r["address"], r["commune_code"]) for r in wanted])):
        if res:
            rec["lon"], rec["lat"], rec["_geocoded"] = res.lon, res.lat, res
        else:
            rec["_geocode_reason"] = reason
    pts = [r for r in recs if r["lon"] is not None]
    found = _point_territories(con, [(r["lon"], r["lat"]) for r in pts])
    # points in no loaded territory: would they fall into one with longitude and latitude swapped?
    lost = [i for i, (pq, pc) in enumerate(found) if pq is None and pc is None]
    swapped = _point_territories(con, [(pts[i]["lat"], pts[i]["lon"]) for i in lost])
    swapped_in_db = {i: sw != (None, None) for i, sw in zip(lost, swapped)}
    for i, (rec, (pq, pc)) in enumerate(zip(pts, found)):
        row = rows[rec["_row"]]
        given = "adresse" if rec.get("_geocoded") else "longitude"
        shown = f"{rec['lon']} ; {rec['lat']}"
        if pc is None and pq is None:
            if swapped_in_db[i] or (not in_france(rec["lon"], rec["lat"]) and in_france(rec["lat"], rec["lon"])):
                row.error(given, shown, "longitude et latitude semblent inversées : le point "
                          f"(longitude {rec['lat']}, latitude {rec['lon']}) "
                          + ("tombe dans le territoire chargé" if swapped_in_db[i] else "serait en France"))
                continue
            if not in_france(rec["lon"], rec["lat"]):
                row.error(given, shown, "point situé hors de France (métropole et outre-mer) et hors des "
                                        "communes chargées dans la base")
                continue
            row.warn(given, shown, "point hors des communes chargées dans la base : action conservée avec "
                                   "ses coordonnées, sans commune ni QPV")
        if rec["_qpv_choices"]:
            if pq in rec["_qpv_choices"]:
                rec["qpv_code"] = pq
            else:
                row.error("qpv", rec["qpv_code_given"], "QPV 2015 divisé en plusieurs QPV 2024 ("
                          + ", ".join(rec["_qpv_choices"]) + ") et point dans aucun d'eux : indiquez le code 2024")
                continue
        elif rec["qpv_code"] is None:
            rec["qpv_code"] = pq
        elif pq != rec["qpv_code"]:
            row.warn("qpv", rec["qpv_code"], "le point n'est pas dans ce QPV"
                     + (f" (il est dans {pq})" if pq else "") + " : le code QPV donné est conservé")
        if rec["commune_code"] is None:
            rec["commune_code"] = pc or (rec["_geocoded"].citycode if rec.get("_geocoded")
                                         and rec["_geocoded"].citycode in lk.communes else None)
        elif pc and pc != rec["commune_code"]:
            row.warn("commune", rec["commune_code"], f"le point est dans la commune {pc} : le code commune donné est conservé")
        rec["location_method"] = "address" if rec.get("_geocoded") else "coordinates"
    for rec in recs:
        row = rows[rec["_row"]]
        if row.n_errors:
            continue
        if rec["_qpv_choices"] and rec["qpv_code"] is None:
            row.error("qpv", rec["qpv_code_given"], "QPV 2015 divisé en plusieurs QPV 2024 ("
                      + ", ".join(rec["_qpv_choices"]) + ") : indiquez le code 2024, ou des coordonnées")
            continue
        if rec["qpv_code"] and rec["commune_code"] is None:
            rec["commune_code"] = lk.qpv2024.get(rec["qpv_code"])
        elif rec["qpv_code"] and rec["commune_code"] and lk.qpv_communes.get(rec["qpv_code"]) \
                and rec["commune_code"] not in lk.qpv_communes[rec["qpv_code"]] and rec["location_method"] is None:
            row.warn("commune", rec["commune_code"], f"le QPV {rec['qpv_code']} n'est pas situé dans cette commune")
        if rec["location_method"] is None:
            if rec["qpv_code"]:
                rec["location_method"] = "qpv"
            elif rec["commune_code"]:
                rec["location_method"] = "commune"
            elif rec["scheme_id"]:
                rec["location_method"] = "dispositif"
        if rec.get("_geocode_reason"):
            where = ("action localisée seulement par son QPV ou sa commune" if rec["location_method"] in ("qpv", "commune")
                     else "action non localisée sur la carte")
            row.warn("adresse", rec["address"], f"{rec['_geocode_reason']} ; {where} : "
                     "ajoutez longitude et latitude", level="locate")
