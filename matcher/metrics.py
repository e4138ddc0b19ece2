"""Offline ranking metrics. Pure."""

from __future__ import annotations

from typing import Sequence


def summarise(ranks: Sequence[int | None], k: int) -> dict[str, float]:
    """Recall@10, recall@50 and mean reciprocal rank of the targets' ranks (1 = first; None = not found).

    A rank beyond ``k`` counts as not found for MRR too (MRR@k), so a ranking cut at ``k`` and a full
    ranking are compared alike.

    Example:
        >>> summarise([1, 4, None, 60], k=50)
        {'queries': 4, 'recall@10': 0.5, 'recall@50': 0.5, 'mrr': 0.3125}
    """
    n = len(ranks)
    if not n:
        return {"queries": 0, "recall@10": 0.0, "recall@50": 0.0, "mrr": 0.0}
    found = [r for r in ranks if r is not None]
    return {
        "queries": n,
        "recall@10": round(sum(r <= 10 for r in found) / n, 4),
        "recall@50": round(sum(r <= 50 for r in found) / n, 4),
        "mrr": round(sum(1 / r for r in found if r <= k) / n, 4),
    }
