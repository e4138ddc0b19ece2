"""``dldmatch evaluate-feedback``: what the introductions signal (``matcher.feedback``) does to the
judged questions, measured on simulated feedback through the routes before it is switched on
(issue 16, item 2).

The protocol, per seed and per fold (two folds over the questions whose answers are stakeholders,
each fold holding every kind of user):

1. A copy of the seed database. The questions of the *other* fold are asked through the product path
   (``POST /match`` and the partner routes) with the signal off, and their asker contacts the first
   :data:`CONTACTED` results: ``POST /interests`` as a member of the asking organisation (the question's
   stakeholder, its project's lead, its participant, or else a stand-in organisation with no
   description, country or offer, taken out of every result before it is scored, as the real askers
   it stands for would not be in it), the candidate accepts or declines
   (``POST /interests/{id}/accept|decline``) and the asker tells the outcome
   (``POST /interests/{id}/outcome``).
2. The candidate's behaviour is drawn from its judged grade for that question (:data:`BEHAVIOUR`): the
   feedback users would give if the judges are right. A *null* behaviour draws it from nothing but
   the usual rate, to show what a signal that learns nothing costs.
3. The held-out fold's questions are asked with each weight of the signal, on that same database.

Every question is held out once per seed; the figures are means over held-out questions and seeds.
The keyword baselines (``evaluation.keywords``) are ranked on the same held-out questions in the same
run. Nothing here reads the held-out questions' grades before scoring them.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Sequence

from evaluation.questions import USERS, request_for, results_of, score_question, summary

Ask = Callable[..., tuple[int, Any]]  # ask(method, path, params, who=None): who is None, "secretariat" or an org

CONTACTED = 5
"""How many of the first results an asker contacts."""

BEHAVIOUR: dict[str, dict[int, tuple[float, float]]] = {
    # grade -> (chance the candidate accepts the interest, chance an accepted one becomes cooperation)
    "judged": {2: (0.9, 0.6), 1: (0.7, 0.3), 0: (0.4, 0.05)},
    # the same chances whatever the grade: as many acceptances as the judged behaviour gives on these
    # questions (about 60 %), about half as many cooperations
    "null": {2: (0.6, 0.2), 1: (0.6, 0.2), 0: (0.6, 0.2)},
}
STAND_IN = {"type": "stakeholder", "id": "feedback-stand-in", "name": "Stand-in asker", "kind": "cso",
            "description": "", "outside_seed": True}


def stakeholder_questions(questions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [q for q in questions if q["results"] == "stakeholders"]


def two_folds(questions: Sequence[dict[str, Any]]) -> list[tuple[list[int], list[int]]]:
    """Two folds, each holding every kind of user: (the fold feedback comes from, the held-out one)."""
    order = sorted(range(len(questions)), key=lambda n: (questions[n]["user"], questions[n]["id"]))
    a, b = order[0::2], order[1::2]
    return [(a, b), (b, a)]


def asker_of(q: dict[str, Any], ask: Ask) -> str:
    """The organisation asking the question: its stakeholder, its project's lead (or first participant),
    its first participant, else the stand-in."""
    p = q["params"]
    if q["route"] == "stakeholder_partners":
        return str(p["stakeholder"])
    if q["route"] == "project_partners":
        status, project = ask("GET", f"/projects/{p['project']}", {})
        if status == 200 and project.get("participants"):
            people = project["participants"]
            lead = [x for x in people if x.get("role") == "lead"] or people
            return str(lead[0]["id"])
    if p.get("participants"):
        return str(p["participants"][0])
    return STAND_IN["id"]


def ask_question(ask: Ask, q: dict[str, Any], k: int = 10) -> list[dict[str, Any]]:
    """The question's first k results, the stand-in asker left out."""
    method, path, params = request_for(q, k + 1)
    status, body = ask(method, path, params)
    if status != 200:
        raise RuntimeError(f"question {q['id']}: {method} {path} answered {status}: {body}")
    return [r for r in results_of(q, body) if r["id"] != STAND_IN["id"]][:k]


def give_feedback(ask: Ask, questions: Sequence[dict[str, Any]], behaviour: dict[int, tuple[float, float]],
                  rng: random.Random) -> dict[str, int]:
    """Ask these questions and play their askers and candidates through the interest routes; returns
    how many interests were expressed, accepted, declined and became cooperation."""
    counts = {"expressed": 0, "accepted": 0, "declined": 0, "cooperation": 0, "already_introduced": 0}
    for q in questions:
        grades = {g["id"]: int(g["grade"]) for g in q["grades"]}
        asker = asker_of(q, ask)
        for result in ask_question(ask, q)[:CONTACTED]:
            other = result["id"]
            if other == asker:
                continue
            status, interest = ask("POST", "/interests", {"to": other}, who=asker)
            if status == 409:  # the pair has a live interest from an earlier question: one introduction
                counts["already_introduced"] += 1
                continue
            if status != 201:
                raise RuntimeError(f"POST /interests as {asker} to {other}: {status} {interest}")
            counts["expressed"] += 1
            accepts, cooperates = behaviour[grades.get(other, 0)]
            action = "accept" if rng.random() < accepts else "decline"
            status, body = ask("POST", f"/interests/{interest['id']}/{action}", {}, who=other)
            if status != 200:
                raise RuntimeError(f"{action} interest {interest['id']} as {other}: {status} {body}")
            if action == "decline":
                counts["declined"] += 1
                continue
            counts["accepted"] += 1
            result_ = "cooperation_started" if rng.random() < cooperates else rng.choice(["met", "no_answer"])
            counts["cooperation"] += result_ == "cooperation_started"
            status, body = ask("POST", f"/interests/{interest['id']}/outcome", {"result": result_}, who=asker)
            if status != 200:
                raise RuntimeError(f"outcome of interest {interest['id']}: {status} {body}")
    return counts


def score(ask: Ask, questions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [score_question(q, ask_question(ask, q)) for q in questions]


def report(rows_by_weight: dict[float, list[dict[str, Any]]], baselines: dict[str, list[dict[str, Any]]]
           ) -> dict[str, Any]:
    """Means over the held-out questions (and seeds) per weight and per baseline, overall and by user."""
    def one(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {"overall": summary(rows), "by_user": {u: summary(r for r in rows if r["user"] == u)
                                                      for u in USERS if any(r["user"] == u for r in rows)}}
    return {"by_weight": {str(w): one(rows) for w, rows in rows_by_weight.items()},
            "baselines": {name: one(rows) for name, rows in baselines.items()}}
