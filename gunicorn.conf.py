"""gunicorn settings for serving Health Space: `gunicorn -c gunicorn.conf.py wsgi:app`.

One gevent worker per process (Socket.IO keeps its sockets in the worker; scale out with more
processes sharing REDIS_URL behind sticky sessions). Nothing here imports the app or psycopg:
gevent must patch the standard library before psycopg is imported (no --preload either).

The garbage collector is managed on purpose. CPython's collector stops the whole worker (every
socket) while it runs, for a time proportional to the objects it scans: about 0.75 µs each
here. The app holds ~170,000 objects after start-up and every live connection ~180 more, so a
full collection with 2,000 connections pauses everything ~400 ms. The worker therefore:

* freezes the start-up heap (`gc.freeze()`): never scanned again;
* keeps young collections small (generation-0 threshold 5,000: a few ms each, instead of the
  100 ms pauses a 50,000 threshold gave under load);
* after connections arrive (the live count grew), collects what is not frozen and freezes the
  rest: new connections' state stops being rescanned, so steady traffic never pays for it;
* frozen objects are never collected, so state of connections that closed after being frozen
  stays until a sweep (unfreeze, one full collection, freeze again), run once the connections
  closed since the last sweep reach half the live ones (and at least 500): memory stays within
  1.5x of the live state and the one long pause comes after a mass disconnection, not during
  steady traffic.

HEALTHSPACE_GC_STATS=<file> makes the worker write its collections and pauses there each second
(bench/chat_fanout.py reports them).
"""

import os

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
bind = os.environ.get("BIND", "127.0.0.1:8000")
timeout = 60
graceful_timeout = 10
control_socket_disable = True
accesslog = None
# The worker tells the master it is alive by touching a file about once a second, from the
# loop that serves every socket. gunicorn warns that on a disk-backed file system the touch
# may block the worker; a file operation in that loop did stall every socket here for up to
# 1 s while the journal was busy with SQLite's writes (the figures writer below, since moved
# to a thread). In memory it never waits. WORKER_TMP_DIR overrides; unset and no /dev/shm:
# gunicorn's default.
worker_tmp_dir = os.environ.get("WORKER_TMP_DIR") or (
    "/dev/shm" if os.path.isdir("/dev/shm") else None
)

GEN0_THRESHOLD = int(os.environ.get("GC_GEN0_THRESHOLD", "5000"))
CHECK_EVERY = 2.0  # seconds between looks at the connection count
FREEZE_AFTER_NEW = 50  # connections arrived since the last freeze
SWEEP_AFTER_CLOSED = 500  # and at least half the live connections


def _live_connections(worker):
    """Live Engine.IO connections in this worker, or None when the app has no Socket.IO."""
    try:
        return len(worker.wsgi.extensions["socketio"].server.eio.sockets)
    except (AttributeError, KeyError, TypeError):
        return None


def manage_gc(worker):
    import gc

    import gevent

    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 10, 10)

    def keeper():
        frozen_at = live_before = _live_connections(worker) or 0
        closed = 0
        while True:
            gevent.sleep(CHECK_EVERY)
            live = _live_connections(worker)
            if live is None:
                return
            closed += max(0, live_before - live)
            growing = live > live_before
            live_before = live
            if closed >= max(SWEEP_AFTER_CLOSED, live // 2):
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                frozen_at, closed = live, 0
            elif live - frozen_at >= FREEZE_AFTER_NEW and not growing:
                # The burst of connections is over: collect what is not frozen (their
                # garbage), freeze what lives on.
                gc.collect()
                gc.freeze()
                frozen_at = live
            elif live < frozen_at:
                frozen_at = live

    gevent.spawn(keeper)


def record_gc_stats(path):
    """Every collection's pause, written each second as JSON for benchmarks."""
    import gc
    import json
    import time

    import gevent

    stats = {
        "collections": [0, 0, 0],
        "pause_ms_total": [0.0, 0.0, 0.0],
        "pause_ms_max": [0.0, 0.0, 0.0],
        "pauses_over_20ms": 0,
    }
    started = [0.0]

    def callback(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - started[0]) * 1000
        generation = info["generation"]
        stats["collections"][generation] += 1
        stats["pause_ms_total"][generation] += ms
        stats["pause_ms_max"][generation] = max(stats["pause_ms_max"][generation], ms)
        if ms > 20:
            stats["pauses_over_20ms"] += 1

    gc.callbacks.append(callback)

    def write(text):
        tmp = f"{path}.tmp"
        with open(tmp, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)

    def loop():
        # On one of the hub's real threads: a file write can wait for the disk's journal,
        # and it must not stop the sockets meanwhile (see worker_tmp_dir).
        pool = gevent.get_hub().threadpool
        while True:
            gevent.sleep(1)
            pool.apply(write, (json.dumps({**stats, "at": time.time()}),))

    gevent.spawn(loop)


def post_worker_init(worker):
    from flask import Flask
    # The app is loaded by now (no --preload: in this worker, after gevent patched).
    if os.environ.get("HEALTHSPACE_GC_STATS"):
        record_gc_stats(os.environ["HEALTHSPACE_GC_STATS"])
    if isinstance(worker.wsgi, Flask):
        from webapp.warmup import warm_up

        warm_up(worker.wsgi)  # before the freeze: what it builds is frozen with the rest
    manage_gc(worker)
    if isinstance(worker.wsgi, Flask):  # not for another app served with this file
        from webapp import checkpoint

        checkpoint.start(worker.wsgi)  # SQLite only: its WAL checkpoints off the request path
