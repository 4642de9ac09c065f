// The one Socket.IO connection of a signed-in page (namespace /chat). It reconnects by itself;
// pages listen through HSChat.on(). It also keeps the tab bar's unread badge live and tells
// the server a message reached this device ("delivered").
(function () {
  "use strict";
  var listeners = {};
  var socket = null;
  var badgeTimer = null;

  function me() { return document.body ? document.body.getAttribute("data-user-id") : ""; }

  function fire(event, data) {
    (listeners[event] || []).forEach(function (fn) {
      try { fn(data); } catch (e) { if (window.console) console.error(e); }
    });
  }

  function refreshBadge() {
    clearTimeout(badgeTimer);
    badgeTimer = setTimeout(function () {
      fetch("/chat/unread", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          var badge = document.getElementById("unread-badge");
          if (!data || !badge) return;
          badge.textContent = data.count > 99 ? "99+" : String(data.count || "");
          badge.hidden = !data.count;
        }).catch(function () {});
    }, 250);
  }

  function connect() {
    if (socket || !me() || typeof window.io !== "function") return;
    socket = window.io("/chat", { transports: ["websocket", "polling"] });
    ["connect", "disconnect", "connect_error"].forEach(function (name) {
      socket.on(name, function (arg) { fire(name, arg); });
    });
    ["new_message", "receipt", "typing", "closed", "list_changed", "unread_changed", "access_lost",
     "members_changed", "access_changed"]
      .forEach(function (name) { socket.on(name, function (data) { fire(name, data); }); });
    socket.on("new_message", function (data) {
      if (String(data.author_id) !== me()) {
        socket.emit("delivered", { conversation_id: data.conversation_id, message_id: data.id });
        refreshBadge();
      }
    });
    socket.on("unread_changed", refreshBadge);
    socket.on("list_changed", refreshBadge);
  }

  // A socket can look open for a minute after the network went away (until a ping fails):
  // when the browser says it is offline, drop it so messages wait in the outbox, visibly.
  window.addEventListener("offline", function () {
    if (socket && socket.connected) socket.disconnect();
  });
  window.addEventListener("online", function () {
    if (socket && !socket.connected) socket.connect();
  });

  window.HSChat = {
    on: function (event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    socket: function () { return socket; },
    connected: function () { return !!(socket && socket.connected); },
    emit: function (event, data, timeoutMs) {
      // Resolves with the server's acknowledgement, rejects on timeout or no connection.
      return new Promise(function (resolve, reject) {
        if (!socket || !socket.connected) return reject(new Error("offline"));
        socket.timeout(timeoutMs || 10000).emit(event, data, function (err, reply) {
          if (err) reject(err); else resolve(reply);
        });
      });
    },
    refreshBadge: refreshBadge,
    me: me
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect);
  else connect();
})();
