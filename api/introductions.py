"""The introductions signal read from the store (issue 16, item 2; the rule is ``matcher.feedback``).

The outcomes of accepted interests and of forum meetings become one introduction per pair of
organisations; each organisation's record is kept for :data:`TTL` seconds. One search a minute per
process reads the outcomes again (one query per table, joined to the interests' pairs) while the others
go on with the records they have; a failed read keeps the old records and is tried again a minute
later. Read only when the ranking weighs the signal (``DLDMATCH_INTRODUCTIONS_WEIGHT``, 0 by default:
off until measured, see the README).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Iterator

from sqlmodel import Session, select

from matcher.feedback import MIN_PARTNERS, Record, pairs, records
from store.models import Interest, MeetingOutcome, Outcome

TTL = 60.0
log = logging.getLogger(__name__)


class Introductions:
    def __init__(self, engine: Any, *, ttl: float = TTL, least: int = MIN_PARTNERS) -> None:
        self.engine, self.ttl, self.least = engine, ttl, least
        self._refreshing = threading.Lock()
        self._read_at = -float("inf")
        self._records: dict[str, Record] = {}

    def records(self) -> dict[str, Record]:
        """Each organisation's record (by stakeholder id), about :attr:`ttl` seconds old at most: the
        one caller that finds it due reads the store; callers meanwhile get the records as they were."""
        if time.monotonic() - self._read_at >= self.ttl and self._refreshing.acquire(blocking=False):
            try:
                if time.monotonic() - self._read_at >= self.ttl:
                    try:
                        self._records = records(pairs(self.answers()), least=self.least)
                    except Exception:  # noqa: BLE001  (a search must not fail for a signal it can do without)
                        log.exception("cannot read the outcomes of introductions; keeping the records read before")
                    self._read_at = time.monotonic()
            finally:
                self._refreshing.release()
        return self._records

    def forget(self) -> None:
        """Read the store again at the next search (after a change the caller wants seen at once)."""
        self._read_at = -float("inf")

    def answers(self) -> Iterator[tuple[str, str, str]]:
        """``(one side, the other, an answer)`` for every answer about an accepted interest or a forum
        meeting (an interest is answered only once accepted; a withdrawn one keeps its answers)."""
        with Session(self.engine) as session:
            yield from session.exec(select(Interest.from_org, Interest.to_org, Outcome.result)
                                    .join(Outcome, Outcome.interest_id == Interest.id)).all()
            yield from session.exec(select(MeetingOutcome.a, MeetingOutcome.b, MeetingOutcome.result)).all()
