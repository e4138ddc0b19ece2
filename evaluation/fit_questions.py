"""How the domain combines its signals, fitted on the judged questions and checked across them.

Every judged question is asked once through the product's routes with a ranking that gives every
component some weight and a k large enough to return every explained candidate, so each result's
``parts`` (each component's value before its weight) are known. A weight vector then ranks those
results offline exactly as the service would (score = weights · parts, ties by id), and a
coordinate search picks the weights with the best mean nDCG@10. Stakeholder results and project
results get their own weights (a project has no consortium signal: no graph of projects is learned).

The figure to report is the cross-validated one (:func:`cross_validate`): weights fitted on four
folds of questions, nDCG@10 measured on the fifth, never on the questions a weight was fitted on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from evaluation.questions import folds, ndcg, request_for, results_of

STAKEHOLDER_PARTS = ("consortium", "semantic", "past_projects", "lexical", "themes", "complementarity", "geography",
                     "kinds", "network", "network2", "popularity", "intent")
PROJECT_PARTS = ("semantic", "lexical", "themes", "complementarity", "geography", "kinds", "network", "network2")
FACTORS = (0.0, 0.25, 0.5, 2.0, 4.0)
MAX_ROUNDS = 12
Rows = list[dict[str, Any]]


def collect(ask: Callable[[str, str, dict[str, Any]], tuple[int, Any]], questions: Sequence[dict[str, Any]],
            *, k: int = 200) -> Rows:
    """Per question: its user, kind of results, grades, and every result's id and parts."""
    rows = []
    for q in questions:
        method, path, params = request_for(q, k=k)
        status, body = ask(method, path, params)
        if status != 200:
            raise RuntimeError(f"question {q['id']}: {method} {path} answered {status}: {body}")
        rows.append({"id": q["id"], "user": q["user"], "results": q["results"],
                     "intent": q["params"].get("intent", "any"),
                     "grades": {g["id"]: int(g["grade"]) for g in q["grades"]},
                     "candidates": [(r["id"], r.get("parts", {})) for r in results_of(q, body)]})
    return rows


def ranked(row: dict[str, Any], weights: dict[str, float]) -> list[str]:
    scored = [(-sum(w * parts.get(name, 0.0) for name, w in weights.items()), cid) for cid, parts in row["candidates"]]
    return [cid for _, cid in sorted(scored)]


def mean_ndcg(rows: Rows, weights: dict[str, float]) -> float:
    return sum(ndcg(ranked(r, weights), r["grades"]) for r in rows) / len(rows) if rows else 0.0


class _Objective:
    """Mean nDCG@10 of weight vectors over prepared rows, in arrays: the judged questions one by one
    (graded answers, ties broken by id as the service breaks them)."""

    def __init__(self, rows: Rows, names: Sequence[str]) -> None:
        self.names = list(names)
        self.rows = [(np.array([[p.get(n, 0.0) for n in self.names] for _, p in r["candidates"]], dtype=np.float64)
                      .reshape(-1, len(self.names)), [c for c, _ in r["candidates"]], r["grades"]) for r in rows]

    def __call__(self, w: np.ndarray) -> float:
        total = 0.0
        for parts, ids, grades in self.rows:
            scores = parts @ w
            order = sorted(range(len(ids)), key=lambda i: (-scores[i], ids[i]))
            total += ndcg([ids[i] for i in order], grades)
        return total / len(self.rows) if self.rows else 0.0


class _Anchor:
    """Mean nDCG@10 of weight vectors over consortium queries with one answer each, all at once: the
    answer's rank is the number of candidates scored above it (ties go by id, as in the service)."""

    def __init__(self, rows: Rows, names: Sequence[str]) -> None:
        width = max([len(r["candidates"]) for r in rows], default=1)
        self.parts = np.zeros((len(rows), width, len(names)))
        self.valid = np.zeros((len(rows), width), dtype=bool)
        self.target = np.full(len(rows), -1)
        self.by_id = np.zeros((len(rows), width))  # each candidate's place in id order: ties go by id
        for i, r in enumerate(rows):
            ids = [c for c, _ in r["candidates"]]
            for place, j in enumerate(sorted(range(len(ids)), key=lambda j: ids[j])):
                self.by_id[i, j] = place
            for j, (cid, p) in enumerate(r["candidates"]):
                self.parts[i, j] = [p.get(n, 0.0) for n in names]
                self.valid[i, j] = True
                if r["grades"].get(cid):
                    self.target[i] = j
        self.n = len(rows)

    def __call__(self, w: np.ndarray) -> float:
        if not self.n:
            return 0.0
        scores = np.where(self.valid, self.parts @ w, -np.inf)
        has = self.target >= 0
        at = np.maximum(self.target, 0)
        own = scores[np.arange(self.n), at][:, None]
        ahead = (scores > own) | ((scores == own) & (self.by_id < self.by_id[np.arange(self.n), at][:, None]))
        rank = ahead.sum(axis=1) + 1
        gain = np.where(has & (rank <= 10), 1.0 / np.log2(rank + 1), 0.0)
        return float(gain.sum() / self.n)


REASON_FLOOR = 0.03
"""The least weight of a part that a result card shows as a reason (:data:`REASONS`): a fit may find
that the judged questions rank as well without it, but a card that names a shared place or theme as
why a partner is shown must not score it 0 (a funder in the same desert would tie with one elsewhere)."""
REASONS = ("themes", "complementarity", "geography", "network", "intent")


def reason_floors(names: Sequence[str]) -> dict[str, float]:
    """The least weight of each of ``names`` that is shown as a reason.

    Example:
        >>> reason_floors(["semantic", "themes"])
        {'themes': 0.03}
    """
    return {n: REASON_FLOOR for n in names if n in REASONS}


def _search(objective: Callable[[np.ndarray], float], w: np.ndarray) -> np.ndarray:
    """Coordinate search from ``w``: each round tries scaling each weight by each of :data:`FACTORS`
    (or giving a zero weight a small share), renormalised, and keeps a change only if it helps."""
    best = objective(w)
    for _ in range(MAX_ROUNDS):
        improved = False
        for i in range(len(w)):
            for factor in FACTORS:
                trial = w.copy()
                trial[i] = w[i] * factor if w[i] else 0.05 * factor
                if trial.sum() <= 0:
                    continue
                trial /= trial.sum()
                score = objective(trial)
                if score > best + 1e-9:
                    w, best, improved = trial, score, True
        if not improved:
            break
    return w


def fit(rows: Rows, names: Sequence[str], start: dict[str, float] | None = None,
        floors: dict[str, float] | None = None) -> dict[str, float]:
    """Weights (summing to 1) with the best mean nDCG@10 on these rows, by coordinate search from
    ``start`` (default: equal weights), from equal weights and from random starts.

    Every weight stays at or above its floor (default :func:`reason_floors`): the search runs over
    the share left above the floors, ``weight = floor + (1 - sum of floors) * share``.

    The users' weights are fitted on the judged questions alone: no CORDIS query is ranked by them,
    since every one names two or more participants and is ranked by the completing weights
    (:func:`fit_completing`, ``matcher.rank.Ranking.for_query``). Bounding the users' fit by those
    consortia, as the fits before 2026-12-07 did, cost 0.033 of cross-validated nDCG@10 on the
    questions (0.681 against 0.714); what the users' weights give on the consortia is still recorded
    (the partners of a stored project with two or more participants are ranked by them)."""
    floor_of = np.array([float((reason_floors(names) if floors is None else floors).get(n, 0.0)) for n in names])
    free = 1.0 - floor_of.sum()
    if free <= 0:
        raise ValueError("the floors leave no weight to fit")
    judged_rows = _Objective(rows, names)

    def judged(share: np.ndarray) -> float:
        return judged_rows(floor_of + free * share)

    given = start or {}
    w = np.array([float(given.get(n, 0.0)) for n in names]) if given else np.full(len(names), 1.0 / len(names))
    w = np.maximum(w / w.sum() - floor_of, 0.0) if given else w  # the start's share above the floors
    w = w / w.sum() if w.sum() > 0 else np.full(len(names), 1.0 / len(names))
    return {n: round(float(v), 4) for n, v in zip(names, floor_of + free * _best_of(judged, w))}


RESTARTS = 4
"""Searches from random starting weights besides the given one: a coordinate search stops at the first
weights no single change improves, which depends on where it starts (one floor of 0.03 instead of
0.02 once left the fit at 0.49 nDCG@10 instead of 0.65)."""


def _best_of(objective: Callable[[np.ndarray], float], w: np.ndarray, restarts: int = RESTARTS) -> np.ndarray:
    """The best of coordinate searches from ``w``, from equal weights and from ``restarts`` random
    weights (a fixed seed: the same fit every run); ties go to the earlier start."""
    rng = np.random.default_rng(0)
    starts = [w, np.full(len(w), 1.0 / len(w)), *rng.dirichlet(np.ones(len(w)), size=restarts)]
    found = [_search(objective, s) for s in starts]
    scores = [objective(f) for f in found]
    return found[int(np.argmax(scores))]


def fit_completing(anchor: Rows, names: Sequence[str] = tuple(n for n in STAKEHOLDER_PARTS if n != "intent")
                   ) -> dict[str, float]:
    """The weights for a draft completing a consortium (``matcher.rank.Ranking.for_query``): the best
    mean nDCG@10 on the consortia of the choice year alone, with the same reason floors, searched from
    the consortium value alone, from equal weights and from random starts."""
    floor_of = np.array([float(reason_floors(names).get(n, 0.0)) for n in names])
    free = 1.0 - floor_of.sum()
    held = _Anchor(list(anchor), names)

    def objective(share: np.ndarray) -> float:
        return held(floor_of + free * share)

    alone = np.array([1.0 if n == "consortium" else 0.0 for n in names])
    best = _best_of(objective, alone)
    return {n: round(float(v), 4) for n, v in zip(names, floor_of + free * best)}


def anchor_ndcg(anchor: Rows, weights: dict[str, float]) -> float:
    names = list(weights)
    return _Anchor(anchor, names)(np.array([weights[n] for n in names]))


BAND_GROUPS = ("any", "co_funding", "implementation", "projects")
MIN_BAND_ANSWERS = 8  # graded-2 answers a group needs for edges of its own (else the pooled edges)


def served_weights(weights: dict[str, float], intent: str) -> dict[str, float]:
    """The weights the service scores stakeholders with for an intent (``matcher.rank.Ranking``):
    without an intent, the others renormalised to sum to 1; with one, as fitted (the intent included).

    Example:
        >>> served_weights({"themes": 0.25, "semantic": 0.25, "intent": 0.5}, "any")
        {'themes': 0.5, 'semantic': 0.5, 'intent': 0.0}
    """
    if intent != "any":
        return dict(weights)
    rest = sum(v for k, v in weights.items() if k != "intent") or 1.0
    return {k: (0.0 if k == "intent" else v / rest) for k, v in weights.items()}


def bands(rows: Rows, people: dict[str, float], projects: dict[str, float]) -> dict[str, Any]:
    """The band edges of the 0-100 fit (:meth:`matcher.rank.Ranking.fit`) on the scores the service
    shows: "strong" from the median score of the answers graded 2, "good" from the median of those
    graded 1; for each intent of the stakeholder searches and for projects apart (their scores are on
    scales of their own), pooled where a group has fewer than :data:`MIN_BAND_ANSWERS` answers
    graded 2."""
    by_group: dict[str, dict[int, list[float]]] = {g: {1: [], 2: []} for g in BAND_GROUPS}
    for r in rows:
        group = "projects" if r["results"] != "stakeholders" else r.get("intent", "any")
        weights = projects if group == "projects" else served_weights(people, group)
        for cid, parts in r["candidates"]:
            grade = r["grades"].get(cid, 0)
            if grade:
                by_group[group][grade].append(sum(w * parts.get(n, 0.0) for n, w in weights.items()))

    def median(values: list[float], default: float) -> float:
        values = sorted(values)
        return values[len(values) // 2] if values else default

    def edges(graded: dict[int, list[float]]) -> dict[str, float]:
        strong = median(graded[2], 0.5)
        return {"strong": round(strong, 4), "good": round(min(median(graded[1], 0.25), 0.9 * strong), 4)}

    pooled = edges({g: [v for group in by_group.values() for v in group[g]] for g in (1, 2)})
    return {**pooled, "by": {g: edges(graded) for g, graded in by_group.items()
                             if len(graded[2]) >= MIN_BAND_ANSWERS}}


def _split(rows: Rows) -> tuple[Rows, Rows]:
    return [r for r in rows if r["results"] == "stakeholders"], [r for r in rows if r["results"] == "projects"]


def fit_both(rows: Rows) -> tuple[dict[str, float], dict[str, float]]:
    people, projects = _split(rows)
    return fit(people, STAKEHOLDER_PARTS), fit(projects, PROJECT_PARTS)


def cross_validate(rows: Rows, k: int = 5) -> dict[str, Any]:
    """nDCG@10 of each question under weights fitted on the folds that do not hold it."""
    held: dict[str, float] = {}
    for train, test in folds(rows, k):
        people_w, project_w = fit_both([rows[i] for i in train])
        for i in test:
            r = rows[i]
            held[r["id"]] = ndcg(ranked(r, people_w if r["results"] == "stakeholders" else project_w), r["grades"])
    by_user = {u: round(sum(v for r in rows if r["user"] == u for v in [held[r["id"]]])
                        / max(1, sum(r["user"] == u for r in rows)), 4) for u in sorted({r["user"] for r in rows})}
    return {"folds": k, "ndcg@10": round(sum(held.values()) / len(held), 4), "by_user": by_user,
            "questions": {q: round(v, 4) for q, v in held.items()}}


def collect_cordis(folder: Path, *, cutoff: str, cache: Path, embedder: Any, ranker: Path,
                   progress: Callable[[str, int, int], None], limit: int | None = None, k: int = 200) -> Rows:
    """The same rows for CORDIS leave-one-out queries of the year from ``cutoff`` (profiles before it),
    through ``POST /match``'s code path: the hidden member is the one answer (grade 1). Used to keep
    the consortium signal's worth while fitting; never the year a figure is reported on."""
    from evaluation.evaluate import _embed_queries, _request, load, queries, service_for, to_records
    from evaluation.vectors import SharedVectors

    projects, orgs = load(folder)
    shared = SharedVectors(embedder, cache)
    service = service_for(cache, cutoff, shared, to_records(projects, orgs, cutoff), progress, ranker)
    try:
        end = f"{int(cutoff[:4]) + 1}{cutoff[4:]}"
        qs = queries(projects, orgs, start=cutoff, end=end, limit=limit)  # findable or not, as reported
        vectors = _embed_queries(service, qs, progress)
        shared.save()
        rows = []
        for n, (q, vector) in enumerate(zip(qs, vectors), start=1):
            found = service.match(_request(q, k), vector=vector).stakeholders
            rows.append({"id": f"{q.project}:{q.target}", "user": "cordis", "results": "stakeholders",
                         "grades": {q.target: 1}, "candidates": [(m.id, m.parts) for m in found]})
            progress("cordis queries", n, len(qs))
        return rows
    finally:
        service.close()
