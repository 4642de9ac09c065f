// The outbox: messages typed offline or during a reconnect wait here (IndexedDB, so they
// survive a reload) until the server acknowledges them. Falls back to memory when IndexedDB
// is unavailable (some private modes): the page still works, the outbox just does not
// outlive it.
(function () {
  "use strict";
  var DB = "healthspace-chat", STORE = "outbox";
  var memory = new Map();
  var opening = null;

  function open() {
    if (opening) return opening;
    opening = new Promise(function (resolve) {
      if (!window.indexedDB) return resolve(null);
      var request;
      try { request = indexedDB.open(DB, 1); } catch (e) { return resolve(null); }
      request.onupgradeneeded = function () {
        var store = request.result.createObjectStore(STORE, { keyPath: "client_id" });
        store.createIndex("conversation", "conversation_id");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { resolve(null); };
      request.onblocked = function () { resolve(null); };
    });
    return opening;
  }

  function run(mode, work) {
    return open().then(function (db) {
      if (!db) return work(null);
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  var Outbox = {
    put: function (item) {
      memory.set(item.client_id, item);
      return run("readwrite", function (store) { if (store) store.put(item); }).catch(function () {});
    },
    remove: function (clientId) {
      memory.delete(clientId);
      return run("readwrite", function (store) { if (store) store["delete"](clientId); }).catch(function () {});
    },
    list: function (conversationId) {
      return open().then(function (db) {
        if (!db) return Array.from(memory.values()).filter(function (i) { return i.conversation_id === conversationId; });
        return new Promise(function (resolve) {
          var tx = db.transaction(STORE, "readonly");
          var request = tx.objectStore(STORE).index("conversation").getAll(conversationId);
          request.onsuccess = function () { resolve(request.result || []); };
          request.onerror = function () { resolve([]); };
        });
      }).then(function (items) {
        return items.sort(function (a, b) { return a.created - b.created; });
      });
    }
  };

  window.HSOutbox = Outbox;
})();
