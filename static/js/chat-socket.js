// The one Socket.IO connection of a signed-in page (namespace /chat). It reconnects by itself;
// pages listen through HSChat.on(). It also keeps the tab bar's unread badge live and tells
// the server a message reached this device ("delivered"), unless its conversation is open on
// screen, where the conversation page says "read" instead.
(function () {
  "use strict";
  var listeners = {};
  var socket = null;
  var badgeTimer = null;
  var badgeAsked = 0;  // the latest answer wins: a fetch answered after an event is stale

  function me() { return document.body ? document.body.getAttribute("data-user-id") : ""; }

  function fire(event, data) {
    (listeners[event] || []).forEach(function (fn) {
      try { fn(data); } catch (e) { if (window.console) console.error(e); }
    });
  }

  function setBadge(count) {
    var badge = document.getElementById("unread-badge");
    if (!badge) return;
    badge.textContent = count > 99 ? "99+" : String(count || "");
    badge.hidden = !count;
  }

  function refreshBadge() {
    clearTimeout(badgeTimer);
    badgeTimer = setTimeout(function () {
      var asked = ++badgeAsked;
      fetch("/chat/unread", { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && asked === badgeAsked) setBadge(data.count); })
        .catch(function () {});
    }, 250);
  }

  // The conversation is open on screen: its page says "read" in a moment (chat.js), which
  // tells the author the message reached this device too, and leaves the badge as it was.
  function onScreen(conversationId) {
    return document.visibilityState === "visible" &&
      !!document.querySelector('#chat[data-conversation-id="' + conversationId + '"]');
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
      if (String(data.author_id) !== me() && !onScreen(data.conversation_id)) {
        // The reply brings the new unread total for the badge.
        var asked = ++badgeAsked;
        socket.timeout(10000).emit("delivered", { conversation_id: data.conversation_id, message_id: data.id }, function (err, reply) {
          if (err || !reply || typeof reply.unread !== "number") return refreshBadge();
          if (asked === badgeAsked) setBadge(reply.unread);
        });
      }
    });
    // After reading, on any device of this person: the new total comes with the event.
    socket.on("unread_changed", function (data) {
      if (!data || typeof data.count !== "number") return refreshBadge();
      clearTimeout(badgeTimer);
      badgeAsked++;
      setBadge(data.count);
    });
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
