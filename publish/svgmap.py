"""Static SVG maps (portrait PDF, offline bundle): no JavaScript library, no tiles, no network.

Geometry is projected with a local equirectangular projection around the map's centre
(x = lon·cos(lat0), y = lat, in metres), accurate to well under 1 % at the scale of a
département, which is enough for the drawn scale bar. Every text (names, tooltips, labels)
is escaped; each shape carries a <title> (the browser's own tooltip) and may link to a page.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

import shapely

R = 6371008.8
PATTERNS = """<defs>
<pattern id="pat-secret" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#d9d9d9"/><rect width="3" height="6" fill="#9e9e9e"/></pattern>
<pattern id="pat-cls" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)">
<rect width="7" height="7" fill="#d1e5f0"/><rect width="3" height="7" fill="#2c7bb6"/></pattern>
<pattern id="pat-none" patternUnits="userSpaceOnUse" width="6" height="6">
<rect width="6" height="6" fill="#fddbc7"/><circle cx="3" cy="3" r="1.4" fill="#b2182b"/></pattern>
</defs>"""


@dataclass
class Shape:
    geometry: object                      # shapely geometry in lon/lat
    fill: str = "none"                    # colour or "url(#pat-...)"
    stroke: str = "#333333"
    width: float = 1.0
    dash: str | None = None
    title: str | None = None              # tooltip text (escaped here)
    href: str | None = None               # relative link (escaped here)
    opacity: float = 1.0


@dataclass
class Layer:
    shapes: list[Shape] = field(default_factory=list)
    name: str = ""


class Projection:
    def __init__(self, bounds, width: float, height: float | None = None, pad: float = 12):
        minx, miny, maxx, maxy = bounds
        self.lon0, self.lat0 = (minx + maxx) / 2, (miny + maxy) / 2
        self.k = math.cos(math.radians(self.lat0))
        x0, y0 = self._m(minx, miny)
        x1, y1 = self._m(maxx, maxy)
        span_x, span_y = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        self.width = width
        if height is None:
            height = min(max((width - 2 * pad) * span_y / span_x + 2 * pad, 200), width * 1.3)
        self.height = height
        self.scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)   # px per metre
        self.ox = pad + ((width - 2 * pad) - span_x * self.scale) / 2 - x0 * self.scale
        self.oy = pad + ((height - 2 * pad) - span_y * self.scale) / 2 + y1 * self.scale

    def _m(self, lon, lat):
        return (math.radians(lon - self.lon0) * R * self.k, math.radians(lat - self.lat0) * R)

    def xy(self, lon, lat):
        x, y = self._m(lon, lat)
        return self.ox + x * self.scale, self.oy - y * self.scale


def _ring(coords, proj: Projection) -> str:
    pts = [proj.xy(x, y) for x, y in coords]
    if not pts:
        return ""
    out = [f"M{pts[0][0]:.1f} {pts[0][1]:.1f}"]
    prev = pts[0]
    for x, y in pts[1:]:
        if abs(x - prev[0]) < 0.05 and abs(y - prev[1]) < 0.05:
            continue
        out.append(f"L{x:.1f} {y:.1f}")
        prev = (x, y)
    return "".join(out) + "Z"


def path_data(geom, proj: Projection) -> str:
    """SVG path data of a (Multi)Polygon or (Multi)LineString."""
    if geom is None or geom.is_empty:
        return ""
    parts = []
    for g in getattr(geom, "geoms", [geom]):
        if g.geom_type == "Polygon":
            parts.append(_ring(g.exterior.coords, proj))
            parts.extend(_ring(r.coords, proj) for r in g.interiors)
        elif g.geom_type in ("LineString", "LinearRing"):
            parts.append(_ring(g.coords, proj)[:-1])
        elif g.geom_type == "GeometryCollection":
            parts.append(path_data(g, proj))
    return "".join(parts)


def nice_length(max_m: float) -> float:
    """The largest 1-2-5 × 10^n length not above max_m."""
    if max_m <= 0:
        return 0
    p = 10 ** math.floor(math.log10(max_m))
    for m in (5, 2, 1):
        if m * p <= max_m:
            return m * p
    return p


def length_label(m: float) -> str:
    return f"{m / 1000:g} km".replace(".", ",") if m >= 1000 else f"{m:g} m"


def scale_bar(proj: Projection) -> str:
    length = nice_length(proj.width * 0.22 / proj.scale)
    px = length * proj.scale
    x, y = 14, proj.height - 14
    return (f'<g class="scale-bar" aria-label="Échelle : {escape(length_label(length))}">'
            f'<rect x="{x - 4}" y="{y - 20}" width="{px + 8:.1f}" height="26" fill="#ffffff" opacity="0.85"/>'
            f'<path d="M{x} {y - 6}V{y}H{x + px:.1f}V{y - 6}" fill="none" stroke="#222" stroke-width="1.5"/>'
            f'<text x="{x + 2}" y="{y - 8}" font-size="11" fill="#222">{escape(length_label(length))}</text></g>')


def svg_map(layers: list[Layer], bounds=None, width: float = 800, height: float | None = None,
            title: str = "Carte", desc: str | None = None, map_id: str = "carte") -> str:
    """An <svg> element drawing the layers (first layer at the bottom) with a scale bar."""
    if bounds is None:
        geoms = [s.geometry for lay in layers for s in lay.shapes if s.geometry is not None]
        bounds = shapely.union_all(geoms).bounds if geoms else (-5, 41, 10, 51)
    proj = Projection(bounds, width, height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(map_id)}" class="atlas-svg-map" '
           f'viewBox="0 0 {proj.width:.0f} {proj.height:.0f}" width="{proj.width:.0f}" height="{proj.height:.0f}" '
           f'role="img" aria-labelledby="{escape(map_id)}-title"'
           + (f' aria-describedby="{escape(map_id)}-desc"' if desc else "") + '>',
           f'<title id="{escape(map_id)}-title">{escape(title)}</title>'
           + (f'<desc id="{escape(map_id)}-desc">{escape(desc)}</desc>' if desc else ""),
           PATTERNS,
           f'<rect width="{proj.width:.0f}" height="{proj.height:.0f}" fill="#f4f1ea"/>',
           '<g class="map-content">']
    for lay in layers:
        out.append(f'<g class="layer" data-layer="{escape(lay.name)}">')
        for s in lay.shapes:
            d = path_data(s.geometry, proj)
            if not d:
                continue
            attrs = (f'd="{d}" fill="{escape(s.fill)}" stroke="{escape(s.stroke)}" stroke-width="{s.width:g}" '
                     f'fill-rule="evenodd" vector-effect="non-scaling-stroke"')
            if s.dash:
                attrs += f' stroke-dasharray="{escape(s.dash)}"'
            if s.opacity != 1:
                attrs += f' fill-opacity="{s.opacity:g}"'
            inner = f"<title>{escape(s.title)}</title>" if s.title else ""
            path = f"<path {attrs}>{inner}</path>"
            if s.href:
                path = f'<a href="{escape(s.href)}">{path}</a>'
            out.append(path)
        out.append("</g>")
    out.append("</g>")
    out.append(scale_bar(proj))
    out.append("</svg>")
    return "".join(out)


def legend_html(items: list[tuple[str, str, str]], title: str, note: str | None = None) -> str:
    """A legend like components.maps.legend: (fill, label, count) rows, readable without colour."""
    rows = []
    for fill, label, count in items:
        if fill.startswith("url(#"):
            sw = (f'<svg width="22" height="16" aria-hidden="true">{PATTERNS}<rect width="22" height="16" '
                  f'fill="{escape(fill)}" stroke="#333"/></svg>')
        elif fill == "missing":
            sw = ('<svg width="22" height="16" aria-hidden="true"><rect x="1" y="1" width="20" height="14" '
                  'fill="#ffffff" stroke="#333" stroke-dasharray="2 3"/></svg>')
        elif fill.startswith("line:"):
            color, _, dash = fill[5:].partition("|")
            sw = (f'<svg width="22" height="16" aria-hidden="true"><path d="M1 8H21" stroke="{escape(color)}" '
                  f'stroke-width="3"' + (f' stroke-dasharray="{escape(dash)}"' if dash else "") + '/></svg>')
        else:
            sw = (f'<svg width="22" height="16" aria-hidden="true"><rect x="1" y="1" width="20" height="14" '
                  f'fill="{escape(fill)}" stroke="#333"/></svg>')
        rows.append(f'<li>{sw}<span class="legend-label">{escape(label)}</span>'
                    f'<span class="legend-count">{escape(count)}</span></li>')
    note_html = f'<p class="legend-note">{escape(note)}</p>' if note else ""
    return (f'<div class="legend" role="group" aria-label="{escape(title)}"><div class="legend-title">'
            f'{escape(title)}</div><ul class="legend-list">{"".join(rows)}</ul>{note_html}</div>')
