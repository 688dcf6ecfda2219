/* Client-side styling for dash-leaflet layers (referenced through
   dash_extensions.javascript.Namespace("atlas", ...)). Geometry is sent once;
   indicator and class changes only change `hideout`. */
window.atlas = Object.assign({}, window.atlas, {
  util: {
    escape: function (s) {
      return String(s === null || s === undefined ? "" : s)
        .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
    }
  },
  choropleth: {
    /* hideout: {classes: {code: i}, colors: [..], status: {code: 'secret'|'missing'},
                 selected: code, tooltips: {code: [lines]}, outline: bool} */
    style: function (feature, context) {
      const h = (context && context.hideout) || {};
      const code = feature.properties.code;
      const st = (h.status || {})[code];
      const cls = (h.classes || {})[code];
      const style = {weight: 1, color: "#333333", opacity: 0.9, fillOpacity: 0.85, dashArray: null};
      if (h.outline) {
        return {weight: h.weight || 1.2, color: h.color || "#555555", fill: false, dashArray: h.dash || null};
      }
      if (st === "secret") {
        style.fillColor = "#9e9e9e"; style.dashArray = "3 3";
      } else if (st === "missing" || cls === undefined || cls === null) {
        style.fillColor = "#ffffff"; style.fillOpacity = 0.6; style.dashArray = "2 4";
      } else {
        style.fillColor = (h.colors || [])[cls] || "#cccccc";
      }
      if (h.selected && h.selected === code) {
        style.weight = 4; style.color = "#000000";
      }
      return style;
    },
    onEachFeature: function (feature, layer, context) {
      const h = (context && context.hideout) || {};
      const code = feature.properties.code;
      const lines = (h.tooltips || {})[code];
      const esc = window.atlas.util.escape;
      let html = "<strong>" + esc(feature.properties.name) + "</strong>";
      if (lines && lines.length) {
        html += "<br>" + lines.map(esc).join("<br>");
      }
      layer.bindTooltip(html, {sticky: true, className: "atlas-tooltip"});
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
