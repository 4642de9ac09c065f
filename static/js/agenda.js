// The agenda: form errors swapped in place, the reminder form's two modes, copying the
// calendar link. Behaviour hangs on data- attributes (no inline script: the CSP forbids it).
(function () {
  "use strict";

  // A 422 carries the form again with its error message: show it (htmx skips 4xx by default).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (event.detail.xhr.status === 422 && elt && elt.closest && elt.closest("[data-agenda]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function syncReminderForm(form) {
    var mode = form.querySelector("input[name=mode]:checked");
    form.querySelectorAll("[data-mode]").forEach(function (box) {
      box.hidden = !!mode && box.getAttribute("data-mode") !== mode.value;
    });
    var freq = form.querySelector("select[name=freq]");
    form.querySelectorAll("[data-freq]").forEach(function (box) {
      box.hidden = !!freq && box.getAttribute("data-freq") !== freq.value;
    });
  }

  function init(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("#reminder-form").forEach(syncReminderForm);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("#reminder-form");
    if (form && (event.target.name === "mode" || event.target.name === "freq")) syncReminderForm(form);
  });

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
