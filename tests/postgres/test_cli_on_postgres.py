"""tests/api/test_cli.py again, with the CLI's database on PostgreSQL instead of a SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api import test_cli
from tests.postgres import only_on_postgres, rerun_with

pytestmark = only_on_postgres
globals().update(rerun_with(test_cli, "env"))


@pytest.fixture
def env(tmp_path: Path, file_database_url: str) -> dict[str, str]:
    return {"DLDMATCH_DATABASE_URL": file_database_url, "DLDMATCH_INDEX_DIR": str(tmp_path / "idx"),
            "DLDMATCH_EMBEDDER": "fake"}
