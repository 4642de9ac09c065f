"""gunicorn settings for serving Health Space: `gunicorn -c gunicorn.conf.py wsgi:app`.

One gevent worker per process (Socket.IO keeps its sockets in the worker; scale out with more
processes sharing REDIS_URL behind sticky sessions). Nothing here imports the app or psycopg:
gevent must patch the standard library before psycopg is imported (no --preload either).

The garbage collector is managed on purpose: with thousands of long-lived objects per
connection, Python's full collections pause the worker for 100+ ms every few seconds. After
the app has loaded, everything alive is moved out of the collector's reach (gc.freeze) and the
generation-0 threshold is raised so young collections are rarer; a small greenlet freezes again
after each burst of new connections so their long-lived state stops being rescanned.
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


def post_worker_init(worker):
    import gc

    import gevent

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    def refreeze():
        # Objects that survived a while (new connections' state) join the frozen heap; a
        # full collection still runs when the gen-2 threshold is reached.
        while True:
            gevent.sleep(30)
            gc.collect(1)
            gc.freeze()

    gevent.spawn(refreeze)
