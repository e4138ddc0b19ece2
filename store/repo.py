"""Data-access functions. Keyword-only, and always in batches: callers never load rows one by one."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Sequence

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from store.models import Embedding, Participation, Project, Stakeholder


def stakeholders_by_external_id(session: Session, *, external_ids: Iterable[str], lock: bool = False
                                ) -> dict[str, Stakeholder]:
    """By external id; with ``lock``, the rows are held until the transaction ends (``FOR UPDATE`` on
    PostgreSQL, in id order), so that a concurrent delete waits for a write that read them."""
    ids = list(dict.fromkeys(external_ids))
    if not ids:
        return {}
    query = select(Stakeholder).where(col(Stakeholder.external_id).in_(ids))
    if lock:
        query = query.order_by(col(Stakeholder.id)).with_for_update()
    return {r.external_id: r for r in session.exec(query).all()}


def projects_by_external_id(session: Session, *, external_ids: Iterable[str], lock: bool = False
                            ) -> dict[str, Project]:
    """By external id; with ``lock``, the rows are held until the transaction ends (``FOR UPDATE`` on
    PostgreSQL, in id order), so that a concurrent delete waits for a write that read them."""
    ids = list(dict.fromkeys(external_ids))
    if not ids:
        return {}
    query = select(Project).where(col(Project.external_id).in_(ids))
    if lock:
        query = query.order_by(col(Project.id)).with_for_update()
    return {r.external_id: r for r in session.exec(query).all()}


def stakeholders_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, Stakeholder]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Stakeholder).where(col(Stakeholder.id).in_(wanted))).all()
    return {r.id: r for r in rows if r.id is not None}


def projects_by_id(session: Session, *, ids: Iterable[int]) -> dict[int, Project]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Project).where(col(Project.id).in_(wanted))).all()
    return {r.id: r for r in rows if r.id is not None}


def participations(
    session: Session, *, project_ids: Iterable[int] | None = None, stakeholder_ids: Iterable[int] | None = None
) -> list[Participation]:
    query = select(Participation)
    if project_ids is not None:
        query = query.where(col(Participation.project_id).in_(list(project_ids)))
    if stakeholder_ids is not None:
        query = query.where(col(Participation.stakeholder_id).in_(list(stakeholder_ids)))
    return list(session.exec(query.order_by(Participation.project_id, Participation.position)).all())


def replace_participants(session: Session, *, project_id: int, participants: Sequence[tuple[int, str]],
                         replace: bool = True) -> None:
    """Set a project's participants, in order (``replace=False`` for a project that has none yet)."""
    if replace:
        session.exec(delete(Participation).where(col(Participation.project_id) == project_id))  # type: ignore[call-overload]
    for position, (stakeholder_id, role) in enumerate(participants):
        session.add(Participation(project_id=project_id, stakeholder_id=stakeholder_id, role=role,
                                  position=position))


def text_hashes(session: Session, *, entity_type: str) -> dict[int, str]:
    table = Stakeholder if entity_type == "stakeholder" else Project
    return {i: h for i, h in session.exec(select(table.id, table.text_hash)).all() if i is not None}


def embeddings(session: Session, *, entity_type: str, model_id: str,
               entity_ids: Iterable[int] | None = None) -> dict[int, Embedding]:
    query = select(Embedding).where(Embedding.entity_type == entity_type, Embedding.model_id == model_id)
    if entity_ids is not None:
        query = query.where(col(Embedding.entity_id).in_(list(entity_ids)))
    return {e.entity_id: e for e in session.exec(query).all()}


def embedding_hashes(session: Session, *, entity_type: str, model_id: str,
                     entity_ids: Iterable[int] | None = None) -> dict[int, str]:
    query = select(Embedding.entity_id, Embedding.text_hash).where(
        Embedding.entity_type == entity_type, Embedding.model_id == model_id)
    if entity_ids is not None:
        query = query.where(col(Embedding.entity_id).in_(list(entity_ids)))
    return dict(session.exec(query).all())


def save_embeddings(session: Session, *, entity_type: str, model_id: str,
                    rows: Sequence[tuple[int, str, np.ndarray]]) -> None:
    existing = embeddings(session, entity_type=entity_type, model_id=model_id, entity_ids=[r[0] for r in rows])
    for entity_id, text_hash, vector in rows:
        data = np.asarray(vector, dtype=np.float32).tobytes()
        row = existing.get(entity_id)
        if row is None:
            session.add(Embedding(entity_type=entity_type, entity_id=entity_id, model_id=model_id,
                                  text_hash=text_hash, dim=len(vector), vector=data))
        else:
            row.text_hash, row.dim, row.vector = text_hash, len(vector), data
            session.add(row)


def delete_embeddings(session: Session, *, entity_type: str, entity_ids: Iterable[int]) -> None:
    session.exec(delete(Embedding).where(  # type: ignore[call-overload]
        Embedding.entity_type == entity_type, col(Embedding.entity_id).in_(list(entity_ids))))


def vectors(session: Session, *, entity_type: str, model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """All stored vectors of a type for a model, as (ids, matrix)."""
    rows = session.exec(select(Embedding.entity_id, Embedding.dim, Embedding.vector).where(
        Embedding.entity_type == entity_type, Embedding.model_id == model_id)).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), rows[0][1])
    return ids, matrix


def partners_of(links: Sequence[Participation]) -> dict[int, set[int]]:
    """For each stakeholder, the other stakeholders it shares a project with."""
    by_project: dict[int, set[int]] = defaultdict(set)
    for link in links:
        by_project[link.project_id].add(link.stakeholder_id)
    out: dict[int, set[int]] = defaultdict(set)
    for members in by_project.values():
        for m in members:
            out[m] |= members - {m}
    return out


def vector_ids(session: Session, *, entity_type: str, model_id: str) -> set[int]:
    """The ids of the entities of a type that have a stored vector for a model."""
    return set(session.exec(select(Embedding.entity_id).where(
        Embedding.entity_type == entity_type, Embedding.model_id == model_id)).all())


def links(session: Session) -> list[tuple[int, int]]:
    """Every (stakeholder id, project id) participation, without loading rows."""
    return [(int(s), int(p)) for s, p in session.exec(
        select(Participation.stakeholder_id, Participation.project_id)).all()]


def table_mark(session: Session, table: Any) -> tuple[int, int, int]:
    """A cheap fingerprint of a table whose rows carry a row version: how many rows, the largest id and
    the sum of the versions. Any insert, delete or versioned update changes it."""
    count, top, versions = session.execute(
        select(func.count(), func.coalesce(func.max(table.id), 0), func.coalesce(func.sum(table.version), 0))
        .select_from(table)).one()
    return int(count), int(top), int(versions)

