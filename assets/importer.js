/* Importer page (pages/importer.py): say at once when a file is over the size limit.
   dcc.Upload's max_size makes the browser drop such a file silently (nothing is sent);
   this tells the user why and what to do. The limit comes from the page
   (#imp-upload-wrap data-max-bytes); the message is plain text (textContent). */
(function () {
  function check(files, target) {
    const wrap = target && target.closest ? target.closest("#imp-upload-wrap") : null;
    const alertBox = document.getElementById("imp-size-alert");
    if (!wrap || !alertBox || !files || !files.length) {
      return;
    }
    const max = parseInt(wrap.getAttribute("data-max-bytes") || "0", 10);
    const maxMb = wrap.getAttribute("data-max-mb") || String(Math.round(max / 1048576));
    const f = files[0];
    if (max > 0 && f.size > max) {
      const mb = (f.size / 1048576).toFixed(1).replace(".", ",");
      alertBox.textContent = "Fichier trop volumineux : « " + f.name + " » pèse " + mb + " Mo, la taille "
        + "maximale acceptée est de " + maxMb + " Mo. Il n'a pas été envoyé. Découpez-le en plusieurs "
        + "fichiers (par année ou par territoire), ou importez-le en ligne de commande.";
    } else {
      alertBox.textContent = "";
    }
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.type === "file") {
      check(e.target.files, e.target);
    }
  }, true);
  document.addEventListener("drop", function (e) {
    check(e.dataTransfer && e.dataTransfer.files, e.target);
  }, true);
})();

/* dcc.Upload renders a bare <input type=file> with no accessible name: give it the label
   of its wrapper (data-input-label), whenever the page renders one. */
(function () {
  function label() {
    if (location.pathname.indexOf("/importer") === -1) {
      return;                            // only the Importer page has such inputs
    }
    document.querySelectorAll("[data-input-label]").forEach(function (wrap) {
      const input = wrap.querySelector("input[type=file]");
      if (input && !input.getAttribute("aria-label")) {
        input.setAttribute("aria-label", wrap.getAttribute("data-input-label"));
      }
    });
  }
  new MutationObserver(label).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener("DOMContentLoaded", label);
})();
