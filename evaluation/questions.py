"""The users' own questions, judged against the seed documents (``judged_questions.json``), asked
through the HTTP routes a user reaches (``POST /match`` and the partner routes) on the seed profiles.

Per question and overall: nDCG@10 (graded gains 2 and 1, ideal order from all the judged answers),
precision@5 (a result graded 1 or 2 counts), and the share of results shown with a reason (a shared
theme, a need met, a shared place or country, a shared partner, a track record or an offer of what
the search is for). Any weight fitted on these questions must be reported cross-validated across
them (:func:`folds`), never on the questions it was fitted on.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

QUESTIONS = Path(__file__).with_name("judged_questions.json")
USERS = ("cso", "firm", "secretariat")


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    questions = data["questions"]
    for n, q in enumerate(questions):
        for field in ("id", "user", "route", "params", "results", "grades"):
            if field not in q:
                raise ValueError(f"{path}: question {n + 1} has no {field!r}")
        if q["user"] not in USERS:
            raise ValueError(f"{path}: question {q['id']}: unknown user {q['user']!r}")
    return questions


def request_for(q: dict[str, Any], k: int = 10) -> tuple[str, str, dict[str, Any]]:
    """The HTTP method, path and (query or body) parameters that ask this question."""
    p = dict(q["params"])
    route = q["route"]
    if route == "match":
        return "POST", "/match", {**p, "k": k, "include_projects": q["results"] == "projects"}
    if route == "stakeholder_partners":
        return "GET", f"/stakeholders/{p.pop('stakeholder')}/partners", {**p, "k": k}
    if route == "project_partners":
        return "GET", f"/projects/{p.pop('project')}/partners", {**p, "k": k}
    if route == "stakeholder_projects":
        return "GET", f"/stakeholders/{p.pop('stakeholder')}/projects", {**p, "k": k}
    raise ValueError(f"question {q['id']}: unknown route {route!r}")


PARTNER_ROUTES = ("stakeholder_partners", "project_partners", "stakeholder_projects")


def with_purposes(questions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions asked on a stored profile's routes with their own words as the search's purpose,
    as a user who types the question into the purpose field does (free-text questions are unchanged)."""
    return [{**q, "params": {**q["params"], "purpose": q["question"]}} if q["route"] in PARTNER_ROUTES else q
            for q in questions]


def results_of(q: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    if q["route"] == "match":
        return body["projects"] if q["results"] == "projects" else body["stakeholders"]
    return body["results"]


def has_reason(result: dict[str, Any]) -> bool:
    """Whether a shown result says why it is shown (something beyond a bare score): closeness in
    meaning counts only with the sentence of each side that shows it, not as a bare standing; words in
    common only with the words."""
    e = result.get("explanation") or {}
    close = e.get("close_in_meaning") or {}
    return bool(e.get("shared_themes") or e.get("query_needs_met") or e.get("candidate_needs_met")
                or e.get("shared_countries") or e.get("shared_places") or e.get("shared_partners")
                or e.get("worked_together") or e.get("intent_resources") or e.get("track_record")
                or e.get("dust_and_sandstorms") or e.get("words_in_common")
                or (close.get("query_sentence") and close.get("candidate_sentence")))


def ndcg(ranked: Sequence[str], grades: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain at k, gain 2**grade - 1.

    Example:
        >>> ndcg(["a", "b"], {"a": 2, "b": 1})
        1.0
        >>> round(ndcg(["b", "a"], {"a": 2, "b": 1}), 3)
        0.797
    """
    dcg = sum((2 ** grades.get(i, 0) - 1) / math.log2(n + 2) for n, i in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2 ** g - 1) / math.log2(n + 2) for n, g in enumerate(ideal))
    return dcg / best if best else 0.0


def score_question(q: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    grades = {g["id"]: int(g["grade"]) for g in q["grades"]}
    ranked = [r["id"] for r in results]
    shown = results[:10]
    return {
        "id": q["id"], "user": q["user"],
        "ndcg@10": round(ndcg(ranked, grades), 4),
        "precision@5": round(sum(grades.get(i, 0) > 0 for i in ranked[:5]) / 5, 4),
        "with_reason": round(sum(map(has_reason, shown)) / len(shown), 4) if shown else 1.0,
        "results": len(results),
        "top5": [f"{r['id']}({grades.get(r['id'], 0)})" for r in shown[:5]],
    }


def summary(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    rows = list(rows)
    n = max(1, len(rows))
    return {"questions": len(rows),
            **{m: round(sum(r[m] for r in rows) / n, 4) for m in ("ndcg@10", "precision@5", "with_reason")}}


def folds(questions: Sequence[dict[str, Any]], k: int = 5) -> list[tuple[list[int], list[int]]]:
    """Cross-validation folds over the questions (fit on the others, report on the held-out fold),
    each fold holding every kind of user."""
    order = sorted(range(len(questions)), key=lambda n: (questions[n]["user"], questions[n]["id"]))
    held = [order[f::k] for f in range(k)]
    return [([n for n in order if n not in set(h)], h) for h in held]


def evaluate_questions(ask: Callable[[str, str, dict[str, Any]], tuple[int, Any]],
                       questions: Sequence[dict[str, Any]], *, progress: Callable[[str, int, int], None] | None = None
                       ) -> dict[str, Any]:
    """Ask every question through ``ask(method, path, params) -> (status, JSON body)`` and score it."""
    rows = []
    for n, q in enumerate(questions, start=1):
        method, path, params = request_for(q)
        status, body = ask(method, path, params)
        if status != 200:
            raise RuntimeError(f"question {q['id']}: {method} {path} answered {status}: {body}")
        rows.append(score_question(q, results_of(q, body)))
        if progress:
            progress("questions", n, len(questions))
    return {"overall": summary(rows), "by_user": {u: summary(r for r in rows if r["user"] == u) for u in USERS},
            "questions": rows}
