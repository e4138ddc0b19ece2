"""Keyword baselines for the judged questions, built from the same seed profiles the service loads:
TF-IDF as usually built (scikit-learn's defaults) and TF-IDF plus the co-participation graph.

A stakeholder is one document: its name, description and the titles and descriptions of the projects
it took part in; a project is its title and description. A question's text is its free text, or the
document of the stakeholder or project it is asked for. The graph adds, for each candidate, the share
of the asking side's organisations (the stakeholder itself, the project's participants, the question's
participants) that worked with it in a project, times a weight chosen on other questions. The same
candidates are left out as the service leaves out: the asking organisation and a project's or a
question's own participants; a search for co-funders keeps only those able to fund
(``matcher.rank.can_fund``: funding offered, or a funding role in a project), and a search for
projects only those still open to join (not completed), as the service's filters do.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from evaluation.baselines import GRAPH_WEIGHTS
from matcher.rank import JOINABLE, Profile, Record, can_fund, project_state
from evaluation.questions import folds, ndcg, score_question, summary


class SeedKeywords:
    def __init__(self, seed_dir: Path) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        def rows(name: str) -> list[dict[str, Any]]:
            path = seed_dir / name
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

        people, projects = rows("stakeholders.jsonl"), rows("projects.jsonl")
        year = datetime.now(timezone.utc).year
        self.closed = {p["id"] for p in projects
                       if project_state(p.get("status"), p.get("start_year"), p.get("end_year"), year) not in JOINABLE}
        roles: dict[str, list[Record]] = defaultdict(list)
        for p in projects:
            for x in p.get("participants", []):
                roles[x["stakeholder"]].append(Record(p["id"], p["title"], x.get("role", "other")))
        self.funders = {s["id"] for s in people if can_fund(Profile(key=s["id"], name=s["name"], kind=s["kind"],
                                                                     offers=tuple(s.get("offers", ())),
                                                                     record=tuple(roles[s["id"]])))}
        self.members: dict[str, list[str]] = {}
        texts: dict[str, list[str]] = {p["id"]: [p["name"], p.get("description", "")] for p in people}
        self.partners: dict[str, set[str]] = defaultdict(set)
        self.project_text: dict[str, str] = {}
        for p in projects:
            own = f"{p['title']}. {p.get('description', '')}"
            self.project_text[p["id"]] = own
            members = [x["stakeholder"] for x in p.get("participants", []) if x["stakeholder"] in texts]
            self.members[p["id"]] = members
            for m in members:
                texts[m].append(own)
                self.partners[m] |= set(members) - {m}
        self.ids = sorted(texts)
        self.project_ids = sorted(self.project_text)
        self.vectorizer = TfidfVectorizer(dtype=np.float32)
        self.matrix = self.vectorizer.fit_transform(
            [" ".join(texts[i]) for i in self.ids] + [self.project_text[i] for i in self.project_ids])
        self.texts = {i: " ".join(t) for i, t in texts.items()}

    def _asked(self, q: dict[str, Any]) -> tuple[str, set[str], set[str]]:
        """The question's text, the asking side's organisations, and who is left out. A search's purpose
        is searched with the profile's text, as the service searches it."""
        p = q["params"]
        said = f"{p['purpose']} " if p.get("purpose") else ""
        if q["route"] in ("stakeholder_partners", "stakeholder_projects"):
            s = p["stakeholder"]
            return said + self.texts.get(s, s), {s}, {s}
        if q["route"] == "project_partners":
            members = set(self.members.get(p["project"], ()))
            return said + self.project_text.get(p["project"], p["project"]), members, members
        given = set(p.get("participants") or ())
        return str(p.get("text", "")), given, given

    def rank(self, q: dict[str, Any], graph_weight: float = 0.0) -> list[str]:
        text, asking, left_out = self._asked(q)
        scores = np.asarray((self.matrix @ self.vectorizer.transform([text]).T).todense()).ravel()
        if q["results"] == "projects":
            ids, scores = self.project_ids, scores[len(self.ids):]
            mine = {pid for pid, members in self.members.items() if asking & set(members)}
            left_out = mine | (set() if q["params"].get("include_completed") else self.closed)
        else:
            ids, scores = self.ids, scores[:len(self.ids)].copy()
            if q["params"].get("intent") == "co_funding":
                left_out = left_out | (set(self.ids) - self.funders)
            if graph_weight and asking:
                for n, i in enumerate(ids):
                    scores[n] += graph_weight * sum(i in self.partners.get(a, ()) for a in asking) / len(asking)
        order = np.argsort(-scores, kind="stable")
        return [ids[n] for n in order if ids[n] not in left_out][:10]

    def choose_graph_weight(self, questions: Sequence[dict[str, Any]]) -> float:
        """The co-participation weight with the best mean nDCG@10 on these questions."""
        def mean(w: float) -> float:
            return sum(ndcg(self.rank(q, w), {g["id"]: int(g["grade"]) for g in q["grades"]})
                       for q in questions) / max(1, len(questions))
        return max((0.0, *GRAPH_WEIGHTS), key=lambda w: (mean(w), -w))


def baselines(keywords: SeedKeywords, questions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Both keyword baselines on every question: TF-IDF, and TF-IDF plus co-participation with its
    weight chosen on the other folds (:func:`evaluation.questions.folds`), never on the question scored."""
    plain, graphed, chosen = [], [], []
    for fit, held in folds(questions):
        weight = keywords.choose_graph_weight([questions[n] for n in fit])
        chosen.append(weight)
        for n in held:
            q = questions[n]
            plain.append(score_question(q, [{"id": i} for i in keywords.rank(q)]))
            graphed.append(score_question(q, [{"id": i} for i in keywords.rank(q, weight)]))
    return {"TF-IDF": summary(plain), "TF-IDF + co-participation": {**summary(graphed), "graph_weights": chosen},
            "by_user": {name: {u: summary(r for r in rows if r["user"] == u) for u in sorted({r["user"] for r in rows})}
                        for name, rows in (("TF-IDF", plain), ("TF-IDF + co-participation", graphed))}}
