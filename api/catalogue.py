"""The catalogue as people read it: stakeholders and projects (never a contact), lists with filters,
past partners, and the administrator's export in the import format."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterator, Sequence

from sqlmodel import Session, select

from api.core import Part, iso
from api.freshness import is_stale
from api.errors import Conflict
from api.schemas import (ProjectIn, ProjectPage, ProjectPublic, ProjectRef, StakeholderIn, StakeholderPage,
                         StakeholderPublic, StakeholderRef)
from store import repo
from store.models import Project, Stakeholder


class Catalogue(Part):
    def public(self, session: Session, stakeholders: Sequence[StakeholderIn], projects: Sequence[ProjectIn]
               ) -> list[StakeholderPublic | ProjectPublic]:
        """These records as stored, read in the given session (a write's own, before it commits)."""
        s_rows = repo.stakeholders_by_external_id(session, external_ids=[r.id for r in stakeholders])
        p_rows = repo.projects_by_external_id(session, external_ids=[r.id for r in projects])
        gone = [r.id for r in stakeholders if r.id not in s_rows] + [r.id for r in projects if r.id not in p_rows]
        if gone:  # the write's rows are locked, so only a database without row locks gets here
            raise Conflict(f"{gone[0]!r} was deleted by another request meanwhile; read it again and retry")
        out: list[StakeholderPublic | ProjectPublic] = []
        out += self._stakeholders_public(session, [s_rows[r.id] for r in stakeholders])
        out += self._projects_public(session, [p_rows[r.id] for r in projects])
        return out

    def get_stakeholder(self, external_id: str) -> StakeholderPublic:
        row = self.core.row("stakeholder", external_id)
        with Session(self.engine) as session:
            return self._stakeholders_public(session, [row])[0]

    def get_project(self, external_id: str) -> ProjectPublic:
        row = self.core.row("project", external_id)
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
            StakeholderPublic(id=r.external_id, projects=refs[r.id], stale=is_stale(r.confirmed_at),  # type: ignore[index]
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
                          kind: str | None = None, theme: str | None = None, q: str | None = None,
                          place: str | None = None) -> StakeholderPage:
        with Session(self.engine) as session:
            rows = session.exec(select(Stakeholder).order_by(Stakeholder.external_id)).all()
            kept = [r for r in rows if _admits(r.countries, r.themes, r.kind, f"{r.name} {r.description}",
                                               country=country, kind=kind, theme=theme, q=q)
                    and _names_place(r.places, place)]
            items = self._stakeholders_public(session, kept[offset:offset + limit])
        return StakeholderPage(total=len(kept), offset=offset, limit=limit, items=items)

    def list_projects(self, *, offset: int = 0, limit: int = 50, country: str | None = None,
                      theme: str | None = None, status: str | None = None, q: str | None = None,
                      place: str | None = None) -> ProjectPage:
        with Session(self.engine) as session:
            rows = session.exec(select(Project).order_by(Project.external_id)).all()
            kept = [r for r in rows if _admits(r.countries, r.themes, None, f"{r.title} {r.description}",
                                               country=country, kind=None, theme=theme, q=q)
                    and (status is None or r.status == status) and _names_place(r.places, place)]
            items = self._projects_public(session, kept[offset:offset + limit])
        return ProjectPage(total=len(kept), offset=offset, limit=limit, items=items)

    def export_records(self) -> Iterator[dict[str, Any]]:
        """Every stakeholder then every project, in the import format, ordered by id.

        Contacts are included: an export is an administrator's copy of the database.
        """
        with Session(self.engine) as session:
            for r in session.exec(select(Stakeholder).order_by(Stakeholder.external_id)).all():
                record = stakeholder_in(r)
                yield {**record.model_dump(mode="json", exclude={"created_at", "updated_at", "confirmed_at"},
                                           exclude_none=True),
                       "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
                       **({"confirmed_at": iso(r.confirmed_at)} if r.confirmed_at else {})}
            rows = session.exec(select(Project).order_by(Project.external_id)).all()
            links = repo.participations(session, project_ids=[r.id for r in rows])
            people = repo.stakeholders_by_id(session, ids={link.stakeholder_id for link in links})
            by_project: dict[int, list[dict[str, str]]] = defaultdict(list)
            for link in links:
                by_project[link.project_id].append({"stakeholder": people[link.stakeholder_id].external_id,
                                                    "role": link.role})
            for r in rows:
                record = project_in(r, by_project[r.id])  # type: ignore[index]
                yield {**record.model_dump(mode="json", exclude={"created_at", "updated_at"}, exclude_none=True),
                       "created_at": iso(r.created_at), "updated_at": iso(r.updated_at)}

    def stakeholder_record(self, external_id: str) -> tuple[StakeholderIn, int]:
        """A stored stakeholder in the import format, contact included, and its version: what an edit
        form starts from and replaces (For its owner and the secretariat only: it holds the contact.)"""
        row = self.core.row("stakeholder", external_id)
        return stakeholder_in(row), row.version

    def project_record(self, external_id: str) -> ProjectIn:
        """A stored project in the import format, with its participants."""
        row = self.core.row("project", external_id)
        with Session(self.engine) as session:
            links = repo.participations(session, project_ids=[row.id])
            people = repo.stakeholders_by_id(session, ids={link.stakeholder_id for link in links})
        return project_in(row, [{"stakeholder": people[link.stakeholder_id].external_id, "role": link.role}
                                for link in sorted(links, key=lambda link: link.position)])

    def past_partners(self, external_id: str) -> list[StakeholderRef]:
        """Stakeholders this one shares a project with, by name."""
        row = self.core.row("stakeholder", external_id)
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


def _admits(countries: list[str], themes: list[dict[str, Any]], row_kind: str | None, text: str, *,
            country: str | None, kind: str | None, theme: str | None, q: str | None) -> bool:
    if country and country.upper() not in countries:
        return False
    if kind and row_kind != kind:
        return False
    if theme and theme not in {t["id"] for t in themes}:
        return False
    return not q or q.lower() in text.lower()


def _names_place(places: list[dict[str, Any]], place: str | None) -> bool:
    """Whether a profile names the place (any case), when a place is asked for."""
    return not place or any(p.get("name", "").strip().lower() == place.strip().lower() for p in places)


def stakeholder_in(r: Stakeholder) -> StakeholderIn:
    data = r.model_dump(exclude={"id", "external_id", "text_hash", "created_at", "updated_at", "version",
                                 "confirmed_at"})
    return StakeholderIn.model_validate({"type": "stakeholder", "id": r.external_id, **data})


def project_in(r: Project, participants: list[dict[str, str]]) -> ProjectIn:
    data = r.model_dump(exclude={"id", "external_id", "text_hash", "created_at", "updated_at", "version"})
    return ProjectIn.model_validate({"type": "project", "id": r.external_id, "participants": participants, **data})
