"""What every capability of the application shares: settings, the embedder, the database engines, the
theme vocabulary, the learned ranking and this process's snapshots of the search state.

The capabilities (``catalogue``, ``writing``, ``importing``, ``search``, ``pooling``, ``overview``,
``forums``) are each a small object over one :class:`Core`; :class:`api.service.DLDMatch` composes
them and is what the API, the web page and the CLI drive.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.errors import NotFound
from api.indexing import Indexer, Snapshot
from api.settings import Settings
from api.themes import EMBED_BATCH, Progress, ThemeAssigner, no_progress  # noqa: F401  (shared names)
from embeddings.base import Embedder
from embeddings.index import VectorIndex
from matcher.rank import Ranking
from matcher.themes import Theme
from store import repo
from store.models import Project, Stakeholder

ENTITY_TYPES = ("stakeholder", "project")


@dataclass
class Core:
    settings: Settings
    embedder: Embedder
    engine: Engine  # reads: deferred transactions that never wait for writers
    writer: Engine  # writes: on SQLite they take the write lock before reading
    vocabulary: dict[str, Theme]
    ranking: Ranking
    indexing: Indexer
    themes: ThemeAssigner
    lock: threading.RLock = field(default_factory=threading.RLock)  # start-up, re-index and writes of a process

    def snapshot(self) -> Snapshot:
        """The search state a request reads (one per request: never mixed with a later one)."""
        return self.indexing.current()

    def index(self, entity_type: str) -> VectorIndex:
        return self.snapshot().indexes[entity_type]

    def cached(self, name: str, build: Callable[[], Any], snap: Snapshot | None = None) -> Any:
        """A view derived from the current snapshot's version, built once per version."""
        return (snap or self.snapshot()).view(name, build)

    def published(self) -> None:
        """After a commit: have this process's search follow the write (at once, when quick)."""
        self.indexing.nudge(wait=self.settings.write_visibility_wait)

    def row(self, entity_type: str, external_id: str) -> Any:
        """The stored stakeholder or project with this id (404 when there is none)."""
        if "\x00" in external_id:  # no stored id has one, and PostgreSQL refuses the query
            raise NotFound(f"no {entity_type} with id {external_id!r}")
        with Session(self.engine) as session:
            finder = repo.stakeholders_by_external_id if entity_type == "stakeholder" else repo.projects_by_external_id
            found = finder(session, external_ids=[external_id])
        if external_id not in found:
            raise NotFound(f"no {entity_type} with id {external_id!r}")
        return found[external_id]


class Part:
    """A capability over the core: the attributes every one of them reads, by their short names."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.settings, self.embedder, self.engine = core.settings, core.embedder, core.engine
        self.vocabulary, self.ranking, self.themes = core.vocabulary, core.ranking, core.themes


def entity_key(entity_type: str, external_id: str) -> str:
    return f"{entity_type[0]}:{external_id}"


def stored_evidence(themes: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(theme, sentence) pairs of the themes that were assigned by meaning."""
    return tuple((t["id"], t["evidence"]) for t in themes if t.get("evidence"))


def external_ids(session: Session, table: type[Stakeholder] | type[Project], ids: Iterable[int]) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(session.exec(select(table.id, table.external_id).where(col(table.id).in_(wanted))).all())


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def utc(value: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC to the second; a time without a zone is taken as UTC."""
    if value is None:
        return None
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.replace(microsecond=0)


def iso(value: datetime) -> str:
    return utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")  # type: ignore[union-attr]


class Memo:
    """The last result of a read over whole tables, kept while their fingerprint (:func:`store.repo.table_mark`,
    read before the result) is unchanged: a view asked again and again reads the tables once per
    change, not once per request. Each caller gets its own copy."""

    def __init__(self) -> None:
        self._entry: tuple[Any, Any] | None = None

    def get(self, mark: Any, compute: Callable[[], Any]) -> Any:
        entry = self._entry
        if entry is None or entry[0] != mark:
            entry = (mark, compute())
            self._entry = entry
        return copy.deepcopy(entry[1])
