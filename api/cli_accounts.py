"""``dldmatch token ...``, ``dldmatch account ...`` and ``dldmatch routes``: who may do what, from the
command line of the machine that holds the database (there is no default password or token).

These commands read and write the database only: they load no model and build no index.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer

from api.accounts import ROLES, Accounts
from api.errors import DomainError

token_cli = typer.Typer(no_args_is_help=True, help="API tokens for scripts: create, list, revoke.")
account_cli = typer.Typer(no_args_is_help=True, help="Accounts that sign in to the web page.")

ROLE_HELP = f"one of {', '.join(ROLES)}"


def _accounts(ctx: typer.Context) -> Accounts:
    from store.db import make_engines

    engines = make_engines(ctx.obj.database_url)
    return Accounts(engines.read, engines.write)


def _audit(accounts: Accounts, action: str, target: str = "") -> None:
    """The CLI's writes in the audit log, as ``cli`` (whoever can run it holds the database)."""
    from api.audit import record

    record(accounts.writer, actor="cli", role="secretariat", action=action, target=target)


def _fail(exc: DomainError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    for e in exc.errors:
        typer.echo(f"  {e.get('field', '')}: {e['message']}", err=True)
    raise typer.Exit(2 if exc.status == 422 else 1)


@token_cli.command("create")
def token_create(ctx: typer.Context, role: str = typer.Option(..., help=ROLE_HELP),
                 org: Optional[str] = typer.Option(None, "--org", help="a member's organisation (stakeholder id)"),
                 label: str = typer.Option("", help="what the token is for, shown in `token list`")) -> None:
    """Print a new token (only its hash is stored: keep it; it is not shown again). Use it as
    ``Authorization: Bearer <token>``."""
    accounts = _accounts(ctx)
    try:
        token = accounts.create_token(role, organisation=org, label=label)
    except DomainError as exc:
        _fail(exc)
    _audit(accounts, "token create", f"{token[:12]}…, role={role}" + (f", org={org}" if org else ""))
    typer.echo(token)


@token_cli.command("list")
def token_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every token: its id, first characters, role, organisation, label and whether it is revoked."""
    tokens = _accounts(ctx).tokens()
    if as_json:
        typer.echo(json.dumps([{**t.__dict__, "created_at": t.created_at.isoformat(),
                                "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None}
                               for t in tokens]))
        return
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        typer.echo(f"{t.id}\t{t.prefix}…\t{t.role}\t{t.organisation or '-'}\t{state}\t{t.label}")


@token_cli.command("revoke")
def token_revoke(ctx: typer.Context, which: str = typer.Argument(..., help="the token's id, its first "
                                                                          "characters as listed, or the token")) -> None:
    """Revoke a token: requests with it are refused (401) from then on, by every worker."""
    accounts = _accounts(ctx)
    try:
        info = accounts.revoke_token(which)
    except DomainError as exc:
        _fail(exc)
    _audit(accounts, "token revoke", f"{info.prefix}…")
    typer.echo(f"revoked token {info.id} ({info.prefix}…, {info.role})")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)  # type: ignore[no-any-return]


@account_cli.command("create")
def account_create(ctx: typer.Context, email: str = typer.Option(...), role: str = typer.Option(..., help=ROLE_HELP),
                   org: Optional[str] = typer.Option(None, "--org", help="a member's organisation (stakeholder id)"),
                   name: str = typer.Option("", help="the person's name, shown when signed in"),
                   password_stdin: bool = typer.Option(False, "--password-stdin",
                                                       help="read the password from the first line of stdin "
                                                            "instead of asking")) -> None:
    """Make an account that signs in to the web page (asks for its password)."""
    accounts = _accounts(ctx)
    try:
        account = accounts.create_account(email, role, organisation=org, name=name, password=_password(password_stdin))
    except DomainError as exc:
        _fail(exc)
    _audit(accounts, "account create", account.email)
    typer.echo(f"account {account.id}: {account.email} ({account.role}{', ' + account.organisation if account.organisation else ''})")


@account_cli.command("invite")
def account_invite(ctx: typer.Context, email: str = typer.Option(...), role: str = typer.Option("member", help=ROLE_HELP),
                   org: Optional[str] = typer.Option(None, "--org", help="a member's organisation (stakeholder id)"),
                   name: str = typer.Option("", help="the person's name"),
                   language: Optional[str] = typer.Option(None, help="the language of the person's mail: en, zh, "
                                                                     "ja, ko, mn or ru (default English)")) -> None:
    """Make an account without a password and a one-time link (72 hours) to set it: mailed through the
    outbox (or SMTP when DLDMATCH_SMTP_URL is set), in the person's language, and printed here."""
    from api.outbox import Outbox, mail_invitation

    accounts = _accounts(ctx)
    try:
        account, token = accounts.invite(email, role, organisation=org, name=name, language=language)
    except DomainError as exc:
        _fail(exc)
    _audit(accounts, "account invite", account.email)
    typer.echo(mail_invitation(Outbox(ctx.obj, accounts.engine, accounts.writer), account, token,
                               accounts.INVITATION_HOURS))


@account_cli.command("set-password")
def account_set_password(ctx: typer.Context, email: str = typer.Option(...),
                         password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    """Set an account's password; its open sessions are signed out."""
    accounts = _accounts(ctx)
    try:
        accounts.set_password(email, _password(password_stdin))
    except DomainError as exc:
        _fail(exc)
    _audit(accounts, "account set-password", email)
    typer.echo(f"password set for {email}")


@account_cli.command("list")
def account_list(ctx: typer.Context) -> None:
    for a in _accounts(ctx).accounts():
        typer.echo(f"{a.id}\t{a.email}\t{a.role}\t{a.organisation or '-'}\t{'has a password' if a.password_hash else 'no password'}")


def routes() -> None:
    """The table of routes and who may use them, as the README's Markdown (from api.access.RULES)."""
    from api.access import routes_table

    typer.echo("<!-- generated by `dldmatch routes` from api/access.py -->")
    typer.echo(routes_table())


def remind(ctx: typer.Context, limit: int = typer.Option(500, min=1, max=10_000,
                                                          help="at most this many questions in one run")) -> None:
    """Ask each side of the accepted interests, through the outbox, the question now due about what came
    of it (two weeks after acceptance, and about six months after), and remind the members of profiles
    not confirmed for a year to confirm or update them, and the participants of a forum starting within
    two weeks to say when they can meet and whom they want to meet, and after a forum what came of its
    meetings. Each is sent once, however often (and from
    however many machines) this runs: run it daily, from cron for example."""
    from api.forum_wishes import remind_participants
    from api.meeting_outcomes import MeetingOutcomes
    from api.freshness import Freshness
    from api.outbox import Outbox
    from api.outcomes import Outcomes
    from store.db import make_engines

    engines = make_engines(ctx.obj.database_url)
    outbox = Outbox(ctx.obj, engines.read, engines.write)
    asked = Outcomes(engines.read, engines.write, outbox).remind(limit=limit)
    stale = Freshness(engines.read, engines.write, outbox).remind(limit=limit)
    forums = remind_participants(engines.read, engines.write, outbox, limit=limit)
    told = MeetingOutcomes(engines.read, engines.write, lambda forum_id: None).remind(outbox, limit=limit)
    if any(asked.values()) or stale or forums or told:
        _audit(_accounts(ctx), "remind", f"first={asked['first']}, later={asked['later']}, stale={stale}, "
                                         f"forums={forums}, meetings={told}")
    typer.echo(f"asked {asked['first']} first question(s) and {asked['later']} later one(s) about introductions; "
               f"reminded {stale} organisation(s) of a profile not confirmed for a year and {forums} forum "
               f"participant(s) to say whom they want to meet; asked {told} participant(s) what came of their "
               "forum meetings")
