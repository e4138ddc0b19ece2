"""Benchmarks that print figures (never timed unit tests)."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from matcher.schedule import Attendee, Problem, pair, solve, verify

LANGUAGES = ["en", "zh", "mn", "ko", "ja", "ru"]


def synthetic_forum(participants: int, slots: int, tables: int, *, seed: int = 7, min_meetings: int = 2) -> Problem:
    """A generated forum (synthetic, for benchmarks only): availability, languages, limits, and pair
    scores from the cosine of random profile vectors, so that scores have structure like real ones."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed).normal(size=(participants, 24))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    sims = (vectors @ vectors.T + 1) / 2
    attendees = []
    for i in range(participants):
        available = frozenset(s for s in range(slots) if rng.random() < 0.8) or frozenset({rng.randrange(slots)})
        attendees.append(Attendee(f"p{i:05d}", available, frozenset(rng.sample(LANGUAGES, 2)),
                                  rng.random() < 0.15, rng.randint(3, 8)))
    keys = [a.key for a in attendees]
    scores = {pair(keys[i], keys[j]): round(float(sims[i, j]), 4)
              for i in range(participants) for j in range(i + 1, participants)}
    return Problem(attendees, slots, tables, scores, min_meetings=min_meetings)


def bench_schedule(participants: int, slots: int, tables: int, *, method: str = "auto", seed: int = 7,
                   time_limit: float = 60.0, output: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    problem = synthetic_forum(participants, slots, tables, seed=seed)
    built = time.perf_counter() - started
    solution = solve(problem, method=method, time_limit=time_limit)
    violations = verify(problem, solution.meetings)
    report = {
        "participants": participants, "slots": slots, "tables": tables, "method": solution.method,
        "status": solution.status, "meetings": len(solution.meetings), "total_score": solution.total_score,
        "objective": solution.objective, "bound": solution.bound, "bound_kind": solution.bound_kind,
        "gap": solution.gap, "solve_seconds": solution.seconds, "generate_seconds": round(built, 3),
        "below_minimum": len(solution.unmet), "violations": len(violations),
    }
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2))
    return report
