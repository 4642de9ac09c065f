// The shell: focus management after HTMX swaps and confirmation prompts. Behaviour hangs on
// data- attributes; no inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // Ask before destructive actions: <button data-confirm="Delete this?">.
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // After a boosted navigation, move focus to the main landmark for screen readers, or to
  // the field the new page asks for (autofocus: the one a refused form says to correct).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.boosted) {
      var main = document.getElementById("main");
      var wanted = main && main.querySelector("[autofocus]");
      if (wanted) wanted.focus();
      else if (main) main.focus({ preventScroll: true });
    }
  });

  // A swap that removes the element holding the focus (a banner's "Not now") leaves it on
  // <body>: give it to the main landmark, so a keyboard or screen-reader user is not lost.
  // Only then: a live update elsewhere never moves anyone's focus. (Checked just after the
  // swap: the swap's own events fire on the removed element and never reach the document.)
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    var focused = document.activeElement;
    if (!target || !focused || focused === document.body || !target.contains(focused)) return;
    window.setTimeout(function () {
      if (!document.activeElement || document.activeElement === document.body) {
        var main = document.getElementById("main");
        if (main) main.focus({ preventScroll: true });
      }
    }, 0);
  });

  // A boosted navigation swaps only <body>. Carry over what the new page's <html> says
  // (language, large-text class, theme) and load the scripts and stylesheets its <head> asks
  // for (a page's {% block scripts %}), as a full page load would. Page scripts therefore hang
  // their behaviour on events (htmx:load, delegated listeners), never on DOMContentLoaded.
  var pendingHead = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail || !detail.boosted || !detail.shouldSwap || !detail.xhr) return;
    var text = detail.xhr.responseText || "";
    if (!/<html\b/i.test(text)) return;
    var doc = new DOMParser().parseFromString(text, "text/html");
    var root = document.documentElement;
    ["lang", "class", "data-theme"].forEach(function (name) {
      if (doc.documentElement.hasAttribute(name)) {
        root.setAttribute(name, doc.documentElement.getAttribute(name));
      } else {
        root.removeAttribute(name);
      }
    });
    // <body> keeps its element across a boosted swap: refresh the attributes that depend on
    // the session (the CSRF token htmx sends, who is signed in), which change at sign-in.
    ["hx-headers", "data-user-id", "data-send-error"].forEach(function (name) {
      if (doc.body && doc.body.hasAttribute(name)) {
        document.body.setAttribute(name, doc.body.getAttribute(name));
      }
    });
    pendingHead = Array.prototype.slice.call(
      doc.head.querySelectorAll("script[src], link[rel=stylesheet][href]"));
  });
  document.addEventListener("htmx:afterSwap", function () {
    var wanted = pendingHead;
    pendingHead = [];
    wanted.forEach(function (el) {
      var isScript = el.tagName === "SCRIPT";
      var url = el.getAttribute(isScript ? "src" : "href");
      var selector = isScript ? "script[src]" : "link[rel=stylesheet][href]";
      var present = Array.prototype.some.call(document.head.querySelectorAll(selector), function (have) {
        return have.getAttribute(isScript ? "src" : "href") === url;
      });
      if (present) return;
      var copy = document.createElement(isScript ? "script" : "link");
      if (isScript) { copy.src = url; copy.async = false; } else { copy.rel = "stylesheet"; copy.href = url; }
      document.head.appendChild(copy);
    });
  });

  // A boosted navigation that cannot reach the server becomes a real one, so the service
  // worker can answer with the offline page instead of leaving the tap without effect.
  document.addEventListener("htmx:sendError", function (event) {
    var detail = event.detail;
    if (detail && detail.boosted && detail.requestConfig && detail.requestConfig.verb === "get") {
      window.location.assign(detail.requestConfig.path);
    }
  });

  // A form sent (a button tapped) while the phone is offline or the server cannot be reached
  // would otherwise do nothing visible: say so next to it, in the words <body> carries
  // (data-send-error). Nothing reached the server, so nothing changed. The next try clears it.
  function sendErrorHost(elt) {
    return (elt && elt.closest && elt.closest("form")) || elt;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var host = sendErrorHost(event.detail && event.detail.elt);
    var old = host && host.querySelector && host.querySelector(".send-error");
    if (!old && host && host.nextElementSibling &&
        host.nextElementSibling.classList.contains("send-error")) {
      old = host.nextElementSibling;
    }
    if (old) old.remove();
  });
  document.addEventListener("htmx:sendError", function (event) {
    var detail = event.detail;
    if (!detail || !detail.requestConfig || detail.requestConfig.verb === "get") return;
    var host = sendErrorHost(detail.elt);
    var message = document.body.getAttribute("data-send-error");
    if (!host || !host.isConnected || !message) return;
    // A "Saved." left from an earlier try would now say the opposite of what happened.
    if (host.tagName === "FORM") {
      host.querySelectorAll("[role=status]").forEach(function (status) { status.textContent = ""; });
    }
    var note = document.createElement("p");
    note.className = "field-error send-error";
    note.setAttribute("role", "alert");
    note.textContent = message;
    if (host.tagName === "FORM") host.appendChild(note);
    else host.insertAdjacentElement("afterend", note);
  });
})();
