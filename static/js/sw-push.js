// The service worker's push half, imported by /sw.js with importScripts().
//
// - `push`: shows the notification the server sent (webapp/push/services.py builds it:
//   {title, body, url, tag, kind, actions: [{action, title}], data: {action_url, token, …}}).
//   The server decides what text goes out (no health detail unless the person chose it).
// - `notificationclick`: a plain tap focuses a window of the app on the payload's url, or opens
//   one. An action button ("taken", "snooze", "confirm") POSTs {action, token} to
//   data.action_url without opening the app; the token authenticates it (no CSRF token exists
//   here). If that POST fails (offline, expired), the app opens so the person can act there.
// - `pushsubscriptionchange`: the browser replaced the subscription; tell the server.
//
// Only same-origin URLs are ever opened or posted to.
(function () {
  "use strict";

  var ORIGIN = self.location.origin;
  var ICON = "/static/icons/icon-192.png";
  // Shown only when a push arrives without a readable payload: the browser insists on a
  // notification for every push, and the server's text (in the person's language) is missing.
  var FALLBACK = {
    en: { title: "Health Space", body: "You have a new notification." },
    fr: { title: "Health Space", body: "Vous avez une nouvelle notification." }
  };

  function fallbackText() {
    var lang = ((self.navigator && self.navigator.language) || "en").slice(0, 2).toLowerCase();
    return FALLBACK[lang] || FALLBACK.en;
  }

  function sameOrigin(url, fallback) {
    if (typeof url !== "string" || !url) return fallback;
    try {
      var parsed = new URL(url, ORIGIN);
      if (parsed.origin === ORIGIN) return parsed.href;
    } catch (error) { /* not a URL */ }
    return fallback;
  }

  function readPayload(pushData) {
    if (!pushData) return null;
    try {
      var payload = pushData.json();
      return payload && typeof payload === "object" && !Array.isArray(payload) ? payload : null;
    } catch (error) {
      return null;
    }
  }

  function maxActions() {
    return (self.Notification && self.Notification.maxActions) || 2;
  }

  // Build and show the notification for one payload (null: the fallback text).
  function show(payload) {
    var text = fallbackText();
    payload = payload || {};
    var extra = payload.data && typeof payload.data === "object" ? payload.data : {};
    var data = {};
    Object.keys(extra).forEach(function (key) { data[key] = extra[key]; });
    data.url = sameOrigin(payload.url, ORIGIN + "/");
    data.kind = typeof payload.kind === "string" ? payload.kind : "";
    data.action_url = sameOrigin(extra.action_url, null);
    var actions = (Array.isArray(payload.actions) ? payload.actions : [])
      .filter(function (a) {
        return a && typeof a.action === "string" && typeof a.title === "string" && data.action_url;
      })
      .slice(0, maxActions())
      .map(function (a) { return { action: a.action, title: a.title }; });
    var options = {
      body: typeof payload.body === "string" ? payload.body : text.body,
      icon: ICON,
      badge: ICON,
      data: data,
      actions: actions,
      timestamp: Date.now(),
      // A medication reminder stays until the person answers it.
      requireInteraction: data.kind === "medication"
    };
    if (typeof payload.tag === "string" && payload.tag) {
      options.tag = payload.tag;
      options.renotify = true; // a newer notification with the same tag still alerts
    }
    var title = typeof payload.title === "string" && payload.title ? payload.title : text.title;
    return self.registration.showNotification(title, options);
  }

  function windows() {
    return self.clients.matchAll({ type: "window", includeUncontrolled: true });
  }

  // Focus a window of the app on `url`, or open one.
  function openApp(url) {
    url = sameOrigin(url, ORIGIN + "/");
    return windows().then(function (list) {
      var exact = list.filter(function (c) { return c.url === url; })[0];
      if (exact && exact.focus) return exact.focus();
      var controlled = list.filter(function (c) { return c.url.indexOf(ORIGIN) === 0; })[0];
      if (controlled && controlled.focus && controlled.navigate) {
        return controlled.focus().then(function (focused) {
          return (focused || controlled).navigate(url);
        }).catch(function () { return self.clients.openWindow(url); });
      }
      return self.clients.openWindow(url);
    });
  }

  // Tell open pages that an action was taken, so they can refresh what they show.
  function announce(data, action) {
    return windows().then(function (list) {
      list.forEach(function (c) {
        c.postMessage({ type: "healthspace:push-action", action: action, kind: data.kind });
      });
    });
  }

  function postAction(data, action) {
    return fetch(data.action_url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ action: action, token: data.token || "" })
    }).then(function (response) {
      if (!response.ok) throw new Error("action refused: HTTP " + response.status);
      return response;
    });
  }

  // What a tap does: `action` is "" for the notification body, else the button's action.
  function click(data, action) {
    data = data || {};
    if (action && data.action_url) {
      return postAction(data, action)
        .then(function () { return announce(data, action); })
        .catch(function () { return openApp(data.url); });
    }
    return openApp(data.url);
  }

  function resubscribe(oldSubscription, newSubscription) {
    var key = oldSubscription && oldSubscription.options &&
      oldSubscription.options.applicationServerKey;
    var next = newSubscription ? Promise.resolve(newSubscription)
      : self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    return next.then(function (subscription) {
      if (!oldSubscription) return null;
      var old = oldSubscription.toJSON();
      return fetch("/push/subscriptions/renew", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          old_endpoint: old.endpoint, old_auth: old.keys && old.keys.auth,
          subscription: subscription.toJSON()
        })
      });
    });
  }

  self.addEventListener("push", function (event) {
    event.waitUntil(show(readPayload(event.data)));
  });

  self.addEventListener("notificationclick", function (event) {
    var notification = event.notification;
    notification.close();
    event.waitUntil(click(notification.data, event.action));
  });

  self.addEventListener("pushsubscriptionchange", function (event) {
    event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
  });

  // The handlers' bodies, reachable from the worker's own scope only (DevTools, tests):
  // a page cannot call into a service worker.
  self.healthspacePush = { show: show, click: click };
})();
