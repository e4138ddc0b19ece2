"""Readers and writers against a real server with two worker processes, for a bounded time: no answer
is a 5xx, no acknowledged write is lost, and a write through one worker is searched by both soon
after. On SQLite, and on PostgreSQL under ``make test-postgres``."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from api.settings import ROOT

RUN_SECONDS = 8.0
_TOKEN: dict[str, str] = {}  # the secretariat token the server fixture made with `dldmatch token create`
SEED_IDS = ["future_forest", "green_asia_network", "elion", "kfs", "unccd", "met_mn"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, file_database_url: str) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")  # a file, not a pipe nobody reads (a full pipe blocks the workers)
    env = {**os.environ, "DLDMATCH_DATABASE_URL": file_database_url, "DLDMATCH_INDEX_DIR": str(tmp_path / "index"),
           "DLDMATCH_EMBEDDER": "fake", "DLDMATCH_FOLLOW_INTERVAL": "0.2"}
    made = subprocess.run([sys.executable, "-m", "api.cli", "token", "create", "--role", "secretariat"], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=True)
    _TOKEN["secretariat"] = made.stdout.strip()  # read by _client (the writers are the secretariat's script)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:app_from_env", "--factory", "--workers", "2",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        pids: set[int] = set()
        while len(pids) < 2:  # both workers ready
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not get ready"
            try:
                r = httpx.get(f"{base}/health", timeout=5)
                if r.status_code == 200:
                    pids.add(r.json()["following"]["process"])
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        errors = (tmp_path / "server.log").read_text(errors="replace")
        if "Traceback" in errors:  # shown with the failure it explains
            print(errors[-6000:])


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {_TOKEN['secretariat']}"})


def test_readers_and_writers_at_once(server: str) -> None:
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    alive: dict[str, bool] = {}  # acknowledged state of every stakeholder the writers touched
    participants: set[str] = set()
    lock = threading.Lock()
    stop = time.monotonic() + RUN_SECONDS

    def note(response: httpx.Response, what: str) -> None:
        with lock:
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                server_errors.append(f"{what}: {response.status_code} {response.text[:200]}")

    def reader(n: int) -> None:
        with _client(server) as c:
            while time.monotonic() < stop:
                if n % 2:
                    r = c.get(f"/stakeholders/{random.choice(SEED_IDS)}/partners", params={"k": 5})
                else:
                    r = c.post("/match", json={"text": "saxaul shelterbelts in the Gobi", "k": 5})
                note(r, "read")

    def writer(n: int) -> None:
        with _client(server) as c:
            i = 0
            while time.monotonic() < stop:
                sid = f"w{n}-{i}"
                body = {"type": "stakeholder", "id": sid, "name": f"Writer {n} group {i}", "kind": "cso",
                        "description": f"A writer test group {i} planting shelterbelts against dust."}
                r = c.post("/stakeholders", json=body)
                note(r, "create")
                if r.status_code == 201:
                    with lock:
                        alive[sid] = True
                    r = c.put(f"/stakeholders/{sid}", json={**body, "name": body["name"] + " (changed)"},
                              headers={"If-Match": r.headers["etag"]})
                    note(r, "put")
                    if i % 2:
                        r = c.delete(f"/stakeholders/{sid}")
                        note(r, "delete")
                        if r.status_code == 204:
                            with lock:
                                alive[sid] = False
                i += 1

    def racer() -> None:  # one id created, replaced and deleted by several clients at once
        with _client(server) as c:
            body = {"type": "stakeholder", "id": "contested", "name": "Contested", "kind": "cso",
                    "description": "Created and deleted by several clients at once."}
            while time.monotonic() < stop:
                for r in (c.post("/stakeholders", json=body), c.put("/stakeholders/contested", json=body),
                          c.delete("/stakeholders/contested")):
                    note(r, "race")

    def forum_racer() -> None:  # one forum id created and deleted by several clients at once
        with _client(server) as c:
            body = {"id": "contested-forum", "name": "Contested", "slot_count": 2, "tables": 2,
                    "first_slot": "2027-05-01T09:00:00+08:00"}
            while time.monotonic() < stop:
                for r in (c.post("/forums", json=body), c.put("/forums/contested-forum", json=body),
                          c.delete("/forums/contested-forum")):
                    note(r, "forum race")

    def joiner(n: int) -> None:
        with _client(server) as c:
            for sid in SEED_IDS[n::3]:
                r = c.post("/forums/race-forum/participants", json={"stakeholder": sid})
                note(r, "participant")
                if r.status_code == 200:
                    with lock:
                        participants.add(sid)

    with _client(server) as c:
        created = c.post("/forums", json={"id": "race-forum", "name": "Race forum", "slot_count": 4, "tables": 4,
                                          "first_slot": "2027-05-01T09:00:00+08:00"})
        assert created.status_code == 201, created.text
    def guarded(work: Callable[..., None], *args: Any) -> Callable[[], None]:
        def run() -> None:
            try:
                work(*args)
            except Exception as exc:  # a dropped connection is a failure too
                with lock:
                    server_errors.append(f"{work.__name__}: {exc!r}")
        return run

    threads = [threading.Thread(target=guarded(reader, n)) for n in range(4)]
    threads += [threading.Thread(target=guarded(writer, n)) for n in range(2)]
    threads += [threading.Thread(target=guarded(racer)) for _ in range(2)]
    threads += [threading.Thread(target=guarded(forum_racer)) for _ in range(2)]
    threads += [threading.Thread(target=guarded(joiner, n)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not server_errors, server_errors[:5]
    assert statuses[200] > 20 and statuses[201] > 2, statuses
    with _client(server) as c:
        for sid, exists in alive.items():  # every acknowledged write holds, through either worker
            for _ in range(2):
                assert c.get(f"/stakeholders/{sid}").status_code == (200 if exists else 404), sid
        kept = {p["stakeholder"] for p in c.get("/forums/race-forum").json()["participants"]}
        assert participants <= kept and participants, (participants, kept)

        # a new profile written through one worker is searched by both within a few seconds
        body = {"type": "stakeholder", "id": "visible-soon", "name": "Visible Soon", "kind": "cso",
                "description": "Quokka-friendly xerophyte terraces on the Khangai slopes."}
        assert c.post("/stakeholders", json=body).status_code == 201
        written = time.monotonic()
        seen_in_a_row = 0
        while seen_in_a_row < 10:  # ten answers in a row, so both workers answered
            assert time.monotonic() - written < 10, "a write was not searched by every worker within 10 s"
            r = c.post("/match", json={"text": "xerophyte terraces on the Khangai slopes", "k": 10})
            found = r.status_code == 200 and "visible-soon" in [m["id"] for m in r.json()["stakeholders"]]
            seen_in_a_row = seen_in_a_row + 1 if found else 0
