"""What a search needs in memory, as immutable snapshots that follow the database.

The database is the one source of truth. A :class:`Snapshot` holds the FAISS indexes, the corpus
columns with their lexical postings, and the views derived from them, all as of one data version
(``data_version`` in the database, raised by every write in its own transaction). A request takes
one snapshot and reads only it; nothing in a published snapshot is ever changed. A write commits
first; then the :class:`Indexer` reads the change log since its snapshot's version and publishes a
new snapshot: vectors are applied to a copy of the index (the old one stays untouched for the
requests still reading it), and the corpus is rebuilt from the database, off the request path.

Every process (several workers, several replicas, the CLI next to a server) runs its own Indexer
over the shared database: a background thread reads the one-row data version every
``follow_interval`` seconds (one indexed read) and catches up when it moved, so a write through any
of them is searchable on all of them within about a second (plus the corpus rebuild at large sizes).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from sqlalchemy import insert, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.corpus import REFERENCE_SIZE, Corpus, ProfileRows
from api.corpus_changes import updated
from matcher.meaning import reference_rows
from api.errors import IndexNotReady
from api.i18n import N_
from api.settings import Settings
from embeddings.base import Embedder
from embeddings.index import Manifest, VectorIndex, content_version, now_iso
from store import repo
from store.models import Change, DataVersion, Participation, Project, Stakeholder

log = logging.getLogger("uvicorn.error")

Progress = Callable[[str, int, int], None]
ENTITY_TYPES = ("stakeholder", "project")
RELOAD_ABOVE = 10_000  # a write touching more entities than this logs one "reload" instead of each
CHANNEL = "dldmatch_changes"  # PostgreSQL's LISTEN/NOTIFY channel of new data versions


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class Snapshot:
    """The search state as of one data version. Never changed once published."""

    version: int
    indexes: Mapping[str, VectorIndex]
    corpus: Corpus
    built_at: float
    states: Mapping[str, str]  # per index: "loaded", "built" or "updated"
    _views: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def view(self, name: str, build: Callable[[], Any]) -> Any:
        """A view derived from this version (overview, pooling groups, place names), built on first
        use. Two requests may both build it; both get a correct answer, and one is kept."""
        with self._lock:
            if name in self._views:
                return self._views[name]
        built = build()
        with self._lock:
            return self._views.setdefault(name, built)


# ---- the change log ------------------------------------------------------------------------------

def data_version(session: Session) -> int:
    return int(session.exec(select(DataVersion.version).where(DataVersion.id == 1)).one())


def _seconds(when: Any) -> float:
    """A stored time as seconds since 1970 (0 for none; a time without a zone is UTC, as stored)."""
    if when is None:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def record_changes(session: Session, upserted: Mapping[str, Iterable[int]],
                   deleted: Mapping[str, Iterable[int]] = {}) -> int:  # noqa: B006
    """Raise the data version and log what this transaction changed; call it last, just before the
    commit: the row lock it takes is held until then, so the versions of concurrent writers commit in
    order (a follower that has read version v has seen every change up to v)."""
    rows = [{"entity_type": t, "entity_id": int(i), "op": "upsert"} for t, ids in upserted.items() for i in ids]
    rows += [{"entity_type": t, "entity_id": int(i), "op": "delete"} for t, ids in deleted.items() for i in ids]
    version = int(session.execute(update(DataVersion).where(col(DataVersion.id) == 1)
                                  .values(version=DataVersion.version + 1)
                                  .returning(DataVersion.version)).scalar_one())
    if len(rows) > RELOAD_ABOVE:
        rows = [{"entity_type": "all", "entity_id": 0, "op": "reload"}]
    if rows:
        session.execute(insert(Change), [{**r, "version": version} for r in rows])
    if session.get_bind().dialect.name == "postgresql":  # delivered to the listeners when this commits
        session.execute(text("SELECT pg_notify(:channel, :version)"), {"channel": CHANNEL, "version": str(version)})
    return version


def changes_since(session: Session, version: int, upto: int) -> list[tuple[str, int, str]]:
    return [(t, int(i), op) for t, i, op in session.exec(
        select(Change.entity_type, Change.entity_id, Change.op)
        .where(Change.version > version, Change.version <= upto).order_by(Change.id)).all()]


# ---- building snapshots --------------------------------------------------------------------------

def _lexicon_rows(session: Session, ids: Sequence[int] | None = None) -> Iterator[tuple[int, str]]:
    """(id, text) of the stakeholders' lexical texts (name, description, their projects), by id; all of
    them, streamed, when ``ids`` is None."""
    links = (select(Participation.stakeholder_id, Project.title, Project.description)
             .join(Project, Project.id == Participation.project_id)  # type: ignore[arg-type]
             .order_by(Participation.project_id, Participation.position))
    rows = select(Stakeholder.id, Stakeholder.name, Stakeholder.description).order_by(Stakeholder.id)
    if ids is not None:
        links = links.where(col(Participation.stakeholder_id).in_(list(ids)))
        rows = rows.where(col(Stakeholder.id).in_(list(ids)))
    theirs: dict[int, list[str]] = defaultdict(list)
    for sid, title, description in session.execute(links):
        theirs[sid].append(f"{title}. {description}")
    for sid, name, description in session.execute(rows.execution_options(yield_per=20_000)):
        yield sid, " ".join([name, description, *theirs.get(sid, [])])


class _Texts:
    """The lexical texts of the stakeholders with these ids, in id order, read from the database as the
    TF-IDF fit iterates, so that a million texts are never all in memory."""

    def __init__(self, engine: Engine, ids: np.ndarray) -> None:
        self.engine, self.ids = engine, ids

    def __iter__(self) -> Iterator[str]:
        wanted = set(self.ids.tolist())
        with Session(self.engine) as session:
            yield from (text for sid, text in _lexicon_rows(session) if sid in wanted)


class Indexer:
    """Builds, follows and publishes snapshots for one process."""

    def __init__(self, settings: Settings, embedder: Embedder, engine: Engine) -> None:
        self.settings, self.embedder, self.engine = settings, embedder, engine
        self._snapshot: Snapshot | None = None
        self._publish = threading.Lock()  # one builder at a time; readers never take it
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.last_checked: float = 0.0
        self._saved_at: dict[str, float] = {}

    # ---- reading ---------------------------------------------------------------------------------

    def current(self) -> Snapshot:
        snap = self._snapshot
        if snap is None:
            raise IndexNotReady(N_("the index is being built; try again in a moment"))
        return snap

    @property
    def ready(self) -> bool:
        return self._snapshot is not None

    # ---- building --------------------------------------------------------------------------------

    def build(self, progress: Progress = _no_progress) -> Snapshot:
        """A snapshot from the database: saved indexes loaded when current, else built; the corpus."""
        with self._publish:
            with Session(self.engine) as session:
                version = data_version(session)  # read first: anything committed later is replayed
            states, indexes = {}, {}
            for entity_type in ENTITY_TYPES:
                indexes[entity_type], states[entity_type] = self._load_or_build(entity_type, progress)
            snap = Snapshot(version=version, indexes=indexes, corpus=self._build_corpus(progress),
                            built_at=time.time(), states=states)
            self._snapshot = snap
            return snap

    def drop_saved(self) -> None:
        for entity_type in ENTITY_TYPES:
            for f in self.settings.index_dir.glob(f"{entity_type}s.*"):
                f.unlink()

    def _manifest(self, session: Session, entity_type: str, index: VectorIndex) -> Manifest:
        entries = repo.text_hashes(session, entity_type=entity_type)
        return Manifest(name=f"{entity_type}s", model_id=self.embedder.model_id, dim=index.dim, count=len(index),
                        content_version=content_version(entries.items()), index_type=index.index_type,
                        built_at=now_iso())

    def _load_or_build(self, entity_type: str, progress: Progress) -> tuple[VectorIndex, str]:
        with Session(self.engine) as session:
            entries = repo.text_hashes(session, entity_type=entity_type)
            version = content_version(entries.items())
            loaded = VectorIndex.load(self.settings.index_dir, f"{entity_type}s")
            if loaded is not None:
                index, manifest = loaded
                if (manifest.model_id == self.embedder.model_id and manifest.count == len(entries)
                        and manifest.content_version == version):
                    return index, "loaded"
            progress(f"index {entity_type}s", 0, len(entries))
            ids, matrix = repo.vectors(session, entity_type=entity_type, model_id=self.embedder.model_id)
            dim = matrix.shape[1] if len(ids) else self.embedder.dim
            index = VectorIndex.for_size(dim, matrix, exact_limit=self.settings.exact_index_limit)
            index.upsert(ids, matrix)
            index.save(self.settings.index_dir, self._manifest(session, entity_type, index))
            progress(f"index {entity_type}s", len(ids), len(entries))
            return index, "built"

    def _build_corpus(self, progress: Progress = _no_progress) -> Corpus:
        """The corpus columns from the database (one pass, no ORM objects), and the TF-IDF postings:
        loaded when saved for the same content, fitted (and saved) otherwise."""
        model = self.embedder.model_id
        with Session(self.engine) as session:
            with_vector = repo.vector_ids(session, entity_type="stakeholder", model_id=model)
            p_ids, p_matrix = repo.vectors(session, entity_type="project", model_id=model)
            links = repo.links(session)
            columns = (Stakeholder.id, Stakeholder.external_id, Stakeholder.kind, Stakeholder.countries,
                       Stakeholder.places, Stakeholder.themes, Stakeholder.offers, Stakeholder.needs,
                       Stakeholder.confirmed_at)
            rows = []
            total = len(with_vector)
            for r in session.execute(select(*columns).order_by(Stakeholder.id).execution_options(yield_per=20_000)):
                if r[0] not in with_vector:
                    continue
                rows.append(ProfileRows(r[0], r[1], r[2], r[3], [p["name"] for p in r[4]], [t["id"] for t in r[5]],
                                        [o["kind"] for o in r[6]], [n["kind"] for n in r[7]], _seconds(r[8])))
                if len(rows) % 100_000 == 0:
                    progress("corpus", len(rows), total)
            progress("corpus", len(rows), total)
            corpus = Corpus.build(rows, links, {int(i): n for n, i in enumerate(p_ids)},
                                  p_matrix if len(p_ids) else np.zeros((0, self.embedder.dim), dtype=np.float32))
            del rows
            corpus.floor = getattr(self.embedder, "similarity_floor", 0.0)
            version = content_version(repo.text_hashes(session, entity_type="stakeholder").items())
            directory = self.settings.index_dir
            if not corpus.load_lexicon(directory, version):
                progress("lexical index", 0, len(corpus))
                corpus.fit_lexicon(_Texts(self.engine, corpus.ids))
                corpus.save_lexicon(directory, version)
                progress("lexical index", len(corpus), len(corpus))
            sample = reference_rows(len(corpus), REFERENCE_SIZE)
            stored = repo.embeddings(session, entity_type="stakeholder", model_id=model,
                                     entity_ids=[int(corpus.ids[r]) for r in sample])
            sample = np.array([r for r in sample if int(corpus.ids[r]) in stored], dtype=np.int64)
            vectors = [np.frombuffer(stored[int(corpus.ids[r])].vector, dtype=np.float32) for r in sample]
            corpus.fit_meaning(sample, np.vstack(vectors) if vectors else
                               np.zeros((0, self.embedder.dim), dtype=np.float32))
        return corpus

    # ---- following the database --------------------------------------------------------------------

    def catch_up(self) -> Snapshot:
        """Publish a snapshot of the database's current data version, from the changes since the
        current snapshot's (a no-op when nothing changed). The version, the changes, the vectors and
        the saved index's manifest are read in one repeatable-read transaction, so they agree."""
        with self._publish:
            snap = self.current()
            engine = self.engine if self.engine.dialect.name == "sqlite" else \
                self.engine.execution_options(isolation_level="REPEATABLE READ")  # SQLite reads are snapshots
            with Session(engine) as session:
                latest = data_version(session)
                self.last_checked = time.time()
                if latest == snap.version:
                    return snap
                changes = changes_since(session, snap.version, latest)
                corpus: Corpus | None = None
                if any(op == "reload" for _, _, op in changes):
                    log.info("data version %s -> %s: a large write, rebuilding", snap.version, latest)
                    indexes = {t: self._load_or_build(t, _no_progress)[0] for t in ENTITY_TYPES}
                    states = {t: "built" for t in ENTITY_TYPES}
                else:
                    touched: dict[str, set[int]] = defaultdict(set)
                    for entity_type, entity_id, _ in changes:
                        touched[entity_type].add(entity_id)
                    indexes = {t: self._updated(session, snap.indexes[t], t, sorted(touched[t]))
                               if touched[t] else snap.indexes[t] for t in ENTITY_TYPES}
                    states = {t: "updated" if touched[t] else snap.states[t] for t in ENTITY_TYPES}
                    for t in ENTITY_TYPES:
                        if touched[t]:
                            self._save(session, t, indexes[t])
                    corpus = self._corpus_updated(session, snap.corpus, touched["stakeholder"], touched["project"])
            if corpus is None:  # a large write, a reused id, or many changes since the last full build
                corpus = self._build_corpus()
            new = Snapshot(version=latest, indexes=indexes, corpus=corpus, built_at=time.time(), states=states)
            self._snapshot = new
            return new

    def _corpus_updated(self, session: Session, corpus: Corpus, stakeholders: set[int],
                        projects: set[int]) -> Corpus | None:
        """The corpus with these stakeholders' and projects' rows read again (never the whole
        collection); None when a full build is due: below ``corpus_incremental_above`` profiles (where
        it costs milliseconds and refits the TF-IDF weights), or when over ``corpus_rebuild_share`` of
        the rows changed since the last one, so that dead rows and the TF-IDF delta stay small."""
        if corpus.tfidf is None or len(corpus) < self.settings.corpus_incremental_above or \
                corpus.changed_rows + len(stakeholders) > max(1_000, self.settings.corpus_rebuild_share * len(corpus)):
            return None  # small (a full build takes milliseconds and refits TF-IDF) or much changed
        model = self.embedder.model_id
        ids = sorted(stakeholders)
        with_vector = set(repo.embedding_hashes(session, entity_type="stakeholder", model_id=model, entity_ids=ids))
        columns = (Stakeholder.id, Stakeholder.external_id, Stakeholder.kind, Stakeholder.countries,
                   Stakeholder.places, Stakeholder.themes, Stakeholder.offers, Stakeholder.needs,
                   Stakeholder.confirmed_at)
        rows = [ProfileRows(r[0], r[1], r[2], r[3], [p["name"] for p in r[4]], [t["id"] for t in r[5]],
                            [o["kind"] for o in r[6]], [n["kind"] for n in r[7]], _seconds(r[8]))
                for r in session.execute(select(*columns).where(col(Stakeholder.id).in_(ids))) if r[0] in with_vector]
        written = [r.id for r in rows]
        own: dict[int, set[int]] = defaultdict(set)
        for sid, pid in session.execute(select(Participation.stakeholder_id, Participation.project_id)
                                        .where(col(Participation.stakeholder_id).in_(written))):
            own[sid].add(pid)
        members: dict[int, set[int]] = defaultdict(set)
        for sid, pid in session.execute(select(Participation.stakeholder_id, Participation.project_id)
                                        .where(col(Participation.project_id).in_({p for ps in own.values() for p in ps}))):
            members[pid].add(sid)
        partners = {s: {m for p in own[s] for m in members[p]} - {s} for s in written}
        stored = repo.embeddings(session, entity_type="project", model_id=model, entity_ids=sorted(projects))
        vectors = {p: (np.frombuffer(stored[p].vector, dtype=np.float32) if p in stored else None) for p in projects}
        texts = dict(_lexicon_rows(session, written)) if corpus.tfidf is not None else {}
        return updated(corpus, rows, set(ids) - set(written), partners=partners, projects=own,
                       project_vectors=vectors, texts=texts)

    def _save(self, session: Session, entity_type: str, index: VectorIndex) -> None:
        """Save an index that was brought up to date, so the next start loads it: at once while it is
        small (milliseconds); a large one at most every ``index_save_seconds`` (a restart in between
        rebuilds it from the stored vectors, which are always current)."""
        now = time.monotonic()
        if len(index) >= self.settings.exact_index_limit and \
                now - self._saved_at.get(entity_type, 0.0) < self.settings.index_save_seconds:
            return
        index.save(self.settings.index_dir, self._manifest(session, entity_type, index))
        self._saved_at[entity_type] = now

    def _updated(self, session: Session, index: VectorIndex, entity_type: str, ids: Sequence[int]) -> VectorIndex:
        """The index with these entities' stored vectors (removed where there is none: the entity was
        deleted), as a new index beside the published one, which is never changed: requests may be
        reading it."""
        stored = repo.embeddings(session, entity_type=entity_type, model_id=self.embedder.model_id,
                                 entity_ids=ids)
        present = sorted(stored)
        matrix = (np.stack([np.frombuffer(stored[i].vector, dtype=np.float32) for i in present]) if present
                  else np.zeros((0, index.dim), dtype=np.float32))
        return index.with_changes(present, matrix, removed=[i for i in ids if i not in stored])

    def nudge(self, wait: float = 0.0) -> None:
        """Catch up now (after a write of this process): on the follower thread when it runs, waiting
        up to ``wait`` seconds for it; else here."""
        if self._thread is None or not self._thread.is_alive():
            if self._snapshot is not None:
                self.catch_up()
            return
        target = self._db_version()
        self._wake.set()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            snap = self._snapshot
            if snap is not None and snap.version >= target:
                return
            time.sleep(0.005)

    def _db_version(self) -> int:
        with Session(self.engine) as session:
            return data_version(session)

    def follow(self, interval: float) -> None:
        """Start the follower thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(interval,), name="dldmatch-follow", daemon=True)
        self._thread.start()
        if self.engine.dialect.name == "postgresql":
            self._listener = threading.Thread(target=self._listen, args=(interval,), name="dldmatch-listen",
                                              daemon=True)
            self._listener.start()

    def _listen(self, interval: float) -> None:
        """On PostgreSQL, wake the follower as soon as another process commits a new data version
        (LISTEN/NOTIFY), instead of at its next check; the checks go on, so a lost connection only
        costs the interval."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=interval, stop_after=1):
                            self._wake.set()
            except Exception as exc:  # noqa: BLE001  (the follower's checks cover for it; retry)
                log.warning("listening for database changes failed: %s", exc)
                self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.catch_up()
                self.last_error = None
            except Exception as exc:  # the database may be away for a moment: report it, retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("could not catch up with the database: %s", self.last_error)

    def state(self) -> dict[str, Any]:
        """For /health: the database's data version, the snapshot's, and how far behind it is."""
        snap = self._snapshot
        try:
            db = self._db_version()
        except Exception as exc:  # noqa: BLE001  (health must answer even when the database does not)
            return {"database_version": None, "snapshot_version": snap.version if snap else None,
                    "error": f"{type(exc).__name__}: {exc}"}
        out: dict[str, Any] = {"process": os.getpid(), "database_version": db,
                               "snapshot_version": snap.version if snap else None,
                               "behind": (db - snap.version) if snap else None,
                               "following": self._thread is not None and self._thread.is_alive()}
        if snap is not None:
            out["snapshot_age_seconds"] = round(time.time() - snap.built_at, 3)
        if self.last_error:
            out["error"] = self.last_error
        return out
