"""Reciprocal partner scoring and ranking, with explanations as data.

Pure: plain data in, ranked and explained data out. No database, no HTTP, no model. The caller
supplies, for each candidate, the cosine similarity of its vector to the query's vector.

A score is the sum of its components; each component is ``weight * value`` with ``value`` in
[0, 1] and the weights summing to 1, so every score lies in [0, 1].
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from matcher.ltr import ConsortiumModel
from matcher.meaning import CLOSE_STANDING, Closeness
from matcher.text import normalise_place
from matcher.themes import Evidence, Theme, evidence_for
from matcher.vocab import INTENT_RESOURCES

COMPONENTS = ("consortium", "semantic", "past_projects", "lexical", "themes", "complementarity", "geography", "kinds",
              "network", "network2", "popularity", "introductions", "intent")

MEANINGS = {
    "consortium": "the LambdaMART model's probability that the candidate belongs with the query (matcher/ltr.py)",
    "semantic": "cosine of the two profiles' vectors, rescaled from the embedder's floor",
    "past_projects": "the best cosine of the query to one of the candidate's past projects",
    "lexical": "TF-IDF cosine of the texts; a text in another script: the value its standing in meaning implies",
    "themes": "Jaccard overlap of their DLD themes",
    "complementarity": "mean of \"the query's needs it offers\" and \"its needs the query offers\"",
    "geography": "0.5 for a shared country, 0.5 for a shared place",
    "kinds": "how well the kinds of actor complement each other (CSO-funder 1.0, same kind 0.3)",
    "network": "shared past partners (three or more: 1)",
    "network2": "partners of the query's partners it worked with",
    "popularity": "how many projects it took part in (log scale)",
    "introductions": "how far its introductions became cooperation more often than usual (matcher/feedback.py)",
    "intent": "offers what the search is for (1), or has done it: co-funded 0.7, supported 0.6, led 0.5",
}
"""What each component's value means, for people (the README's weight table)."""

GROUP_NAMES = {"any": "stakeholders, intent `any`", "co_funding": "co-funders", "implementation": "implementers",
               "projects": "projects"}


def weight_table(ranking: "Ranking") -> str:
    """The weights in force as a Markdown table: stakeholders for an intent, for ``any``, projects."""
    with_intent, plain = ranking.weights_for("co_funding"), ranking.weights_for("any")
    projects = ranking.for_projects().weights_for("any")
    columns = [with_intent, plain, projects]
    head = "| component | stakeholders, with an intent | stakeholders, intent `any` | projects |"
    if ranking.completing_weights:
        columns.append(ranking.for_query(COMPLETING).weights_for("any"))
        head += f" a draft naming {COMPLETING}+ participants |"
    lines = [head + " value |", "| --- " * (len(columns) + 2) + "|"]
    for name in COMPONENTS:
        if any(c.get(name, 0.0) for c in columns):
            lines.append(f"| {name} | " + " | ".join(f"{c.get(name, 0.0):.3f}" for c in columns)
                         + f" | {MEANINGS[name]} |")
    strong, good = ranking.bands
    lines.append("")
    lines.append(f"Fit bands: *strong* from a score of {strong:.3f} (fit 70), *good* from {good:.3f} (fit 40).")
    for group, (strong, good) in sorted(ranking.group_bands.items()):
        lines.append(f"Fitted apart for {GROUP_NAMES.get(group, group)}: *strong* from {strong:.3f}, "
                     f"*good* from {good:.3f}.")
    return "\n".join(lines)


SIGNALS = ("consortium", "semantic", "past_projects", "lexical", "popularity", "introductions")
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
    "introductions": 0.0,  # what outcomes taught (matcher.feedback): off unless DLDMATCH_INTRODUCTIONS_WEIGHT says
}
COMPLETING = 2
"""A draft project naming this many participants or more is completing a consortium (:meth:`Ranking.for_query`)."""
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
class Record:
    """One participation of a stakeholder in a project: what a track record is read from."""

    project: str  # the project's key
    title: str
    role: str
    countries: tuple[str, ...] = ()


FUNDING_ROLES = ("co_funder", "supporter", "lead")  # a role in a project that shows the means to fund one
FUNDING_KINDS = ("government", "funder", "international", "private")  # whose leading a project shows means
WORK_ROLES = ("implementer", "technical_partner", "lead")
JOINABLE = ("planned", "ongoing", "unknown")


def can_fund(candidate: "Profile") -> bool:
    """Whether a stakeholder can be offered as a co-funder: it offers funding, or its participations
    show means (co-funded a project; or, for a government, funder, international body or firm,
    supported or led one). ``candidate.record`` must hold its participations.

    Example:
        >>> can_fund(Profile(key="s:a", name="A", kind="cso", offers=("funding",)))
        True
        >>> led = (Record("p:x", "X", "lead"),)
        >>> can_fund(Profile(key="s:b", name="B", kind="cso", record=led)), can_fund(
        ...     Profile(key="s:c", name="C", kind="government", record=led))
        (False, True)
    """
    if "funding" in candidate.offers:
        return True
    roles = funding_roles(candidate.kind)
    return any(r.role in roles for r in candidate.record)


def funding_roles(kind: str) -> tuple[str, ...]:
    """The roles in a project that show a stakeholder of this kind has the means to fund one: a
    civil-society or research body leading a project is not thereby a funder."""
    return FUNDING_ROLES if kind in FUNDING_KINDS else ("co_funder",)


def project_state(status: str | None, start_year: int | None, end_year: int | None, year: int) -> str:
    """What a project is as of ``year``: planned, ongoing, completed, or unknown when nothing says.

    A stated status holds unless the project's end year has passed (then it is completed); with no
    stated status, the years tell when they can.

    Example:
        >>> project_state("ongoing", 2015, 2024, 2026), project_state(None, 2027, None, 2026)
        ('completed', 'planned')
        >>> project_state(None, 2019, None, 2026)
        'unknown'
    """
    if status == "completed" or (end_year is not None and end_year < year):
        return "completed"
    if status in ("planned", "ongoing"):
        return status
    if start_year is not None and start_year > year:
        return "planned"
    return "unknown"


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
    record: tuple[Record, ...] = ()  # a stakeholder's participations (read for the funding intent)
    state: str = "unknown"  # a project's state this year (:func:`project_state`)
    own_countries: bool = True  # whether ``countries`` are where it works (not only named in a question)
    home: tuple[str, ...] = ()  # else, the countries a question says the asker is of or in ("We're a Japanese firm")
    stale: bool = False  # not confirmed as current for over a year: its score is lowered (STALE_PENALTY)


@dataclass(frozen=True)
class Filters:
    countries: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    themes: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()  # the candidate must offer (or, for projects, seek) one
    exclude: frozenset[str] = frozenset()
    min_shared_themes: int = 0  # with the query: a partner explained by no shared theme is left out
    query_themes: frozenset[str] = frozenset()
    joinable: bool = False  # projects only: planned, ongoing or unknown (never completed)
    able_to_fund: bool = False  # stakeholders only: offer funding or have funded (:func:`can_fund`)

    @property
    def narrows(self) -> bool:
        """Whether these filters leave out more than the listed exclusions."""
        return bool(self.countries or self.kinds or self.themes or self.resources or self.min_shared_themes)

    def admits(self, c: Profile) -> bool:
        if c.key in self.exclude:
            return False
        if self.joinable and c.kind == "project" and c.state not in JOINABLE:
            return False
        if self.able_to_fund and c.kind != "project" and not can_fund(c):
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


# A profile not confirmed as current for a year is stale: its score is lowered by this share (api.freshness).
STALE_AFTER = timedelta(days=365)
STALE_PENALTY = 0.15

# Dust and sandstorms originate from China and Mongolia and affect Japan and the Republic of Korea (seed
# document 000, paragraph 5; seed_profiles/countries.json holds the same facts with their source).
DUST_THEME = "dust_sandstorms"
DUST_SOURCES = frozenset({"CN", "MN"})
DUST_AFFECTED = frozenset({"JP", "KR"})


@dataclass(frozen=True)
class DustLink:
    """A pair that spans the source and the affected areas of dust and sandstorms."""

    source: tuple[str, ...]  # the source countries (of one side)
    affected: tuple[str, ...]  # the affected countries (of the other)


def dust_link(query_themes: Iterable[str], query_countries: Iterable[str],
              candidate_countries: Iterable[str]) -> DustLink | None:
    """For a query about dust and sandstorms, whether one side works in a source country and the other
    in an affected one (either way round): a reason to pair them of its own.

    Example:
        >>> dust_link(["dust_sandstorms"], ["KR"], ["MN", "CN"])
        DustLink(source=('CN', 'MN'), affected=('KR',))
        >>> dust_link(["dust_sandstorms"], ["KR"], ["JP"]), dust_link(["drought"], ["KR"], ["MN"])
        (None, None)
    """
    if DUST_THEME not in set(query_themes):
        return None
    q, c = set(query_countries), set(candidate_countries)
    for source_side, affected_side in ((q, c), (c, q)):
        source, affected = source_side & DUST_SOURCES, affected_side & DUST_AFFECTED
        if source and affected:
            return DustLink(tuple(sorted(source)), tuple(sorted(affected)))
    return None


@dataclass(frozen=True)
class SharedWords:
    """Words the two texts have in common, weighing more than the query usually shares with a profile:
    its TF-IDF cosine's standing (in deviations above the query's usual cosine to a reference sample of
    profiles) is at least :data:`WORDS_STANDING`. ``words`` are filled in for the results shown."""

    standing: float
    words: tuple[str, ...] = ()


# The same conventional bar as closeness in meaning (matcher.meaning.CLOSE_STANDING): not tuned on any
# judged question or consortium.
WORDS_STANDING = CLOSE_STANDING


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
    track_record: tuple[Record, ...] = ()  # participations that show it can do what the intent is after
    closeness: Closeness | None = None  # standing out in meaning (matcher.meaning), with its sentences when shown
    dust: DustLink | None = None  # source and affected areas of dust and sandstorms, for a query about them
    words: SharedWords | None = None  # words in common, weighing more than usual

    @property
    def reason(self) -> bool:
        """Whether something the two profiles hold explains the match (not a bare similarity)."""
        return bool(self.shared_themes or self.query_needs_met or self.candidate_needs_met or self.shared_countries
                    or self.shared_places or self.shared_partners or self.worked_together or self.intent_resources
                    or self.track_record or self.closeness is not None or self.dust is not None
                    or self.words is not None)


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
    project_weights: dict[str, float] | None = None  # for ranking projects (no text-index signals); None: weights
    bands: tuple[float, float] = (0.5, 0.25)  # the scores from which a match is "strong" and "good" (see fit)
    # the same for each intent of stakeholder searches and for projects ("projects"), where fitted apart
    group_bands: dict[str, tuple[float, float]] = field(default_factory=dict)
    # exposure spread (issue 16, item 4): a stakeholder's score is lowered by this much times its experience
    # (the log of its number of projects, scaled to [0, 1]), so suggestions spread beyond the best known
    spread: float = 0.0
    # for a draft that names COMPLETING or more participants (completing a consortium, as CORDIS queries do):
    # weights fitted on the consortia of the model's choice year; None: the same weights as any search
    completing_weights: dict[str, float] | None = None
    _for_intent: dict[str, dict[str, float]] = field(default_factory=dict, repr=False, compare=False)

    def for_query(self, participants: int) -> "Ranking":
        """The ranking of a search whose query names this many participants: a draft naming
        :data:`COMPLETING` or more is completing a consortium, ranked by the weights fitted on real
        consortia (when the file has them); any other search by the weights fitted on users' questions.

        Example:
            >>> r = Ranking(weights={"semantic": 1.0}, completing_weights={"consortium": 1.0})
            >>> r.for_query(1).weights, r.for_query(2).weights
            ({'semantic': 1.0}, {'consortium': 1.0})
        """
        if participants < COMPLETING or not self.completing_weights:
            return self
        return replace(self, weights=dict(self.completing_weights), completing_weights=None, _for_intent={})

    def for_projects(self) -> "Ranking":
        """The ranking of projects: its own weights when the file has them."""
        if not self.project_weights:
            return self
        return Ranking(weights=dict(self.project_weights), intent_weight=self.intent_weight, source=self.source,
                       bands=self.group_bands.get("projects", self.bands), group_bands={})

    def fit(self, score: float, intent: str = "any") -> tuple[int, str]:
        """A score as a 0-100 fit and its band, for people: the scores of the two band edges (fitted
        on the judged questions for this intent, where half the answers graded 2 score above the
        first) map to 70 and 40, 0 to 0 and 1 to 100, linearly in between, so the order of scores of
        one search is kept.

        Example:
            >>> Ranking(bands=(0.4, 0.2)).fit(0.4), Ranking(bands=(0.4, 0.2)).fit(0.1)
            ((70, 'strong'), (20, 'possible'))
            >>> Ranking(bands=(0.4, 0.2), group_bands={"co_funding": (0.6, 0.3)}).fit(0.4, "co_funding")
            (50, 'good')
        """
        strong, good = self.group_bands.get(intent, self.bands)
        points = [(0.0, 0.0), (good, 40.0), (strong, 70.0), (1.0, 100.0)]
        s = min(1.0, max(0.0, score))
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if s <= x1:
                value = y0 + (y1 - y0) * ((s - x0) / (x1 - x0) if x1 > x0 else 1.0)
                break
        fit = int(round(value))
        return fit, "strong" if fit >= 70 else "good" if fit >= 40 else "possible"

    @classmethod
    def from_file(cls, path: Path) -> "Ranking":
        """Learned weights (``dldmatch train``) for the components the training data has, merged with
        the defaults for the ones it lacks (themes, needs and offers, ...), so that one model serves
        both the evaluation data and the seed profiles. The merged weights sum to 1."""
        data = json.loads(Path(path).read_text())
        if "model" in data:  # a LambdaMART consortium model and the weights that combine it with the profiles
            def normalised(given: dict[str, float]) -> dict[str, float]:
                weights = {k: float(given.get(k, 0.0)) for k in DEFAULT_WEIGHTS}
                total = sum(weights.values()) or 1.0
                return {k: v / total for k, v in weights.items()}
            projects = data.get("project_weights")
            bands = data.get("bands") or {"strong": 0.5, "good": 0.25}
            groups = {g: (float(b["strong"]), float(b["good"])) for g, b in (bands.get("by") or {}).items()}
            completing = data.get("completing_weights")
            return cls(weights=normalised(data["weights"]), intent_weight=float(data.get("intent_weight", INTENT_WEIGHT)),
                       source=str(path), model=ConsortiumModel.load(path),
                       project_weights=normalised(projects) if projects else None,
                       bands=(float(bands["strong"]), float(bands["good"])), group_bands=groups,
                       completing_weights=normalised(completing) if completing else None)
        learned = {k: float(v) for k, v in data["weights"].items() if k in DEFAULT_WEIGHTS}
        untrained = {k: v for k, v in DEFAULT_WEIGHTS.items() if k not in learned}
        share = 1.0 - sum(untrained.values())
        total = sum(learned.values()) or 1.0
        weights = {**{k: share * v / total for k, v in learned.items()}, **untrained}
        return cls(weights=weights, source=str(path))

    def with_introductions(self, weight: float) -> "Ranking":
        """The same ranking giving the introductions signal (:mod:`matcher.feedback`) this share of a
        stakeholder's score, the other weights shrunk in proportion; projects are ranked as before.

        Example:
            >>> r = Ranking(weights={"semantic": 0.5, "themes": 0.5}).with_introductions(0.2)
            >>> r.weights_for("any")["introductions"], r.weights_for("any")["themes"], r.bands
            (0.2, 0.4, (0.4, 0.2))
        """
        if not 0.0 <= weight < 1.0:
            raise ValueError("the introductions weight lies in [0, 1)")
        def shared(given: dict[str, float]) -> dict[str, float]:
            others = {k: v for k, v in given.items() if k != "introductions"}
            total = sum(others.values()) or 1.0
            return {**{k: (1.0 - weight) * v / total for k, v in others.items()}, "introductions": weight}

        def scaled(band: tuple[float, float]) -> tuple[float, float]:  # the other parts shrink: so do the edges
            return band[0] * (1.0 - weight), band[1] * (1.0 - weight)

        groups = {g: (b if g == "projects" else scaled(b)) for g, b in self.group_bands.items()}
        groups.setdefault("projects", self.bands)  # projects are ranked as before, fit as before
        return replace(self, weights=shared(self.weights), project_weights=self.project_weights or dict(self.weights),
                       completing_weights=shared(self.completing_weights) if self.completing_weights else None,
                       bands=scaled(self.bands), group_bands=groups, _for_intent={})

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


def intent_fit(intent: str, query: Profile, candidate: Profile) -> tuple[float, tuple[str, ...], tuple[Record, ...]]:
    """How well the candidate can do what the search is for, what it offers of it, and the
    participations that show it (its track record), those in the query's countries first.

    Co-funding: offering funding is worth 1, having co-funded a project 0.7, having supported one 0.6,
    having led one 0.5 (only governments, funders, international bodies and firms show means by
    supporting or leading); implementation:
    offering the work 1, having implemented, advised or led a project 0.6. A
    track record in none of the query's countries keeps 80 % of its worth.
    """
    wanted = INTENT_RESOURCES[intent]
    offered = tuple(sorted(wanted & set(candidate.offers)))
    if intent == "any":
        return 0.0, offered, ()
    roles = funding_roles(candidate.kind) if intent == "co_funding" else WORK_ROLES
    here = set(query.countries)
    shown = sorted((r for r in candidate.record if r.role in roles),
                   key=lambda r: (not (here & set(r.countries)), roles.index(r.role), r.title))
    if offered:
        return 1.0, offered, tuple(shown[:3])
    if not shown:
        return 0.0, offered, ()
    best = {"co_funder": 0.7, "supporter": 0.6, "lead": 0.5} if intent == "co_funding" else {"implementer": 0.6,
                                                                            "technical_partner": 0.6, "lead": 0.6}
    value = max(best[r.role] for r in shown)
    local = not here or any(here & set(r.countries) for r in shown)
    return value * (1.0 if local else 0.8), offered, tuple(shown[:3])


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
    where = query.countries if query.own_countries else query.home
    dust = dust_link(query.themes, where, candidate.countries) if where else None
    geo_value = max(0.5 * bool(countries) + 0.5 * bool(places), 0.5 if dust else 0.0)

    partners = tuple(sorted((query.partners & candidate.partners) - {query.key, candidate.key}))
    worked_together = candidate.key in query.partners or query.key in candidate.partners
    network_value = min(1.0, len(partners) / 3.0)
    second = len(query.partners2 & candidate.partners) if query.partners2 else 0
    network2_value = 1.0 - math.exp(-second / 3.0)
    signals = signals or {}

    intent_value, intent_hits, track_record = intent_fit(intent, query, candidate)
    standing = signals.get("standing")
    closeness = (Closeness(round(float(standing), 2), float(signals.get("closer_than", 0.0)))
                 if standing is not None and standing >= CLOSE_STANDING else None)
    words_standing = signals.get("words")  # of the TF-IDF cosine alone, never of a value read from meaning
    words = (SharedWords(round(float(words_standing), 2))
             if words_standing is not None and words_standing >= WORDS_STANDING else None)

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
    spread = (ranking or Ranking()).spread
    if spread and values.get("popularity") and "popularity" in signals:  # stakeholders with experience only
        components["spread"] = round(-spread * values["popularity"], 6)
        score = round(score + components["spread"], 6)
    if candidate.stale:  # not confirmed for a year: lowered, as a part of its own so the parts still add up
        components["stale"] = round(-STALE_PENALTY * max(score, 0.0), 6)
        score = round(score + components["stale"], 6)

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
            track_record=track_record,
            closeness=closeness,
            dust=dust,
            words=words,
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
    explained_only: bool = True,
    dropped: set[str] | None = None,
) -> list[Match]:
    """Rank candidates for a query: best first, ties broken by key, the query itself left out; with
    ``explained_only``, a candidate nothing explains (:attr:`Explanation.reason`) is left out too:
    fewer results rather than unexplained filler.

    Args:
        query: the profile partners are sought for.
        candidates: profiles to consider; those the filters do not admit are dropped.
        similarities: cosine similarity of each candidate's vector to the query's (missing: 0).
        k: how many matches to return at most.
        intent: ``any``, ``co_funding`` or ``implementation``.
        signals: per candidate, the caller-computed values (see :func:`score_pair`).
        dropped: when given, receives the keys left out because nothing explains them.
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
    if explained_only:
        if dropped is not None:
            dropped.update(m.key for m in scored if not m.explanation.reason)
        scored = [m for m in scored if m.explanation.reason]
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
    spread = (ranking or Ranking()).spread
    others = [(name, w) for name, w in ranking_weights.items() if name not in SIGNALS and w > 0]
    upper = upper or {}
    lower, most = {}, {}
    for key, sim in similarities.items():
        values = signals.get(key, {})
        lower[key] = weights.get("semantic", 0.0) * min(1.0, max(0.0, sim)) + sum(
            weights.get(name, 0.0) * min(1.0, max(0.0, values.get(name, 0.0))) for name in SIGNALS if name != "semantic")
        if spread and "popularity" in values:  # the exposure spread is known from the signals: exact
            lower[key] -= spread * min(1.0, max(0.0, values["popularity"]))
        if values.get("stale"):  # a stale profile's score is lowered (its signals say so, as its profile does)
            lower[key] -= STALE_PENALTY * max(lower[key], 0.0)
        bounds = upper.get(key, {})
        most[key] = lower[key] + sum(w * min(1.0, bounds.get(name, 1.0)) for name, w in others)
    ordered = sorted(lower, key=lambda key: (-lower[key], key))
    if len(ordered) <= k:
        return ordered
    threshold = lower[ordered[k - 1]] - 1e-5  # components are rounded to 1e-6 each
    return [key for key in ordered if most[key] >= threshold]
