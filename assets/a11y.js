/* Accessible names and roles that Dash components do not render (RGAA / WCAG 2.1 AA, issue 13).
   One documented patch of the rendered DOM, re-applied when Dash renders new elements:
   - DataTable pagination buttons (first/previous/next/last page) get French accessible names, and
     its page number input a label;
   - RadioItems, Checklist and an open dropdown's list of choices render role="listbox" with
     role="option" labels that contain the radio or checkbox inputs which take the focus (nested
     interactive controls, no group name): the list becomes a radiogroup (or group) named by its
     legend or label (a dropdown's: the label of the field that opened it), the labels plain labels
     naming their input; the dropdown popup (a dialog) and its search box get that name too;
   - the number inputs of a RangeSlider get "Début" / "Fin" labels;
   - dcc.Upload's hidden file input gets the name of its drop zone;
   - a dropdown's button is its tab stop; the focus target input Dash puts before it (hidden from
     assistive technology) leaves the tab order;
   - a table that scrolls sideways can be reached and scrolled with the keyboard (tabindex 0,
     named by its caption or heading);
   - a dropdown's button is named by its field's label, then what it shows in the order shown
     (the chosen values, then a multi-select's "n sélectionné(s)"): Dash names it by the count
     first and without the label (WCAG 2.5.3, axe label-content-name-mismatch); its clear icon,
     a mouse shortcut nested in the button, is hidden from assistive technology.
   Belongs upstream (dash-table, dcc): accessible names and roles for these widgets. */
(function () {
    var PAGER = {"first-page": "Première page", "previous-page": "Page précédente",
                 "next-page": "Page suivante", "last-page": "Dernière page"};
    function groupName(el) {
        var fs = el.closest("fieldset");
        var legend = fs && fs.querySelector("legend");
        if (legend) { return legend.textContent.trim(); }
        var control = el.closest(".control, .control-group");
        var label = control && control.querySelector(".control-label, label[for]");
        return label ? label.textContent.trim() : "";
    }
    function headingBefore(el) {        /* the heading a table sits under (h1-h4 before it) */
        for (var node = el; node && node !== document.body; node = node.parentElement) {
            for (var prev = node.previousElementSibling; prev; prev = prev.previousElementSibling) {
                if (/^H[1-4]$/.test(prev.tagName)) { return prev.textContent.trim(); }
                var inner = prev.querySelectorAll ? prev.querySelectorAll("h1, h2, h3, h4") : [];
                if (inner.length) { return inner[inner.length - 1].textContent.trim(); }
            }
        }
        return "";
    }
    function patch(root) {
        Object.keys(PAGER).forEach(function (cls) {
            root.querySelectorAll("button." + cls).forEach(function (b) {
                if (!b.getAttribute("aria-label")) { b.setAttribute("aria-label", PAGER[cls]); b.title = PAGER[cls]; }
            });
        });
        root.querySelectorAll(".previous-next-container input.current-page").forEach(function (i) {
            if (!i.getAttribute("aria-label")) { i.setAttribute("aria-label", "Numéro de page"); }
        });
        root.querySelectorAll("[role=listbox]").forEach(function (g) {
            if (!g.querySelector("input[type=radio], input[type=checkbox]")) { return; }
            var radios = !!g.querySelector("input[type=radio]");
            g.setAttribute("role", radios ? "radiogroup" : "group");
            var name = groupName(g);
            var popup = g.closest(".dash-dropdown-content");
            if (popup) {
                /* an open dropdown: its popup is a dialog holding a search box and the choices */
                var trigger = popup.id && document.querySelector("[aria-controls='" + popup.id + "']");
                name = (trigger && groupName(trigger)) || "Choix possibles";
                if (!popup.getAttribute("aria-label")) { popup.setAttribute("aria-label", name); }
                var search = popup.querySelector("input[type=search]");
                if (search && !search.getAttribute("aria-label")) { search.setAttribute("aria-label", "Rechercher : " + name); }
            }
            if (name && !g.getAttribute("aria-label")) { g.setAttribute("aria-label", name); }
            g.setAttribute("data-a11y-choices", "");
        });
        /* React puts aria-selected back on a label when its choice changes */
        root.querySelectorAll("[data-a11y-choices] [role=option], [data-a11y-choices] [aria-selected]").forEach(function (o) {
            o.removeAttribute("role"); o.removeAttribute("aria-selected");
        });
        root.querySelectorAll(".dash-range-slider-input, .dash-slider-container input[type=number], " +
                              ".dash-input-container input[type=number]").forEach(function (inp) {
            if (inp.getAttribute("aria-label") || (inp.id && document.querySelector("label[for='" + inp.id + "']"))) { return; }
            var all = Array.prototype.slice.call(inp.closest("div").parentElement.querySelectorAll("input[type=number]"));
            var name = groupName(inp) || "Valeur";
            inp.setAttribute("aria-label", name + (all.length > 1 ? (all.indexOf(inp) === 0 ? " : début" : " : fin") : ""));
        });
        root.querySelectorAll("input[type=file]").forEach(function (f) {
            if (f.getAttribute("aria-label")) { return; }
            var zone = f.parentElement;
            f.setAttribute("aria-label", (zone && zone.textContent.trim()) || "Choisir un fichier");
        });
        root.querySelectorAll(".dash-spreadsheet-container").forEach(function (t) {
            var scrolls = t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1;
            if (scrolls && !t.hasAttribute("tabindex")) {
                t.setAttribute("tabindex", "0");
                t.setAttribute("role", "region");
                var h = headingBefore(t);
                t.setAttribute("aria-label", (h ? "Tableau : " + h : "Tableau") + " (défilement au clavier avec les flèches)");
            }
        });
        root.querySelectorAll("button.dash-dropdown[id]").forEach(function (b) {
            /* the clear icon inside the button is a mouse shortcut (a control nested in a button cannot
               be reached otherwise; the open list has its own "clear"): not part of the button's name */
            b.querySelectorAll(".dash-dropdown-clear:not([aria-hidden])").forEach(function (a) {
                a.setAttribute("aria-hidden", "true");
            });
            var label = document.querySelector("label[for='" + b.id + "']");
            if (label && !label.id) { label.id = b.id + "-label"; }
            var shown = b.querySelector(".dash-dropdown-trigger");     /* values, then the count, as shown */
            if (shown && !shown.id) { shown.id = b.id + "-shown"; }
            var ids = [label && label.id, shown && shown.id].filter(Boolean).join(" ");
            if (ids && b.getAttribute("aria-labelledby") !== ids) { b.setAttribute("aria-labelledby", ids); }
        });
        root.querySelectorAll("input.dash-dropdown-focus-target").forEach(function (i) {
            /* Dash makes this hidden input the tab stop that forwards focus to the dropdown's button
               (tabindex -1), and gives it tabindex 0 again whenever the button loses focus: the
               button itself becomes the tab stop, the hidden input leaves the tab order. */
            if (i.getAttribute("tabindex") !== "-1") { i.setAttribute("tabindex", "-1"); }
            var button = i.nextElementSibling;
            if (button && button.matches("button.dash-dropdown") && !button.disabled &&
                button.getAttribute("tabindex") !== "0") { button.setAttribute("tabindex", "0"); }
        });
    }
    var queued = false;
    function schedule() {
        if (queued) { return; }
        queued = true;
        requestAnimationFrame(function () { queued = false; patch(document); });
    }
    function start() {
        patch(document);
        new MutationObserver(schedule).observe(document.body, {childList: true, subtree: true,
            attributes: true, attributeFilter: ["role", "aria-selected", "tabindex", "disabled", "aria-labelledby"]});
    }
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
})();
