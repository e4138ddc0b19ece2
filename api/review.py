"""The secretariat's review of profiles sent through the public intake (issue 15, "verified profiles").

A profile sent by the public (the intake form, or a questionnaire uploaded without the secretariat's
rights) is validated like an import, then kept as a :class:`store.models.Submission`: it is not in
the stakeholder table, so it is neither listed nor matched, by construction. The secretariat
approves it (its rows are then imported, marked ``self_declared``), edits it first (the form's row),
or rejects it with a reason. Each decision is one transition of the submission's row version, so two
reviewers deciding at once get one decision and one 409, never two imports.

The queue is bounded: at most :data:`MAX_PENDING` submissions wait, and at most
:data:`MAX_PENDING_PER_SENDER` from one address.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session, col, func, select

from api.core import utcnow
from api.errors import Conflict, InvalidInput, NotFound, TooManyAttempts, conflicts
from api.i18n import N_
from api import intake
from api.importing import Importer
from api.schemas import FlaggedRow, IntakeReport
from store.models import Submission

MAX_PENDING = 500
MAX_PENDING_PER_SENDER = 20
Status = Literal["pending", "approved", "rejected"]


class Review:
    def __init__(self, engine: Any, writer: Any, importer: Importer) -> None:
        self.engine, self.writer, self.importer = engine, writer, importer

    def submit(self, sheets: dict[str, list[dict[str, Any]]], *, channel: Literal["form", "upload"],
               client: str, filename: str | None = None) -> tuple[Submission | None, list[FlaggedRow]]:
        """Validate the rows as an import would (422 naming every row's mistakes), then keep them for
        review. Rows that look like stored organisations come back flagged, and nothing is kept."""
        report = self.importer.import_sheets(sheets, dry_run=True, new_only=True)
        if report.flagged:
            return None, list(report.flagged)
        names = [str(r.get("name") or r.get("title") or "").strip() for rows in sheets.values() for r in rows]
        with Session(self.writer) as session:
            pending = session.exec(select(func.count()).select_from(Submission).where(
                Submission.status == "pending")).one()
            mine = session.exec(select(func.count()).select_from(Submission).where(
                Submission.status == "pending", Submission.client == client)).one()
            if pending >= MAX_PENDING or mine >= MAX_PENDING_PER_SENDER:
                raise TooManyAttempts(N_("the review queue is full for now; please send it to the secretariat later"))
            row = Submission(channel=channel, filename=filename, sheets=_plain(sheets), client=client[:100],
                             summary="; ".join(n for n in names if n)[:500], submitted_at=utcnow())
            session.add(row)
            session.commit()
            session.refresh(row)
        return row, []

    def list(self, status: Status | None = "pending", limit: int = 200) -> list[Submission]:
        with Session(self.engine) as session:
            query = select(Submission).order_by(col(Submission.id).desc()).limit(limit)
            if status:
                query = query.where(Submission.status == status)
            return list(session.exec(query).all())

    def get(self, submission_id: int) -> Submission:
        with Session(self.engine) as session:
            row = session.get(Submission, submission_id)
        if row is None:
            raise NotFound(f"no submission {submission_id}")
        return row

    def approve(self, submission_id: int, *, reviewer: str, confirm_new: bool = False) -> IntakeReport:
        """Import the submission's rows as self-declared profiles and mark it approved. A row that looks
        like a stored organisation stops the approval (flagged) unless ``confirm_new``."""
        self._claim(submission_id, "approving")
        try:
            sheets = self.get(submission_id).sheets
            if confirm_new:
                sheets = {name: [{**r, "confirm_new": "yes"} for r in rows] for name, rows in sheets.items()}
            report = self.importer.import_sheets(sheets, self_declared=True, new_only=True)
        except Exception:
            self._release(submission_id)
            raise
        if report.flagged:
            self._release(submission_id)
            return report
        imported = [str(r.record.get("id")) for r in intake.rows_to_records(sheets) if r.record.get("id")]
        self._decide(submission_id, "approved", reviewer=reviewer, imported=imported)
        return report

    def reject(self, submission_id: int, *, reviewer: str, reason: str) -> Submission:
        reason = reason.replace("\x00", "").strip()
        if not reason:
            raise InvalidInput(N_("a rejection needs its reason"), errors=[
                {"field": "reason", "message": N_("say why, in a sentence the sender can act on")}])
        self._claim(submission_id, "rejecting")
        try:
            return self._decide(submission_id, "rejected", reviewer=reviewer, reason=reason[:1000])
        except Exception:
            self._release(submission_id)
            raise

    def edit(self, submission_id: int, sheets: dict[str, list[dict[str, Any]]]) -> Submission:
        """Replace a pending submission's rows (validated again, every mistake at once)."""
        self.importer.import_sheets(sheets, dry_run=True, new_only=True)
        with Session(self.writer) as session, conflicts():
            row = session.get(Submission, submission_id)
            if row is None:
                raise NotFound(f"no submission {submission_id}")
            if row.status != "pending":
                raise Conflict(f"submission {submission_id} is {row.status}; only a pending one can be edited")
            row.sheets = _plain(sheets)
            session.add(row)
            session.commit()
            session.refresh(row)
            return row

    # a decision is pending -> approving/rejecting (claimed, by the row version) -> approved/rejected

    def _claim(self, submission_id: int, state: str) -> None:
        with Session(self.writer) as session, conflicts():
            row = session.get(Submission, submission_id)
            if row is None:
                raise NotFound(f"no submission {submission_id}")
            if row.status != "pending":
                raise Conflict(f"submission {submission_id} is already {row.status}")
            row.status = state
            session.add(row)
            session.commit()

    def _release(self, submission_id: int) -> None:
        with Session(self.writer) as session:
            row = session.get(Submission, submission_id)
            if row is not None:
                row.status = "pending"
                session.add(row)
                session.commit()

    def _decide(self, submission_id: int, status: Status, *, reviewer: str, reason: str | None = None,
                imported: list[str] | None = None) -> Submission:
        with Session(self.writer) as session:
            row = session.get(Submission, submission_id)
            assert row is not None
            row.status, row.reviewed_at, row.reviewed_by, row.reason = status, utcnow(), reviewer, reason
            row.imported = imported or []
            session.add(row)
            session.commit()
            session.refresh(row)
            return row


def _plain(sheets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The rows as JSON can hold them (cells read from a spreadsheet may be numbers or dates)."""
    return {name: [{str(k): (v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
                    for k, v in row.items()} for row in rows] for name, rows in sheets.items()}
