"""Shared fixtures: typed settings, the fake embedder, an in-memory database, a test client.

With ``DLDMATCH_TEST_DATABASE_URL`` set to a PostgreSQL URL (``make test-postgres`` sets it to a
throwaway server of its own), every test gets a fresh, empty PostgreSQL database instead.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url

from api.app import create_app
from api.service import DLDMatch
from api.settings import ROOT, Settings
from embeddings.fake import FakeEmbedder

DATA = Path(__file__).parent / "data"
SMALL = DATA / "small.jsonl"
T = TypeVar("T")
SEEDS = sorted((ROOT / "seed_profiles").glob("*.jsonl"))
# e.g. postgresql+psycopg://dldmatch@/postgres?host=/tmp/dldmatch-pg.x: a server on which the tests may
# create and drop databases; its own database is only used to do that.
TEST_DATABASE_URL = os.environ.get("DLDMATCH_TEST_DATABASE_URL") or None


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine]:
    if not TEST_DATABASE_URL:
        pytest.fail("DLDMATCH_TEST_DATABASE_URL is not set")
    server = make_url(TEST_DATABASE_URL)
    if not server.get_backend_name().startswith("postgresql"):
        pytest.fail(f"DLDMATCH_TEST_DATABASE_URL must be a PostgreSQL URL, not {server.get_backend_name()}")
    # CREATE/DROP DATABASE cannot run in a transaction
    admin = create_engine(server.set(database=server.database or "postgres"), isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def _postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty database on the test server, dropped (whoever is still connected) after the test."""
    admin: Engine = request.getfixturevalue("_postgres_admin")
    name = f"dldmatch_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        # copying the template's files beats WAL-logging them (15's default) on a server without fsync
        strategy = " STRATEGY FILE_COPY" if conn.dialect.server_version_info >= (15,) else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{strategy}'))
    url: URL = admin.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for one test: SQLite in memory, or a PostgreSQL database of its own."""
    if TEST_DATABASE_URL:
        yield from _postgres_database(request)
    else:
        yield "sqlite://"


@pytest.fixture
def file_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database that outlives its engine (restarts, the CLI's separate runs): a SQLite file,
    or a PostgreSQL database of its own."""
    if TEST_DATABASE_URL:
        yield from _postgres_database(request)
    else:
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(database_url=database_url, index_dir=tmp_path / "index", embedder="fake", seed_dir=None)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def service(settings: Settings, embedder: FakeEmbedder) -> Iterator[DLDMatch]:
    svc = DLDMatch(settings, embedder)
    svc.start()
    yield svc
    _close(svc)


@pytest.fixture
def loaded(service: DLDMatch) -> DLDMatch:
    service.import_files([SMALL])
    return service


def secretariat_headers(svc: DLDMatch) -> dict[str, str]:
    """A new secretariat token's header, as `dldmatch token create --role secretariat` makes it."""
    return {"Authorization": f"Bearer {svc.accounts.create_token('secretariat', label='tests')}"}


@pytest.fixture
def client(loaded: DLDMatch) -> Iterator[TestClient]:
    """A client of the secretariat (a bearer token): it may use every route. `anonymous` is the public."""
    with TestClient(create_app(loaded.settings, service=loaded, start="none"),
                    headers=secretariat_headers(loaded)) as c:
        yield c


@pytest.fixture
def anonymous(loaded: DLDMatch) -> Iterator[TestClient]:
    with TestClient(create_app(loaded.settings, service=loaded, start="none")) as c:
        yield c


@pytest.fixture
def seeded(settings: Settings, embedder: FakeEmbedder) -> Iterator[DLDMatch]:
    """The seed profiles, as `make run` loads them, on the fake embedder."""
    svc = DLDMatch(settings.model_copy(update={"seed_dir": ROOT / "seed_profiles"}), embedder)
    svc.start()
    yield svc
    _close(svc)


def at_once(call: Callable[[], T], n: int) -> list[T]:
    """What ``call`` returns when ``n`` threads make it at the same time."""
    results: list[T] = []
    lock = threading.Lock()

    def run() -> None:
        got = call()
        with lock:
            results.append(got)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == n, "a thread failed"
    return results


@pytest.fixture
def small_on_file(tmp_path: Path, file_database_url: str) -> Iterator[DLDMatch]:
    """A started service with the small profiles on a database of its own that threads share (a SQLite
    file, or PostgreSQL): for tests of several clients at once."""
    settings = Settings(database_url=file_database_url, index_dir=tmp_path / "i", embedder="fake", seed_dir=None)
    svc = DLDMatch(settings, FakeEmbedder())
    svc.start()
    svc.import_files([SMALL])
    yield svc
    _close(svc)


def _close(svc: DLDMatch) -> None:
    """Stop its threads and close its connections before the test's database is dropped."""
    svc.close()
    svc.writer.dispose()
    svc.engine.dispose()
