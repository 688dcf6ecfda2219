/* Warm the lazily loaded components before Dash draws the first page.

   dcc.Dropdown, dash_table.DataTable and dash_leaflet's GeoJSON are React.lazy components: the
   first time one renders, React suspends it until its code module resolves, then throttles the
   reveal (about 0.3 s with a few dropdowns on the page). The map's layers are mounted, and fetch
   their geometry, only after that. Their code is loaded with the page (app.py, EAGER_CHUNKS);
   rendering one instance of each in a detached root as soon as the scripts have run resolves the
   modules before Dash renders its layout, so the page renders in one pass. The detached root
   renders nothing visible and is removed. It gives the components what Dash and Leaflet give them
   on a page (a Dash context whose components are never loading, a map container for the layer),
   so that warming them writes nothing to the console. */
(function () {
  "use strict";
  function warm() {
    var R = window.React, RD = window.ReactDOM;
    if (!R || !RD || !RD.createRoot) { return; }
    var host = document.createElement("div");
    host.setAttribute("aria-hidden", "true");
    host.inert = true;              /* nothing in it can take the focus (the map container would) */
    host.style.cssText = "position:absolute;left:-10000px;top:0;width:10px;height:10px;overflow:hidden";
    document.body.appendChild(host);
    function Quiet(props) { R.Component.call(this, props); this.state = {failed: false}; }
    Quiet.prototype = Object.create(R.Component.prototype);
    Quiet.prototype.constructor = Quiet;
    Quiet.getDerivedStateFromError = function () { return {failed: true}; };
    Quiet.prototype.componentDidCatch = function () {};
    Quiet.prototype.render = function () { return this.state.failed ? null : this.props.children; };
    var noop = function () {};
    var no = function () { return false; };
    var kids = [];
    var dcc = window.dash_core_components, table = window.dash_table, dl = window.dash_leaflet;
    if (dcc && dcc.Dropdown) {
      kids.push(R.createElement(Quiet, {key: "dd"}, R.createElement(dcc.Dropdown, {id: "atlas-warm-dd", options: [], setProps: noop})));
    }
    if (table && table.DataTable) {
      kids.push(R.createElement(Quiet, {key: "dt"}, R.createElement(table.DataTable, {id: "atlas-warm-dt", data: [], columns: [], setProps: noop})));
    }
    if (dl && dl.GeoJSON && dl.MapContainer) {
      kids.push(R.createElement(Quiet, {key: "gj"}, R.createElement(dl.MapContainer,
        {id: "atlas-warm-map", center: [0, 0], zoom: 1, keyboard: false, zoomControl: false, attributionControl: false, style: {width: "10px", height: "10px"},
         setProps: noop},
        R.createElement(dl.GeoJSON, {id: "atlas-warm-gj", setProps: noop}))));
    }
    var api = window.dash_component_api || {};
    var tree = R.createElement(R.Fragment, null, kids);
    if (api.DashContext) {      /* what Dash gives each component: its path and the loading state */
      var store = {getState: function () { return {}; }, subscribe: function () { return noop; }, dispatch: noop};
      tree = R.createElement(api.DashContext.Provider, {value: {
        componentPath: [], isLoading: no, useLoading: no, useStore: function () { return store; },
        useDispatch: function () { return noop; }, useSelector: function (f) { try { return f({}); } catch (e) { return undefined; } }
      }}, tree);
    }
    var root = RD.createRoot(host);
    root.render(tree);
    setTimeout(function () { root.unmount(); host.remove(); }, 4000);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", warm);
  } else {
    warm();
  }
})();
