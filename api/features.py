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


def calibrate(cosine: float, floor: float) -> float:
    """A cosine rescaled so that the embedder's unrelated-text level maps to 0 and identity to 1."""
    return cosine if floor == 0 else (cosine - floor) / (1.0 - floor)


def graph(corpus: "Corpus", query: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Over all rows: the resource-allocation score from the query's participants, how many of
    them each row worked with, and which rows are partners of their partners (a mask); None when
    the query has no stored participant."""
    given = [r for key in sorted(query.partners) if (r := corpus.row_of_key(key)) is not None]
    if not given:
        return None
    degree = np.diff(corpus.partners.indptr)
    pieces = [corpus.partners[r] for r in given]
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    weights = np.concatenate([np.full(len(p), 1.0 / max(1, degree[r])) for p, r in zip(pieces, given)])
    ra = np.bincount(flat, weights=weights, minlength=len(corpus)).astype(np.float64)
    shared = np.bincount(flat, minlength=len(corpus)).astype(np.float64)
    second = shared > 0
    second[given] = False
    return ra, shared, second



def consortium_features(corpus: "Corpus", query: Profile, query_vector: np.ndarray, rows: Sequence[int],
                        dense: dict[int, float], lexical: dict[int, float],
                        by_project: np.ndarray | None = None) -> np.ndarray:
    """The consortium features (:data:`matcher.ltr.FEATURES`, in that order) of these rows
    (``by_project``: the query's cosine to every project vector, when the caller has it)."""
    out = np.zeros((len(rows), len(FEATURES)), dtype=np.float64)
    if not len(rows):
        return out
    if by_project is None:
        by_project = corpus.project_vectors @ query_vector if len(corpus.project_vectors) else np.zeros(0)
    graph_ = graph(corpus, query)
    degree = np.diff(corpus.partners.indptr)
    top_degree = math.log1p(max(1, int(degree.max()) if len(degree) else 1))
    q_countries = set(corpus.tables["country"].known(query.countries))
    kinds = corpus.tables["kind"].names
    n_given = sum(1 for key in query.partners if corpus.row_of_key(key) is not None)
    col = {name: n for n, name in enumerate(FEATURES)}
    for i, r in enumerate(rows):
        own = corpus.projects_of[r]
        if len(own):
            sims = np.sort(by_project[own])[::-1]
            out[i, col["past_best"]] = calibrate(float(sims[0]), corpus.floor)
            out[i, col["past_top3"]] = calibrate(float(sims[:3].mean()), corpus.floor)
        out[i, col["semantic"]] = calibrate(dense.get(r, 0.0), corpus.floor)
        out[i, col["lexical"]] = lexical.get(r, 0.0)
        if graph_ is not None:
            ra, shared, second = graph_
            out[i, col["graph_ra"]] = 1.0 - math.exp(-float(ra[r]) * 10.0)
            out[i, col["graph_shared"]] = float(shared[r]) / n_given
            out[i, col["graph_second"]] = 1.0 - math.exp(-float(second[corpus.partners[r]].sum()) / 10.0)
        out[i, col["degree"]] = math.log1p(int(degree[r])) / top_degree
        out[i, col["projects"]] = float(corpus.popularity[r])
        out[i, col["country_fit"]] = float(bool(q_countries & set(corpus.countries[r].tolist())))
        out[i, col["kind_fit"]] = kind_fit(query.kind, kinds[int(corpus.kinds[r])])
    return out
