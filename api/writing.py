"""Writes of stakeholders and projects: validated records in one transaction with their links,
themes, vectors and the change log, decided by the database under concurrent use (409 for a taken
id or a lost race, 404 for a replace of nothing, 412 for a stale ``If-Match``)."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Iterable, Literal, Sequence

import numpy as np
from sqlmodel import Session, col, update

from api.core import EMBED_BATCH, ENTITY_TYPES, Core, Part, Progress, no_progress, utc, utcnow
from api.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, conflicts
from api.indexing import record_changes
from api.profiles import texts as entity_texts
from api.schemas import ImportReport, ProjectIn, ProjectPublic, StakeholderIn, StakeholderPublic
from embeddings.base import Embedder
from embeddings.texts import project_text, stakeholder_text, text_hash
from store import repo
from store.models import Account, ApiToken, Project, Stakeholder, Trash

if TYPE_CHECKING:
    from api.catalogue import Catalogue

WriteMode = Literal["create", "replace", "upsert"]
_STALE_CHUNK = 10_000  # ids per database query when re-embedding everything (SQL has a parameter limit)


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


def _offset(progress: Progress, start: int, total: int) -> Progress:
    """Progress of one chunk reported as progress of the whole."""
    return lambda stage, done, _: progress(stage, start + done, total)



class Writer(Part):
    def __init__(self, core: Core, catalogue: "Catalogue") -> None:
        super().__init__(core)
        self.catalogue = catalogue

    def embed_stale(self, session: Session, progress: Progress) -> int:
        """Embed every entity whose stored vector is missing or was made from other text."""
        embedded = 0
        for entity_type in ENTITY_TYPES:
            current = repo.text_hashes(session, entity_type=entity_type)
            stored = repo.embedding_hashes(session, entity_type=entity_type, model_id=self.embedder.model_id)
            stale = sorted(i for i, h in current.items() if stored.get(i) != h)
            for start in range(0, len(stale), _STALE_CHUNK):  # a new model re-embeds millions: in chunks
                chunk = stale[start:start + _STALE_CHUNK]
                texts = entity_texts(session, entity_type, chunk)
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

    def check(self, record: StakeholderIn | ProjectIn) -> None:
        errors = self.themes.check(record)
        if isinstance(record, ProjectIn):
            errors += self.check_participants([record], [])
        if errors:
            raise InvalidInput("invalid " + record.type, errors=errors)

    def check_participants(self, projects: list[ProjectIn], stakeholders: list[StakeholderIn],
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

    def create(self, record: StakeholderIn | ProjectIn) -> StakeholderPublic | ProjectPublic:
        """Create a record; a stored id is a conflict (409), decided inside the write's transaction and,
        for two creates at once, by the database's unique constraint."""
        self.check(record)
        return self._put(record, mode="create")

    def replace(self, record: StakeholderIn | ProjectIn, *, if_match: int | None = None
                ) -> StakeholderPublic | ProjectPublic:
        """Replace a stored record (404 when there is none: a replace never brings a deleted record
        back); with ``if_match``, only the version the client read (412 otherwise)."""
        self.check(record)
        return self._put(record, mode="replace", if_match=if_match)

    def _put(self, record: StakeholderIn | ProjectIn, *, mode: WriteMode,
             if_match: int | None = None) -> StakeholderPublic | ProjectPublic:
        written: list[StakeholderPublic | ProjectPublic] = []
        if isinstance(record, StakeholderIn):
            self.write([record], [], mode=mode, if_match=if_match, written=written)
        else:
            self.write([], [record], mode=mode, if_match=if_match, written=written)
        return written[0]

    def delete(self, entity_type: str, external_id: str, *, if_match: int | None = None, actor: str = "") -> None:
        """Delete a record with its links and vector, in one transaction; with ``if_match``, only the
        version the client read. A concurrent change of the same record makes one of the two a 409.
        The same transaction copies the record, its contact and participations, to the trash."""
        with self.core.lock, conflicts(), Session(self.core.writer) as session:
            finder = repo.stakeholders_by_external_id if entity_type == "stakeholder" else repo.projects_by_external_id
            row = finder(session, external_ids=[external_id], lock=True).get(external_id)
            _expect("replace", if_match, entity_type, [external_id], {external_id: row} if row else {})
            links = repo.participations(session, **{f"{entity_type}_ids": [row.id]})  # type: ignore[arg-type]
            session.add(Trash(entity_type=entity_type, external_id=external_id, deleted_at=utcnow(), deleted_by=actor,
                              record=trashed(session, entity_type, row, links)))
            if entity_type == "stakeholder":  # its members lose their rights with it (restored: invite again)
                session.exec(update(Account).where(col(Account.organisation) == external_id,  # type: ignore[call-overload]
                                                   col(Account.disabled_at).is_(None)).values(disabled_at=utcnow()))
                session.exec(update(ApiToken).where(col(ApiToken.organisation) == external_id,  # type: ignore[call-overload]
                                                    col(ApiToken.revoked_at).is_(None)).values(revoked_at=utcnow()))
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
            self._rehash_and_embed(session, touched, no_progress)
            record_changes(session, {**touched, "stakeholder": touched["stakeholder"] | co_members},
                           {entity_type: [row.id]})  # type: ignore[list-item]
            session.commit()
        self.core.published()

    @staticmethod
    def _stakeholder_values(rec: StakeholderIn, themes: list[dict[str, Any]]) -> dict[str, Any]:
        data = rec.model_dump(mode="json", exclude={"type", "id", "themes", "created_at", "updated_at",
                                                    "confirmed_at"})
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

    def write(self, stakeholders: Sequence[StakeholderIn], projects: Sequence[ProjectIn],
               progress: Progress = no_progress, *, mode: WriteMode = "upsert",
               if_match: int | None = None, written: list[Any] | None = None) -> ImportReport:
        """Write validated records in one transaction; embed what changed; log the change.

        Either everything is written (rows, participants, vectors and the change log) or nothing is.
        ``mode`` says what the records may find: ``create`` refuses a stored id (409), ``replace`` a
        missing one (404) or, with ``if_match``, one of another version (412); ``upsert`` takes both.
        ``written``, when given, receives the records as stored by this transaction (their public form).
        """
        ahead = _Speculation(self.embedder, self._likely_texts(stakeholders, projects))
        exists = (f"a {(stakeholders or projects)[0].type} with id {(stakeholders or projects)[0].id!r} exists; "
                  f"use PUT to change it") if mode == "create" else None
        try:
            with conflicts(exists):
                report = self._write_all(stakeholders, projects, progress, ahead, mode=mode, if_match=if_match,
                                         written=written)
        finally:
            ahead.close()
            self.themes.keyword_themes.clear()
        self.core.published()
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
                   progress: Progress, ahead: _Speculation, *, mode: WriteMode, if_match: int | None,
                   written: list[Any] | None = None) -> ImportReport:
        counts = defaultdict(int)
        now = utcnow()
        total = len(stakeholders) + len(projects)

        with self.core.lock, Session(self.core.writer) as session:
            touched: dict[str, set[int]] = {"stakeholder": set(), "project": set()}
            existing_s = repo.stakeholders_by_external_id(session, external_ids=[r.id for r in stakeholders],
                                                          lock=True)  # an unchanged row is still read back
            _expect(mode, if_match, "stakeholder", [r.id for r in stakeholders], existing_s)
            self.themes.prefetch_for(stakeholders, existing_s, lambda r: (r.name, r.description), progress)
            changed_s: list[Stakeholder] = []
            for done, rec in enumerate(stakeholders, start=1):
                manual = [t.id for t in rec.themes if t.source == "manual"]
                row = existing_s.get(rec.id)
                values = self._stakeholder_values(rec, self.themes.unless_same(
                    row, f"{rec.name}. {rec.description}", (rec.name, rec.description), manual))
                if row is not None and all(getattr(row, k) == v for k, v in values.items()):
                    counts["unchanged"] += 1
                else:
                    if row is None:
                        row = Stakeholder(**values, created_at=utc(rec.created_at) or now,
                                          updated_at=utc(rec.updated_at) or now)
                        counts["stakeholders_created"] += 1
                    else:
                        for k, v in values.items():
                            setattr(row, k, v)
                        row.updated_at = utc(rec.updated_at) or now
                        counts["stakeholders_updated"] += 1
                    # whoever may write it saved it: current (an imported date kept, never a future one)
                    row.confirmed_at = min(utc(rec.confirmed_at) or now, now)
                    session.add(row)
                    changed_s.append(row)
                if done % 500 == 0 or done == total:
                    progress("import", done, total)
            session.flush()  # once for all: ids for the new rows
            touched["stakeholder"] |= {row.id for row in changed_s}  # type: ignore[misc]

            participant_rows = repo.stakeholders_by_external_id(
                session, external_ids=[p.stakeholder for r in projects for p in r.participants])
            existing_p = repo.projects_by_external_id(session, external_ids=[r.id for r in projects], lock=True)
            _expect(mode, if_match, "project", [r.id for r in projects], existing_p)
            self.themes.prefetch_for(projects, existing_p, lambda r: (r.title, r.description), progress)
            old_links: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for link in repo.participations(session, project_ids=[p.id for p in existing_p.values()]):
                old_links[link.project_id].append((link.stakeholder_id, link.role))
            changed_p: list[tuple[Project, list[tuple[int, str]], list[tuple[int, str]], bool]] = []
            for done, rec in enumerate(projects, start=len(stakeholders) + 1):
                if done % 500 == 0 or done == total:
                    progress("import", done, total)
                manual = [t.id for t in rec.themes if t.source == "manual"]
                row = existing_p.get(rec.id)
                values = self._project_values(rec, self.themes.unless_same(
                    row, f"{rec.title}. {rec.description}", (rec.title, rec.description), manual))
                links = [(participant_rows[p.stakeholder].id, p.role) for p in rec.participants]
                text_changed = row is None or (row.title, row.description) != (values["title"], values["description"])
                old = old_links.get(row.id, []) if row is not None and row.id is not None else []
                if row is not None and old == links and all(getattr(row, k) == v for k, v in values.items()):
                    counts["unchanged"] += 1
                    continue
                if row is None:
                    row = Project(**values, created_at=utc(rec.created_at) or now,
                                  updated_at=utc(rec.updated_at) or now)
                    counts["projects_created"] += 1
                else:
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at = utc(rec.updated_at) or now
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
            if written is not None:  # as written: once committed, another request may change or delete it
                written.extend(self.catalogue.public(session, stakeholders, projects))
            session.commit()
        return ImportReport(**{f: counts[f] for f in ImportReport.model_fields})

    def _rehash_and_embed(self, session: Session, touched: dict[str, set[int]], progress: Progress,
                          ahead: _Speculation | None = None) -> int:
        embedded = 0
        for entity_type in ENTITY_TYPES:
            ids = sorted(touched[entity_type])
            if not ids:
                continue
            texts = entity_texts(session, entity_type, ids)
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


def trashed(session: Session, entity_type: str, row: Any, links: list[Any]) -> dict[str, Any]:
    """A record as the trash keeps it: the import format, contact included, with its participations
    (a stakeholder's as ``[project id, role]`` pairs, to be added back to the projects on restore)."""
    from api.catalogue import project_in, stakeholder_in

    if entity_type == "stakeholder":
        projects = repo.projects_by_id(session, ids={link.project_id for link in links})
        return {"record": stakeholder_in(row).model_dump(mode="json", exclude_none=True),
                "participations": [[projects[link.project_id].external_id, link.role] for link in links]}
    people = repo.stakeholders_by_id(session, ids={link.stakeholder_id for link in links})
    participants = [{"stakeholder": people[link.stakeholder_id].external_id, "role": link.role}
                    for link in sorted(links, key=lambda link: link.position)]
    return {"record": project_in(row, participants).model_dump(mode="json", exclude_none=True), "participations": []}
