/* Client-side styling for dash-leaflet layers (referenced through
   dash_extensions.javascript.Namespace("atlas", ...)). Geometry is sent once;
   indicator and class changes only change `hideout`. */
window.atlas = Object.assign({}, window.atlas, {
  util: {
    escape: function (s) {
      return String(s === null || s === undefined ? "" : s)
        .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
    },
    /* {code: position} of a list of codes, computed once per list. */
    _positions: new WeakMap(),
    positions: function (codes) {
      const cache = window.atlas.util._positions;
      let idx = cache.get(codes);
      if (!idx) {
        idx = {};
        codes.forEach(function (c, i) { idx[c] = i; });
        cache.set(codes, idx);
      }
      return idx;
    }
  },
  choropleth: {
    /* Style data (the layer's hideout, then what components.maps.live_style sends), either
         compact: {codes: [code, ...], cls: "01s2m...", colors: [..], tip: "/tooltip/<page>?<view>",
                   selected: code}   one character per code: its class, "s" secret, "m"/"n" none,
                                     "u" unknown (no registry loaded there: grey, never a class)
         or keyed: {classes: {code: i}, colors: [..], status: {code: "secret"|"missing"|"unknown"},
                    tooltips: {code: [lines]}, selected: code}
       or an outline: {outline: true, color, weight, dash}. */
    classOf: function (h, code) {
      if (typeof h.cls === "string" && Array.isArray(h.codes)) {
        const i = window.atlas.util.positions(h.codes)[code];
        const ch = i === undefined ? "m" : h.cls.charAt(i);
        if (ch >= "0" && ch <= "9") { return {cls: ch.charCodeAt(0) - 48, apart: null}; }
        return {cls: null, apart: ch === "s" ? "secret" : (ch === "u" ? "unknown" : "missing")};
      }
      const st = (h.status || {})[code];
      const cls = (h.classes || {})[code];
      return {cls: (cls === undefined || st) ? null : cls, apart: st || (cls === undefined ? "missing" : null)};
    },
    style: function (feature, context) {
      const h = window.atlas.live.hideout(context);
      const code = feature.properties.code;
      const style = {weight: 1, color: "#333333", opacity: 0.9, fillOpacity: 0.85, dashArray: null};
      if (h.outline) {
        return {weight: h.weight || 1.2, color: h.color || "#555555", fill: false, dashArray: h.dash || null};
      }
      const c = window.atlas.choropleth.classOf(h, code);
      if (c.apart === "secret") {
        style.fillColor = "#9e9e9e"; style.dashArray = "3 3";
      } else if (c.apart === "unknown") {
        style.fillColor = "#d9d9d9"; style.fillOpacity = 0.75; style.color = "#5f5f5f"; style.dashArray = "1 4";
      } else if (c.apart || c.cls === null) {
        style.fillColor = "#ffffff"; style.fillOpacity = 0.6; style.dashArray = "2 4";
      } else {
        style.fillColor = (h.colors || [])[c.cls] || "#cccccc";
      }
      if (h.selected && h.selected === code) {
        style.weight = 4; style.color = "#000000";
      }
      return style;
    },
    /* Tooltip lines: in the style data (keyed form), or fetched from h.tip when the tooltip
       opens, once per view and shape (the answer is data: escaped here). */
    lines: {},
    tipUrl: function (h, code) {
      return h.tip + (h.tip.indexOf("?") >= 0 ? "&" : "?") + "code=" + encodeURIComponent(code);
    },
    tooltip: function (feature, h, layer) {
      const esc = window.atlas.util.escape;
      const code = feature.properties.code;
      let lines = ((h && h.tooltips) || {})[code];
      let html = "<strong>" + esc(feature.properties.name) + "</strong>";
      if (!lines && h && typeof h.tip === "string") {
        const ch = window.atlas.choropleth;
        const url = ch.tipUrl(h, code);
        lines = ch.lines[url];
        if (lines === undefined) {
          ch.lines[url] = null;
          fetch(url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : {lines: []}; })
            .then(function (d) {
              ch.lines[url] = (d && Array.isArray(d.lines)) ? d.lines : [];
              if (layer && layer.isTooltipOpen && layer.isTooltipOpen()) { layer.getTooltip().update(); }
            }).catch(function () { delete ch.lines[url]; });
        }
        if (!lines) { return html + '<br><span class="atlas-tooltip-wait">…</span>'; }
      }
      if (lines && lines.length) {
        html += "<br>" + lines.map(esc).join("<br>");
      }
      return html;
    },
    onEachFeature: function (feature, layer, context) {
      window.atlas.live.register(context, feature, layer);
      window.atlas.specks.watch(layer);
      /* Content built when the tooltip opens, from the latest style data: a restyle does not
         rebuild (and escape) 1,600 tooltips that nobody may open. */
      layer.bindTooltip(function (l) {
        return window.atlas.choropleth.tooltip(l.feature, window.atlas.live.hideout(context), l);
      }, {sticky: true, className: "atlas-tooltip"});
      if (layer.getElement && layer.getElement()) {
        layer.getElement().setAttribute("aria-label", String(feature.properties.name));
      }
    }
  },
  points: {
    /* Actions as small circles; hideout.color by theme axis. */
    pointToLayer: function (feature, latlng, context) {
      const h = (context && context.hideout) || {};
      const col = (h.colors || {})[feature.properties.axis] || "#1b4f72";
      return L.circleMarker(latlng, {radius: 6, weight: 1, color: "#ffffff", fillColor: col, fillOpacity: 0.9});
    },
    onEachFeature: function (feature, layer) {
      const esc = window.atlas.util.escape;
      const p = feature.properties;
      if (p && p.title !== undefined) {
        layer.bindTooltip("<strong>" + esc(p.title) + "</strong><br>" + esc(p.detail || ""),
                          {className: "atlas-tooltip"});
      }
    }
  }
});

/* Live restyling. dash-leaflet 1.1.3 re-creates every shape of a GeoJSON layer when its
   `hideout` changes (clearLayers + addData): about 2 s for 1,600 QPVs on this machine. A page
   that restyles often keeps the layer's hideout fixed and sends the new style data to a
   dcc.Store instead (components/maps.py: live_style); the clientside callback there calls
   atlas.live.apply, which restyles the existing shapes and their tooltips in place. Shapes
   created later (new scope, overlay re-checked) read the latest style data too. */
window.atlas = Object.assign({}, window.atlas, {
  live: {
    styles: {},     /* layer id -> latest style data (same shape as the layer's hideout) */
    layers: {},     /* layer id -> {code: {layer, style: "atlas.x.style"}} */
    key: function (context) {
      const id = context && context.id;
      return typeof id === "string" ? id : null;
    },
    hideout: function (context) {
      const k = window.atlas.live.key(context);
      return (k && window.atlas.live.styles[k]) || (context && context.hideout) || {};
    },
    base: {},       /* layer id -> the hideout given in the layout */
    register: function (context, feature, layer) {
      const k = window.atlas.live.key(context);
      const ref = context && context.style && context.style.variable;
      if (!k || !ref || !feature.properties || feature.properties.code === undefined) { return; }
      if (!(k in window.atlas.live.base)) { window.atlas.live.base[k] = context.hideout || {}; }
      (window.atlas.live.layers[k] = window.atlas.live.layers[k] || {})[feature.properties.code] =
        {layer: layer, style: ref};
    },
    resolve: function (path) {
      return String(path).split(".").reduce(function (o, p) { return o ? o[p] : undefined; }, window);
    },
    /* data: keys to change in the layer's style data (a full style, or e.g. {selected}). */
    apply: function (layerId, data) {
      const live = window.atlas.live;
      if (!layerId || !data) { return 0; }
      live.styles[layerId] = Object.assign({}, live.styles[layerId] || live.base[layerId] || {}, data);
      const reg = live.layers[layerId] || {};
      const ctx = {id: layerId, hideout: live.styles[layerId]};
      let n = 0;
      Object.keys(reg).forEach(function (code) {
        const entry = reg[code];
        const fn = live.resolve(entry.style);
        const layer = entry.layer;
        if (typeof fn !== "function" || !layer.feature) { return; }
        layer._atlasSpeck = null;          /* the new style is the one a speck gives back */
        layer.setStyle(fn(layer.feature, ctx));
        window.atlas.specks.fit(layer);
        if (layer.isTooltipOpen && layer.isTooltipOpen()) {
          layer.getTooltip().update();     /* lazy content (onEachFeature): rebuilt from the new data */
        }
        n += 1;
      });
      return n;
    }
  }
});

/* Readable at every zoom. A QPV is a few hundred metres wide: at a regional zoom its polygon is a
   speck of one or two pixels. Whenever a shape drawn by a choropleth style would be narrower than
   MIN_PX on screen, it is drawn as a disc in its class colour (a thick stroke of its fill colour
   around the speck, so the shape still answers clicks, focus and tooltips); from the zoom where it
   reads, it is its polygon again. Re-checked after every zoom and every restyle. The legends say so. */
window.atlas = Object.assign({}, window.atlas, {
  specks: {
    MIN_PX: 8,
    watched: new WeakSet(),
    /* A disc's diameter in px: its area proportional to the QPV's population where known
       (10 px for 5,000 inhabitants, between MIN_PX and 24 px: the smallest stay readable);
       10 px where it is not known. */
    size: function (feature) {
      const pop = feature && feature.properties && feature.properties.pop;
      if (typeof pop !== "number" || !(pop > 0)) { return window.atlas.specks.MIN_PX + 2; }
      return Math.max(window.atlas.specks.MIN_PX, Math.min(24, Math.round(10 * Math.sqrt(pop / 5000))));
    },
    width: function (layer) {
      const map = layer._map;
      if (!map || !layer.getBounds) { return Infinity; }
      const b = layer.getBounds();
      const a = map.latLngToLayerPoint(b.getNorthWest()), c = map.latLngToLayerPoint(b.getSouthEast());
      return Math.max(Math.abs(c.x - a.x), Math.abs(c.y - a.y));
    },
    fit: function (layer) {
      const sp = window.atlas.specks;
      if (!layer._map || !layer.options || layer.options.fill === false) { return; }
      const w = sp.width(layer), small = w < sp.MIN_PX;
      if (small) {
        if (!layer._atlasSpeck) {
          layer._atlasSpeck = {weight: layer.options.weight, color: layer.options.color,
                               opacity: layer.options.opacity, dashArray: layer.options.dashArray};
        }
        // a style may name its disc's colour (speckColor: Couverture, whose fills are patterns)
        let fill = layer.options.speckColor || layer.options.fillColor;
        if (fill && String(fill).indexOf("url(") === 0) { fill = null; }     /* a pattern: no single colour */
        const usable = fill && fill !== "#ffffff";
        const selected = (layer._atlasSpeck.weight || 0) >= 4;
        // the disc is the speck plus its stroke: the stroke makes up the diameter the population asks
        layer.setStyle({weight: Math.max(2, sp.size(layer.feature) - w), color: selected ? "#000000" : (usable ? fill : "#6b6b6b"),
                        opacity: 1, dashArray: null,
                        lineJoin: "round", lineCap: "round"});
        layer._atlasSpeck.shown = true;
      } else if (layer._atlasSpeck && layer._atlasSpeck.shown) {
        const keep = layer._atlasSpeck;
        layer._atlasSpeck = null;
        layer.setStyle({weight: keep.weight, color: keep.color, opacity: keep.opacity, dashArray: keep.dashArray});
      }
      const el = layer.getElement && layer.getElement();
      if (el) { el.classList.toggle("atlas-speck", small); }
    },
    refresh: function (map) {
      map.eachLayer(function (l) {
        if (l.feature && l._atlasWatched) { window.atlas.specks.fit(l); }
      });
    },
    watch: function (layer) {
      layer._atlasWatched = true;
      layer.on("add", function () {
        const map = layer._map;
        if (map && !window.atlas.specks.watched.has(map)) {
          window.atlas.specks.watched.add(map);
          map.on("zoomend", function () { window.atlas.specks.refresh(map); });
        }
        window.atlas.specks.fit(layer);
      });
    }
  }
});

/* Couverture ASV page: QPVs by coverage (fills with SVG patterns, so the categories
   do not rest on colour alone), scheme territories as outlines, ARS GP zoning. */
window.atlas = Object.assign({}, window.atlas, {
  coverage: {
    /* hideout: {cats: {code: 'asv'|'cls'|'none'|'unknown'}, styles: {cat: {fill, color, dash, weight}},
                 tooltips: {code: [lines]}, selected: code}. A QPV the server did not categorise is
       drawn as unknown, never as "none". */
    style: function (feature, context) {
      const h = window.atlas.live.hideout(context);
      const code = feature.properties.code;
      const cat = (h.cats || {})[code] || "unknown";
      const s = (h.styles || {})[cat] || {};
      const style = {weight: s.weight || 1.2, color: s.color || "#333333", opacity: 1,
                     dashArray: s.dash || null, fillColor: s.fill || "#ffffff", fillOpacity: 0.9,
                     speckColor: s.speck || null};       /* its disc at small scale (atlas.specks) */
      if (h.selected && h.selected === code) {
        style.weight = 4; style.color = "#000000";
      }
      return style;
    },
    /* hideout: {color, dash, weight, selected: scheme_id, tooltips: {scheme_id: [lines]}} */
    schemeStyle: function (feature, context) {
      const h = (context && context.hideout) || {};
      const sel = h.selected && h.selected === feature.properties.code;
      return {color: h.color || "#1b4f72", weight: sel ? 5 : (h.weight || 2.5), opacity: 1,
              dashArray: h.dash || null, fillColor: h.color || "#1b4f72", fillOpacity: sel ? 0.2 : 0.06};
    },
    /* hideout: {zones: {code: 'ZIP'|'ZAC'}, styles: {ZIP: {color, dash, weight}, ...}} */
    zoningStyle: function (feature, context) {
      const h = (context && context.hideout) || {};
      const z = (h.zones || {})[feature.properties.code];
      const s = z ? (h.styles || {})[z] : null;
      if (!s) {
        return {stroke: false, fill: false};
      }
      return {color: s.color, weight: s.weight || 3, dashArray: s.dash || null, opacity: 1, fill: false};
    }
  }
});

/* SVG fill patterns referenced as fillColor "url(#atlas-pat-...)" by the styles above. */
(function () {
  function addPatterns() {
    if (document.getElementById("atlas-svg-patterns")) {
      return;
    }
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("id", "atlas-svg-patterns");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    svg.style.position = "absolute";
    svg.innerHTML =
      '<defs>' +
      '<pattern id="atlas-pat-cls" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)">' +
      '<rect width="7" height="7" fill="#d1e5f0"></rect><rect width="3" height="7" fill="#2c7bb6"></rect></pattern>' +
      '<pattern id="atlas-pat-none" patternUnits="userSpaceOnUse" width="6" height="6">' +
      '<rect width="6" height="6" fill="#fddbc7"></rect><circle cx="3" cy="3" r="1.4" fill="#b2182b"></circle></pattern>' +
      '</defs>';
    document.body.appendChild(svg);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addPatterns);
  } else {
    addPatterns();
  }
})();

/* Inégalités page (pages/inegalites.py): the shared choropleth tooltip, plus the QPV code
   and name on each shape's SVG element (aria-label for screen readers, data-code for
   tests). Names are set as attributes, never parsed as HTML. */
window.atlas.qpvmap = {
  onEachFeature: function (feature, layer, context) {
    window.atlas.choropleth.onEachFeature(feature, layer, context);
    layer.on("add", function () {
      const el = layer.getElement && layer.getElement();
      if (!el) { return; }
      el.setAttribute("data-code", String(feature.properties.code));
      el.setAttribute("aria-label", String(feature.properties.name));
      /* keyboard: Tab reaches each QPV, Enter or Space selects it like a click */
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "button");
      el.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault();
          const c = layer.getBounds ? layer.getBounds().getCenter() : null;
          layer.fire("click", {latlng: c, originalEvent: ev}, true);
        }
      });
    });
  }
};

/* Actions page (pages/actions.py, components/action_map.py): the server sends, for the map's
   view, clusters (properties.cluster, point_count, bbox) and single actions. Clusters are drawn
   as translucent rings so that the density colour of the QPV underneath stays visible (the count
   is a number, not a colour); a click on one zooms to its extent. */
window.atlas.actions = {
  /* The points URL for a view: its zoom and its bounds rounded out to whole 256-pixel tiles, so
     that a small pan asks the same URL (revalidated by ETag, no new computation). */
  pointsUrl: function (query, zoom, bounds, fmt) {
    if (zoom === null || zoom === undefined || !bounds || !bounds[0] || !bounds[1]) { return null; }
    const z = Math.max(0, Math.min(20, Math.round(zoom)));
    const s = 256 * Math.pow(2, z);
    const px = function (lon) { return (lon + 180) / 360 * s; };
    const py = function (lat) {
      const t = Math.sin(Math.max(-85.05, Math.min(85.05, lat)) * Math.PI / 180);
      return (0.5 - Math.log((1 + t) / (1 - t)) / (4 * Math.PI)) * s;
    };
    const lon = function (x) { return x / s * 360 - 180; };
    const lat = function (y) { return 180 / Math.PI * Math.atan(Math.sinh(Math.PI * (1 - 2 * y / s))); };
    const clampX = function (x) { return Math.max(0, Math.min(s, x)); };
    const x0 = clampX(Math.floor(px(bounds[0][1]) / 256) * 256), x1 = clampX(Math.ceil(px(bounds[1][1]) / 256) * 256);
    const y0 = clampX(Math.floor(py(bounds[1][0]) / 256) * 256), y1 = clampX(Math.ceil(py(bounds[0][0]) / 256) * 256);
    const bbox = [lon(x0), lat(y1), lon(x1), lat(y0)].map(function (v) { return v.toFixed(5); }).join(",");
    return "/geo/actions.json?" + (query ? query + "&" : "") + "z=" + z + "&bbox=" + bbox + "&v=" + fmt;
  },
  clusterToLayer: function (feature, latlng) {
    const n = feature.properties.point_count || 0;
    const size = n < 10 ? 26 : (n < 50 ? 32 : (n < 1000 ? 38 : 44));
    const icon = L.divIcon({
      html: "<span>" + window.atlas.util.escape(feature.properties.point_count_abbreviated || n) + "</span>",
      className: "atlas-cluster", iconSize: L.point(size, size)
    });
    return L.marker(latlng, {icon: icon, title: n + " actions (cliquer pour zoomer)", keyboard: true});
  },
  pointToLayer: function (feature, latlng, context) {
    if (feature.properties && feature.properties.cluster) {
      return window.atlas.actions.clusterToLayer(feature, latlng);
    }
    return window.atlas.points.pointToLayer(feature, latlng, context);
  },
  onEachFeature: function (feature, layer) {
    const p = feature.properties || {};
    if (p.cluster) {
      layer.on("click", function (e) {
        const map = e.target._map, b = p.bbox;
        if (!map || !b) { return; }
        const bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
        const z = map.getBoundsZoom(bounds);
        if (z > map.getZoom()) { map.flyToBounds(bounds, {padding: [30, 30]}); }
        else { map.setView(e.latlng, map.getZoom() + 2); }   /* actions drawn at one place: closer */
      });
      return;
    }
    window.atlas.points.onEachFeature(feature, layer);
  }
};

/* Layer control -> Dash store. In dash-leaflet 1.1.3 the LayersControl `overlays` prop is
   computed from stale props after the first toggle, so a page that keeps its visible layers
   in the URL reads the checkboxes instead: atlas.overlayStores maps a map's id to the
   dcc.Store that receives the names of the checked overlays. */
window.atlas = Object.assign({}, window.atlas, {
  overlayStores: Object.assign({"cov-map": "cov-layers"}, (window.atlas || {}).overlayStores)
});
document.addEventListener("change", function (e) {
  const input = e.target;
  if (!input || !input.classList || !input.classList.contains("leaflet-control-layers-selector")) {
    return;
  }
  const map = input.closest(".leaflet-container");
  const store = map && map.id && window.atlas.overlayStores[map.id];
  if (!store || !window.dash_clientside || !window.dash_clientside.set_props) {
    return;
  }
  const names = Array.from(map.querySelectorAll(".leaflet-control-layers-overlays label"))
    .filter(function (l) { const i = l.querySelector("input"); return i && i.checked; })
    .map(function (l) { return l.textContent.trim(); });
  window.dash_clientside.set_props(store, {data: names});
});

/* A map has drawn its shapes: resolves when the map's overlay panes hold shapes and their number
   has not changed for a few frames (or after `maxMs`), so that what waits on it (the Actions page's
   charts, components/charts.py: defer_graphs) does not compete with the map's first drawing. */
window.atlas.afterMap = function (mapId, maxMs) {
  const limit = performance.now() + (maxMs || 4000);
  return new Promise(function (resolve) {
    let last = -1, stable = 0;
    (function check() {
      const n = document.querySelectorAll("#" + mapId + " .leaflet-pane path").length;
      stable = (n > 0 && n === last) ? stable + 1 : 0;
      last = n;
      if (stable >= 5 || performance.now() > limit) { resolve(n); return; }
      requestAnimationFrame(check);
    })();
  });
};

/* A QPV chosen in a table far below the map: bring the map back into view when less than half
   of it is visible, and the QPV into the map's view when it lies outside (same zoom). */
window.atlas.reveal = function (mapId, layerId, code) {
  const el = document.getElementById(mapId);
  if (!el) { return false; }
  const r = el.getBoundingClientRect();
  const vh = window.innerHeight || document.documentElement.clientHeight;
  const shown = Math.min(vh, r.bottom) - Math.max(0, r.top);
  if (shown < Math.min(r.height, vh) / 2) { el.scrollIntoView({block: "start"}); }
  const entry = ((window.atlas.live && window.atlas.live.layers[layerId]) || {})[code];
  const layer = entry && entry.layer, map = layer && layer._map;
  if (map && layer.getBounds) {
    const b = layer.getBounds();
    if (b.isValid() && !map.getBounds().contains(b)) { map.panTo(b.getCenter()); }
  }
  return true;
};
