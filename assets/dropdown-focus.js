/* Dash 4's dropdown opens its popover without moving the focus into the popover's search box: the
   first keys typed went nowhere until one clicked into it. When a search box appears (the popover
   opened) and the focus is still on the dropdown that opened it, or on nothing, the focus moves
   into the search box. Belongs upstream: dcc.Dropdown could focus its search input on open. */
(function () {
    var SEARCH = "input.dash-dropdown-search";
    function focusNew(node) {
        var box = node.matches && node.matches(SEARCH) ? node : (node.querySelector && node.querySelector(SEARCH));
        if (!box) { return; }
        var active = document.activeElement;
        var fromDropdown = !active || active === document.body ||
            (active.closest && active.closest(".dash-dropdown, .dash-dropdown-trigger, [class*=dropdown]"));
        if (fromDropdown && active !== box) {
            requestAnimationFrame(function () { if (box.isConnected) { box.focus({preventScroll: true}); } });
        }
    }
    function start() {
        new MutationObserver(function (records) {
            records.forEach(function (r) {
                r.addedNodes.forEach(function (n) { if (n.nodeType === 1) { focusNew(n); } });
            });
        }).observe(document.body, {childList: true, subtree: true});
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
