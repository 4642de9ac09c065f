// Passkeys (WebAuthn) for sign-in (the button, and the email field's autofill),
// re-authentication, adding a passkey and joining.
// A block with data-passkey="authenticate|reauth|register|join" carries the two server URLs
// (data-options-url, data-verify-url) and its translated messages (data-msg-*); a button with
// data-passkey-start inside it runs the ceremony. Loaded on every page (boosted navigations do
// not load new <head> scripts), so it only hangs listeners on the document.
(function () {
  "use strict";

  var supported = !!(window.PublicKeyCredential && navigator.credentials &&
                     navigator.credentials.create && navigator.credentials.get);

  // ---- base64url <-> ArrayBuffer, for browsers without the JSON helpers ----------------
  function toBuffer(value) {
    var b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }
  function toBase64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: toBuffer(d.id) });
    });
  }
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      user: Object.assign({}, json.user, { id: toBuffer(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials)
    });
  }
  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: toBuffer(json.challenge),
      allowCredentials: descriptors(json.allowCredentials)
    });
  }
  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      try { return credential.toJSON(); } catch (e) { /* fall back below */ }
    }
    var r = credential.response, out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      out.response.userHandle = toBase64url(r.userHandle);
    }
    return out;
  }

  // ---- talking to the server ---------------------------------------------------------
  // The block's own token first: a boosted navigation swaps the body's content but keeps the
  // <body hx-headers> of the first page, whose token dies when signing in or out clears the session.
  function csrfToken(box) {
    if (box && box.dataset.csrf) return box.dataset.csrf;
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  function post(url, body, box) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrfToken(box) },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "");
          error.server = data;
          throw error;
        }
        return data;
      });
    });
  }

  // ---- the ceremony ------------------------------------------------------------------
  function say(box, text, isError) {
    var status = box.querySelector("[data-passkey-status]");
    if (!status) return;
    status.textContent = text || "";
    status.classList.toggle("field-error", !!isError);
    status.setAttribute("role", isError ? "alert" : "status");
  }
  function messageFor(box, error) {
    if (error.server) return error.message || box.dataset.msgFailed;
    switch (error.name) {
      case "NotAllowedError": case "AbortError": return box.dataset.msgCancelled;
      case "InvalidStateError": return box.dataset.msgExists;
      case "NotSupportedError": return box.dataset.msgUnsupported;
      case "TypeError": return box.dataset.msgNetwork;
      default: return box.dataset.msgFailed;
    }
  }
  function fields(box) {
    // The join form's typed details, or the new passkey's name: every named field around the
    // box except secrets.
    var scope = box.closest("form") || box, data = {};
    scope.querySelectorAll("input[name], select[name]").forEach(function (input) {
      if (input.name === "password" || input.name === "csrf_token" || input.type === "submit") return;
      data[input.name] = input.value;
    });
    return data;
  }

  // ---- passkey autofill (conditional mediation) --------------------------------------
  // On the sign-in page (a box with data-autofill) the browser offers this site's passkeys
  // among the email field's suggestions (autocomplete="username webauthn"); picking one signs
  // in. The request waits for the person; the button's ceremony aborts it first, as a browser
  // takes one passkey request at a time.
  var waiting = null;  // the AbortController of the autofill request, while it waits
  // The autofill's request for options until its answer is in. Each answer sets the
  // ceremony's cookie to its own challenge: the button asks for its own only after, or the
  // autofill's answer could arrive last and the button's passkey be refused. (That cookie is
  // not the session's: a password sign-in made meanwhile is never undone by it.)
  var answering = null;
  function stopAutofill() {
    if (waiting) { waiting.abort(); waiting = null; }
    return answering || Promise.resolve();
  }
  function autofill(root) {
    var box = (root || document).querySelector("[data-passkey=authenticate][data-autofill]");
    if (!box || waiting || !supported || !PublicKeyCredential.isConditionalMediationAvailable) return;
    var controller = waiting = new AbortController();
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      // Asking for options replaces the session's challenge: not once the button has begun.
      if (!available || controller.signal.aborted) throw new Error("autofill not started");
      var asked = post(box.dataset.optionsUrl, {}, box);
      answering = asked.catch(function () {});  // settled once answered, whatever the answer
      return asked;
    }).then(function (data) {
      answering = null;
      if (controller.signal.aborted) throw new Error("autofill stopped");
      return navigator.credentials.get({ mediation: "conditional", signal: controller.signal,
                                         publicKey: requestOptions(data.publicKey) });
    }).then(function (credential) {
      return post(box.dataset.verifyUrl, { credential: credentialJSON(credential) }, box);
    }).then(function (result) {
      window.location.assign(result.redirect || "/");
    }).catch(function (error) {
      if (waiting === controller) waiting = null;
      answering = null;
      // Only what the server refused is worth saying: the person did not ask for anything.
      if (error.server) say(box, messageFor(box, error), true);
    });
  }

  function run(box, button) {
    var kind = box.dataset.passkey, creating = kind === "register" || kind === "join";
    if (!supported) { say(box, box.dataset.msgUnsupported, true); return; }
    var typed = fields(box);
    button.disabled = true;
    say(box, box.dataset.msgBusy, false);
    stopAutofill().then(function () {
      return post(box.dataset.optionsUrl, typed, box);
    }).then(function (data) {
      return creating
        ? navigator.credentials.create({ publicKey: creationOptions(data.publicKey) })
        : navigator.credentials.get({ publicKey: requestOptions(data.publicKey) });
    }).then(function (credential) {
      return post(box.dataset.verifyUrl,
                  Object.assign({ credential: credentialJSON(credential) }, typed), box);
    }).then(function (result) {
      say(box, "", false);
      window.location.assign(result.redirect || "/");
    }).catch(function (error) {
      button.disabled = false;
      if (error.server && error.server.redirect) {  // e.g. "confirm it is you" first
        window.location.assign(error.server.redirect);
        return;
      }
      say(box, messageFor(box, error), true);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey-start]");
    var box = button && button.closest("[data-passkey]");
    if (!box) return;
    event.preventDefault();
    run(box, button);
  });

  // Offer the passkey buttons only where they can work; otherwise say why.
  function reveal(root) {
    (root || document).querySelectorAll("[data-passkey]").forEach(function (box) {
      box.querySelectorAll("[data-passkey-start]").forEach(function (b) { b.hidden = !supported; });
      box.querySelectorAll("[data-passkey-unsupported]").forEach(function (p) { p.hidden = supported; });
    });
  }
  function ready(root) { reveal(root); autofill(root); }
  document.addEventListener("DOMContentLoaded", function () { ready(document); });
  document.addEventListener("htmx:load", function (event) { ready(event.target); });
  if (document.readyState !== "loading") ready(document);
})();
