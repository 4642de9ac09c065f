"""Real server processes: a crash mid-stream loses nothing, and two processes share Redis.

The clients are python-socketio clients that behave like the browser: an outbox resent until
acknowledged (same client id each time) and a replay of everything after the last id seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
import requests
import socketio

from tests.csrf import token_in
from tests.live import ROOT, LiveServer, wait_until

NS = "/chat"
UA = "healthspace-live-test/1.0"


def setup(server: LiveServer, *args) -> dict | list:
    result = subprocess.run(
        [sys.executable, "-m", "tests.chat.live_setup", *map(str, args)],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def sign_in(server: LiveServer, email: str, password: str) -> str:
    http = requests.Session()
    http.headers["User-Agent"] = UA
    page = http.get(f"{server.url}/accounts/sign-in", timeout=10).text
    token = token_in(page)
    response = http.post(
        f"{server.url}/accounts/sign-in",
        allow_redirects=False,
        timeout=10,
        data={"email": email, "password": password, "csrf_token": token},
    )
    assert response.status_code in (302, 303, 204), response.text[:300]
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


class Member:
    """One signed-in device: keeps every message it receives and replays gaps on connect."""

    def __init__(self, server: LiveServer, cookie: str, conversation: int):
        self.conversation = conversation
        self.received: dict[int, str] = {}
        self.events: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        self.sio = socketio.Client(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1, request_timeout=10
        )
        self.sio.on("new_message", self._on_message, namespace=NS)
        self.sio.on("access_lost", lambda d: self.events.append(("access_lost", d)), namespace=NS)
        self.sio.on("connect", self._on_connect, namespace=NS)
        self.sio.connect(
            server.url,
            namespaces=[NS],
            transports=["websocket"],
            wait_timeout=10,
            headers={"Cookie": cookie, "User-Agent": UA},
        )

    def _on_message(self, data):
        with self.lock:
            if data["conversation_id"] == self.conversation:
                self.received[data["id"]] = data["client_id"]

    def _on_connect(self):
        # Never wait for an acknowledgement inside a handler: replay from a thread.
        threading.Thread(target=self.replay, daemon=True).start()

    def replay(self) -> None:
        try:
            while True:
                after = max(self.received, default=0)
                reply = self.sio.call(
                    "sync",
                    {"conversation_id": self.conversation, "after_id": after or None},
                    namespace=NS,
                    timeout=5,
                )
                if not reply or not reply.get("ok"):
                    return
                with self.lock:
                    for m in reply["messages"]:
                        self.received[m["id"]] = m["client_id"]
                if not reply["more"]:
                    return
        except socketio.exceptions.SocketIOError:
            return  # disconnected again: the next connect replays

    def send(self, client_id: str, body: str, deadline: float) -> dict:
        """The outbox: resend the same message until the server acknowledges it."""
        while time.monotonic() < deadline:
            try:
                ack = self.sio.call(
                    "send_message",
                    {"conversation_id": self.conversation, "client_id": client_id, "body": body},
                    namespace=NS,
                    timeout=5,
                )
            except socketio.exceptions.SocketIOError:
                time.sleep(0.1)
                continue
            assert ack["ok"], ack
            return ack
        raise AssertionError(f"{client_id} never acknowledged")

    def close(self):
        self.sio.disconnect()


@contextmanager
def connected(data: dict, *who: tuple[LiveServer, str]):
    """Members of live_setup's circle ("nurse", "patient"…), each signed in on its server and
    connected to the conversation; all disconnected on the way out."""
    members = []
    try:
        for server, role in who:
            cookie = sign_in(server, data[role]["email"], data["password"])
            members.append(Member(server, cookie, data["conversation"]))
        yield members
    finally:
        for member in members:
            member.close()


def test_sigkill_mid_stream_loses_and_duplicates_nothing(tmp_path):
    server = LiveServer(tmp_path / "live").prepare(seed=False)
    data = setup(server, "circle")
    conv = data["conversation"]
    server.start()
    try:
        with connected(data, (server, "nurse"), (server, "patient")) as (nurse, patient):
            outbox = [(f"live-kill-{n:04d}-x", f"Message number {n}") for n in range(200)]
            acked: list[int] = []
            restarted = threading.Event()

            def crash_and_restart():
                wait_until(lambda: len(acked) >= 70, 60)
                server.kill()  # SIGKILL while the sender keeps sending
                server.start()
                restarted.set()

            killer = threading.Thread(target=crash_and_restart, daemon=True)
            killer.start()
            deadline = time.monotonic() + 120
            for client_id, body in outbox:
                acked.append(nurse.send(client_id, body, deadline)["id"])
            killer.join(60)
            assert restarted.is_set()

            stored = setup(server, "messages", conv)
            assert [row[1] for row in stored] == [cid for cid, _ in outbox]  # once each, in order
            assert [row[2] for row in stored] == [body for _, body in outbox]
            assert sorted(set(acked)) == [row[0] for row in stored]
            # Everything reaches the other member (live, or by the replay after reconnecting).
            wait_until(lambda: len(patient.received) >= 200, 30, tick=patient.replay)
            assert sorted(patient.received) == [row[0] for row in stored]
            in_order = [patient.received[i] for i in sorted(patient.received)]
            assert in_order == [cid for cid, _ in outbox]
    finally:
        server.stop()


@pytest.mark.redis
def test_two_processes_deliver_through_redis_and_withdraw_access(tmp_path):
    """A and B share a database and a secret: one deployment. C, another deployment with
    the same Redis (its own secret, its own database, the same ids), hears nothing of it."""
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    instance = tmp_path / "shared"
    env = {"REDIS_URL": redis_url}
    a = LiveServer(instance, extra_env=env).prepare(seed=False)
    b = LiveServer(instance, database_url=a.database_url, extra_env=env)
    another = {**env, "SECRET_KEY": "another deployment's secret"}
    c = LiveServer(tmp_path / "another", extra_env=another).prepare(seed=False)
    data = setup(a, "circle")
    conv = data["conversation"]
    elsewhere = setup(c, "circle")
    assert elsewhere["conversation"] == conv  # the same room names, were the channel shared
    a.start()
    b.start()
    c.start()
    try:
        members = connected(data, (a, "patient"), (a, "relative"), (b, "nurse"))
        with members as (patient, relative, nurse), connected(elsewhere, (c, "patient")) as (
                stranger,):
            deadline = time.monotonic() + 30
            first = nurse.send("redis-two-process-1", "Sent on B, read on A", deadline)
            assert wait_until(lambda: first["id"] in patient.received, 10)
            assert wait_until(lambda: first["id"] in relative.received, 10)
            # Delivered to A through Redis: C would have had it by now (no ack to wait for).
            time.sleep(0.5)
            assert stranger.received == {}

            # The patient revokes Claire in yet another process: her socket on A leaves the room.
            setup(a, "revoke", data["patient"]["id"], data["relative"]["id"])
            second = nurse.send("redis-two-process-2", "After the revocation", deadline)
            assert wait_until(lambda: second["id"] in patient.received, 10)
            assert second["id"] not in relative.received
            assert ("access_lost", {"conversation_ids": [conv]}) in relative.events
    finally:
        a.stop()
        b.stop()
        c.stop()
