"""Fictional INSEE census communal bases for the demo (etl/demo/), in the official layout:
base-cc-emploi-pop-active-YYYY.csv, base-cc-coupl-fam-men-YYYY.csv, base-cc-evol-struct-pop-YYYY.csv.

Counts per commune are drawn from its population and its deprivation score, with their own
random sequence (seeded from the demo's seed) so that adding these files changes no other demo
file. They give the demo's EPCI, départements and région census references (summed by
etl/loaders/census.py); the demo's départements are not metropolitan ones, so, as for a regional
extract, no France métropolitaine figure is built from them."""
from __future__ import annotations

CENSUS_YEAR = 2019
BASES = ("emploi-pop-active", "coupl-fam-men", "evol-struct-pop")
FILE_NAMES = [f"base-cc-{b}-{CENSUS_YEAR}.csv" for b in BASES]


def _num(v: float) -> str:
    """Census counts are weighted estimates: a point and up to 5 decimals, as INSEE writes them."""
    return f"{v:.5f}".rstrip("0").rstrip(".")


def census_files(communes, rand) -> dict[str, bytes]:
    """{file name: bytes} of the three bases for `communes` (objects with code, population,
    deprivation in [0, 1]); `rand()` returns floats in [0, 1)."""
    yy = f"{CENSUS_YEAR % 100:02d}"
    headers = {
        "emploi-pop-active": ["CODGEO", f"P{yy}_POP1564", f"P{yy}_H1564", f"P{yy}_F1564", f"P{yy}_ACT1564",
                              f"P{yy}_ACTOCC1564", f"P{yy}_HACTOCC1564", f"P{yy}_FACTOCC1564", f"P{yy}_CHOM1564"],
        "coupl-fam-men": ["CODGEO", f"C{yy}_MEN", f"C{yy}_MENPSEUL", f"C{yy}_MENFAM", f"C{yy}_FAM",
                          f"C{yy}_FAMMONO"],
        "evol-struct-pop": ["CODGEO", f"P{yy}_POP", f"P{yy}_POP0014", f"P{yy}_POP1529", f"P{yy}_POP3044",
                            f"P{yy}_POP4559", f"P{yy}_POP6074", f"P{yy}_POP7589", f"P{yy}_POP90P"],
    }
    rows = {b: [headers[b]] for b in BASES}
    for c in sorted(communes, key=lambda c: c.code):
        pop, z = float(c.population), float(c.deprivation)
        p1564 = pop * (0.62 + 0.04 * rand())
        f1564 = p1564 * (0.50 + 0.02 * rand())
        rate = 0.70 - 0.16 * z + 0.04 * (rand() - 0.5)
        frate = rate - 0.05 - 0.04 * z
        occ, focc = p1564 * rate, f1564 * frate
        act = occ / (0.90 - 0.08 * z)
        rows["emploi-pop-active"].append([c.code] + [_num(x) for x in (
            p1564, p1564 - f1564, f1564, act, occ, occ - focc, focc, act - occ)])
        men = pop / (2.1 + 0.3 * rand())
        fam = men * (0.62 - 0.05 * rand())
        rows["coupl-fam-men"].append([c.code] + [_num(x) for x in (
            men, men * (0.32 + 0.06 * z + 0.04 * rand()), men * 0.64, fam, fam * (0.14 + 0.12 * z))])
        old = 0.22 + 0.10 * rand() - 0.06 * z
        shares = [0.17 + 0.03 * z, 0.16, 0.18, 0.27 - old]
        rows["evol-struct-pop"].append([c.code] + [_num(x) for x in (
            pop, *(pop * s for s in shares), pop * old * 0.6, pop * old * 0.36, pop * old * 0.04)])
    return {f"base-cc-{b}-{CENSUS_YEAR}.csv": ("\r\n".join(";".join(r) for r in rows[b]) + "\r\n").encode("ascii")
            for b in BASES}
