"""Reciprocal partner scoring and ranking, with explanations as data.

Pure: plain data in, ranked and explained data out. No database, no HTTP, no model. The caller
supplies, for each candidate, the cosine similarity of its vector to the query's vector.

A score is the sum of its components; each component is ``weight * value`` with ``value`` in
[0, 1] and the weights summing to 1, so every score lies in [0, 1].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from matcher.ltr import ConsortiumModel
from matcher.text import normalise_place
from matcher.themes import Evidence, Theme, evidence_for
from matcher.vocab import INTENT_RESOURCES

COMPONENTS = ("consortium", "semantic", "past_projects", "lexical", "themes", "complementarity", "geography", "kinds",
              "network", "network2", "popularity", "intent")

SIGNALS = ("consortium", "semantic", "past_projects", "lexical", "popularity")
"""Components whose values the caller computes (they need vectors or a text index); the others come
from the two profiles."""

DEFAULT_WEIGHTS: dict[str, float] = {
    "consortium": 0.0,  # the learned consortium value (matcher.ltr); used when a model is loaded
    "semantic": 0.28,
    "past_projects": 0.08,
    "lexical": 0.08,
    "themes": 0.16,
    "complementarity": 0.16,
    "geography": 0.08,
    "kinds": 0.04,
    "network": 0.08,
    "network2": 0.04,
    "popularity": 0.0,
}
INTENT_WEIGHT = 0.15
"""Share of the score given to "does the candidate offer what this search is for" when an intent
other than ``any`` is asked; the other weights shrink in proportion."""

# How well two kinds of actor complement each other, for a partnership between them (symmetric).
# A CSO with a funder is the classic pair; two bodies of the same kind complement each other less.
_KIND_FIT: dict[frozenset[str], float] = {
    frozenset({"cso", "funder"}): 1.0,
    frozenset({"cso", "international"}): 0.9,
    frozenset({"cso", "private"}): 0.9,
    frozenset({"cso", "government"}): 0.7,
    frozenset({"cso", "academia"}): 0.7,
    frozenset({"cso", "network"}): 0.6,
    frozenset({"private", "government"}): 0.7,
    frozenset({"private", "academia"}): 0.8,
    frozenset({"private", "international"}): 0.7,
    frozenset({"private", "funder"}): 0.6,
    frozenset({"government", "international"}): 0.9,
    frozenset({"government", "academia"}): 0.8,
    frozenset({"government", "funder"}): 0.8,
    frozenset({"government", "network"}): 0.8,
    frozenset({"academia", "international"}): 0.7,
    frozenset({"academia", "funder"}): 0.8,
    frozenset({"network", "international"}): 0.8,
    frozenset({"project", "funder"}): 1.0,
    frozenset({"project", "private"}): 0.9,
    frozenset({"project", "international"}): 0.9,
    frozenset({"project", "cso"}): 0.8,
    frozenset({"project", "government"}): 0.8,
    frozenset({"project", "academia"}): 0.8,
    frozenset({"project", "network"}): 0.6,
}
_SAME_KIND_FIT = 0.3


@dataclass(frozen=True)
class Place:
    name: str
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Profile:
    """What the ranking knows of a stakeholder or a project (or a draft project from free text).

    ``kind`` is a stakeholder kind or ``"project"``. ``offers`` and ``needs`` are resource-kind
    codes; for a project ``needs`` is what it seeks. ``partners`` are the keys of stakeholders this
    one has worked with (for a project, its participants). ``sentences`` are the texts evidence is
    drawn from.
    """

    key: str
    name: str
    kind: str
    countries: tuple[str, ...] = ()
    places: tuple[Place, ...] = ()
    themes: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    partners: frozenset[str] = frozenset()
    sentences: tuple[str, ...] = ()
    partners2: frozenset[str] = frozenset()  # partners of partners (not partners themselves)
    evidence: tuple[tuple[str, str], ...] = ()  # (theme, sentence) found by meaning, for other languages


@dataclass(frozen=True)
class Filters:
    countries: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()  # the candidate must offer (or, for projects, seek) one
    exclude: frozenset[str] = frozenset()
    min_shared_themes: int = 0  # with the query: a partner explained by no shared theme is left out
    query_themes: frozenset[str] = frozenset()

    @property
    def narrows(self) -> bool:
        """Whether these filters leave out more than the listed exclusions."""
        return bool(self.countries or self.kinds or self.themes or self.resources or self.min_shared_themes)

    def admits(self, c: Profile) -> bool:
        if c.key in self.exclude:
            return False
        if self.min_shared_themes and len(self.query_themes & set(c.themes)) < self.min_shared_themes:
            return False
        if self.countries and not self.countries & set(c.countries):
            return False
        if self.kinds and c.kind not in self.kinds:
            return False
        if self.themes and not self.themes & set(c.themes):
            return False
        if self.resources:
            held = set(c.needs) if c.kind == "project" else set(c.offers)
            if not self.resources & held:
                return False
        return True


@dataclass(frozen=True)
class SharedTheme:
    theme: str
    query_evidence: Evidence | None
    candidate_evidence: Evidence | None


@dataclass(frozen=True)
class Explanation:
    shared_themes: tuple[SharedTheme, ...]
    query_needs_met: tuple[str, ...]  # the query's needs the candidate offers
    candidate_needs_met: tuple[str, ...]  # the candidate's needs the query offers
    shared_countries: tuple[str, ...]
    shared_places: tuple[str, ...]
    shared_partners: tuple[str, ...]
    worked_together: bool
    intent_resources: tuple[str, ...]  # what the candidate offers of what the intent is after
    partners_of_partners: int = 0  # how many of the query's partners' partners the candidate worked with


@dataclass(frozen=True)
class Match:
    key: str
    score: float
    components: dict[str, float]  # weight × value, adding up to the score
    explanation: Explanation
    values: dict[str, float] = field(default_factory=dict)  # each component's value in [0, 1], unweighted


@dataclass(frozen=True)
class Ranking:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    intent_weight: float = INTENT_WEIGHT

    source: str = "default"
    model: ConsortiumModel | None = None
    _for_intent: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_file(cls, path: Path) -> "Ranking":
        """Learned weights (``dldmatch train``) for the components the training data has, merged with
        the defaults for the ones it lacks (themes, needs and offers, ...), so that one model serves
        both the evaluation data and the seed profiles. The merged weights sum to 1."""
        data = json.loads(Path(path).read_text())
        if "model" in data:  # a LambdaMART consortium model and the weights that combine it with the profiles
            weights = {k: float(data["weights"].get(k, 0.0)) for k in DEFAULT_WEIGHTS}
            total = sum(weights.values()) or 1.0
            weights = {k: v / total for k, v in weights.items()}
            return cls(weights=weights, source=str(path), model=ConsortiumModel.load(path))
        learned = {k: float(v) for k, v in data["weights"].items() if k in DEFAULT_WEIGHTS}
        untrained = {k: v for k, v in DEFAULT_WEIGHTS.items() if k not in learned}
        share = 1.0 - sum(untrained.values())
        total = sum(learned.values()) or 1.0
        weights = {**{k: share * v / total for k, v in learned.items()}, **untrained}
        return cls(weights=weights, source=str(path))

    def weights_for(self, intent: str) -> dict[str, float]:
        cached = self._for_intent.get(intent)
        if cached is None:
            cached = self._for_intent[intent] = self._weights_for(intent)
        return cached

    def _weights_for(self, intent: str) -> dict[str, float]:
        if intent not in INTENT_RESOURCES:
            raise ValueError(f"unknown intent {intent!r}")
        total = sum(self.weights.values())
        base = {k: v / total for k, v in self.weights.items()}
        if intent == "any":
            return {**base, "intent": 0.0}
        scale = 1.0 - self.intent_weight
        return {**{k: v * scale for k, v in base.items()}, "intent": self.intent_weight}


def coverage(needs: Iterable[str], offers: Iterable[str]) -> tuple[float, tuple[str, ...]]:
    """Share of the needs that the offers meet, and which needs they are."""
    wanted = list(dict.fromkeys(needs))
    if not wanted:
        return 0.0, ()
    held = set(offers)
    met = tuple(n for n in wanted if n in held)
    return len(met) / len(wanted), met


def complementarity(query: Profile, candidate: Profile) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    """Reciprocal fit of needs and offers: the mean of both directions.

    A one-sided fit (only one party's needs met) scores at most 0.5; a two-sided fit can reach 1.
    """
    forward, q_met = coverage(query.needs, candidate.offers)
    backward, c_met = coverage(candidate.needs, query.offers)
    return (forward + backward) / 2.0, q_met, c_met


def kind_fit(a: str, b: str) -> float:
    if a == b:
        return _SAME_KIND_FIT
    return _KIND_FIT.get(frozenset({a, b}), 0.5)


def _shared_places(a: Profile, b: Profile) -> tuple[str, ...]:
    theirs = {normalise_place(p.name) for p in b.places}
    return tuple(sorted({p.name for p in a.places if normalise_place(p.name) in theirs}))


def score_pair(
    query: Profile,
    candidate: Profile,
    similarity: float,
    *,
    intent: str = "any",
    ranking: Ranking | None = None,
    vocabulary: dict[str, Theme] | None = None,
    evidence: bool = True,
    signals: dict[str, float] | None = None,
) -> Match:
    """Score one candidate for the query and explain the score.

    With ``evidence=False`` the shared themes carry no evidence sentences: ranking uses that to
    score many candidates cheaply, then explains only those it returns.
    """
    weights = (ranking or Ranking()).weights_for(intent)
    vocabulary = (vocabulary or {}) if evidence else {}

    q_themes, c_themes = set(query.themes), set(candidate.themes)
    shared = sorted(q_themes & c_themes)
    union = q_themes | c_themes
    theme_value = len(shared) / len(union) if union else 0.0

    comp_value, q_met, c_met = complementarity(query, candidate)

    countries = tuple(sorted(set(query.countries) & set(candidate.countries)))
    places = _shared_places(query, candidate)
    geo_value = 0.5 * bool(countries) + 0.5 * bool(places)

    partners = tuple(sorted((query.partners & candidate.partners) - {query.key, candidate.key}))
    worked_together = candidate.key in query.partners or query.key in candidate.partners
    network_value = min(1.0, len(partners) / 3.0)
    second = len(query.partners2 & candidate.partners) if query.partners2 else 0
    network2_value = 1.0 - math.exp(-second / 3.0)
    signals = signals or {}

    wanted = INTENT_RESOURCES[intent]
    intent_hits = tuple(sorted(wanted & set(candidate.offers)))
    intent_value = 1.0 if intent_hits else 0.0

    values = {
        "semantic": min(1.0, max(0.0, similarity)),
        "themes": theme_value,
        "complementarity": comp_value,
        "geography": geo_value,
        "kinds": kind_fit(query.kind, candidate.kind),
        "network": network_value,
        "network2": network2_value,
        "intent": intent_value,
        **{name: min(1.0, max(0.0, signals.get(name, 0.0))) for name in SIGNALS if name != "semantic"},
    }
    components = {name: round(weights.get(name, 0.0) * values[name], 6) for name in COMPONENTS}
    score = round(sum(components.values()), 6)

    q_sentences, c_sentences = list(query.sentences), list(candidate.sentences)
    shared_themes = tuple(
        SharedTheme(
            theme=t,
            query_evidence=evidence_for(q_sentences, vocabulary[t], dict(query.evidence)) if t in vocabulary else None,
            candidate_evidence=(evidence_for(c_sentences, vocabulary[t], dict(candidate.evidence))
                                if t in vocabulary else None),
        )
        for t in shared
    )
    return Match(
        key=candidate.key,
        score=score,
        components=components,
        values=values,
        explanation=Explanation(
            shared_themes=shared_themes,
            query_needs_met=q_met,
            candidate_needs_met=c_met,
            shared_countries=countries,
            shared_places=places,
            shared_partners=partners,
            worked_together=worked_together,
            intent_resources=intent_hits,
            partners_of_partners=second,
        ),
    )


def rank(
    query: Profile,
    candidates: Iterable[Profile],
    similarities: dict[str, float],
    *,
    k: int = 10,
    intent: str = "any",
    filters: Filters | None = None,
    ranking: Ranking | None = None,
    vocabulary: dict[str, Theme] | None = None,
    signals: dict[str, dict[str, float]] | None = None,
) -> list[Match]:
    """Rank candidates for a query: best first, ties broken by key, the query itself left out.

    Args:
        query: the profile partners are sought for.
        candidates: profiles to consider; those the filters do not admit are dropped.
        similarities: cosine similarity of each candidate's vector to the query's (missing: 0).
        k: how many matches to return at most.
        intent: ``any``, ``co_funding`` or ``implementation``.
        signals: per candidate, the caller-computed values (see :func:`score_pair`).
    """
    signals = signals or {}
    if k < 1:
        raise ValueError("k must be at least 1")
    filters = filters or Filters()
    if filters.min_shared_themes and not filters.query_themes:
        filters = replace(filters, query_themes=frozenset(query.themes))
    admitted = {c.key: c for c in candidates if c.key != query.key and filters.admits(c)}
    scored = [
        score_pair(query, c, similarities.get(key, 0.0), intent=intent, ranking=ranking, evidence=False,
                   signals=signals.get(key))
        for key, c in admitted.items()
    ]
    scored.sort(key=lambda m: (-m.score, m.key))
    return [
        score_pair(query, admitted[m.key], similarities.get(m.key, 0.0), intent=intent, ranking=ranking,
                   vocabulary=vocabulary, signals=signals.get(m.key))
        for m in scored[:k]
    ]


def within_reach(similarities: dict[str, float], signals: dict[str, dict[str, float]], *, k: int,
                 intent: str = "any", ranking: Ranking | None = None,
                 upper: dict[str, dict[str, float]] | None = None) -> list[str]:
    """The candidates that can still be among the k best, before their profiles are compared.

    The caller-computed components (:data:`SIGNALS`) give each candidate a lower bound on its score;
    the profile components can add at most their weights, or their weight times a known upper bound
    of their value (``upper``: per key, component -> the most its value can be). A candidate whose
    most possible score is below the k-th best lower bound cannot reach the top k, so it is left
    out: :func:`rank` over the survivors gives the same k as over all. ``similarities`` must hold
    only candidates the filters admit. Keys best first.

    Example:
        >>> sims = {"a": 0.9, "b": 0.8, "c": 0.1}
        >>> within_reach(sims, {}, k=1, ranking=Ranking(weights={"semantic": 0.9, "themes": 0.1}))
        ['a', 'b']
        >>> within_reach(sims, {}, k=1, ranking=Ranking(weights={"semantic": 0.9, "themes": 0.1}),
        ...              upper={"b": {"themes": 0.0}})
        ['a']
    """
    weights = ranking_weights = (ranking or Ranking()).weights_for(intent)
    others = [(name, w) for name, w in ranking_weights.items() if name not in SIGNALS and w > 0]
    upper = upper or {}
    lower, most = {}, {}
    for key, sim in similarities.items():
        values = signals.get(key, {})
        lower[key] = weights.get("semantic", 0.0) * min(1.0, max(0.0, sim)) + sum(
            weights.get(name, 0.0) * min(1.0, max(0.0, values.get(name, 0.0))) for name in SIGNALS if name != "semantic")
        bounds = upper.get(key, {})
        most[key] = lower[key] + sum(w * min(1.0, bounds.get(name, 1.0)) for name, w in others)
    ordered = sorted(lower, key=lambda key: (-lower[key], key))
    if len(ordered) <= k:
        return ordered
    threshold = lower[ordered[k - 1]] - 1e-5  # components are rounded to 1e-6 each
    return [key for key in ordered if most[key] >= threshold]
