"""``matcher.exposure`` and ``dldmatch exposure`` (issue 16, item 4)."""

from __future__ import annotations

import doctest
from typing import Any

import matcher.exposure
from evaluation.exposure import cso_co_funders
from matcher.exposure import concentration, gini


def test_doctests() -> None:
    assert doctest.testmod(matcher.exposure).failed == 0


def test_concentration_counts_every_candidate_even_those_never_suggested() -> None:
    even = concentration([["a", "b"], ["c", "d"]], "abcd", top=2)
    skewed = concentration([["a", "b"], ["a", "b"]], "abcd", top=2)
    assert even["top_share"] == 0.5 and skewed["top_share"] == 1.0
    assert even["gini"] == 0.0 < skewed["gini"] == 0.5
    assert concentration([], "ab") == {"suggestions": 0, "distinct": 0, "top_share": 0.0, "gini": 0.0}
    assert gini([5]) == 0.0


def test_the_co_funder_searches_asked_are_those_of_the_csos_and_of_every_project() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []
    people = [{"id": "cso1", "kind": "cso"}, {"id": "gov", "kind": "government"}, {"id": "cso2", "kind": "cso"}]

    def ask(method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        asked.append((path, params))
        if path == "/stakeholders":
            return 200, {"items": people[params["offset"]:params["offset"] + 2], "total": 3}
        if path == "/projects":
            return 200, {"items": [{"id": "p1"}] if params["offset"] == 0 else [], "total": 1}
        return 200, {"results": [{"id": "gov"}]}

    lists, population = cso_co_funders(ask)
    assert population == ["cso1", "gov", "cso2"] and lists == [["gov"], ["gov"], ["gov"]]
    searched = [(p, q) for p, q in asked if p.endswith("/partners")]
    assert [p for p, _ in searched] == ["/stakeholders/cso1/partners", "/stakeholders/cso2/partners",
                                        "/projects/p1/partners"]
    assert all(q == {"intent": "co_funding", "k": 10} for _, q in searched)
