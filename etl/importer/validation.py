"""Row validation against the DB: codes of territories, years, texts, themes and publics, coordinates."""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from ..config import resolve_db_path
from ..db import connect_snapshot
from ..errors import InputError
from .mapping import Mapping
from .reading import _Table
from .report import ImportReport, Problem
from .spec import (
    _COMMUNE_RE,
    _CONTROL_RE,
    _FLOAT_RE,
    _QPV2015_RE,
    _QPV2024_RE,
    _URL_RE,
    EXCEL_EPOCH,
    FRANCE_BOXES,
    SCHEME_STATUS,
    SCHEME_TYPES,
    SPEC,
    YEAR_MAX,
    YEAR_MIN,
    _cell_text,
    _clip,
    _col_letter,
    norm_label,
)


class _Bad(Exception):
    """A cell-level validation error (reason in French)."""


def _parse_year(v: Any) -> int | None:
    """A year from '2021', 2021, an Excel date serial (44197), a date cell or a date text."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, (dt.datetime, dt.date)):
        year = v.year
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        year = _year_from_number(float(v))
    else:
        s = str(v).strip()
        if s.startswith("="):
            raise _Bad("formule Excel non acceptée : collez les valeurs (Collage spécial > Valeurs)")
        if re.fullmatch(r"\d+([.,]0+)?|\d+[.,]\d+", s):
            year = _year_from_number(float(s.replace(",", ".")))
        else:
            year = _year_from_date_text(s)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise _Bad(f"année hors de la plage acceptée ({YEAR_MIN}–{YEAR_MAX})")
    return year


def _year_from_number(x: float) -> int:
    if not math.isfinite(x):
        raise _Bad("année illisible")
    if x.is_integer() and YEAR_MIN <= x <= YEAR_MAX:
        return int(x)
    lo = (dt.date(YEAR_MIN, 1, 1) - EXCEL_EPOCH).days
    hi = (dt.date(YEAR_MAX, 12, 31) - EXCEL_EPOCH).days
    if lo <= x <= hi:   # an Excel date serial (days since 1899-12-30)
        return (EXCEL_EPOCH + dt.timedelta(days=int(x))).year
    raise _Bad(f"année illisible : attendu une année ({YEAR_MIN}–{YEAR_MAX}) ou une date")


_DATE_FORMS = [
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ][\d:.]+)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?: [\d:.]+)?$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), ("y", "m")),
    (re.compile(r"^(\d{1,2})[-/.](\d{4})$"), ("m", "y")),
]


def _year_from_date_text(s: str) -> int:
    for rx, parts in _DATE_FORMS:
        m = rx.match(s)
        if m:
            d = dict(zip(parts, (int(g) for g in m.groups())))
            try:
                dt.date(d["y"], d["m"], d.get("d", 1))
            except ValueError:
                raise _Bad("date invalide") from None
            return d["y"]
    if re.match(r"^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$", s):
        raise _Bad("année sur deux chiffres ambiguë : écrivez l'année sur quatre chiffres")
    if re.match(r"^\d{4}\s*[-–/à]\s*\d{4}$", s):
        raise _Bad("une seule année attendue : mettez l'année de fin dans la colonne annee_fin")
    raise _Bad(f"année illisible : attendu une année ({YEAR_MIN}–{YEAR_MAX}) ou une date (JJ/MM/AAAA)")


def _parse_coord(s: str) -> float:
    t = s.replace("\u00a0", "").replace(" ", "")
    if not _FLOAT_RE.match(t):
        raise _Bad("nombre décimal attendu (degrés décimaux, ex. 5,3698)")
    return float(t.replace(",", "."))


def in_france(lon: float, lat: float) -> bool:
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in FRANCE_BOXES.values())


def _split_list(text: str, extra: str | None = None) -> list[str]:
    seps = "|\n" + (extra or "")
    parts = re.split("[" + re.escape(seps) + "]", text)
    return [p.strip() for p in parts if p.strip()]


def _split_codes(text: str, spaces: bool = True) -> list[str]:
    return [p.strip() for p in re.split(r"[\s,;|/]+" if spaces else r"[,;|/]+", text.strip()) if p.strip()]


def _norm_commune(code: str) -> str:
    c = code.strip().upper()
    if re.fullmatch(r"\d{4}", c):
        c = "0" + c   # Excel drops the leading zero of 01001...
    return c


@dataclass
class _Lookups:
    communes: dict[str, str | None]        # code -> parent commune (arrondissements) or None
    commune_names: dict[str, str]
    qpv2024: dict[str, str | None]         # code -> main commune
    qpv_names: dict[str, str]
    qpv_communes: dict[str, set[str]]
    corr2015: dict[str, list[str]]         # 2015 code -> 2024 successors
    schemes: set[str]
    themes: dict[str, str]                 # norm(id or label) -> id
    theme_list: str
    publics: dict[str, str]
    public_list: str

    @classmethod
    def load(cls, con) -> "_Lookups":
        communes, names = {}, {}
        for level, code, name, parent in con.execute(
                "SELECT level, code, name, commune FROM territory WHERE level IN ('commune', 'arrondissement')").fetchall():
            communes[code] = parent if level == "arrondissement" else None
            names[code] = name
        qpv, qnames = {}, {}
        for code, name, commune in con.execute(
                "SELECT code, name, commune FROM territory WHERE level = 'qpv' "
                "AND (generation = '2024' OR code LIKE 'QN%')").fetchall():
            qpv[code] = commune
            qnames[code] = name
        qc: dict[str, set[str]] = {}
        for q, c in con.execute("SELECT qpv_code, commune_code FROM qpv_commune").fetchall():
            qc.setdefault(q, set()).add(c)
        corr: dict[str, list[str]] = {}
        for q15, q24 in con.execute(
                "SELECT DISTINCT qpv2015, qpv2024 FROM qpv_correspondence WHERE qpv2015 IS NOT NULL "
                "ORDER BY 1, 2").fetchall():
            corr.setdefault(q15, []).append(q24)
        schemes = {r[0] for r in con.execute("SELECT scheme_id FROM scheme").fetchall()}
        themes, tl = {}, []
        for tid, label in con.execute("SELECT theme_id, label FROM theme ORDER BY sort").fetchall():
            themes[norm_label(tid)] = tid
            themes[norm_label(label)] = tid
            tl.append(f"{tid} ({label})")
        publics, pl = {}, []
        for pid, label in con.execute("SELECT public_id, label FROM public_group ORDER BY sort").fetchall():
            publics[norm_label(pid)] = pid
            publics[norm_label(label)] = pid
            pl.append(f"{pid} ({label})")
        return cls(communes, names, qpv, qnames, qc, corr, schemes, themes, "; ".join(tl), publics, "; ".join(pl))


class _RowCtx:
    def __init__(self, rownum: int, table: _Table, cells: list[Any], mapping: Mapping | None, report: ImportReport):
        self.rownum = rownum
        self.table = table
        self.cells = cells
        self.mapping = mapping
        self.report = report
        self.n_errors = 0

    def raw(self, col: str) -> Any:
        idx = self.table.cols.get(col)
        if not idx:
            return None
        n = len(self.cells)
        if len(idx) == 1:
            return self.cells[idx[0]] if idx[0] < n else None
        vals = [self.cells[i] if i < n else None for i in idx]
        sep = " | " if col in ("thematiques", "publics", "financeurs", "communes", "qpv") else " "
        return sep.join(t for t in (_cell_text(v) for v in vals) if t)

    def text(self, col: str) -> str:
        return _cell_text(self.raw(col))

    def error(self, col: str | None, value: Any, reason: str) -> None:
        self.n_errors += 1
        self.report.problems.append(Problem(self.rownum, self.table.display(col) if col else None,
                                            None if value is None else _clip(_cell_text(value), 500), reason))

    def warn(self, col: str | None, value: Any, reason: str, level: str = "warning") -> None:
        self.report.problems.append(Problem(self.rownum, self.table.display(col) if col else None,
                                            None if value is None else _clip(_cell_text(value), 500), reason, level))

    def raw_json(self) -> str:
        out = {}
        for i, v in enumerate(self.cells):
            key = self.table.header[i] if i < len(self.table.header) and self.table.header[i] else f"colonne_{_col_letter(i)}"
            if v is not None and _cell_text(v) != "":
                out[key] = _cell_text(v)
        return json.dumps(out, ensure_ascii=False)

    def str_field(self, col: str, required: bool = False) -> str | None:
        raw = self.raw(col)
        s = _cell_text(raw)
        if self.mapping and col not in ("thematiques", "publics"):
            s = self.mapping.translate(col, s)
        if not s:
            if required:
                self.error(col, raw, "valeur obligatoire manquante")
            return None
        spec = SPEC[self.report.kind].get(col)
        if spec and len(s) > spec.max_len:
            self.error(col, s, f"texte trop long ({len(s)} caractères ; maximum {spec.max_len})")
            return None
        bad = _CONTROL_RE.search(s)
        if bad:
            self.error(col, s, f"caractère de contrôle non autorisé (U+{ord(bad.group()):04X})")
            return None
        return s

    def year_field(self, col: str, required: bool = False) -> int | None:
        raw = self.raw(col)
        if _cell_text(raw) == "":
            if required:
                self.error(col, raw, "année obligatoire manquante")
            return None
        try:
            return _parse_year(raw)
        except _Bad as exc:
            self.error(col, raw, str(exc))
            return None

    def terms(self, col: str, index: dict[str, str], allowed: str, what: str, required: bool) -> list[str]:
        raw_text = self.text(col)
        if not raw_text:
            if required:
                self.error(col, raw_text, f"au moins une {what} est obligatoire ; valeurs possibles : {allowed}")
            return []
        extra = self.mapping.list_separator if self.mapping else None
        out: list[str] = []
        unknown = 0
        for item in _split_list(raw_text, extra):
            translated = self.mapping.translate(col, item) if self.mapping else item
            if translated.strip() == "":
                continue  # mapped to nothing on purpose
            hit = index.get(norm_label(translated))
            if hit is None and re.search(r"[,;]", translated):
                parts = [p.strip() for p in re.split(r"[,;]", translated) if p.strip()]
                hits = [index.get(norm_label(self.mapping.translate(col, p) if self.mapping else p)) for p in parts]
                if parts and all(hits):
                    out.extend(h for h in hits if h not in out)
                    continue
            if hit is None:
                unknown += 1
                self.error(col, item, f"{what} inconnue « {item} » ; valeurs possibles (identifiant ou libellé) : {allowed}")
                continue
            if hit not in out:
                out.append(hit)
        if required and not out and not unknown:
            self.error(col, raw_text, f"au moins une {what} est obligatoire")
        return out


def _commune_code(row: _RowCtx, col: str, value: str, lk: _Lookups) -> str | None:
    code = _norm_commune(value)
    if not _COMMUNE_RE.match(code):
        row.error(col, value, "code commune INSEE mal formé (5 caractères attendus, ex. 13055 ou 2A004)")
        return None
    if code not in lk.communes:
        row.error(col, value, "code commune inconnu : absent des communes chargées dans la base")
        return None
    parent = lk.communes[code]
    if parent:
        row.warn(col, value, f"arrondissement municipal rattaché à sa commune {parent}")
        code = parent
    elif code != value.strip():
        row.warn(col, value, f"code commune complété en {code} (zéro initial perdu par le tableur)")
    return code


def _qpv_codes(row: _RowCtx, col: str, value: str, lk: _Lookups) -> tuple[list[str], str | None] | None:
    """2024 code(s) for one QPV code as given. Returns (codes, 2015 code if mapped) or None on error."""
    code = value.strip().upper()
    if _QPV2024_RE.match(code):
        if code not in lk.qpv2024:
            row.error(col, value, "code QPV 2024 inconnu : absent des QPV chargés dans la base")
            return None
        return [code], None
    if _QPV2015_RE.match(code):
        succ = [c for c in lk.corr2015.get(code, []) if c in lk.qpv2024] or lk.corr2015.get(code, [])
        if not succ:
            row.error(col, value, "code QPV 2015 sans successeur 2024 dans la table de correspondance "
                                  "(quartier sorti de la géographie prioritaire, ou code inconnu) : "
                                  "indiquez la commune ou un code QPV 2024")
            return None
        return succ, code
    row.error(col, value, "code QPV mal formé : attendu QN + 3 + 2 chiffres + lettre (2024, ex. QN01301M) "
                          "ou QP + 6 caractères (2015, ex. QP013001)")
    return None


def _validate_scheme(row: _RowCtx, lk: _Lookups) -> dict | None:
    rec: dict[str, Any] = {"_row": row.rownum}
    rec["scheme_id"] = row.str_field("id_dispositif", required=True)
    t = row.str_field("type", required=True)
    if t is not None:
        kind = SCHEME_TYPES.get(norm_label(t))
        if kind is None:
            row.error("type", t, "type de dispositif inconnu ; valeurs possibles : ASV, CLS, CLSM, CPTS")
        rec["kind"] = kind
    rec["name"] = row.str_field("nom", required=True)
    rec["porteur"] = row.str_field("porteur")
    rec["year_created"] = row.year_field("annee_creation")
    st = row.str_field("statut")
    rec["status"] = None
    if st is not None:
        rec["status"] = SCHEME_STATUS.get(norm_label(st))
        if rec["status"] is None:
            row.error("statut", st, "statut inconnu ; valeurs possibles : actif, en projet, terminé")
    url = row.str_field("site_web")
    if url is not None and not _URL_RE.match(url):
        row.error("site_web", url, "adresse web invalide : elle doit commencer par https://, http:// ou www.")
        url = None
    rec["contact_url"] = url
    territories: list[tuple[str, str]] = []
    communes_txt = row.str_field("communes")
    for c in _split_codes(communes_txt or ""):
        code = _commune_code(row, "communes", c, lk)
        if code and ("commune", code) not in territories:
            territories.append(("commune", code))
    qpv_txt = row.str_field("qpv")
    for q in _split_codes(qpv_txt or ""):
        res = _qpv_codes(row, "qpv", q, lk)
        if res:
            codes, given = res
            if given:
                row.warn("qpv", q, "QPV 2015 remplacé par son (ses) successeur(s) 2024 : " + ", ".join(codes))
            for code in codes:
                if ("qpv", code) not in territories:
                    territories.append(("qpv", code))
    rec["territories"] = tuple(sorted(territories))
    if row.n_errors == 0 and not territories:
        row.warn("communes", None, "aucun territoire couvert (communes ou qpv) : le dispositif n'apparaîtra pas sur la carte")
    return rec if row.n_errors == 0 else None


def _validate_action(row: _RowCtx, lk: _Lookups) -> dict | None:
    rec: dict[str, Any] = {"_row": row.rownum}
    rec["action_id"] = row.str_field("id_action", required=True)
    rec["title"] = row.str_field("titre", required=True)
    rec["description"] = row.str_field("description")
    rec["year_start"] = row.year_field("annee_debut", required=True)
    rec["year_end"] = row.year_field("annee_fin")
    if rec["year_start"] and rec["year_end"] and rec["year_end"] < rec["year_start"]:
        row.error("annee_fin", row.raw("annee_fin"), f"année de fin antérieure à l'année de début ({rec['year_start']})")
    rec["porteur"] = row.str_field("porteur")
    rec["themes"] = tuple(sorted(row.terms("thematiques", lk.themes, lk.theme_list, "thématique", True)))
    rec["publics"] = tuple(sorted(row.terms("publics", lk.publics, lk.public_list, "catégorie de public", False)))
    rec["funders"] = row.str_field("financeurs")
    rec["address"] = row.str_field("adresse")
    sid = row.str_field("id_dispositif")
    if sid is not None and sid not in lk.schemes:
        row.error("id_dispositif", sid, "dispositif inconnu : importez d'abord le fichier des dispositifs, "
                                        "ou corrigez l'identifiant")
    rec["scheme_id"] = sid
    # Location: QPV and commune codes, coordinates.
    rec["qpv_code"] = rec["qpv_code_given"] = rec["commune_code"] = None
    rec["_qpv_choices"] = None
    qtxt = row.str_field("qpv")
    if qtxt:
        codes = _split_codes(qtxt, spaces=False)
        if not codes:
            row.error("qpv", qtxt, "aucun code de QPV lisible (seulement des séparateurs)")
        elif len(codes) > 1:
            row.error("qpv", qtxt, "une action se rattache à un seul QPV ; pour une action sur plusieurs "
                                   "quartiers, indiquez la commune ou le dispositif")
        else:
            res = _qpv_codes(row, "qpv", codes[0], lk)
            if res:
                found, given = res
                rec["qpv_code_given"] = given
                if len(found) == 1:
                    rec["qpv_code"] = found[0]
                else:
                    rec["_qpv_choices"] = found
    ctxt = row.str_field("commune")
    if ctxt:
        codes = _split_codes(ctxt, spaces=False)
        if not codes:
            row.error("commune", ctxt, "aucun code de commune lisible (seulement des séparateurs)")
        elif len(codes) > 1:
            row.error("commune", ctxt, "une seule commune attendue par action")
        else:
            rec["commune_code"] = _commune_code(row, "commune", codes[0], lk)
    rec["lon"] = rec["lat"] = None
    lon_t, lat_t = row.text("longitude"), row.text("latitude")
    if lon_t or lat_t:
        if not (lon_t and lat_t):
            missing = "latitude" if lon_t else "longitude"
            row.error(missing, None, "longitude et latitude vont ensemble : la " + missing + " manque")
        else:
            try:
                lon = _parse_coord(lon_t)
            except _Bad as exc:
                row.error("longitude", lon_t, str(exc))
                lon = None
            try:
                lat = _parse_coord(lat_t)
            except _Bad as exc:
                row.error("latitude", lat_t, str(exc))
                lat = None
            if lon is not None and lat is not None:
                if 100_000 <= abs(lon) <= 1_300_000 and 6_000_000 <= abs(lat) <= 7_200_000:
                    row.error("longitude", f"{lon_t} ; {lat_t}", "coordonnées en mètres (Lambert-93 ?) : "
                              "donnez des degrés décimaux WGS84 (ex. 5,3698 ; 43,2965)")
                elif abs(lon) > 180 or abs(lat) > 90:
                    row.error("latitude" if abs(lat) > 90 else "longitude", f"{lon_t} ; {lat_t}",
                              "coordonnées hors des bornes (longitude −180 à 180, latitude −90 à 90)")
                else:
                    rec["lon"], rec["lat"] = lon, lat
    if row.n_errors == 0 and not (rec["qpv_code"] or rec["_qpv_choices"] or rec["commune_code"]
                                  or rec["lon"] is not None or rec["address"] or rec["scheme_id"]):
        row.error(None, None, "aucune localisation : renseignez qpv, commune, longitude/latitude, adresse "
                              "ou id_dispositif")
    rec["location_method"] = None
    return rec if row.n_errors == 0 else None


def _open_read_only(db):
    path = resolve_db_path(db)
    if not path.is_file():
        raise InputError(path, None, None, "base introuvable : construisez-la d'abord "
                                           "(python -m etl build --demo ou --from DOSSIER)")
    return connect_snapshot(path)
