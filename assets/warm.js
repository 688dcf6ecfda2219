/* Warm the lazily loaded components before Dash draws the first page.

   dcc.Dropdown, dash_table.DataTable and dash_leaflet's GeoJSON are React.lazy components: the
   first time one renders, React suspends it until its code module resolves, then throttles the
   reveal (about 0.3 s with a few dropdowns on the page). The map's layers are mounted, and fetch
   their geometry, only after that. Their code is loaded with the page (app.py, EAGER_CHUNKS);
   rendering one instance of each in a detached root as soon as the scripts have run resolves the
   modules before Dash renders its layout, so the page renders in one pass. The detached root
   renders nothing visible and is removed; errors there (no Dash context) are swallowed. */
(function () {
  "use strict";
  function warm() {
    var R = window.React, RD = window.ReactDOM;
    if (!R || !RD || !RD.createRoot) { return; }
    var host = document.createElement("div");
    host.setAttribute("aria-hidden", "true");
    host.style.cssText = "position:absolute;left:-10000px;top:0;width:10px;height:10px;overflow:hidden";
    document.body.appendChild(host);
    function Quiet(props) { R.Component.call(this, props); this.state = {failed: false}; }
    Quiet.prototype = Object.create(R.Component.prototype);
    Quiet.prototype.constructor = Quiet;
    Quiet.getDerivedStateFromError = function () { return {failed: true}; };
    Quiet.prototype.componentDidCatch = function () {};
    Quiet.prototype.render = function () { return this.state.failed ? null : this.props.children; };
    var noop = function () {};
    var kids = [];
    var dcc = window.dash_core_components, table = window.dash_table, dl = window.dash_leaflet;
    if (dcc && dcc.Dropdown) {
      kids.push(R.createElement(Quiet, {key: "dd"}, R.createElement(dcc.Dropdown, {id: "atlas-warm-dd", options: [], setProps: noop})));
    }
    if (table && table.DataTable) {
      kids.push(R.createElement(Quiet, {key: "dt"}, R.createElement(table.DataTable, {id: "atlas-warm-dt", data: [], columns: [], setProps: noop})));
    }
    if (dl && dl.GeoJSON) {
      kids.push(R.createElement(Quiet, {key: "gj"}, R.createElement(dl.GeoJSON, {id: "atlas-warm-gj", setProps: noop})));
    }
    var root = RD.createRoot(host);
    root.render(R.createElement(R.Fragment, null, kids));
    setTimeout(function () { root.unmount(); host.remove(); }, 4000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", warm);
  } else {
    warm();
  }
})();
