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
  // A step-up prompt arrives as an open <dialog> appended to the page: only the newest one
  // stays, and it becomes modal with the focus on its code field, so the form behind it
  // keeps what was typed and the keyboard lands where the answer goes.
  document.addEventListener("htmx:afterSettle", function () {
    var dialogs = document.querySelectorAll("dialog.step-up");
    if (dialogs.length === 0) return;
    for (var i = 0; i < dialogs.length - 1; i++) dialogs[i].remove();
    var d = dialogs[dialogs.length - 1];
    if (d.dataset.modal === "1" || typeof d.showModal !== "function") return;
    d.dataset.modal = "1";
    d.close();
    d.showModal();
    var code = d.querySelector("#step-up-code") || d.querySelector("button, input:not([type=hidden])");
    if (code) code.focus();
  });
})();
