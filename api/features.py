"""The consortium features of candidates (:data:`matcher.ltr.FEATURES`), computed from the corpus
columns: what the learned model reads, for the service and for its training alike."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from matcher.ltr import FEATURES
from matcher.rank import Profile, kind_fit

if TYPE_CHECKING:
    from api.corpus import Corpus


def _calibrate(cosine: float, floor: float) -> float:
    from api.corpus import calibrate

    return calibrate(cosine, floor)


def graph(self: "Corpus", query: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Over all rows: the resource-allocation score from the query's participants, how many of
    them each row worked with, and which rows are partners of their partners (a mask); None when
    the query has no stored participant."""
    given = [r for key in sorted(query.partners) if (r := self.row_of_key(key)) is not None]
    if not given:
        return None
    degree = np.diff(self.partners.indptr)
    pieces = [self.partners[r] for r in given]
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    weights = np.concatenate([np.full(len(p), 1.0 / max(1, degree[r])) for p, r in zip(pieces, given)])
    ra = np.bincount(flat, weights=weights, minlength=len(self)).astype(np.float64)
    shared = np.bincount(flat, minlength=len(self)).astype(np.float64)
    second = shared > 0
    second[given] = False
    return ra, shared, second

def consortium_features(self: "Corpus", query: Profile, query_vector: np.ndarray, rows: Sequence[int],
                        dense: dict[int, float],
             lexical: dict[int, float], by_project: np.ndarray | None = None) -> np.ndarray:
    """The consortium features (:data:`matcher.ltr.FEATURES`, in that order) of these rows
    (``by_project``: the query's cosine to every project vector, when the caller has it)."""
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    if not len(rows):
        return out
    if by_project is None:
        by_project = self.project_vectors @ query_vector if len(self.project_vectors) else np.zeros(0)
    graph_ = graph(self, query)
    degree = np.diff(self.partners.indptr)
    top_degree = math.log1p(max(1, int(degree.max()) if len(degree) else 1))
    q_countries = set(self.tables["country"].known(query.countries))
    kinds = self.tables["kind"].names
    n_given = sum(1 for key in query.partners if self.row_of_key(key) is not None)
    col = {name: n for n, name in enumerate(FEATURES)}
    for i, r in enumerate(rows):
        own = self.projects_of[r]
        if len(own):
            sims = np.sort(by_project[own])[::-1]
            out[i, col["past_best"]] = _calibrate(float(sims[0]), self.floor)
            out[i, col["past_top3"]] = _calibrate(float(sims[:3].mean()), self.floor)
        out[i, col["semantic"]] = _calibrate(dense.get(r, 0.0), self.floor)
        out[i, col["lexical"]] = lexical.get(r, 0.0)
        if graph_ is not None:
            ra, shared, second = graph_
            out[i, col["graph_ra"]] = 1.0 - math.exp(-float(ra[r]) * 10.0)
            out[i, col["graph_shared"]] = float(shared[r]) / n_given
            out[i, col["graph_second"]] = 1.0 - math.exp(-float(second[self.partners[r]].sum()) / 10.0)
        out[i, col["degree"]] = math.log1p(int(degree[r])) / top_degree
        out[i, col["projects"]] = float(self.popularity[r])
        out[i, col["country_fit"]] = float(bool(q_countries & set(self.countries[r].tolist())))
        out[i, col["kind_fit"]] = kind_fit(query.kind, kinds[int(self.kinds[r])])
    return out

