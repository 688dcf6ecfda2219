/* Atlas ASV — exports and presentation (issue 5).

   Modes, from the page's query string at load time (classes on <html>, which React never touches):
     ?export=1   a finished figure: no navigation or controls; on a map page, only the map,
                 its legend(s), source line(s), notes and the page title are kept (prepare()).
     ?present=1  the same, large type, for a slide of the presentation (inside an iframe);
                 navigation keys are forwarded to the presentation player.
     ?print=1    screen preview of the print layout (fiche PDF).
   When the page, its maps and its charts are drawn, <html> gets the class "atlas-ready"
   (the server-side renderer waits for it).

   Also: an "Exporter" control on every map (PNG/PDF through /export/png and /export/pdf),
   the handler of the chart export buttons (components/export.py: POST /export/chart.<fmt>),
   CSV/XLSX buttons under simple HTML tables, and the presentation player's keyboard.
   Every text written into the page goes through textContent (never innerHTML). */
(function () {
  "use strict";
  var root = document.documentElement;
  var params = new URLSearchParams(window.location.search);
  var MODES = {"export": "atlas-export", "present": "atlas-present", "print": "atlas-print"};
  var mode = null;
  Object.keys(MODES).forEach(function (k) {
    if (params.get(k) === "1") { root.classList.add(MODES[k]); mode = mode || k; }
  });
  var FIGURE_MODES = {"export": true, "present": true};
  if (mode === "present" && window.parent !== window) { root.classList.add("atlas-embedded"); }

  function $all(sel, el) { return Array.prototype.slice.call((el || document).querySelectorAll(sel)); }
  function visible(el) { return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length)); }

  /* --- Readiness ------------------------------------------------------------------------ */
  function dashIdle() {
    var content = document.getElementById("page-content");
    return !!(content && content.children.length && !document.querySelector('[data-dash-is-loading="true"]'));
  }
  function mapsDrawn() {
    return $all(".leaflet-container").every(function (m) {
      return m.querySelector(".leaflet-overlay-pane path, .leaflet-marker-pane > *");
    });
  }
  function chartsDrawn() {
    return $all(".dash-graph").every(function (g) { return g.querySelector(".main-svg"); });
  }

  function whenReady(cb) {
    var start = Date.now(), idleSince = null, stable = 0;
    (function poll() {
      var now = Date.now();
      if (!dashIdle()) { idleSince = null; stable = 0; return setTimeout(poll, 150); }
      idleSince = idleSince || now;
      var waited = now - idleSince > 6000 || now - start > 25000;
      if ((mapsDrawn() && chartsDrawn()) || waited) {
        stable += 1;
        if (stable >= 3 || waited) { return cb(); }
      } else {
        stable = 0;
      }
      setTimeout(poll, 150);
    })();
  }

  /* --- Figure view (export / present) ----------------------------------------------------- */
  function figureRoot(map, container) {
    var el = map.parentElement;
    while (el && el !== container) {
      if (el.querySelector(".legend") && el.querySelector(".source-line")) { return el; }
      el = el.parentElement;
    }
    return null;
  }

  function hide(el) { el.classList.add("atlas-export-hidden"); }

  function prune(el, keeps) {
    Array.prototype.slice.call(el.children).forEach(function (child) {
      if (keeps.indexOf(child) >= 0) { return; }
      if (keeps.some(function (k) { return child.contains(k); })) { prune(child, keeps); return; }
      hide(child);
    });
  }

  function isNoteBlock(el) {
    if (el.matches(".note")) { return true; }
    return !!(el.querySelector(".note") &&
              !el.querySelector("input, button, select, table, .leaflet-container, .dash-graph, .dash-dropdown"));
  }

  function prepare() {
    var container = document.getElementById("page-content");
    if (!container || root.classList.contains("atlas-prepared")) { return; }
    root.classList.add("atlas-prepared");
    var map = $all(".leaflet-container", container).filter(visible)[0];
    var fig = map ? figureRoot(map, container) : null;
    /* The exported figure names its territory (the page's scope picker), under the page title. */
    var scope = $all("[id$='-scope']", container).filter(function (el) {
      return el.classList && (el.classList.contains("dash-dropdown") || el.querySelector(".dash-dropdown-value, [class*=value]"));
    })[0];
    var h1 = $all("h1", container)[0];
    var scopeText = scope ? scope.textContent.replace(/\s+/g, " ").replace(/×/g, "").trim() : "";
    if (h1 && scopeText && !document.querySelector(".atlas-export-territory")) {
      var terr = document.createElement("p");
      terr.className = "note atlas-export-territory";     // a note: kept by the pruning below
      terr.textContent = "Territoire : " + scopeText;
      h1.insertAdjacentElement("afterend", terr);
    }
    if (fig) {
      var keeps = [map].concat($all(".legend, .source-line, .note", fig).filter(function (el) {
        return !el.closest(".leaflet-container");
      }));
      prune(fig, keeps);
      fig.classList.add("atlas-export-figure");
      var node = fig;
      while (node && node !== container) {
        var parent = node.parentElement;
        var siblings = Array.prototype.slice.call(parent.children);
        var idx = siblings.indexOf(node);
        var heading = null;
        siblings.slice(0, idx).forEach(function (s) { if (/^H[2-3]$/.test(s.tagName) && visible(s)) { heading = s; } });
        siblings.forEach(function (s) {
          if (s === node || s === heading || s.tagName === "H1" || isNoteBlock(s)) { return; }
          hide(s);
        });
        if (parent !== container) { parent.classList.add("atlas-export-path"); }
        node = parent;
      }
    }
    var stamp = document.createElement("p");
    stamp.className = "atlas-export-stamp";
    var url = new URL(window.location.href);
    ["export", "present", "print"].forEach(function (k) { url.searchParams.delete(k); });
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    stamp.textContent = "Atlas ASV — " + (document.title || "").replace(/^Atlas ASV — /, "") +
      " — vue exportée le " + pad(d.getDate()) + "/" + pad(d.getMonth() + 1) + "/" + d.getFullYear() +
      " — " + url.pathname + decodeURIComponent(url.search);
    (container.firstElementChild || container).appendChild(stamp);
    window.dispatchEvent(new Event("resize"));
  }

  function visibleMap() { return $all(".leaflet-container").filter(visible)[0]; }

  function mapBox() {
    var map = visibleMap();
    if (!map) { return null; }
    var r = map.getBoundingClientRect();
    return {x: Math.round(r.left + window.scrollX), y: Math.round(r.top + window.scrollY),
            width: Math.round(r.width), height: Math.round(r.height)};
  }

  function markReady() {
    requestAnimationFrame(function () {
      requestAnimationFrame(function () { setTimeout(function () { root.classList.add("atlas-ready"); }, 250); });
    });
  }

  /* A slide fits its frame without shrinking its text: the map takes the height the frame has
     below the notes (at least MAP_MIN px; Leaflet is told by a resize event, so that tiles and
     clicks stay right), a column beside the map (legend, panel) scrolls within that height, and
     only what still overflows makes the whole page smaller. Run again when the frame is resized
     (the player going full screen). */
  var MAP_MIN = 240, fitting = false, authorBounds = null;
  function fitSlide() {
    if (fitting) { return; }
    fitting = true;
    try { fitSlideNow(); } finally { fitting = false; }
  }
  function fitSlideNow() {
    document.body.style.zoom = "";
    var vh = window.innerHeight;
    var map = visibleMap();
    var lmap = map ? leafletMap(map) : null;
    if (lmap && !authorBounds) { authorBounds = shownParam() || lmap.getBounds(); }   // what the author saw
    if (map) {
      map.style.removeProperty("height");
      var grid = map.parentElement;
      while (grid && grid !== document.body && getComputedStyle(grid).display !== "grid") { grid = grid.parentElement; }
      var avail = Math.max(MAP_MIN, Math.floor(vh - (grid && grid !== document.body ? grid : map).getBoundingClientRect().top - 8));
      if (grid && grid !== document.body) {
        Array.prototype.forEach.call(grid.children, function (col) {
          // only a column beside the map (not one stacked below it on a narrow frame)
          if (col.contains(map) || !visible(col) || col.getBoundingClientRect().top >= map.getBoundingClientRect().bottom) { return; }
          col.style.maxHeight = avail + "px";
          col.style.overflowY = "auto";
          if (col.scrollHeight > col.clientHeight + 1) {     // a scrolling box is reachable by keyboard
            col.tabIndex = 0;
            if (!/^(ASIDE|SECTION)$/.test(col.tagName)) { col.setAttribute("role", "region"); }
            if (!col.hasAttribute("aria-label")) { col.setAttribute("aria-label", "Légende et détails (défilant)"); }
          }
        });
      }
      var spare = vh - document.documentElement.scrollHeight;   // < 0: overflow, > 0: room left
      var mh = map.getBoundingClientRect().height;
      map.style.setProperty("height", Math.max(MAP_MIN, Math.floor(Math.min(mh + spare, avail))) + "px", "important");
      window.dispatchEvent(new Event("resize"));
    }
    var h = document.documentElement.scrollHeight;
    if (h > vh + 4) {
      var z = Math.max(0.7, vh / h);
      document.body.style.zoom = String(z);
      // smaller type makes text wrap less: give the room it left back to the map
      var left = vh - document.body.getBoundingClientRect().bottom;
      if (map && left > 8) {
        map.style.setProperty("height", Math.floor(map.offsetHeight + left / z - 4) + "px", "important");
        window.dispatchEvent(new Event("resize"));
      }
    }
    if (lmap && authorBounds && authorBounds.isValid()) {        // the same extent, in the map's new size
      lmap.invalidateSize(false);
      lmap.fitBounds(authorBounds, {animate: false});
    }
  }

  /* The extent a slide's author saw, saved with the slide (?shown=west,south,east,north). */
  function shownParam() {
    var raw = params.get("shown") || "", v = raw.split(",").map(Number);
    if (!raw || v.length !== 4 || v.some(function (x) { return !isFinite(x); }) || !window.L ||
        !(v[0] < v[2] && v[1] < v[3] && v[1] >= -90 && v[3] <= 90 && v[0] >= -180 && v[2] <= 180)) { return null; }
    return L.latLngBounds([v[1], v[0]], [v[3], v[2]]);
  }
  function shownBounds() {
    var map = visibleMap();
    var lmap = map ? leafletMap(map) : null;
    if (!lmap) { return null; }
    var b = lmap.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(5); }).join(",");
  }

  /* The Leaflet map drawn in a container, found through the shapes atlas.js registered. */
  function leafletMap(el) {
    var live = window.atlas && window.atlas.live, found = null;
    Object.keys((live && live.layers) || {}).some(function (id) {
      var reg = live.layers[id];
      return Object.keys(reg).some(function (code) {
        var m = reg[code].layer && reg[code].layer._map;   // null for a shape of an earlier scope
        if (m && m.getContainer && m.getContainer() === el) { found = m; }
        return !!m;                                    // the first shape on a map tells its map
      }) && !!found;
    });
    return found;
  }

  if (mode) {
    whenReady(function () {
      if (FIGURE_MODES[mode]) { prepare(); }
      if (mode === "present") {
        setTimeout(fitSlide, 300);
        var refit = null;
        window.addEventListener("resize", function () {
          if (fitting) { return; }
          clearTimeout(refit);
          refit = setTimeout(fitSlide, 200);
        });
      }
      // Leaflet redraws its paths after the resize event: give it a moment.
      setTimeout(markReady, FIGURE_MODES[mode] ? 400 : 0);
    });
  }

  /* --- Downloads -------------------------------------------------------------------------- */
  function announce(text) {
    var box = document.getElementById("atlas-export-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "atlas-export-status";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.classList.toggle("is-visible", !!text);
    clearTimeout(box._timer);
    if (text) { box._timer = setTimeout(function () { box.classList.remove("is-visible"); }, 6000); }
  }

  function fileName(disposition, fallback) {
    var m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || "");
    return m ? decodeURIComponent(m[1]) : fallback;
  }

  function download(url, options, btn, fallback) {
    if (btn.getAttribute("aria-busy") === "true") { return; }
    var label = btn.textContent;
    btn.setAttribute("aria-busy", "true");
    btn.textContent = "Export…";
    announce("Export en cours…");
    return fetch(url, options || {}).then(function (r) {
      if (!r.ok) { return r.text().then(function (t) { throw new Error(t || ("erreur " + r.status)); }); }
      return r.blob().then(function (blob) {
        var a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = fileName(r.headers.get("Content-Disposition"), fallback);
        document.body.appendChild(a);
        a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 2000);
        announce("Fichier téléchargé : " + a.download);
      });
    }).catch(function (err) {
      announce("L'export a échoué : " + String(err.message || err).slice(0, 300));
    }).then(function () {
      btn.textContent = label;
      btn.removeAttribute("aria-busy");
    });
  }

  function currentView() {
    var url = new URL(window.location.href);
    ["export", "present", "print"].forEach(function (k) { url.searchParams.delete(k); });
    return url.pathname + url.search;
  }

  /* Map export control: added to every map, in the top-left corner under the zoom buttons. */
  function addMapControls() {
    if (mode) { return; }
    $all(".leaflet-container").forEach(function (map) {
      if (map.getAttribute("data-atlas-export") || map.closest("#fiche-body, .no-map-export")) { return; }
      var corner = map.querySelector(".leaflet-top.leaflet-left");
      if (!corner) { return; }
      map.setAttribute("data-atlas-export", "1");
      var box = document.createElement("div");
      box.className = "leaflet-control leaflet-bar atlas-map-export no-print";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", "Exporter la carte");
      [["png", "PNG", "Exporter la carte (titre, légende, échelle et source) en image PNG"],
       ["pdf", "PDF", "Exporter la carte (titre, légende, échelle et source) en PDF A4"]].forEach(function (f) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "atlas-map-export-btn";
        b.setAttribute("data-format", f[0]);
        b.setAttribute("title", f[2]);
        b.setAttribute("aria-label", f[2]);
        b.textContent = f[1];
        box.appendChild(b);
      });
      if (window.L && L.DomEvent) { L.DomEvent.disableClickPropagation(box); L.DomEvent.disableScrollPropagation(box); }
      corner.appendChild(box);
    });
  }

  function addTableExports() {
    $all("table.simple").forEach(function (t) {
      if (t.getAttribute("data-atlas-export") || t.closest(".atlas-export, .data-table-wrap")) { return; }
      t.setAttribute("data-atlas-export", "1");
      var box = document.createElement("div");
      box.className = "simple-table-exports no-print";
      [["csv", "CSV"], ["xlsx", "XLSX"]].forEach(function (f) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "btn btn-secondary btn-small simple-table-export";
        b.setAttribute("data-format", f[0]);
        b.textContent = "Télécharger " + f[1];
        box.appendChild(b);
      });
      t.insertAdjacentElement("afterend", box);
    });
  }

  function tableData(t) {
    var rows = $all("tr", t).map(function (tr) {
      return $all("th, td", tr).map(function (c) { return c.textContent.trim(); });
    });
    var head = rows.length ? rows[0] : [];
    return {columns: head, rows: rows.slice(1)};
  }

  function nearestTitle(el) {
    var node = el;
    while (node && node !== document.body) {
      var prev = node.previousElementSibling;
      while (prev) {
        if (/^H[1-4]$/.test(prev.tagName)) { return prev.textContent.trim(); }
        var inner = prev.querySelectorAll && prev.querySelectorAll("h1, h2, h3, h4");
        if (inner && inner.length) { return inner[inner.length - 1].textContent.trim(); }
        prev = prev.previousElementSibling;
      }
      node = node.parentElement;
    }
    return document.title;
  }

  function chartFigure(block) {
    var gd = block.querySelector(".js-plotly-plot");
    if (!gd) { return null; }
    if (window.Plotly && Plotly.Plots && Plotly.Plots.graphJson) {
      return JSON.parse(Plotly.Plots.graphJson(gd, false, "keepdata"));
    }
    return {data: gd.data, layout: gd.layout};
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!t || !t.closest) { return; }
    var mb = t.closest(".atlas-map-export-btn");
    if (mb) {
      e.preventDefault();
      var fmt = mb.getAttribute("data-format");
      download("/export/" + fmt + "?url=" + encodeURIComponent(currentView()), null, mb, "carte." + fmt);
      return;
    }
    var link = t.closest("a.export-link");
    if (link && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      download(link.href, null, link, "export.pdf");
      return;
    }
    var cb = t.closest(".chart-export");
    if (cb) {
      e.preventDefault();
      var block = cb.closest(".graph-block");
      var fig = block && chartFigure(block);
      if (!fig) { announce("Graphique introuvable."); return; }
      var src = block.querySelector(".source-line");
      var body = {figure: fig, filename: cb.getAttribute("data-filename") || "graphique",
                  title: cb.getAttribute("data-title") || nearestTitle(block),
                  source: src ? src.textContent.trim() : (cb.getAttribute("data-source") || "")};
      var f = cb.getAttribute("data-format");
      download("/export/chart." + f, {method: "POST", headers: {"Content-Type": "application/json"},
                                      body: JSON.stringify(body)}, cb, "graphique." + f);
      return;
    }
    var tb = t.closest(".simple-table-export");
    if (tb) {
      e.preventDefault();
      var table = tb.parentElement.previousElementSibling;
      var data = tableData(table);
      // what the file says of itself (components/export.py adds the territory of the page's address,
      // sources, years and the demo warning)
      data.title = nearestTitle(table);
      data.filename = (data.title || "tableau").slice(0, 60);
      var around = table.closest("section, aside, .ineg-panel, .card, [aria-live]") || table.parentElement;
      var src = around.querySelector(".source-line, .source");
      data.source = src ? src.textContent.replace(/\s+/g, " ").trim() : "";
      data.page = window.location.pathname + window.location.search;
      var tf = tb.getAttribute("data-format");
      download("/export/table." + tf, {method: "POST", headers: {"Content-Type": "application/json"},
                                       body: JSON.stringify(data)}, tb, "tableau." + tf);
    }
  });

  var pending = false;
  function scan() {
    if (pending) { return; }
    pending = true;
    setTimeout(function () { pending = false; addMapControls(); addTableExports(); }, 200);
  }
  function startObserver() {
    new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
    scan();
  }
  if (document.body) { startObserver(); } else { document.addEventListener("DOMContentLoaded", startObserver); }

  /* --- Presentation ----------------------------------------------------------------------- */
  var NAV_KEYS = {"ArrowRight": "next", "ArrowDown": "next", "PageDown": "next", " ": "next", "Spacebar": "next",
                  "ArrowLeft": "prev", "ArrowUp": "prev", "PageUp": "prev", "Home": "first", "End": "last",
                  "Escape": "quit"};
  var BUTTONS = {"next": "present-next", "prev": "present-prev", "first": "present-first",
                 "last": "present-last", "quit": "present-quit"};

  function typing(target) {
    return !!(target && target.closest && target.closest("input, textarea, select, [contenteditable], .dash-dropdown"));
  }

  if (mode === "present" && window.parent !== window) {
    // A slide inside the player: hand the navigation keys to the player.
    document.addEventListener("keydown", function (e) {
      var action = NAV_KEYS[e.key];
      if (!action || typing(e.target)) { return; }
      if (/^Arrow/.test(e.key) && e.target.closest && e.target.closest(".leaflet-container")) { return; }
      e.preventDefault();
      window.parent.postMessage({atlasPresent: action}, window.location.origin);
    }, true);
  }

  /* Every click on a player button (mouse or key) is queued in order; the player's clientside
     callback in pages/presentation.py drains the queue, so fast key presses are never merged. */
  var BUTTON_ACTIONS = {"present-start": "start"};
  Object.keys(BUTTONS).forEach(function (a) { BUTTON_ACTIONS[BUTTONS[a]] = a; });
  window.atlasPresentQueue = window.atlasPresentQueue || [];
  document.addEventListener("click", function (e) {
    var b = e.target && e.target.closest && e.target.closest("button[id]");
    var action = b && BUTTON_ACTIONS[b.id];
    if (action && !b.disabled) { window.atlasPresentQueue.push(action); }
  }, true);

  function playerOpen() {
    var p = document.getElementById("present-player");
    return !!(p && !p.hidden && visible(p));
  }
  /* A key does not click its button: the button may still be disabled for a state the queued keys
     have already left (Home then ArrowRight, ArrowLeft). Its action is queued and the hidden trigger
     clicked; the player's callback clamps each step. */
  function act(action) {
    var k = document.getElementById("present-key");
    if (!k) { return; }
    window.atlasPresentQueue.push(action);
    k.click();
  }
  document.addEventListener("keydown", function (e) {
    if (!playerOpen() || typing(e.target)) { return; }
    var action = NAV_KEYS[e.key];
    if (!action) { return; }
    e.preventDefault();
    act(action);
  });
  window.addEventListener("message", function (e) {
    if (e.origin !== window.location.origin || !e.data || !e.data.atlasPresent) { return; }
    if (playerOpen() && BUTTONS[e.data.atlasPresent]) { act(e.data.atlasPresent); }
  });

  /* A box whose text scrolls is a tab stop (keyboard users scroll it); one that does not is not. */
  function scrollStop(el) {
    if (el.scrollHeight > el.clientHeight + 1) { el.tabIndex = 0; } else { el.removeAttribute("tabindex"); }
  }

  /* The player's source line: the slide's own source lines, read from the (same-origin) frame. */
  document.addEventListener("load", function (e) {
    var frame = e.target;
    if (!frame || frame.id !== "present-frame") { return; }
    var out = document.getElementById("present-sources");
    if (!out) { return; }
    out.textContent = "Sources : chargement…";
    var tries = 0, src = frame.getAttribute("src");
    if (!src || src === "about:blank") { out.textContent = ""; scrollStop(out); return; }
    (function read() {
      var doc = null;
      try { doc = frame.contentDocument; } catch (err) { doc = null; }
      if (frame.getAttribute("src") !== src) { return; }          // another slide is loading
      var ready = !!(doc && doc.documentElement && doc.documentElement.classList.contains("atlas-ready"));
      var seen = {};
      var texts = (doc && doc.documentElement) ? $all(".source-line, .card .source, #fiche-sources li", doc).filter(function (el) {
        return !el.closest(".atlas-export-hidden, [hidden]");
      }).map(function (el) {
        return el.textContent.replace(/\s+/g, " ").trim();
      }).filter(function (t) { if (!t || seen[t]) { return false; } seen[t] = true; return true; }) : [];
      /* shown as soon as the slide has any source line; refreshed until the slide is drawn */
      if (texts.length) { out.textContent = (/^Sources? ?:/.test(texts[0]) ? "" : "Sources : ") + texts.join(" · "); }
      scrollStop(out);
      if (!ready && tries++ < 120) { return setTimeout(read, 250); }
      if (!texts.length) {
        out.textContent = "Sources : voir la page Données de l'atlas (sources, producteurs et millésimes).";
      }
      scrollStop(out);
      var fr = document.getElementById("present-frame-status");
      if (fr) { fr.textContent = "Vue chargée."; }
    })();
  }, true);

  window.atlasExport = {prepare: prepare, mapBox: mapBox, mode: mode, announce: announce, shownBounds: shownBounds};
})();
