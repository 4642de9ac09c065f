"""Who has a live /chat connection, across server processes.

Each process keeps its own sockets in memory. With REDIS_URL set, each user also has a sorted
set `<REDIS_NAMESPACE>:presence:<user id>` of socket ids scored by an expiry instant; a
background task in each process pushes the expiry of its live sockets forward, so the sockets
of a process that died (SIGKILL, no disconnect) drop out by themselves within PRESENCE_TTL
seconds.

Each socket also has a variant, "<language>|<time zone>" (what it was rendered for when it
connected): a set member is "<sid> <variant>", so one read tells both which sockets a user
has and which renderings they need (chat renders a message once per variant present).
"""

from __future__ import annotations

import threading
import time

PRESENCE_TTL = 90
REFRESH_EVERY = 30


class Presence:
    def __init__(self):
        self._lock = threading.Lock()
        self._by_user: dict[int, set[str]] = {}
        self._user_of: dict[str, int] = {}
        self._variant_of: dict[str, str] = {}
        self._redis = None
        self._redis_url: str | None = None
        self._namespace = ""
        self._refresher_started = False

    def configure(self, config) -> None:
        """Share presence through the app's Redis (REDIS_URL), under its deployment's
        namespace (REDIS_NAMESPACE)."""
        redis_url = config.get("REDIS_URL")
        if redis_url and redis_url != self._redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url)
            self._redis_url = redis_url
        self._namespace = config["REDIS_NAMESPACE"]

    def _key(self, user_id: int) -> str:
        return f"{self._namespace}:presence:{user_id}"

    @property
    def shared(self) -> bool:
        return self._redis is not None

    def add(self, user_id: int, sid: str, variant: str = "") -> None:
        with self._lock:
            self._by_user.setdefault(user_id, set()).add(sid)
            self._user_of[sid] = user_id
            self._variant_of[sid] = variant
        if self._redis is not None:
            member = _member(sid, variant)
            self._safe(lambda r: r.zadd(self._key(user_id), {member: time.time() + PRESENCE_TTL}))

    def remove(self, sid: str) -> int | None:
        with self._lock:
            user_id = self._user_of.pop(sid, None)
            variant = self._variant_of.pop(sid, "")
            if user_id is not None:
                sids = self._by_user.get(user_id, set())
                sids.discard(sid)
                if not sids:
                    self._by_user.pop(user_id, None)
        if user_id is not None and self._redis is not None:
            self._safe(lambda r: r.zrem(self._key(user_id), _member(sid, variant)))
        return user_id

    def user_of(self, sid: str) -> int | None:
        return self._user_of.get(sid)

    def variant_of(self, sid: str) -> str:
        """The variant a socket of this process connected with ("" when unknown)."""
        return self._variant_of.get(sid, "")

    def local_sids(self, user_id: int) -> set[str]:
        with self._lock:
            return set(self._by_user.get(user_id, ()))

    def sockets(self, user_id: int) -> dict[str, str]:
        """Every live socket of this user, in every process: {sid: variant}."""
        with self._lock:
            found = {sid: self._variant_of.get(sid, "") for sid in self._by_user.get(user_id, ())}
        if self._redis is not None:
            remote = (
                self._safe(lambda r: r.zrangebyscore(self._key(user_id), time.time(), "+inf"))
                or []
            )
            for raw in remote:
                sid, _, variant = (raw.decode() if isinstance(raw, bytes) else raw).partition(" ")
                found.setdefault(sid, variant)
        return found

    def sids(self, user_id: int) -> set[str]:
        """Every live socket of this user, in every process."""
        return set(self.sockets(user_id))

    def variants(self, user_id: int) -> set[str]:
        """The variants of this user's live sockets (empty: offline)."""
        return set(self.sockets(user_id).values())

    def is_online(self, user_id: int) -> bool:
        if self.local_sids(user_id):
            return True
        if self._redis is not None:
            return bool(self._safe(lambda r: r.zcount(self._key(user_id), time.time(), "+inf")))
        return False

    def refresh(self) -> None:
        if self._redis is None:
            return
        with self._lock:
            snapshot = {
                uid: {_member(sid, self._variant_of.get(sid, "")) for sid in sids}
                for uid, sids in self._by_user.items()
            }
        expiry = time.time() + PRESENCE_TTL

        def write(r):
            pipe = r.pipeline(transaction=False)
            for uid, sids in snapshot.items():
                key = self._key(uid)
                pipe.zadd(key, {sid: expiry for sid in sids})
                pipe.zremrangebyscore(key, "-inf", time.time())
                pipe.expire(key, PRESENCE_TTL * 2)
            pipe.execute()

        self._safe(write)

    def start_refresher(self, socketio) -> None:
        if self._redis is None or self._refresher_started:
            return
        self._refresher_started = True

        def loop():
            while True:
                socketio.sleep(REFRESH_EVERY)
                self.refresh()

        socketio.start_background_task(loop)

    def _safe(self, fn):
        # Presence is a hint (push or not); Redis trouble must never break messaging.
        try:
            return fn(self._redis)
        except Exception:  # noqa: BLE001
            import logging

            logging.getLogger(__name__).warning("presence: redis unavailable", exc_info=True)
            return None


def _member(sid: str, variant: str) -> str:
    return f"{sid} {variant}" if variant else sid


presence = Presence()
