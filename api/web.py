"""The web page: server-rendered pages over the same service object as the API.

Every asset is served from this app. Pages render explanations from the same data the API returns.
"""

from __future__ import annotations

import html
import math
import logging
import re
from urllib.parse import urlencode
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Callable, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from api.access import CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, csrf_token, principal_of
from api.accounts import Accounts
from api.downloads import (MATCH_HEADER, POOL_HEADER, PROJECT_HEADER, STAKEHOLDER_HEADER, download, match_rows,
                           overview_rows, pool_rows, project_rows,
                           stakeholder_rows)
from api.errors import DomainError, InvalidInput
from api.messages import plain, translate
from api.i18n import COOKIE as LANGUAGE_COOKIE, DEFAULT as DEFAULT_LANGUAGE, LANGUAGES, N_, gettext, language_of, translations
from api.i18n import t, translator as tr
from api.outcomes import RESULTS
from api.web_forums import add_participant_pages
from api.web_people import add_people_pages
from api.reading import PURPOSE_MAX
from api.schemas import MatchRequest, RowId
from api.service import DLDMatch
from matcher.text import script_language
from matcher.vocab import COUNTRIES, PROJECT_STATUSES, RESOURCE_KINDS, ROLES, STAKEHOLDER_KINDS

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
COMPONENT_LABELS = {"consortium": "track record and text (learned)", "past_projects": "a similar past project",
                    "lexical": "shared words (across scripts: meaning)", "network2": "partners of partners", "popularity": "experience",
                    "semantic": "text similarity", "themes": "shared themes", "complementarity": "needs met",
                    "geography": "same places", "kinds": "complementary kinds", "network": "common partners",
                    "intent": "offers what you seek", "stale": "not confirmed for a year",
                    "spread": "spreading suggestions", "introductions": "introductions that became cooperation"}



def _highlight(sentence: str, keywords: list[str]) -> Markup:
    """The sentence, escaped, with its theme keywords marked."""
    text = str(escape(sentence))
    for keyword in sorted(set(keywords), key=len, reverse=True):
        pattern = re.compile(r"(?<![\w>])(" + re.escape(str(escape(keyword))).replace(r"\ ", r"[\s-]+") + r"\w*)",
                             re.IGNORECASE)
        text = pattern.sub(r"<mark>\1</mark>", text, count=1)
    return Markup(text)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["highlight"] = _highlight
    env.filters["country"] = pass_context(lambda ctx, code: _in(ctx)["countries"].get(code, code))
    env.filters["lang"] = script_language
    env.filters["resource"] = pass_context(lambda ctx, code: _in(ctx)["resources"].get(code, code))
    env.filters["theme_label"] = pass_context(lambda ctx, theme: ctx.get("theme_labels", {}).get(theme, theme))
    env.filters["role"] = pass_context(lambda ctx, code: _in(ctx)["roles"].get(code, code))
    env.globals["csrf_field"] = _csrf_field
    env.globals["language_link"] = _language_link
    env.filters["msg"] = pass_context(lambda ctx, message: translate(ctx.get("lang", DEFAULT_LANGUAGE), str(message or "")))
    env.globals.update(languages=LANGUAGES, **vocabularies(DEFAULT_LANGUAGE))
    return templates


@lru_cache(maxsize=None)
def vocabularies(lang: str) -> dict[str, dict[str, str]]:
    """The labels pages show for codes, in one language: kinds, countries, score parts, roles, resources,
    project statuses."""
    t = partial(gettext, lang)
    return {"kinds": {k: t(v) for k, v in STAKEHOLDER_KINDS.items()},
            "countries": {k: t(v) for k, v in COUNTRIES.items()},
            "labels": {k: t(v) for k, v in COMPONENT_LABELS.items()},
            "roles": {k: t(v) for k, v in ROLES.items()},
            "resources": {k: t(v.label) for k, v in RESOURCE_KINDS.items()},
            "statuses": {k: t(v) for k, v in PROJECT_STATUSES.items()},
            "results": {k: t(v) for k, v in RESULTS.items()},
            "account_roles": {k: t(v) for k, v in ACCOUNT_ROLES.items()},
            "record_kinds": {k: t(v) for k, v in RECORD_KINDS.items()},
            "fields": {k: t(v) for k, v in FIELD_LABELS.items()}}


ACCOUNT_ROLES = {"secretariat": "secretariat", "member": "member"}
RECORD_KINDS = {"stakeholder": "organisation", "project": "project"}
FIELD_LABELS = {"name": "name", "original_name": "name in its own script", "kind": "kind", "title": "title",
                "description": "description", "countries": "countries", "places": "places", "offers": "offers",
                "needs": "needs", "seeks": "seeks", "participants": "participants", "status": "status",
                "start_year": "start year", "end_year": "end year", "website": "website", "themes": "themes",
                "budget": "budget", "funding_sought": "funding sought", "aliases": "other names"}
"""The profile fields a source supports, as a page names them."""


def _in(context: Any) -> dict[str, dict[str, str]]:
    return vocabularies(context.get("lang", DEFAULT_LANGUAGE))


@pass_context
def _gettext(context: Any, message: str) -> str:
    return translations(context.get("lang", DEFAULT_LANGUAGE)).gettext(message)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return translations(context.get("lang", DEFAULT_LANGUAGE)).ngettext(singular, plural, n)


@pass_context
def _language_link(context: Any, code: str) -> str:
    """This page in another language: the same path and query, ``lang`` set (a link within the site)."""
    request = context["request"]
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", code)]
    return f"{request.url.path}?{urlencode(query)}"


@pass_context
def _csrf_field(context: Any) -> Markup:
    """The hidden field every form of the web page carries (README, "Roles": CSRF)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, context.get("csrf_token", ""))


def _safe_next(target: str) -> str:
    """Where to go after sign-in: a path of this site only (never another site)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _mark_html(request: Request) -> None:
    request.state.html = True  # errors on these routes are rendered as pages, not JSON


def remember_language(request: Request, response: Response) -> None:
    """A language chosen with the switch (``?lang=``) holds for the next pages: a cookie of a year; for
    a signed-in person, also the language its mail is written in from now on."""
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES and chosen != request.cookies.get(LANGUAGE_COOKIE):
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax", secure=_secure(request))
    else:
        return  # no switch, or the language in force already: nothing to keep
    me = principal_of(request)
    if me.account_id is not None:
        try:
            request.app.state.service.accounts.set_language(me.account_id, chosen)
        except Exception:  # noqa: BLE001  (the page is shown whatever happens to this preference)
            log.exception("cannot keep the language of account %s", me.account_id)


def with_purpose(url: str, result: Any) -> str:
    """A link to another view of the same partner search, keeping the purpose it was asked for."""
    purpose = result.query.get("purpose")
    return f"{url}&{urlencode({'purpose': purpose})}" if purpose else url


def base_of(request: Request) -> str:
    """This site's address as the request reached it (for the page links in downloads)."""
    return str(request.base_url).rstrip("/")


def _secure(request: Request) -> bool:
    """Cookies are marked Secure when the page was reached over HTTPS (directly or behind a proxy)."""
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


TIME_ZONES = (("Asia/Ulaanbaatar", "Ulaanbaatar (Mongolia, UTC+8)"), ("Asia/Hovd", "Khovd (western Mongolia, UTC+7)"),
              ("Asia/Shanghai", "Beijing (China, UTC+8)"), ("Asia/Pyongyang", "Pyongyang (DPRK, UTC+9)"),
              ("Asia/Seoul", "Seoul (Republic of Korea, UTC+9)"), ("Asia/Tokyo", "Tokyo (Japan, UTC+9)"),
              ("Europe/Moscow", "Moscow (Russian Federation, UTC+3)"),
              ("Asia/Irkutsk", "Irkutsk (Russian Federation, UTC+8)"),
              ("Asia/Vladivostok", "Vladivostok (Russian Federation, UTC+10)"),
              ("Asia/Bangkok", "Bangkok (ESCAP, UTC+7)"), ("UTC", "UTC"))
"""The forum planner's choice of time zones: the region's capitals, ESCAP's seat, UTC (the API takes any)."""


def build_router(templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(dependencies=[Depends(_mark_html)], include_in_schema=False)

    def svc_of(request: Request) -> DLDMatch:
        return request.app.state.service  # type: ignore[no-any-return]

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        svc = svc_of(request)
        lang = language_of(request)
        context.update(vocabularies(lang), lang=lang)
        context.setdefault("theme_labels", {t.id: t.label_in(lang) for t in svc.vocabulary.values()})
        context.setdefault("theme_in", {t.label: t.label_in(lang) for t in svc.vocabulary.values()})
        context.setdefault("has_pooling", True)
        context.setdefault("purpose_max", PURPOSE_MAX)
        me = principal_of(request)
        context.setdefault("has_forums", me.secretariat)
        token, new = csrf_token(request)
        context.update(me=me, csrf_token=token)
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
        if new:
            response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
        remember_language(request, response)
        return response

    def in_words(request: Request, why: Callable[..., str], forum: Any) -> Callable[..., str]:
        """A meeting's reasons in the page's language, with what the participants said of it."""
        from api.forum_plans import said_of

        lang = language_of(request)
        labels = {t.id: t.label_in(lang) for t in svc_of(request).vocabulary.values()}
        return partial(why, lang=lang, theme_labels=labels, said=said_of(forum.participants))

    add_people_pages(router, page, svc_of, _secure)
    add_participant_pages(router, page, svc_of)

    # ---- signing in ------------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
        return page(request, "login.html", next=_safe_next(next), email="", error=None)

    @router.post("/login", response_class=HTMLResponse)
    def login(request: Request, email: str = Form(""), password: str = Form(""),
              next: str = Form("/")) -> Response:  # noqa: A002
        accounts: Accounts = svc_of(request).accounts
        client = request.client.host if request.client else "unknown"
        try:
            key, request.state.principal = accounts.login(email, password, client=client)  # the audit names them
        except DomainError as exc:
            return page(request, "login.html", status_code=exc.status, next=_safe_next(next), email=email,
                        error=exc.message)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, key, httponly=True, samesite="lax", secure=_secure(request),
                            max_age=Accounts.SESSION_HOURS * 3600)
        response.delete_cookie(CSRF_COOKIE)  # the session has its own
        return response

    @router.post("/logout", response_class=HTMLResponse)
    def logout(request: Request) -> Response:
        key = request.cookies.get(SESSION_COOKIE)
        if key:
            svc_of(request).accounts.logout(key)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        return page(request, "home.html", query={}, result=None)

    @router.get("/search", response_class=HTMLResponse)
    def search(request: Request, text: str = "", intent: Literal["any", "co_funding", "implementation"] = "any",
               country: str = "", kind: str = "", format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        if not text.strip():
            return RedirectResponse("/", status_code=303)
        svc = svc_of(request)
        match = MatchRequest(text=text, intent=intent, countries=[country] if country else [],
                             kinds=[kind] if kind else [], k=10)  # type: ignore[list-item]
        result = svc.match(match)
        if format != "html":
            return download("dldmatch-search", MATCH_HEADER,
                            match_rows([*result.stakeholders, *result.projects], base_of(request)), format)
        return page(request, "home.html", query={"text": text, "intent": intent, "country": country, "kind": kind},
                    result=result, downloads=True)

    @router.get("/s/{external_id}", response_class=HTMLResponse)
    def stakeholder(request: Request, external_id: str) -> HTMLResponse:
        svc = svc_of(request)
        profile = svc.get_stakeholder(external_id)
        from api.national import cite, country_facts

        facts = country_facts()
        national = [(c, facts[c]) for c in profile.countries if c in facts and facts[c]] \
            if profile.kind == "government" else []
        return page(request, "stakeholder.html", s=profile, partners=svc.past_partners(external_id),
                    national=national, cite=partial(cite, lang=language_of(request)))

    @router.post("/s/{external_id}/confirm", response_class=HTMLResponse)
    def confirm_profile(request: Request, external_id: str) -> Response:
        svc_of(request).freshness.confirm(external_id)
        return RedirectResponse(f"/s/{external_id}?confirmed=1", status_code=303)

    @router.get("/stale-profiles", response_class=HTMLResponse)
    def stale_profiles(request: Request) -> HTMLResponse:
        return page(request, "stale.html", rows=svc_of(request).freshness.stale())

    @router.get("/s/{external_id}/partners", response_class=HTMLResponse)
    def stakeholder_partners(request: Request, external_id: str,
                             intent: Literal["any", "co_funding", "implementation"] = "any",
                             k: int = Query(10, ge=1, le=50), purpose: str | None = Query(None, max_length=PURPOSE_MAX),
                             format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        svc = svc_of(request)
        result = svc.partners_for_stakeholder(external_id, intent=intent, k=k, purpose=purpose)
        if format != "html":
            return download(f"{external_id}-{intent}", MATCH_HEADER, match_rows(result.results, base_of(request)),
                            format)
        name = result.query["name"]
        _ = tr(request)
        heading = {"co_funding": _("Co-funders for %(name)s", name=name),
                   "implementation": _("Implementing partners for %(name)s", name=name),
                   "any": _("Partners for %(name)s", name=name)}[intent]
        switch = [(with_purpose(f"/s/{external_id}/partners?intent={i}", result), label, i == intent)
                  for i, label in (("co_funding", _("Co-funders")), ("implementation", _("Implementing partners")),
                                   ("any", _("Any partner")))]
        return page(request, "results.html", result=result, heading=heading, switch=switch, intent=intent,
                    intro=_("Ranked by how well each fits both ways; every result says why."),
                    back_url=f"/s/{external_id}", back_label=name, you_label=name,
                    purpose_sentences=result.query.get("read", {}).get("sentences"))

    @router.get("/s/{external_id}/projects", response_class=HTMLResponse)
    def stakeholder_projects(request: Request, external_id: str, k: int = Query(10, ge=1, le=50),
                             purpose: str | None = Query(None, max_length=PURPOSE_MAX)) -> HTMLResponse:
        svc = svc_of(request)
        result = svc.projects_for_stakeholder(external_id, k=k, purpose=purpose)
        name = result.query["name"]
        _ = tr(request)
        return page(request, "results.html", result=result, heading=_("Projects %(name)s could join", name=name),
                    switch=None, intro=_("Projects it is not part of yet, ranked by fit; every result says why."),
                    back_url=f"/s/{external_id}", back_label=name, you_label=name,
                    purpose_sentences=result.query.get("read", {}).get("sentences"))

    @router.get("/p/{external_id}", response_class=HTMLResponse)
    def project(request: Request, external_id: str) -> HTMLResponse:
        return page(request, "project.html", p=svc_of(request).get_project(external_id))

    @router.get("/p/{external_id}/partners", response_class=HTMLResponse)
    def project_partners(request: Request, external_id: str,
                         intent: Literal["any", "co_funding", "implementation"] = "co_funding",
                         k: int = Query(10, ge=1, le=50), purpose: str | None = Query(None, max_length=PURPOSE_MAX),
                         format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        result = svc_of(request).partners_for_project(external_id, intent=intent, k=k, purpose=purpose)
        if format != "html":
            return download(f"{external_id}-{intent}", MATCH_HEADER, match_rows(result.results, base_of(request)),
                            format)
        name = result.query["name"]
        _ = tr(request)
        switch = [(with_purpose(f"/p/{external_id}/partners?intent={i}", result), label, i == intent)
                  for i, label in (("co_funding", _("Co-funders")), ("implementation", _("Implementing partners")),
                                   ("any", _("Any partner")))]
        return page(request, "results.html", result=result, heading=_("Who could join %(name)s", name=name),
                    switch=switch, intent=intent,
                    intro=_("Organisations not in the project yet, ranked by fit; every result says why."),
                    back_url=f"/p/{external_id}", back_label=name, you_label=_("the project"),
                    purpose_sentences=result.query.get("read", {}).get("sentences"))

    @router.get("/browse", response_class=HTMLResponse)
    def browse(request: Request, show: Literal["stakeholders", "projects", "all"] = "stakeholders",
               country: str = "", theme: str = "", kind: str = "", q: str = "", place: str = Query("", max_length=200),
               status: Literal["", "planned", "ongoing", "completed"] = "",
               offset: int = Query(0, ge=0), format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        svc = svc_of(request)
        if format != "html":  # the whole filtered list (up to 10,000), not this page of it
            if show == "projects":
                listed = svc.list_projects(limit=10_000, country=country or None, theme=theme or None,
                                           status=status or None, q=q or None, place=place or None)
                return download("dldmatch-projects", PROJECT_HEADER, project_rows(listed.items, base_of(request)),
                                format)
            listed = svc.list_stakeholders(limit=10_000, country=country or None, kind=kind or None,
                                           theme=theme or None, q=q or None, place=place or None)
            return download("dldmatch-organisations", STAKEHOLDER_HEADER,
                            stakeholder_rows(listed.items, base_of(request)), format)
        limit = 50
        sections = []
        if show in ("stakeholders", "all"):
            sections.append(("stakeholders", t(request, "Organisations"), svc.list_stakeholders(
                offset=offset, limit=limit, country=country or None, kind=kind or None, theme=theme or None,
                q=q or None, place=place or None)))
        if show in ("projects", "all"):
            sections.append(("projects", t(request, "Projects"), svc.list_projects(
                offset=offset, limit=limit, country=country or None, theme=theme or None, status=status or None,
                q=q or None, place=place or None)))
        filters = {"country": country, "theme": theme, "kind": kind, "q": q, "status": status, "place": place}
        more = any(p.total > offset + limit for _, _, p in sections)
        next_url = str(request.url.include_query_params(offset=offset + limit)) if more else None
        downloads = {f: str(request.url.remove_query_params("offset").include_query_params(format=f))
                     for f in ("csv", "xlsx")} if show != "all" else None
        return page(request, "browse.html", sections=sections, total=sum(p.total for _, _, p in sections),
                    show=show, filters=filters, next_url=next_url, downloads=downloads)

    @router.get("/overview", response_class=HTMLResponse)
    def overview(request: Request, format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        svc = svc_of(request)
        data = svc.overview()
        if format != "html":
            header, rows = overview_rows(data)
            return download("dldmatch-overview", header, rows, format)
        return page(request, "overview.html", overview={**data, "svg": network_svg(data["network"], lang=language_of(request))})

    @router.get("/map", response_class=HTMLResponse)
    def region_map(request: Request) -> HTMLResponse:
        """Where the organisations and projects work: a marker for each place their profiles name."""
        from api.maps import inside, region_svg, spots

        svc = svc_of(request)
        found = spots(svc.list_stakeholders(limit=10_000).items, svc.list_projects(limit=10_000).items)
        svg = region_svg(found, vocabularies(language_of(request))["countries"], tr(request))
        return page(request, "map.html", svg=Markup(svg), spots=found,
                    outside=[s for s in found if not inside(s.lon, s.lat)])

    @router.get("/country/{code}", response_class=HTMLResponse)
    def country_page(request: Request, code: str, format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        from api.access import principal_of
        from api.national import HEADER, cite, rows

        svc = svc_of(request)
        view = svc.national.view(code, with_outcomes=principal_of(request).secretariat)
        if format != "html":
            return download(f"national-view-{view['country']['code']}", HEADER, rows(view), format)
        return page(request, "country.html", view=view, cite=partial(cite, lang=language_of(request)))

    @router.get("/intake", response_class=HTMLResponse)
    def intake_page(request: Request) -> HTMLResponse:
        return page(request, "intake.html", form={}, field_errors={}, outcome=None)

    def intake_row(name: str, kind: str, countries: list[str], places: str, description: str, offers: list[str],
                   needs: list[str], website: str, contact_name: str, contact_email: str,
                   confirm_new: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The form as filled (to show again) and as a questionnaire row."""
        form = {"name": name, "kind": kind, "countries": countries, "places": places, "description": description,
                "offers": offers, "needs": needs, "website": website, "contact_name": contact_name,
                "contact_email": contact_email}
        row = {"__row__": 2, **{k: v for k, v in form.items() if not isinstance(v, list)},
               "countries": "; ".join(countries), "offers": "; ".join(offers), "needs": "; ".join(needs),
               "confirm_new": confirm_new}
        return form, row

    def form_errors(request: Request, exc: DomainError, form: dict[str, Any], **context: Any) -> HTMLResponse:
        """The form again with every mistake named at its field and listed above it."""
        field_errors = {e.get("column") or e.get("field"): e["message"] for e in exc.errors}
        _ = tr(request)
        outcome = {"ok": False, "heading": _("Please check the form") if exc.errors else _("Not sent"),
                   "message": _("Nothing was added.") if exc.errors else exc.message[:1].upper() + exc.message[1:] + ".",
                   "errors": [{"column": e.get("column"), "message": e["message"]} for e in exc.errors]}
        return page(request, "intake.html", status_code=exc.status, form=form, field_errors=field_errors,
                    outcome=outcome, **context)

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    @router.post("/intake/form", response_class=HTMLResponse)
    def intake_form(request: Request, name: str = Form(""), kind: str = Form(""),
                    countries: list[str] = Form([]), places: str = Form(""), description: str = Form(""),
                    offers: list[str] = Form([]), needs: list[str] = Form([]), website: str = Form(""),
                    contact_name: str = Form(""), contact_email: str = Form(""),
                    confirm_new: str = Form("")) -> HTMLResponse:
        """From the secretariat, an import; from anyone else, a submission the secretariat reviews."""
        svc = svc_of(request)
        form, row = intake_row(name, kind, countries, places, description, offers, needs, website, contact_name,
                               contact_email, confirm_new)
        try:
            if principal_of(request).secretariat:
                report = svc.import_sheets({"stakeholders": [row]})
                flagged = report.flagged
            else:
                submission, flagged = svc.review.submit({"stakeholders": [row]}, channel="form",
                                                        client=client_of(request))
        except DomainError as exc:
            return form_errors(request, exc, form)
        _ = tr(request)
        if flagged:
            outcome = {"ok": False, "heading": _("Already in dldmatch?"), "flagged": flagged}
            return page(request, "intake.html", form=form, field_errors={}, outcome=outcome)
        if not principal_of(request).secretariat:
            outcome = {"ok": True, "heading": _("Thank you: %(name)s was sent for review", name=name),
                       "message": _("The NEAMSP secretariat reviews each new profile before it is listed and matched "
                                    "(reference %(reference)s). Your contact details stay private.",
                                    reference=submission.id if submission else "")}
            return page(request, "intake.html", form={}, field_errors={}, outcome=outcome)
        new_id = report.imported and svc.find_stakeholder_id(name)
        outcome = {"ok": True, "heading": _("%(name)s was added", name=name),
                   "message": _("Its themes were read from the description."),
                   "links": [(f"/s/{new_id}", _("Open its page")),
                             (f"/s/{new_id}/partners?intent=co_funding", _("Find co-funders"))] if new_id else []}
        return page(request, "intake.html", form={}, field_errors={}, outcome=outcome)

    @router.post("/intake/upload", response_class=HTMLResponse)
    async def intake_upload(request: Request, file: UploadFile = File(...),
                            dry_run: bool = Form(False)) -> HTMLResponse:
        from api.importing import read_sheets

        svc = svc_of(request)
        data = await file.read()
        secretariat = principal_of(request).secretariat
        _ = tr(request)
        try:
            if secretariat or dry_run:
                report = await run_in_threadpool(svc.import_upload, file.filename or "upload", data,
                                                 dry_run=dry_run or not secretariat)
            else:
                sheets = read_sheets(file.filename or "upload", data)
                submission, flagged = await run_in_threadpool(svc.review.submit, sheets, channel="upload",
                                                              client=client_of(request), filename=file.filename)
        except DomainError as exc:
            outcome = {"ok": False, "heading": _("The file was not imported") if secretariat else _("The file was not sent"),
                       "message": exc.message, "errors": exc.errors}
            return page(request, "intake.html", status_code=exc.status, form={}, field_errors={}, outcome=outcome)
        if not secretariat and not dry_run:
            if flagged:
                return page(request, "intake.html", form={}, field_errors={},
                            outcome={"ok": False, "heading": _("Already in dldmatch?"), "flagged": flagged})
            return page(request, "intake.html", form={}, field_errors={}, outcome={
                "ok": True, "heading": _("Thank you: the file was sent for review"),
                "message": _("The NEAMSP secretariat reviews it before its profiles are listed and matched "
                             "(reference %(reference)s).", reference=submission.id if submission else "")})
        imported = report.imported
        if dry_run:
            message = _("All %(rows)s rows are valid. Nothing was added (check only).", rows=report.rows)
        else:
            assert imported is not None
            message = _("%(organisations)s organisations and %(projects)s projects added, %(updated)s updated, "
                        "%(unchanged)s unchanged.", organisations=imported.stakeholders_created,
                        projects=imported.projects_created,
                        updated=imported.stakeholders_updated + imported.projects_updated,
                        unchanged=imported.unchanged)
        outcome = {"ok": True, "heading": _("File checked") if dry_run else _("File imported"), "message": message,
                   "flagged": report.flagged}
        return page(request, "intake.html", form={}, field_errors={}, outcome=outcome)

    # ---- the secretariat's review queue ----------------------------------------------------------

    def review_page(request: Request, *, notice: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
        review = svc_of(request).review
        return page(request, "review.html", status_code=status_code, pending=review.list("pending"),
                    decided=review.list(None, 30), notice=notice)

    @router.get("/review", response_class=HTMLResponse)
    def review_queue(request: Request) -> HTMLResponse:
        return review_page(request)

    @router.post("/review/{submission_id}/approve", response_class=HTMLResponse)
    def review_approve(request: Request, submission_id: RowId, confirm_new: bool = Form(False)) -> Response:
        me = principal_of(request)
        try:
            report = svc_of(request).review.approve(submission_id, reviewer=me.name, confirm_new=confirm_new)
        except DomainError as exc:
            return review_page(request, notice={"ok": False, "message": exc.message, "errors": exc.errors},
                               status_code=exc.status)
        if report.flagged:
            return review_page(request, notice={"ok": False, "flagged": report.flagged, "submission": submission_id,
                                                "message": t(request, "Not approved yet: a row looks like an "
                                                                       "organisation already in dldmatch.")})
        return RedirectResponse(f"/review?approved={submission_id}", status_code=303)

    @router.post("/review/{submission_id}/reject", response_class=HTMLResponse)
    def review_reject(request: Request, submission_id: RowId, reason: str = Form("")) -> Response:
        try:
            svc_of(request).review.reject(submission_id, reviewer=principal_of(request).name, reason=reason)
        except DomainError as exc:
            return review_page(request, notice={"ok": False, "message": exc.message, "errors": exc.errors,
                                                "submission": submission_id}, status_code=exc.status)
        return RedirectResponse(f"/review?rejected={submission_id}", status_code=303)

    @router.get("/review/{submission_id}/edit", response_class=HTMLResponse)
    def review_edit_page(request: Request, submission_id: RowId) -> HTMLResponse:
        submission = svc_of(request).review.get(submission_id)
        rows = submission.sheets.get("stakeholders") or []
        if submission.channel != "form" or len(rows) != 1:
            raise InvalidInput(N_("only a submission of the form can be edited here"), errors=[
                {"field": "submission", "message": N_("a file's rows are edited by the sender and sent again")}])
        row = rows[0]
        split = lambda v: [x.strip() for x in str(v or "").split(";") if x.strip()]  # noqa: E731
        form = {**row, "countries": split(row.get("countries")), "offers": split(row.get("offers")),
                "needs": split(row.get("needs"))}
        return page(request, "intake.html", form=form, field_errors={}, outcome=None,
                    form_action=f"/review/{submission_id}/edit", editing=submission)

    @router.post("/review/{submission_id}/edit", response_class=HTMLResponse)
    def review_edit(request: Request, submission_id: RowId, name: str = Form(""), kind: str = Form(""),
                    countries: list[str] = Form([]), places: str = Form(""), description: str = Form(""),
                    offers: list[str] = Form([]), needs: list[str] = Form([]), website: str = Form(""),
                    contact_name: str = Form(""), contact_email: str = Form(""),
                    confirm_new: str = Form("")) -> Response:
        form, row = intake_row(name, kind, countries, places, description, offers, needs, website, contact_name,
                               contact_email, confirm_new)
        svc = svc_of(request)
        try:
            svc.review.edit(submission_id, {"stakeholders": [row]})
        except DomainError as exc:
            return form_errors(request, exc, form, form_action=f"/review/{submission_id}/edit",
                               editing=svc.review.get(submission_id))
        return RedirectResponse(f"/review?edited={submission_id}", status_code=303)

    @router.get("/pooling-opportunities", response_class=HTMLResponse)
    def pooling_page(request: Request, theme: str = "", country: str = "", kind: str = "",
                     format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        result = svc_of(request).pooling(theme=theme or None, country=country or None, kind=kind or None, k=30)
        if format != "html":
            return download("dldmatch-pooling", POOL_HEADER, pool_rows(result.groups, base_of(request)), format)
        return page(request, "pooling.html", heading=t(request, "Resource-pooling opportunities"),
                    filters={"theme": theme, "country": country, "kind": kind}, sections=[("", result.groups)])

    @router.get("/s/{external_id}/pooling", response_class=HTMLResponse)
    def stakeholder_pooling(request: Request, external_id: str,
                            format: Literal["html", "csv", "xlsx"] = "html") -> Response:  # noqa: A002
        result = svc_of(request).pooling_for_stakeholder(external_id)
        if format != "html":
            return download(f"{external_id}-pooling", POOL_HEADER,
                            pool_rows([*result.member_of, *result.could_join], base_of(request)), format)
        _ = tr(request)
        return page(request, "pooling.html", heading=_("Pooling groups for %(name)s", name=result.stakeholder.name),
                    filters=None, sections=[(_("Groups it is part of"), result.member_of),
                                            (_("Groups it could join"), result.could_join)])

    # ---- forum planner (the secretariat) ------------------------------------------------------

    def planner_page(request: Request, forum_id: str, *, error: DomainError | None = None,
                     roundtables: Any = None, rt_size: int | None = None, status_code: int = 200) -> HTMLResponse:
        svc = svc_of(request)
        forum = svc.forums.get(forum_id)
        schedule = svc.forums.get_schedule(forum_id) if forum.has_schedule else None
        grid = {(m.slot, m.table): m for m in schedule.meetings} if schedule else {}
        everyone = svc.list_stakeholders(limit=10_000).items
        inside = {p.stakeholder for p in forum.participants}
        names = {s.id: s.name for s in everyone}
        return page(request, "forum.html", status_code=status_code, forum=forum, schedule=schedule, grid=grid,
                    names=names, others=[s for s in everyone if s.id not in inside],
                    error={"message": error.message, "errors": error.errors} if error else None,
                    roundtables=roundtables, rt_size=rt_size)

    def back(forum_id: str) -> RedirectResponse:
        return RedirectResponse(f"/planner/{forum_id}", status_code=303)

    def planner_form(request: Request, form: dict[str, Any], error: dict[str, Any] | None = None,
                     status_code: int = 200) -> HTMLResponse:
        """The planner: its forums and the new-forum form (as filled, with what was wrong)."""
        svc = svc_of(request)
        _ = tr(request)
        return page(request, "planner.html", status_code=status_code,
                    time_zones=[(zone, _(label)) for zone, label in TIME_ZONES],
                    forums=svc.forums.list(), form=form, error=error,
                    stakeholders=svc.list_stakeholders(limit=10_000).items)

    @router.get("/planner", response_class=HTMLResponse)
    def planner(request: Request) -> HTMLResponse:
        return planner_form(request, {})

    @router.post("/planner", response_class=HTMLResponse)
    def planner_create(request: Request, name: str = Form(""), place: str = Form(""), date: str = Form(""),
                       time_zone: str = Form(""),
                       start: str = Form("09:00"), slot_count: int = Form(8), meeting_minutes: int = Form(30),
                       break_minutes: int = Form(10), tables: int = Form(8), min_meetings: int = Form(2),
                       participants: list[str] = Form([])) -> Response:
        from pydantic import ValidationError

        from api.intake import slug
        from api.schemas import ForumIn

        svc = svc_of(request)
        form = {"name": name, "place": place, "date": date, "time_zone": time_zone, "start": start,
                "slot_count": slot_count,
                "meeting_minutes": meeting_minutes, "break_minutes": break_minutes, "tables": tables,
                "min_meetings": min_meetings}
        try:
            if not time_zone:  # the form's times have no offset: without a zone they would be read as UTC
                raise InvalidInput(N_("Please check the form"), errors=[
                    {"field": "time_zone", "message": N_("choose the time zone where the forum meets")}])
            body = ForumIn(id=slug(f"{name} {date}"), name=name, place=place or None, start_date=date or None,
                           time_zone=time_zone,
                           slot_count=slot_count, first_slot=f"{date}T{start}:00" if date else None,
                           meeting_minutes=meeting_minutes, break_minutes=break_minutes, tables=tables,
                           min_meetings=min_meetings,
                           participants=[{"stakeholder": p} for p in participants])  # type: ignore[misc]
            forum = svc.forums.create(body)
        except ValidationError as exc:
            error = {"message": N_("Please check the form"),
                     "errors": [{"field": ".".join(map(str, e["loc"])) or "form", "message": plain(e)}
                                for e in exc.errors()]}
            return planner_form(request, form, error, 422)
        except DomainError as exc:
            return planner_form(request, form, {"message": exc.message, "errors": exc.errors}, exc.status)
        return back(forum.id)

    @router.get("/planner/{forum_id}", response_class=HTMLResponse)
    def planner_forum(request: Request, forum_id: str) -> HTMLResponse:
        return planner_page(request, forum_id)

    def act(request: Request, forum_id: str, action: Any) -> Response:
        try:
            action()
        except DomainError as exc:
            return planner_page(request, forum_id, error=exc, status_code=exc.status)
        return back(forum_id)

    @router.post("/planner/{forum_id}/schedule", response_class=HTMLResponse)
    def planner_schedule(request: Request, forum_id: str) -> Response:
        return act(request, forum_id, lambda: svc_of(request).forums.schedule(forum_id))

    @router.post("/planner/{forum_id}/lock", response_class=HTMLResponse)
    def planner_lock(request: Request, forum_id: str, a: str = Form(...), b: str = Form(...), slot: int = Form(...),
                     table: int = Form(...)) -> Response:
        from api.schemas import LockIn

        return act(request, forum_id, lambda: svc_of(request).forums.lock(forum_id, LockIn(a=a, b=b, slot=slot,
                                                                                            table=table)))

    @router.post("/planner/{forum_id}/meetings/{what}", response_class=HTMLResponse)
    def planner_pair(request: Request, forum_id: str, what: Literal["unlock", "remove", "restore"],
                     a: str = Form(...), b: str = Form(...)) -> Response:
        from api.schemas import PairIn

        forums = svc_of(request).forums
        do = {"unlock": forums.unlock, "remove": forums.remove_meeting, "restore": forums.restore_meeting}[what]
        return act(request, forum_id, lambda: do(forum_id, PairIn(a=a, b=b)))

    @router.post("/planner/{forum_id}/participants", response_class=HTMLResponse)
    def planner_add(request: Request, forum_id: str, stakeholder: str = Form(...), max_meetings: str = Form(""),
                    must_meet: str = Form(""), interpreter: bool = Form(False)) -> Response:
        participant = {"stakeholder": stakeholder, "max_meetings": int(max_meetings) if max_meetings else None,
                       "must_meet": [must_meet] if must_meet else [], "interpreter": interpreter}
        return act(request, forum_id, lambda: svc_of(request).forums.add_participant(forum_id, participant))

    @router.post("/planner/{forum_id}/participants/remove", response_class=HTMLResponse)
    def planner_drop(request: Request, forum_id: str, stakeholder: str = Form(...)) -> Response:
        return act(request, forum_id, lambda: svc_of(request).forums.remove_participant(forum_id, stakeholder))

    @router.post("/planner/{forum_id}/roundtables", response_class=HTMLResponse)
    def planner_roundtables(request: Request, forum_id: str, size: int = Form(6)) -> HTMLResponse:
        try:
            tables = svc_of(request).forums.roundtables(forum_id, max(2, size))
        except DomainError as exc:
            return planner_page(request, forum_id, error=exc, status_code=exc.status)
        return planner_page(request, forum_id, roundtables=tables, rt_size=size)

    @router.get("/planner/{forum_id}/agenda/{stakeholder_id}", response_class=HTMLResponse)
    def printable_agenda(request: Request, forum_id: str, stakeholder_id: str) -> HTMLResponse:
        from api.forum_plans import why

        forum, meetings = svc_of(request).forums.meetings_of(forum_id, stakeholder_id)
        who = next(p for p in forum.participants if p.stakeholder == stakeholder_id)
        return page(request, "agenda.html", forum=forum, meetings=meetings, why=in_words(request, why, forum),
                    who={"id": stakeholder_id, "name": who.name})

    @router.get("/planner/{forum_id}/briefing/{n}", response_class=HTMLResponse)
    def briefing(request: Request, forum_id: str, n: int) -> HTMLResponse:
        from api.errors import NotFound
        from api.forum_plans import why

        svc = svc_of(request)
        schedule = svc.forums.get_schedule(forum_id)
        if not 1 <= n <= len(schedule.meetings):
            raise NotFound(f"forum {forum_id!r} has no meeting {n}")
        m = schedule.meetings[n - 1]
        forum = svc.forums.get(forum_id)
        return page(request, "briefing.html", forum=forum, m=m, why=in_words(request, why, forum),
                    a=svc.get_stakeholder(m.a.id), b=svc.get_stakeholder(m.b.id))

    return router


KIND_COLOURS = {"government": "#3b7dd8", "cso": "#2f9e6b", "private": "#d08a1e", "academia": "#8e5bc4",
                "international": "#1e9bb0", "network": "#c2467a", "funder": "#a4461b"}


def network_svg(network: dict[str, Any], size: int = 760, lang: str = DEFAULT_LANGUAGE) -> str:
    """The partnership network as an inline SVG: every organisation a circle coloured by its kind and
    labelled with its short name (on the side away from the edge, so no label is cut off), sized by its
    number of partners, linked to its page; a legend of the kinds drawn and of what lines and sizes
    mean. Positions come precomputed and scaled to [0, 1]."""
    nodes, edges = network["nodes"], network["edges"]
    _ = partial(gettext, lang)
    kind_names = vocabularies(lang)["kinds"]
    words = {k: html.escape(v) for k, v in (("none", _("No partnership recorded yet")), ("legend", _("Legend")),
                                            ("kinds", _("Kinds")), ("line", _("a project in common")),
                                            ("size", _("more partners, larger circle")))}
    if not nodes:
        return f'<svg viewBox="0 0 10 10" role="img" aria-label="{words["none"]}"></svg>'
    pad, legend_h = 40, 70
    scale = size - 2 * pad

    def xy(n: dict[str, Any]) -> tuple[float, float]:
        return pad + n["x"] * scale, pad + n["y"] * scale

    where = {n["key"]: xy(n) for n in nodes}
    parts = [f'<svg viewBox="0 0 {size} {size + legend_h}" role="img" aria-label="'
             + html.escape(_("Partnership network of %(n)s organisations, coloured by kind", n=len(nodes))) + '">']
    for a, b in edges:
        (x1, y1), (x2, y2) = where[a], where[b]
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#9fb3a6" '
                     f'stroke-width="1"/>')
    def partners(n: int) -> str:
        return _("%(n)s partners", n=n)

    for n in sorted(nodes, key=lambda n: n["degree"]):  # the best connected drawn last, on top
        x, y = where[n["key"]]
        r = 4 + 2.2 * math.sqrt(n["degree"])
        name = html.escape(n["name"])
        left = x > size * 0.62  # labels on the right half run leftwards, inside the picture
        tx = x - r - 3 if left else x + r + 3
        parts.append(f'<a href="/s/{html.escape(n["id"])}"><circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" '
                     f'fill="{KIND_COLOURS.get(n["kind"], "#777")}" stroke="#fff" stroke-width="1">'
                     f'<title>{name}: {html.escape(kind_names.get(n["kind"], n["kind"]))}, '
                     f'{html.escape(partners(n["degree"]))}</title>'
                     f'</circle><text x="{tx:.1f}" y="{y + 4:.1f}" font-size="11" fill="#1f2a24" '
                     f'text-anchor="{"end" if left else "start"}" paint-order="stroke" stroke="#fff" '
                     f'stroke-width="3">{html.escape(_short_label(n["short"]))}</text></a>')
    kinds = [k for k in KIND_COLOURS if any(n["kind"] == k for n in nodes)]
    y0 = size + 10
    parts.append(f'<g class="legend" aria-label="{words["legend"]}"><text x="{pad}" y="{y0 + 8}" '
                 f'font-size="12" font-weight="600" fill="#1f2a24">{words["kinds"]}</text>')
    x = pad + 46
    for k in kinds:
        label = html.escape(_(_LEGEND_LABELS[k]) if k in _LEGEND_LABELS else kind_names.get(k, k))
        parts.append(f'<circle cx="{x + 6}" cy="{y0 + 4}" r="6" fill="{KIND_COLOURS[k]}"/>'
                     f'<text x="{x + 16}" y="{y0 + 8}" font-size="12" fill="#1f2a24">{label}</text>')
        x += 26 + sum(12 if ord(c) >= 0x2E80 else 7 for c in label)  # CJK characters are twice as wide
    parts.append(f'<line x1="{pad}" y1="{y0 + 34}" x2="{pad + 30}" y2="{y0 + 34}" stroke="#9fb3a6" stroke-width="1"/>'
                 f'<text x="{pad + 38}" y="{y0 + 38}" font-size="12" fill="#1f2a24">{words["line"]}</text>'
                 f'<circle cx="{pad + 220}" cy="{y0 + 34}" r="4" fill="#bbb"/><circle cx="{pad + 236}" cy="{y0 + 34}" '
                 f'r="9" fill="#bbb"/><text x="{pad + 252}" y="{y0 + 38}" font-size="12" fill="#1f2a24">'
                 f'{words["size"]}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


_LEGEND_LABELS = {"cso": N_("CSO"), "international": N_("International"), "government": N_("Government"),
                  "private": N_("Firm"), "academia": N_("Academia"), "network": N_("Network"), "funder": N_("Funder")}


def _short_label(short: str, most: int = 22) -> str:
    """A node's label, cut at a word with an ellipsis when longer than ``most`` characters.

    Example:
        >>> _short_label("State Forestry Administration of China")
        'State Forestry…'
    """
    if len(short) <= most:
        return short
    cut = short[:most].rsplit(" ", 1)[0]
    return (cut if cut else short[:most]) + "…"
