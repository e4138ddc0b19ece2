"""tests/api/test_restart.py again, with the database on PostgreSQL instead of a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.settings import Settings
from tests.api import test_restart
from tests.postgres import only_on_postgres, rerun_with

pytestmark = only_on_postgres
globals().update(rerun_with(test_restart, "on_disk"))


@pytest.fixture
def on_disk(tmp_path: Path, file_database_url: str) -> Settings:
    return Settings(database_url=file_database_url, index_dir=tmp_path / "index", embedder="fake", seed_dir=None)
