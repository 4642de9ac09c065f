"""`make run` sweeps ended access by itself: no cron, no command to remember."""

from __future__ import annotations

import sqlite3
import time

from tests.live import LiveServer


def _signalled(db_path: str, grant_id: int):
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT expiry_signalled_at FROM circle_grants WHERE id = ?",
                            (grant_id,)).fetchone()[0]


def test_the_served_app_sweeps_ended_grants_by_itself(tmp_path):
    server = LiveServer(tmp_path / "live", extra_env={
        "RUN_REMINDER_WORKER": "0", "CIRCLE_SWEEP_SECONDS": "1"}).prepare(seed=True)
    db_path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db_path) as conn:
        grant_id = conn.execute(
            "SELECT g.id FROM circle_grants g JOIN users u ON u.id = g.grantee_id"
            " WHERE u.email = 'claire@demo.healthspace.test'").fetchone()[0]
        conn.execute("UPDATE circle_grants SET ends_at = datetime('now', '-1 minute'),"
                     " expiry_signalled_at = NULL WHERE id = ?", (grant_id,))
    assert _signalled(db_path, grant_id) is None
    server.start()
    try:
        for _ in range(300):
            if _signalled(db_path, grant_id) is not None:
                break
            time.sleep(0.1)
        assert _signalled(db_path, grant_id) is not None, server.log.read_text()[-2000:]
    finally:
        server.stop()


def test_the_sweep_command_loops(tmp_path):
    """`flask circle sweep --loop` is the production form: it keeps running until stopped."""
    import subprocess
    import sys

    from tests.live import ROOT

    server = LiveServer(tmp_path / "cli").prepare(seed=True)
    db_path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db_path) as conn:
        grant_id = conn.execute("SELECT id FROM circle_grants ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE circle_grants SET ends_at = datetime('now', '-1 minute')"
                     " WHERE id = ?", (grant_id,))
    process = subprocess.Popen([sys.executable, "-m", "flask", "circle", "sweep", "--loop",
                                "--interval", "1"], cwd=ROOT, env=server.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if _signalled(db_path, grant_id) is not None:
                break
            time.sleep(0.1)
        assert _signalled(db_path, grant_id) is not None
        assert process.poll() is None  # still looping
    finally:
        process.terminate()
        process.wait(10)
