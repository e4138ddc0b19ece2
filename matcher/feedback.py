"""What the outcomes of past introductions teach the ranking (issue 16, item 2): the *introductions*
signal.

An introduction is a pair of organisations that met through the service: an accepted interest or a
forum meeting that either side told the outcome of. A pair counts once, however many interests and
meetings it had (so withdrawing and asking again adds nothing), and it succeeded when either side
told that cooperation started or an agreement was reached, in any of them. A declined interest is
not counted: saying no is the consent the service asks for, not a failure.

Each organisation's success rate is smoothed towards the rate of all introductions (a beta prior of
:data:`PRIOR_STRENGTH` introductions at that rate), so two lucky introductions count for less than
twenty. The signal is how far the smoothed rate lies above the usual one, scaled to [0, 1]; it is 0
for an organisation with fewer than :data:`MIN_PARTNERS` introductions (nothing about a handful of
named pairs can be read from public rankings) or no better record than usual, so a newcomer's score
gets nothing from this part rather than less. Pure: counts in, values out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

PRIOR_STRENGTH = 4.0
"""How many introductions at the usual rate an organisation's own are weighed against."""
MIN_PARTNERS = 5
"""The fewest introductions (distinct partners) an organisation needs for its record to count."""

SUCCESS = frozenset({"cooperation_started", "agreement_reached"})
ORDER = ("no_answer", "declined", "met", "cooperation_started", "agreement_reached")


@dataclass(frozen=True)
class Record:
    """One organisation's introductions and how many became cooperation, with its signal value."""

    introductions: int
    cooperation: int
    value: float  # the smoothed rate above the usual one, scaled to [0, 1]


def pairs(outcomes: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], bool]:
    """Each unordered pair's introduction from ``(one side, other side, an answer)`` rows: whether
    any answer of any of its interests or meetings says it became cooperation.

    Example:
        >>> pairs([("a", "b", "met"), ("b", "a", "agreement_reached"), ("a", "c", "no_answer")])
        {('a', 'b'): True, ('a', 'c'): False}
    """
    out: dict[tuple[str, str], bool] = {}
    for a, b, result in outcomes:
        if a == b or result not in ORDER:
            continue
        key = (min(a, b), max(a, b))
        out[key] = out.get(key, False) or result in SUCCESS
    return out


def records(introductions: dict[tuple[str, str], bool], *, strength: float = PRIOR_STRENGTH,
            least: int = MIN_PARTNERS) -> dict[str, Record]:
    """Each organisation's record from its introductions (:func:`pairs`).

    Example:
        >>> met = {("a", x): True for x in "bcd"} | {("b", "c"): False, ("c", "d"): False}
        >>> r = records(met, strength=2, least=3)
        >>> r["a"], r["b"].value
        (Record(introductions=3, cooperation=3, value=0.6), 0.0)
        >>> records(met, least=4)["a"].value
        0.0
    """
    tried: Counter[str] = Counter()
    won: Counter[str] = Counter()
    for pair, succeeded in introductions.items():
        for org in pair:
            tried[org] += 1
            won[org] += bool(succeeded)
    total = sum(tried.values())
    if not total:
        return {}
    usual = sum(won.values()) / total
    out = {}
    for org, n in tried.items():
        rate = (won[org] + strength * usual) / (n + strength)
        value = max(0.0, rate - usual) / (1.0 - usual) if usual < 1.0 and n >= least else 0.0
        # in steps of 0.05: a ranking is public, and one more outcome should rarely show in it
        out[org] = Record(introductions=n, cooperation=won[org], value=round(round(value * 20) / 20, 2))
    return out
