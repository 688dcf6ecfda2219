"""Writers of the statistical tables: ONPV (REVN, DEMO, IPRO), Filosofi, DREES APL."""
from __future__ import annotations

import io
import zipfile


from .plan import APL_COLUMNS, APL_UNIT, APL_YEARS, CRLF, DEPARTEMENTS, ENSEMBLE_YEARS, FILES, FILO_DISP_COLUMNS, FILO_LEVELS, FILO_PAUVRES_COLUMNS, FILO_SMALL_HOUSEHOLDS, FILO_YEAR, FIXED_TIME, ONPV_LAYOUTS, ONPV_YEARS, REGION_CODE, REGION_NAME
from .world import Commune, Qpv, World, _Rand, _fold
from .formats import _csv, fr_number
from .geo_files import _names


# ---- ONPV tables -----------------------------------------------------------------------
def _onpv_values(fam: str, year: int, q: Qpv, w: World, rnd: _Rand, shares: dict) -> dict[str, float | None]:
    """Plausible values of every column of one family/vintage for one 2015 QPV.
    Returns {column: value}; formatting (decimals) is decided by `_onpv_format`."""
    t = year - 2019
    z = max(0.0, min(1.0, q.deprivation + 0.008 * t + rnd.uniform(-0.03, 0.03)))
    pop = q.population * (1 + 0.004 * t)
    infl = 1.018 ** t
    j = lambda s: 1 + rnd.uniform(-s, s)  # noqa: E731  (multiplicative jitter)
    v: dict[str, float | None] = {}
    hh = pop / (2.2 + 0.5 * z)
    alloc = hh * (0.55 + 0.2 * z)
    if fam == "REVN":
        q2 = (15300 - 4300 * z) * infl * j(0.02)
        v.update(PMIMP=45 - 25 * z * j(0.1), PART_CHOMPRINC=4 + 6 * z * j(0.2), BREV=50 + 20 * z * j(0.05),
                 DECUC_Q2=q2 * (0.78 - 0.12 * z), DISP_Q2=q2, DISP_Q1=q2 * 0.76 * j(0.02),
                 DISP_Q3=q2 * 1.33 * j(0.02), DISP_D1=q2 * (0.6 - 0.05 * z) * j(0.03),
                 DISP_D9=q2 * (1.8 - 0.1 * z) * j(0.03),
                 TP60=30 + 30 * z + rnd.uniform(-1.5, 1.5))
        v["DECUC_Q1"] = v["DECUC_Q2"] * 0.45
        v["DECUC_Q3"] = v["DECUC_Q2"] * 1.6
        v["DECUC_D1"] = v["DECUC_Q2"] * 0.1 * j(0.2)
        v["DECUC_D9"] = v["DECUC_Q2"] * 2.3 * j(0.05)
        v["DECUC_D1D9"] = v["DECUC_D9"] / v["DECUC_D1"]
        v["DISP_D1D9"] = v["DISP_D9"] / v["DISP_D1"]
        ppen, ppsoc, pimpot, ppat = 20 - 7 * z * j(0.1), 12 + 24 * z * j(0.05), -(11 - 4 * z), 4 - 2.5 * z
        v.update(PPEN=ppen, PPSOC=ppsoc, PIMPOT=pimpot, PPAT=ppat, PACT=100 - ppen - ppsoc - pimpot - ppat)
        insured = pop * 0.93 * j(0.02)
        v.update(C=insured, CCMUC=pop * (0.1 + 0.16 * z) * j(0.05), CC2S=insured * (0.2 + 0.22 * z) * j(0.04),
                 C_C2SNP=insured * (0.17 + 0.2 * z) * j(0.04), C_C2SP=insured * (0.02 + 0.03 * z) * j(0.1),
                 A=alloc, APRES50=alloc * (0.35 + 0.25 * z), APRES100=alloc * (0.18 + 0.2 * z),
                 ARSA=alloc * (0.25 + 0.15 * z), ARSAS=alloc * (0.15 + 0.15 * z) * j(0.05),
                 APPA=alloc * (0.25 + 0.1 * z), AAAH=alloc * 0.08 * j(0.15))
    elif fam == "DEMO":
        y24 = 33 + 12 * z + rnd.uniform(-1.5, 1.5)
        s60 = 22 - 9 * z + rnd.uniform(-1.5, 1.5)
        v.update(POP_MUN=pop, TX_F=rnd.uniform(50.5, 54.0), TX_TOT_0A24=y24, TX_F_0A24=y24 - rnd.uniform(1, 3),
                 TX_TOT_60ETPLUS=s60, TX_F_60ETPLUS=s60 + rnd.uniform(1, 3), IND_JEUNE=y24 * 0.8 / s60,
                 TX_TOT_MEN1=38 - 6 * z + rnd.uniform(-3, 3), TX_TOT_MEN6=2 + 7 * z * j(0.1),
                 TX_TOT_ET=6 + 18 * z * j(0.1))
        v["TX_F_ET"] = v["TX_TOT_ET"] - rnd.uniform(0.5, 2.0)
        enf = alloc * (1.0 + 0.4 * z)
        v.update(A=alloc, PERCOU=alloc * (2.3 + 0.4 * z), AM=alloc * (0.18 + 0.17 * z) * j(0.05),
                 AI=alloc * 0.3, ACSSENF=alloc * 0.07, ACAVENF=alloc * 0.25, AC3ENF=alloc * (0.05 + 0.06 * z),
                 A_NETUD_24=alloc * 0.04, A_ETUD=alloc * 0.02, ENF=enf, ENF_2=enf * 0.12, ENF_3_5=enf * 0.15,
                 ENF_6_10=enf * 0.24, ENF_11_14=enf * 0.18, ENF_15_17=enf * 0.13, ENF_18_24=enf * 0.1)
    else:  # IPRO
        empl = 56 - 16 * z + rnd.uniform(-2, 2)
        prec = 18 + 12 * z + rnd.uniform(-2, 2)
        abcde = pop * (0.09 + 0.06 * z) * j(0.05)
        abc = abcde * 0.88
        v.update(TX_TOT_EMPL=empl, TX_F_EMPL=empl - rnd.uniform(4, 8), TX_ET_EMPL=empl - rnd.uniform(5, 11),
                 TX_TOT_EPREC=prec, TX_F_EPREC=prec + rnd.uniform(0, 3), TX_ET_EPREC=prec + rnd.uniform(2, 8),
                 TX_TOT_EDLIM=prec, TX_F_EDLIM=prec + rnd.uniform(0, 3), TX_ET_EDLIM=prec + rnd.uniform(2, 8),
                 CA=pop * 0.003 * j(0.3), ABCDE=abcde, ABC=abc, A=abc * 0.6)
    header = ONPV_LAYOUTS[(fam, year)][1].split(";")
    for col in header:
        key = col.strip()
        if key in v or key in ("CODGEO", "LIBGEO", "LIB_COM", "POP_COM_QP", "POP_COM"):
            continue
        if key.startswith("NOTE_"):
            v[key] = 0
        elif key[-2:] in ("_F", "_H") and key[:-2] in v:  # women / men split of a count
            v[key] = v[key[:-2]] * (0.47 if key.endswith("_F") else 0.53) * j(0.05)
        elif key.startswith("EVOL_"):
            v[key] = rnd.uniform(-12, 12)
        else:  # a sub-count of a base count (share fixed per column)
            base = "ABC" if key.startswith("ABC") else "A" if key.startswith("A") else "CA"
            if base not in v:
                base = next(b for b in ("A", "POP_MUN", "C") if b in v)
            v[key] = v[base] * shares.setdefault(key, rnd.uniform(0.05, 0.6)) * j(0.1)
    return v


ONPV_RATE_PREFIXES = ("TX_", "EVOL_", "BREV", "IND_JEUNE", "TP60", "PMIMP", "PART_", "PACT", "PPEN", "PPSOC",
                      "PIMPOT", "PPAT")


def _onpv_is_rate(col: str) -> bool:
    return col.startswith(ONPV_RATE_PREFIXES) or col.endswith("D1D9")


def _onpv_format(col: str, value, year: int) -> str:
    if value is None:
        return ""
    if col.startswith("NOTE_"):
        return str(int(value))
    if _onpv_is_rate(col):
        return fr_number(value, 1)
    if col.startswith(("DISP_", "DECUC_")):
        step = 10 if year >= 2021 else 1
        return fr_number(round(value / step) * step, 0)
    return fr_number(round(value), 0)


FILO_SECRET_COLS = ("PMIMP", "PART_CHOMPRINC", "BREV", "DECUC_", "DISP_", "TP60", "PACT", "PPEN",
                    "PPSOC", "PIMPOT", "PPAT")


def _files_onpv(w: World, rnd: _Rand) -> dict[str, bytes]:
    out = {}
    pop_in_qpv: dict[str, int] = {}
    for q in w.qpv15:
        for c in q.communes:
            pop_in_qpv[c] = pop_in_qpv.get(c, 0) + q.population
    for (fam, year), (width, header_s) in sorted(ONPV_LAYOUTS.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if year not in ONPV_YEARS:
            continue
        header = header_s.split(";")
        shares: dict[str, float] = {}
        body = []
        totals = {}
        for q in w.qpv15:
            v = _onpv_values(fam, year, q, w, rnd, shares)
            names = sorted(_names(w, q.communes), key=_fold)
            cells = []
            for col in header:
                key = col.strip()
                if key == "CODGEO":
                    cells.append(q.code)
                elif key == "LIBGEO":
                    cells.append(q.name)
                elif key == "LIB_COM":
                    cells.append(", ".join(names))
                elif key == "POP_COM":
                    cells.append(fr_number(sum(w.commune(c).population for c in q.communes)))
                elif key == "POP_COM_QP":
                    cells.append(fr_number(sum(pop_in_qpv[c] for c in q.communes)))
                else:
                    val = v.get(key)
                    if q.secret and fam == "REVN" and key.startswith(FILO_SECRET_COLS):
                        val = None
                    elif not key.startswith(("NOTE_", "POP_")) and rnd.chance(0.03):
                        val = None  # statistical secret / missing figure
                    if val is not None and not _onpv_is_rate(key) and not key.startswith(("DISP", "DECUC", "NOTE")):
                        totals[key] = totals.get(key, 0.0) + val
                    cells.append(_onpv_format(key, val, year))
            body.append(cells)
        rows = [header]
        if year in ENSEMBLE_YEARS:
            ens = []
            for col in header:
                key = col.strip()
                if key == "CODGEO":
                    ens.append("Ensemble")
                elif key == "LIBGEO":
                    ens.append("Ensemble des QPV")
                elif key in totals and not key.startswith("NOTE_"):
                    ens.append(fr_number(round(totals[key] / 100) * 100))
                else:
                    ens.append("")
            rows.append(ens)
        rows += body
        rows = [r + [""] * (width - len(r)) for r in rows]
        out[f"{fam}_{year}.csv"] = _csv(rows, ";", CRLF, bom=True, final_eol=False)
    return out


# ---- Filosofi ------------------------------------------------------------------------------
def _filo_profile(pop: float, z: float) -> dict[str, float]:
    q2 = 24200 - 6200 * z
    d = {"NBMEN": pop / (2.15 + 0.3 * z), "NBPERS": pop * 0.985, "Q2": q2}
    d["NBUC"] = d["NBPERS"] / 1.52
    for k, f in (("Q1", 0.78), ("Q3", 1.3), ("D1", 0.56 - 0.04 * z), ("D2", 0.7), ("D3", 0.81),
                 ("D4", 0.91), ("D6", 1.1), ("D7", 1.21), ("D8", 1.38), ("D9", 1.72 + 0.1 * z)):
        d[k] = q2 * f
    d["Q3_Q1"] = d["Q3"] - d["Q1"]
    d["RD"] = d["D9"] / d["D1"]
    d["S80S20"] = 3.6 + 1.6 * z
    d["GI"] = 0.26 + 0.08 * z
    d["PACT"] = 70 - 8 * z
    d["PTSA"] = d["PACT"] * 0.82
    d["PCHO"] = 2 + 2 * z
    d["PBEN"] = d["PACT"] - d["PTSA"] - d["PCHO"]
    d["PPEN"] = 28 - 4 * z
    d["PPAT"] = 10 - 5 * z
    d["PPSOC"] = 4 + 10 * z
    d["PPFAM"] = d["PPSOC"] * 0.3
    d["PPMINI"] = d["PPSOC"] * 0.35
    d["PPLOGT"] = d["PPSOC"] - d["PPFAM"] - d["PPMINI"]
    d["PIMPOT"] = 100 - (d["PACT"] + d["PPEN"] + d["PPAT"] + d["PPSOC"])
    d["TP60"] = 10 + 15 * z
    for i, f in enumerate((1.6, 1.3, 1.05, 0.95, 0.7, 0.6), start=1):
        d[f"TP60AGE{i}"] = d["TP60"] * f
    d["TP60TOL1"] = d["TP60"] * 0.35
    d["TP60TOL2"] = d["TP60"] * 1.9
    return d


def _filo_format(col: str, v: float | None) -> str:
    if v is None:
        return ""
    if col.startswith(("NBMEN", "NBPERS")):
        return fr_number(round(v), 0, thousands=False)
    if col.startswith("NBUC"):
        return fr_number(v, 1, thousands=False)
    if col.startswith(("S80S20", "GI")):
        return fr_number(v, 3, thousands=False)
    if col == "RD" or col.startswith(("P", "TP60")):
        return fr_number(v, 1, thousands=False)
    return fr_number(round(v / 10) * 10, 0, thousands=False)


def _files_filosofi(w: World, rnd: _Rand) -> dict[str, bytes]:
    yy = f"{FILO_YEAR % 100:02d}"
    groups: dict[str, list[tuple[str, str, list[Commune]]]] = {
        "COM": [(c.code, c.name, [c]) for c in w.communes],
        "EPCI": [(s, n, [c for c in w.communes if c.epci == s]) for s, n, _ in w.epcis],
        "DEP": [(d, n, [c for c in w.communes if c.dep == d]) for d, n, _, _ in DEPARTEMENTS],
        "REG": [(REGION_CODE, REGION_NAME, list(w.communes))],
    }
    noise = {c.code: rnd.uniform(-0.04, 0.04) for c in w.communes}
    out = {}
    for kind, template in (("DISP", FILO_DISP_COLUMNS), ("DISP_PAUVRES", FILO_PAUVRES_COLUMNS)):
        header = template.format(yy=yy).split(";")
        for level in FILO_LEVELS:
            rows = [header]
            if level == "METROPOLE":
                entries = [("1", "France métropolitaine", 62_900_000, 0.42, False)]
            else:
                entries = []
                for code, name, members in groups[level]:
                    pop = sum(c.population for c in members)
                    z = sum(c.population * (c.deprivation + noise[c.code]) for c in members) / pop
                    small = level == "COM" and pop / (2.15 + 0.3 * z) < FILO_SMALL_HOUSEHOLDS
                    entries.append((code, name, pop, z, small))
            for code, name, pop, z, small in entries:
                prof = _filo_profile(pop, z)
                row = [code, name]
                for col in header[2:]:
                    key = col[:-2] if col.endswith(yy) and col not in ("RD", "Q3_Q1") else col
                    keep = not small or key in ("NBMEN", "NBPERS", "NBUC", "Q2")
                    row.append(_filo_format(col, prof.get(key) if keep else None))
                rows.append(row)
            out[f"FILO{FILO_YEAR}_{kind}_{level}.csv"] = _csv(rows, ";", CRLF, bom=True, final_eol=False)
    return out


# ---- DREES APL (xlsx) ------------------------------------------------------------------------
def _files_apl(w: World, rnd: _Rand) -> dict[str, bytes]:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    base = {}
    for c in w.communes:
        if c.role:
            base[c.code] = rnd.uniform(3.4, 4.8)
        else:
            base[c.code] = rnd.uniform(1.4, 4.2) if rnd.chance(0.85) else rnd.uniform(0.9, 1.6)
    wb = Workbook()
    wb.remove(wb.active)
    for year in APL_YEARS:
        ws = wb.create_sheet(f"APL {year}")
        ws.append([f"Accessibilité potentielle localisée (APL) aux médecins généralistes, {year}"])
        ws.append(["Données fictives de démonstration (Atlas ASV) au format des fichiers de la DREES"])
        ws.append([f"Champ : {REGION_NAME} (territoire imaginaire)"])
        ws.append(["Unité : consultations accessibles par an et par habitant standardisé"])
        ws.append(["Source : jeu fictif généré par Atlas ASV ; aucune donnée réelle"])
        ws.append([])
        ws.append(["Lecture : une APL de 3,5 signifie 3,5 consultations accessibles par an et par habitant."])
        ws.append([])
        ws.append(APL_COLUMNS)
        ws.append([None, None] + [APL_UNIT] * 4 + ["Nombre d'habitants standardisés", "Nombre d'habitants"])
        total_std = total = 0
        for c in w.communes:
            apl65 = round(base[c.code] * (1 + 0.025 * (year - 2023)) * (1 + rnd.uniform(-0.04, 0.04)), 3)
            std = round(c.population * rnd.uniform(0.92, 1.08))
            total_std, total = total_std + std, total + c.population
            ws.append([c.code, c.name, round(apl65 * 1.08, 3), apl65, round(apl65 * 0.9, 3), round(apl65 * 0.82, 3),
                       std, c.population])
        ws.append(["Total", None, None, None, None, None, total_std, total])
    wb.properties.creator = "Atlas ASV (jeu fictif)"
    wb.properties.lastModifiedBy = None
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
        ExcelWriter(wb, archive).write_data()
    # re-pack with fixed entry dates: zip entries otherwise carry the current time
    src = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    final = io.BytesIO()
    with zipfile.ZipFile(final, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_STORED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return {FILES["apl"]: final.getvalue()}
