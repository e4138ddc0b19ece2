"""Profiles as the matcher reads them, built from database rows in batches, and ranked matches
rendered as the API's results (what the search, pooling and forums share)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, replace
from typing import Iterable, Sequence

from sqlmodel import Session, col, select

from api.freshness import is_stale
from api.core import entity_key, external_ids, stored_evidence, utcnow
from api.schemas import (ClosenessOut, DustLinkOut, EvidenceOut, ExplanationOut, MatchOut, RecordOut, SharedThemeOut,
                         StakeholderRef)
from embeddings.texts import project_text, stakeholder_text
from matcher.rank import Match, Place, Profile, Ranking, Record, project_state
from matcher.text import sentences
from matcher.themes import Theme
from store import repo
from store.models import Participation, Project, Stakeholder

EXPLAINED_PROJECTS = 25  # the newest projects whose sentences can explain a result


def stakeholder_profiles(session: Session, rows: Sequence[Stakeholder]) -> dict[int, Profile]:
    ids = [r.id for r in rows]
    own = repo.participations(session, stakeholder_ids=ids)
    project_ids = {link.project_id for link in own}
    links = repo.participations(session, project_ids=project_ids)
    projects = repo.projects_by_id(session, ids=project_ids)
    partners = repo.partners_of(links)
    names = external_ids(session, Stakeholder, {p for ps in partners.values() for p in ps})
    texts: dict[int, list[str]] = defaultdict(list)
    record: dict[int, list[Record]] = defaultdict(list)
    for link in own:
        p = projects[link.project_id]
        texts[link.stakeholder_id].extend(sentences(p.description))
        record[link.stakeholder_id].append(Record(entity_key("project", p.external_id), p.title, link.role,
                                                  tuple(p.countries)))
    return {
        r.id: Profile(  # type: ignore[misc]
            key=entity_key("stakeholder", r.external_id), name=r.name, kind=r.kind,
            countries=tuple(r.countries), places=tuple(Place(p["name"], p.get("lat"), p.get("lon")) for p in r.places),
            themes=tuple(t["id"] for t in r.themes), offers=tuple(o["kind"] for o in r.offers),
            needs=tuple(n["kind"] for n in r.needs),
            partners=frozenset(entity_key("stakeholder", names[p]) for p in partners.get(r.id, ())),  # type: ignore[arg-type]
            sentences=tuple(dict.fromkeys(sentences(r.description) + texts[r.id])),  # type: ignore[index]
            evidence=stored_evidence(r.themes), record=tuple(record[r.id]),  # type: ignore[index]
            stale=is_stale(r.confirmed_at),
        )
        for r in rows
    }


def track_records(session: Session, ids: Sequence[int]) -> dict[int, tuple[Record, ...]]:
    """Each stakeholder's participations (project, title, role, countries), in one query."""
    out: dict[int, list[Record]] = defaultdict(list)
    if ids:
        for sid, external, title, role, countries in session.execute(
                select(Participation.stakeholder_id, Project.external_id, Project.title, Participation.role,
                       Project.countries)
                .join(Project, Project.id == Participation.project_id)  # type: ignore[arg-type]
                .where(col(Participation.stakeholder_id).in_(list(ids)))):
            out[sid].append(Record(entity_key("project", external), title, role, tuple(countries or ())))
    return {i: tuple(sorted(r, key=lambda x: x.title)) for i, r in out.items()}


def project_profiles(session: Session, rows: Sequence[Project]) -> dict[int, Profile]:
    year = utcnow().year
    links = repo.participations(session, project_ids=[r.id for r in rows])
    names = external_ids(session, Stakeholder, {link.stakeholder_id for link in links})
    members: dict[int, set[str]] = defaultdict(set)
    for link in links:
        members[link.project_id].add(entity_key("stakeholder", names[link.stakeholder_id]))
    return {
        r.id: Profile(  # type: ignore[misc]
            key=entity_key("project", r.external_id), name=r.title, kind="project", countries=tuple(r.countries),
            places=tuple(Place(p["name"], p.get("lat"), p.get("lon")) for p in r.places),
            themes=tuple(t["id"] for t in r.themes), needs=tuple(s["kind"] for s in r.seeks),
            partners=frozenset(members[r.id]),  # type: ignore[index]
            sentences=tuple(sentences(r.description)),
            evidence=stored_evidence(r.themes), state=project_state(r.status, r.start_year, r.end_year, year),
        )
        for r in rows
    }


def explained(session: Session, ids: Sequence[int], light: dict[str, Profile]) -> dict[str, Profile]:
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
        if pid not in seen[sid] and len(seen[sid]) < EXPLAINED_PROJECTS:
            seen[sid].add(pid)
            texts[sid].extend(sentences(description))
    out = {}
    for i, r in rows.items():
        key = entity_key("stakeholder", r.external_id)
        if key in light:
            out[key] = replace(
                light[key], name=r.name,
                places=tuple(Place(p["name"], p.get("lat"), p.get("lon")) for p in r.places),
                sentences=tuple(dict.fromkeys(sentences(r.description) + texts[i])),
                evidence=stored_evidence(r.themes))
    return out


def render(session: Session, vocabulary: dict[str, Theme], matches: list[Match], by_key: dict[str, Profile],
            entity_type: str, ranking: Ranking | None = None, intent: str = "any") -> list[MatchOut]:
    partner_keys = {p for m in matches for p in m.explanation.shared_partners}
    shown = partner_keys | ({m.key for m in matches} if entity_type == "stakeholder" else set())
    partners = repo.stakeholders_by_external_id(session, external_ids=[k[2:] for k in shown])
    facts = _project_facts(session, [m.key[2:] for m in matches]) if entity_type == "project" else {}
    out = []
    for m in matches:
        c = by_key[m.key]
        e = m.explanation
        fit, band = (ranking or Ranking()).fit(m.score, intent)
        out.append(MatchOut(
            **facts.get(m.key[2:], {}), fit=fit, band=band,  # type: ignore[arg-type]
            type=entity_type, id=m.key[2:], name=c.name, kind=c.kind, countries=list(c.countries),  # type: ignore[arg-type]
            original_name=partners[m.key[2:]].original_name if m.key in shown and m.key[2:] in partners else None,
            self_declared=bool(partners[m.key[2:]].self_declared) if m.key in shown and m.key[2:] in partners else False,
            score=m.score, components=m.components, parts={k: round(v, 4) for k, v in m.values.items()},
            explanation=ExplanationOut(
                shared_themes=[SharedThemeOut(
                    theme=t.theme, label=vocabulary[t.theme].label if t.theme in vocabulary else t.theme,
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
                worked_together=e.worked_together, intent_resources=list(e.intent_resources),
                track_record=[RecordOut(project=r.project[2:], title=r.title, role=r.role) for r in e.track_record],
                close_in_meaning=ClosenessOut(**asdict(e.closeness)) if e.closeness else None,
                dust_and_sandstorms=DustLinkOut(source=list(e.dust.source), affected=list(e.dust.affected))
                if e.dust else None,
                words_in_common=list(e.words.words) if e.words else []),
        ))
    return out


def _project_facts(session: Session, external: Sequence[str]) -> dict[str, dict[str, object]]:
    """Status as of this year, years and lead of these projects, for their result cards."""
    rows = repo.projects_by_external_id(session, external_ids=external)
    links = repo.participations(session, project_ids=[r.id for r in rows.values()])
    people = repo.stakeholders_by_id(session, ids={link.stakeholder_id for link in links})
    leads: dict[int, list[StakeholderRef]] = defaultdict(list)
    for role in ("lead", "implementer"):  # who leads it; where no one is said to, who implements it
        for link in links:
            if link.role == role and link.stakeholder_id in people and not any(
                    r.role != role for r in leads[link.project_id]):
                s = people[link.stakeholder_id]
                leads[link.project_id].append(StakeholderRef(id=s.external_id, name=s.name, kind=s.kind, role=role))
    year = utcnow().year
    return {e: {"status": project_state(r.status, r.start_year, r.end_year, year), "start_year": r.start_year,
                "end_year": r.end_year, "lead": leads[r.id]} for e, r in rows.items()}


def texts(session: Session, entity_type: str, ids: Iterable[int]) -> dict[int, str]:
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
