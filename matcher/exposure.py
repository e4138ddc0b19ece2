"""How concentrated suggestions are (issue 16, item 4): the share of all suggestions that go to the most
suggested few, and a Gini coefficient over every candidate (0: all suggested alike; 1: one gets all)."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of non-negative values (0 when all are equal or there are none).

    Example:
        >>> gini([1, 1, 1, 1]), gini([0, 0, 0, 4]), gini([])
        (0.0, 0.75, 0.0)
    """
    xs = sorted(float(v) for v in values)
    n, total = len(xs), sum(xs)
    if not n or total <= 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return round((2 * weighted) / (n * total) - (n + 1) / n, 4)


def concentration(suggested: Iterable[Sequence[str]], population: Iterable[str], *, top: int = 5) -> dict[str, float]:
    """Of all the suggestions in these result lists: the share that went to the ``top`` most suggested,
    the Gini coefficient over the whole ``population`` of candidates (those never suggested count as 0),
    and how many distinct candidates were suggested at all.

    Example:
        >>> concentration([["a", "b"], ["a", "c"]], ["a", "b", "c", "d"], top=1)
        {'suggestions': 4, 'distinct': 3, 'top_share': 0.5, 'gini': 0.375}
    """
    counts = Counter(c for results in suggested for c in results)
    total = sum(counts.values())
    everyone = set(population) | set(counts)
    return {"suggestions": total, "distinct": len(counts),
            "top_share": round(sum(n for _, n in counts.most_common(top)) / total, 4) if total else 0.0,
            "gini": gini([counts.get(c, 0) for c in sorted(everyone)])}
