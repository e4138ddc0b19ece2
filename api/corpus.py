"""Everything a partner search needs about the stakeholders, held in memory between writes.

Profiles, stakeholder and project vectors, each stakeholder's projects, a TF-IDF index of their texts
and the co-participation graph: built in a few batch queries after each change of the data, so that a
search does no per-candidate database work. Candidates come from three sources, so that a partner the
text search would miss can still be found: the FAISS index (dense), the TF-IDF index (lexical), and
the collaboration graph (partners and partners of partners of the query's participants).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from matcher.rank import Profile


@dataclass
class Corpus:
    keys: list[str]  # "s:<id>", row order
    row: dict[str, int]
    profiles: dict[str, Profile]
    vectors: np.ndarray  # stakeholder vectors, rows as keys
    project_vectors: np.ndarray
    projects_of: list[np.ndarray]  # per stakeholder row: its rows in project_vectors
    tfidf: TfidfVectorizer | None
    lexicon: csr_matrix | None  # stakeholder texts, TF-IDF rows as keys
    popularity: np.ndarray  # in [0, 1]: log of the number of projects, scaled
    key_of_id: dict[int, str] | None = None  # database id -> key, for hits from the FAISS index
    floor: float = 0.0  # the embedder's cosine for unrelated texts: cosines are rescaled from it
    _by_term: csr_matrix | None = None  # the lexicon by column (term), built on first use

    @classmethod
    def build(cls, profiles: list[Profile], vectors: np.ndarray, texts: list[str], project_vectors: np.ndarray,
              projects_of: list[np.ndarray]) -> "Corpus":
        keys = [p.key for p in profiles]
        tfidf: TfidfVectorizer | None = None
        lexicon = None
        if any(t.strip() for t in texts):
            # Dropping words used by over half the documents helps in a large corpus; in a small one
            # (the seed profiles) it would drop the very words partners share.
            tfidf = TfidfVectorizer(sublinear_tf=True, min_df=1, max_df=0.5 if len(texts) >= 200 else 1.0,
                                    stop_words="english",
                                    ngram_range=(1, 2), max_features=200_000, dtype=np.float32)
            try:
                lexicon = tfidf.fit_transform(texts).tocsr()
            except ValueError:  # every word is a stop word or too common
                tfidf, lexicon = None, None
        counts = np.array([len(p) for p in projects_of], dtype=np.float32)
        top = max(1.0, float(counts.max()) if len(counts) else 1.0)
        popularity = np.log1p(counts) / math.log1p(top)
        return cls(keys=keys, row={k: n for n, k in enumerate(keys)}, profiles={p.key: p for p in profiles},
                   vectors=vectors, project_vectors=project_vectors, projects_of=projects_of, tfidf=tfidf,
                   lexicon=lexicon, popularity=popularity)

    def lexical(self, text: str) -> np.ndarray:
        """TF-IDF cosine of a text to every stakeholder (rows as keys).

        Only the columns of the query's own terms are read (an inverted index in effect), so the cost
        follows the postings of those terms, not the size of the whole matrix.
        """
        if self.tfidf is None or self.lexicon is None:
            return np.zeros(len(self.keys), dtype=np.float32)
        return self._lexical_of(self.tfidf.transform([text]))

    def lexical_feedback(self, neighbours: list[tuple[str, float]]) -> np.ndarray:
        """The lexical signal of a text the TF-IDF vocabulary cannot read (Chinese, Korean, Russian...):
        the terms of its nearest profiles in the embedding space stand for its own (pseudo-relevance
        feedback), each weighted by its similarity, so a query keeps a lexical signal across languages.
        """
        rows = [(self.row[k], w) for k, w in neighbours if k in self.row and w > 0]
        if self.lexicon is None or not rows:
            return np.zeros(len(self.keys), dtype=np.float32)
        weights = np.array([w for _, w in rows], dtype=np.float32)
        pseudo = csr_matrix(weights @ self.lexicon[[r for r, _ in rows]])
        norm = math.sqrt(float(pseudo.multiply(pseudo).sum()))
        return self._lexical_of(pseudo / norm if norm else pseudo)

    def _lexical_of(self, query: csr_matrix) -> np.ndarray:
        if not query.nnz:
            return np.zeros(len(self.keys), dtype=np.float32)
        if self._by_term is None:
            self._by_term = self.lexicon.tocsc()
        query = query.tocsr()
        return np.asarray(self._by_term[:, query.indices] @ query.data, dtype=np.float32).ravel()

    def graph_candidates(self, query: Profile, limit: int) -> list[str]:
        """Partners of the query's partners, then their partners, by how many links lead to them."""
        direct = query.partners | query.partners2
        counts: dict[str, int] = {}
        for partner in query.partners:
            p = self.profiles.get(partner)
            if p is None:
                continue
            for q in p.partners:
                counts[q] = counts.get(q, 0) + 2
        for k in query.partners2:
            counts[k] = counts.get(k, 0) + 1
        ranked = sorted(counts, key=lambda k: (-counts[k], k))
        return [k for k in [*sorted(direct), *ranked] if k in self.row][:limit]

    def signals(self, query_vector: np.ndarray, keys: Iterable[str], lexical: np.ndarray,
                exclude_projects: frozenset[int] = frozenset()) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        """Dense similarity, best past-project similarity, lexical similarity and popularity per key."""
        keys = [k for k in keys if k in self.row]
        rows = np.array([self.row[k] for k in keys], dtype=np.int64)
        dense = self.vectors[rows] @ query_vector if len(rows) else np.zeros(0)
        by_project = self.project_vectors @ query_vector if len(self.project_vectors) else np.zeros(0)
        sims: dict[str, float] = {}
        extra: dict[str, dict[str, float]] = {}
        for n, k in enumerate(keys):
            r = rows[n]
            own = self.projects_of[r]
            if exclude_projects and len(own):
                own = np.array([j for j in own if int(j) not in exclude_projects], dtype=np.int64)
            best = float(by_project[own].max()) if len(own) else 0.0
            sims[k] = calibrate(float(dense[n]), self.floor)
            extra[k] = {"past_projects": calibrate(best, self.floor), "lexical": float(lexical[r]), "popularity": float(self.popularity[r])}
        return sims, extra

    def lexical_top(self, lexical: np.ndarray, limit: int) -> list[str]:
        positive = np.flatnonzero(lexical > 0)
        if len(positive) > limit:  # the top ones only, without sorting every profile
            positive = positive[np.argpartition(-lexical[positive], limit - 1)[:limit]]
        top = positive[np.lexsort((positive, -lexical[positive]))]
        return [self.keys[i] for i in top]


def calibrate(cosine: float, floor: float) -> float:
    """A cosine rescaled so that the embedder's unrelated-text level maps to 0 and identity to 1."""
    return cosine if floor == 0 else (cosine - floor) / (1.0 - floor)
