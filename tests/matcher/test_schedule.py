"""The scheduler against a checker of every constraint, on generated forums, including impossible ones."""

from __future__ import annotations

import random

import pytest

from matcher.schedule import Attendee, Infeasible, Lock, Problem, pair, roundtables, solve, verify

LANGS = ["en", "zh", "mn", "ko", "ja", "ru"]


def forum(n: int, slots: int, tables: int, seed: int, *, min_meetings: int = 2) -> Problem:
    rng = random.Random(seed)
    attendees = []
    for i in range(n):
        available = frozenset(s for s in range(slots) if rng.random() < 0.75) or frozenset({rng.randrange(slots)})
        attendees.append(Attendee(f"a{i:03d}", available, frozenset(rng.sample(LANGS, 2)), rng.random() < 0.15,
                                  rng.randint(1, 6)))
    keys = [a.key for a in attendees]
    # some refusals and must-meets that are possible
    for _ in range(n // 5):
        x, y = rng.sample(range(n), 2)
        attendees[x] = Attendee(**{**attendees[x].__dict__, "no_thanks": attendees[x].no_thanks | {keys[y]}})
    scores = {pair(a, b): round(rng.random(), 3) for i, a in enumerate(keys) for b in keys[i + 1:]}
    return Problem(attendees, slots, tables, scores, min_meetings=min_meetings)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["exact", "heuristic"])
def test_every_constraint_holds_on_generated_forums(seed: int, method: str) -> None:
    problem = forum(n=14 + seed * 3, slots=4 + seed % 3, tables=3 + seed % 4, seed=seed)
    solution = solve(problem, method=method, time_limit=20)
    assert verify(problem, solution.meetings) == []
    assert solution.method == method
    assert solution.objective <= solution.bound + 1e-6 and 0 <= solution.gap <= 1
    assert solution.total_score == pytest.approx(sum(m.score for m in solution.meetings), abs=1e-4)


def test_exact_is_optimal_and_at_least_as_good_as_greedy() -> None:
    problem = forum(n=20, slots=5, tables=5, seed=11)
    exact = solve(problem, method="exact")
    greedy = solve(problem, method="heuristic")
    assert exact.status == "optimal" and exact.gap < 0.01
    assert exact.objective >= greedy.objective - 1e-6


def test_minimums_are_met_where_feasible_and_reported_where_not() -> None:
    people = [Attendee(k, frozenset({0, 1, 2}), frozenset({"en"})) for k in "abcd"]
    lonely = Attendee("z", frozenset({0}), frozenset({"fr"}))  # no shared language, no interpreter
    scores = {pair(x, y): 0.1 for x in "abcdz" for y in "abcdz" if x < y}
    scores[pair("a", "b")] = 0.9
    solution = solve(Problem([*people, lonely], 3, 1, scores, min_meetings=2), method="exact")
    assert verify(Problem([*people, lonely], 3, 1, scores, min_meetings=2), solution.meetings) == []
    counts = {k: sum(k in (m.a, m.b) for m in solution.meetings) for k in "abcd"}
    assert all(c >= 1 for c in counts.values())
    assert solution.unmet["z"] == (0, 1)


def test_must_meet_locks_and_removals_are_respected() -> None:
    problem = forum(n=16, slots=4, tables=4, seed=3, min_meetings=1)
    a, b, c, d = (x.key for x in problem.attendees[:4])
    common = sorted(problem.attendees[0].slots & problem.attendees[1].slots)
    assert common, "the generated forum should let the first two meet"
    problem.attendees[0] = Attendee(**{**problem.attendees[0].__dict__, "interpreter": True,
                                       "no_thanks": frozenset(), "must_meet": frozenset({b}), "max_meetings": 4})
    problem.attendees[1] = Attendee(**{**problem.attendees[1].__dict__, "no_thanks": frozenset()})
    if common:
        problem.scores[pair(a, b)] = 0.0  # placed although worth nothing
    problem.removed = {pair(c, d)}
    problem.scores[pair(c, d)] = 1.0
    for method in ("exact", "heuristic"):
        solution = solve(problem, method=method)
        assert verify(problem, solution.meetings) == []
        met = {pair(m.a, m.b) for m in solution.meetings}
        assert (pair(a, b) in met) == bool(common)
        assert pair(c, d) not in met
    first = solve(problem, method="exact").meetings[0]
    problem.locks = [Lock(first.a, first.b, first.slot, first.table)]
    again = solve(problem, method="heuristic")
    assert any(pair(m.a, m.b) == pair(first.a, first.b) and m.slot == first.slot and m.table == first.table and m.locked
               for m in again.meetings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.attendees.__setitem__(0, Attendee("a", frozenset({0}), frozenset({"en"}), must_meet=frozenset({"b"}))),
         "never available at the same time"),
        (lambda p: p.attendees.__setitem__(0, Attendee("a", frozenset({1}), frozenset({"xx"}), must_meet=frozenset({"b"}))),
         "share no language"),
        (lambda p: p.attendees.__setitem__(0, Attendee("a", frozenset({1}), frozenset({"en"}), must_meet=frozenset({"ghost"}))),
         "not a participant"),
        (lambda p: p.attendees.__setitem__(0, Attendee("a", frozenset({1}), frozenset({"en"}), max_meetings=1,
                                                       must_meet=frozenset({"b", "c"}))),
         "at most 1 meetings"),
        (lambda p: p.locks.extend([Lock("a", "b", 1), Lock("a", "c", 1)]), "two locked meetings"),
        (lambda p: p.locks.append(Lock("a", "b", 0)), "is not possible"),
        (lambda p: setattr(p, "tables", 0), "at least one table"),
    ],
)
def test_impossible_requests_get_a_clear_error(change: object, message: str) -> None:
    people = [Attendee("a", frozenset({1}), frozenset({"en"})), Attendee("b", frozenset({1, 2}), frozenset({"en"})),
              Attendee("c", frozenset({1, 2}), frozenset({"en"}))]
    problem = Problem(people, 3, 2, {("a", "b"): 0.5, ("a", "c"): 0.5, ("b", "c"): 0.5})
    change(problem)  # type: ignore[operator]
    with pytest.raises(Infeasible) as caught:
        solve(problem)
    assert any(message in e["message"] for e in caught.value.errors), caught.value.errors


def test_roundtables_group_by_theme_within_size() -> None:
    themes = {"a": {"dust"}, "b": {"dust", "trees"}, "c": {"dust"}, "d": {"trees"}, "e": {"trees"}, "f": {"water"}}
    tables = roundtables(themes, 3)
    assert sum(len(m) for _, m in tables) == 6 and all(len(m) <= 3 for _, m in tables)
    by_label = {label: set(m) for label, m in tables}
    assert {"a", "c"} <= by_label["dust"] and {"d", "e"} <= by_label["trees"]
    assert roundtables(themes, 3) == tables
    with pytest.raises(ValueError):
        roundtables(themes, 1)
