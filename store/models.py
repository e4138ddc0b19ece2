"""Database tables. The API's request and response models live in ``api.schemas``: the table is not
the contract.

List-valued fields (countries, places, themes, offers, needs, sources, ...) are JSON columns: they
are read and written with their row and never queried on their own in SQL, which keeps the schema
the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Integer, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


def _version_column() -> Column:  # type: ignore[type-arg]
    """A row version, raised by every UPDATE: SQLAlchemy checks it in the UPDATE's WHERE clause
    (``version_id_col``), so a write based on a row another transaction changed meanwhile fails
    (StaleDataError, answered 409) instead of overwriting that change."""
    return Column("version", Integer, nullable=False, server_default="1")


_STAKEHOLDER_VERSION = _version_column()
_PROJECT_VERSION = _version_column()
_FORUM_VERSION = _version_column()


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
    text_hash: str = ""
    created_at: datetime
    updated_at: datetime
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
