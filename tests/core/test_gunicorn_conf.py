"""gunicorn.conf.py: what the serving worker does besides serving, and where it writes."""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import pytest

from tests.live import LiveServer, wait_until

ROOT = Path(__file__).resolve().parents[2]
CONF = str(ROOT / "gunicorn.conf.py")
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux mounts, gevent")


def _file_system(path: str) -> str:
    """The type of the file system `path` is on, from /proc/mounts (longest mount point)."""
    path = os.path.realpath(path)
    best, kind = "", ""
    for line in Path("/proc/mounts").read_text().splitlines():
        _device, mount, fs_type, *_ = line.split()
        inside = path == mount or path.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, fs_type
    return kind


@linux
@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm on this machine")
def test_the_worker_heartbeat_file_is_in_memory(monkeypatch):
    # The heartbeat touches its file from the loop that serves every socket: on disk, the
    # touch can wait for the journal and stall the whole worker.
    monkeypatch.delenv("WORKER_TMP_DIR", raising=False)
    directory = runpy.run_path(CONF)["worker_tmp_dir"]
    assert directory == "/dev/shm"
    assert _file_system(directory) == "tmpfs"


def test_worker_tmp_dir_can_be_chosen(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKER_TMP_DIR", str(tmp_path))
    assert runpy.run_path(CONF)["worker_tmp_dir"] == str(tmp_path)


@linux
def test_the_worker_writes_its_collector_figures_each_second(tmp_path):
    stats = tmp_path / "gc.json"
    server = LiveServer(
        tmp_path / "instance", extra_env={"HEALTHSPACE_GC_STATS": str(stats)}
    ).under_gunicorn()
    server.prepare(seed=False)
    server.start()

    def figures():
        try:
            return json.loads(stats.read_text())
        except (OSError, ValueError):
            return None

    try:
        assert wait_until(lambda: figures() is not None, 15)
        first = figures()
        assert set(first) == {"collections", "pause_ms_total", "pause_ms_max",
                              "pauses_over_20ms", "at"}
        # The worker's own full collection before it freezes its start-up heap is counted.
        assert first["collections"][2] >= 1
        assert wait_until(lambda: (figures() or first)["at"] > first["at"], 5)
    finally:
        server.stop()
