// The conversation screen and the conversation list. Markup comes from the server
// (chat/_message.html); this file only places it, tracks the outbox, receipts and typing.
(function () {
  "use strict";
  var chat = null;        // the #chat section of the open conversation, if any
  var typingTimer = null, lastTypingSent = 0, readTimer = null, listTimer = null;
  var flushing = false, syncing = false;
  var MAX_TRIES = 3;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function str(name, vars) {
    var text = (chat && chat.getAttribute("data-str-" + name)) || "";
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }
  function me() { return window.HSChat ? window.HSChat.me() : ""; }
  function convId() { return chat ? parseInt(chat.getAttribute("data-conversation-id"), 10) : null; }
  function list() { return document.getElementById("message-list"); }
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function lastId() {
    var ids = $all(".msg[data-id]", list()).map(function (li) { return parseInt(li.getAttribute("data-id"), 10); });
    return ids.length ? Math.max.apply(null, ids) : 0;
  }
  function dayKey(date) {
    return date.getFullYear() + "-" + ("0" + (date.getMonth() + 1)).slice(-2) + "-" + ("0" + date.getDate()).slice(-2);
  }

  // ---- Placing server-rendered messages -------------------------------------------------

  function localise(li) {
    var time = $("time[data-local-time]", li);
    if (time) {
      var date = new Date(time.getAttribute("datetime"));
      if (!isNaN(date)) {
        time.textContent = date.toLocaleTimeString(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit" });
        li.setAttribute("data-day", dayKey(date));
      }
    }
    // Fragments come rendered for the language this socket connected with; relabel in the
    // page's own in case the reader changed it since.
    var by = $(".msg__for", li);
    if (by && chat && str("written-for")) {
      by.textContent = str("written-for", { by: by.getAttribute("data-by"), "for": by.getAttribute("data-for") });
    }
    setStatus(li, li.getAttribute("data-status"));
  }

  function setStatus(li, status) {
    li.setAttribute("data-status", status);
    var label = $(".msg__status", li);
    if (!label || !chat) return;
    var readBy = (label.getAttribute("data-read-by") || "").split(", ").filter(Boolean);
    var text = {
      sending: str("sending"), waiting: str("waiting"), failed: str("failed"),
      sent: str("sent"), delivered: str("delivered"), read: str("read")
    }[status];
    if (status === "read" && chat.getAttribute("data-group") === "true" && readBy.length) {
      text = str("read-by", { names: readBy.join(", ") });
    }
    if (text) label.textContent = text;
  }

  function daySeparator(key) {
    var li = document.createElement("li");
    li.className = "msg-day";
    li.setAttribute("data-day", key);
    var h = document.createElement("h2");
    h.className = "msg-day__label";
    var today = dayKey(new Date());
    h.textContent = key === today ? str("today") : new Date(key + "T12:00:00").toLocaleDateString(document.documentElement.lang || undefined, { weekday: "long", day: "numeric", month: "long" });
    li.appendChild(h);
    return li;
  }

  function insertHtml(html) {
    var ol = list();
    if (!ol) return null;
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    var li = tpl.content.querySelector("li.msg");
    if (!li) return null;
    localise(li);
    var existing = document.getElementById(li.id);
    if (existing) {
      // Keep the furthest status we already know (a receipt may have arrived first).
      var order = ["sent", "delivered", "read"];
      if (order.indexOf(existing.getAttribute("data-status")) > order.indexOf(li.getAttribute("data-status"))) {
        li = existing;
      } else {
        existing.replaceWith(li);
      }
      return li;
    }
    var pending = $all(".msg--pending", ol).filter(function (p) { return p.getAttribute("data-client-id") === li.getAttribute("data-client-id"); })[0];
    // Its own pending bubble goes first: it may be the "before" anchor chosen below.
    if (pending) pending.remove();
    var id = parseInt(li.getAttribute("data-id"), 10);
    // Server order: after the last stored message with a smaller id, before pending ones.
    var before = null;
    $all(".msg[data-id]", ol).some(function (m) {
      if (parseInt(m.getAttribute("data-id"), 10) > id) { before = m; return true; }
      return false;
    });
    if (!before) before = $(".msg--pending", ol);
    var prev = before ? before.previousElementSibling : ol.lastElementChild;
    while (prev && !prev.classList.contains("msg") && !prev.classList.contains("msg-day")) prev = prev.previousElementSibling;
    var prevDay = prev ? prev.getAttribute("data-day") : null;
    $all(".empty-chat", ol).forEach(function (e) { e.remove(); });
    if (li.getAttribute("data-day") !== prevDay) ol.insertBefore(daySeparator(li.getAttribute("data-day")), before);
    ol.insertBefore(li, before);
    return li;
  }

  function dedupeDays() {
    var prevDay = null;
    $all("#message-list > li").forEach(function (li) {
      if (li.classList.contains("msg-day") && li.hasAttribute("data-day")) {
        if (li.getAttribute("data-day") === prevDay) li.remove();
        else prevDay = li.getAttribute("data-day");
      } else if (li.classList.contains("msg")) {
        prevDay = li.getAttribute("data-day") || prevDay;
      }
    });
  }

  function scrollToEnd() {
    var composer = document.getElementById("composer-area");
    (composer || list()).scrollIntoView({ block: "end" });
  }

  // ---- Reading ------------------------------------------------------------------------

  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (!chat || document.visibilityState !== "visible" || !window.HSChat.connected()) return;
      var id = lastId();
      if (id) window.HSChat.emit("read", { conversation_id: convId(), message_id: id }).then(function () { window.HSChat.refreshBadge(); }).catch(function () {});
    }, 300);
  }

  function sync() {
    if (!chat || syncing || !window.HSChat.connected()) return Promise.resolve();
    syncing = true;
    var conversation = convId();
    function page() {
      return window.HSChat.emit("sync", { conversation_id: conversation, after_id: lastId() }).then(function (reply) {
        if (!reply || !reply.ok || convId() !== conversation) return;
        reply.messages.forEach(function (m) { insertHtml(m.html); });
        if (reply.more) return page();
      });
    }
    return page().catch(function () {}).then(function () { syncing = false; markRead(); });
  }

  // ---- The outbox ---------------------------------------------------------------------

  function pendingBubble(item) {
    var ol = list();
    var existing = $all(".msg--pending", ol).filter(function (p) { return p.getAttribute("data-client-id") === item.client_id; })[0];
    if (existing) return existing;
    var tpl = document.getElementById("pending-template");
    var li = tpl.content.firstElementChild.cloneNode(true);
    li.setAttribute("data-client-id", item.client_id);
    $(".msg__body", li).textContent = item.body;
    $all(".empty-chat", ol).forEach(function (e) { e.remove(); });
    ol.appendChild(li);
    return li;
  }

  function showPending(item) {
    var li = pendingBubble(item);
    var status = item.failed ? "failed" : (window.HSChat.connected() ? "sending" : "waiting");
    li.setAttribute("data-status", status);
    var label = $(".msg__status", li);
    label.textContent = item.error ? str("failed") + " — " + item.error : str(status);
    $(".msg__resend", li).hidden = !item.failed;
  }

  function flush() {
    if (!chat || flushing) return;
    var conversation = convId();
    flushing = true;
    window.HSOutbox.list(conversation).then(function (items) {
      items.forEach(showPending);
      var chain = Promise.resolve();
      var stop = false;
      items.forEach(function (item) {
        chain = chain.then(function () {
          if (stop || item.failed || !window.HSChat.connected()) { stop = stop || !item.failed; return; }
          showPending(item);
          return window.HSChat.emit("send_message", {
            conversation_id: item.conversation_id, client_id: item.client_id, body: item.body
          }).then(function (reply) {
            if (reply && reply.ok) {
              return window.HSOutbox.remove(item.client_id).then(function () { insertHtml(reply.html); });
            }
            // Refused (too long, closed, no access…): retrying will not help; say why.
            item.failed = true; item.error = (reply && reply.error) || str("failed");
            return window.HSOutbox.put(item).then(function () { showPending(item); });
          }, function () {
            item.tries = (item.tries || 0) + 1;
            if (item.tries >= MAX_TRIES) item.failed = true;
            stop = true;  // keep the order: nothing after it goes before it does
            return window.HSOutbox.put(item).then(function () { showPending(item); });
          });
        });
      });
      return chain;
    }).catch(function () {}).then(function () { flushing = false; });
  }

  function submit(form) {
    var textarea = $("textarea[name=body]", form);
    var body = textarea.value.trim();
    var error = document.getElementById("composer-error");
    var max = parseInt(form.getAttribute("data-max"), 10) || 4000;
    if (!body) { textarea.focus(); return; }
    if (body.length > max) { if (error) error.textContent = str("count", { n: body.length, max: max }); return; }
    if (error) error.textContent = "";
    var item = { client_id: newClientId(), conversation_id: convId(), body: body, created: Date.now(), tries: 0 };
    textarea.value = "";
    updateCounter(textarea);
    window.HSOutbox.put(item).then(function () {
      showPending(item);
      scrollToEnd();
      flush();
    });
  }

  function updateCounter(textarea) {
    var counter = document.getElementById("composer-count");
    var form = textarea.form;
    if (!counter || !form) return;
    var max = parseInt(form.getAttribute("data-max"), 10) || 4000;
    counter.textContent = str("count", { n: textarea.value.length, max: max });
    counter.classList.toggle("composer__count--near", textarea.value.length > max * 0.9);
  }

  // ---- Page set-up (first load and every boosted navigation) ---------------------------

  function setUp() {
    var found = document.getElementById("chat");
    if (found !== chat) {
      chat = found;
      if (chat) {
        $all("#message-list .msg").forEach(localise);
        dedupeDays();
        scrollToEnd();
        sync().then(flush);
        connectionNotice();
      }
    }
  }

  function connectionNotice() {
    var notice = document.getElementById("chat-connection");
    if (!notice) return;
    var offline = !navigator.onLine || (window.HSChat.socket() && !window.HSChat.connected());
    notice.hidden = !offline;
    notice.textContent = offline ? str("offline") : "";
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-composer]");
    if (!form || !window.HSOutbox) return;
    // The outbox takes over from htmx (and from the plain POST kept for no-JS use).
    event.preventDefault();
    event.stopImmediatePropagation();
    submit(form);
  }, true);

  document.addEventListener("keydown", function (event) {
    // Enter sends on a keyboard with a desktop layout; Shift+Enter adds a line.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing &&
        event.target.matches && event.target.matches("form[data-composer] textarea") &&
        window.matchMedia("(pointer: fine)").matches) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("input", function (event) {
    if (!event.target.matches || !event.target.matches("form[data-composer] textarea")) return;
    updateCounter(event.target);
    var now = Date.now();
    if (now - lastTypingSent > 2500 && window.HSChat.connected() && event.target.value) {
      lastTypingSent = now;
      window.HSChat.emit("typing", { conversation_id: convId() }).catch(function () {});
    }
  });

  document.addEventListener("click", function (event) {
    var quick = event.target.closest && event.target.closest("[data-quick-reply]");
    if (quick) {
      var textarea = $("form[data-composer] textarea");
      if (textarea) {
        textarea.value = (textarea.value ? textarea.value + " " : "") + quick.getAttribute("data-quick-reply");
        updateCounter(textarea);
        textarea.focus();
      }
      return;
    }
    var resend = event.target.closest && event.target.closest(".msg__resend");
    if (resend) {
      var li = resend.closest(".msg--pending");
      window.HSOutbox.list(convId()).then(function (items) {
        items.forEach(function (item) {
          if (item.client_id === li.getAttribute("data-client-id")) {
            item.failed = false; item.tries = 0; item.error = null;
            window.HSOutbox.put(item).then(function () { showPending(item); flush(); });
          }
        });
      });
    }
  });

  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") markRead(); });
  window.addEventListener("online", function () { connectionNotice(); flush(); });
  window.addEventListener("offline", connectionNotice);
  document.addEventListener("htmx:load", setUp);
  document.addEventListener("htmx:afterSettle", function (event) {
    setUp();
    if (event.target && event.target.id === "message-list" || (event.detail && event.detail.target && event.detail.target.closest && event.detail.target.closest("#message-list"))) {
      $all("#message-list .msg").forEach(function (li) { if (!li.hasAttribute("data-localised")) { localise(li); li.setAttribute("data-localised", ""); } });
      dedupeDays();
    }
  });

  function whenReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  whenReady(function () {
    if (!window.HSChat) return;
    setUp();
    window.HSChat.on("connect", function () { connectionNotice(); sync().then(flush); });
    window.HSChat.on("disconnect", connectionNotice);
    window.HSChat.on("new_message", function (data) {
      if (chat && data.conversation_id === convId()) {
        var atEnd = (window.innerHeight + window.scrollY) >= document.body.scrollHeight - 120;
        insertHtml(data.html);
        if (atEnd || String(data.author_id) === me()) scrollToEnd();
        if (String(data.author_id) !== me()) markRead();
      }
      refreshList();
    });
    window.HSChat.on("receipt", function (data) {
      if (!chat || data.conversation_id !== convId() || String(data.user_id) === me()) return;
      $all('#message-list .msg[data-author="' + me() + '"][data-id]').forEach(function (li) {
        if (parseInt(li.getAttribute("data-id"), 10) > data.up_to) return;
        if (data.kind === "read") {
          var label = $(".msg__status", li);
          var names = (label.getAttribute("data-read-by") || "").split(", ").filter(Boolean);
          if (names.indexOf(data.name) < 0) names.push(data.name);
          label.setAttribute("data-read-by", names.join(", "));
          setStatus(li, "read");
        } else if (li.getAttribute("data-status") === "sent") {
          setStatus(li, "delivered");
        }
      });
    });
    window.HSChat.on("typing", function (data) {
      if (!chat || data.conversation_id !== convId() || String(data.user_id) === me()) return;
      var el = document.getElementById("typing");
      el.textContent = str("typing", { name: data.name });
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { el.textContent = ""; }, 4000);
    });
    window.HSChat.on("closed", function (data) {
      if (chat && data.conversation_id === convId() && window.htmx) {
        htmx.ajax("GET", "/chat/" + convId() + "/composer", { target: "#composer-area", swap: "outerHTML" });
      }
      refreshList();
    });
    window.HSChat.on("access_lost", function (data) {
      if (chat && data.conversation_ids.indexOf(convId()) >= 0) {
        var notice = document.getElementById("chat-connection");
        notice.hidden = false;
        notice.textContent = str("access-lost");
        var area = document.getElementById("composer-area");
        if (area) area.remove();
      }
      refreshList();
    });
    window.HSChat.on("list_changed", refreshList);
    window.HSChat.on("unread_changed", refreshList);
  });

  function refreshList() {
    var section = document.getElementById("conversation-list");
    if (!section || !window.htmx) return;
    clearTimeout(listTimer);
    listTimer = setTimeout(function () {
      // The person may have left the list meanwhile (a boosted navigation).
      var current = document.getElementById("conversation-list");
      if (current) htmx.ajax("GET", current.getAttribute("data-refresh-url"), { target: current, swap: "outerHTML" });
    }, 300);
  }
})();
