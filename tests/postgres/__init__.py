"""Tests that only run against PostgreSQL (``make test-postgres``): the fixtures give a real server, and
the tests of other packages that keep a database across engines are collected again on it."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import TEST_DATABASE_URL

only_on_postgres = pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs DLDMATCH_TEST_DATABASE_URL "
                                      "(make test-postgres)")


def rerun_with(module: ModuleType, fixture: str) -> dict[str, Any]:
    """The module's test functions that ask for the fixture: put in another module's namespace, pytest
    collects them there again, with that module's override of the fixture. None without a server: on
    SQLite they have already run where they are written."""
    if not TEST_DATABASE_URL:
        return {}
    return {name: test for name, test in vars(module).items()
            if name.startswith("test_") and inspect.isfunction(test) and fixture in inspect.signature(test).parameters}
