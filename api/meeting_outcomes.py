"""What came of each forum meeting (issue 16, item 1): either side tells it, first once the meeting
has taken place and again about six months later, as for accepted interests (``api.outcomes``:
the same answers, the same version check, so two members answering at once make one answer and a
409). The secretariat's funnel counts meetings scheduled, told of, met, cooperation started and
agreement reached; ``dldmatch remind`` asks each participant once after its forum."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlmodel import Session, col, select

from api.core import Memo, utc, utcnow
from api.errors import Conflict, NotFound, conflicts
from api.i18n import N_
from api.outbox import said
from api.outcomes import LATER_OPENS, MET, RESULTS, checked_answer
from matcher.schedule import pair
from store import repo
from store.models import Forum, MeetingOutcome

RANK = {"no_answer": 0, "declined": 0, "met": 1, "cooperation_started": 2, "agreement_reached": 3}


class MeetingOutcomes:
    def __init__(self, engine: Any, writer: Any, schedule_of: Callable[[str], Any]) -> None:
        self.engine, self.writer, self._schedule_of = engine, writer, schedule_of
        self._funnel = Memo()  # the funnel, read again only when forums or meeting outcomes change

    def answer(self, forum_id: str, stakeholder_id: str, other: str, stage: str, result: str, note: str = "",
               *, answered_by: str, version: int | None = None) -> MeetingOutcome:
        """The answer of ``stakeholder_id``'s side about its meeting with ``other`` at the forum."""
        note = checked_answer(stage, result, note)
        meeting = next((m for m in self._schedule_of(forum_id).meetings
                        if {m.a.id, m.b.id} == {stakeholder_id, other}), None)
        if meeting is None:
            raise NotFound(f"{stakeholder_id!r} has no meeting with {other!r} in the schedule of {forum_id!r}")
        now = utcnow()
        if now < utc(meeting.start):
            raise Conflict(N_("the meeting has not taken place yet"))
        if stage == "later" and now < utc(meeting.start) + LATER_OPENS:
            raise Conflict(f"the later question opens on {(utc(meeting.start) + LATER_OPENS).date().isoformat()}, "
                           "about six months after the meeting")
        a, b = pair(stakeholder_id, other)
        with Session(self.writer) as session, conflicts("another member of your organisation answered meanwhile; "
                                                        "read the answer again"):
            stored = session.exec(select(MeetingOutcome).where(
                MeetingOutcome.forum == forum_id, MeetingOutcome.a == a, MeetingOutcome.b == b,
                MeetingOutcome.org == stakeholder_id, MeetingOutcome.stage == stage)).first()
            if stored is None:
                if version is not None:
                    raise Conflict(N_("there is no answer to change yet; it may have been removed"))
                stored = MeetingOutcome(forum=forum_id, a=a, b=b, org=stakeholder_id, stage=stage, result=result,
                                        note=note, answered_by=answered_by, answered_at=now)
            else:
                if version is None or version != stored.version:
                    raise Conflict(f"your organisation already answered ({stored.answered_by}: "
                                   f"{RESULTS[stored.result].lower()}); read it again to change it")
                stored.result, stored.note, stored.answered_by, stored.answered_at = result, note, answered_by, now
            session.add(stored)
            session.commit()
            session.refresh(stored)
            return stored

    def of(self, forum_id: str, stakeholder_id: str) -> dict[tuple[str, str], MeetingOutcome]:
        """The participant's own answers, by (other participant, stage)."""
        with Session(self.engine) as session:
            rows = session.exec(select(MeetingOutcome).where(MeetingOutcome.forum == forum_id,
                                                             MeetingOutcome.org == stakeholder_id)).all()
        return {(r.b if r.a == stakeholder_id else r.a, r.stage): r for r in rows}

    def funnel(self) -> dict[str, int]:
        """Over every forum's schedule: meetings scheduled, told of (by either side), met, cooperation
        started, agreement reached (a meeting counts at the furthest either side said)."""
        with Session(self.engine) as session:
            mark = (repo.table_mark(session, Forum), repo.table_mark(session, MeetingOutcome))
            return self._funnel.get(mark, lambda: self._count_funnel(session))  # type: ignore[no-any-return]

    @staticmethod
    def _count_funnel(session: Session) -> dict[str, int]:
        schedules = [s for s in session.exec(select(Forum.schedule)) if s]
        scheduled = {(m["a"], m["b"]) for s in schedules for m in s["meetings"]}
        best: dict[tuple[str, str, str], int] = {}
        for forum, a, b, result in session.exec(select(MeetingOutcome.forum, MeetingOutcome.a, MeetingOutcome.b,
                                                       MeetingOutcome.result)):
            key = (forum, a, b)
            best[key] = max(best.get(key, -1), RANK.get(result, 0) if result in MET else 0)
        return {"scheduled": len(scheduled), "told": len(best),
                "met": sum(v >= 1 for v in best.values()),
                "cooperation": sum(v >= 2 for v in best.values()),
                "agreement": sum(v >= 3 for v in best.values())}

    def remind(self, outbox: Any, now: datetime | None = None, *, limit: int = 500) -> int:
        """Ask the members of each participant of a forum held in the last 30 days what came of its
        meetings, once per participant and forum. Returns how many were asked."""
        now = now or utcnow()
        asked = 0
        with Session(self.engine) as session:
            forums = [f for f in session.exec(select(Forum).where(col(Forum.start_date).is_not(None))).all()
                      if f.schedule]
        for forum in forums:
            try:
                held = date.fromisoformat(str(forum.end_date or forum.start_date))
            except ValueError:
                continue
            if not held < now.date() <= held + timedelta(days=30):
                continue
            met = {x for m in forum.schedule["meetings"] for x in (m["a"], m["b"])}
            for key in sorted(met):
                if asked >= limit:
                    return asked
                emails = outbox.members_to_remind(key, "forum_outcome", f"{forum.external_id}:{key}", now)
                outbox.mail(emails, said(N_("%(forum)s: what came of your meetings?"), forum=forum.name),
                            said(N_("Tell what came of each of your meetings at %(forum)s (met, cooperation started, "
                                    "agreement reached...): %(link)s"), forum=forum.name,
                                 link=outbox.link(f"/forums/{forum.external_id}/as/{key}") + "#meetings"))
                asked += bool(emails)
        return asked

