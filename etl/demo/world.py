"""The fictional world: deterministic randomness, communes (Voronoi cells warped into
plausible shapes), EPCI, populations and QPVs of 2015 and 2024, checked for consistency."""
from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon

from .plan import LAT0, LON0, COMMUNE_NAMES, DEMO_BBOX, DEPARTEMENTS, EPCI_CORE_NAMES, EPCI_RURAL_NAMES, FICTION_MARKERS, GRID, HOST_DEPRIVATION, HOST_POPULATION, KM_PER_DEG_LAT, KM_PER_DEG_LON, QPV_EXITED_2015, QPV_PLAN, SECRET_QPV_2015, SEED


# --------------------------------------------------------------------------------------
# Deterministic randomness
# --------------------------------------------------------------------------------------
class _Rand:
    """Helpers built only on random.Random.random(), whose sequence is stable across
    Python versions (randrange, choice, shuffle and gauss are not guaranteed to be)."""

    def __init__(self, seed: int):
        self._r = random.Random(seed)

    def random(self) -> float:
        return self._r.random()

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self._r.random()

    def integer(self, a: int, b: int) -> int:
        """Integer in [a, b]."""
        return a + min(int(self._r.random() * (b - a + 1)), b - a)

    def pick(self, seq):
        return seq[self.integer(0, len(seq) - 1)]

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def shuffled(self, seq) -> list:
        out = list(seq)
        for i in range(len(out) - 1, 0, -1):
            j = self.integer(0, i)
            out[i], out[j] = out[j], out[i]
        return out

    def sample(self, seq, k: int) -> list:
        return self.shuffled(seq)[:k]

    def weighted(self, items, weights):
        total = float(sum(weights))
        x = self._r.random() * total
        acc = 0.0
        for item, w in zip(items, weights):
            acc += w
            if x < acc:
                return item
        return items[-1]

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        u1 = max(self._r.random(), 1e-12)
        u2 = self._r.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def _fold(text: str) -> str:
    """Lower case without accents, for sorting and name checks."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower())
                   if unicodedata.category(c) != "Mn")


def is_visibly_fictional(name: str) -> bool:
    folded = _fold(name)
    return any(m in folded for m in FICTION_MARKERS)


# --------------------------------------------------------------------------------------
# Geometry (built in kilometres around (LON0, LAT0), then converted to lon/lat)
# --------------------------------------------------------------------------------------
def _to_lonlat(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack([LON0 + c[:, 0] / KM_PER_DEG_LON, LAT0 + c[:, 1] / KM_PER_DEG_LAT]))


def _finish(geom_km):
    """km geometry -> valid lon/lat geometry on the 1e-5 degree grid."""
    g = shapely.set_precision(_to_lonlat(geom_km), GRID)
    if not g.is_valid or g.is_empty:
        raise RuntimeError("demo geometry became invalid on the coordinate grid")
    return g


def _warp_field(seed_rand: _Rand):
    """A smooth, small displacement field: applied to every vertex of the commune coverage,
    it bends the straight Voronoi edges while keeping shared edges shared."""
    waves = []
    for amp, wavelength in ((0.9, 26.0), (0.35, 9.0), (0.12, 3.2)):
        for _ in range(2):
            a = seed_rand.uniform(0, 2 * math.pi)
            k = 2 * math.pi / wavelength
            waves.append((amp * seed_rand.uniform(0.6, 1.0), k * math.cos(a), k * math.sin(a),
                          seed_rand.uniform(0, 2 * math.pi), seed_rand.uniform(0, 2 * math.pi)))

    def warp(coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords)
        for i, (x, y) in enumerate(coords.tolist()):
            dx = dy = 0.0
            for amp, kx, ky, p1, p2 in waves:
                t = kx * x + ky * y
                dx += amp * math.sin(t + p1)
                dy += amp * math.sin(t + p2)
            out[i, 0] = x + dx
            out[i, 1] = y + dy
        return out

    return warp


def _outline(rnd: _Rand) -> Polygon:
    """The région's coastline: a noisy, roughly oval shape about 120 km x 95 km."""
    harmonics = [(k, rnd.uniform(0.02, 0.09) / k ** 0.6, rnd.uniform(0, 2 * math.pi)) for k in range(2, 8)]
    harmonics += [(k, rnd.uniform(0.003, 0.012), rnd.uniform(0, 2 * math.pi)) for k in range(9, 23)]
    pts = []
    n = 220
    for i in range(n):
        th = 2 * math.pi * i / n
        r = 1.0 + sum(a * math.cos(k * th + p) for k, a, p in harmonics)
        pts.append((60.0 * r * math.cos(th), 47.0 * r * math.sin(th)))
    poly = Polygon(pts)
    if not poly.is_valid:
        raise RuntimeError("demo outline is not a simple polygon")
    return poly


def _seeds(rnd: _Rand, outline: Polygon, n: int, min_dist: float) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = outline.bounds
    inner = outline.buffer(-3.0)
    pts: list[tuple[float, float]] = []
    tries = 0
    while len(pts) < n:
        tries += 1
        if tries > 20000:
            raise RuntimeError("could not place the demo communes")
        x, y = rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)
        if not inner.contains(Point(x, y)):
            continue
        if all((x - a) ** 2 + (y - b) ** 2 >= min_dist ** 2 for a, b in pts):
            pts.append((x, y))
    return pts


def _voronoi_cells(seeds, outline: Polygon) -> list[Polygon]:
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=outline.buffer(50), ordered=True)
    out = []
    for cell in cells.geoms:
        c = cell.intersection(outline)
        if c.geom_type != "Polygon":  # keep the largest part (never happens with these seeds)
            c = max(getattr(c, "geoms", [c]), key=lambda g: g.area)
        out.append(c)
    return out


@dataclass
class Commune:
    idx: int
    name: str
    dep: str
    role: str | None
    seed_km: tuple[float, float]
    geom_km: Polygon
    code: str = ""
    epci: str = ""
    population: int = 0
    deprivation: float = 0.0
    geom: MultiPolygon | None = None


@dataclass
class Qpv:
    code: str
    name: str
    generation: str
    communes: list[str]                # INSEE codes, main commune first
    geom_km: Polygon
    status: str = ""                   # 2024: I / M / N
    predecessors: list[str] = field(default_factory=list)
    deprivation: float = 0.5
    population: int = 0
    secret: bool = False
    geom: MultiPolygon | None = None


def _blob(cx: float, cy: float, r: float, rnd: _Rand, harmonics=None) -> tuple[Polygon, list]:
    """A small irregular star-shaped polygon (always simple)."""
    if harmonics is None:
        harmonics = [(k, rnd.uniform(0.04, 0.22) / (k - 1), rnd.uniform(0, 2 * math.pi)) for k in (2, 3, 4, 5)]
    n = rnd.integer(14, 24)
    pts = []
    for i in range(n):
        th = 2 * math.pi * (i + rnd.uniform(-0.3, 0.3)) / n
        rr = r * (1.0 + sum(a * math.cos(k * th + p) for k, a, p in harmonics)) * rnd.uniform(0.93, 1.07)
        pts.append((cx + rr * math.cos(th), cy + rr * math.sin(th)))
    return Polygon(pts), harmonics


# --------------------------------------------------------------------------------------
# The fictional world
# --------------------------------------------------------------------------------------
@dataclass
class World:
    communes: list[Commune]
    epcis: list[tuple[str, str, str]]          # (siren, name, dep)
    qpv24: list[Qpv]
    qpv15: list[Qpv]
    region_geom: Polygon
    rnd: _Rand                                 # the generator, to go on drawing after the geography

    def commune(self, code: str) -> Commune:
        return self._by_code[code]

    def __post_init__(self):
        self._by_code = {c.code: c for c in self.communes}


def _adjacency(geoms: list) -> dict[int, list[int]]:
    adj: dict[int, list[int]] = {i: [] for i in range(len(geoms))}
    tree = shapely.STRtree(geoms)
    for i, g in enumerate(geoms):
        for j in sorted(int(j) for j in tree.query(g)):
            if j != i and g.boundary.intersection(geoms[j].boundary).length > 0.05:
                adj[i].append(j)
    return adj


def _build_communes(rnd: _Rand) -> tuple[list[Commune], Polygon]:
    outline = _outline(rnd)
    seeds = _seeds(rnd, outline, 40, 11.0)
    for _ in range(2):  # Lloyd relaxation: more even commune sizes
        seeds = [tuple(c.centroid.coords[0]) for c in _voronoi_cells(seeds, outline)]
    cells = _voronoi_cells(seeds, outline)
    warp = _warp_field(rnd)
    cells = [shapely.transform(shapely.segmentize(c, 0.7), warp) for c in cells]
    seeds = [tuple(warp(np.array([s]))[0]) for s in seeds]
    outline_w = shapely.transform(shapely.segmentize(outline, 0.7), warp)

    # départements: nearest département centre
    centres = {d: (30.0 * math.cos(math.radians(a)), 26.0 * math.sin(math.radians(a)))
               for d, _, _, a in DEPARTEMENTS}
    deps = []
    for x, y in seeds:
        deps.append(min(centres, key=lambda d: (x - centres[d][0]) ** 2 + (y - centres[d][1]) ** 2))
    adj = _adjacency(cells)

    communes: list[Commune] = []
    for dep, _, _, _ in DEPARTEMENTS:
        members = [i for i in range(len(cells)) if deps[i] == dep]
        cx, cy = centres[dep]
        members.sort(key=lambda i: (seeds[i][0] - cx) ** 2 + (seeds[i][1] - cy) ** 2)
        names = COMMUNE_NAMES[dep]
        if len(members) > len(names):
            raise RuntimeError(f"not enough demo commune names for département {dep}")
        assigned: dict[int, tuple[str, str | None]] = {}
        chef = members[0]
        assigned[chef] = names[0]
        hosts = [n for n in names[1:] if n[1]]
        rest_names = [n for n in names[1:] if not n[1]]
        free = [i for i in members if i != chef]
        for name, role in hosts:
            if role == "MS":  # the suburb shares the longest border with Mont-Utopie
                cand = [j for j in adj[chef] if j in free]
                j = max(cand, key=lambda j: cells[chef].boundary.intersection(cells[j].boundary).length)
            else:  # another town, not adjacent to the chef-lieu
                cand = [j for j in free if j not in adj[chef]] or free
                j = cand[len(cand) // 2]
            assigned[j] = (name, role)
            free.remove(j)
        for i, n in zip(free, rest_names):
            assigned[i] = n
        for i in members:
            name, role = assigned[i]
            communes.append(Commune(i, name, dep, role, seeds[i], cells[i]))

    # INSEE-like codes: alphabetical order within the département
    for dep, _, _, _ in DEPARTEMENTS:
        mine = sorted((c for c in communes if c.dep == dep), key=lambda c: _fold(c.name))
        for n, c in enumerate(mine, start=1):
            c.code = f"{dep}{2 * n - 1:03d}"
    communes.sort(key=lambda c: c.code)
    return communes, outline_w


def _build_epcis(communes: list[Commune]) -> list[tuple[str, str, str]]:
    by_idx = {c.idx: c for c in communes}
    adj = _adjacency([by_idx[i].geom_km for i in sorted(by_idx)])
    order = sorted(by_idx)
    adj = {order[k]: [order[j] for j in v] for k, v in adj.items()}
    epcis = []
    rural = iter(EPCI_RURAL_NAMES)
    for dep, _, _, _ in DEPARTEMENTS:
        mine = [c for c in communes if c.dep == dep]
        chef = next(c for c in mine if c.role in ("MU", "BF", "PI"))
        core = {chef.idx} | {j for j in adj[chef.idx] if by_idx[j].dep == dep}
        groups = [sorted(core)]
        left = sorted(c.idx for c in mine if c.idx not in core)
        while left:  # connected components of the rest
            comp, stack = set(), [left[0]]
            while stack:
                i = stack.pop()
                if i in comp:
                    continue
                comp.add(i)
                stack += [j for j in adj[i] if j in left and j not in comp]
            if len(comp) < 3:  # too small: joins the core
                groups[0] = sorted(set(groups[0]) | comp)
            else:
                groups.append(sorted(comp))
            left = [i for i in left if i not in comp]
        for k, g in enumerate(groups):
            siren = f"2999{dep}{k + 1:03d}"
            name = EPCI_CORE_NAMES[dep] if k == 0 else next(rural)
            epcis.append((siren, name, dep))
            for i in g:
                by_idx[i].epci = siren
    return sorted(epcis)


def _populations(rnd: _Rand, communes: list[Commune]) -> None:
    for c in communes:
        if c.role:
            c.population = HOST_POPULATION[c.role]
            c.deprivation = HOST_DEPRIVATION[c.role]
        else:
            c.population = int(round(math.exp(rnd.uniform(math.log(350), math.log(9500)))))
            c.deprivation = rnd.uniform(0.02, 0.38)


def _place(rnd: _Rand, make, ok, what: str, tries: int = 400):
    for _ in range(tries):
        result = make()
        if ok(result):
            return result
    raise RuntimeError(f"could not place {what}")


def _build_qpvs(rnd: _Rand, communes: list[Commune]) -> tuple[list[Qpv], list[Qpv]]:
    by_role = {c.role: c for c in communes if c.role}
    placed24: list[Polygon] = []
    placed15: list[Polygon] = []
    specs = []  # (spec, geom24, [geoms15])

    def free24(g):
        return all(g.distance(o) > 0.2 for o in placed24)

    def free15(gs):
        return all(g.distance(o) > 0.2 for g in gs for o in placed15) and \
            all(a.distance(b) > 0.1 for i, a in enumerate(gs) for b in gs[i + 1:])

    for spec in QPV_PLAN:
        roles, name, status, preds = spec
        hosts = [by_role[r] for r in roles.split("+")]
        area = shapely.union_all([h.geom_km for h in hosts]).buffer(-0.12)
        big = hosts[0].population > 50_000
        if len(hosts) == 2:  # straddles the border of two communes
            border = hosts[0].geom_km.boundary.intersection(hosts[1].geom_km.boundary)
            line = max(getattr(border, "geoms", [border]), key=lambda g: g.length)

            def centre():
                p = line.interpolate(rnd.uniform(0.35, 0.65), normalized=True)
                return p.x, p.y
        else:
            sx, sy = hosts[0].seed_km

            def centre():
                d, a = rnd.uniform(0.4, 4.2 if big else 2.6), rnd.uniform(0, 2 * math.pi)
                return sx + d * math.cos(a), sy + d * math.sin(a)

        def make():
            cx, cy = centre()
            r = rnd.uniform(0.45, 0.85) if big else rnd.uniform(0.35, 0.6)
            g24, harm = _blob(cx, cy, r, rnd)
            g15 = []
            if status == "I":
                g15 = [g24]
            elif len(preds) == 1:  # modified perimeter: resized, shifted, re-drawn edges
                a = rnd.uniform(0, 2 * math.pi)
                s = rnd.uniform(0.08, 0.2) * r
                g15 = [_blob(cx + s * math.cos(a), cy + s * math.sin(a), r * rnd.uniform(0.8, 1.1), rnd, harm)[0]]
            elif len(preds) == 2:  # two 2015 QPVs merged into one
                a = rnd.uniform(0, math.pi)
                for sign in (1, -1):
                    g15.append(_blob(cx + sign * 0.55 * r * math.cos(a), cy + sign * 0.55 * r * math.sin(a),
                                     0.4 * r, rnd, [(2, 0.06, a), (3, 0.03, 2 * a)])[0])
            return g24, g15

        def ok(res):
            g24, g15 = res
            if not (area.contains(g24) and all(area.contains(g) for g in g15) and free24(g24) and free15(g15)):
                return False
            if len(hosts) == 2:
                return all(g24.intersection(h.geom_km).area > 0.25 * g24.area for h in hosts) and \
                    all(g.intersection(h.geom_km).area > 0.15 * g.area for g in g15 for h in hosts)
            return True

        g24, g15 = _place(rnd, make, ok, f"QPV {name}")
        placed24.append(g24)
        placed15.extend(g15)
        specs.append((spec, hosts, g24, g15))

    exited = []
    for role, name in QPV_EXITED_2015:
        host = by_role[role]
        area = host.geom_km.buffer(-0.12)
        sx, sy = host.seed_km

        def make():
            d, a = rnd.uniform(0.8, 3.0), rnd.uniform(0, 2 * math.pi)
            return _blob(sx + d * math.cos(a), sy + d * math.sin(a), rnd.uniform(0.3, 0.5), rnd)[0]

        g = _place(rnd, make, lambda g: area.contains(g) and free15([g]), f"QPV 2015 {name}")
        placed15.append(g)
        exited.append((name, [host], g))

    # codes: numbered per département in commune-code order, then plan order
    qpv24: list[Qpv] = []
    qpv15: list[Qpv] = []
    n24: dict[str, int] = {}
    n15: dict[str, int] = {}

    def code15(dep):
        n15[dep] = n15.get(dep, 0) + 1
        return f"QP0{dep}{n15[dep]:03d}"

    ordered = sorted(range(len(specs)), key=lambda k: (specs[k][1][0].code, k))
    for k in ordered:
        (roles, name, status, preds), hosts, g24, g15 = specs[k]
        dep = hosts[0].dep
        n24[dep] = n24.get(dep, 0) + 1
        codes = [h.code for h in hosts]
        z = max(0.02, min(1.0, hosts[0].deprivation * 0.35 + rnd.uniform(-0.05, 0.6)))
        q = Qpv(f"QN0{dep}{n24[dep]:02d}{status}", name, "2024", codes, g24, status=status, deprivation=z)
        for pname, pg in zip(preds, g15):
            p = Qpv(code15(dep), pname, "2015", codes if pg.intersection(hosts[-1].geom_km).area > 0 else codes[:1],
                    pg, deprivation=max(0.0, min(1.0, z + rnd.uniform(-0.06, 0.06))))
            q.predecessors.append(p.code)
            qpv15.append(p)
        qpv24.append(q)
    for name, hosts, g in exited:
        qpv15.append(Qpv(code15(hosts[0].dep), name, "2015", [hosts[0].code], g,
                         deprivation=rnd.uniform(0.12, 0.3)))
    for p in qpv15:
        dens = rnd.uniform(3500, 7500)
        p.population = int(min(9400, max(900, p.geom_km.area * dens)))
        if p.name == SECRET_QPV_2015:
            p.population = 847
            p.secret = True
    qpv15.sort(key=lambda q: q.code)
    return qpv24, qpv15


def build_world(seed: int = SEED) -> World:
    rnd = _Rand(seed)
    communes, outline = _build_communes(rnd)
    _populations(rnd, communes)
    epcis = _build_epcis(communes)
    qpv24, qpv15 = _build_qpvs(rnd, communes)
    for c in communes:
        c.geom = _multi(_finish(c.geom_km))
    for q in qpv24 + qpv15:
        q.geom = _multi(_finish(q.geom_km))
    world = World(communes, epcis, qpv24, qpv15, outline, rnd)
    _check_world(world)
    return world


def _multi(g):
    g = shapely.orient_polygons(g)
    return g if g.geom_type == "MultiPolygon" else MultiPolygon([g])


def _check_world(w: World) -> None:
    """Invariants the tests also check on the written files; failing here means the
    constants above need adjusting, never silently different output."""
    geoms = [c.geom for c in w.communes]
    if not shapely.coverage_is_valid(np.array(geoms, dtype=object)):
        raise RuntimeError("demo communes do not form a valid coverage")
    minx, miny, maxx, maxy = shapely.union_all(geoms).bounds
    if not (DEMO_BBOX[0] < minx and maxx < DEMO_BBOX[2] and DEMO_BBOX[1] < miny and maxy < DEMO_BBOX[3]):
        raise RuntimeError("demo région outside DEMO_BBOX")
    for dep, _, _, _ in DEPARTEMENTS:
        u = shapely.union_all([c.geom for c in w.communes if c.dep == dep])
        if u.geom_type != "Polygon":
            raise RuntimeError(f"demo département {dep} is not contiguous")
    for q in w.qpv24 + w.qpv15:
        host = shapely.union_all([w.commune(c).geom for c in q.communes])
        if not host.contains(q.geom):
            raise RuntimeError(f"demo QPV {q.code} is not inside its commune(s)")
