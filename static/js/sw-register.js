// Register the service worker (static/sw.js, served at /sw.js for the whole site).
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var urls = Array.prototype.map.call(
        document.querySelectorAll("script[src], link[rel=stylesheet][href]"),
        function (el) { return el.src || el.href; });
      if (registration.active) registration.active.postMessage({ type: "cache-shell", urls: urls });
    }).catch(function (error) {
      // The app works without it (no offline page, no push); say why in the console only.
      console.warn("Service worker not registered:", error);
    });
  });
})();
