"""What became of an introduction (issue 16, items 1 and 2): outcomes, and "no thanks".

Each side of an accepted interest tells what came of it, twice, as b2match asks after its events: a
first answer (asked :data:`FIRST_AFTER` after acceptance) and a later one (asked
:data:`LATER_AFTER`, about six months, after it). An answer is one of :data:`RESULTS`; one answer per
side and question, which its members may change (version-checked, so two members answering at once
make one answer and a 409, never a lost write). ``dldmatch remind`` asks the questions that are due,
through the outbox, once each (a unique row per interest, side and question, so replicas running it
at once ask once).

A member may also say *no thanks* to an organisation: it is no longer suggested as a partner of the
member's organisation (nor is one whose interest the organisation declined) until the member takes it
back. Partner results say how many were left out, and why.

The secretariat's funnel counts interests expressed, accepted, met, cooperation started and agreement
reached, overall and by theme, country and kind of the two organisations (``funnel``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Literal

from sqlmodel import Session, col, or_, select

from api.accounts import Principal
from api.core import Memo, utc, utcnow
from api.errors import Conflict, Forbidden, InvalidInput, NotFound, conflicts
from api.i18n import N_
from api.indexing import data_version
from api.outbox import Outbox, said
from store import repo
from store.models import Account, Interest, NoThanks, Outcome, OutcomeQuestion, Stakeholder

RESULTS: dict[str, str] = {
    "no_answer": "No answer from the other side",
    "declined": "One side declined to go further",
    "met": "We met",
    "cooperation_started": "Cooperation started",
    "agreement_reached": "Agreement reached",
}
Result = Literal["no_answer", "declined", "met", "cooperation_started", "agreement_reached"]
Stage = Literal["first", "later"]
STAGES: dict[str, str] = {"first": "first answer", "later": "about six months later"}
FIRST_AFTER = timedelta(days=14)
LATER_AFTER = timedelta(days=182)
LATER_OPENS = timedelta(days=150)  # the later answer can be given from about five months on
MET = frozenset({"met", "cooperation_started", "agreement_reached"})
COOPERATING = frozenset({"cooperation_started", "agreement_reached"})
MAX_NO_THANKS = 2_000  # per organisation
FUNNEL = ("expressed", "accepted", "met", "cooperation", "agreement")


def checked_answer(stage: str, result: str, note: str) -> str:
    """An answer's question and result checked (422 naming the field), and its note cleaned."""
    if result not in RESULTS:
        raise InvalidInput(N_("unknown outcome"), errors=[{"field": "result", "message": "choose one of "
                                                       + ", ".join(RESULTS)}])
    if stage not in STAGES:
        raise InvalidInput(N_("unknown question"), errors=[{"field": "stage", "message": N_("first or later")}])
    note = note.replace("\x00", "").strip()
    if len(note) > 1000:
        raise InvalidInput(N_("note too long"), errors=[{"field": "note", "message": N_("at most 1000 characters")}])
    return note


@dataclass(frozen=True)
class Answered:
    interest_id: int
    org: str
    stage: str
    result: str
    note: str
    answered_by: str
    answered_at: datetime
    version: int


class Outcomes:
    def __init__(self, engine: Any, writer: Any, outbox: Outbox) -> None:
        self.engine, self.writer, self.outbox = engine, writer, outbox
        self._funnel = Memo()  # the funnel, read again only when interests, outcomes or profiles change

    # ---- answers --------------------------------------------------------------------------------

    def answer(self, who: Principal, interest_id: int, stage: Stage, result: Result, note: str = "", *,
               version: int | None = None) -> Outcome:
        """The answer of the member's side to one question about an interest it accepted or had
        accepted; ``version``: the answer read before changing it (409 when changed meanwhile)."""
        if who.role != "member" or not who.organisation:
            raise Forbidden(N_("an outcome is told by a member of one of the two organisations"))
        note = checked_answer(stage, result, note)
        with Session(self.engine) as session:
            interest = session.get(Interest, interest_id)
        if interest is None or who.organisation not in (interest.from_org, interest.to_org):
            raise NotFound(f"no interest {interest_id}")
        accepted = utc(interest.accepted_at)
        if accepted is None:
            raise Conflict(f"the interest is {interest.status} and was never accepted: there is no outcome to tell")
        if stage == "later" and utcnow() < accepted + LATER_OPENS:
            opens = (accepted + LATER_OPENS).date().isoformat()
            raise Conflict(f"the later question opens on {opens}, about six months after the interest was accepted")
        with Session(self.writer) as session, conflicts("another member of your organisation answered meanwhile; "
                                                        "read the answer again"):
            stored = session.exec(select(Outcome).where(Outcome.interest_id == interest_id,
                                                        Outcome.org == who.organisation,
                                                        Outcome.stage == stage)).first()
            now = utcnow()
            if stored is None:
                if version is not None:
                    raise Conflict(N_("there is no answer to change yet; it may have been removed"))
                stored = Outcome(interest_id=interest_id, org=who.organisation, stage=stage, result=result,
                                 note=note, answered_by=who.name, answered_at=now)
            else:
                if version is None or version != stored.version:
                    raise Conflict(f"your organisation already answered ({stored.answered_by}: "
                                   f"{RESULTS[stored.result].lower()}); read it again to change it")
                stored.result, stored.note, stored.answered_by, stored.answered_at = result, note, who.name, now
            session.add(stored)
            session.commit()
            session.refresh(stored)
            return stored

    def of(self, interest_ids: Iterable[int]) -> dict[int, list[Outcome]]:
        """The answers to these interests, by interest (first, then later; each side)."""
        ids = list(dict.fromkeys(interest_ids))
        out: dict[int, list[Outcome]] = defaultdict(list)
        if not ids:
            return out
        with Session(self.engine) as session:
            for row in session.exec(select(Outcome).where(col(Outcome.interest_id).in_(ids))
                                    .order_by(col(Outcome.stage), col(Outcome.org))).all():
                out[row.interest_id].append(row)
        return out

    def visible(self, who: Principal, *, limit: int = 1000) -> list[Outcome]:
        """Every answer for the secretariat; a member: those about its organisation's interests."""
        with Session(self.engine) as session:
            query = select(Outcome).order_by(col(Outcome.id).desc()).limit(limit)
            if not who.secretariat:
                if who.role != "member":
                    raise Forbidden(N_("sign in as a member or the secretariat to see outcomes"))
                mine = select(Interest.id).where(or_(Interest.from_org == who.organisation,
                                                     Interest.to_org == who.organisation))
                query = query.where(col(Outcome.interest_id).in_(mine))
            return list(session.exec(query).all())

    # ---- questions, asked through the outbox ----------------------------------------------------

    def remind(self, now: datetime | None = None, *, limit: int = 500) -> dict[str, int]:
        """Ask each side of the accepted interests the questions now due that it has not answered and
        was not asked yet; at most ``limit`` questions a run. Returns how many of each were asked."""
        now = now or utcnow()
        asked: Counter[str] = Counter()
        with Session(self.engine) as session:
            accepted = session.exec(select(Interest).where(col(Interest.accepted_at).is_not(None),
                                                           Interest.accepted_at <= now - FIRST_AFTER)
                                    .order_by(col(Interest.id))).all()
            done = {(q.interest_id, q.org, q.stage) for q in session.exec(select(OutcomeQuestion).where(
                col(OutcomeQuestion.interest_id).in_([i.id for i in accepted]))).all()} if accepted else set()
            answered = {(o.interest_id, o.org, o.stage) for o in session.exec(select(Outcome).where(
                col(Outcome.interest_id).in_([i.id for i in accepted]))).all()} if accepted else set()
            names = dict(session.exec(select(Stakeholder.external_id, Stakeholder.name).where(col(
                Stakeholder.external_id).in_({o for i in accepted for o in (i.from_org, i.to_org)}))).all()) \
                if accepted else {}
        for interest in accepted:
            since = utc(interest.accepted_at)
            assert since is not None and interest.id is not None
            for stage, after in (("first", FIRST_AFTER), ("later", LATER_AFTER)):
                if now < since + after:
                    continue
                for org, other in ((interest.from_org, interest.to_org), (interest.to_org, interest.from_org)):
                    key = (interest.id, org, stage)
                    if key in done or key in answered or sum(asked.values()) >= limit:
                        continue
                    if not self._claim(interest.id, org, stage, now):
                        continue  # another run asked it meanwhile
                    self._ask(org, names.get(org, org), names.get(other, other), interest.id, stage)
                    asked[stage] += 1
        return {"first": asked["first"], "later": asked["later"]}

    def _claim(self, interest_id: int, org: str, stage: str, now: datetime) -> bool:
        from sqlalchemy.exc import IntegrityError

        with Session(self.writer) as session:
            session.add(OutcomeQuestion(interest_id=interest_id, org=org, stage=stage, asked_at=now))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def _ask(self, org: str, name: str, other: str, interest_id: int, stage: str) -> None:
        with Session(self.engine) as session:
            emails = list(session.exec(select(Account.email).where(Account.organisation == org,
                                                                   col(Account.disabled_at).is_(None))).all())
        body = (N_("Two weeks ago %(name)s and %(other)s agreed to share contacts on dldmatch. Did you meet, and did "
                   "cooperation start? One click tells the NEAMSP secretariat, and helps dldmatch suggest better "
                   "partners: %(link)s") if stage == "first" else
                N_("About six months ago %(name)s and %(other)s agreed to share contacts on dldmatch. Did you meet, "
                   "and did cooperation start? One click tells the NEAMSP secretariat, and helps dldmatch suggest "
                   "better partners: %(link)s"))
        self.outbox.mail(emails, said(N_("What came of meeting %(other)s?"), other=other),
                         said(body, name=name, other=other, link=self.outbox.link(f"/inbox#interest-{interest_id}")))

    # ---- no thanks ------------------------------------------------------------------------------

    def no_thanks(self, who: Principal, other: str) -> NoThanks:
        """The member's organisation does not want ``other`` suggested again (409 when said already)."""
        if who.role != "member" or not who.organisation:
            raise Forbidden(N_("no thanks is said by a member, for its own organisation"))
        if other == who.organisation:
            raise InvalidInput(N_("an organisation is never suggested to itself"), errors=[
                {"field": "other", "message": N_("choose another organisation")}])
        with Session(self.engine) as session:
            if session.exec(select(Stakeholder.id).where(Stakeholder.external_id == other)).first() is None:
                raise NotFound(f"no stakeholder with id {other!r}")
            count = len(session.exec(select(NoThanks.id).where(NoThanks.org == who.organisation)).all())
        if count >= MAX_NO_THANKS:
            raise Conflict(f"{who.organisation} said no thanks to {count} organisations; take some back first")
        row = NoThanks(org=who.organisation, other=other, said_by=who.name, said_at=utcnow())
        with Session(self.writer) as session, conflicts(f"your organisation already said no thanks to {other}"):
            session.add(row)
            session.commit()
            session.refresh(row)
        return row

    def take_back(self, who: Principal, other: str) -> None:
        if who.role != "member" or not who.organisation:
            raise Forbidden(N_("no thanks is taken back by a member, for its own organisation"))
        with Session(self.writer) as session:
            row = session.exec(select(NoThanks).where(NoThanks.org == who.organisation,
                                                      NoThanks.other == other)).first()
            if row is None:
                raise NotFound(f"your organisation did not say no thanks to {other!r}")
            session.delete(row)
            session.commit()

    def said(self, org: str) -> list[NoThanks]:
        with Session(self.engine) as session:
            return list(session.exec(select(NoThanks).where(NoThanks.org == org)
                                     .order_by(col(NoThanks.said_at).desc())).all())

    def not_suggested(self, org: str) -> dict[str, str]:
        return not_suggested(self.engine, org)

    # ---- the secretariat's funnel ----------------------------------------------------------------

    def funnel(self) -> dict[str, Any]:
        """Interests expressed -> accepted -> met -> cooperation -> agreement: overall and by theme,
        country and kind of the two organisations (an interest counts once in each group either side
        belongs to), from the best answer either side gave."""
        with Session(self.engine) as session:
            mark = (repo.table_mark(session, Interest), repo.table_mark(session, Outcome), data_version(session))
            return self._funnel.get(mark, lambda: self._count_funnel(session))  # type: ignore[no-any-return]

    @staticmethod
    def _count_funnel(session: Session) -> dict[str, Any]:
        interests = session.exec(select(Interest.id, Interest.from_org, Interest.to_org,
                                        Interest.accepted_at)).all()
        best: dict[int, set[str]] = defaultdict(set)
        for interest_id, result in session.exec(select(Outcome.interest_id, Outcome.result)):
            best[interest_id].add(result)
        orgs = sorted({o for i in interests for o in (i[1], i[2])})
        profiles: dict[str, Any] = {}
        for start in range(0, len(orgs), 5_000):  # bounded IN lists
            profiles.update({r[0]: r for r in session.exec(
                select(Stakeholder.external_id, Stakeholder.themes, Stakeholder.countries, Stakeholder.kind)
                .where(col(Stakeholder.external_id).in_(orgs[start:start + 5_000])))})
        overall: Counter[str] = Counter()
        groups: dict[str, dict[str, Counter[str]]] = {"theme": defaultdict(Counter), "country": defaultdict(Counter),
                                                      "kind": defaultdict(Counter)}
        for interest_id, from_org, to_org, accepted_at in interests:
            reached = _reached(accepted_at, best.get(interest_id or 0, set()))
            overall.update(reached)
            sides = [profiles[o] for o in (from_org, to_org) if o in profiles]
            for name, values in (("theme", {t["id"] for s in sides for t in s[1]}),
                                 ("country", {c for s in sides for c in s[2]}),
                                 ("kind", {s[3] for s in sides})):
                for value in values:
                    groups[name][value].update(reached)
        return {"stages": list(FUNNEL), "overall": {s: overall[s] for s in FUNNEL},
                "by": {name: {value: {s: c[s] for s in FUNNEL} for value, c in sorted(
                    by.items(), key=lambda kv: (-kv[1]["expressed"], kv[0]))} for name, by in groups.items()}}


def not_suggested(engine: Any, org: str) -> dict[str, str]:
    """Organisations not to suggest as partners of ``org``, each with the reason: it said no thanks to
    them, or declined their interest."""
    with Session(engine) as session:
        declined = session.exec(select(Interest.from_org).where(Interest.to_org == org,
                                                                Interest.status == "declined")).all()
        said = session.exec(select(NoThanks.other).where(NoThanks.org == org)).all()
    out = {o: "its interest was declined" for o in declined}
    out.update({o: "no thanks was said to it" for o in said})
    return out


def _reached(accepted_at: datetime | None, results: set[str]) -> list[str]:
    """The funnel stages an interest reached (accepted when, and the results either side told)."""
    out = ["expressed"]
    if accepted_at is None:
        return out
    out.append("accepted")
    if results & MET:
        out.append("met")
    if results & COOPERATING:
        out.append("cooperation")
    if "agreement_reached" in results:
        out.append("agreement")
    return out


def funnel_rows(result: dict[str, Any]) -> list[list[Any]]:
    """The funnel as rows for a download: overall first, then each group's values, then the forum
    meetings (scheduled in the columns expressed and accepted)."""
    stages = result["stages"]
    rows = [["all", "all", *(result["overall"][s] for s in stages)]]
    for group, values in result["by"].items():
        rows.extend([group, value, *(counts[s] for s in stages)] for value, counts in values.items())
    if result.get("meetings"):  # a meeting the schedule placed is an introduction both sides accepted
        m = result["meetings"]
        rows.append(["forum meetings", "all", m["scheduled"], m["scheduled"], m["met"], m["cooperation"],
                     m["agreement"]])
    return rows
