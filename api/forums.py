"""Forum matchmaking for the secretariat: forums, their participants, locks and removals, stored
under concurrent use; their schedules, round-tables and exports are :mod:`api.forum_plans`.

A capability over the core (``DLDMatch.forums``).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from typing import Any, Callable

from pydantic import ValidationError
from sqlmodel import Session, select

from api.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, conflicts
from api.i18n import N_
from api.messages import plain
from api.schemas import (
    ForumIn,
    ForumOut,
    ForumParticipantOut,
    ForumSlot,
    LockIn,
    PairIn,
)
from api.core import Core
from api.forum_plans import Plans, forum_row, problem_of
from matcher.schedule import Infeasible, Lock, check, pair
from store import repo
from store.models import Forum, Trash



_RETRIES = 8  # attempts of a read-change-write of a forum that other writers keep changing


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


OWN_SAY = ("meet", "asked", "accepted", "declined")
"""A participant's own say (api.forum_wishes), kept when the secretariat changes its entry."""


class Forums:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.plans = Plans(core, change=self._change, get=self.get)
        self.schedule, self.get_schedule, self.roundtables = self.plans.schedule, self.plans.get_schedule, \
            self.plans.roundtables
        self.agenda_csv, self.meetings_of, self.calendar = self.plans.agenda_csv, self.plans.meetings_of, \
            self.plans.calendar
        self.change, self.validated = self._change, self._validated  # for the participants' own part

    # ---- storage -------------------------------------------------------------------------------

    def _row(self, session: Session, forum_id: str) -> Forum:
        return forum_row(session, forum_id)

    def _check(self, body: ForumIn) -> None:
        ids = [p.stakeholder for p in body.participants]
        with Session(self.core.engine) as session:
            found = repo.stakeholders_by_external_id(session, external_ids=ids)
        errors = []
        members = set(ids)
        for n, p in enumerate(body.participants):
            if p.stakeholder not in found:
                errors.append({"field": f"participants.{n}.stakeholder", "message": f"no stakeholder {p.stakeholder!r}"})
            for field_name in ("must_meet", "no_thanks", "meet", "asked", "accepted", "declined"):
                for m, other in enumerate(getattr(p, field_name)):
                    if other not in members:
                        errors.append({"field": f"participants.{n}.{field_name}.{m}",
                                       "message": f"{other!r} is not a participant of this forum"})
                    elif other == p.stakeholder:
                        errors.append({"field": f"participants.{n}.{field_name}.{m}",
                                       "message": N_("a participant cannot meet themself")})
        if errors:
            raise InvalidInput(N_("invalid forum"), errors=errors)

    def create(self, body: ForumIn) -> ForumOut:
        """A new forum; its id taken is a 409, decided by the database's unique constraint."""
        self._check(body)
        with conflicts(f"a forum with id {body.id!r} exists; use PUT to change it"), \
                Session(self.core.writer) as session:
            if session.exec(select(Forum).where(Forum.external_id == body.id)).first():
                raise Conflict(f"a forum with id {body.id!r} exists; use PUT to change it")
            row = Forum(external_id=body.id, created_at=_now(), updated_at=_now(), **self._values(body))
            session.add(row)
            session.flush()
            out = self._out(session, row)  # as written: after the commit another request may delete it
            session.commit()
            return out

    def replace(self, forum_id: str, body: ForumIn, *, if_match: int | None = None) -> ForumOut:
        if body.id != forum_id:
            raise InvalidInput(N_("id mismatch"), errors=[{"field": "id", "message": N_("body id differs from the path's")}])
        self._check(body)

        def change(row: Forum) -> None:
            if if_match is not None and row.version != if_match:
                raise PreconditionFailed(f"the forum {forum_id!r} is at version {row.version}, not {if_match}: it "
                                         f"was changed meanwhile; read it again")
            for k, v in self._values(body).items():
                setattr(row, k, v)
            row.schedule, row.locks, row.removed = None, [], []  # a changed forum is planned afresh

        return self._change(forum_id, change, retry=if_match is None)

    @staticmethod
    def _values(body: ForumIn) -> dict[str, Any]:
        data = body.model_dump(mode="json", include={"name", "place", "time_zone", "start_date", "end_date",
                                                     "meeting_minutes", "tables", "min_meetings", "slots",
                                                     "participants"})
        return data

    def _validated(self, row: Forum, participants: list[dict[str, Any]]) -> ForumIn:
        """The forum with these participants, checked as a whole (slots, meetings, stakeholders)."""
        try:
            body = ForumIn.model_validate({**self._body(row), "participants": participants})
        except ValidationError as exc:
            raise InvalidInput(N_("invalid participant"), errors=[
                {"field": ".".join(str(x) for x in e["loc"]) or "participant", "message": plain(e)}
                for e in exc.errors()]) from exc
        self._check(body)
        return body

    def add_participant(self, forum_id: str, participant: dict[str, Any]) -> ForumOut:
        """Add (or replace) one participant. Read, change and write happen in one transaction, retried
        when another one changed the forum meanwhile, so concurrent additions are all kept."""
        def change(row: Forum) -> None:
            before = next((p for p in row.participants if p["stakeholder"] == participant.get("stakeholder")), {})
            kept = {k: before[k] for k in OWN_SAY if k in before and k not in participant}
            body = self._validated(row, [*[p for p in row.participants
                                           if p["stakeholder"] != participant.get("stakeholder")],
                                         {**participant, **kept}])
            row.participants = self._values(body)["participants"]

        return self._change(forum_id, change)

    def remove_participant(self, forum_id: str, stakeholder_id: str) -> ForumOut:
        """Remove a participant, with the locks, removals and meetings that involve them."""
        def change(row: Forum) -> None:
            if stakeholder_id not in {p["stakeholder"] for p in row.participants}:
                raise NotFound(f"{stakeholder_id!r} is not a participant of {forum_id!r}")
            lists = ("must_meet", "no_thanks", "meet", "asked", "accepted", "declined")
            participants = [{**p, **{k: [m for m in p.get(k, []) if m != stakeholder_id] for k in lists}}
                            for p in row.participants if p["stakeholder"] != stakeholder_id]
            row.participants = self._values(self._validated(row, participants))["participants"]
            row.locks = [lk for lk in row.locks if stakeholder_id not in (lk["a"], lk["b"])]
            row.removed = [r for r in row.removed if stakeholder_id not in r]
            if row.schedule:
                row.schedule = {**row.schedule, "meetings": [m for m in row.schedule["meetings"]
                                                             if stakeholder_id not in (m["a"], m["b"])]}

        return self._change(forum_id, change)

    @staticmethod
    def _body(row: Forum) -> dict[str, Any]:
        return {"id": row.external_id, "name": row.name, "place": row.place, "time_zone": row.time_zone,
                "start_date": row.start_date,
                "end_date": row.end_date, "meeting_minutes": row.meeting_minutes, "tables": row.tables,
                "min_meetings": row.min_meetings, "slots": row.slots, "participants": row.participants}

    def _out(self, session: Session, row: Forum) -> ForumOut:
        people = repo.stakeholders_by_external_id(session, external_ids=[p["stakeholder"] for p in row.participants])
        participants = [ForumParticipantOut(**p, name=people[p["stakeholder"]].name, kind=people[p["stakeholder"]].kind)
                        for p in row.participants if p["stakeholder"] in people]
        return ForumOut(id=row.external_id, name=row.name, place=row.place, time_zone=row.time_zone,
                        start_date=row.start_date,
                        end_date=row.end_date, meeting_minutes=row.meeting_minutes, tables=row.tables,
                        min_meetings=row.min_meetings, slots=[ForumSlot(**s) for s in row.slots],
                        participants=participants, locks=row.locks, removed=row.removed,
                        has_schedule=row.schedule is not None, version=row.version)

    def get(self, forum_id: str) -> ForumOut:
        with Session(self.core.engine) as session:
            return self._out(session, self._row(session, forum_id))

    def list(self) -> list[ForumOut]:
        with Session(self.core.engine) as session:
            return [self._out(session, r) for r in session.exec(select(Forum).order_by(Forum.external_id)).all()]

    def delete(self, forum_id: str, *, if_match: int | None = None, actor: str = "") -> None:
        """Delete a forum; the same transaction keeps it whole in the trash (the secretariat restores it)."""
        with conflicts(), Session(self.core.writer) as session:
            row = self._row(session, forum_id)
            if if_match is not None and row.version != if_match:
                raise PreconditionFailed(f"the forum {forum_id!r} is at version {row.version}, not {if_match}")
            session.add(Trash(entity_type="forum", external_id=forum_id, deleted_at=_now(), deleted_by=actor,
                              record={"record": row.model_dump(mode="json", exclude={"id", "version"})}))
            session.delete(row)
            session.commit()

    def lock(self, forum_id: str, lock: LockIn) -> ForumOut:
        """Keep a meeting where it is in every re-solve (it need not be in the current schedule)."""
        def change(row: Forum) -> None:
            members = {p["stakeholder"] for p in row.participants}
            for field_name, who in (("a", lock.a), ("b", lock.b)):
                if who not in members:
                    raise InvalidInput(N_("not a participant"), errors=[{"field": field_name,
                                                                     "message": f"{who!r} is not a participant"}])
            if lock.slot > len(row.slots) or (lock.table and lock.table > row.tables):
                raise InvalidInput(N_("no such slot or table"), errors=[{"field": "slot", "message":
                                   f"the forum has {len(row.slots)} slots and {row.tables} tables"}])
            locks = [lk for lk in row.locks if pair(lk["a"], lk["b"]) != pair(lock.a, lock.b)]
            locks.append(lock.model_dump())
            with Session(self.core.engine) as session:
                problem, _, _ = problem_of(self.core, session, row)
            problem.locks = [Lock(lk["a"], lk["b"], lk["slot"] - 1, lk.get("table")) for lk in locks]
            try:
                check(problem)
            except Infeasible as exc:
                raise InvalidInput(N_("this meeting cannot be locked"), errors=exc.errors) from exc
            row.locks = locks
            row.removed = [r for r in row.removed if tuple(r) != pair(lock.a, lock.b)]
            if row.schedule:  # a new object: SQLAlchemy sees changes of a JSON column only on assignment
                row.schedule = {**row.schedule, "meetings": [
                    {**m, "locked": m["locked"] or (pair(m["a"], m["b"]) == pair(lock.a, lock.b)
                                                    and m["slot"] == lock.slot and m["table"] == lock.table)}
                    for m in row.schedule["meetings"]]}

        return self._change(forum_id, change)

    def _change(self, forum_id: str, change: Callable[[Forum], None], *, retry: bool = True) -> ForumOut:
        """Read a forum, apply a change to its row and save it, in one write transaction. The row's
        version makes the save fail when another transaction saved the forum in between (possible on
        PostgreSQL, where writers do not wait for each other until they write): then the change is
        applied again to the new row, a few times, before the client gets a 409."""
        for attempt in range(_RETRIES):
            try:
                with conflicts(), Session(self.core.writer) as session:
                    row = self._row(session, forum_id)
                    change(row)
                    row.updated_at = _now()
                    session.add(row)
                    session.flush()
                    out = self._out(session, row)  # as written: after the commit another request may delete it
                    session.commit()
                    return out
            except Conflict:
                if not retry or attempt + 1 == _RETRIES:
                    raise
                time.sleep(random.uniform(0.0, 0.02 * (attempt + 1)))  # let the other writer finish
        raise AssertionError("unreachable")

    def unlock(self, forum_id: str, p: PairIn) -> ForumOut:
        def change(row: Forum) -> None:
            row.locks = [lk for lk in row.locks if pair(lk["a"], lk["b"]) != pair(p.a, p.b)]

        return self._change(forum_id, change)

    def remove_meeting(self, forum_id: str, p: PairIn) -> ForumOut:
        """Take a pair out: it is dropped from the schedule and never placed again until restored."""
        key = pair(p.a, p.b)

        def change(row: Forum) -> None:
            if list(key) not in row.removed:
                row.removed = [*row.removed, list(key)]
            row.locks = [lk for lk in row.locks if pair(lk["a"], lk["b"]) != key]
            if row.schedule:
                row.schedule = {**row.schedule, "meetings": [m for m in row.schedule["meetings"]
                                                             if pair(m["a"], m["b"]) != key]}

        return self._change(forum_id, change)

    def restore_meeting(self, forum_id: str, p: PairIn) -> ForumOut:
        def change(row: Forum) -> None:
            row.removed = [r for r in row.removed if tuple(r) != pair(p.a, p.b)]

        return self._change(forum_id, change)

