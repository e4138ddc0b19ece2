"""Forum matchmaking: bilateral meetings placed in time slots and at tables, and themed round-tables.

Pure: attendees, slots, tables and pair scores in; a schedule, its objective and a bound out.

The exact method is an integer programme solved with HiGHS through ``scipy.optimize.milp``:
x[pair, slot] = 1 when the pair meets in that slot, for pairs that may meet (not refused, a shared
language or an interpreter, both available). Constraints: one meeting per attendee per slot; no more
meetings per slot than tables; at most ``max_meetings`` each; a pair meets at most once; "must meet"
pairs meet exactly once; locked meetings stay; every attendee gets ``min_meetings`` where feasible (a
slack with a penalty per missing meeting). The objective is the sum of the pairs' reciprocal match
scores minus the penalties. Beyond the size the exact method allows (in all, and in the time given), a
greedy heuristic places the same constraints; either way the answer carries an upper bound and the gap
to it: the integer programme's dual bound when exact, a linear-programming relaxation without slots
for the heuristic, and the best pair scores of each attendee when that LP has no time left.

One deadline, ``time_limit`` seconds from the call, bounds the whole solve: the heuristic stops placing
optional meetings at it, and every HiGHS call gets a share of the time left. The exact method starts
from the heuristic's schedule and keeps it when the solver, stopped by the deadline, has nothing
better.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_matrix

MISSING_MEETING_PENALTY = 2.0
"""Per meeting short of an attendee's minimum: larger than any pair score (at most 1), so a schedule
never trades an attendee's minimum for a better pair elsewhere."""
EXACT_MAX_VARIABLES = 40_000
EXACT_VARIABLES_PER_SECOND = 2_000
"""Roughly what HiGHS gets through per second of the limit: the root LP alone of a 50 × 48 forum
(33,000 variables) took 5 to 10 s on a busy 2-core machine. A larger model would spend the whole limit
before its first schedule, so the heuristic runs instead."""
HIGHS_SHARE = 0.7
"""HiGHS checks its time limit only now and then (its presolve and cuts ran up to 2 s over a 4 s
limit): each call gets this share of the time left, so that the solve as a whole ends in time."""
HIGHS_MIN_SECONDS = 0.05
"""Less time than this is not worth starting HiGHS for: the cheaper fallback answers at once."""


@dataclass(frozen=True)
class Attendee:
    key: str
    slots: frozenset[int]
    languages: frozenset[str] = frozenset()
    interpreter: bool = False
    max_meetings: int = 99
    must_meet: frozenset[str] = frozenset()
    no_thanks: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Lock:
    a: str
    b: str
    slot: int
    table: int | None = None


@dataclass
class Problem:
    attendees: list[Attendee]
    n_slots: int
    tables: int
    scores: dict[tuple[str, str], float]  # keyed by the sorted pair
    min_meetings: int = 0
    locks: list[Lock] = field(default_factory=list)
    removed: set[tuple[str, str]] = field(default_factory=set)  # sorted pairs the secretariat took out


@dataclass(frozen=True)
class Meeting:
    a: str
    b: str
    slot: int
    table: int
    score: float
    locked: bool = False


@dataclass
class Solution:
    meetings: list[Meeting]
    total_score: float
    objective: float  # total score minus penalties for missed minimums
    bound: float  # an upper bound on the objective (linear-programming relaxation)
    bound_kind: str
    gap: float  # (bound - objective) / bound
    method: str
    status: str
    seconds: float
    unmet: dict[str, tuple[int, int]]  # attendee -> (meetings, minimum it should have had)


class Infeasible(ValueError):
    """The request cannot be met; ``errors`` says what, naming the attendees."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def _may_meet(x: Attendee, y: Attendee) -> bool:
    return bool(x.languages & y.languages) or x.interpreter or y.interpreter


def eligible(problem: Problem) -> dict[tuple[str, str], list[int]]:
    """Pairs that may meet, with the slots both can make."""
    by_key = {a.key: a for a in problem.attendees}
    keys = sorted(by_key)
    out: dict[tuple[str, str], list[int]] = {}
    for i, ka in enumerate(keys):
        a = by_key[ka]
        for kb in keys[i + 1:]:
            b = by_key[kb]
            if kb in a.no_thanks or ka in b.no_thanks or (ka, kb) in problem.removed or not _may_meet(a, b):
                continue
            common = sorted(a.slots & b.slots)
            if common:
                out[(ka, kb)] = common
    return out


def check(problem: Problem) -> dict[tuple[str, str], list[int]]:
    """The eligible pairs, or :class:`Infeasible` naming every request that cannot be met."""
    errors: list[dict[str, str]] = []
    by_key = {a.key: a for a in problem.attendees}
    if problem.tables < 1:
        errors.append({"field": "tables", "message": "at least one table is needed"})
    if problem.n_slots < 1:
        errors.append({"field": "slots", "message": "at least one time slot is needed"})
    pairs = eligible(problem)
    must: set[tuple[str, str]] = set()
    for a in problem.attendees:
        for other in sorted(a.must_meet):
            if other not in by_key:
                errors.append({"field": f"participants.{a.key}.must_meet",
                               "message": f"{a.key} must meet {other}, who is not a participant"})
                continue
            p = pair(a.key, other)
            if p in must:
                continue
            must.add(p)
            b = by_key[other]
            if a.key in b.no_thanks or other in a.no_thanks:
                errors.append({"field": f"participants.{a.key}.must_meet",
                               "message": f"{a.key} must meet {other}, but one of them said no thanks"})
            elif p in problem.removed:
                errors.append({"field": f"participants.{a.key}.must_meet",
                               "message": f"{a.key} must meet {other}, but that meeting was removed"})
            elif not _may_meet(a, b):
                errors.append({"field": f"participants.{a.key}.must_meet",
                               "message": f"{a.key} and {other} share no language and neither has an interpreter"})
            elif not a.slots & b.slots:
                errors.append({"field": f"participants.{a.key}.must_meet",
                               "message": f"{a.key} and {other} are never available at the same time"})
    musts_of: Counter[str] = Counter(k for p in must for k in p)
    for key, count in musts_of.items():
        a = by_key.get(key)
        if a and count > min(a.max_meetings, len(a.slots)):
            errors.append({"field": f"participants.{key}.must_meet",
                           "message": f"{key} must meet {count} participants but can have at most "
                                      f"{min(a.max_meetings, len(a.slots))} meetings"})
    seen_slot: set[tuple[str, int]] = set()
    tables_used: Counter[int] = Counter()
    for lock in problem.locks:
        p = pair(lock.a, lock.b)
        where = f"locks.{lock.a}-{lock.b}"
        if lock.a not in by_key or lock.b not in by_key:
            errors.append({"field": where, "message": f"locked meeting {lock.a}–{lock.b}: not both are participants"})
        elif p not in pairs or lock.slot not in pairs[p]:
            errors.append({"field": where, "message": f"locked meeting {lock.a}–{lock.b} in slot {lock.slot + 1} is "
                                                      "not possible (availability, language, or a refusal)"})
        for k in (lock.a, lock.b):
            if (k, lock.slot) in seen_slot:
                errors.append({"field": where, "message": f"{k} has two locked meetings in slot {lock.slot + 1}"})
            seen_slot.add((k, lock.slot))
        tables_used[lock.slot] += 1
        if lock.table is not None and not 1 <= lock.table <= problem.tables:
            errors.append({"field": where, "message": f"table {lock.table} does not exist"})
    for slot, used in tables_used.items():
        if used > problem.tables:
            errors.append({"field": "locks", "message": f"slot {slot + 1} has more locked meetings than tables"})
    if errors:
        raise Infeasible(errors)
    return pairs


def solve(problem: Problem, *, method: str = "auto", time_limit: float = 30.0) -> Solution:
    """Place meetings within ``time_limit`` seconds; ``method`` is ``exact``, ``heuristic`` or ``auto``.

    ``auto`` and ``exact`` both solve exactly only a model small enough for the time given (see
    :data:`EXACT_VARIABLES_PER_SECOND`); a larger one gets the heuristic, and its status says why. A
    server caps the limit with its own maximum: ``solve(problem, time_limit=min(asked, cap))``.
    """
    if not time_limit > 0 or not math.isfinite(time_limit):
        raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
    started = time.perf_counter()
    deadline = started + time_limit
    pairs = check(problem)
    n_vars = sum(len(s) for s in pairs.values())
    fits = n_vars <= min(EXACT_MAX_VARIABLES, EXACT_VARIABLES_PER_SECOND * time_limit)
    meetings, complete = _greedy(problem, pairs, deadline)
    greedy_status = "feasible" if complete else "time limit reached"
    if method == "exact" and not fits:
        greedy_status += f" (the exact model, {n_vars} variables, is too large for {time_limit:g} s)"
    if method in ("exact", "auto") and fits and n_vars:
        solution = _solve_exact(problem, pairs, deadline, meetings)
    else:
        solution = _finish(problem, meetings, *_aggregate_bound(problem, pairs, deadline), "heuristic", greedy_status)
    solution.seconds = round(time.perf_counter() - started, 3)
    return solution


def _highs_seconds(deadline: float) -> float:
    """The time limit of the next HiGHS call: its share of what is left before the deadline."""
    return max(0.0, deadline - time.perf_counter()) * HIGHS_SHARE


def _minimum(problem: Problem, a: Attendee) -> int:
    return min(problem.min_meetings, a.max_meetings, len(a.slots))


def _model(problem: Problem, pairs: dict[tuple[str, str], list[int]]) -> tuple[Any, ...]:
    """Objective, constraints and bounds of the integer programme (variables: x, then one slack each)."""
    attendees = sorted(problem.attendees, key=lambda a: a.key)
    index = {a.key: n for n, a in enumerate(attendees)}
    columns = [(p, s) for p in sorted(pairs) for s in pairs[p]]
    n_x, n_att = len(columns), len(attendees)
    c = np.array([-problem.scores.get(p, 0.0) for p, _ in columns] + [MISSING_MEETING_PENALTY] * n_att)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    upper: list[float] = []
    lower: list[float] = []
    row = 0

    def add(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        nonlocal row
        for col, val in entries:
            rows.append(row)
            cols.append(col)
            vals.append(val)
        lower.append(lo)
        upper.append(hi)
        row += 1

    by_attendee_slot: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_slot: dict[int, list[int]] = defaultdict(list)
    by_attendee: dict[int, list[int]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    for j, (p, s) in enumerate(columns):
        for k in p:
            by_attendee_slot[(index[k], s)].append(j)
            by_attendee[index[k]].append(j)
        by_slot[s].append(j)
        by_pair[p].append(j)
    for js in by_attendee_slot.values():
        add([(j, 1.0) for j in js], -np.inf, 1.0)
    for js in by_slot.values():
        add([(j, 1.0) for j in js], -np.inf, float(problem.tables))
    must = {pair(a.key, o) for a in attendees for o in a.must_meet}
    for p, js in by_pair.items():
        add([(j, 1.0) for j in js], 1.0 if p in must else -np.inf, 1.0)
    for a in attendees:
        i = index[a.key]
        js = by_attendee.get(i, [])
        add([(j, 1.0) for j in js], -np.inf, float(a.max_meetings))
        need = _minimum(problem, a)
        if need > 0:
            add([(j, 1.0) for j in js] + [(n_x + i, 1.0)], float(need), np.inf)
    matrix = coo_matrix((vals, (rows, cols)), shape=(row, n_x + n_att)).tocsr()
    lb = np.zeros(n_x + n_att)
    ub = np.concatenate([np.ones(n_x), [float(_minimum(problem, a)) for a in attendees]])
    locked = {(pair(lk.a, lk.b), lk.slot) for lk in problem.locks}
    for j, col in enumerate(columns):
        if col in locked:
            lb[j] = 1.0
    integrality = np.concatenate([np.ones(n_x), np.zeros(n_att)])
    return c, LinearConstraint(matrix, np.array(lower), np.array(upper)), Bounds(lb, ub), integrality, columns


def _solve_exact(problem: Problem, pairs: dict[tuple[str, str], list[int]], deadline: float,
                 greedy: list[tuple[tuple[str, str], int]]) -> Solution:
    """The integer programme, in one HiGHS call whose dual bound is the answer's bound: it is at least as
    tight as the LP relaxation, which HiGHS solves first anyway. When the deadline stops HiGHS before
    it has a schedule better than the heuristic's, the heuristic's is the answer."""
    c, constraints, bounds, integrality, columns = _model(problem, pairs)
    seconds = _highs_seconds(deadline)
    result = None
    if seconds >= HIGHS_MIN_SECONDS:
        result = milp(c, constraints=constraints, bounds=bounds, integrality=integrality,
                      options={"time_limit": seconds, "mip_rel_gap": 0.002})
        if result.status == 2:
            raise Infeasible([{"field": "participants", "message": "no schedule meets every must-meet and locked "
                                                                   "meeting together"}])
    dual = getattr(result, "mip_dual_bound", None)
    if dual is not None and math.isfinite(dual):
        bound, bound_kind = -float(dual), "dual bound of the integer programme"
    else:
        bound, bound_kind = _quick_bound(problem, pairs)
    heuristic = _finish(problem, greedy, bound, bound_kind, "heuristic", "time limit reached")
    if result is None or result.x is None:
        return heuristic
    chosen = [columns[j] for j, v in enumerate(result.x[: len(columns)]) if v > 0.5]
    if result.status == 0:
        return _finish(problem, chosen, bound, bound_kind, "exact", "optimal")
    exact = _finish(problem, chosen, bound, bound_kind, "exact", "time limit reached")
    return exact if exact.objective >= heuristic.objective else heuristic


def _aggregate_bound(problem: Problem, pairs: dict[tuple[str, str], list[int]], deadline: float) -> tuple[float, str]:
    """LP bound without slot indices: pairs meet at most once, attendees at most their cap, all
    meetings within tables × slots, minimums with the same penalty. Any schedule satisfies it. When
    the deadline leaves HiGHS too little time to solve it, the bound of :func:`_quick_bound`."""
    attendees = sorted(problem.attendees, key=lambda a: a.key)
    index = {a.key: n for n, a in enumerate(attendees)}
    keys = sorted(pairs)
    n_p, n_a = len(keys), len(attendees)
    if not n_p:
        return -MISSING_MEETING_PENALTY * sum(_minimum(problem, a) for a in attendees), "no pair can meet"
    seconds = _highs_seconds(deadline)
    if seconds < HIGHS_MIN_SECONDS:
        return _quick_bound(problem, pairs)
    c = np.array([-problem.scores.get(p, 0.0) for p in keys] + [MISSING_MEETING_PENALTY] * n_a)
    rows, cols, vals, b = [], [], [], []
    for n, p in enumerate(keys):
        for k in p:
            rows.append(index[k])
            cols.append(n)
            vals.append(1.0)
    for a in attendees:
        b.append(float(min(a.max_meetings, len(a.slots))))
    rows_min, cols_min, vals_min, b_min = [], [], [], []
    for n, p in enumerate(keys):
        for k in p:
            rows_min.append(index[k])
            cols_min.append(n)
            vals_min.append(-1.0)
    for a in attendees:
        i = index[a.key]
        rows_min.append(i)
        cols_min.append(n_p + i)
        vals_min.append(-1.0)
        b_min.append(-float(_minimum(problem, a)))
    cap = coo_matrix((vals, (rows, cols)), shape=(n_a, n_p + n_a))
    mins = coo_matrix((vals_min, (rows_min, cols_min)), shape=(n_a, n_p + n_a))
    total = coo_matrix((np.ones(n_p), (np.zeros(n_p, dtype=int), np.arange(n_p))), shape=(1, n_p + n_a))
    from scipy.sparse import vstack

    A = vstack([cap, mins, total]).tocsr()
    rhs = np.array(b + b_min + [float(problem.tables * problem.n_slots)])
    ub = [1.0] * n_p + [float(_minimum(problem, a)) for a in attendees]
    lb = [0.0] * (n_p + n_a)
    must = {pair(a.key, o) for a in attendees for o in a.must_meet}
    locked = {pair(lk.a, lk.b) for lk in problem.locks}
    for n, p in enumerate(keys):
        if p in must or p in locked:
            lb[n] = 1.0
    result = linprog(c, A_ub=A, b_ub=rhs, bounds=list(zip(lb, ub)), method="highs",
                     options={"time_limit": _highs_seconds(deadline)})
    return (-float(result.fun), "LP relaxation without slots") if result.status == 0 else _quick_bound(problem, pairs)


def _quick_bound(problem: Problem, pairs: dict[tuple[str, str], list[int]]) -> tuple[float, str]:
    """A bound that needs no LP, for when the deadline leaves none the time: an attendee has at most
    ``min(max_meetings, slots)`` meetings, worth at most its best pair scores (each meeting counted from
    both ends, hence the half), and all meetings fit in tables × slots. Only the minimums an attendee
    cannot reach for want of possible partners are sure to be missed, so only those are penalised."""
    worth: dict[str, list[float]] = defaultdict(list)
    for p in pairs:
        for k in p:
            worth[k].append(max(0.0, problem.scores.get(p, 0.0)))
    per_attendee, missed = 0.0, 0
    for a in problem.attendees:
        cap = min(a.max_meetings, len(a.slots))
        per_attendee += sum(sorted(worth[a.key], reverse=True)[:cap])
        missed += max(0, _minimum(problem, a) - min(cap, len(worth[a.key])))
    best_pairs = sorted((max(0.0, problem.scores.get(p, 0.0)) for p in pairs), reverse=True)
    by_tables = sum(best_pairs[: problem.tables * problem.n_slots])
    bound = min(per_attendee / 2, by_tables) - MISSING_MEETING_PENALTY * missed
    return bound, "best pair scores of each participant (no time left for an LP bound)"


def _greedy(problem: Problem, pairs: dict[tuple[str, str], list[int]],
            deadline: float) -> tuple[list[tuple[tuple[str, str], int]], bool]:
    """Locked, then must-meet, then minimums, then best pairs first; each in its earliest free slot.
    At the deadline it stops placing optional meetings (what is placed stays valid); the flag says
    whether it got through them all."""
    by_key = {a.key: a for a in problem.attendees}
    busy: set[tuple[str, int]] = set()
    count: Counter[str] = Counter()
    per_slot: Counter[int] = Counter()
    placed: list[tuple[tuple[str, str], int]] = []
    met: set[tuple[str, str]] = set()

    def place(p: tuple[str, str], slot: int) -> None:
        placed.append((p, slot))
        met.add(p)
        for k in p:
            busy.add((k, slot))
            count[k] += 1
        per_slot[slot] += 1

    def try_place(p: tuple[str, str]) -> bool:
        if p in met or p not in pairs:
            return False
        a, b = p
        if count[a] >= by_key[a].max_meetings or count[b] >= by_key[b].max_meetings:
            return False
        for slot in pairs[p]:
            if (a, slot) not in busy and (b, slot) not in busy and per_slot[slot] < problem.tables:
                place(p, slot)
                return True
        return False

    for lock in problem.locks:
        place(pair(lock.a, lock.b), lock.slot)
    must = sorted({pair(a.key, o) for a in problem.attendees for o in a.must_meet},
                  key=lambda p: (len(pairs.get(p, [])), p))
    for p in must:
        try_place(p)
    ranked = sorted(pairs, key=lambda p: (-problem.scores.get(p, 0.0), p))
    partners_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for p in ranked:
        for k in p:
            partners_of[k].append(p)
    progress = True
    while progress:  # raise everyone to the minimum, neediest first
        progress = False
        for a in sorted(problem.attendees, key=lambda a: (count[a.key] - _minimum(problem, a), a.key)):
            if time.perf_counter() > deadline:
                return placed, False
            if count[a.key] >= _minimum(problem, a):
                continue
            for p in partners_of[a.key]:
                if try_place(p):
                    progress = True
                    break
    for n, p in enumerate(ranked):
        if n % 256 == 0 and time.perf_counter() > deadline:
            return placed, False
        try_place(p)
    return placed, True


def _finish(problem: Problem, chosen: list[tuple[tuple[str, str], int]], bound: float, bound_kind: str,
            method: str, status: str) -> Solution:
    """Tables, totals and the gap for a chosen set of (pair, slot)."""
    locked = {(pair(lk.a, lk.b), lk.slot): lk.table for lk in problem.locks}
    by_slot: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for p, s in chosen:
        by_slot[s].append(p)
    meetings: list[Meeting] = []
    for slot in sorted(by_slot):
        taken = {t for (p, s), t in locked.items() if s == slot and t is not None}
        free = iter(t for t in range(1, problem.tables + 1) if t not in taken)
        for p in sorted(by_slot[slot], key=lambda p: ((p, slot) not in locked, -problem.scores.get(p, 0.0), p)):
            table = locked.get((p, slot)) or next(free)
            meetings.append(Meeting(p[0], p[1], slot, table, round(problem.scores.get(p, 0.0), 6),
                                    (p, slot) in locked))
    count: Counter[str] = Counter(k for m in meetings for k in (m.a, m.b))
    unmet = {a.key: (count[a.key], _minimum(problem, a)) for a in problem.attendees
             if count[a.key] < _minimum(problem, a)}
    total = sum(m.score for m in meetings)
    objective = total - MISSING_MEETING_PENALTY * sum(want - got for got, want in unmet.values())
    bound = max(bound, objective)
    gap = 0.0 if bound <= 0 else max(0.0, (bound - objective) / bound)
    meetings.sort(key=lambda m: (m.slot, m.table))
    return Solution(meetings=meetings, total_score=round(total, 6), objective=round(objective, 6),
                    bound=round(bound, 6), bound_kind=bound_kind, gap=round(gap, 6), method=method, status=status,
                    seconds=0.0, unmet=unmet)


def verify(problem: Problem, meetings: list[Meeting]) -> list[str]:
    """Every violated constraint of a schedule, in words (empty when the schedule is valid)."""
    problems: list[str] = []
    by_key = {a.key: a for a in problem.attendees}
    busy: Counter[tuple[str, int]] = Counter()
    tables: Counter[tuple[int, int]] = Counter()
    count: Counter[str] = Counter()
    pairs_seen: Counter[tuple[str, str]] = Counter()
    for m in meetings:
        a, b = by_key.get(m.a), by_key.get(m.b)
        if a is None or b is None:
            problems.append(f"{m.a}–{m.b}: not both participants")
            continue
        if not 0 <= m.slot < problem.n_slots:
            problems.append(f"{m.a}–{m.b}: slot {m.slot} does not exist")
        if m.slot not in a.slots or m.slot not in b.slots:
            problems.append(f"{m.a}–{m.b}: someone is not available in slot {m.slot}")
        if m.a in b.no_thanks or m.b in a.no_thanks:
            problems.append(f"{m.a}–{m.b}: someone said no thanks")
        if pair(m.a, m.b) in problem.removed:
            problems.append(f"{m.a}–{m.b}: the meeting was removed")
        if not _may_meet(a, b):
            problems.append(f"{m.a}–{m.b}: no shared language and no interpreter")
        if not 1 <= m.table <= problem.tables:
            problems.append(f"{m.a}–{m.b}: table {m.table} does not exist")
        busy[(m.a, m.slot)] += 1
        busy[(m.b, m.slot)] += 1
        tables[(m.slot, m.table)] += 1
        count[m.a] += 1
        count[m.b] += 1
        pairs_seen[pair(m.a, m.b)] += 1
    problems += [f"{k} has {n} meetings in slot {s}" for (k, s), n in busy.items() if n > 1]
    problems += [f"table {t} is used {n} times in slot {s}" for (s, t), n in tables.items() if n > 1]
    problems += [f"{k} has {count[k]} meetings, more than {a.max_meetings}" for k, a in by_key.items()
                 if count[k] > a.max_meetings]
    problems += [f"{p[0]}–{p[1]} meet {n} times" for p, n in pairs_seen.items() if n > 1]
    for a in problem.attendees:
        for o in a.must_meet:
            if pairs_seen[pair(a.key, o)] != 1:
                problems.append(f"{a.key} must meet {o} but does not")
    placed = {(pair(m.a, m.b), m.slot, m.table) for m in meetings}
    for lk in problem.locks:
        if not any(p == pair(lk.a, lk.b) and s == lk.slot and (lk.table is None or t == lk.table)
                   for p, s, t in placed):
            problems.append(f"locked meeting {lk.a}–{lk.b} in slot {lk.slot} was moved or dropped")
    return problems


def roundtables(themes: dict[str, set[str]], size: int) -> list[tuple[str | None, list[str]]]:
    """Split attendees into tables of at most ``size`` by shared themes; each table is labelled by the
    theme most of its members share. Deterministic."""
    if size < 2:
        raise ValueError("a round-table needs room for at least two")
    keys = sorted(themes)
    if not keys:
        return []
    n_tables = math.ceil(len(keys) / size)
    popularity = Counter(t for k in keys for t in themes[k])
    seeds = [t for t, _ in sorted(popularity.items(), key=lambda kv: (-kv[1], kv[0]))][:n_tables]
    seeds += [None] * (n_tables - len(seeds))  # type: ignore[list-item]
    tables: list[list[str]] = [[] for _ in range(n_tables)]
    # The most particular attendees choose first, so that they find their theme's table.
    for key in sorted(keys, key=lambda k: (len(themes[k]), k)):
        def fit(n: int) -> tuple[int, int, int, int]:
            shared = sum(len(themes[key] & themes[o]) for o in tables[n])
            return (seeds[n] in themes[key], shared, -len(tables[n]), -n)

        open_tables = [n for n in range(n_tables) if len(tables[n]) < size]
        tables[max(open_tables, key=fit)].append(key)
    out = []
    for members in tables:
        common = Counter(t for k in members for t in themes[k])
        label = sorted(common.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if common else None
        out.append((label, sorted(members)))
    return out
