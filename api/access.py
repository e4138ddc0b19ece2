"""Who may do what: one rule for every route of the app, checked before the route runs.

:data:`RULES` is the table (the README's "Roles" table is made from it by ``dldmatch routes``). A
route without a rule is refused (403) and fails ``tests/api/test_access.py``, which walks every route
of the app as the public, a member of another organisation, a member of the organisation and the
secretariat. Writes that a rule alone cannot decide (a member may add a project only with its own
organisation among the participants) are checked by the route with :func:`require_project_member`.

Requests prove who they are with ``Authorization: Bearer <token>`` (scripts; ``dldmatch token
create``) or the session cookie of a signed-in browser. Unsafe requests made with the cookie, and
every form of the web page sent without a token, carry the session's CSRF token (a ``csrf`` form field
or an ``X-CSRF-Token`` header); before sign-in, forms carry the token of the ``dldmatch_csrf``
cookie. A bearer token needs none: no browser sends it on its own.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.accounts import PUBLIC, Forbidden, Principal, Unauthorized
from api.i18n import N_

if TYPE_CHECKING:
    from api.service import DLDMatch

SESSION_COOKIE = "dldmatch_session"
CSRF_COOKIE = "dldmatch_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Rule:
    who: str  # in words, for the README and for refusals
    allows: Callable[[Principal, Request, "DLDMatch"], bool]
    page: bool = False  # a web page: refusals are a sign-in page or an error page, not JSON


def _anyone(_p: Principal, _r: Request, _s: Any) -> bool:
    return True


def _secretariat(p: Principal, _r: Request, _s: Any) -> bool:
    return p.secretariat


def _signed_in(p: Principal, _r: Request, _s: Any) -> bool:
    return p.role in ("member", "secretariat")


def _member_of(param: str) -> Callable[[Principal, Request, Any], bool]:
    def allows(p: Principal, r: Request, _s: Any) -> bool:
        return p.secretariat or p.member_of(r.path_params.get(param, ""))
    return allows


def _in_project(*, lead: bool) -> Callable[[Principal, Request, "DLDMatch"], bool]:
    """The secretariat, or a member of an organisation taking part in (``lead``: leading) the stored
    project of the path; a project that does not exist is let through, for the route to answer 404.
    Reads the database: the guard runs it in a thread."""
    def allows(p: Principal, r: Request, svc: "DLDMatch") -> bool:
        if p.secretariat:
            return True
        if p.role != "member":
            return False
        from api.errors import NotFound

        try:
            project = svc.get_project(r.path_params.get("external_id", ""))
        except NotFound:
            return True
        return any(x.id == p.organisation and (x.role == "lead" or not lead) for x in project.participants)
    return allows


_project_member, _project_lead = _in_project(lead=False), _in_project(lead=True)


ANYONE = Rule("anyone", _anyone)
SECRETARIAT = Rule("the secretariat", _secretariat)
SIGNED_IN = Rule("a member (for its own organisation) or the secretariat", _signed_in)
PROJECT_MEMBER = Rule("a member of a participating organisation, or the secretariat", _project_member)
PROJECT_LEAD = Rule("a member of the leading organisation, or the secretariat", _project_lead)


def _org(param: str, page: bool = False) -> Rule:
    return Rule(f"a member of that organisation ({{{param}}}), or the secretariat", _member_of(param), page)


def _page(rule: Rule) -> Rule:
    return Rule(rule.who, rule.allows, page=True)


def _rules(method: str, paths: Iterable[str], rule: Rule) -> dict[tuple[str, str], Rule]:
    return {(method, path): rule for path in paths}


RULES: dict[tuple[str, str], Rule] = {
    # ---- API: reading and searching public profiles --------------------------------------------
    **_rules("GET", ["/health", "/themes", "/stakeholders", "/stakeholders/{external_id}",
                     "/stakeholders/{external_id}/partners", "/stakeholders/{external_id}/projects",
                     "/projects", "/projects/{external_id}", "/projects/{external_id}/partners",
                     "/pooling", "/stakeholders/{external_id}/pooling", "/templates/questionnaire.xlsx",
                     "/templates/{sheet}.csv", "/docs", "/openapi.json", "/countries/{code}"], ANYONE),
    ("POST", "/match"): ANYONE,
    # ---- API: profiles and projects -----------------------------------------------------------
    ("POST", "/stakeholders"): SECRETARIAT,
    ("PUT", "/stakeholders/{external_id}"): _org("external_id"),
    ("POST", "/stakeholders/{external_id}/confirm"): _org("external_id"),
    ("GET", "/stale"): SECRETARIAT,
    ("DELETE", "/stakeholders/{external_id}"): SECRETARIAT,
    ("POST", "/projects"): SIGNED_IN,
    ("PUT", "/projects/{external_id}"): PROJECT_MEMBER,
    ("DELETE", "/projects/{external_id}"): PROJECT_LEAD,
    ("POST", "/import"): SECRETARIAT,
    # ---- API: the review queue of the public intake ------------------------------------------------
    ("POST", "/submissions"): ANYONE,
    **_rules("GET", ["/submissions", "/submissions/{submission_id}"], SECRETARIAT),
    **_rules("POST", ["/submissions/{submission_id}/approve", "/submissions/{submission_id}/reject"], SECRETARIAT),
    # ---- API: forums (the secretariat's; a participant reads its own calendar) --------------------
    **_rules("GET", ["/forums", "/forums/{forum_id}", "/forums/{forum_id}/schedule",
                     "/forums/{forum_id}/agenda.csv"], SECRETARIAT),
    **_rules("POST", ["/forums", "/forums/{forum_id}/participants", "/forums/{forum_id}/schedule",
                      "/forums/{forum_id}/meetings/lock", "/forums/{forum_id}/meetings/unlock",
                      "/forums/{forum_id}/meetings/remove", "/forums/{forum_id}/meetings/restore",
                      "/forums/{forum_id}/roundtables"], SECRETARIAT),
    ("PUT", "/forums/{forum_id}"): SECRETARIAT,
    **_rules("DELETE", ["/forums/{forum_id}", "/forums/{forum_id}/participants/{stakeholder_id}"], SECRETARIAT),
    ("GET", "/forums/{forum_id}/participants/{stakeholder_id}/calendar.ics"): _org("stakeholder_id"),
    ("GET", "/forums/{forum_id}/participants/{stakeholder_id}"): _org("stakeholder_id"),
    ("PUT", "/forums/{forum_id}/participants/{stakeholder_id}/preferences"): _org("stakeholder_id"),
    **_rules("POST", ["/forums/{forum_id}/participants/{stakeholder_id}/requests",
                      "/forums/{forum_id}/participants/{stakeholder_id}/answers",
                      "/forums/{forum_id}/participants/{stakeholder_id}/outcomes"], _org("stakeholder_id")),
    # ---- API: consent before contact, invitations (the records' own checks in api.interests) ------
    ("POST", "/interests"): SIGNED_IN,
    **_rules("GET", ["/interests", "/interests/{interest_id}"], SIGNED_IN),
    ("POST", "/interests/{interest_id}/{action}"): SIGNED_IN,
    ("POST", "/invitations"): SECRETARIAT,
    # ---- API: outcomes and no thanks (the records' own checks in api.outcomes) --------------------
    ("POST", "/interests/{interest_id}/outcome"): SIGNED_IN,
    **_rules("GET", ["/outcomes", "/no-thanks"], SIGNED_IN),
    ("GET", "/outcomes/funnel"): SECRETARIAT,
    ("POST", "/no-thanks"): SIGNED_IN,
    ("DELETE", "/no-thanks/{other}"): SIGNED_IN,
    **_rules("GET", ["/audit", "/trash"], SECRETARIAT),
    ("POST", "/trash/{trash_id}/restore"): SECRETARIAT,
    # ---- web page ---------------------------------------------------------------------------
    **_rules("GET", ["/", "/search", "/s/{external_id}", "/s/{external_id}/partners", "/s/{external_id}/projects",
                     "/p/{external_id}", "/p/{external_id}/partners", "/browse", "/overview", "/intake",
                     "/pooling-opportunities", "/s/{external_id}/pooling", "/login", "/country/{code}", "/map"],
             _page(ANYONE)),
    **_rules("POST", ["/login", "/logout"], _page(ANYONE)),
    # from the public, a submission for review; from the secretariat, an import
    **_rules("POST", ["/intake/form", "/intake/upload"], _page(ANYONE)),
    ("GET", "/review"): _page(SECRETARIAT),
    ("GET", "/review/{submission_id}/edit"): _page(SECRETARIAT),
    **_rules("POST", ["/review/{submission_id}/approve", "/review/{submission_id}/reject",
                      "/review/{submission_id}/edit"], _page(SECRETARIAT)),
    **_rules("GET", ["/planner", "/planner/{forum_id}", "/planner/{forum_id}/briefing/{n}"], _page(SECRETARIAT)),
    **_rules("POST", ["/planner", "/planner/{forum_id}/schedule", "/planner/{forum_id}/lock",
                      "/planner/{forum_id}/meetings/{what}", "/planner/{forum_id}/participants",
                      "/planner/{forum_id}/participants/remove", "/planner/{forum_id}/roundtables"],
             _page(SECRETARIAT)),
    ("GET", "/planner/{forum_id}/agenda/{stakeholder_id}"): _org("stakeholder_id", page=True),
    ("GET", "/forums/{forum_id}/as/{stakeholder_id}"): _org("stakeholder_id", page=True),
    **_rules("POST", ["/forums/{forum_id}/as/{stakeholder_id}", "/forums/{forum_id}/as/{stakeholder_id}/ask",
                      "/forums/{forum_id}/as/{stakeholder_id}/answer", "/forums/{forum_id}/as/{stakeholder_id}/outcome"],
             _org("stakeholder_id", page=True)),
    **_rules("GET", ["/p/new"], _page(SIGNED_IN)),
    ("POST", "/p/new"): _page(SIGNED_IN),
    ("GET", "/p/{external_id}/edit"): _page(PROJECT_MEMBER),
    ("POST", "/p/{external_id}/edit"): _page(PROJECT_MEMBER),
    ("GET", "/s/{external_id}/edit"): _org("external_id", page=True),
    ("POST", "/s/{external_id}/confirm"): _org("external_id", page=True),
    ("GET", "/stale-profiles"): _page(SECRETARIAT),
    ("POST", "/s/{external_id}/edit"): _org("external_id", page=True),
    **_rules("GET", ["/s/{external_id}/interest", "/inbox"], _page(SIGNED_IN)),
    **_rules("POST", ["/s/{external_id}/interest", "/inbox/{interest_id}/{action}"], _page(SIGNED_IN)),
    **_rules("POST", ["/inbox/{interest_id}/outcome", "/s/{external_id}/no-thanks", "/hidden/{other}/restore"],
             _page(SIGNED_IN)),
    ("GET", "/hidden"): _page(SIGNED_IN),
    ("GET", "/conversion"): _page(SECRETARIAT),
    **_rules("GET", ["/accounts", "/outbox", "/audit-log", "/deleted"], _page(SECRETARIAT)),
    ("POST", "/deleted/{trash_id}/restore"): _page(SECRETARIAT),
    ("POST", "/accounts/invite"): _page(SECRETARIAT),
    **_rules("GET", ["/invite/{token}"], _page(ANYONE)),
    ("POST", "/invite/{token}"): _page(ANYONE),
}


def rule_for(method: str, path: str) -> Rule | None:
    return RULES.get(("GET" if method == "HEAD" else method, path))


def authenticate(request: Request, svc: "DLDMatch") -> Principal:
    """Who the request is from: its bearer token (401 if unknown or revoked), else its session cookie
    (ignored when expired), else the public."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(N_("the Authorization header must be 'Bearer <token>' (a token from "
                               "`dldmatch token create`)"))
        return svc.accounts.principal_for_token(token.strip())
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        return svc.accounts.session_principal(key) or PUBLIC
    return PUBLIC


_BEARER = HTTPBearer(auto_error=False, description="a token from `dldmatch token create`")


async def guard(request: Request, _token: HTTPAuthorizationCredentials | None = Security(_BEARER)) -> Principal:
    """The app-wide dependency: who asks, and whether the route's rule lets them (401 when signing in
    could help, 403 when it could not, 403 for a form without its CSRF token)."""
    svc: DLDMatch = request.app.state.service
    route = request.scope.get("route")
    rule = rule_for(request.method, getattr(route, "path", ""))
    if rule is not None and rule.page:
        request.state.html = True  # refusals and errors of a page are pages
    if "authorization" in request.headers or SESSION_COOKIE in request.cookies:
        principal = await run_in_threadpool(authenticate, request, svc)  # a database read
    else:
        principal = PUBLIC
    request.state.principal = principal
    if rule is None:
        raise Forbidden(N_("this route has no access rule, so nobody may use it"))
    # CSRF: a browser sends cookies to any site's forms by itself, never an Authorization header
    if request.method not in SAFE_METHODS and principal.via != "token" and (rule.page or principal.via == "session"):
        await _check_csrf(request, principal)
    allowed = rule.allows(principal, request, svc) if rule.allows not in (_project_member, _project_lead) else \
        await run_in_threadpool(rule.allows, principal, request, svc)  # these read the database
    if not allowed:
        if principal.via == "none":
            raise Unauthorized(f"sign in first: this is for {rule.who}")
        raise Forbidden(f"this is for {rule.who}")
    return principal


async def _check_csrf(request: Request, principal: Principal) -> None:
    expected = principal.csrf if principal.via == "session" else request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not secrets.compare_digest(expected, given):
        raise Forbidden(N_("this form is out of date or was not sent from dldmatch (its CSRF token is missing or "
                        "wrong); reload the page and try again"))


def csrf_token(request: Request) -> tuple[str, bool]:
    """The CSRF token a page's forms carry, and whether it is new (to be set as the cookie)."""
    principal: Principal = getattr(request.state, "principal", PUBLIC)
    if principal.via == "session" and principal.csrf:
        return principal.csrf, False
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return secrets.token_urlsafe(24), True


def principal_of(request: Request) -> Principal:
    return getattr(request.state, "principal", PUBLIC)  # type: ignore[no-any-return]


def require_project_member(principal: Principal, participants: Iterable[tuple[str, str]],
                           stored: Iterable[tuple[str, str]] | None = None) -> None:
    """What a member may write of a project's participants: its own organisation must take part (so it
    cannot make a project in another's name, nor hand one away), and it may add or change only its own
    participation: a new project lists it alone, an edit keeps the others' as stored (others join
    themselves, or through the secretariat). ``participants`` and ``stored`` are (organisation, role)."""
    if principal.secretariat:
        return
    mine = principal.organisation
    wanted = set(participants)
    if principal.role != "member" or mine not in {org for org, _ in wanted}:
        raise Forbidden(f"a member may write only projects its own organisation ({mine}) takes part in: add it "
                        "to participants")
    others = {(org, role) for org, role in wanted if org != mine}
    before = {(org, role) for org, role in (stored or ()) if org != mine}
    if others != before:
        raise Forbidden("a member adds or changes only its own organisation's participation; other "
                        "organisations join themselves, or through the secretariat"
                        + (f" (as stored: {', '.join(f'{o}:{r}' for o, r in sorted(before)) or 'none'})"
                           if stored is not None else ""))


def routes_table() -> str:
    """The README's table of routes and who may use them."""
    lines = ["| method | route | who may use it |", "| --- | --- | --- |"]
    for (method, path), rule in sorted(RULES.items(), key=lambda kv: (kv[1].page, kv[0][1], kv[0][0])):
        lines.append(f"| {method} | `{path}` | {rule.who} |")
    return "\n".join(lines)
