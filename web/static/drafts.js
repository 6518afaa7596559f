// RaaS Console: form drafts. What the operator types into a form marked data-draft is kept
// on the server (never in the browser) a second after they stop typing, so that a session
// ending mid-form loses nothing; after signing in again the form is filled from the draft,
// with a notice and a way to discard it. Password fields and the form's one-time token are
// never sent, and the server keeps only the fields it lists for the form.
(function () {
  "use strict";
  var DELAY = 1000;
  var timers = new WeakMap();

  function skipped(el) {
    return !el.name || el.name === "_csrf" || el.name === "nonce" || el.type === "password" || el.type === "file" ||
      el.type === "submit" || el.type === "button";
  }

  function draftForm(el) {
    var form = el && el.form;
    return form && form.hasAttribute("data-draft") ? form : null;
  }

  function csrf(form) {
    var f = form.querySelector("input[name=_csrf]");
    return f ? f.value : "";
  }

  function save(form) {
    var body = new URLSearchParams();
    body.append("_csrf", csrf(form));
    body.append("_draft_page", window.location.pathname);
    body.append("_draft_action", form.getAttribute("action") || window.location.pathname);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (skipped(el) || el.disabled) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      body.append(el.name, el.value);
    });
    // A session that ended answers with a redirect to sign-in: the draft saved before
    // stays, and the operator's next submit leads through sign-in back here.
    window.fetch("/drafts", { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "X-Draft": "1" } }).catch(function () {});
  }

  function schedule(ev) {
    var form = draftForm(ev.target);
    if (!form || skipped(ev.target)) return;
    window.clearTimeout(timers.get(form));
    timers.set(form, window.setTimeout(function () { save(form); }, DELAY));
  }
  document.addEventListener("input", schedule);
  document.addEventListener("change", schedule);
  // The save that is being sent deletes the draft; a late autosave must not bring it back.
  document.addEventListener("submit", function (ev) {
    if (ev.target instanceof HTMLFormElement) window.clearTimeout(timers.get(ev.target));
  }, true);

  function fill(form, fields) {
    var values = {};
    fields.forEach(function (f) { (values[f.name] = values[f.name] || []).push(f.value); });
    var seen = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (skipped(el)) return;
      var vs = values[el.name];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = !!vs && vs.indexOf(el.value) >= 0;
        return;
      }
      if (!vs) return;
      var i = seen[el.name] || 0;
      seen[el.name] = i + 1;
      if (i < vs.length) el.value = vs[i];
    });
  }

  function notice(form, draft) {
    var box = document.createElement("div");
    box.className = "flash flash-info draft-notice";
    box.setAttribute("role", "status");
    var p = document.createElement("p");
    p.textContent = "Restored your unsaved changes from " + draft.savedText + " — review and save.";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.textContent = "Discard draft";
    discard.addEventListener("click", function () {
      var body = new URLSearchParams();
      body.append("_csrf", csrf(form));
      body.append("_draft_page", window.location.pathname);
      window.fetch("/drafts/discard", { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
        headers: { "X-Draft": "1" } }).then(function () { window.location.reload(); });
    });
    // The live region is in the page before its words arrive, so that screen readers
    // announce them.
    form.parentNode.insertBefore(box, form);
    window.requestAnimationFrame(function () {
      box.appendChild(p);
      box.appendChild(discard);
    });
  }

  function restore() {
    var forms = document.querySelectorAll("form[data-draft]");
    if (forms.length === 0) return;
    window.fetch("/drafts?page=" + encodeURIComponent(window.location.pathname), {
      credentials: "same-origin", redirect: "manual", headers: { "X-Draft": "1" }
    }).then(function (res) {
      return res.status === 200 ? res.json() : null;
    }).then(function (draft) {
      if (!draft) return;
      Array.prototype.forEach.call(forms, function (form) {
        if ((form.getAttribute("action") || window.location.pathname) !== draft.action) return;
        fill(form, draft.fields || []);
        notice(form, draft);
      });
    }).catch(function () {});
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", restore);
  } else {
    restore();
  }
})();
