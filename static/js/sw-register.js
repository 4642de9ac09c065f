// Register the service worker (static/sw.js, served at /sw.js for the whole site).
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (error) {
      // The app works without it (no offline page, no push); say why in the console only.
      console.warn("Service worker not registered:", error);
    });
  });
})();
