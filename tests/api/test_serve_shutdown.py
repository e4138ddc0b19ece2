"""``dldmatch serve`` ends soon after SIGTERM, even while a long schedule is being solved: requests
still running get a few seconds (``--shutdown-seconds``), not as long as they like."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from api.settings import ROOT

DLDMATCH = Path(sys.executable).parent / "dldmatch"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not DLDMATCH.exists(), reason="the dldmatch command is not installed next to this Python")
def test_sigterm_stops_the_server_while_a_schedule_is_solved(tmp_path: Path, file_database_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "DLDMATCH_DATABASE_URL": file_database_url, "DLDMATCH_INDEX_DIR": str(tmp_path / "index"),
           "DLDMATCH_EMBEDDER": "fake"}
    token = subprocess.run([str(DLDMATCH), "token", "create", "--role", "secretariat"], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    proc = subprocess.Popen([str(DLDMATCH), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--shutdown-seconds", "3"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "the server did not get ready"
            try:
                if httpx.get(f"{base}/health", timeout=5).json().get("status") == "ok":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        ids = [s["id"] for s in httpx.get(f"{base}/stakeholders", params={"limit": 200}).json()["items"]]
        forum = {"id": "long", "name": "Long", "tables": 10, "min_meetings": 2, "slot_count": 40,
                 "first_slot": "2025-09-24T09:00:00Z", "participants": [{"stakeholder": i} for i in ids]}
        assert httpx.post(f"{base}/forums", json=forum, headers=auth).status_code == 201
        # the seed stakeholders over 40 slots: an exact model that keeps a core busy for the whole limit
        solving = threading.Thread(target=lambda: _quietly(f"{base}/forums/long/schedule", auth), daemon=True)
        solving.start()
        time.sleep(2)
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        assert time.monotonic() - stopped < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _quietly(url: str, auth: dict[str, str]) -> None:
    """The schedule request; its connection is dropped when the server stops."""
    try:
        httpx.post(url, json={"method": "exact", "time_limit": 60}, timeout=90, headers=auth)
    except httpx.HTTPError:
        pass
