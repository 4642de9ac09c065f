// Health Space service worker, served at /sw.js (scope /) with `self.HEALTHSPACE` prepended:
// { version, shell: [versioned URLs + offline page], offline, pushScript }.
//
// - The static shell is precached under "healthspace-shell-<version>"; the version hashes every
//   static file, so a changed file means a new cache, and activate deletes the old ones.
// - Versioned static files (/static/…?v=…) are cache-first: their URL changes with their content.
// - Page navigations go to the network; when it cannot be reached the offline page answers.
// - Nothing else is cached: pages, fragments and JSON carry health data and stay on the server.
"use strict";

var CONFIG = self.HEALTHSPACE;
var PREFIX = "healthspace-shell-";
var CACHE = PREFIX + CONFIG.version;

importScripts(CONFIG.pushScript);

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      // Without cookies: what is precached belongs to nobody.
      return cache.addAll(CONFIG.shell.map(function (url) {
        return new Request(url, { credentials: "omit" });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(PREFIX) === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// sw-register.js posts the versioned scripts and stylesheets of the page that registered us, so
// the whole shell is cached from the first visit on (the HTTP cache usually has them already).
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "cache-shell" || !Array.isArray(data.urls)) return;
  var urls = data.urls.filter(function (href) {
    var url = new URL(href, self.location.origin);
    return url.origin === self.location.origin && isVersionedStatic(url);
  });
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.map(function (href) {
      return cache.match(href).then(function (hit) {
        return hit || cache.add(new Request(href, { credentials: "omit" }));
      });
    }));
  }).catch(function () { /* best effort: cached on first use otherwise */ }));
});

function isVersionedStatic(url) {
  return url.pathname.indexOf("/static/") === 0 && url.searchParams.has("v");
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") cache.put(request, response.clone());
        return response;
      });
    });
  });
}

function networkOrOffline(request) {
  return fetch(request).catch(function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(CONFIG.offline, { ignoreVary: true });
    }).then(function (page) {
      return page || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (isVersionedStatic(url)) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === "navigate") {
    event.respondWith(networkOrOffline(request));
  }
  // Everything else (fragments, JSON, Socket.IO) goes to the network untouched and uncached.
});
