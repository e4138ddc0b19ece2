"""Fresh profiles (issue 16, item 3): when each was last confirmed as current, and what happens when
that was over a year ago.

A stakeholder is confirmed whenever someone who may write it saves it (an edit, an import, the API)
or presses *This profile is current* (``POST /stakeholders/{id}/confirm``). After
:data:`STALE_AFTER` without a confirmation it is *stale*: flagged on its page and cards, ranked
lower (its score times ``1 - STALE_PENALTY``, shown as a part of the score of its own), listed for the
secretariat (``/stale``), and its members are reminded through the outbox by ``dldmatch remind``, once
per confirmation date."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from sqlmodel import Session, col, select

from api.core import utc, utcnow
from api.errors import Conflict, NotFound, conflicts
from api.i18n import N_
from api.outbox import said
from matcher.rank import STALE_AFTER, STALE_PENALTY  # noqa: F401  (read from here too)
from store.models import Stakeholder

MAX_LISTED = 5_000


def is_stale(confirmed_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a profile last confirmed then is stale now (never confirmed: stale).

    Example:
        >>> from datetime import timezone
        >>> now = datetime(2026, 12, 7, tzinfo=timezone.utc)
        >>> is_stale(datetime(2025, 12, 1, tzinfo=timezone.utc), now), is_stale(now - timedelta(days=30), now)
        (True, False)
    """
    if confirmed_at is None:
        return True
    return (now or utcnow()) - utc(confirmed_at) > STALE_AFTER  # type: ignore[operator]


class Freshness:
    def __init__(self, engine: Any, writer: Any, outbox: Any, published: Callable[[], None] = lambda: None) -> None:
        self.engine, self.writer, self.outbox = engine, writer, outbox
        self.published = published  # after a commit: this process's search follows it

    def confirm(self, external_id: str, *, version: int | None = None) -> Stakeholder:
        """Mark a stakeholder as current now (``version``: the one read; 409 when changed meanwhile)."""
        from api.indexing import record_changes

        with Session(self.writer) as session, conflicts("the profile was changed meanwhile; read it again"):
            row = session.exec(select(Stakeholder).where(Stakeholder.external_id == external_id)).first()
            if row is None:
                raise NotFound(f"no stakeholder with id {external_id!r}")
            if version is not None and version != row.version:
                raise Conflict(N_("the profile was changed meanwhile; read it again before confirming it"))
            row.confirmed_at = utcnow()
            session.add(row)
            session.flush()
            record_changes(session, {"stakeholder": [row.id]})  # other workers rank it fresh again
            session.commit()
            session.refresh(row)
        self.published()
        return row

    def stale(self, now: datetime | None = None) -> list[Stakeholder]:
        """The stakeholders not confirmed for over a year, the longest unconfirmed first."""
        cutoff = (now or utcnow()) - STALE_AFTER
        with Session(self.engine) as session:
            return list(session.exec(select(Stakeholder).where(
                (col(Stakeholder.confirmed_at).is_(None)) | (col(Stakeholder.confirmed_at) < cutoff))
                .order_by(col(Stakeholder.confirmed_at), col(Stakeholder.external_id)).limit(MAX_LISTED)).all())

    def remind(self, now: datetime | None = None, *, limit: int = 500) -> int:
        """Remind the members of each stale organisation to confirm or update its profile, once per
        confirmation date (a unique row per reminder, so racing runs send it once). Returns how many
        organisations were reminded."""
        reminded = 0
        for row in self.stale(now):
            if reminded >= limit:
                break
            subject = f"{row.external_id}@{utc(row.confirmed_at).isoformat() if row.confirmed_at else 'never'}"
            emails = self.outbox.members_to_remind(row.external_id, "stale_profile", subject, now)
            if not emails:
                continue  # nobody to remind (the secretariat's list shows it), or reminded already
            body = (N_("The profile of %(name)s on dldmatch was last confirmed on %(since)s. Profiles not confirmed "
                       "for a year are ranked lower and marked as possibly out of date.\n\nCheck it and press \"This "
                       "profile is current\", or edit it: %(link)s") if row.confirmed_at else
                    N_("The profile of %(name)s on dldmatch has never been confirmed as current. Profiles not "
                       "confirmed for a year are ranked lower and marked as possibly out of date.\n\nCheck it and "
                       "press \"This profile is current\", or edit it: %(link)s"))
            self.outbox.mail(emails, said(N_("Is the profile of %(name)s still current?"), name=row.name),
                             said(body, name=row.name, since=row.confirmed_at.date().isoformat() if row.confirmed_at
                                  else "", link=self.outbox.link(f"/s/{row.external_id}")))
            reminded += 1
        return reminded
