// Turn notifications on or off on this device (templates/push/_this_device.html).
//
// Loaded on every page (base.html) because boosted navigation does not run new <script> tags;
// it wakes up wherever a [data-push-device] block appears, on load and after HTMX swaps.
// The server refuses malformed subscriptions with a message, which is shown as is.
(function () {
  "use strict";

  function supported() {
    return window.isSecureContext && "serviceWorker" in navigator &&
      "PushManager" in window && "Notification" in window;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function keyBytes(base64url) {
    var text = base64url.replace(/-/g, "+").replace(/_/g, "/");
    text += "===".slice((text.length + 3) % 4);
    var raw = window.atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function sameKey(subscription, key) {
    var current = subscription.options && subscription.options.applicationServerKey;
    if (!current) return true; // the browser does not tell: trust it
    var a = new Uint8Array(current);
    if (a.length !== key.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== key[i]) return false;
    return true;
  }

  function setState(root, state) {
    root.querySelectorAll("[data-push-state]").forEach(function (node) {
      node.hidden = node.getAttribute("data-push-state") !== state;
    });
  }

  function showError(root, message) {
    var node = root.querySelector("[data-push-error]");
    if (!node) return;
    node.textContent = message || "";
    node.hidden = !message;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": csrfToken()
      },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "HTTP " + response.status);
          error.serverMessage = data.error;
          throw error;
        }
        return data;
      });
    });
  }

  // The service worker may not be active yet on a first visit; do not wait forever.
  function readyRegistration() {
    return Promise.race([
      navigator.serviceWorker.ready,
      new Promise(function (resolve, reject) {
        window.setTimeout(function () { reject(new Error("no-worker")); }, 10000);
      })
    ]);
  }

  function fingerprint(endpoint) {
    return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint))
      .then(function (digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function (b) {
          return ("0" + b.toString(16)).slice(-2);
        }).join("").slice(0, 32);
      });
  }

  // Mark "this device" in the list; false when the server does not list this browser.
  function markThisDevice(endpoint) {
    if (!endpoint) return Promise.resolve(false);
    return fingerprint(endpoint).then(function (mine) {
      var found = false;
      document.querySelectorAll("[data-push-fingerprint]").forEach(function (item) {
        var match = item.getAttribute("data-push-fingerprint") === mine;
        found = found || match;
        var mark = item.querySelector("[data-push-this-device]");
        if (mark) mark.hidden = !match;
      });
      return found;
    });
  }

  function refreshDevices(root) {
    var list = document.getElementById("push-devices");
    if (list && window.htmx) {
      return window.htmx.ajax("GET", root.getAttribute("data-devices-url"),
        { target: "#push-devices", swap: "outerHTML" });
    }
    return Promise.resolve();
  }

  function currentSubscription() {
    return navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    });
  }

  // Once per page load, signed in: tell the server this browser's subscription again. Signing
  // out forgets the device (a lent phone stops showing someone's notifications); signing back
  // in brings it back here without a visit to the settings.
  var synced = null;

  function sync() {
    if (synced) return synced;
    var signedIn = document.body && document.body.getAttribute("data-user-id");
    if (!signedIn || !supported() || Notification.permission !== "granted") {
      synced = Promise.resolve(null);
      return synced;
    }
    synced = currentSubscription().then(function (subscription) {
      if (!subscription) return null;
      return post("/push/subscriptions", subscription.toJSON())
        .then(function () { return subscription; });
    }).catch(function () { return null; });
    return synced;
  }

  // Show the state this browser is really in.
  function check(root) {
    if (!supported()) return Promise.resolve(setState(root, "unsupported"));
    if (Notification.permission === "denied") return Promise.resolve(setState(root, "denied"));
    var key = keyBytes(root.getAttribute("data-application-server-key"));
    return currentSubscription().then(function (subscription) {
      if (subscription && !sameKey(subscription, key)) {
        // The server's key changed: this subscription can no longer be used.
        return subscription.unsubscribe().then(function () { return null; });
      }
      return subscription;
    }).then(function (subscription) {
      if (!subscription || Notification.permission !== "granted") {
        setState(root, "off");
        return null;
      }
      setState(root, "on");
      return sync().then(function () {
        return markThisDevice(subscription.endpoint);
      }).then(function (listed) {
        // Registered again by sync() after the list was drawn: draw it again.
        if (!listed && document.getElementById("push-devices")) return refreshDevices(root);
        return null;
      });
    }).catch(function () {
      setState(root, "off");
    });
  }

  function turnOn(root, button) {
    showError(root, "");
    button.disabled = true;
    var key = keyBytes(root.getAttribute("data-application-server-key"));
    var errorNode = root.querySelector("[data-push-error]");
    return Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        var error = new Error(permission);
        error.state = permission === "denied" ? "denied" : "off";
        throw error;
      }
      return readyRegistration();
    }).then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        if (existing && sameKey(existing, key)) return existing;
        var cleared = existing ? existing.unsubscribe() : Promise.resolve();
        return cleared.then(function () {
          return registration.pushManager.subscribe({
            userVisibleOnly: true, applicationServerKey: key
          });
        });
      });
    }).then(function (subscription) {
      return post(root.getAttribute("data-subscribe-url"), subscription.toJSON())
        .catch(function (error) {
          // The server refused it: do not leave a subscription it will never use.
          return subscription.unsubscribe().then(function () { throw error; });
        });
    }).then(function () {
      setState(root, "on");
      return refreshDevices(root);
    }).catch(function (error) {
      if (error.state) {
        // The "denied" state already says notifications are blocked: no second message.
        setState(root, error.state);
        return;
      }
      var message = error.serverMessage ||
        errorNode.getAttribute(error.message === "no-worker" ? "data-msg-no-worker" : "data-msg-failed");
      showError(root, message);
    }).then(function () {
      button.disabled = false;
    });
  }

  function turnOff(root, button) {
    showError(root, "");
    button.disabled = true;
    return currentSubscription().then(function (subscription) {
      if (!subscription) return null;
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post(root.getAttribute("data-unsubscribe-url"), { endpoint: endpoint });
      });
    }).then(function () {
      setState(root, "off");
      return refreshDevices(root);
    }).catch(function () {
      showError(root, root.querySelector("[data-push-error]").getAttribute("data-msg-failed"));
    }).then(function () {
      button.disabled = false;
    });
  }

  function init(scope) {
    var roots = [];
    if (scope.matches && scope.matches("[data-push-device]")) roots.push(scope);
    if (scope.querySelectorAll) {
      scope.querySelectorAll("[data-push-device]").forEach(function (r) { roots.push(r); });
    }
    roots.forEach(function (root) {
      if (root.hasAttribute("data-push-ready")) return;
      root.setAttribute("data-push-ready", "");
      check(root);
    });
    // A refreshed device list: mark this device again.
    if (scope.id === "push-devices" || (scope.querySelector && scope.querySelector("#push-devices"))) {
      if (supported()) {
        currentSubscription().then(function (s) { return markThisDevice(s && s.endpoint); })
          .catch(function () { /* nothing to mark */ });
      }
    }
  }

  document.addEventListener("click", function (event) {
    var on = event.target.closest("[data-push-subscribe]");
    var off = event.target.closest("[data-push-unsubscribe]");
    var root = (on || off) && (on || off).closest("[data-push-device]");
    if (!root) return;
    event.preventDefault();
    if (on) turnOn(root, on);
    else turnOff(root, off);
  });

  // The service worker says an action was taken from a notification (e.g. "It works").
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      var data = event.data || {};
      var root = document.querySelector("[data-push-device]");
      if (data.type === "healthspace:push-action" && root) refreshDevices(root);
    });
  }

  function start() {
    sync();
    init(document);
  }

  document.addEventListener("htmx:load", function (event) { init(event.target); });
  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
