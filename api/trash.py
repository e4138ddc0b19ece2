"""The trash: deleted stakeholders, projects and forums, restorable by the secretariat (issue 15, item 6).

The copy is made by :meth:`api.writing.Writer.delete` in the deletion's own transaction, so nothing
is deleted without its copy. Restoring creates the record again (409 if its id was taken meanwhile)
and, for a stakeholder, adds it back to those of its projects that still exist.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select, update

from api.core import utcnow
from api.errors import Conflict, NotFound, PreconditionFailed, conflicts
from api.schemas import Participant, ProjectIn, StakeholderIn
from store.models import Forum
from store.models import Trash as TrashRow


class Trash:
    def __init__(self, engine: Any, writer: Any, writing: Any, catalogue: Any) -> None:
        self.engine, self.writer, self.writing, self.catalogue = engine, writer, writing, catalogue

    def list(self, *, restored: bool = False, limit: int = 200) -> list[TrashRow]:
        with Session(self.engine) as session:
            query = select(TrashRow).order_by(col(TrashRow.id).desc()).limit(limit)
            query = query.where(col(TrashRow.restored_at).is_not(None) if restored else col(TrashRow.restored_at).is_(None))
            return list(session.exec(query).all())

    def restore(self, trash_id: int, *, actor: str) -> TrashRow:
        with Session(self.engine) as session:
            row = session.get(TrashRow, trash_id)
        if row is None:
            raise NotFound(f"nothing in the trash with id {trash_id}")
        if row.restored_at is not None:
            raise Conflict(f"{row.external_id!r} was restored already")
        record = row.record["record"]
        if row.entity_type == "forum":
            self._restore_forum(row.external_id, record)
        elif row.entity_type == "stakeholder":
            self.writing.create(StakeholderIn.model_validate(record))  # 409 when the id was taken meanwhile
            for project_id, role in row.record.get("participations", []):
                self._rejoin(project_id, row.external_id, role)
        else:
            existing = {s.id for s in self.catalogue.list_stakeholders(limit=10_000).items}
            project = ProjectIn.model_validate(record)
            self.writing.create(project.model_copy(update={
                "participants": [p for p in project.participants if p.stakeholder in existing]}))
        with Session(self.writer) as session:  # once: of two restores, the second found the id taken (409)
            session.exec(update(TrashRow).where(col(TrashRow.id) == trash_id).values(  # type: ignore[call-overload]
                restored_at=utcnow(), restored_by=actor))
            session.commit()
            restored = session.get(TrashRow, trash_id)
        assert restored is not None
        return restored

    def _restore_forum(self, forum_id: str, record: dict[str, Any]) -> None:
        with Session(self.writer) as session, conflicts(f"a forum with id {forum_id!r} exists again"):
            if session.exec(select(Forum.id).where(Forum.external_id == forum_id)).first() is not None:
                raise Conflict(f"a forum with id {forum_id!r} exists again; delete or rename it first")
            session.add(Forum.model_validate(record))
            session.commit()

    def _rejoin(self, project_id: str, stakeholder_id: str, role: str, tries: int = 3) -> None:
        """Add the restored organisation back to a project, on the version read (an edit made meanwhile is
        read again, not overwritten)."""
        for _ in range(tries):
            try:
                project = self.catalogue.project_record(project_id)
                version = self.catalogue.get_project(project_id).version
            except NotFound:
                return  # the project is gone too
            if any(p.stakeholder == stakeholder_id and p.role == role for p in project.participants):
                return
            try:
                self.writing.replace(project.model_copy(update={
                    "participants": [*project.participants, Participant(stakeholder=stakeholder_id, role=role)]}),
                    if_match=version)
                return
            except (Conflict, PreconditionFailed):
                continue  # changed meanwhile: read it again
        raise Conflict(f"{project_id!r} kept changing; add {stakeholder_id!r} to it again by hand")
