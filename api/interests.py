"""Consent before contact (issue 15, item 5), as TerraMatch and the Enterprise Europe Network do it.

A member expresses interest in another organisation with a short message; the other side accepts or
declines; contacts are shown to both only while the interest is accepted; either side can withdraw,
which hides them again. A member may instead ask the secretariat to broker: the interest then goes to
the secretariat first, which forwards or declines it. The secretariat sees every interest.

States: ``brokering`` -> ``open`` (forwarded) -> ``accepted`` / ``declined``; any live one ->
``withdrawn``. Each change is checked against the row version (409 when another request changed it
first), and a pair has at most one live interest (a unique column, so racing requests make one).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from sqlmodel import Session, col, or_, select

from api.accounts import Principal
from api.core import utcnow
from api.errors import Conflict, Forbidden, InvalidInput, NotFound, conflicts
from api.i18n import DEFAULT, LANGUAGES, N_
from api.outbox import Outbox, Words, said
from api.schemas import ID_PATTERN
from store.models import Account, Interest, Stakeholder

LIVE = ("brokering", "open", "accepted")
Action = Literal["accept", "decline", "withdraw", "forward"]
MAX_LIVE_PER_ORG = 200  # interests one organisation may have open at once


def pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


class Interests:
    def __init__(self, engine: Any, writer: Any, outbox: Outbox) -> None:
        self.engine, self.writer, self.outbox = engine, writer, outbox

    def express(self, who: Principal, to_org: str, message: str = "", *, broker: bool = False) -> Interest:
        if who.role != "member" or not who.organisation:
            raise Forbidden(N_("interest is expressed by a member, for its own organisation"))
        if to_org == who.organisation:
            raise InvalidInput(N_("an organisation cannot express interest in itself"), errors=[
                {"field": "to", "message": N_("choose another organisation")}])
        message = message.replace("\x00", "").strip()
        if not re.fullmatch(ID_PATTERN, to_org):
            raise NotFound(f"no stakeholder with id {to_org[:80]!r}")
        if len(message) > 1000:
            raise InvalidInput(N_("message too long"), errors=[{"field": "message", "message": N_("at most 1000 characters")}])
        names = self._names([who.organisation, to_org])
        if to_org not in names:
            raise NotFound(f"no stakeholder with id {to_org!r}")
        now = utcnow()
        row = Interest(from_org=who.organisation, to_org=to_org, message=message,
                       status="brokering" if broker else "open", brokered=broker,
                       live_pair=pair_key(who.organisation, to_org), created_by=who.name, created_at=now,
                       updated_at=now)
        with Session(self.writer) as session:
            live = session.exec(select(Interest).where(Interest.live_pair == row.live_pair)).first()
            if live is not None:
                raise Conflict(_already(live, who.organisation))
            count = len(session.exec(select(Interest.id).where(Interest.from_org == who.organisation,
                                                               col(Interest.status).in_(LIVE))).all())
            if count >= MAX_LIVE_PER_ORG:
                raise Conflict(f"{who.organisation} has {count} live interests; close some first")
            with conflicts("the two organisations already have a live interest; see the inbox"):
                session.add(row)
                session.commit()
            session.refresh(row)
        pair = {"asker": names[who.organisation], "other": names[to_org], "message": message,
                "link": self.outbox.link("/inbox")}
        if broker:
            self.outbox.mail(self._secretariat(), said(N_("To broker: %(asker)s would like to meet %(other)s"), **pair),
                             said(N_("%(asker)s asks the secretariat to broker an introduction to %(other)s.\n\n"
                                     "%(message)s\n\nForward or decline it: %(link)s"), **pair))
        else:
            self._tell_org(to_org, said(N_("%(asker)s would like to meet you"), **pair),
                           said(N_("%(asker)s expressed interest in %(other)s on dldmatch.\n\n%(message)s\n\n"
                                   "Accept or decline: %(link)s\nContacts are shared only if you accept."), **pair))
        return row

    def visible(self, who: Principal, *, limit: int = 500) -> list[Interest]:
        """The secretariat: every interest; a member: those of its organisation; newest first."""
        with Session(self.engine) as session:
            query = select(Interest).order_by(col(Interest.id).desc()).limit(limit)
            if not who.secretariat:
                if who.role != "member":
                    raise Forbidden(N_("sign in as a member or the secretariat to see interests"))
                query = query.where(or_(Interest.from_org == who.organisation, Interest.to_org == who.organisation))
            return [r for r in session.exec(query).all() if _shown_to(who, r)]

    def get(self, who: Principal, interest_id: int) -> Interest:
        with Session(self.engine) as session:
            row = session.get(Interest, interest_id)
        if row is None or not _shown_to(who, row):
            raise NotFound(f"no interest {interest_id}")  # another's interest is not shown to exist
        return row

    def act(self, who: Principal, interest_id: int, action: Action) -> Interest:
        row = self.get(who, interest_id)
        org = who.organisation if who.role == "member" else None
        allowed: dict[str, tuple[tuple[str, ...], bool]] = {
            # action: (from which states, whether this principal may)
            "accept": (("open",), org == row.to_org),
            "decline": (("open",), org == row.to_org) if row.status == "open" else (("brokering",), who.secretariat),
            "withdraw": (LIVE, org == row.from_org or (org == row.to_org and row.status != "brokering")),
            "forward": (("brokering",), who.secretariat),
        }
        states, may = allowed[action]
        if not may:
            raise Forbidden({"accept": "only the organisation the interest is for may accept it",
                             "decline": "only the organisation the interest is for (or the secretariat, while it "
                                        "brokers) may decline it",
                             "withdraw": "only one of the two organisations may withdraw it",
                             "forward": "only the secretariat forwards a brokered interest"}[action])
        if row.status not in states:
            raise Conflict(f"the interest is {row.status}; it cannot be {_done(action)} now")
        status = {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn", "forward": "open"}[action]
        with Session(self.writer) as session, conflicts():
            stored = session.get(Interest, interest_id)
            if stored is None or stored.version != row.version:
                raise Conflict(N_("the interest was changed by another request meanwhile; read it again"))
            stored.status, stored.updated_at, stored.decided_by = status, utcnow(), who.name
            if action == "forward":
                stored.forwarded_at = stored.updated_at
            if action == "accept":
                stored.accepted_at = stored.updated_at
            stored.live_pair = stored.live_pair if status in LIVE else None
            session.add(stored)
            session.commit()
            session.refresh(stored)
        names = self._names([row.from_org, row.to_org])
        names = {o: names.get(o, o) for o in (row.from_org, row.to_org)}  # an organisation deleted since keeps its id
        pair = {"asker": names[row.from_org], "other": names[row.to_org], "message": row.message,
                "link": self.outbox.link("/inbox")}
        if action == "forward":
            self._tell_org(row.to_org, said(N_("%(asker)s would like to meet you"), **pair),
                           said(N_("The NEAMSP secretariat forwards an interest of %(asker)s in %(other)s.\n\n"
                                   "%(message)s\n\nAccept or decline: %(link)s"), **pair))
        elif action == "accept":
            self._tell_org(row.from_org, said(N_("%(other)s accepted your interest"), **pair),
                           said(N_("%(other)s accepted the interest of %(asker)s.\n\nYou can now see each other's "
                                   "contacts: %(link)s\nIn two weeks, and again in about six months, dldmatch will "
                                   "ask both of you what came of it."), **pair))
        elif action == "decline":
            self._tell_org(row.from_org, said(N_("%(other)s declined your interest"), **pair),
                           said(N_("%(other)s declined the interest of %(asker)s."), **pair))
        return stored

    def contacts(self, who: Principal, row: Interest) -> dict[str, dict[str, Any]] | None:
        """Both sides' contacts, for the two sides and the secretariat, only while accepted."""
        if row.status != "accepted" or not (who.secretariat or who.organisation in (row.from_org, row.to_org)):
            return None
        with Session(self.engine) as session:
            rows = session.exec(select(Stakeholder).where(col(Stakeholder.external_id).in_(
                [row.from_org, row.to_org]))).all()
        return {s.external_id: dict(s.contact or {}) for s in rows}

    # ---- helpers ------------------------------------------------------------------------------

    def refs(self, ids: list[str]) -> dict[str, tuple[str, str]]:
        """Name and kind of each of these organisations."""
        with Session(self.engine) as session:
            rows = session.exec(select(Stakeholder.external_id, Stakeholder.name, Stakeholder.kind).where(
                col(Stakeholder.external_id).in_(ids))).all()
        return {i: (name, kind) for i, name, kind in rows}

    def _names(self, ids: list[str]) -> dict[str, str]:
        return {i: name for i, (name, _) in self.refs(ids).items()}

    def _secretariat(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.exec(select(Account.email).where(Account.role == "secretariat",
                                                                 col(Account.disabled_at).is_(None))).all())

    def _tell_org(self, org: str, subject: Words, body: Words) -> None:
        """Mail the organisation's members, each in the language of its account; without any member,
        its stored contact, in the first of its languages the interface has; without one, nobody (the
        secretariat sees every interest)."""
        default = DEFAULT
        with Session(self.engine) as session:
            emails = list(session.exec(select(Account.email).where(Account.organisation == org,
                                                                   col(Account.disabled_at).is_(None))).all())
            if not emails:
                row = session.exec(select(Stakeholder.contact, Stakeholder.languages).where(
                    Stakeholder.external_id == org)).first()
                contact, spoken = (row[0], row[1]) if row else (None, [])
                emails = [contact["email"]] if contact and contact.get("email") else []
                codes = (str(lang).strip().lower().split("-")[0] for lang in spoken or [])
                default = next((code for code in codes if code in LANGUAGES), DEFAULT)
        self.outbox.mail(emails, subject, body, default=default)

    tell_org = _tell_org  # the forums tell participants of meeting requests the same way


def _shown_to(who: Principal, row: Interest) -> bool:
    """The secretariat sees every interest; its sender sees it; the organisation it is for sees it
    unless it was brokered and never forwarded to it."""
    if who.secretariat:
        return True
    if who.role != "member":
        return False
    return who.organisation == row.from_org or (
        who.organisation == row.to_org and (not row.brokered or row.forwarded_at is not None))


def _already(live: Interest, me: str) -> str:
    if live.to_org == me and live.status == "open":
        return "the other organisation already expressed interest in yours: accept it in your inbox"
    if live.from_org == me:
        return f"your organisation already has an interest in progress with it ({live.status}); see your inbox"
    return "an introduction between the two organisations is already in progress; ask the secretariat"


def _done(action: str) -> str:
    return {"accept": "accepted", "decline": "declined", "withdraw": "withdrawn", "forward": "forwarded"}[action]
