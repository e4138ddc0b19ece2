"""Mail the service sends (invitations, interests), through one table.

Every mail is stored first, then sent through SMTP when ``DLDMATCH_SMTP_URL`` is set (a failure is
kept with the mail, and the request that caused it still succeeds); without SMTP the mail waits in the
outbox, which the secretariat reads at ``/outbox`` (development, or a deployment without mail).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.core import utcnow
from api.i18n import DEFAULT, LANGUAGES, N_, translations
from api.settings import Settings
from store.models import Account, Reminder, Stakeholder
from store.models import Outbox as OutboxRow

SMTP_TIMEOUT = 10.0  # seconds: a slow mail server never holds a request longer


@dataclass(frozen=True)
class Words:
    """What a mail says, to be said in each reader's language: a catalogue message (marked with ``N_``)
    and its parameters, which may be words of their own.

    Example:
        >>> Words("%(who)s would like to meet you", {"who": "GAN"}).say("en")
        'GAN would like to meet you'
    """

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)

    def say(self, lang: str) -> str:
        text = translations(lang).gettext(self.msgid)
        if not self.params:
            return text
        return text % {k: (v.say(lang) if isinstance(v, Words) else v) for k, v in self.params.items()}


def said(msgid: str, **params: Any) -> Words:
    return Words(msgid, params)


class Outbox:
    def __init__(self, settings: Settings, engine: Any, writer: Any) -> None:
        self.settings, self.engine, self.writer = settings, engine, writer

    def send(self, to: str, subject: str, body: str, *, secret: str | None = None) -> OutboxRow:
        """Store and (with SMTP) send a mail. ``secret`` (a one-time link) is blanked in the stored copy
        once the mail is sent: it then lives only in the recipient's mailbox."""
        subject = " ".join(subject.replace("\x00", "").split())[:300]  # one line: a header cannot hold a break
        row = OutboxRow(to=to.replace("\x00", ""), subject=subject, body=body.replace("\x00", "")[:20_000],
                        created_at=utcnow())
        with Session(self.writer) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
        if self.settings.smtp_url:
            error = self._smtp(row)
            with Session(self.writer) as session:
                stored = session.get(OutboxRow, row.id)
                if stored is not None:
                    stored.sent_at, stored.error = (None, error) if error else (utcnow(), None)
                    if secret and not error:
                        stored.body = stored.body.replace(secret, "[a one-time link, sent by mail and not kept]")
                    session.add(stored)
                    session.commit()
                    session.refresh(stored)
                    row = stored
        return row

    def mail(self, emails: Any, subject: Words, body: Words, *, default: str = DEFAULT,
             secret: str | None = None) -> int:
        """Send one mail to each address (20 at most), each in its reader's language: the language of
        the account with that address, else ``default``. Returns how many were sent."""
        emails = list(dict.fromkeys(e for e in emails if e))[:20]
        known = self.languages(emails)
        for email in emails:
            lang = known.get(email.lower()) or (default if default in LANGUAGES else DEFAULT)
            self.send(email, subject.say(lang), body.say(lang), secret=secret)
        return len(emails)

    def languages(self, emails: list[str]) -> dict[str, str]:
        """The language of the accounts with these addresses (lower-cased), where one is set."""
        if not emails:
            return {}
        with Session(self.engine) as session:
            rows = session.exec(select(Account.email, Account.language).where(
                col(Account.email).in_([e.lower() for e in emails]))).all()
        return {e: lang for e, lang in rows if lang in LANGUAGES}

    def recent(self, limit: int = 200, to: str | None = None) -> list[OutboxRow]:
        with Session(self.engine) as session:
            query = select(OutboxRow).order_by(col(OutboxRow.id).desc()).limit(limit)
            if to:
                query = query.where(OutboxRow.to == to)
            return list(session.exec(query).all())

    def members_to_remind(self, org: str, kind: str, subject: str, at: datetime | None = None) -> list[str]:
        """The e-mails of an organisation's members to send one reminder to, once: empty when it has no
        member, or when a reminder of this ``kind`` and ``subject`` was sent already (a unique row,
        so reminder runs racing on several machines send it once)."""
        with Session(self.engine) as session:
            emails = list(session.exec(select(Account.email).where(
                Account.organisation == org, col(Account.disabled_at).is_(None))).all())
        if not emails:
            return []
        with Session(self.writer) as session:
            session.add(Reminder(kind=kind, subject=subject, sent_at=at or utcnow()))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return []
        return emails[:20]

    def link(self, path: str) -> str:
        return self.settings.public_url.rstrip("/") + path

    def _smtp(self, row: OutboxRow) -> str | None:
        """Send one mail; the error in words, or None."""
        url = urlsplit(self.settings.smtp_url or "")
        try:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = self.settings.mail_from, row.to, row.subject
            message.set_content(row.body)
            make = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
            with make(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25),
                      timeout=SMTP_TIMEOUT) as smtp:
                if url.scheme == "smtp":
                    smtp.ehlo()
                    if smtp.has_extn("starttls"):
                        smtp.starttls()
                if url.username:
                    smtp.login(unquote(url.username), unquote(url.password or ""))
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            return f"{type(exc).__name__}: {exc}"[:500]
        return None


def mail_invitation(outbox: Outbox, account: Any, token: str, hours: int) -> str:
    """Mail an invitation's one-time link to its account; the link."""
    link = outbox.link(f"/invite/{token}")
    if account.organisation:
        with Session(outbox.engine) as session:  # the organisation by its name, as its members know it
            name = session.exec(select(Stakeholder.name).where(Stakeholder.external_id == account.organisation)).first()
        whom = said(N_("a member of %(organisation)s"), organisation=name or account.organisation)
    else:
        whom = said(N_("the NEAMSP secretariat"))
    outbox.mail([account.email], said(N_("Your dldmatch account")),
                said(N_("You are invited to dldmatch, the partner matching of the NEAMSP, as %(whom)s.\n\n"
                        "Set your password within %(hours)s hours (the link works once):\n%(link)s\n"),
                     whom=whom, hours=hours, link=link), secret=link)
    return link
