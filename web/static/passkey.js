// Passkeys: the browser's side of the WebAuthn ceremonies. Each button asks the console
// for options (POST, CSRF token in X-CSRF-Token), hands them to navigator.credentials,
// puts the answer as JSON in the form's hidden field and submits the form, so the
// console answers like any form post. Buttons are found by delegation, so a prompt swapped
// in later (step-up) works too. No inline script: the CSP is default-src 'self'.
(function () {
  "use strict";
  if (document.documentElement.dataset.passkeyReady) {
    return; // loaded twice on one page
  }
  document.documentElement.dataset.passkeyReady = "1";

  // What each button does: where the options come from, create or get, which hidden field
  // takes the answer.
  var ceremonies = {
    "passkey-signin": { options: "/login/passkey/options", kind: "get", field: "assertion" },
    "passkey-2fa": { options: "/login/second-factor/passkey/options", kind: "get", field: "assertion" },
    "passkey-step-up": { options: "/account/passkeys/step-up/options", kind: "get", field: "_step_up_passkey" },
    "passkey-add": { options: "/account/passkeys/options", kind: "create", field: "credential" }
  };

  function toBuffer(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function fromBuffer(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeCreation(pk) {
    pk.challenge = toBuffer(pk.challenge);
    pk.user.id = toBuffer(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return pk;
  }

  function decodeRequest(pk) {
    pk.challenge = toBuffer(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return pk;
  }

  // encode is the credential as JSON the console parses (PublicKeyCredential's toJSON).
  function encode(cred) {
    var r = cred.response;
    var response = { clientDataJSON: fromBuffer(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = fromBuffer(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = fromBuffer(r.authenticatorData);
      response.signature = fromBuffer(r.signature);
      if (r.userHandle) {
        response.userHandle = fromBuffer(r.userHandle);
      }
    }
    return JSON.stringify({
      id: cred.id, rawId: fromBuffer(cred.rawId), type: cred.type, response: response,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    });
  }

  // alertFor is the form's message element (role="alert"), made when the page has none.
  function alertFor(form, button) {
    var el = form.querySelector("[data-passkey-alert]") || form.querySelector("#passkey-add-error");
    if (!el) {
      el = document.createElement("p");
      el.className = "flash flash-error";
      el.setAttribute("role", "alert");
      el.setAttribute("data-passkey-alert", "");
      button.insertAdjacentElement("afterend", el);
    }
    return el;
  }

  function show(form, button, text) {
    var el = alertFor(form, button);
    el.textContent = text;
    el.hidden = false;
  }

  function clear(form) {
    var el = form.querySelector("[data-passkey-alert]") || form.querySelector("#passkey-add-error");
    if (el) {
      el.textContent = "";
      el.hidden = true;
    }
  }

  function words(err, kind) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "The passkey request was cancelled or timed out. Try again when your device or security key is ready.";
      case "InvalidStateError":
        return kind === "create" ? "This device or security key already holds a passkey for your account." : "This passkey cannot be used here.";
      case "SecurityError":
        return "This browser refused passkeys for this address. Open the console at its usual address and try again.";
      case "NotSupportedError":
        return "This device or security key cannot make a passkey the console accepts (it needs a screen lock, PIN or fingerprint).";
    }
    return (err && err.consoleMessage) || "Something went wrong with the passkey. Reload the page and try again.";
  }

  function fetchOptions(url, form, body) {
    var token = form.querySelector("input[name=_csrf]");
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": token ? token.value : "", "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json" },
      body: body
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var e = new Error("options");
          e.consoleMessage = data.error || "The console could not start the passkey request (" + res.status + "). Reload the page and try again.";
          throw e;
        }
        return data;
      });
    });
  }

  function run(button, spec) {
    var form = button.closest("form");
    if (!form) {
      return;
    }
    clear(form);
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(form, button, "This browser cannot use passkeys. Use another way to sign in, or a browser that supports passkeys.");
      return;
    }
    var body = new URLSearchParams();
    if (spec.kind === "create") {
      var name = form.querySelector("input[name=name]");
      if (name && !name.value.trim()) {
        show(form, button, "Give the passkey a name first, such as the device it is on.");
        name.focus();
        return;
      }
      body.set("name", name ? name.value : "");
    }
    button.disabled = true;
    fetchOptions(button.dataset.options || spec.options, form, body).then(function (opts) {
      if (spec.kind === "create") {
        return navigator.credentials.create({ publicKey: decodeCreation(opts.publicKey) });
      }
      return navigator.credentials.get({ publicKey: decodeRequest(opts.publicKey) });
    }).then(function (cred) {
      var field = form.querySelector("input[name=" + spec.field + "]");
      field.value = encode(cred);
      var next = form.dataset.next;
      if (next && next !== "/") {
        form.action = form.getAttribute("action").split("?")[0] + "?next=" + encodeURIComponent(next);
      }
      // requestSubmit lets htmx (the step-up prompt) see the submission; the form has no
      // visible field left to validate.
      if (form.requestSubmit) {
        form.noValidate = true;
        form.requestSubmit();
      } else {
        form.submit();
      }
    }).catch(function (err) {
      button.disabled = false;
      show(form, button, words(err, spec.kind));
    });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button");
    if (!button || !ceremonies[button.id]) {
      return;
    }
    ev.preventDefault();
    run(button, ceremonies[button.id]);
  });
})();
