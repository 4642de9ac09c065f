// Copy buttons: <button type="button" data-copy-target="ID" data-copy-status="STATUS-ID"
// data-copied="Copied" data-copy-selected="Selected: …">Copy</button> copies the text of
// the element #ID (an input's value) to the clipboard and says so in the aria-live element
// #STATUS-ID. Without the asynchronous clipboard API (a page served over http from anywhere
// but localhost) it selects the text instead, so the person can copy it with the phone's own
// Copy. The messages come from the page, in the reader's language.
// One delegated listener: buttons swapped in later by htmx work without any set-up, and
// loading this file twice (a boosted navigation) adds nothing.
(function () {
  "use strict";
  if (window.healthSpaceCopy) return;
  window.healthSpaceCopy = true;

  function textOf(target) {
    var value = "value" in target && typeof target.value === "string" ? target.value : target.textContent;
    return (value || "").trim();
  }

  function select(target) {
    if (typeof target.select === "function") {
      target.focus();
      target.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(target);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function statusFor(button) {
    var id = button.getAttribute("data-copy-status");
    var status = id && document.getElementById(id);
    if (status) return status;
    // No region named: one shared, visually hidden polite region.
    status = document.getElementById("copy-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "copy-status";
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      document.body.appendChild(status);
    }
    return status;
  }

  function announce(button, message) {
    var status = statusFor(button);
    // Emptied first, so a second tap says it again.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message || ""; }, 50);
  }

  // The deprecated copy command still works on http pages; it only runs on a selection.
  function copySelection() {
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function fallback(button, target) {
    select(target);
    var copied = copySelection();
    announce(button, button.getAttribute(copied ? "data-copied" : "data-copy-selected"));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) return;
    event.preventDefault();
    var text = textOf(target);
    var clipboard = window.isSecureContext && navigator.clipboard;
    if (!clipboard || typeof clipboard.writeText !== "function") {
      fallback(button, target);
      return;
    }
    clipboard.writeText(text).then(function () {
      announce(button, button.getAttribute("data-copied"));
    }, function () {
      fallback(button, target);  // refused (permission, no focus): the person copies it
    });
  });
})();
