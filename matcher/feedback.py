"""What the outcomes of past introductions teach the ranking (issue 16, item 2): the *introductions*
signal.

An introduction is an accepted interest or a forum meeting; it succeeded when either side told that
cooperation started or an agreement was reached (the best answer of either side, first or six months
later). An interest the other side declined is an introduction that failed, for the side that declined.

Each organisation's success rate is smoothed towards the rate of all introductions (a beta prior of
:data:`PRIOR_STRENGTH` introductions at that rate), so two lucky introductions count for less than
twenty. The signal is how far the smoothed rate lies above the usual one, scaled to [0, 1]: an
organisation with no introductions, or with no better record than usual, gets 0, so a newcomer is
never pushed down by the lack of a record, only a good record lifts. Pure: counts in, values out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

PRIOR_STRENGTH = 4.0
"""How many introductions at the usual rate an organisation's own are weighed against."""

SUCCESS = frozenset({"cooperation_started", "agreement_reached"})
ORDER = ("no_answer", "declined", "met", "cooperation_started", "agreement_reached")


@dataclass(frozen=True)
class Record:
    """One organisation's introductions and how many became cooperation, with its signal value."""

    introductions: int
    cooperation: int
    value: float  # the smoothed rate above the usual one, scaled to [0, 1]


def best(results: Iterable[str]) -> str | None:
    """The furthest an introduction went, by either side's answers.

    Example:
        >>> best(["met", "cooperation_started", "declined"]), best([])
        ('cooperation_started', None)
    """
    known = [r for r in results if r in ORDER]
    return max(known, key=ORDER.index) if known else None


def records(trials: Iterable[tuple[str, bool]], *, strength: float = PRIOR_STRENGTH) -> dict[str, Record]:
    """Each organisation's record from ``(organisation, succeeded)`` trials (one per organisation and
    introduction).

    Example:
        >>> r = records([("a", True), ("a", True), ("b", False), ("b", False)], strength=2)
        >>> r["a"], r["b"].value
        (Record(introductions=2, cooperation=2, value=0.5), 0.0)
    """
    tried: Counter[str] = Counter()
    won: Counter[str] = Counter()
    for org, succeeded in trials:
        tried[org] += 1
        won[org] += bool(succeeded)
    total = sum(tried.values())
    if not total:
        return {}
    usual = sum(won.values()) / total
    out = {}
    for org, n in tried.items():
        rate = (won[org] + strength * usual) / (n + strength)
        value = max(0.0, rate - usual) / (1.0 - usual) if usual < 1.0 else 0.0
        out[org] = Record(introductions=n, cooperation=won[org], value=round(value, 6))
    return out
