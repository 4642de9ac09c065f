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

  // After a boosted navigation, move focus to the main landmark for screen readers.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.boosted) {
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  });
})();
