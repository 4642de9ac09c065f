// The conversation screen and the conversation list. Markup comes from the server
// (chat/_message.html); this file only places it, tracks the outbox, receipts and typing.
(function () {
  "use strict";
  var chat = null;        // the #chat section of the open conversation, if any
  var typingTimer = null, typingUser = null, lastTypingSent = 0, readTimer = null, listTimer = null;
  var scrollPending = false;  // a conversation just opened: show its end once htmx is done
  var flushing = false, syncing = false;
  var MAX_TRIES = 3;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function str(name, vars) {
    var text = (chat && chat.getAttribute("data-str-" + name)) || "";
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }
  // Counts the reader's way: "4,000" in English, "4 000" in French.
  function num(n) { return n.toLocaleString(document.documentElement.lang || undefined); }
  function me() { return window.HSChat ? window.HSChat.me() : ""; }
  function convId() { return chat ? parseInt(chat.getAttribute("data-conversation-id"), 10) : null; }
  function list() { return document.getElementById("message-list"); }
  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function lastId(section) {
    var ids = $all("#message-list .msg[data-id]", section || chat || document).map(function (li) { return parseInt(li.getAttribute("data-id"), 10); });
    return ids.length ? Math.max.apply(null, ids) : 0;
  }

  // Times and days in the reader's time zone (their setting, which the server uses for every
  // other time in the app), 24-hour "HH:mm" in both languages like the agenda: not the
  // device's zone, not the language's 12-hour clock.
  var formats = {};
  function parts(date, options, key) {
    var zone = (chat && chat.getAttribute("data-time-zone")) || "";
    var cacheKey = key + "|" + zone;
    if (!formats[cacheKey]) {
      var opts = Object.assign({}, options);
      if (zone) opts.timeZone = zone;
      try { formats[cacheKey] = new Intl.DateTimeFormat("en-GB", opts); }
      catch (e) { formats[cacheKey] = new Intl.DateTimeFormat("en-GB", options); }  // unknown zone
    }
    var out = {};
    formats[cacheKey].formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    return out;
  }
  function clock(date) {
    var p = parts(date, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }, "clock");
    return p.hour + ":" + p.minute;
  }
  function dayKey(date) {
    var p = parts(date, { year: "numeric", month: "2-digit", day: "2-digit" }, "day");
    return p.year + "-" + p.month + "-" + p.day;
  }
  // What the server counts: the trimmed text, in characters (not UTF-16 units).
  function countOf(text) { return Array.from(text.trim()).length; }

  // ---- Placing server-rendered messages -------------------------------------------------

  function localise(li) {
    var time = $("time[data-local-time]", li);
    if (time) {
      var date = new Date(time.getAttribute("datetime"));
      if (!isNaN(date)) {
        time.textContent = clock(date);
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

  // Receipts of the open conversation, per member: {name, delivered, read} (the highest ids).
  // One may come before the author's own message has its id (the reader's phone answered
  // before the server's acknowledgement got back): it is applied when the id arrives.
  var receipts = {};

  function applyReceipt(li, kind, name, upTo) {
    if (parseInt(li.getAttribute("data-id"), 10) > upTo) return;
    if (kind === "read") {
      var label = $(".msg__status", li);
      var names = (label.getAttribute("data-read-by") || "").split(", ").filter(Boolean);
      if (names.indexOf(name) < 0) names.push(name);
      label.setAttribute("data-read-by", names.join(", "));
      setStatus(li, "read");
    } else if (li.getAttribute("data-status") === "sent") {
      setStatus(li, "delivered");
    }
  }

  function applyKnownReceipts(li) {
    if (li.getAttribute("data-author") !== me()) return;
    Object.keys(receipts).forEach(function (user) {
      var known = receipts[user];
      applyReceipt(li, "delivered", known.name, known.delivered);
      applyReceipt(li, "read", known.name, known.read);
    });
  }

  function daySeparator(key) {
    var li = document.createElement("li");
    li.className = "msg-day";
    li.setAttribute("data-day", key);
    var h = document.createElement("h2");
    h.className = "msg-day__label";
    var today = dayKey(new Date());
    // The key is already a day of the reader's zone: label that calendar day as it is.
    h.textContent = key === today ? str("today") : new Date(key + "T12:00:00Z").toLocaleDateString(document.documentElement.lang || undefined, { weekday: "long", day: "numeric", month: "long", timeZone: "UTC" });
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
    applyKnownReceipts(li);
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

  // The end of the page, not "the composer's bottom edge at the bottom of the screen": the
  // tab bar covers the bottom of the screen, and the body's bottom padding clears it.
  function scrollToEnd() {
    var page = document.scrollingElement || document.documentElement;
    window.scrollTo(0, page.scrollHeight);
  }

  // ---- Reading ------------------------------------------------------------------------

  // A message that came in on screen gets no "delivered" from chat-socket.js: this says "read"
  // for it (the server counts it delivered too, and sends the new unread total), or only
  // "delivered" if the page was hidden or left before the reader could see it.
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      readTimer = null;
      if (chat) sendMark(chat, document.visibilityState === "visible" ? "read" : "delivered");
    }, 300);
  }

  function flushMark(leaving) {
    if (readTimer === null) return;
    clearTimeout(readTimer);
    readTimer = null;
    sendMark(leaving, "delivered");
  }

  function sendMark(section, kind) {
    if (!window.HSChat.connected()) return;  // the replay after reconnecting marks again
    var id = lastId(section);
    var conversation = parseInt(section.getAttribute("data-conversation-id"), 10);
    if (id) window.HSChat.emit(kind, { conversation_id: conversation, message_id: id }).catch(function () {});
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
    $(".msg__discard", li).hidden = !item.failed;
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

  function showError(textarea, message) {
    var error = document.getElementById("composer-error");
    if (error) error.textContent = message || "";
    if (message) textarea.setAttribute("aria-invalid", "true");
    else textarea.removeAttribute("aria-invalid");
  }

  function submit(form) {
    var textarea = $("textarea[name=body]", form);
    var body = textarea.value.trim();
    var max = parseInt(form.getAttribute("data-max"), 10) || 4000;
    // The server refuses these too; say so here, with its words, instead of doing nothing.
    if (!body) { showError(textarea, str("empty")); textarea.focus(); return; }
    if (countOf(body) > max) { showError(textarea, str("count", { n: num(countOf(body)), max: num(max) })); return; }
    showError(textarea, "");
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
    var n = countOf(textarea.value);
    counter.textContent = str("count", { n: num(n), max: num(max) });
    counter.classList.toggle("composer__count--near", n > max * 0.9);
  }

  // ---- Page set-up (first load and every boosted navigation) ---------------------------

  function setUp() {
    var found = document.getElementById("chat");
    if (found !== chat) {
      if (chat) flushMark(chat);
      // Off to a page with no conversation: the server stops sending it "typing".
      if (chat && !found) window.HSChat.emit("away", {}).catch(function () {});
      chat = found;
      receipts = {};
      if (!chat && "scrollRestoration" in history) history.scrollRestoration = "auto";
      if (chat) {
        // This page shows its end on every opening: no restoring an old position on reload.
        if ("scrollRestoration" in history) history.scrollRestoration = "manual";
        trackTabbar();
        $all("#message-list .msg").forEach(localise);
        dedupeDays();
        scrollToEnd();
        scrollPending = true;
        sync().then(flush);
        connectionNotice();
      }
    }
  }

  // The sticky composer sits right above the fixed tab bar, whose height is not a constant
  // (large text, labels on two lines, the phone's safe area): measure it.
  var tabbarSeen = null, tabbarObserver = null;
  function trackTabbar() {
    var bar = document.querySelector(".tabbar");
    if (bar === tabbarSeen || !window.ResizeObserver) return;
    tabbarSeen = bar;
    if (tabbarObserver) tabbarObserver.disconnect();
    if (!bar) return;
    tabbarObserver = new ResizeObserver(function () {
      document.documentElement.style.setProperty("--tabbar-height", bar.getBoundingClientRect().height + "px");
    });
    tabbarObserver.observe(bar);
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
    if (event.target.value.trim()) showError(event.target, "");
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
        showError(textarea, "");
        textarea.focus();
      }
      return;
    }
    // A message that cannot go (closed to replies, access ended…) leaves the outbox; its text
    // goes back to an empty composer, so nothing typed is lost.
    var discard = event.target.closest && event.target.closest(".msg__discard");
    if (discard) {
      var gone = discard.closest(".msg--pending");
      var text = $(".msg__body", gone).textContent;
      window.HSOutbox.remove(gone.getAttribute("data-client-id")).then(function () {
        gone.remove();
        var box = $("form[data-composer] textarea");
        if (box && !box.value) { box.value = text; updateCounter(box); box.focus(); }
      });
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

  // A hidden page (phone locked, another tab) shows nobody "typing": it leaves the
  // conversation's screen and syncs it again when seen (the sync says "read" too).
  document.addEventListener("visibilitychange", function () {
    if (!chat) return;
    if (document.visibilityState === "visible") sync();
    else if (window.HSChat.connected()) window.HSChat.emit("away", {}).catch(function () {});
  });
  window.addEventListener("online", function () { connectionNotice(); flush(); });
  window.addEventListener("offline", connectionNotice);
  document.addEventListener("htmx:load", setUp);
  document.addEventListener("htmx:afterSettle", function (event) {
    setUp();
    if (scrollPending && chat) {
      scrollPending = false;
      // A boosted navigation scrolls to the top right after this event ("show:top"): show
      // the end once it has.
      setTimeout(scrollToEnd, 0);
    }
    // An older page replaces its "older" item: afterSettle then fires on each new item of
    // the list (the replaced target is no longer in it).
    if (event.target && event.target.closest && event.target.closest("#message-list")) {
      $all("#message-list .msg").forEach(function (li) { if (!li.hasAttribute("data-localised")) { localise(li); li.setAttribute("data-localised", ""); } });
      dedupeDays();
    }
  });

  // An older page goes above what the reader is looking at: keep that in place. Otherwise,
  // at the top of the page, the next "older" item is in view at once and the whole history
  // loads in a cascade, the reader thrown back to its first message.
  var olderAnchor = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.classList || !target.classList.contains("older") || !target.closest("#message-list")) return;
    var next = target.nextElementSibling;
    olderAnchor = next ? { el: next, top: next.getBoundingClientRect().top } : null;
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!olderAnchor) return;
    var anchor = olderAnchor;
    olderAnchor = null;
    if (document.body.contains(anchor.el)) window.scrollBy(0, anchor.el.getBoundingClientRect().top - anchor.top);
  });

  function whenReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  whenReady(function () {
    if (!window.HSChat) return;
    setUp();
    // A full page load has no settle: late layout (fonts, styles) may still move the end.
    scrollPending = false;
    window.addEventListener("load", function () { if (chat) scrollToEnd(); });
    var missedEvents = false;
    window.HSChat.on("connect", function () {
      connectionNotice();
      // Closed or reopened while this page was cut off: those events were not buffered.
      if (missedEvents) refreshComposer();
      missedEvents = false;
      sync().then(flush);
    });
    window.HSChat.on("disconnect", function () { missedEvents = true; connectionNotice(); });
    window.HSChat.on("new_message", function (data) {
      if (chat && data.conversation_id === convId()) {
        var atEnd = (window.innerHeight + window.scrollY) >= document.body.scrollHeight - 120;
        var known = !!document.getElementById("msg-" + data.id);
        var li = insertHtml(data.html);
        if (li && !known && String(data.author_id) !== me()) announce(li);
        // Their message is here: they are no longer typing it.
        if (typingUser !== null && String(data.author_id) === typingUser) clearTyping();
        if (atEnd || String(data.author_id) === me()) scrollToEnd();
        if (String(data.author_id) !== me()) markRead();
      }
      refreshList();
    });
    window.HSChat.on("receipt", function (data) {
      if (!chat || data.conversation_id !== convId() || String(data.user_id) === me()) return;
      var known = receipts[data.user_id] = receipts[data.user_id] || { name: data.name, delivered: 0, read: 0 };
      known[data.kind] = Math.max(known[data.kind] || 0, data.up_to);
      $all('#message-list .msg[data-author="' + me() + '"][data-id]').forEach(function (li) {
        applyReceipt(li, data.kind, data.name, data.up_to);
      });
    });
    window.HSChat.on("typing", function (data) {
      if (!chat || data.conversation_id !== convId() || String(data.user_id) === me()) return;
      var el = document.getElementById("typing");
      var text = str("typing", { name: data.name });
      // A live region: said again each time it is set, and "typing" comes every few seconds.
      if (el.textContent !== text) el.textContent = text;
      typingUser = String(data.user_id);
      clearTimeout(typingTimer);
      typingTimer = setTimeout(clearTyping, 4000);
    });
    window.HSChat.on("closed", function (data) {
      if (chat && data.conversation_id === convId()) refreshComposer();
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
    window.HSChat.on("members_changed", function (data) {
      // Someone lost access: the header marks them and the composer says so. Only those two
      // parts of the conversation are swapped (the draft and the scroll position stay).
      if (chat && data.conversation_id === convId() && window.htmx && document.getElementById("chat-members")) {
        htmx.ajax("GET", "/chat/" + convId(), {
          target: "#chat-members", swap: "outerHTML", select: "#chat-members",
          selectOOB: "#chat-access-notice"
        });
      }
      // The list marks them too.
      refreshList();
    });
    window.HSChat.on("list_changed", refreshList);
    window.HSChat.on("unread_changed", refreshList);
  });

  // Screen readers hear each message that arrives from someone else, once, in a few words:
  // not the list itself (older pages, one's own bubbles and every status change are
  // additions there too).
  function announce(li) {
    var region = document.getElementById("chat-announce");
    var author = $(".msg__author", li), body = $(".msg__body", li);
    if (!region || !body) return;
    region.textContent = str("new-message", {
      name: author ? author.textContent.trim() : "", text: body.textContent.trim()
    });
  }

  // The composer as the server has it now (open, closed to replies…), keeping a draft: kept
  // too while the conversation is closed, and given back when it reopens.
  var draft = null;
  function refreshComposer() {
    if (!chat || !window.htmx || !document.getElementById("composer-area")) return;
    htmx.ajax("GET", "/chat/" + convId() + "/composer", { target: "#composer-area", swap: "outerHTML" });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "composer-area") return;
    var box = $("form[data-composer] textarea", target);
    if (box) draft = box.value;
  });
  document.addEventListener("htmx:afterSwap", function () {
    var fresh = $("form[data-composer] textarea");
    if (!fresh) return;
    if (draft && !fresh.value) { fresh.value = draft; updateCounter(fresh); }
    draft = null;
  });

  function clearTyping() {
    clearTimeout(typingTimer);
    typingUser = null;
    var el = document.getElementById("typing");
    if (el) el.textContent = "";
  }

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
