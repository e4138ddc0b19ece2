"""Forums the participants shape (issue 16, item 5): each participant says when it can meet and,
of the others, whom it must meet, would like to meet or will not; asks others for a meeting, which
they accept or decline; and sees the others ranked by fit and its own meetings.

Everything a participant says is kept on its own entry of the forum's participants (``meet``,
``asked``, ``accepted``, ``declined`` beside ``available_slots``, ``must_meet``, ``no_thanks``), so
it is written by the forum's one read-change-write transaction (retried on a race, never lost) and
deleted with the forum. The schedule (``api.forum_plans.problem_of``) reads it: an accepted
request is a meeting both must have, a declined one a pair never placed, a wish or an open request
raises the pair's score by :data:`api.forum_plans.WISH_BONUS` per side.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlmodel import Session, col, select

from api.core import Core, utcnow
from api.errors import Conflict, InvalidInput, NotFound
from api.forum_plans import forum_row, scores_with
from api.i18n import N_
from api.outbox import said
from api.schemas import (ForumOther, ForumOut, ForumParticipation, ForumPreferencesIn, MeetingAnswerIn,
                         MeetingOutcomeOut, MeetingRequestIn)
from matcher.schedule import pair
from store.models import Forum

MARKS = ("must_meet", "meet", "no_thanks")


def entry(row: Forum, stakeholder_id: str) -> dict[str, Any]:
    for p in row.participants:
        if p["stakeholder"] == stakeholder_id:
            return p
    raise NotFound(f"{stakeholder_id!r} is not a participant of the forum {row.external_id!r}")


def _without(items: list[str], *drop: str) -> list[str]:
    return [x for x in items if x not in drop]


class Participation:
    """A participant's own part in a forum; the forum's transaction (``change``) writes it."""

    def __init__(self, core: Core, *, change: Callable[..., ForumOut], validated: Callable[..., Any],
                 meetings: Callable[[str, str], tuple[Any, list[Any]]], tell_org: Callable[[str, Any, Any], None],
                 link: Callable[[str], str], outcomes_of: Callable[[str, str], dict[Any, Any]] | None = None) -> None:
        self.core, self._change, self._validated, self._meetings_of = core, change, validated, meetings
        self._tell_org, self._link, self._outcomes_of = tell_org, link, outcomes_of

    def _replace(self, row: Forum, stakeholder_id: str, updated: dict[str, Any]) -> None:
        participants = [updated if p["stakeholder"] == stakeholder_id else p for p in row.participants]
        body = self._validated(row, participants)
        row.participants = body.model_dump(mode="json", include={"participants"})["participants"]

    def set_preferences(self, forum_id: str, stakeholder_id: str, prefs: ForumPreferencesIn) -> ForumOut:
        """Replace the participant's availability and marks. A participant marked twice keeps the
        strongest mark (must meet, then meet); no thanks wins over both."""
        no = set(prefs.no_thanks)
        must = [x for x in dict.fromkeys(prefs.must_meet) if x not in no]
        meet = [x for x in dict.fromkeys(prefs.meet) if x not in no and x not in must]
        marked = {*no, *must, *meet}
        if stakeholder_id in marked:
            raise InvalidInput(N_("a participant cannot mark itself"), errors=[
                {"field": "must_meet", "message": f"{stakeholder_id!r} is the participant itself"}])

        def change(row: Forum) -> None:
            mine = entry(row, stakeholder_id)
            self._replace(row, stakeholder_id, {**mine, "available_slots": prefs.available_slots,
                                                "must_meet": must, "meet": meet, "no_thanks": sorted(no)})

        return self._change(forum_id, change)

    def ask(self, forum_id: str, stakeholder_id: str, request: MeetingRequestIn) -> ForumOut:
        """Ask another participant for a meeting; its members are told through the outbox."""
        if request.to == stakeholder_id:
            raise InvalidInput(N_("a participant cannot ask itself for a meeting"),
                               errors=[{"field": "to", "message": "choose another participant"}])
        names: dict[str, str] = {}

        def change(row: Forum) -> None:
            mine, theirs = entry(row, stakeholder_id), entry(row, request.to)
            if stakeholder_id in theirs.get("declined", []):
                raise Conflict(N_("this participant declined a meeting already"))
            if request.to in mine.get("asked", []):
                raise Conflict(N_("a meeting was asked for already"))
            self._replace(row, stakeholder_id, {**mine, "asked": [*mine.get("asked", []), request.to],
                                                "no_thanks": _without(mine.get("no_thanks", []), request.to)})
            names.update(forum=row.name)

        out = self._change(forum_id, change)
        by = {p.stakeholder: p.name for p in out.participants}
        about = {"asker": by[stakeholder_id], "other": by[request.to], "forum": names["forum"],
                 "message": f"\n\n{request.message}" if request.message else "",
                 "link": self._link(f"/forums/{forum_id}/as/{request.to}")}
        self._tell_org(request.to, said(N_("%(asker)s asks to meet you at %(forum)s"), **about),
                       said(N_("%(asker)s would like a meeting with %(other)s at %(forum)s.%(message)s\n\n"
                               "Accept or decline: %(link)s"), **about))
        return out

    def answer(self, forum_id: str, stakeholder_id: str, answer: MeetingAnswerIn) -> ForumOut:
        """Accept or decline another participant's request; the asker is told through the outbox. An
        answer may be changed until the schedule is made again."""
        names: dict[str, str] = {}

        def change(row: Forum) -> None:
            mine, theirs = entry(row, stakeholder_id), entry(row, answer.asker)
            if stakeholder_id not in theirs.get("asked", []):
                raise NotFound(f"{answer.asker!r} has not asked {stakeholder_id!r} for a meeting")
            accepted = _without(mine.get("accepted", []), answer.asker)
            declined = _without(mine.get("declined", []), answer.asker)
            (accepted if answer.accept else declined).append(answer.asker)
            self._replace(row, stakeholder_id, {**mine, "accepted": accepted, "declined": declined})
            names.update(forum=row.name)

        out = self._change(forum_id, change)
        by = {p.stakeholder: p.name for p in out.participants}
        about = {"other": by[stakeholder_id], "asker": by[answer.asker], "forum": names["forum"]}
        if answer.accept:
            self._tell_org(answer.asker, said(N_("%(other)s accepted your meeting request"), **about),
                           said(N_("%(other)s accepted a meeting with %(asker)s at %(forum)s.\n\nThe schedule places "
                                   "it once the secretariat makes it again."), **about))
        else:
            self._tell_org(answer.asker, said(N_("%(other)s declined your meeting request"), **about),
                           said(N_("%(other)s declined a meeting with %(asker)s at %(forum)s."), **about))
        return out

    def view(self, forum_id: str, stakeholder_id: str) -> ForumParticipation:
        """The participant's view: its settings, the others ranked by fit (with its marks and the
        requests either way) and its meetings if the schedule is made."""
        self.core.index("stakeholder")
        with Session(self.core.engine) as session:
            row = forum_row(session, forum_id)
            mine = entry(row, stakeholder_id)
            profiles, scores = scores_with(self.core, session, row, stakeholder_id)
            names = {p: profiles[p].name if p in profiles else p for p in (q["stakeholder"] for q in row.participants)}
        by_id = {p["stakeholder"]: p for p in row.participants}
        others = []
        for other_id, other in by_id.items():
            if other_id == stakeholder_id:
                continue
            mark = next((m for m in MARKS if other_id in mine.get(m, [])), None)
            me_profile, them = profiles.get(stakeholder_id), profiles.get(other_id)
            shared = sorted(set(me_profile.themes) & set(them.themes)) \
                if me_profile is not None and them is not None else []
            others.append(ForumOther(
                id=other_id, name=names[other_id], kind=them.kind if them is not None else "",
                score=round(scores.get(pair(stakeholder_id, other_id), 0.0), 4), mark=mark,
                i_asked=other_id in mine.get("asked", []), they_asked=stakeholder_id in other.get("asked", []),
                my_answer="accepted" if other_id in mine.get("accepted", []) else
                "declined" if other_id in mine.get("declined", []) else None,
                their_answer="accepted" if stakeholder_id in other.get("accepted", []) else
                "declined" if stakeholder_id in other.get("declined", []) else None,
                shared_themes=shared))
        others.sort(key=lambda o: (-o.score, o.name))
        meetings = self._meetings_of(forum_id, stakeholder_id)[1] if row.schedule else []
        told = [MeetingOutcomeOut(forum=forum_id, org=o.org, other=other, stage=stage, result=o.result, note=o.note,
                                  answered_by=o.answered_by, answered_at=o.answered_at, version=o.version)
                for (other, stage), o in self._outcomes_of(forum_id, stakeholder_id).items()] \
            if self._outcomes_of else []
        return ForumParticipation(forum=forum_id, forum_name=row.name, participant=stakeholder_id,
                                  name=names[stakeholder_id],
                                  slots=[f"{s['start'][:16].replace('T', ' ')}–{s['end'][11:16]}" for s in row.slots],
                                  available_slots=mine.get("available_slots"), others=others, meetings=meetings,
                                  outcomes=told,
                                  version=row.version)


REMIND_BEFORE_DAYS = 14
"""How long before a forum's first day its participants are reminded to say when they can meet and
whom they want to meet (once per participant and forum)."""


def remind_participants(engine: Any, writer: Any, outbox: Any, now: datetime | None = None, *,
                        limit: int = 500) -> int:
    """Mail the members of each participant of a forum starting within :data:`REMIND_BEFORE_DAYS`
    days: the requests waiting for its answer, and the link to its page. Once per participant and
    forum (a unique reminder row, so racing runs send it once). Returns how many were reminded."""
    now = now or utcnow()
    reminded = 0
    with Session(engine) as session:
        forums = session.exec(select(Forum).where(col(Forum.start_date).is_not(None))).all()
    for forum in forums:
        try:
            first_day = date.fromisoformat(str(forum.start_date))
        except ValueError:
            continue
        if not now.date() <= first_day <= now.date() + timedelta(days=REMIND_BEFORE_DAYS):
            continue
        for p in forum.participants:
            if reminded >= limit:
                return reminded
            key = p["stakeholder"]
            emails = outbox.members_to_remind(key, "forum", f"{forum.external_id}:{key}", now)
            if not emails:
                continue
            waiting = [q["stakeholder"] for q in forum.participants
                       if key in q.get("asked", []) and q["stakeholder"] not in p.get("accepted", [])
                       and q["stakeholder"] not in p.get("declined", [])]
            body = said(N_("%(forum)s starts on %(day)s. Say when you can meet and whom you want to meet, so the "
                           "schedule can use it: %(link)s"), forum=forum.name, day=first_day.isoformat(),
                        link=outbox.link(f"/forums/{forum.external_id}/as/{key}"))
            if waiting:
                body = said("%(first)s\n\n%(then)s", first=body,
                            then=said(N_("%(count)s meeting request(s) wait for your answer there."),
                                      count=len(waiting)))
            outbox.mail(emails, said(N_("%(forum)s: whom do you want to meet?"), forum=forum.name), body)
            reminded += 1
    return reminded
