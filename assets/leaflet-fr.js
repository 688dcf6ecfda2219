/* French titles for Leaflet's own controls. dash-leaflet 1.1.3 bundles Leaflet without exposing its
   options (dl.ZoomControl has no zoomInTitle prop, window.L is not the bundled instance), so the
   rendered controls are patched: each title and accessible name is set once, when the control
   appears. Belongs upstream: a zoomInTitle / zoomOutTitle prop on dash-leaflet's ZoomControl. */
(function () {
    var TITLES = {
        "leaflet-control-zoom-in": "Zoom avant",
        "leaflet-control-zoom-out": "Zoom arrière"
    };
    function patch(root) {
        Object.keys(TITLES).forEach(function (cls) {
            root.querySelectorAll("a." + cls).forEach(function (a) {
                if (a.getAttribute("title") !== TITLES[cls]) {
                    a.setAttribute("title", TITLES[cls]);
                    a.setAttribute("aria-label", TITLES[cls]);
                }
            });
        });
    }
    function start() {
        patch(document);
        new MutationObserver(function (records) {
            for (var i = 0; i < records.length; i++) {
                if (records[i].addedNodes.length) { patch(document); return; }
            }
        }).observe(document.body, {childList: true, subtree: true});
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
