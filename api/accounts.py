"""Accounts, API tokens and sign-in sessions: who is asking (``api.access`` decides what they may do).

- A **token** (``dldmatch token create``) is a random string shown once; only its SHA-256 is stored,
  so a leaked database gives no usable token. Tokens are scoped to a role and revocable.
- A **password** is stored as an argon2id hash (argon2-cffi). There is no default password: accounts
  are made with the CLI (``dldmatch account create``).
- A **session** is a random cookie key whose SHA-256 is stored with the CSRF token its forms carry, in
  the database, so that every worker and replica knows it.
- Failed sign-ins are counted in the database, per email and per client address, and refused with 429
  over a limit, so that guessing is slow whichever worker answers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, func, select, update

from sqlalchemy.engine import Engine

from api.core import utcnow as _utcnow
from api.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts, Unauthorized, conflicts
from api.i18n import LANGUAGES, N_
from store.models import Account, ApiToken, Invitation, LoginFailure, LoginSession, Stakeholder

Role = Literal["public", "member", "secretariat"]
ROLES: tuple[str, ...] = ("member", "secretariat")  # the roles an account or a token can have
TOKEN_PREFIX = "dldm_"
MIN_PASSWORD = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password: compared against when the email is unknown")


@dataclass(frozen=True)
class Principal:
    """Who a request acts for. ``via`` says how it proved it: nothing, a bearer token or a session
    cookie (whose unsafe requests must carry ``csrf``)."""

    role: Role = "public"
    organisation: str | None = None
    name: str = ""
    account_id: int | None = None
    via: Literal["none", "token", "session"] = "none"
    actor: str = "public"  # as the audit log names it: an account's email, or a token's first characters
    csrf: str | None = None

    @property
    def secretariat(self) -> bool:
        return self.role == "secretariat"

    def member_of(self, organisation: str) -> bool:
        return self.role == "member" and self.organisation == organisation


PUBLIC = Principal()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: int
    prefix: str
    role: str
    organisation: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


class Accounts:
    """Accounts, tokens, sessions and the sign-in limit, over the database (only: the CLI's token and
    account commands use it without loading a model)."""

    SESSION_HOURS = 12
    FAILURE_WINDOW = timedelta(minutes=15)
    MAX_FAILURES_PER_EMAIL = 5
    MAX_FAILURES_PER_CLIENT = 30

    def __init__(self, engine: Engine, writer: Engine) -> None:
        self.engine, self.writer = engine, writer

    # ---- accounts -----------------------------------------------------------------------------

    def create_account(self, email: str, role: str, *, organisation: str | None = None, name: str = "",
                       password: str | None = None) -> Account:
        email = self._email(email)
        organisation = self._scope(role, organisation)
        account = Account(email=email, name=name.replace("\x00", "").strip()[:200], role=role, organisation=organisation,
                          password_hash=self._hash(password) if password is not None else None,
                          created_at=_now())
        with Session(self.writer) as session, conflicts(f"an account with email {email!r} exists"):
            session.add(account)
            session.commit()
            session.refresh(account)
        return account

    def set_password(self, email: str, password: str) -> None:
        password_hash = self._hash(password)
        with Session(self.writer) as session:
            account = session.exec(select(Account).where(Account.email == self._email(email))).first()
            if account is None:
                raise NotFound(f"no account with email {email!r}")
            account.password_hash = password_hash
            session.exec(delete(LoginSession).where(col(LoginSession.account_id) == account.id))  # sign out everywhere
            session.add(account)
            session.commit()

    def accounts(self) -> list[Account]:
        with Session(self.engine) as session:
            return list(session.exec(select(Account).order_by(col(Account.id))).all())

    # ---- invitations ----------------------------------------------------------------------------

    INVITATION_HOURS = 72

    def invite(self, email: str, role: str, *, organisation: str | None = None, name: str = "",
               language: str | None = None) -> tuple[Account, str]:
        """An account without a password (made now, or one that never set its password) and a one-time
        token to set it, valid for 72 hours; earlier unused links of the account stop working. ``language``:
        the language its mail is written in (English when not given)."""
        email = self._email(email)
        language = _language(language)
        organisation = self._scope(role, organisation)
        now = _now()
        token = secrets.token_urlsafe(32)
        with Session(self.writer) as session, conflicts(f"an account with email {email!r} was just made; try again"):
            account = session.exec(select(Account).where(Account.email == email)).first()
            if account is not None and account.password_hash is not None:
                raise Conflict(f"{email} already has an account with a password; use `dldmatch account "
                               "set-password` to change it")
            if account is None:
                account = Account(email=email, name=name.replace("\x00", "").strip()[:200], role=role,
                                  organisation=organisation, created_at=now, language=language)
            else:
                account.role, account.organisation, account.name = role, organisation, name.strip() or account.name
                account.language = language or account.language
            session.add(account)
            session.flush()
            assert account.id is not None
            session.exec(delete(Invitation).where(col(Invitation.account_id) == account.id,
                                                  col(Invitation.used_at).is_(None)))
            session.add(Invitation(account_id=account.id, token_hash=digest(token), created_at=now,
                                   expires_at=now + timedelta(hours=self.INVITATION_HOURS)))
            session.commit()
            session.refresh(account)
        return account, token

    def invitation(self, token: str) -> Account:
        """The account a usable invitation is for (404 when unknown, used or expired)."""
        with Session(self.engine) as session:
            found = session.exec(select(Invitation, Account).join(Account).where(
                Invitation.token_hash == digest(token))).first()
        if found is None or found[0].used_at is not None or _aware(found[0].expires_at) < _now():
            raise NotFound(N_("this invitation link is unknown, used already or expired; ask the secretariat for "
                           "a new one"))
        return found[1]

    def accept_invitation(self, token: str, password: str, *, client: str) -> tuple[str, Principal]:
        """Set the password once through the link, and sign in."""
        password_hash = self._hash(password)
        account = self.invitation(token)
        with Session(self.writer) as session, conflicts():
            # used once: of two requests with the same link, only one finds it unused
            used = session.exec(update(Invitation).where(  # type: ignore[call-overload]
                col(Invitation.token_hash) == digest(token), col(Invitation.used_at).is_(None)).values(used_at=_now()))
            if used.rowcount != 1:
                raise NotFound(N_("this invitation link was used already"))
            stored = session.get(Account, account.id)
            assert stored is not None
            stored.password_hash = password_hash
            session.add(stored)
            session.commit()
        return self.login(account.email, password, client=client)

    # ---- tokens -------------------------------------------------------------------------------

    def create_token(self, role: str, *, organisation: str | None = None, label: str = "") -> str:
        """A new token, returned once (only its hash is kept)."""
        organisation = self._scope(role, organisation)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(token_hash=digest(token), prefix=token[:12], role=role, organisation=organisation,
                       label=label.strip()[:200], created_at=_now())
        with Session(self.writer) as session:
            session.add(row)
            session.commit()
        return token

    def set_language(self, account_id: int, language: str) -> None:
        """The language this account's mail is written in from now on (the web page's switch sets it)."""
        language = _language(language)
        with Session(self.engine) as session:  # read first: a write (and its lock) only for a change
            account = session.get(Account, account_id)
            if account is None or account.language == language:
                return
        with Session(self.writer) as session:
            account = session.get(Account, account_id)
            if account is not None and account.language != language:
                account.language = language
                session.add(account)
                session.commit()

    def tokens(self) -> list[TokenInfo]:
        with Session(self.engine) as session:
            rows = session.exec(select(ApiToken).order_by(col(ApiToken.id))).all()
        return [TokenInfo(r.id, r.prefix, r.role, r.organisation, r.label, r.created_at, r.revoked_at)
                for r in rows if r.id is not None]

    def revoke_token(self, which: str) -> TokenInfo:
        """Revoke by id, by the prefix a list shows, or by the token itself."""
        with Session(self.writer) as session:
            query = select(ApiToken)
            if which.isdigit():
                query = query.where(ApiToken.id == int(which))
            elif which.startswith(TOKEN_PREFIX) and len(which) > 12:
                query = query.where(ApiToken.token_hash == digest(which))
            else:
                query = query.where(ApiToken.prefix == which)
            rows = session.exec(query).all()
            if len(rows) != 1:
                raise NotFound(f"no token {which!r}" if not rows else f"{which!r} names {len(rows)} tokens; give its id")
            row = rows[0]
            row.revoked_at = row.revoked_at or _now()
            session.add(row)
            session.commit()
            assert row.id is not None
            return TokenInfo(row.id, row.prefix, row.role, row.organisation, row.label, row.created_at, row.revoked_at)

    def principal_for_token(self, token: str) -> Principal:
        with Session(self.engine) as session:
            row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
        if row is None or row.revoked_at is not None:
            raise Unauthorized(N_("the bearer token is unknown or revoked"))
        return Principal(role=row.role, organisation=row.organisation,  # type: ignore[arg-type]
                         name=row.label or f"token {row.prefix}", via="token",
                         actor=f"token {row.prefix}…" + (f" ({row.label})" if row.label else ""))

    # ---- sessions -----------------------------------------------------------------------------

    def login(self, email: str, password: str, *, client: str) -> tuple[str, Principal]:
        """A new session key (for the cookie) and who it signs in; 401 when the email or password is
        wrong, 429 when too many sign-ins failed lately for this email or this client."""
        email = email.strip().lower()[:320]
        if "\x00" in email or "\x00" in password:  # no account has one, and PostgreSQL refuses it in a query
            raise Unauthorized(N_("the email or the password is wrong"))
        now = _now()
        since = now - self.FAILURE_WINDOW
        with Session(self.engine) as session:
            by_email = session.exec(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.email == email, col(LoginFailure.at) >= since)).one()
            by_client = session.exec(select(func.count()).select_from(LoginFailure).where(
                LoginFailure.client == client, col(LoginFailure.at) >= since)).one()
            account = session.exec(select(Account).where(Account.email == email)).first()
        if by_email >= self.MAX_FAILURES_PER_EMAIL or by_client >= self.MAX_FAILURES_PER_CLIENT:
            minutes = int(self.FAILURE_WINDOW.total_seconds() // 60)
            raise TooManyAttempts(f"too many failed sign-ins; try again in {minutes} minutes")
        if not self._verify(account.password_hash if account and account.disabled_at is None else None, password):
            with Session(self.writer) as session:
                session.add(LoginFailure(email=email, client=client[:100], at=now))
                session.exec(delete(LoginFailure).where(col(LoginFailure.at) < since))
                session.commit()
            raise Unauthorized(N_("the email or the password is wrong"))
        assert account is not None and account.id is not None
        key, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with Session(self.writer) as session:
            session.add(LoginSession(key_hash=digest(key), account_id=account.id, csrf=csrf, created_at=now,
                                     expires_at=now + timedelta(hours=self.SESSION_HOURS)))
            session.exec(delete(LoginSession).where(col(LoginSession.expires_at) < now))
            session.commit()
        return key, self._principal(account, csrf)

    def session_principal(self, key: str) -> Principal | None:
        """Who a session cookie signs in, or None when it is unknown, expired or its account disabled."""
        with Session(self.engine) as session:
            found = session.exec(select(LoginSession, Account).join(Account).where(
                LoginSession.key_hash == digest(key))).first()
        if found is None:
            return None
        login, account = found
        if _aware(login.expires_at) < _now() or account.disabled_at is not None:
            return None
        return self._principal(account, login.csrf)

    def logout(self, key: str) -> None:
        with Session(self.writer) as session:
            session.exec(delete(LoginSession).where(LoginSession.key_hash == digest(key)))
            session.commit()

    # ---- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _principal(account: Account, csrf: str) -> Principal:
        return Principal(role=account.role, organisation=account.organisation,  # type: ignore[arg-type]
                         name=account.name or account.email, account_id=account.id, via="session", csrf=csrf,
                         actor=account.email)

    def _scope(self, role: str, organisation: str | None) -> str | None:
        """The organisation a role is scoped to: one that exists for a member, none for the secretariat."""
        if role not in ROLES:
            raise InvalidInput(N_("unknown role"), errors=[{"field": "role", "message":
                               f"expected one of {', '.join(ROLES)}; got {role!r}"}])
        if role == "secretariat":
            if organisation:
                raise InvalidInput(N_("the secretariat has no organisation"), errors=[
                    {"field": "organisation", "message": N_("leave it out for the secretariat")}])
            return None
        if not organisation or "\x00" in organisation:
            raise InvalidInput(N_("a member belongs to an organisation"), errors=[
                {"field": "organisation", "message": N_("give the id of the member's organisation")}])
        with Session(self.engine) as session:
            found = session.exec(select(Stakeholder.id).where(Stakeholder.external_id == organisation)).first()
        if found is None:
            raise InvalidInput(N_("no such organisation"), errors=[
                {"field": "organisation", "message": f"no stakeholder with id {organisation!r}"}])
        return organisation

    @staticmethod
    def _email(email: str) -> str:
        email = email.strip().lower()
        if not EMAIL.fullmatch(email) or len(email) > 320 or "\x00" in email:
            raise InvalidInput(N_("invalid email"), errors=[{"field": "email", "message":
                               f"expected an address such as name@example.org; got {email[:80]!r}"}])
        return email

    @staticmethod
    def _hash(password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(N_("password too short"), errors=[{"field": "password", "message":
                               f"use at least {MIN_PASSWORD} characters"}])
        if len(password) > 1024 or "\x00" in password:
            raise InvalidInput(N_("password too long"), errors=[{"field": "password", "message":
                               N_("use at most 1024 characters, and no NUL character")}])
        return _HASHER.hash(password)

    @staticmethod
    def _verify(password_hash: str | None, password: str) -> bool:
        """Always runs one argon2 verification, so an unknown email takes as long as a wrong password."""
        try:
            return _HASHER.verify(password_hash or _DUMMY_HASH, password[:1024]) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False


def _now() -> datetime:
    return _utcnow()


def _aware(value: datetime) -> datetime:
    """A stored time in UTC (SQLite gives it back without its zone)."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


__all__ = ["Accounts", "Conflict", "Forbidden", "Principal", "PUBLIC", "TooManyAttempts", "Unauthorized"]


def _language(language: str | None) -> str | None:
    """A language of the interface, or None; anything else is refused naming the field."""
    if language in (None, ""):
        return None
    if language not in LANGUAGES:
        raise InvalidInput(N_("unknown language"), errors=[{"field": "language", "message": "choose one of "
                                                            + ", ".join(LANGUAGES)}])
    return language
