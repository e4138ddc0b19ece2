"""What the corpus columns say of each candidate: the consortium features (:data:`matcher.ltr.FEATURES`,
what the learned model reads, for the service and for its training alike), the signals the ranking
reads beside the profiles (:func:`signals`) and the most the profile components can be worth, for the
search's pruning (:func:`upper_bounds`)."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Sequence, TypeVar

import numpy as np

from matcher.ltr import FEATURES
from matcher.meaning import CLOSE_STANDING, Usual
from matcher.rank import DUST_THEME, Match, Profile, dust_link, kind_fit
from matcher.text import is_latin, normalise_place

K = TypeVar("K")

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from api.corpus import Corpus
    from matcher.ltr import ConsortiumModel


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


def signals(corpus: "Corpus", query_vector: np.ndarray, rows: Sequence[int], dense: dict[int, float],
            lexical: dict[int, float], query: Profile | None = None, model: "ConsortiumModel | None" = None,
            usual: "Usual | None" = None) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Per candidate key: the calibrated dense similarity (``dense``: cosine by row), and the best
    past-project similarity, lexical similarity and popularity; its standing in meaning and the
    share of profiles it is closer than (``usual``: the query's, when the caller has it); with a
    consortium ``model`` (and the ``query``), also its consortium value."""
    by_project = corpus.project_vectors @ query_vector if len(corpus.project_vectors) else np.zeros(0)
    now = time.time()
    sims: dict[str, float] = {}
    extra: dict[str, dict[str, float]] = {}
    usual = usual or corpus.usual(query_vector)
    for r in rows:
        own = corpus.projects_of[r]
        best = float(by_project[own].max()) if len(own) else 0.0
        key = corpus.key(r)
        sims[key] = calibrate(dense.get(r, 0.0), corpus.floor)
        extra[key] = {"past_projects": calibrate(best, corpus.floor), "lexical": lexical.get(r, 0.0),
                      "popularity": float(corpus.popularity[r])}
        if corpus.stale(r, now):  # for the pruning bound (within_reach), as the profile says it
            extra[key]["stale"] = 1.0
        if len(usual.ordered):
            extra[key]["standing"] = float(usual.standing(sims[key]))
            extra[key]["closer_than"] = usual.closer_than(sims[key])
    if model is not None and query is not None and len(rows):
        values = model.value(consortium_features(corpus, query, query_vector, rows, dense, lexical, by_project))
        for r, v in zip(rows, values):
            extra[corpus.key(r)]["consortium"] = float(v)
    return sims, extra


def project_signals(corpus: "Corpus", usual: "Usual", sims: dict[str, float], texts: dict[str, str],
                    query_text: str, limit: int) -> dict[str, dict[str, float]]:
    """Per candidate project (key): its standing in meaning and the share of projects it is closer than
    (``sims``: calibrated similarities; ``usual``: the query's to the projects), and its lexical value
    for the ``limit`` closest in meaning of those with a text (``texts``: each one's title and
    description): the TF-IDF cosine of the query's text to it, in the stakeholders' vocabulary; for a
    query mostly in another script, the larger of that and the value its standing in meaning implies
    (as for stakeholders: never words borrowed from the closest projects; the map from standing to
    value is the one fitted on the stakeholders' texts). Those beyond ``limit`` count no words in
    common."""
    out: dict[str, dict[str, float]] = {key: {} for key in sims}
    if len(usual.ordered):
        for key, s in sims.items():
            out[key] = {"standing": float(usual.standing(s)), "closer_than": usual.closer_than(s)}
    read = sorted((key for key in texts if key in sims), key=lambda key: (-sims[key], key))[:limit]
    if not read:
        return out
    query = corpus.lexical_query(query_text)
    values = corpus.lexicon.text_scores(query, [texts[key] for key in read])
    for key, standing in words_standing(lexical_usual(corpus, query), dict(zip(read, values)),
                                        words_floor(corpus)).items():
        out[key]["words"] = standing
    if not is_latin(query_text) and corpus.meaning is not None and len(usual.ordered):
        implied = corpus.meaning.value(usual.standing(np.array([sims[key] for key in read])))
        values = [max(v, float(m)) for v, m in zip(values, implied)]
    for key, v in zip(read, values):
        out[key]["lexical"] = max(0.0, v)
    return out


def lexical_usual(corpus: "Corpus", query: "csr_matrix | None", exclude: Iterable[int] = ()) -> "Usual":
    """The query's usual TF-IDF cosine to the profiles (the live rows of the reference sample, less
    ``exclude``: the query's own row and those left out): a candidate whose words in common weigh
    well above it shares more than the query shares with anyone."""
    if query is None or not query.nnz or not len(corpus.reference_rows):
        return Usual.of(np.zeros(0))
    left_out = set(exclude)
    rows = [int(r) for r in corpus.reference_rows
            if int(r) not in left_out and (corpus.alive is None or corpus.alive[int(r)])]
    return Usual.of(np.array(list(corpus.lexical_scores(query, rows).values()), dtype=np.float64))


def words_floor(corpus: "Corpus") -> float:
    """The least TF-IDF cosine words in common must reach to explain a result, however far above the
    usual: the cosine the profiles' own texts show at the standing in meaning that makes a text close
    in meaning (:data:`matcher.meaning.CLOSE_STANDING`, by the fitted map). A query whose words the
    reference sample hardly holds has a usual near 0, and then one shared word would stand far above
    it; the floor asks for as much in common as a text close in meaning has."""
    return float(corpus.meaning.value(np.array([CLOSE_STANDING]))[0]) if corpus.meaning is not None else 0.0


def words_standing(usual: "Usual", lexical: dict[K, float], floor: float = 0.0) -> dict[K, float]:
    """The standing of each TF-IDF cosine above the query's usual one (``usual``: over the reference
    sample of profiles), for those that have words in common and reach ``floor``
    (:func:`words_floor`); none without a sample.

    Example:
        >>> from matcher.meaning import Usual
        >>> got = words_standing(Usual.of(np.array([0.0, 0.0, 0.1])), {"a": 0.3, "b": 0.05, "c": 0.0}, floor=0.1)
        >>> {key: round(v, 2) for key, v in got.items()}
        {'a': 5.66}
    """
    if not len(usual.ordered):
        return {}
    return {key: float(usual.standing(v)) for key, v in lexical.items() if v > 0 and v >= floor}


def with_words(corpus: "Corpus", query_text: str, matches: list[Match], texts: dict[str, str] | None
               ) -> list[Match]:
    """The matches with the words they have in common with the query filled in, where those explain
    them: from a stakeholder's row of the postings, or from a project's text (``texts``, by key)."""
    if not any(m.explanation.words is not None for m in matches):
        return matches
    query = corpus.lexical_query(query_text)
    out = []
    for m in matches:
        if m.explanation.words is not None:
            if texts is not None:
                found = corpus.lexicon.words_of_text(query, texts.get(m.key, ""))
            else:
                row = corpus.row_of_key(m.key)
                found = corpus.lexicon.words_of_row(query, row) if row is not None else ()
            shown = replace(m.explanation.words, words=found) if found else None
            m = replace(m, explanation=replace(m.explanation, words=shown))
        out.append(m)
    return out


def upper_bounds(corpus: "Corpus", query: Profile, rows: Sequence[int]) -> dict[str, dict[str, float]]:
    """For each row, the most the profile components can be worth against the query, from the
    columns alone (see :func:`matcher.rank.within_reach`): needs and offers both ways, shared
    themes, countries and places, shared partners."""
    t = corpus.tables
    q_needs = list(dict.fromkeys(t["resource"].known(query.needs)))
    n_q_needs = len(set(query.needs))
    q_offers = set(t["resource"].known(query.offers))
    q_themes = set(t["theme"].known(query.themes))
    n_q_themes = len(set(query.themes))
    q_countries = set(t["country"].known(query.countries))
    q_places = {normalise_place(p.name) for p in query.places}
    q_partners = {r for key in query.partners if (r := corpus.row_of_key(key)) is not None}
    names = corpus.tables["country"].names
    dust_topic = DUST_THEME in query.themes
    out = {}
    for r in rows:
        offers = set(corpus.offers[r].tolist())
        needs = list(dict.fromkeys(corpus.needs[r].tolist()))
        forward = sum(n in offers for n in q_needs) / n_q_needs if q_needs else 0.0
        backward = sum(n in q_offers for n in needs) / len(needs) if needs else 0.0
        themes = set(corpus.themes[r].tolist())
        shared = len(themes & q_themes)
        union = n_q_themes + len(themes) - shared
        places = any(corpus._place_keys[c] in q_places for c in corpus.places[r])
        partners = len(q_partners & set(corpus.partners[r].tolist()))
        out[corpus.key(r)] = {
            "complementarity": (forward + backward) / 2.0,
            "themes": shared / union if union else 0.0,
            "geography": max(0.5 * bool(q_countries & set(corpus.countries[r].tolist())) + 0.5 * places,
                             0.5 if dust_topic and dust_link(query.themes, query.countries,
                                                             [names[c] for c in corpus.countries[r]]) else 0.0),
            "network": min(1.0, partners / 3.0),
        }
    return out
