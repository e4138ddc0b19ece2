"""The exchange format (JSON Lines records) and the API's request and response models.

One JSON object a line; ``"type"`` says whether it is a ``stakeholder`` or a ``project``. The same
models validate API request bodies, so a line that imports is a body that the API accepts.
Shorthands are accepted on input and written out in full on export: a resource, place or theme may
be given as a plain string.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo
from typing import Annotated, Any, Literal

from api.i18n import N_
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from matcher.vocab import PROJECT_STATUSES, RESOURCE_KINDS, ROLES, STAKEHOLDER_KINDS, is_country_code

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$"
ExternalId = Annotated[str, Field(min_length=1, max_length=120, pattern=ID_PATTERN)]
ResourceCode = Literal[tuple(RESOURCE_KINDS)]  # type: ignore[valid-type]
KindCode = Literal[tuple(STAKEHOLDER_KINDS)]  # type: ignore[valid-type]
RoleCode = Literal[tuple(ROLES)]  # type: ignore[valid-type]
StatusCode = Literal[tuple(PROJECT_STATUSES)]  # type: ignore[valid-type]
Intent = Literal["co_funding", "implementation", "any"]


def _storable(value: Any) -> Any:
    """Refuse what a store cannot hold: text with NUL (PostgreSQL refuses it; SQLite keeps it) and
    datetimes that do not exist in UTC (0001-01-01T00:00+14:00), a 500 otherwise."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(N_("must not contain the NUL character (\\u0000)"))
    elif isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError(N_("out of range once converted to UTC")) from None
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return value


RowId = Annotated[int, Field(ge=1, le=2**31 - 1, description="a stored row's number (a PostgreSQL integer)")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _check_storable(cls, value: Any) -> Any:
        return _storable(value)


class Resource(_Strict):
    kind: ResourceCode
    detail: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"kind": value} if isinstance(value, str) else value


class Place(_Strict):
    name: str = Field(min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class ThemeRef(_Strict):
    id: str = Field(min_length=1)
    confidence: float = Field(default=1.0, ge=0, le=1)
    source: Literal["manual", "auto"] = "manual"
    evidence: str | None = Field(default=None, max_length=2000)  # the sentence showing an automatic theme

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value


class Source(_Strict):
    """Where a fact comes from: a seed document and paragraph, or a public address."""

    doc: str | None = None
    para: str | None = None
    url: str | None = None
    supports: list[str] = Field(default_factory=list)  # which fields this source supports

    @model_validator(mode="after")
    def _doc_or_url(self) -> "Source":
        if not ((self.doc and self.para) or self.url):
            raise ValueError(N_("a source needs either doc and para, or url"))
        return self


class Money(_Strict):
    amount: float = Field(ge=0, allow_inf_nan=False)  # JSON has no infinity: it could not be stored or given back
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class Contact(_Strict):
    name: str | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = None
    role: str | None = None


def _countries(values: list[str]) -> list[str]:
    out = []
    for value in values:
        code = value.strip().upper()
        if not is_country_code(code):
            raise ValueError(f"{value!r} is not a two-letter ISO 3166-1 country code")
        out.append(code)
    return list(dict.fromkeys(out))


class _WithCountries(_Strict):
    @field_validator("countries", check_fields=False)
    @classmethod
    def _check_countries(cls, value: list[str]) -> list[str]:
        return _countries(value)


class StakeholderIn(_WithCountries):
    type: Literal["stakeholder"] = "stakeholder"
    id: ExternalId
    name: str = Field(min_length=1, max_length=300)
    original_name: str | None = None
    aliases: list[str] = Field(default_factory=list)  # other names and acronyms it is known by
    kind: KindCode
    countries: list[str] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    description: str = Field(default="", max_length=20_000)
    themes: list[ThemeRef] = Field(default_factory=list)
    offers: list[Resource] = Field(default_factory=list)
    needs: list[Resource] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    website: str | None = Field(default=None, pattern=r"^https?://\S+$")
    contact: Contact | None = None
    sources: list[Source] = Field(default_factory=list)
    outside_seed: bool = False
    self_declared: bool = Field(default=False, description="its facts were sent by the organisation itself "
                                                            "(a member's edits always are), not checked against "
                                                            "documents")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    confirmed_at: datetime | None = Field(default=None, description="when it was last confirmed as current "
                                          "(kept on export; a write without it confirms it now)")


class Participant(_Strict):
    stakeholder: ExternalId
    role: RoleCode = "other"


class ProjectIn(_WithCountries):
    type: Literal["project"] = "project"
    id: ExternalId
    title: str = Field(min_length=1, max_length=300)
    aliases: list[str] = Field(default_factory=list)
    description: str = Field(default="", max_length=20_000)
    countries: list[str] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    themes: list[ThemeRef] = Field(default_factory=list)
    status: StatusCode | None = None
    start_year: int | None = Field(default=None, ge=1900, le=2100)
    end_year: int | None = Field(default=None, ge=1900, le=2100)
    budget: Money | None = None
    funding_sought: Money | None = None
    seeks: list[Resource] = Field(default_factory=list)
    participants: list[Participant] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    outside_seed: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @model_validator(mode="after")
    def _years_in_order(self) -> "ProjectIn":
        if self.start_year and self.end_year and self.end_year < self.start_year:
            raise ValueError(N_("end_year is before start_year"))
        return self


# ---- responses -------------------------------------------------------------------------------


class FieldError(BaseModel):
    """One invalid input: the field (dotted path) and why; an uploaded file's line, or a
    questionnaire's sheet, row and column, when it came from one."""

    model_config = ConfigDict(extra="allow")

    field: str | None = None
    message: str
    line: int | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None


class ErrorOut(BaseModel):
    """The body of every error response (4xx and 5xx)."""

    error: str = Field(description="a code: invalid_input, not_found, conflict, precondition_failed, "
                                   "index_not_ready, payload_too_large, http_error, internal_error")
    message: str
    errors: list[FieldError] = Field(default_factory=list, description="each invalid input, for invalid_input")


class ProjectRef(BaseModel):
    id: str
    title: str
    role: str


class StakeholderRef(BaseModel):
    id: str
    name: str
    kind: str
    role: str | None = None


class StakeholderPublic(BaseModel):
    """A stakeholder as anyone may see it: everything but the contact."""

    id: str
    name: str
    original_name: str | None
    aliases: list[str]
    kind: str
    countries: list[str]
    places: list[Place]
    description: str
    themes: list[ThemeRef]
    offers: list[Resource]
    needs: list[Resource]
    languages: list[str]
    website: str | None
    sources: list[Source]
    outside_seed: bool
    self_declared: bool = False
    projects: list[ProjectRef]
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None = Field(default=None, description="when it was last confirmed as current")
    stale: bool = Field(default=False, description="not confirmed for over a year: ranked lower, flagged")
    version: int = Field(description="raised by every change; send it back as If-Match to update only this version")


class ProjectPublic(BaseModel):
    id: str
    title: str
    aliases: list[str]
    description: str
    countries: list[str]
    places: list[Place]
    themes: list[ThemeRef]
    status: str | None
    start_year: int | None
    end_year: int | None
    budget: Money | None
    funding_sought: Money | None
    seeks: list[Resource]
    participants: list[StakeholderRef]
    sources: list[Source]
    outside_seed: bool
    created_at: datetime
    updated_at: datetime
    version: int = Field(description="raised by every change; send it back as If-Match to update only this version")


class Page(BaseModel):
    total: int
    offset: int
    limit: int


class StakeholderPage(Page):
    items: list[StakeholderPublic]


class ProjectPage(Page):
    items: list[ProjectPublic]


class EvidenceOut(BaseModel):
    sentence: str
    keywords: list[str]


class SharedThemeOut(BaseModel):
    theme: str
    label: str
    query_evidence: EvidenceOut | None
    candidate_evidence: EvidenceOut | None


class RecordOut(BaseModel):
    """A participation that shows what a candidate can do (its track record)."""

    project: str
    title: str
    role: str


class ClosenessOut(BaseModel):
    standing: float = Field(description="how many standard deviations the candidate's similarity to the query "
                            "is above the query's usual similarity to the profiles (2 or more: close in meaning)")
    closer_than: float = Field(description="the share of a reference sample of profiles less similar to the query")
    query_sentence: str = Field(default="", description="the query's sentence that says most nearly what one of "
                                "the candidate's says")
    candidate_sentence: str = Field(default="", description="that sentence of the candidate")
    similarity: float = Field(default=0.0, description="the two sentences' similarity (0: unrelated, 1: same)")


class DustLinkOut(BaseModel):
    source: list[str] = Field(description="source countries of dust and sandstorms, of one side")
    affected: list[str] = Field(description="countries affected by them, of the other side")


class ExplanationOut(BaseModel):
    shared_themes: list[SharedThemeOut]
    query_needs_met: list[str]
    candidate_needs_met: list[str]
    shared_countries: list[str]
    shared_places: list[str]
    shared_partners: list[StakeholderRef]
    worked_together: bool
    intent_resources: list[str]
    track_record: list[RecordOut] = Field(default_factory=list, description="participations showing the "
                                          "candidate can do what the search is for (co-funded or led projects)")
    close_in_meaning: ClosenessOut | None = Field(default=None, description="present when the candidate's text "
                                                  "stands out in meaning against the query, in any language")
    dust_and_sandstorms: DustLinkOut | None = Field(default=None, description="for a query about dust and "
                                                    "sandstorms: one side in a source area, the other downwind")
    words_in_common: list[str] = Field(default_factory=list, description="words (or pairs of words) both texts "
                                       "use, weightiest first, when together they weigh well above what the "
                                       "query usually shares with a profile (a reason of their own)")
    introductions: bool = Field(default=False, description="when the ranking weighs what past introductions "
                                "became: its introductions through the service (five partners or more) became "
                                "cooperation more often than usual (the counts stay private)")


class MatchOut(BaseModel):
    type: Literal["stakeholder", "project"]
    id: str
    name: str
    original_name: str | None = None  # in the organisation's own script
    kind: str
    countries: list[str]
    score: float
    fit: int = Field(default=0, description="the score as a 0-100 fit for people (monotone in the score)")
    band: Literal["strong", "good", "possible"] = Field(default="possible", description="fit 70 and more: strong; "
                                                                                       "40 and more: good")
    components: dict[str, float]
    parts: dict[str, float] = Field(default_factory=dict, description="each component's value in [0, 1] before "
                                                                       "its weight (components = weight × part)")
    explanation: ExplanationOut
    status: str | None = Field(default=None, description="projects: planned, ongoing, completed or unknown, "
                                                         "as of this year")
    start_year: int | None = None
    end_year: int | None = None
    lead: list[StakeholderRef] = Field(default_factory=list, description="projects: who leads it (role lead) or, "
                                                                        "where no one is said to, implements it")
    self_declared: bool = Field(default=False, description="stakeholders: its facts were sent by the organisation "
                                                            "itself, not checked against documents")


class MatchList(BaseModel):
    query: dict[str, Any]
    intent: str
    results: list[MatchOut]
    not_suggested: int = Field(default=0, description="organisations left out because the organisation "
                                                      "asked for said no thanks to them or declined their interest")


class MatchRequest(_WithCountries):
    """A free-text query or a draft project."""

    text: str = Field(min_length=3, max_length=20_000)
    title: str | None = Field(default=None, max_length=300)
    countries: list[str] = Field(default_factory=list)
    places: list[Place] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    needs: list[ResourceCode] | None = None  # None: read them from the text
    offers: list[ResourceCode] | None = Field(default=None, description="what the asker offers (resource kinds); "
                                              "left out: read from the text (\"we supply seedlings\")")
    participants: list[ExternalId] = Field(default_factory=list)
    intent: Intent = "any"
    k: int = Field(default=10, ge=1, le=200)
    kinds: list[KindCode] = Field(default_factory=list)
    include_projects: bool = True
    include_completed: bool = Field(default=False, description="also projects that are completed (by default "
                                                                "only those one can still join)")


class MatchResponse(BaseModel):
    query: dict[str, Any]
    intent: str
    stakeholders: list[MatchOut]
    projects: list[MatchOut]


class ThemeOut(BaseModel):
    id: str
    label: str
    definition: str
    keywords: list[str]
    labels: dict[str, str] = Field(default_factory=dict, description="the label in zh, ja, ko, ru and mn")
    keywords_by_language: dict[str, list[str]] = Field(
        default_factory=dict, description="keywords in zh, ja, ko, ru and mn; a trailing * stands for any ending")
    sdg: str
    neaspec_areas: list[str]
    stakeholders: int
    projects: int


class Health(BaseModel):
    status: Literal["ok", "starting", "behind", "error"]
    model_id: str
    stakeholders: int
    projects: int
    index: dict[str, Any]
    database_version: int | None = Field(default=None, description="the data version in the database")
    snapshot_version: int | None = Field(default=None, description="the data version this process searches")
    following: dict[str, Any] = Field(default_factory=dict, description="how this process follows the database")


class ImportReport(BaseModel):
    stakeholders_created: int
    stakeholders_updated: int
    projects_created: int
    projects_updated: int
    unchanged: int
    embedded: int



class FlaggedRow(BaseModel):
    """A submitted organisation that is probably one already stored: not imported, for review."""

    sheet: str
    row: int
    id: str
    name: str
    similar_to: StakeholderRef
    reason: Literal["name", "description"]
    similarity: float


class IntakeReport(BaseModel):
    rows: int
    dry_run: bool
    imported: ImportReport | None
    flagged: list[FlaggedRow]


class SubmissionOut(BaseModel):
    """A profile sent through the public intake, as the secretariat reviews it (contacts included)."""

    id: int
    status: Literal["pending", "approving", "rejecting", "approved", "rejected"]
    channel: Literal["form", "upload"]
    filename: str | None
    summary: str = Field(description="the organisations' and projects' names")
    rows: dict[str, list[dict[str, Any]]] = Field(description="the rows as sent, by sheet")
    submitted_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    reason: str | None = Field(description="why it was rejected")
    imported: list[str] = Field(description="the ids it was imported as, once approved")


class SubmissionReceipt(BaseModel):
    id: int
    status: Literal["pending"]
    message: str


class RejectIn(_Strict):
    reason: str = Field(min_length=1, max_length=1000, description="why, in a sentence the sender can act on")


class InterestIn(_Strict):
    to: ExternalId = Field(description="the organisation you would like to meet")
    message: str = Field(default="", max_length=1000, description="a short note the other side reads")
    broker: bool = Field(default=False, description="send it to the secretariat first, which forwards or "
                                                    "declines it")


OutcomeResult = Literal["no_answer", "declined", "met", "cooperation_started", "agreement_reached"]


class OutcomeIn(_Strict):
    """One side's answer about an accepted interest."""

    stage: Literal["first", "later"] = Field(default="first", description="first: the first answer; later: about "
                                                                          "six months after acceptance")
    result: OutcomeResult = Field(description="what came of it")
    note: str = Field(default="", max_length=1000, description="a few words for the secretariat")
    version: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                description="to change your organisation's answer: the version you read")


class OutcomeOut(BaseModel):
    interest: int
    org: StakeholderRef = Field(description="the side that answered")
    stage: Literal["first", "later"]
    result: OutcomeResult
    label: str
    note: str
    answered_by: str
    answered_at: datetime
    version: int


class NoThanksIn(_Strict):
    other: ExternalId = Field(description="the organisation not to suggest to yours again")


class NoThanksOut(BaseModel):
    org: str = Field(description="the organisation that said it")
    other: StakeholderRef
    said_by: str
    said_at: datetime


class StaleOut(BaseModel):
    id: str
    name: str
    kind: str
    confirmed_at: datetime | None = Field(description="when it was last confirmed as current (None: never)")


class CountryFactOut(BaseModel):
    kind: str | None = Field(default=None, description="voluntary_target, national_report or commitment")
    role: str | None = Field(default=None, description="for dust and sandstorms: source or affected")
    text: str
    source: Source


class NationalOut(BaseModel):
    """A member State's actors, projects, partnerships and stated commitments, each with its sources."""

    country: dict[str, str]
    dust_and_sandstorms: CountryFactOut | None
    ldn: list[CountryFactOut] = Field(description="land degradation neutrality (SDG target 15.3), as the "
                                                  "documents state it")
    actors: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    partnerships: list[dict[str, Any]] = Field(description="pairs of organisations in one of its projects together")
    outcomes: dict[str, int] | None = Field(description="what introductions became (the secretariat only)")


class FunnelOut(BaseModel):
    """Interests expressed -> accepted -> met -> cooperation -> agreement, overall and by group."""

    stages: list[str]
    overall: dict[str, int]
    by: dict[str, dict[str, dict[str, int]]] = Field(description="theme, country and kind -> value -> stage -> count")
    meetings: dict[str, int] = Field(default_factory=dict, description="forum meetings: scheduled, answered, met, "
                                                                   "cooperation, agreement (at the furthest either side said)")


class InterestOut(BaseModel):
    """An interest between two organisations; ``contacts`` only while it is accepted, and only for the
    two sides and the secretariat."""

    id: int
    from_org: StakeholderRef
    to_org: StakeholderRef
    message: str
    status: Literal["brokering", "open", "accepted", "declined", "withdrawn"]
    brokered: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    decided_by: str | None
    accepted_at: datetime | None = None
    contacts: dict[str, Contact] | None = None
    outcomes: list[OutcomeOut] = Field(default_factory=list, description="what each side said came of it")


class InvitationIn(_Strict):
    email: str = Field(min_length=3, max_length=320)
    role: Literal["member", "secretariat"] = "member"
    organisation: ExternalId | None = Field(default=None, description="a member's organisation")
    name: str = Field(default="", max_length=200)
    language: Literal["en", "zh", "ja", "ko", "mn", "ru"] | None = Field(
        default=None, description="the language of the person's mail (the invitation first); English when not given")


class InvitationOut(BaseModel):
    account: int
    email: str
    expires_at: datetime
    message: str


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="an account's email, a token's first characters and label, cli or public")
    role: str
    organisation: str | None
    action: str = Field(description="the method and the route, e.g. PUT /stakeholders/{external_id}")
    target: str = Field(description="the route's ids")
    status: int


class TrashOut(BaseModel):
    id: int
    entity_type: Literal["stakeholder", "project", "forum"]
    external_id: str
    name: str
    deleted_at: datetime
    deleted_by: str
    restored_at: datetime | None
    restored_by: str | None


class PoolEvidence(BaseModel):
    theme: str
    label: str
    sentence: str
    keywords: list[str]


class PoolMemberOut(BaseModel):
    type: Literal["stakeholder", "project"]
    id: str
    name: str
    kind: str
    countries: list[str]
    brings: list[str]  # its offers that meet another member's need
    needs: list[str]
    met: list[str]  # its needs another member offers
    evidence: list[PoolEvidence]


class PoolGroupOut(BaseModel):
    score: float
    components: dict[str, float]
    shared_themes: list[dict[str, str]]
    shared_countries: list[str]
    shared_places: list[str]
    uncovered: list[str]
    funding_sought: list[Money]
    members: list[PoolMemberOut]
    joining: str | None = None  # for "groups this stakeholder could join": who would join


class PoolingList(BaseModel):
    total: int
    groups: list[PoolGroupOut]


class StakeholderPooling(BaseModel):
    stakeholder: StakeholderRef
    member_of: list[PoolGroupOut]
    could_join: list[PoolGroupOut]


# ---- forums --------------------------------------------------------------------------------------


MAX_FORUM_PARTICIPANTS = 500
"""Every pair of participants is scored before a schedule is solved (about 50 µs a pair on a 2-core
machine): 500 participants are 125,000 pairs, seconds of work; far more would be minutes."""
MAX_FORUM_SLOTS = 96


def forum_zone(name: str | None) -> ZoneInfo | None:
    """The time zone of this IANA name (None for None); a ValueError in plain words otherwise.

    Example:
        >>> str(forum_zone("Asia/Ulaanbaatar")), forum_zone(None)
        ('Asia/Ulaanbaatar', None)
    """
    if name is None:
        return None
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}", name):
        raise ValueError(f"{name!r} is not a time zone name such as Asia/Ulaanbaatar or UTC")
    try:
        return ZoneInfo(name)
    except Exception:  # not found, a folder of zones, an unreadable file: all an unknown name to the user
        raise ValueError(f"unknown time zone {name!r}: give one such as Asia/Ulaanbaatar, Asia/Seoul or UTC") from None


class ForumSlot(_Strict):
    start: datetime
    end: datetime | None = None  # default: start + meeting length
    label: str | None = None

    @model_validator(mode="after")
    def _one_kind_of_time(self) -> "ForumSlot":
        # a time with a zone cannot be compared with one without (a TypeError, a 500 otherwise)
        if self.end is not None and (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError(N_("start and end must both give a time zone (such as +08:00 or Z), or neither"))
        return self


class ForumParticipantIn(_Strict):
    stakeholder: ExternalId
    # slot numbers from 1; None: every slot (an empty list would be a participant who can meet no one)
    available_slots: list[int] | None = Field(default=None, min_length=1, max_length=MAX_FORUM_SLOTS)
    languages: list[str] = Field(default_factory=list)  # default: the stakeholder's languages, else English
    max_meetings: int | None = Field(default=None, ge=0, le=50)
    must_meet: list[ExternalId] = Field(default_factory=list)
    no_thanks: list[ExternalId] = Field(default_factory=list)
    interpreter: bool = False
    # what the participant itself said (issue 16, item 5): others it would like to meet (their pair
    # scores higher), the meetings it asked for, and its answers to those others asked of it
    meet: list[ExternalId] = Field(default_factory=list)
    asked: list[ExternalId] = Field(default_factory=list)
    accepted: list[ExternalId] = Field(default_factory=list)
    declined: list[ExternalId] = Field(default_factory=list)


class ForumPreferencesIn(_Strict):
    """What a participant says of the forum it attends: when it can meet (slot numbers from 1; none:
    every slot) and, of the other participants, whom it must meet, would like to meet, or will not."""

    available_slots: list[int] | None = Field(default=None, min_length=1, max_length=MAX_FORUM_SLOTS)
    must_meet: list[ExternalId] = Field(default_factory=list, max_length=200)
    meet: list[ExternalId] = Field(default_factory=list, max_length=200)
    no_thanks: list[ExternalId] = Field(default_factory=list, max_length=200)


class MeetingRequestIn(_Strict):
    to: ExternalId
    message: str = Field(default="", max_length=1000)


class MeetingAnswerIn(_Strict):
    asker: ExternalId = Field(description="the participant whose request this answers")
    accept: bool


class MeetingOutcomeIn(_Strict):
    """What came of one forum meeting, as one side tells it (the answers of accepted interests)."""

    other: ExternalId = Field(description="the participant met")
    stage: Literal["first", "later"] = "first"
    result: Literal["no_answer", "declined", "met", "cooperation_started", "agreement_reached"]
    note: str = Field(default="", max_length=1000)
    version: int | None = Field(default=None, ge=1, description="the answer read, to change it (409 if changed meanwhile)")


class MeetingOutcomeOut(BaseModel):
    forum: str
    org: str
    other: str
    stage: str
    result: str
    note: str
    answered_by: str
    answered_at: datetime
    version: int


class ForumOther(BaseModel):
    """Another participant as one participant sees it: how well they fit, its mark and the requests
    between them."""

    id: str
    name: str
    kind: str
    score: float
    mark: Literal["must_meet", "meet", "no_thanks"] | None
    i_asked: bool
    they_asked: bool
    my_answer: Literal["accepted", "declined"] | None
    their_answer: Literal["accepted", "declined"] | None
    shared_themes: list[str]


class ForumParticipation(BaseModel):
    """One participant's view of a forum: its own settings, the others ranked by fit, and its
    meetings once scheduled."""

    forum: str
    forum_name: str
    participant: str
    name: str
    slots: list[str] = Field(description="each slot's date and times in the forum's time zone")
    available_slots: list[int] | None
    others: list[ForumOther]
    meetings: list["MeetingOut"]
    outcomes: list[MeetingOutcomeOut] = Field(default_factory=list, description="its answers about its meetings")
    version: int


class ForumIn(_Strict):
    id: ExternalId
    name: str = Field(min_length=1, max_length=300)
    place: str | None = None
    start_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    end_date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    meeting_minutes: int = Field(default=30, ge=5, le=240)
    tables: int = Field(default=10, ge=1, le=500)
    min_meetings: int = Field(default=1, ge=0, le=20)
    slots: list[ForumSlot] = Field(default_factory=list, max_length=MAX_FORUM_SLOTS)
    slot_count: int | None = Field(default=None, ge=1, le=48)  # with first_slot: consecutive slots
    first_slot: datetime | None = None
    break_minutes: int = Field(default=0, ge=0, le=240)
    time_zone: str | None = Field(default=None, max_length=64, description=(
        "where the forum meets, as an IANA time zone (Asia/Ulaanbaatar): slot times given without an "
        "offset are read in it, and pages show times in it; without one, such times are UTC"))
    participants: list[ForumParticipantIn] = Field(default_factory=list, max_length=MAX_FORUM_PARTICIPANTS)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        forum_zone(value)
        return value

    @model_validator(mode="after")
    def _slots(self) -> "ForumIn":
        from datetime import timedelta

        zone = forum_zone(self.time_zone)
        if zone is not None:  # a time without an offset is the forum's local time
            if self.first_slot is not None and self.first_slot.tzinfo is None:
                self.first_slot = self.first_slot.replace(tzinfo=zone)
            for slot in self.slots:
                if slot.start.tzinfo is None:
                    slot.start = slot.start.replace(tzinfo=zone)
                    slot.end = slot.end.replace(tzinfo=zone) if slot.end is not None else None
        try:  # slots late in the year 9999 would end after it
            if not self.slots and self.slot_count and self.first_slot:
                step = timedelta(minutes=self.meeting_minutes + self.break_minutes)
                self.slots = [ForumSlot(start=self.first_slot + n * step) for n in range(self.slot_count)]
            for slot in self.slots:
                if slot.end is None:
                    slot.end = slot.start + timedelta(minutes=self.meeting_minutes)
                elif slot.end <= slot.start:
                    raise ValueError(N_("a slot ends before it starts"))
                _storable(slot.end)
        except OverflowError:
            raise ValueError(N_("the slots end after the year 9999")) from None
        if not self.slots:
            raise ValueError(N_("give slots, or slot_count with first_slot"))
        # each error at its own field (participants.4.available_slots.0), not at the forum as a whole
        errors: list[InitErrorDetails] = []
        first: dict[str, int] = {}
        for n, p in enumerate(self.participants):
            if p.stakeholder in first:
                errors.append(_forum_error(("participants", n, "stakeholder"), p.stakeholder,
                                           f"participant {p.stakeholder!r} is listed twice (first as "
                                           f"participants.{first[p.stakeholder]})"))
            first.setdefault(p.stakeholder, n)
            for m, s in enumerate(p.available_slots or []):
                if not 1 <= s <= len(self.slots):
                    errors.append(_forum_error(("participants", n, "available_slots", m), s,
                                               f"there is no slot {s}: the forum's slots are numbered 1 to "
                                               f"{len(self.slots)}"))
        if errors:
            raise ValidationError.from_exception_data("ForumIn", errors)
        return self


def _forum_error(loc: tuple[str | int, ...], value: Any, message: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError("forum", "{message}", {"message": message}), loc=loc,
                            input=value)


class ForumParticipantOut(ForumParticipantIn):
    name: str
    kind: str


class ForumOut(BaseModel):
    id: str
    name: str
    place: str | None
    time_zone: str | None = None
    start_date: str | None
    end_date: str | None
    meeting_minutes: int
    tables: int
    min_meetings: int
    slots: list[ForumSlot]
    participants: list[ForumParticipantOut]
    locks: list[dict[str, Any]]
    removed: list[list[str]]
    has_schedule: bool
    version: int = Field(description="raised by every change; send it back as If-Match to update only this version")


class ScheduleRequest(_Strict):
    method: Literal["auto", "exact", "heuristic"] = "auto"
    time_limit: float = Field(default=20.0, gt=0, le=300)


class MeetingOut(BaseModel):
    n: int
    slot: int  # from 1
    start: datetime
    end: datetime
    table: int
    a: StakeholderRef
    b: StakeholderRef
    score: float
    locked: bool
    explanation: ExplanationOut


class ScheduleOut(BaseModel):
    forum: str
    method: str
    status: str
    total_score: float
    objective: float
    bound: float
    bound_kind: str
    gap: float
    seconds: float
    meetings: list[MeetingOut]
    per_participant: dict[str, int]
    unmet: list[dict[str, Any]]


class LockIn(_Strict):
    a: ExternalId
    b: ExternalId
    slot: int = Field(ge=1)
    table: int | None = Field(default=None, ge=1)


class PairIn(_Strict):
    a: ExternalId
    b: ExternalId


class RoundTablesIn(_Strict):
    size: int = Field(ge=2, le=100)


class RoundTableOut(BaseModel):
    n: int
    theme: dict[str, str] | None
    members: list[StakeholderRef]


class RoundTablesOut(BaseModel):
    forum: str
    size: int
    tables: list[RoundTableOut]


ERROR_DESCRIPTIONS: dict[int, str] = {
    404: "no such record",
    409: "the id is taken, or another request changed the same records meanwhile (or decided them: a pair's "
         "live interest, a submission)",
    412: "If-Match names a version that is no longer the stored one",
    401: "no valid token or session: sign in, or send 'Authorization: Bearer <token>'",
    403: "the route's rule (README, \"Roles\") does not let this token or account do it",
    413: "the request body is over the size limit",
    422: "invalid input: each field and why",
    429: "too many requests of this kind lately (the review queue is full for now)",
    503: "the index is not ready yet; try again in a moment",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses a route can give (always 401 and 403: every route has an access rule), each
    with the one error body (README, "Errors"), for the OpenAPI schema."""
    return {status: {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]}
            for status in sorted({401, 403, *statuses})}
ForumParticipation.model_rebuild()
