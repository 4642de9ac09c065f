// The agenda: form errors swapped in place, the reminder form's two modes, an appointment's
// end following its start, a page that loads itself again when access to its patient
// changes. Behaviour hangs on data- attributes and names (no inline script: the CSP forbids
// it).
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

  // An appointment's end moves with its start, keeping its length (as a phone's calendar does):
  // someone who picks another day for the start would otherwise be told "The end is before
  // the start". Wall-clock arithmetic: the values are read and written as if they were UTC.
  function wallClock(value) {
    var ms = value ? Date.parse(value + "Z") : NaN;
    return isNaN(ms) ? null : ms;
  }
  document.addEventListener("change", function (event) {
    var starts = event.target;
    var form = starts.closest && starts.closest("#appointment-form");
    if (!form || starts.name !== "starts") return;
    var ends = form.querySelector("input[name=ends]");
    var was = wallClock(starts.getAttribute("data-was") || starts.defaultValue);
    var now = wallClock(starts.value);
    var end = ends && wallClock(ends.value);
    starts.setAttribute("data-was", starts.value);
    if (!ends || now === null || end === null) return;
    var length = was !== null && end > was ? end - was : 30 * 60 * 1000;
    ends.value = new Date(now + length).toISOString().slice(0, 16);
  });

  // Access to the patient changed (narrowed, revoked, ended, the space closed): a page showing
  // that patient's agenda loads itself again, and shows what is allowed now. Form pages carry
  // no patient mark and are left alone: what is typed stays, and saving says if it may not.
  function watchAccess() {
    if (!window.HSChat) return;
    window.HSChat.on("access_changed", function (data) {
      var view = document.querySelector("[data-agenda-patient]");
      if (view && data && String(data.patient_id) === view.getAttribute("data-agenda-patient")) {
        window.location.reload();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); watchAccess(); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
