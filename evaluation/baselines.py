"""The keyword baselines every evaluation run reports beside the service: TF-IDF as usually built,
and TF-IDF plus the co-participation graph, both from the projects before the cut-off only."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol, Sequence

import numpy as np

GRAPH_WEIGHTS = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
"""The co-participation weights tried on the year before the cut-off (the baseline is tuned as
fairly as the service is)."""


class QueryLike(Protocol):
    text: str
    participants: tuple[str, ...]
    target: str


class Tfidf:
    """Each organisation as one document of its pre-cut-off project texts (its name when it has
    none), cosine of TF-IDF vectors with scikit-learn's defaults: on the 2017 queries these did
    better than sublinear term frequency, English stop words, bigrams or document-frequency cuts."""

    def __init__(self, projects: list[dict[str, Any]], orgs: dict[str, dict[str, Any]], cutoff: str,
                 org_id: Any) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts: dict[str, list[str]] = defaultdict(list)
        self.partners: dict[str, set[str]] = defaultdict(set)
        for p in projects:
            if p["start_date"] < cutoff:
                members = {org_id(x["org_id"]) for x in p["participants"]}
                for m in members:
                    texts[m].append(f"{p['title']}. {p['text']}")
                    self.partners[m] |= members - {m}
        names = {org_id(raw): str(o["name"]) for raw, o in orgs.items()}
        self.ids = sorted(names)
        docs = [" ".join(texts[i]) or names[i] for i in self.ids]
        self.vectorizer = TfidfVectorizer(dtype=np.float32)
        self.matrix = self.vectorizer.fit_transform(docs)
        self.position = {i: n for n, i in enumerate(self.ids)}

    def scores(self, q: QueryLike) -> np.ndarray:
        return np.asarray((self.matrix @ self.vectorizer.transform([q.text]).T).todense(), dtype=np.float64).ravel()

    def co_participation(self, q: QueryLike) -> np.ndarray:
        """For each organisation, the share of the query's participants it worked with before."""
        out = np.zeros(len(self.ids))
        for m in q.participants:
            for partner in self.partners.get(m, ()):
                out[self.position[partner]] += 1
        return out / max(1, len(q.participants))

    def ranked(self, q: QueryLike, scores: np.ndarray) -> list[str]:
        scores = scores.copy()
        for m in q.participants:
            if m in self.position:
                scores[self.position[m]] = -np.inf
        order = np.argsort(-scores, kind="stable")
        return [self.ids[i] for i in order if np.isfinite(scores[i])]

    def rank(self, q: QueryLike, graph_weight: float = 0.0) -> list[str]:
        scores = self.scores(q)
        if graph_weight:
            scores = scores + graph_weight * self.co_participation(q)
        return self.ranked(q, scores)

    def choose_graph_weight(self, qs: Sequence[QueryLike]) -> tuple[float, dict[float, float]]:
        """The co-participation weight with the best MRR on these (earlier) queries."""
        text = [self.scores(q) for q in qs]
        graph = [self.co_participation(q) for q in qs]
        found: dict[float, float] = {}
        for w in GRAPH_WEIGHTS:
            total = 0.0
            for q, t, g in zip(qs, text, graph):
                order = self.ranked(q, t + w * g)
                if q.target in order[:50]:
                    total += 1.0 / (order.index(q.target) + 1)
            found[w] = round(total / max(1, len(qs)), 4)
        return max(found, key=lambda w: (found[w], -w)), found
