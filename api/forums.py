"""Forum matchmaking for the secretariat: forums, schedules, locks, round-tables and exports.

A capability over the core (``DLDMatch.forums``); the scheduling itself is the pure
:mod:`matcher.schedule`, and every pair's score is the same reciprocal score the partner search uses.
"""

from __future__ import annotations

import csv
import io
import random
import time
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
from pydantic import ValidationError
from sqlmodel import Session, select

from api.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, conflicts
from api.schemas import (
    ExplanationOut,
    ForumIn,
    ForumOut,
    ForumParticipantOut,
    ForumSlot,
    LockIn,
    MeetingOut,
    PairIn,
    RoundTableOut,
    RoundTablesOut,
    ScheduleOut,
    ScheduleRequest,
    StakeholderRef,
)
from api.core import Core
from api.profiles import render, stakeholder_profiles
from matcher.rank import Profile, score_pair
from matcher.schedule import Attendee, Infeasible, Lock, Problem, check, pair, roundtables, solve
from store import repo
from store.models import Forum, Stakeholder



_RETRIES = 8  # attempts of a read-change-write of a forum that other writers keep changing


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class Forums:
    def __init__(self, core: Core) -> None:
        self.core = core

    # ---- storage -------------------------------------------------------------------------------

    def _row(self, session: Session, forum_id: str) -> Forum:
        row = session.exec(select(Forum).where(Forum.external_id == forum_id)).first()
        if row is None:
            raise NotFound(f"no forum with id {forum_id!r}")
        return row

    def _check(self, body: ForumIn) -> None:
        ids = [p.stakeholder for p in body.participants]
        with Session(self.core.engine) as session:
            found = repo.stakeholders_by_external_id(session, external_ids=ids)
        errors = []
        members = set(ids)
        for n, p in enumerate(body.participants):
            if p.stakeholder not in found:
                errors.append({"field": f"participants.{n}.stakeholder", "message": f"no stakeholder {p.stakeholder!r}"})
            for field_name in ("must_meet", "no_thanks"):
                for m, other in enumerate(getattr(p, field_name)):
                    if other not in members:
                        errors.append({"field": f"participants.{n}.{field_name}.{m}",
                                       "message": f"{other!r} is not a participant of this forum"})
                    elif other == p.stakeholder:
                        errors.append({"field": f"participants.{n}.{field_name}.{m}",
                                       "message": "a participant cannot meet themself"})
        if errors:
            raise InvalidInput("invalid forum", errors=errors)

    def create(self, body: ForumIn) -> ForumOut:
        """A new forum; its id taken is a 409, decided by the database's unique constraint."""
        self._check(body)
        with conflicts(f"a forum with id {body.id!r} exists; use PUT to change it"), \
                Session(self.core.writer) as session:
            if session.exec(select(Forum).where(Forum.external_id == body.id)).first():
                raise Conflict(f"a forum with id {body.id!r} exists; use PUT to change it")
            row = Forum(external_id=body.id, created_at=_now(), updated_at=_now(), **self._values(body))
            session.add(row)
            session.commit()
            return self._out(session, row)

    def replace(self, forum_id: str, body: ForumIn, *, if_match: int | None = None) -> ForumOut:
        if body.id != forum_id:
            raise InvalidInput("id mismatch", errors=[{"field": "id", "message": "body id differs from the path's"}])
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
        data = body.model_dump(mode="json", include={"name", "place", "start_date", "end_date", "meeting_minutes",
                                                     "tables", "min_meetings", "slots", "participants"})
        return data

    def _validated(self, row: Forum, participants: list[dict[str, Any]]) -> ForumIn:
        """The forum with these participants, checked as a whole (slots, meetings, stakeholders)."""
        try:
            body = ForumIn.model_validate({**self._body(row), "participants": participants})
        except ValidationError as exc:
            raise InvalidInput("invalid participant", errors=[
                {"field": ".".join(str(x) for x in e["loc"]) or "participant", "message": e["msg"]}
                for e in exc.errors()]) from exc
        self._check(body)
        return body

    def add_participant(self, forum_id: str, participant: dict[str, Any]) -> ForumOut:
        """Add (or replace) one participant. Read, change and write happen in one transaction, retried
        when another one changed the forum meanwhile, so concurrent additions are all kept."""
        def change(row: Forum) -> None:
            body = self._validated(row, [*[p for p in row.participants
                                           if p["stakeholder"] != participant.get("stakeholder")], participant])
            row.participants = self._values(body)["participants"]

        return self._change(forum_id, change)

    def remove_participant(self, forum_id: str, stakeholder_id: str) -> ForumOut:
        """Remove a participant, with the locks, removals and meetings that involve them."""
        def change(row: Forum) -> None:
            if stakeholder_id not in {p["stakeholder"] for p in row.participants}:
                raise NotFound(f"{stakeholder_id!r} is not a participant of {forum_id!r}")
            participants = [{**p, "must_meet": [m for m in p["must_meet"] if m != stakeholder_id],
                             "no_thanks": [m for m in p["no_thanks"] if m != stakeholder_id]}
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
        return {"id": row.external_id, "name": row.name, "place": row.place, "start_date": row.start_date,
                "end_date": row.end_date, "meeting_minutes": row.meeting_minutes, "tables": row.tables,
                "min_meetings": row.min_meetings, "slots": row.slots, "participants": row.participants}

    def _out(self, session: Session, row: Forum) -> ForumOut:
        people = repo.stakeholders_by_external_id(session, external_ids=[p["stakeholder"] for p in row.participants])
        participants = [ForumParticipantOut(**p, name=people[p["stakeholder"]].name, kind=people[p["stakeholder"]].kind)
                        for p in row.participants if p["stakeholder"] in people]
        return ForumOut(id=row.external_id, name=row.name, place=row.place, start_date=row.start_date,
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

    def delete(self, forum_id: str, *, if_match: int | None = None) -> None:
        with conflicts(), Session(self.core.writer) as session:
            row = self._row(session, forum_id)
            if if_match is not None and row.version != if_match:
                raise PreconditionFailed(f"the forum {forum_id!r} is at version {row.version}, not {if_match}")
            session.delete(row)
            session.commit()

    # ---- scheduling ----------------------------------------------------------------------------

    def _profiles(self, session: Session, ids: list[str]) -> tuple[dict[str, Profile], np.ndarray]:
        rows = repo.stakeholders_by_external_id(session, external_ids=ids)
        profiles = stakeholder_profiles(session, list(rows.values()))
        by_ext = {rows[e].external_id: profiles[rows[e].id] for e in ids if e in rows}  # type: ignore[index]
        stored = repo.embeddings(session, entity_type="stakeholder", model_id=self.core.embedder.model_id,
                                 entity_ids=[r.id for r in rows.values()])
        dim = next(iter(stored.values())).dim if stored else 1
        matrix = np.stack([np.frombuffer(stored[rows[e].id].vector, dtype=np.float32) if rows[e].id in stored  # type: ignore[index]
                           else np.zeros(dim, dtype=np.float32) for e in ids])
        return by_ext, matrix

    def _problem(self, session: Session, row: Forum) -> tuple[Problem, dict[str, Profile], dict[tuple[str, str], float]]:
        ids = [p["stakeholder"] for p in row.participants]
        profiles, matrix = self._profiles(session, ids)
        floor = getattr(self.core.embedder, "similarity_floor", 0.0)
        sims = (matrix @ matrix.T - floor) / (1.0 - floor)
        scores: dict[tuple[str, str], float] = {}
        for i, a in enumerate(ids):
            for j in range(i + 1, len(ids)):
                b = ids[j]
                forward = score_pair(profiles[a], profiles[b], float(sims[i, j]), evidence=False).score
                backward = score_pair(profiles[b], profiles[a], float(sims[i, j]), evidence=False).score
                scores[pair(a, b)] = round((forward + backward) / 2, 6)
        people = repo.stakeholders_by_external_id(session, external_ids=ids)
        attendees = []
        for p in row.participants:
            slots = p["available_slots"] or list(range(1, len(row.slots) + 1))
            languages = p["languages"] or people[p["stakeholder"]].languages or ["en"]
            attendees.append(Attendee(
                key=p["stakeholder"], slots=frozenset(s - 1 for s in slots),
                languages=frozenset(x.lower() for x in languages), interpreter=p["interpreter"],
                max_meetings=p["max_meetings"] if p["max_meetings"] is not None else len(row.slots),
                must_meet=frozenset(p["must_meet"]), no_thanks=frozenset(p["no_thanks"])))
        problem = Problem(attendees=attendees, n_slots=len(row.slots), tables=row.tables, scores=scores,
                          min_meetings=row.min_meetings,
                          locks=[Lock(lk["a"], lk["b"], lk["slot"] - 1, lk.get("table")) for lk in row.locks],
                          removed={tuple(r) for r in row.removed})  # type: ignore[misc]
        return problem, profiles, scores

    def schedule(self, forum_id: str, request: ScheduleRequest | None = None) -> ScheduleOut:
        """Solve (or re-solve around the locks and removals) and store the schedule."""
        request = request or ScheduleRequest()
        self.core.index("stakeholder")
        with Session(self.core.engine) as session:
            row = self._row(session, forum_id)
            if len(row.participants) < 2:
                raise InvalidInput("too few participants", errors=[{"field": "participants",
                                                                    "message": "a forum needs two participants"}])
            problem, _, _ = self._problem(session, row)
            solved_version = row.version
        try:  # outside any transaction: a solve takes seconds, and no writer should wait for it
            solution = solve(problem, method=request.method, time_limit=request.time_limit)
        except Infeasible as exc:
            raise InvalidInput("the schedule cannot meet these requests", errors=exc.errors) from exc

        def store(row: Forum) -> None:
            if row.version != solved_version:
                raise Conflict(f"the forum {forum_id!r} changed while its schedule was being computed; ask again")
            row.schedule = {
                "method": solution.method, "status": solution.status, "total_score": solution.total_score,
                "objective": solution.objective, "bound": solution.bound, "bound_kind": solution.bound_kind,
                "gap": solution.gap, "seconds": solution.seconds,
                "meetings": [{"a": m.a, "b": m.b, "slot": m.slot + 1, "table": m.table, "score": m.score,
                              "locked": m.locked} for m in solution.meetings],
                "unmet": {k: list(v) for k, v in solution.unmet.items()},
            }

        self._change(forum_id, store, retry=False)
        return self.get_schedule(forum_id)

    def get_schedule(self, forum_id: str) -> ScheduleOut:
        with Session(self.core.engine) as session:
            row = self._row(session, forum_id)
            if row.schedule is None:
                raise NotFound(f"forum {forum_id!r} has no schedule yet: POST /forums/{forum_id}/schedule")
            ids = [p["stakeholder"] for p in row.participants]
            profiles, matrix = self._profiles(session, ids)
            position = {k: n for n, k in enumerate(ids)}
            people = repo.stakeholders_by_external_id(session, external_ids=ids)
            meetings = []
            partner_refs = {p.external_id: p for p in people.values()}
            for n, m in enumerate(row.schedule["meetings"], start=1):
                a, b = profiles[m["a"]], profiles[m["b"]]
                floor = getattr(self.core.embedder, "similarity_floor", 0.0)
                sim = (float(matrix[position[m["a"]]] @ matrix[position[m["b"]]]) - floor) / (1.0 - floor)
                explained = score_pair(a, b, sim, vocabulary=self.core.vocabulary)
                slot = row.slots[m["slot"] - 1]
                rendered = render(session, self.core.vocabulary, [explained], {explained.key: b}, "stakeholder")[0]
                meetings.append(MeetingOut(
                    n=n, slot=m["slot"], start=slot["start"], end=slot["end"], table=m["table"],
                    a=_ref(people[m["a"]]), b=_ref(people[m["b"]]), score=m["score"], locked=m["locked"],
                    explanation=rendered.explanation))
            count: dict[str, int] = {k: 0 for k in ids}
            for m in row.schedule["meetings"]:
                count[m["a"]] += 1
                count[m["b"]] += 1
            unmet = [{"id": k, "name": partner_refs[k].name, "meetings": got, "minimum": want}
                     for k, (got, want) in sorted(row.schedule["unmet"].items())]
            s = row.schedule
            return ScheduleOut(forum=forum_id, method=s["method"], status=s["status"], total_score=s["total_score"],
                               objective=s["objective"], bound=s["bound"], bound_kind=s["bound_kind"], gap=s["gap"],
                               seconds=s["seconds"], meetings=meetings, per_participant=count, unmet=unmet)

    def lock(self, forum_id: str, lock: LockIn) -> ForumOut:
        """Keep a meeting where it is in every re-solve (it need not be in the current schedule)."""
        def change(row: Forum) -> None:
            members = {p["stakeholder"] for p in row.participants}
            for field_name, who in (("a", lock.a), ("b", lock.b)):
                if who not in members:
                    raise InvalidInput("not a participant", errors=[{"field": field_name,
                                                                     "message": f"{who!r} is not a participant"}])
            if lock.slot > len(row.slots) or (lock.table and lock.table > row.tables):
                raise InvalidInput("no such slot or table", errors=[{"field": "slot", "message":
                                   f"the forum has {len(row.slots)} slots and {row.tables} tables"}])
            locks = [lk for lk in row.locks if pair(lk["a"], lk["b"]) != pair(lock.a, lock.b)]
            locks.append(lock.model_dump())
            with Session(self.core.engine) as session:
                problem, _, _ = self._problem(session, row)
            problem.locks = [Lock(lk["a"], lk["b"], lk["slot"] - 1, lk.get("table")) for lk in locks]
            try:
                check(problem)
            except Infeasible as exc:
                raise InvalidInput("this meeting cannot be locked", errors=exc.errors) from exc
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
                    session.commit()
                    return self._out(session, row)
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

    def roundtables(self, forum_id: str, size: int) -> RoundTablesOut:
        with Session(self.core.engine) as session:
            row = self._row(session, forum_id)
            ids = [p["stakeholder"] for p in row.participants]
            people = repo.stakeholders_by_external_id(session, external_ids=ids)
        themes = {k: {t["id"] for t in people[k].themes} for k in ids if k in people}
        tables = roundtables(themes, size)
        return RoundTablesOut(forum=forum_id, size=size, tables=[
            RoundTableOut(n=n, theme={"id": label, "label": self.core.vocabulary[label].label} if label else None,
                          members=[_ref(people[k]) for k in members])
            for n, (label, members) in enumerate(tables, start=1)])

    # ---- exports -------------------------------------------------------------------------------

    def agenda_csv(self, forum_id: str) -> str:
        schedule = self.get_schedule(forum_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["slot", "start", "end", "table", "participant_a", "participant_a_id", "participant_b",
                         "participant_b_id", "score", "locked", "shared_themes"])
        for m in schedule.meetings:
            writer.writerow([m.slot, m.start.isoformat(), m.end.isoformat(), m.table, m.a.name, m.a.id, m.b.name,
                             m.b.id, f"{m.score:.3f}", "yes" if m.locked else "no",
                             "; ".join(t.label for t in m.explanation.shared_themes)])
        return out.getvalue()

    def meetings_of(self, forum_id: str, stakeholder_id: str) -> tuple[ForumOut, list[MeetingOut]]:
        forum = self.get(forum_id)
        if stakeholder_id not in {p.stakeholder for p in forum.participants}:
            raise NotFound(f"{stakeholder_id!r} is not a participant of {forum_id!r}")
        schedule = self.get_schedule(forum_id)
        return forum, [m for m in schedule.meetings if stakeholder_id in (m.a.id, m.b.id)]

    def calendar(self, forum_id: str, stakeholder_id: str) -> bytes:
        """An iCalendar file with one event per meeting of the participant, saying why they meet."""
        from icalendar import Calendar, Event

        forum, meetings = self.meetings_of(forum_id, stakeholder_id)
        cal = Calendar()
        cal.add("prodid", "-//dldmatch//forum matchmaking//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"{forum.name}: meetings")
        for m in meetings:
            other = m.b if m.a.id == stakeholder_id else m.a
            event = Event()
            event.add("uid", f"{forum_id}-{m.a.id}-{m.b.id}-{m.slot}@dldmatch")
            event.add("summary", f"Meeting with {other.name} (table {m.table})")
            event.add("dtstart", m.start.astimezone(timezone.utc))
            event.add("dtend", m.end.astimezone(timezone.utc))
            event.add("dtstamp", datetime(2000, 1, 1, tzinfo=timezone.utc))
            if forum.place:
                event.add("location", f"{forum.place}, table {m.table}")
            event.add("description", why(m, stakeholder_id))
            cal.add_component(event)
        return cal.to_ical()


def _ref(s: Stakeholder) -> StakeholderRef:
    return StakeholderRef(id=s.external_id, name=s.name, kind=s.kind)


def why(m: MeetingOut, viewer: str | None = None) -> str:
    """The reasons two participants should meet, in a sentence or two (for calendars and CSV)."""
    e: ExplanationOut = m.explanation
    parts = []
    if e.shared_themes:
        parts.append("Shared themes: " + ", ".join(t.label for t in e.shared_themes) + ".")
    if e.query_needs_met:
        parts.append(f"{m.b.name} offers what {m.a.name} needs: " + ", ".join(e.query_needs_met) + ".")
    if e.candidate_needs_met:
        parts.append(f"{m.a.name} offers what {m.b.name} needs: " + ", ".join(e.candidate_needs_met) + ".")
    if e.shared_places or e.shared_countries:
        parts.append("Same places: " + ", ".join(e.shared_places + e.shared_countries) + ".")
    if e.shared_partners:
        parts.append("Partners in common: " + ", ".join(p.name for p in e.shared_partners) + ".")
    return " ".join(parts) or "Recommended by their overall fit."
