"""The introductions signal read from the store (issue 16, item 2; the rule is ``matcher.feedback``).

Accepted interests with their outcomes, declined interests, and forum meetings with theirs become
``(organisation, succeeded)`` trials; each organisation's record is kept for :data:`TTL` seconds, so a
search reads three small aggregate queries at most once a minute per process (replicas each read their
own; an answer given now counts within the minute). Read only when the ranking weighs the signal
(``DLDMATCH_INTRODUCTIONS_WEIGHT``, 0 by default: off until measured, see the README).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any, Iterator

from sqlmodel import Session, col, select

from matcher.feedback import SUCCESS, Record, best, records
from store.models import Interest, MeetingOutcome, Outcome

TTL = 60.0


class Introductions:
    def __init__(self, engine: Any, *, ttl: float = TTL) -> None:
        self.engine, self.ttl = engine, ttl
        self._lock = threading.Lock()
        self._read_at = -float("inf")
        self._records: dict[str, Record] = {}

    def records(self) -> dict[str, Record]:
        """Each organisation's record (by stakeholder id), at most :attr:`ttl` seconds old."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.ttl:
                self._records = records(self.trials())
                self._read_at = time.monotonic()
            return self._records

    def forget(self) -> None:
        """Read the store again at the next search (after a change the caller wants seen at once)."""
        with self._lock:
            self._read_at = -float("inf")

    def trials(self) -> Iterator[tuple[str, bool]]:
        """One trial per organisation and introduction: both sides of an accepted interest or a forum
        meeting that either side answered, and the side that declined an interest."""
        with Session(self.engine) as session:
            answers: dict[int, list[str]] = defaultdict(list)
            for interest_id, result in session.exec(select(Outcome.interest_id, Outcome.result)):
                answers[interest_id].append(result)
            rows = session.exec(select(Interest.id, Interest.from_org, Interest.to_org, Interest.status,
                                       Interest.accepted_at, Interest.brokered, Interest.forwarded_at).where(
                col(Interest.status).in_(["accepted", "declined", "withdrawn"]))).all()
            meetings: dict[tuple[str, str, str], list[str]] = defaultdict(list)
            for forum, a, b, result in session.exec(select(MeetingOutcome.forum, MeetingOutcome.a, MeetingOutcome.b,
                                                           MeetingOutcome.result)):
                meetings[(forum, a, b)].append(result)
        for interest_id, from_org, to_org, status, accepted_at, brokered, forwarded_at in rows:
            if status == "declined" and accepted_at is None:
                if not brokered or forwarded_at is not None:  # the other side declined it (not the secretariat)
                    yield to_org, False
                continue
            went = best(answers.get(interest_id, ()))
            if accepted_at is not None and went is not None:  # withdrawn after acceptance: its answers still count
                yield from_org, went in SUCCESS
                yield to_org, went in SUCCESS
        for (_, a, b), results in meetings.items():
            went = best(results)
            yield a, went in SUCCESS
            yield b, went in SUCCESS
