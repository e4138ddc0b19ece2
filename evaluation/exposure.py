"""``dldmatch exposure``: how concentrated the CSOs' co-funder suggestions are, and what spreading them
costs on the judged questions (issue 16, item 4).

For each strength of the spread (``Ranking.spread``: a candidate's score lowered by that much times its
experience, the log of its number of projects, scaled to [0, 1]), the service is asked through its
routes: the co-funders of every civil-society organisation (``GET /stakeholders/{id}/partners?intent=
co_funding&k=10``) and of every project (``GET /projects/{id}/partners?intent=co_funding&k=10``, the CSO
seeking co-funders for a restoration project), whose suggestions give the share that goes to the five
most suggested funders and a Gini coefficient over every organisation; and the judged questions
(``evaluation.questions``), whose nDCG@10 gives the quality. The figures are printed side by side."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from evaluation.questions import evaluate_questions
from matcher.exposure import concentration

Ask = Callable[[str, str, dict[str, Any]], tuple[int, Any]]


def _all(ask: Ask, path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        status, page = ask("GET", path, {"offset": len(out), "limit": 200})
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {page}")
        out.extend(page["items"])
        if not page["items"] or len(out) >= page["total"]:
            return out


def cso_co_funders(ask: Ask, k: int = 10) -> tuple[list[list[str]], list[str]]:
    """The co-funders suggested to each CSO and for each project (ids, best first), and every
    stakeholder's id."""
    everyone = _all(ask, "/stakeholders")
    asked = [f"/stakeholders/{s['id']}/partners" for s in everyone if s["kind"] == "cso"]
    asked += [f"/projects/{p['id']}/partners" for p in _all(ask, "/projects")]
    lists = []
    for path in asked:
        status, body = ask("GET", path, {"intent": "co_funding", "k": k})
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body}")
        lists.append([m["id"] for m in body["results"]])
    return lists, [s["id"] for s in everyone]


def exposure_and_quality(ask: Ask, judged: Sequence[dict[str, Any]], *, top: int = 5) -> dict[str, Any]:
    """The concentration of the CSOs' co-funder suggestions and the judged questions' scores, as the
    service asked through ``ask`` ranks now."""
    lists, population = cso_co_funders(ask)
    quality = evaluate_questions(ask, list(judged))
    return {"queries": len(lists), "exposure": concentration(lists, population, top=top),
            "ndcg@10": quality["overall"]["ndcg@10"],
            "ndcg@10_by_user": {u: s["ndcg@10"] for u, s in quality["by_user"].items()}}
