"""The PostgreSQL fixtures: a real server, and an empty database of its own for every test."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from api.service import DLDMatch
from tests.conftest import SMALL
from tests.postgres import only_on_postgres

pytestmark = only_on_postgres

_seen: list[str] = []


@pytest.mark.parametrize("run", [1, 2])
def test_every_test_gets_an_empty_postgresql_database_of_its_own(service: DLDMatch, run: int) -> None:
    url = service.settings.database_url
    assert url.startswith("postgresql") and url not in _seen
    _seen.append(url)
    health = service.health()
    assert (health.stakeholders, health.projects) == (0, 0)
    service.import_files([SMALL])  # left behind on purpose: the next run must not see it
    assert service.health().stakeholders == 5


def test_the_service_runs_on_the_postgresql_server(loaded: DLDMatch, database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            assert conn.execute(text("SELECT count(*) FROM stakeholder")).scalar_one() == 5
    finally:
        engine.dispose()
    assert loaded.partners_for_stakeholder("t-cso", intent="co_funding").results
