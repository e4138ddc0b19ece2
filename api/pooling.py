"""Resource-pooling opportunities over the stored profiles and vectors, as the API shows them (the
grouping itself is the pure ``matcher.pooling``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlmodel import Session, select

from api.core import Part, entity_key
from api.errors import InvalidInput
from api.i18n import N_
from api.profiles import project_profiles, stakeholder_profiles
from api.schemas import (Money, PoolEvidence, PoolGroupOut, PoolingList, PoolMemberOut, StakeholderPooling,
                         StakeholderRef)
from matcher.rank import Profile
from store import repo
from store.models import Project, Stakeholder


class Pooling(Part):
    def _everything(self) -> tuple[list[Profile], np.ndarray, dict[str, tuple[float, str]]]:
        """Every stakeholder and project as a profile, with its stored vector and funding sought."""
        with Session(self.engine) as session:
            stakeholders = list(session.exec(select(Stakeholder).order_by(Stakeholder.id)).all())
            projects = list(session.exec(select(Project).order_by(Project.id)).all())
            s_profiles = stakeholder_profiles(session, stakeholders)
            p_profiles = project_profiles(session, projects)
            s_ids, s_matrix = repo.vectors(session, entity_type="stakeholder", model_id=self.embedder.model_id)
            p_ids, p_matrix = repo.vectors(session, entity_type="project", model_id=self.embedder.model_id)
        profiles: list[Profile] = []
        rows: list[np.ndarray] = []
        for ids, matrix, by_id in ((s_ids, s_matrix, s_profiles), (p_ids, p_matrix, p_profiles)):
            for n, entity_id in enumerate(ids):
                if int(entity_id) in by_id:
                    profiles.append(by_id[int(entity_id)])
                    rows.append(matrix[n])
        funding = {entity_key("project", p.external_id): (p.funding_sought["amount"], p.funding_sought["currency"])
                   for p in projects if p.funding_sought}
        vectors = np.stack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
        return profiles, vectors, funding

    def _pool_data(self) -> dict[str, Any]:
        from matcher.pooling import find_groups

        def build() -> dict[str, Any]:
            profiles, vectors, funding = self._everything()
            groups = find_groups(profiles, vectors, self.vocabulary, funding=funding)
            return {"groups": groups, "profiles": {p.key: p for p in profiles}, "funding": funding}

        return self.core.cached("pooling", build)  # type: ignore[no-any-return]

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
        self.core.index("stakeholder")
        if theme and theme not in self.vocabulary:
            raise InvalidInput(N_("unknown theme"), errors=[{"field": "theme", "message": f"unknown theme {theme!r}"}])
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

        row = self.core.row("stakeholder", external_id)
        self.core.index("stakeholder")
        data = self._pool_data()
        profiles = data["profiles"]
        key = entity_key("stakeholder", external_id)
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
