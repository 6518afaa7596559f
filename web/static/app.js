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

// Keyboard: "/" jumps to the customer search, and the focus survives htmx updates.
(function () {
  "use strict";
  function typingIn(el) {
    if (!el || !(el instanceof Element)) return false;
    return el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }
  // The header's hint is there only for operators who may search, and says so only when
  // this script runs to make the shortcut work (again after an update that brings a new
  // header).
  function searchHint() {
    var hint = document.querySelector("[data-search-shortcut]");
    if (hint) hint.hidden = false;
    return hint;
  }
  searchHint();
  document.addEventListener("htmx:afterSettle", searchHint);
  var box = document.getElementById("customer-q");
  if (box && window.location.hash === "#customer-q") box.focus();

  // "/" alone (Shift allowed: some keyboard layouts need it to type "/"), never while the
  // operator types into a field or a dialog is open, nor with Control, Alt or Meta.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.altKey || ev.metaKey || ev.isComposing || ev.defaultPrevented) return;
    var hint = searchHint();
    if (!hint || typingIn(ev.target) || typingIn(document.activeElement) || document.querySelector("dialog[open]")) return;
    ev.preventDefault();
    var q = document.getElementById("customer-q");
    if (q) { q.focus(); q.select(); return; }
    window.location.assign(hint.getAttribute("data-search-shortcut"));
  });

  // When an update replaces the element that had the focus, the focus would fall back to
  // the page's start. Move it to what the update brought instead: an error first, then the
  // same control in its new form (a paging link, a filter's button), then the result.
  var before = null;
  document.addEventListener("htmx:beforeSwap", function () { before = document.activeElement; });
  // A modal dialog keeps the Tab key inside it (the page behind is inert, so Tab would
  // otherwise leave for the browser's own controls), and gives the focus back to the
  // control that opened it when it closes.
  var openers = new WeakMap();
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) {
      if (!openers.has(d) && before && before.isConnected && !d.contains(before)) openers.set(d, before);
    });
  });
  document.addEventListener("close", function (ev) {
    // The step-up prompt is closed and at once reopened as modal: that close is no exit.
    if (ev.target.open) return;
    var opener = openers.get(ev.target);
    var active = document.activeElement;
    if (opener && opener.isConnected && (!active || active === document.body || ev.target.contains(active))) opener.focus();
  }, true);
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Tab" || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    var modal = document.querySelector("dialog[open]:modal");
    if (!modal) return;
    var items = Array.prototype.filter.call(modal.querySelectorAll(
      "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"), shown);
    if (items.length === 0) return;
    var first = items[0], last = items[items.length - 1], active = document.activeElement;
    if (!modal.contains(active) || (!ev.shiftKey && active === last)) { ev.preventDefault(); first.focus(); }
    else if (ev.shiftKey && active === first) { ev.preventDefault(); last.focus(); }
  });
  function shown(el) { return el.getClientRects().length > 0; }
  function firstShown(root, selector) {
    var all = root.querySelectorAll(selector);
    for (var i = 0; i < all.length; i++) if (shown(all[i])) return all[i];
    return null;
  }
  function sameControl(root, old) {
    if (!old || !(old instanceof Element) || old === document.body) return null;
    var text = old.textContent.trim();
    var all = root.querySelectorAll(old.tagName);
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      if (el.textContent.trim() === text && el.getAttribute("name") === old.getAttribute("name") && shown(el)) return el;
    }
    return null;
  }
  document.addEventListener("htmx:afterSettle", function (ev) {
    var root = ev.target;
    var active = document.activeElement;
    if (!(root instanceof Element) || !root.isConnected) return;
    if (active && active !== document.body && active.isConnected) return;
    var to = firstShown(root, "[role=alert]") || sameControl(root, before) ||
      firstShown(root, "[role=status], h1, h2, h3") || root;
    if (!to.matches("a[href], button, input, select, textarea, [tabindex]")) to.setAttribute("tabindex", "-1");
    to.focus();
  });
})();

// Filters: the address names only the filters that are set, never "from=&to=&…". htmx
// requests drop the empty fields as they are built; a form sent without htmx has them
// disabled for the moment it is sent (the server redirects to the same address anyway).
(function () {
  "use strict";
  function isEmpty(v) { return typeof v === "string" && v.trim() === ""; }
  document.addEventListener("htmx:configRequest", function (ev) {
    var elt = ev.detail.elt;
    var form = elt && elt.closest && elt.closest("form[data-omit-empty]");
    var data = ev.detail.formData;
    if (!form || !data) return;
    var drop = [];
    data.forEach(function (v, k) { if (isEmpty(v)) drop.push(k); });
    drop.forEach(function (k) { data.delete(k); });
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-omit-empty")) return;
    if (window.htmx && (form.hasAttribute("data-hx-get") || form.hasAttribute("hx-get"))) return;
    var off = Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !el.disabled && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) && isEmpty(el.value);
    });
    off.forEach(function (el) { el.disabled = true; });
    window.setTimeout(function () { off.forEach(function (el) { el.disabled = false; }); }, 0);
  }, true);
})();

// A form sent by htmx whose request never got an answer (the connection dropped, the
// console was unreachable) stays as the operator typed it, and says so; nothing is
// reloaded, so nothing typed is lost. An answer with an error status (a 503 included) is
// a page of the console's own and is shown as any answer is.
(function () {
  "use strict";
  function tell(form) {
    var id = "network-error";
    var p = document.getElementById(id);
    if (!p) {
      p = document.createElement("p");
      p.id = id;
      p.className = "flash flash-error";
      p.setAttribute("role", "alert");
      p.setAttribute("tabindex", "-1");
    }
    p.textContent = (form.method || "").toLowerCase() === "post"
      ? "The console could not be reached; your change is still here — try again."
      : "The console could not be reached — try again.";
    form.parentNode.insertBefore(p, form);
    p.focus();
  }
  document.addEventListener("htmx:sendError", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    var form = elt && elt.closest && elt.closest("form");
    if (form) tell(form);
  });
  document.addEventListener("htmx:afterRequest", function (ev) {
    var p = document.getElementById("network-error");
    if (p && ev.detail && ev.detail.successful) p.remove();
  });
})();
