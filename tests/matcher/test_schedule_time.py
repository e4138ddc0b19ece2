"""The scheduler ends within its time limit, whatever the forum, and its answer stays valid and bounded.

A bounded-time guarantee is asserted on wall time, with a generous margin for a busy machine.
"""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from matcher.schedule import (
    Attendee,
    Problem,
    _aggregate_bound,
    _quick_bound,
    eligible,
    pair,
    solve,
    verify,
)
from tests.matcher.test_schedule import forum


def crowded_forum(n: int, slots: int, tables: int, *, seed: int = 0) -> Problem:
    """Everyone speaks English and may meet up to every slot, with scores that have structure (the
    cosine of random vectors): the hard case, where the LP relaxation alone takes seconds."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed).normal(size=(n, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = (vectors @ vectors.T + 1) / 2
    attendees = [Attendee(f"p{i:03d}", frozenset(s for s in range(slots) if rng.random() < 0.8), frozenset({"en"}),
                          max_meetings=slots) for i in range(n)]
    keys = [a.key for a in attendees]
    scores = {pair(keys[i], keys[j]): round(float(sims[i, j]), 4) for i in range(n) for j in range(i + 1, n)}
    return Problem(attendees, slots, tables, scores, min_meetings=2)


@pytest.mark.parametrize("problem", [crowded_forum(50, 48, 10), forum(50, 48, 20, seed=1)],
                         ids=["crowded", "generated"])
def test_exact_on_fifty_by_forty_eight_ends_in_time_with_a_valid_schedule(problem: Problem) -> None:
    started = time.perf_counter()
    solution = solve(problem, method="exact", time_limit=2)
    elapsed = time.perf_counter() - started
    assert elapsed < 15
    assert verify(problem, solution.meetings) == []
    assert solution.meetings
    assert solution.objective <= solution.bound + 1e-6 and 0 <= solution.gap <= 1
    # too large for the exact method in 2 s: the heuristic, and the status says so
    assert solution.method == "heuristic" and "too large" in solution.status


def test_exact_stopped_by_its_deadline_keeps_the_better_of_solver_and_heuristic() -> None:
    problem = crowded_forum(30, 8, 10, seed=3)  # small enough to try, too hard to prove optimal in 1.5 s
    heuristic = solve(problem, method="heuristic", time_limit=5)
    started = time.perf_counter()
    solution = solve(problem, method="exact", time_limit=1.5)
    assert time.perf_counter() - started < 10
    assert verify(problem, solution.meetings) == []
    assert solution.status in ("optimal", "time limit reached")
    assert solution.objective >= heuristic.objective - 1e-6
    assert solution.objective <= solution.bound + 1e-6


def test_the_server_wide_cap_is_a_smaller_time_limit() -> None:
    """``solve(problem, time_limit=min(asked, cap))``: the cap decides both the deadline and whether the
    exact method is tried."""
    problem = crowded_forum(30, 8, 10, seed=3)
    solution = solve(problem, method="exact", time_limit=min(300.0, 0.2))
    assert solution.seconds < 5
    assert verify(problem, solution.meetings) == []


@pytest.mark.parametrize("seed", range(5))
def test_the_bounds_without_an_lp_are_still_upper_bounds(seed: int) -> None:
    problem = forum(n=12 + seed, slots=3 + seed % 2, tables=2 + seed % 3, seed=seed)
    optimum = solve(problem, method="exact", time_limit=20)
    assert optimum.status == "optimal"
    pairs = eligible(problem)
    quick, kind = _quick_bound(problem, pairs)
    assert quick >= optimum.objective - 1e-6
    assert "no time left" in kind
    # a deadline already passed leaves no time for the LP: the quick bound answers instead
    assert _aggregate_bound(problem, pairs, time.perf_counter() - 1) == (quick, kind)
    lp, lp_kind = _aggregate_bound(problem, pairs, time.perf_counter() + 10)
    assert lp_kind == "LP relaxation without slots" and optimum.objective - 1e-6 <= lp <= quick + 1e-6


def test_a_heuristic_out_of_time_returns_what_it_placed_valid_and_with_its_must_meets() -> None:
    problem = crowded_forum(40, 12, 8, seed=5)
    a, b = problem.attendees[0].key, problem.attendees[1].key
    problem.attendees[0] = Attendee(**{**problem.attendees[0].__dict__, "must_meet": frozenset({b})})
    solution = solve(problem, method="heuristic", time_limit=1e-9)
    assert verify(problem, solution.meetings) == []
    assert pair(a, b) in {pair(m.a, m.b) for m in solution.meetings}
    assert solution.status == "time limit reached"
    assert solution.objective <= solution.bound + 1e-6


@pytest.mark.parametrize("limit", [0, -1, float("nan"), float("inf")])
def test_a_time_limit_must_be_a_positive_number_of_seconds(limit: float) -> None:
    with pytest.raises(ValueError, match="time_limit"):
        solve(forum(6, 2, 2, seed=0), time_limit=limit)
