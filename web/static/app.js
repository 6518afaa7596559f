// RaaS Console: small progressive enhancements. Everything works without this file.
(function () {
  "use strict";
  // A form being submitted cannot be submitted again until the answer arrives, so a
  // double click never sends an action twice (the server also refuses duplicates).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-allow-resubmit")) return;
    if (form.dataset.submitting === "1") { ev.preventDefault(); return; }
    form.dataset.submitting = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
    window.setTimeout(function () { delete form.dataset.submitting; }, 8000);
  }, true);
  document.addEventListener("htmx:afterRequest", function (ev) {
    var form = ev.target.closest && ev.target.closest("form");
    if (form) {
      delete form.dataset.submitting;
      form.querySelectorAll("button[aria-busy]").forEach(function (b) { b.removeAttribute("aria-busy"); });
    }
  });
})();
