"""Fan-out benchmark: signed-in Socket.IO clients in conversations of 5, messages sent at a
fixed rate, each committed (sealed, SQLite or DATABASE_URL) before it is emitted; latency from
send to receipt by every other member. Then the same load on a bare python-socketio relay (the
ceiling of the stack), then idle connections and the worker's memory. Prints JSON.

    .venv/bin/python bench/chat_fanout.py [--clients 1000] [--rate 100] [--seconds 30]
                                          [--idle 2000] [--rounds 5] [--database URL] [--keep]
                                          [--kind professional|care]

Server: gunicorn -k gevent -w 1 -c gunicorn.conf.py (GC frozen after start-up, see there).
Clients: python-socketio AsyncClient (aiohttp) in this process, on the same 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
UA = "healthspace-bench/1.0"
NS = "/chat"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --kind care: each conversation is a patient's, with (for a group of 5) two relatives and two
# professionals holding a "messages" grant: every event then asks the circle for the sender's
# grant, and every message of someone else than the patient goes to their access history.
CARE_ROLES = ("patient", "relative", "relative", "professional", "professional")


def _role_fields(index: int, group: int, kind: str) -> dict:
    """The role of the index-th user (professions and RPPS numbers for professionals only)."""
    role = "professional" if kind != "care" else CARE_ROLES[min(index % group, len(CARE_ROLES) - 1)]
    if role == "professional":
        return {"role": role, "profession": "Nurse", "rpps": f"{index + 1:011d}"}
    return {"role": role, "profession": None, "rpps": None}


def prepare(instance: Path, database_url: str, users: int, group: int,
            kind: str = "professional") -> dict:
    """Users, conversations of `group` and one signed session cookie per user."""
    os.environ["HEALTHSPACE_INSTANCE"] = str(instance)
    from flask import session
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from webapp import create_app, crypto
    from webapp.accounts import services as accounts
    from webapp.accounts.models import User
    from webapp.chat import services
    from webapp.chat.models import Conversation, ConversationMember
    from webapp.circle.models import Grant
    from webapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_DIR": str(instance)})
    with app.app_context():
        upgrade()
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"pro{i}@bench.test",
                    "display_name": f"Pro {i}",
                    **_role_fields(i, group, kind),
                    "language": "en",
                    "timezone": "Europe/Paris",
                    "large_text": False,
                    "theme": "auto",
                    "session_token": f"bench-token-{i}",
                    "active": True,
                    "webauthn_handle": os.urandom(32),
                }
                for i in range(users)
            ],
        )
        db.session.commit()
        ids = db.session.scalars(db.select(User.id).order_by(User.id)).all()
        rooms: dict[int, list[int]] = {}
        at = services.now()
        for start in range(0, len(ids) - group + 1, group):
            members = ids[start : start + group]
            patient = members[0] if kind == "care" else None
            if patient is not None:
                db.session.add_all(
                    Grant(patient_id=patient, grantee_id=u, scopes="messages", created_at=at)
                    for u in members[1:]
                )
            conv = Conversation(
                kind=kind,
                patient_id=patient,
                created_by_id=members[0],
                created_at=at,
                last_activity_at=at,
                subject_sealed=crypto.seal("Bench", Conversation.subject_aad(at)),
            )
            conv.members = [ConversationMember(user_id=u, joined_at=at) for u in members]
            db.session.add(conv)
            db.session.flush()
            rooms[conv.id] = members
        db.session.commit()
        cookies = {}
        environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": UA}
        serializer = app.session_interface.get_signing_serializer(app)
        for user_id in ids:
            with app.test_request_context("/", environ_base=environ):
                accounts.start_session(db.session.get(User, user_id))
                cookies[user_id] = serializer.dumps(dict(session))
    return {"rooms": rooms, "cookies": cookies, "ids": ids}


def start_server(command: list[str], env: dict, url: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            urllib.request.urlopen(url, timeout=1)
            return process
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error is an answer
                return process
            time.sleep(0.2)
    raise RuntimeError("server did not start:\n" + log.read_text()[-3000:])


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def worker_pid(master: subprocess.Popen) -> int | None:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    try:
        return int(children.read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def worker_cpu_seconds(master: subprocess.Popen) -> float | None:
    """User + system CPU time of the (single) worker process so far."""
    pid = worker_pid(master)
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def worker_rss_mb(master: subprocess.Popen) -> float | None:
    pid = worker_pid(master)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, IndexError, ValueError):
        return None
    return None


async def run_load(
    url: str,
    members: list[tuple[int, int, dict]],
    rate: float,
    seconds: float,
    drain: float = 5.0,
    on_connected=None,
    cpu_seconds=None,
    gc_stats=None,
    settle: float = 6.0,
) -> dict:
    """members: (user_id, conversation_id, connect kwargs). Returns latency figures."""
    import socketio

    sent: dict[str, float] = {}
    latencies: list[float] = []
    arrivals: list[tuple[float, float]] = []  # (sent, received) per delivery
    expected = 0
    received = 0
    errors = 0
    by_conversation: dict[int, list] = {}

    clients = []
    semaphore = asyncio.Semaphore(50)

    async def connect(user_id, conversation_id, kwargs):
        client = socketio.AsyncClient(reconnection=False)

        @client.on("new_message", namespace=NS)
        async def on_message(data):
            nonlocal received
            entry = sent.get(data.get("client_id"))
            if entry is not None and entry[1] is not client:  # the author's echo is not a delivery
                at = time.perf_counter()
                latencies.append((at - entry[0]) * 1000)
                arrivals.append((entry[0], at))
                received += 1

        async with semaphore:
            await client.connect(
                url, namespaces=[NS], transports=["websocket"], wait_timeout=30, **kwargs
            )
        clients.append(client)
        by_conversation.setdefault(conversation_id, []).append(client)

    await asyncio.gather(*(connect(*m) for m in members))
    if on_connected is not None:
        on_connected()
    # Steady traffic is measured, not the arrival of a thousand connections: the worker
    # freezes the new connections' state a few seconds after they stop arriving (one full
    # collection, see gunicorn.conf.py), which happens here, before the first message.
    await asyncio.sleep(settle)
    # The same for this process: a full collection over a thousand clients' state would
    # pause every client for ~100 ms and be counted as the server's latency.
    gc.collect()
    gc.freeze()
    probe = start_probe()
    own_stalls: list[list[float]] = []
    watcher = asyncio.create_task(watch_loop(own_stalls))
    cpu_start = cpu_seconds() if cpu_seconds else None
    gc_start = gc_stats() if gc_stats else None
    counter = 0
    run = os.urandom(4).hex()
    interval = 1.0 / rate
    t_start = time.perf_counter()
    loop_until = t_start + seconds

    def acked(reply):
        nonlocal errors
        if not (isinstance(reply, dict) and reply.get("ok")):
            errors += 1

    while time.perf_counter() < loop_until:
        conversation_id = random.choice(list(by_conversation))
        group = by_conversation[conversation_id]
        sender = random.choice(group)
        counter += 1
        client_id = f"bench-{run}-{counter:08d}"  # a retry of an id is not delivered again
        expected += len(group) - 1
        sent[client_id] = (time.perf_counter(), sender)
        await sender.emit(
            "send_message",
            {
                "conversation_id": conversation_id,
                "client_id": client_id,
                "body": f"Bench {counter}",
            },
            namespace=NS,
            callback=acked,
        )
        next_at = t_start + counter * interval
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    elapsed = time.perf_counter() - t_start
    deadline = time.perf_counter() + drain
    while received < expected and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    cpu_end = cpu_seconds() if cpu_seconds else None
    machine = stop_probe(probe, t_start)
    watcher.cancel()
    await asyncio.sleep(1.2)  # the worker writes its collector figures every second
    gc_end = gc_stats() if gc_stats else None
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    gc.unfreeze()
    slowest = sorted(arrivals, key=lambda a: a[0] - a[1])[:8]
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(len(latencies) * q))], 2)  # noqa: E731
    return {
        "clients": len(clients),
        "messages_sent": counter,
        "messages_per_second": round(counter / elapsed, 1),
        "deliveries_expected": expected,
        "deliveries_received": received,
        "lost": expected - received,
        "send_errors": errors,
        "p50_ms": pick(0.50) if latencies else None,
        "p90_ms": pick(0.90) if latencies else None,
        "p99_ms": pick(0.99) if latencies else None,
        "p999_ms": pick(0.999) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        # Everything the worker did while sending and draining (pings of every connection
        # included), divided by the messages sent.
        "worker_cpu_ms_per_message": round((cpu_end - cpu_start) * 1000 / counter, 2)
        if cpu_start is not None and cpu_end is not None and counter
        else None,
        **({"worker_gc": gc_delta(gc_start, gc_end)} if gc_start and gc_end else {}),
        # When the slowest deliveries were sent (seconds into the run) and how long they took:
        # stalls of the whole worker show as one instant shared by many deliveries.
        "slowest": [[round(s - t_start, 2), round((r - s) * 1000, 1)] for s, r in slowest],
        # The same run seen from an idle process (bench/stall_probe.py): when the machine
        # itself stopped everything, and for how long. A stall in "slowest" at the same
        # instant is the machine's, not the server's.
        "machine_stalls": machine,
        # And from this process's own event loop, which receives every delivery: a stall
        # here delays the deliveries as measured without the server being slow.
        "client_stalls": [[round(at - t_start, 2), late] for at, late in own_stalls][:10],
    }


# The figures of each round kept in "rounds" (the median round's are given in full).
ROUND_FIGURES = ("p50_ms", "p99_ms", "max_ms", "lost", "send_errors", "worker_cpu_ms_per_message")


async def watch_loop(stalls: list, tick: float = 0.002, late_ms: float = 20) -> None:
    """Note when this process's event loop wakes up more than `late_ms` late."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(tick)
        late = (time.perf_counter() - before - tick) * 1000
        if late > late_ms:
            stalls.append([before, round(late, 1)])


def start_probe() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "stall_probe.py")], stdout=subprocess.PIPE
    )


def stop_probe(probe: subprocess.Popen, t_start: float) -> dict:
    """The probe's late wake-ups, in seconds into the run, and the worst of them."""
    probe.terminate()
    try:
        out, _ = probe.communicate(timeout=5)
        figures = json.loads(out)
    except (subprocess.TimeoutExpired, ValueError):
        probe.kill()
        return {"max_late_ms": None, "over_20ms": []}
    return {
        "max_late_ms": figures["max_late_ms"],
        "over_20ms": [[round(at - t_start, 2), late] for at, late in figures["stalls"]][:10],
    }


def read_gc_stats(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def gc_delta(before: dict, after: dict) -> dict:
    """The collector's work in the worker between two snapshots (see gunicorn.conf.py)."""
    return {
        "collections_by_generation": [
            a - b for a, b in zip(after["collections"], before["collections"], strict=True)
        ],
        "pause_ms_total": round(sum(after["pause_ms_total"]) - sum(before["pause_ms_total"]), 1),
        "pause_ms_max_over_run": round(max(after["pause_ms_max"]), 1),
        "pauses_over_20ms": after["pauses_over_20ms"] - before["pauses_over_20ms"],
    }


async def hold_idle(url: str, connect_kwargs: list[dict], master) -> dict:
    import socketio

    before = worker_rss_mb(master)
    clients = []
    semaphore = asyncio.Semaphore(50)

    async def connect(kwargs):
        client = socketio.AsyncClient(reconnection=False)
        async with semaphore:
            await client.connect(
                url, namespaces=[NS], transports=["websocket"], wait_timeout=30, **kwargs
            )
        clients.append(client)

    await asyncio.gather(*(connect(k) for k in connect_kwargs), return_exceptions=True)
    await asyncio.sleep(5)
    after = worker_rss_mb(master)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    return {
        "idle_connections": len(clients),
        "worker_rss_mb_before": before,
        "worker_rss_mb_with_idle": after,
        "kb_per_connection": round((after - before) * 1024 / max(1, len(clients)), 1)
        if before and after
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--group", type=int, default=5)
    parser.add_argument(
        "--kind", choices=("professional", "care"), default="professional",
        help="conversations between professionals (default), or a patient's care conversations"
        " (patient, 2 relatives, 2 professionals: grants asked, access history written)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5,
        help="app and bare runs, alternated (a 30 s p99 moves by +-20%% between runs)",
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("DATABASE_URL"),
        help="an empty database, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/<fresh db>"
        " (default: DATABASE_URL, else a new SQLite file)",
    )
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the instance folder (database, servers' logs) and print where it is",
    )
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="hs-bench-fanout-"))
    if args.keep:
        print(f"instance folder: {instance}", file=sys.stderr)
    else:
        atexit.register(shutil.rmtree, instance, True)
    database_url = args.database or f"sqlite:///{instance / 'bench.db'}"
    users = max(args.clients, args.idle)
    data = prepare(instance, database_url, users, args.group, args.kind)
    port = free_port()
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "HEALTHSPACE_INSTANCE": str(instance),
        "DATABASE_URL": database_url,
        "HEALTHSPACE_ENV": "test",
        "SOCKETIO_ASYNC_MODE": "gevent",
        "WEBAUTHN_ORIGIN": url,
        "RATELIMIT_ENABLED": "0",
        "BIND": f"localhost:{port}",
        "HEALTHSPACE_GC_STATS": str(instance / "gc.json"),
    }
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    result: dict = {
        "server": "gunicorn -k gevent -w 1 -c gunicorn.conf.py",
        "database": database_url.split(":")[0],
        "clients": args.clients,
        "group": args.group,
        "conversations": args.kind,
        "offered_rate": args.rate,
        "seconds": args.seconds,
    }

    in_rooms = [(uid, cid) for cid, members in data["rooms"].items() for uid in members]
    in_rooms = in_rooms[: args.clients - args.clients % args.group]
    app_command = [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"]
    app_ready = f"{url}/healthz"

    def signed_in(uid: int) -> dict:
        # A new dict for every connection: the client library keeps and changes the one given.
        return {"headers": {"Cookie": f"session={data['cookies'][uid]}", "User-Agent": UA}}

    bare_port = free_port()
    bare_url = f"http://localhost:{bare_port}"
    # Started in the project's folder, the relay's gunicorn reads ./gunicorn.conf.py as well
    # (gunicorn's default): the same collector management, heartbeat file and GC figures;
    # its post_worker_init leaves out what is the app's (warm-up, SQLite checkpoints).
    bare_command = [
        gunicorn,
        "-k",
        "gevent",
        "-w",
        "1",
        "--worker-connections",
        "10000",
        "--no-control-socket",
        "-b",
        f"localhost:{bare_port}",
        "bench.bare_socketio:app",
    ]
    bare_ready = f"{bare_url}/socket.io/?EIO=4&transport=polling"

    def load(command, ready, log, server_url, members, with_gc=False) -> dict:
        server = start_server(command, env, ready, instance / log)
        try:
            figures = asyncio.run(
                run_load(
                    server_url,
                    members,
                    args.rate,
                    args.seconds,
                    cpu_seconds=lambda: worker_cpu_seconds(server),
                    gc_stats=(lambda: read_gc_stats(instance / "gc.json")) if with_gc else None,
                )
            )
            figures["worker_rss_mb_after_load"] = worker_rss_mb(server)
            return figures
        finally:
            stop(server)

    def idle(command, ready, log, server_url, connect_kwargs) -> dict:
        # On a fresh worker: what a process needs to hold that many people who are signed in
        # and reading.
        server = start_server(command, env, ready, instance / log)
        try:
            time.sleep(3)  # the worker's start-up collection and freeze (gunicorn.conf.py)
            return asyncio.run(hold_idle(server_url, connect_kwargs, server))
        finally:
            stop(server)

    # A 30 s run's p99 moves by ±20% from one run to the next on a shared machine, the bare
    # server's as much as the app's: the two are run alternately and the ratio reported is
    # the median of the rounds'.
    rounds = []
    for _ in range(args.rounds):
        app_figures = load(
            app_command,
            app_ready,
            "app.log",
            url,
            [(uid, cid, signed_in(uid)) for uid, cid in in_rooms],
            with_gc=True,
        )
        bare_figures = load(
            bare_command,
            bare_ready,
            "bare.log",
            bare_url,
            [(uid, cid, {"auth": {"room": cid}}) for uid, cid in in_rooms],
        )
        rounds.append((app_figures, bare_figures))
    ratios = [
        round(a["p99_ms"] / b["p99_ms"], 2) if a["p99_ms"] and b["p99_ms"] else None
        for a, b in rounds
    ]
    # Every round's figures, not only the median one's: the absolute targets hold in each
    # round or they do not hold, and a stall in one round must not hide behind the median.
    result["rounds"] = [
        {
            "ratio": r,
            "app": {k: a.get(k) for k in ROUND_FIGURES},
            "bare": {k: b.get(k) for k in ROUND_FIGURES},
            **({"app_gc": a["worker_gc"]} if "worker_gc" in a else {}),
            "app_slowest": a["slowest"][:3],
            "app_machine_stalls": a["machine_stalls"],
            "bare_slowest": b["slowest"][:3],
            "bare_machine_stalls": b["machine_stalls"],
            "client_stalls": {"app": a["client_stalls"], "bare": b["client_stalls"]},
        }
        for (a, b), r in zip(rounds, ratios, strict=True)
    ]
    result["worst_round"] = {
        "app_p99_ms": max(a["p99_ms"] or 0 for a, _b in rounds),
        "app_max_ms": max(a["max_ms"] or 0 for a, _b in rounds),
        "lost": sum(a["lost"] for a, _b in rounds),
        "ratio": max((r for r in ratios if r is not None), default=None),
    }
    measured = sorted((r, i) for i, r in enumerate(ratios) if r is not None)
    median = measured[len(measured) // 2][1] if measured else 0
    result["app"], result["bare"] = rounds[median]
    result["p99_ratio_app_to_bare"] = ratios[median]
    result["idle"] = idle(
        app_command, app_ready, "app.log", url, [signed_in(u) for u in data["ids"][: args.idle]]
    )
    result["bare_idle"] = idle(
        bare_command,
        bare_ready,
        "bare.log",
        bare_url,
        [{"auth": {"room": 0}} for _ in range(args.idle)],
    )
    result["targets"] = {
        "p99_ms": 50,
        "max_ms": 500,
        "lost": 0,
        "p99_ratio_at_most": 2,
        "idle_worker_rss_mb_at_most": 250,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
