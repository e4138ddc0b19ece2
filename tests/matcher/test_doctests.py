"""The examples in the pure modules' docstrings hold (they are the modules' shortest documentation)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import matcher

MODULES = sorted(m.name for m in pkgutil.iter_modules(matcher.__path__, "matcher."))


@pytest.mark.parametrize("name", [*MODULES, "evaluation.questions", "api.outbox"])
def test_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples fail in {name}"
