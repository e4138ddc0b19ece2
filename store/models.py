"""Database tables. The API's request and response models live in ``api.schemas``: the table is not
the contract.

List-valued fields (countries, places, themes, offers, needs, sources, ...) are JSON columns: they
are read and written with their row and never queried on their own in SQL, which keeps the schema
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, LargeBinary, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def _version_column() -> Column:  # type: ignore[type-arg]
    """A row version, raised by every UPDATE: SQLAlchemy checks it in the UPDATE's WHERE clause
    (``version_id_col``), so a write based on a row another transaction changed meanwhile fails
    (StaleDataError, answered 409) instead of overwriting that change."""
    return Column("version", Integer, nullable=False, server_default="1")


_STAKEHOLDER_VERSION = _version_column()
_PROJECT_VERSION = _version_column()
_FORUM_VERSION = _version_column()
_SUBMISSION_VERSION = _version_column()
_INTEREST_VERSION = _version_column()


class Stakeholder(SQLModel, table=True):
    __mapper_args__ = {"version_id_col": _STAKEHOLDER_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True)
    name: str
    original_name: str | None = None  # in the organisation's own script, when it differs
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    kind: str = Field(index=True)
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    places: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = ""
    themes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    offers: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    needs: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    website: str | None = None
    contact: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outside_seed: bool = False
    # sent by the organisation itself (the public intake, or a member's edit) and not checked against
    # documents: shown as such wherever the profile is
    self_declared: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    text_hash: str = ""
    created_at: datetime
    updated_at: datetime
    # when someone who may write it last saved or confirmed it as current (api.freshness); None: never
    confirmed_at: datetime | None = None
    version: int = Field(default=1, sa_column=_STAKEHOLDER_VERSION)


class Project(SQLModel, table=True):
    __mapper_args__ = {"version_id_col": _PROJECT_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True)
    title: str
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str = ""
    countries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    places: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    themes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str | None = None
    start_year: int | None = None
    end_year: int | None = None
    budget: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    funding_sought: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    seeks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sources: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outside_seed: bool = False
    text_hash: str = ""
    created_at: datetime
    updated_at: datetime
    version: int = Field(default=1, sa_column=_PROJECT_VERSION)


class Participation(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "stakeholder_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True, ondelete="CASCADE")
    stakeholder_id: int = Field(foreign_key="stakeholder.id", index=True, ondelete="CASCADE")
    role: str
    position: int = 0  # order within the project, so export gives participants back as imported


class Embedding(SQLModel, table=True):
    """A stored vector: one per entity and model, with the hash of the text it was made from."""

    __table_args__ = (UniqueConstraint("entity_type", "entity_id", "model_id"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(index=True)  # "stakeholder" or "project"
    entity_id: int = Field(index=True)
    model_id: str = Field(index=True)
    text_hash: str
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Forum(SQLModel, table=True):
    """A matchmaking session: its slots, tables and participants, the secretariat's locks and removals,
    and the last schedule. Kept as JSON on one row so that each change is one atomic write; its
    version makes concurrent read-change-write cycles fail (and be retried) instead of losing one."""

    __mapper_args__ = {"version_id_col": _FORUM_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(index=True, unique=True)
    name: str
    place: str | None = None
    time_zone: str | None = None  # IANA name; slot times are stored with their offset
    start_date: str | None = None
    end_date: str | None = None
    meeting_minutes: int = 30
    tables: int = 10
    min_meetings: int = 1
    slots: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    participants: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    locks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    removed: list[list[str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    schedule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime
    updated_at: datetime
    version: int = Field(default=1, sa_column=_FORUM_VERSION)


class DataVersion(SQLModel, table=True):
    """One row: the version of the searchable data (stakeholders, projects, their links and vectors).
    Every write that changes them raises it in its own transaction, as its last statement; the row
    lock that takes serialises those commits, so versions commit in order and a process that has
    applied every change up to version v can read exactly the changes after v."""

    __tablename__ = "data_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0


class Change(SQLModel, table=True):
    """What a data version changed: one row per stakeholder or project written or deleted (or one
    ``reload`` row for a write too large to list), read by every process to catch up."""

    __tablename__ = "change"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(index=True)
    entity_type: str  # "stakeholder", "project", or "all" for a reload
    entity_id: int
    op: str  # "upsert", "delete" or "reload"


class Account(SQLModel, table=True):
    """A person who signs in to the web page: the secretariat, or a member of one organisation
    (``organisation`` is the stakeholder's external id). No password until one is set through the CLI
    (``dldmatch account create``); it is stored as an argon2 hash."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True)  # lower-cased
    name: str = ""
    role: str  # "secretariat" or "member"
    organisation: str | None = Field(default=None, index=True)
    password_hash: str | None = None
    created_at: datetime
    disabled_at: datetime | None = None
    language: str | None = None  # the language its mail is written in (api.i18n.LANGUAGES); None: English


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts, scoped to a role (and, for a member, to its organisation). Only its
    SHA-256 is stored: the token itself is printed once, when it is made."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    prefix: str  # its first characters, to tell tokens apart in lists
    role: str
    organisation: str | None = None
    label: str = ""
    created_at: datetime
    revoked_at: datetime | None = None


class LoginSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random key whose SHA-256 is stored here, with the CSRF
    token its forms must carry. Kept in the database so every worker and replica knows it."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(index=True, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    csrf: str
    created_at: datetime
    expires_at: datetime


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, counted to slow down password guessing (per email and per client address)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True)
    client: str = Field(index=True)
    at: datetime = Field(index=True)


class Submission(SQLModel, table=True):
    """A profile sent through the public intake (the form or a questionnaire upload), waiting for the
    secretariat's review: neither listed nor matched until approved, when its rows are imported as
    self-declared. Kept after review with who decided, when and why."""

    __mapper_args__ = {"version_id_col": _SUBMISSION_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="pending", index=True)  # pending, approved or rejected
    channel: str  # "form" or "upload"
    filename: str | None = None
    sheets: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the rows
    summary: str = ""  # the organisations' names, for the queue
    client: str = Field(default="", index=True)  # the sender's address, to bound the queue per sender
    submitted_at: datetime
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    reason: str | None = None  # why it was rejected
    imported: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # ids made
    version: int = Field(default=1, sa_column=_SUBMISSION_VERSION)


class Invitation(SQLModel, table=True):
    """A one-time link for an account to set its password: only the token's SHA-256 is kept; it works
    once, before ``expires_at``."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(index=True, unique=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """Every mail the service sends: sent through SMTP when ``DLDMATCH_SMTP_URL`` is set, otherwise
    kept here for the secretariat's outbox page (development)."""

    id: int | None = Field(default=None, primary_key=True)
    to: str = Field(index=True)
    subject: str
    body: str
    created_at: datetime = Field(index=True)
    sent_at: datetime | None = None
    error: str | None = None


class Interest(SQLModel, table=True):
    """One organisation's interest in meeting another (consent before contact). Contacts are shown to
    both only while it is ``accepted``. ``live_pair`` holds the unordered pair while the interest is
    live (brokering, open or accepted) and is unique, so a pair has at most one live interest however
    many requests race; decided interests release it (NULLs never collide)."""

    __mapper_args__ = {"version_id_col": _INTEREST_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    from_org: str = Field(index=True)
    to_org: str = Field(index=True)
    message: str = ""
    status: str = Field(index=True)  # brokering, open, accepted, declined, withdrawn
    brokered: bool = False
    live_pair: str | None = Field(default=None, unique=True, index=True)
    created_by: str = ""
    created_at: datetime
    updated_at: datetime
    decided_by: str | None = None
    forwarded_at: datetime | None = None  # a brokered interest reaches the other side only once forwarded
    accepted_at: datetime | None = None  # when the other side accepted it: outcomes are asked from then on
    version: int = Field(default=1, sa_column=_INTEREST_VERSION)


class Audit(SQLModel, table=True):
    """One write: who (account or token, role, organisation), what (method, route, its ids, the
    answer's status) and when. Written for every request that changed something, and by the CLI's
    writing commands."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(index=True)  # an account's email, a token's label, "cli", or "public"
    role: str  # public, member or secretariat
    organisation: str | None = None
    action: str  # e.g. "PUT /stakeholders/{external_id}"
    target: str = Field(default="", index=True)  # the route's ids, e.g. "external_id=elion"
    status: int


class Trash(SQLModel, table=True):
    """A deleted stakeholder or project, in the import format with its contact and participations,
    copied in the same transaction as the deletion, so the secretariat can restore it."""

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str
    external_id: str = Field(index=True)
    record: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    deleted_at: datetime
    deleted_by: str = ""
    restored_at: datetime | None = None
    restored_by: str | None = None


_OUTCOME_VERSION = _version_column()


class Outcome(SQLModel, table=True):
    """One side's answer to one question about an accepted interest: what came of it (see
    ``api.outcomes``). One per interest, side and question; changed under its row version."""

    __mapper_args__ = {"version_id_col": _OUTCOME_VERSION}
    __table_args__ = (UniqueConstraint("interest_id", "org", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    interest_id: int = Field(foreign_key="interest.id", index=True, ondelete="CASCADE")
    org: str = Field(index=True)  # the side that answers
    stage: str  # first, later
    result: str  # no_answer, declined, met, cooperation_started, agreement_reached
    note: str = ""
    answered_by: str = ""
    answered_at: datetime
    version: int = Field(default=1, sa_column=_OUTCOME_VERSION)


class OutcomeQuestion(SQLModel, table=True):
    """A question about an interest asked of one side through the outbox: unique, so it is asked once
    however many reminder runs race."""

    __table_args__ = (UniqueConstraint("interest_id", "org", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    interest_id: int = Field(foreign_key="interest.id", index=True, ondelete="CASCADE")
    org: str
    stage: str
    asked_at: datetime


class NoThanks(SQLModel, table=True):
    """An organisation does not want another suggested as its partner again."""

    __table_args__ = (UniqueConstraint("org", "other"),)

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(index=True)
    other: str
    said_by: str = ""
    said_at: datetime


_MEETING_OUTCOME_VERSION = _version_column()


class MeetingOutcome(SQLModel, table=True):
    """One side's answer about one forum meeting (the pair ``a`` < ``b`` of a forum's schedule): what
    came of it, first and about six months later (see ``api.meeting_outcomes``). Kept when the forum
    is deleted: what happened happened."""

    __mapper_args__ = {"version_id_col": _MEETING_OUTCOME_VERSION}
    __table_args__ = (UniqueConstraint("forum", "a", "b", "org", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    forum: str = Field(index=True)
    a: str
    b: str
    org: str  # the side that answers
    stage: str  # first, later
    result: str  # one of api.outcomes.RESULTS
    note: str = ""
    answered_by: str = ""
    answered_at: datetime
    version: int = Field(default=1, sa_column=_MEETING_OUTCOME_VERSION)


class Reminder(SQLModel, table=True):
    """A reminder sent through the outbox, once per subject (a stale profile as of its confirmation),
    however many reminder runs race."""

    __table_args__ = (UniqueConstraint("kind", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    subject: str
    sent_at: datetime
