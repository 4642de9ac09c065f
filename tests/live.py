"""A real Health Space server in a child process, for browser and process-level tests.

It gets its own instance folder, database and port; WebAuthn needs the page on
http://localhost:PORT, so the origin is localhost, never 127.0.0.1.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.request import urlopen
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DATABASE_FILE = "live.db"
# What differs from one server to the next without changing what `flask db upgrade` and
# `flask demo seed` write: servers that agree on the rest start from the same prepared copy.
# (pytest names the current test in the environment.)
PER_SERVER = {"HEALTHSPACE_INSTANCE", "DATABASE_URL", "WEBAUTHN_ORIGIN", "PORT",
              "PYTEST_CURRENT_TEST"}
_prepared: dict[tuple, Path] = {}
DEMO_ZONE = ZoneInfo("Europe/Paris")  # the demo agenda's days ("in 3 days") are counted there


def wait_until(condition, seconds: float, tick=None) -> bool:
    """Whether `condition()` became true within `seconds` (polled every 0.1 s; `tick()`
    called between two looks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        if tick:
            tick()
        time.sleep(0.1)
    return condition()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, instance: Path, database_url: str | None = None, port: int | None = None,
                 extra_env: dict | None = None, command: list[str] | None = None):
        self.instance = Path(instance)
        self.instance.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://localhost:{self.port}"
        self.database_url = database_url or f"sqlite:///{self.instance / DATABASE_FILE}"
        self.own_database = database_url is None  # a database given is shared, or not SQLite
        self.command = command
        self.env = {
            **os.environ,
            "HEALTHSPACE_INSTANCE": str(self.instance),
            "HEALTHSPACE_ENV": "test",
            "DATABASE_URL": self.database_url,
            "WEBAUTHN_ORIGIN": self.url,
            "WEBAUTHN_RP_ID": "localhost",
            "FLASK_APP": "wsgi:app",
            "PORT": str(self.port),
            "HOST": "localhost",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None
        self.log = self.instance / f"server-{self.port}.log"

    def under_gunicorn(self) -> LiveServer:
        """Serve as production does: gunicorn's gevent worker with gunicorn.conf.py."""
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.env["SOCKETIO_ASYNC_MODE"] = "gevent"
        self.command = [gunicorn, "-c", "gunicorn.conf.py", "-b", f"localhost:{self.port}",
                        "wsgi:app"]
        return self

    def flask(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def prepare(self, seed: bool = True) -> LiveServer:
        """Migrate (and seed) this server's database. On its own SQLite file, the first server
        of the test run does it in a folder kept for the run, and every server after it with
        the same settings copies that folder (database, secrets, keyring): two `flask`
        processes less each time, about 4 s."""
        if not self.own_database:
            return self._migrate(seed)
        settings = tuple(sorted((k, v) for k, v in self.env.items() if k not in PER_SERVER))
        # A run that crosses midnight seeds again: the demo's dates are relative to its day.
        key = (seed, datetime.now(DEMO_ZONE).date(), settings)
        if key not in _prepared:
            folder = Path(tempfile.mkdtemp(prefix="healthspace-prepared-"))
            atexit.register(shutil.rmtree, folder, True)
            LiveServer(folder, extra_env=dict(settings))._migrate(seed)
            # The last connection to close folds the log back into the file: one file to copy.
            database = sqlite3.connect(folder / DATABASE_FILE)
            database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            database.close()
            _prepared[key] = folder
        for path in _prepared[key].iterdir():
            shutil.copy2(path, self.instance / path.name)
        return self

    def _migrate(self, seed: bool) -> LiveServer:
        self.flask("db", "upgrade")
        if seed:
            self.flask("demo", "seed")
        return self

    def start(self, timeout: float = 30) -> LiveServer:
        command = self.command or [sys.executable, "-m", "webapp.serve"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()[-3000:]}")
            try:
                with urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def _signal(self, sig: int) -> None:
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as a crash would be."""
        self._signal(signal.SIGKILL)
        if self.process:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)
        if self.process:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
