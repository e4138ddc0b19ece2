"""The FastAPI app: a thin layer over :class:`api.service.DLDMatch`.

Routes hold no try/except: domain errors carry their status and one handler renders them as JSON.
"""


import logging
import re
import threading
from pathlib import Path
from contextlib import asynccontextmanager
from typing import Annotated, Any, AsyncIterator, Literal

from fastapi import Depends, FastAPI, File, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import AuditTrail
from api.access import guard, principal_of, require_project_member
from api.accounts import Principal, Unauthorized
from api.errors import Conflict, DomainError, InvalidInput
from api.i18n import LANGUAGES, N_, gettext, language_of
from api.messages import plain, translate
from api.schemas import (
    error_responses,
    ID_PATTERN,
    Health,
    Intent,
    IntakeReport,
    KindCode,
    NationalOut,
    StaleOut,
    MatchList,
    MatchRequest,
    ForumIn,
    ForumOut,
    ForumParticipantIn,
    ForumParticipation,
    ForumPreferencesIn,
    MeetingAnswerIn,
    MeetingOutcomeIn,
    MeetingOutcomeOut,
    MeetingRequestIn,
    LockIn,
    MatchResponse,
    PairIn,
    PoolingList,
    RoundTablesIn,
    RoundTablesOut,
    ScheduleOut,
    ScheduleRequest,
    ProjectIn,
    ProjectPage,
    ProjectPublic,
    ResourceCode,
    StakeholderIn,
    StakeholderPage,
    StakeholderPooling,
    StakeholderPublic,
    SubmissionOut,
    SubmissionReceipt,
    RejectIn,
    ThemeOut,
)
from api.reading import PURPOSE_MAX
from api.service import DLDMatch
from api.settings import Settings
from api.people_api import build_people_router
from api.web import build_router, make_templates, vocabularies
from embeddings.base import Embedder

log = logging.getLogger("uvicorn.error")  # shown with the server's own start-up lines

StartMode = Literal["background", "sync", "none"]

_errors = error_responses  # the error responses a route can give (README, "Errors")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(media_type: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


class BodyLimit:
    """Refuse request bodies over a size with 413, whether or not they declare their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            if refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(status_code=413, content={
            "error": "payload_too_large", "message": f"request body over {self.max_bytes} bytes"})
        await response({"type": "http"}, _empty_receive, send)


class _TooLarge(Exception):
    pass


class KeepConnection:
    """Answer an unexpected error with the 500 page here, instead of letting it reach Starlette's
    outermost middleware, which sends the same answer but raises again, so that the server closes the
    connection and the client's next request on it fails."""

    def __init__(self, app: ASGIApp, render: Any) -> None:
        self.app, self.render = app, render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # too late for another answer
                raise
            response = await self.render(Request(scope), exc)
            await response(scope, receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b""}


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None,
               service: DLDMatch | None = None, start: StartMode = "background") -> FastAPI:
    """Build the app. ``start`` says how the index is readied: in a background thread while the
    server already answers (503 until ready), before serving (``sync``), or not at all (``none``)."""
    settings = settings or Settings()
    svc = service or DLDMatch(settings, embedder)

    def _start() -> None:
        try:
            report = svc.start(follow=True)
            log.info("dldmatch ready: seeded %s, embedded %s, index %s", report["seeded"], report["embedded"],
                     report["index"])
        except Exception as exc:  # shown by /health; the server stays up to say so
            log.exception("start-up failed")
            svc.start_error = f"{type(exc).__name__}: {exc}"

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start == "sync":
            svc.start(follow=True)
        elif start == "background":
            threading.Thread(target=_start, name="dldmatch-start", daemon=True).start()
        yield
        if start != "none":
            svc.close()

    app = FastAPI(title="dldmatch", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  dependencies=[Depends(guard)],  # every route's access rule (api.access.RULES)
                  description="Partner matching for the people who fight desertification and land degradation "
                              "in North-East Asia.")
    app.state.service = svc
    app.add_middleware(AuditTrail, writer=svc.writer)  # every write: who, what, when (api.audit)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _mount_docs(app)
    templates = make_templates()
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    app.include_router(build_router(templates))
    app.include_router(build_people_router())
    _add_error_handlers(app, templates)

    def get_service(request: Request) -> DLDMatch:
        return request.app.state.service  # type: ignore[no-any-return]

    Svc = Annotated[DLDMatch, Depends(get_service)]
    Who = Annotated[Principal, Depends(principal_of)]
    K = Annotated[int, Query(ge=1, le=200, description="how many results")]
    Countries = Annotated[list[str], Query(description="ISO country codes (repeat the parameter)")]
    Kinds = Annotated[list[KindCode], Query(description="stakeholder kinds")]  # type: ignore[valid-type]
    Themes = Annotated[list[str], Query(description="theme ids")]
    PlaceName = Annotated[str | None, Query(max_length=200, description="only profiles that name this place "
                                                                        "(any case), as the map links to them")]
    Language = Annotated[Literal[tuple(LANGUAGES)] | None, Query(  # type: ignore[valid-type]
        alias="lang", description="the language: " + ", ".join(f"{k} ({v})" for k, v in LANGUAGES.items()))]
    Resources = Annotated[list[ResourceCode], Query(description="resource kinds the partner offers")]  # type: ignore[valid-type]
    Purpose = Annotated[str | None, Query(max_length=PURPOSE_MAX, description=(
        "what the partnership is for, in words, in any of the six languages (\"for the dust and sandstorm "
        "round-table\", \"NGOs that train herders\"): the themes, needs, places and countries it names stand in "
        "for the profile's own, and the ranking reads its meaning and words too"))]
    MinShared = Annotated[int, Query(ge=0, le=10, description="leave out results sharing fewer themes (0: none "
                                                              "left out for that; every result still has a reason)")]

    IfMatch = Annotated[str | None, Header(alias="If-Match", description="the version (ETag) you read: the change "
                                                                        "is refused with 412 if it changed meanwhile",
                                           json_schema_extra={"pattern": _IF_MATCH})]
    # an id as records carry it: anything else (a NUL byte, which PostgreSQL refuses) can never be found
    Id = Annotated[str, PathParam(min_length=1, max_length=120, pattern=ID_PATTERN)]

    @app.get("/health", response_model=Health, tags=["service"],
             responses={503: {"model": Health, "description": "starting, behind the database, or failed"}, **_errors()})
    def health(svc: Svc, response: Response) -> Health:
        """200 only when the service is ready and follows the database; 503 otherwise, with the reason."""
        out = svc.health()
        if out.status != "ok":
            response.status_code = 503
        return out

    @app.get("/themes", response_model=list[ThemeOut], tags=["service"], responses=_errors())
    def themes(svc: Svc) -> list[ThemeOut]:
        return svc.themes()

    @app.get("/stakeholders", response_model=StakeholderPage, tags=["stakeholders"], responses=_errors(422))
    def list_stakeholders(svc: Svc, offset: Annotated[int, Query(ge=0)] = 0,
                          limit: Annotated[int, Query(ge=1, le=200)] = 50, country: str | None = None,
                          kind: KindCode | None = None, theme: str | None = None,  # type: ignore[valid-type]
                          q: str | None = None, place: PlaceName = None) -> StakeholderPage:
        return svc.list_stakeholders(offset=offset, limit=limit, country=country, kind=kind, theme=theme, q=q,
                                     place=place)

    @app.post("/stakeholders", response_model=StakeholderPublic, status_code=201, tags=["stakeholders"],
              responses=_errors(409, 413, 422))
    def create_stakeholder(body: StakeholderIn, svc: Svc, response: Response) -> Any:
        """Create a stakeholder; 409 when its id is taken."""
        return _tagged(response, svc.create(body))

    @app.get("/stakeholders/{external_id}", response_model=StakeholderPublic, tags=["stakeholders"],
             responses=_errors(404, 422))
    def get_stakeholder(external_id: Id, svc: Svc, response: Response) -> Any:
        return _tagged(response, svc.get_stakeholder(external_id))

    @app.put("/stakeholders/{external_id}", response_model=StakeholderPublic, tags=["stakeholders"],
             responses=_errors(404, 409, 412, 413, 422))
    def put_stakeholder(external_id: Id, body: StakeholderIn, svc: Svc, who: Who, response: Response,
                        if_match: IfMatch = None) -> Any:
        """Replace a stored stakeholder (404 if there is none); with If-Match, only that version (412).
        A member's own profile, as it writes it, is self-declared."""
        _same_id(external_id, body.id)
        if not who.secretariat:
            body = body.model_copy(update={"self_declared": True})
        return _tagged(response, svc.replace(body, if_match=_version(if_match)))

    @app.delete("/stakeholders/{external_id}", status_code=204, tags=["stakeholders"],
                responses=_errors(404, 409, 412, 422))
    def delete_stakeholder(external_id: Id, svc: Svc, who: Who, if_match: IfMatch = None) -> None:
        """Delete it (the secretariat can restore it from the trash)."""
        svc.delete("stakeholder", external_id, if_match=_version(if_match), actor=who.actor)

    @app.get("/stakeholders/{external_id}/partners", response_model=MatchList, tags=["matching"],
             responses=_errors(404, 422, 503))
    def stakeholder_partners(external_id: Id, svc: Svc, intent: Intent = "any", k: K = 10,
                             country: Countries = [], kind: Kinds = [], theme: Themes = [],  # noqa: B006
                             resource: Resources = [], min_shared_themes: MinShared = 0,  # noqa: B006
                             purpose: Purpose = None) -> MatchList:
        """Ranked potential partners for a stored stakeholder, each with its explanation; with a purpose,
        for that purpose (what it was read as is in ``query.read``)."""
        return svc.partners_for_stakeholder(external_id, intent=intent, k=k, countries=country, kinds=kind,
                                            themes=theme, resources=resource, min_shared_themes=min_shared_themes,
                                            purpose=purpose)

    @app.get("/stakeholders/{external_id}/projects", response_model=MatchList, tags=["matching"],
             responses=_errors(404, 422, 503))
    def stakeholder_projects(external_id: Id, svc: Svc, k: K = 10, country: Countries = [],  # noqa: B006
                             theme: Themes = [], min_shared_themes: MinShared = 0,  # noqa: B006
                             purpose: Purpose = None) -> MatchList:
        """Projects this stakeholder could join (the firm's question); with a purpose, for that purpose."""
        return svc.projects_for_stakeholder(external_id, k=k, countries=country, themes=theme,
                                            min_shared_themes=min_shared_themes, purpose=purpose)

    @app.get("/projects", response_model=ProjectPage, tags=["projects"], responses=_errors(422))
    def list_projects(svc: Svc, offset: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=200)] = 50, country: str | None = None,
                      theme: str | None = None, status: str | None = None, q: str | None = None,
                      place: PlaceName = None) -> ProjectPage:
        return svc.list_projects(offset=offset, limit=limit, country=country, theme=theme, status=status, q=q,
                                 place=place)

    @app.post("/projects", response_model=ProjectPublic, status_code=201, tags=["projects"],
              responses=_errors(409, 413, 422))
    def create_project(body: ProjectIn, svc: Svc, who: Who, response: Response) -> Any:
        """Create a project; 409 when its id is taken. A member's own organisation must take part."""
        require_project_member(who, [(p.stakeholder, p.role) for p in body.participants], stored=[])
        return _tagged(response, svc.create(body))

    @app.get("/projects/{external_id}", response_model=ProjectPublic, tags=["projects"], responses=_errors(404, 422))
    def get_project(external_id: Id, svc: Svc, response: Response) -> Any:
        return _tagged(response, svc.get_project(external_id))

    @app.put("/projects/{external_id}", response_model=ProjectPublic, tags=["projects"],
             responses=_errors(404, 409, 412, 413, 422))
    def put_project(external_id: Id, body: ProjectIn, svc: Svc, who: Who, response: Response,
                    if_match: IfMatch = None) -> Any:
        """Replace a stored project (404 if there is none); with If-Match, only that version (412).
        A member's own organisation must still take part."""
        _same_id(external_id, body.id)
        require_project_member(who, [(p.stakeholder, p.role) for p in body.participants],
                               stored=_participants(svc, external_id))
        return _tagged(response, svc.replace(body, if_match=_version(if_match)))

    @app.delete("/projects/{external_id}", status_code=204, tags=["projects"], responses=_errors(404, 409, 412, 422))
    def delete_project(external_id: Id, svc: Svc, who: Who, if_match: IfMatch = None) -> None:
        """Delete it (the secretariat can restore it from the trash)."""
        svc.delete("project", external_id, if_match=_version(if_match), actor=who.actor)

    @app.get("/projects/{external_id}/partners", response_model=MatchList, tags=["matching"],
             responses=_errors(404, 422, 503))
    def project_partners(external_id: Id, svc: Svc, intent: Intent = "any", k: K = 10,
                         country: Countries = [], kind: Kinds = [],  # noqa: B006
                         min_shared_themes: MinShared = 0, purpose: Purpose = None) -> MatchList:
        """Stakeholders who could fund or join this project; with a purpose, for that purpose."""
        return svc.partners_for_project(external_id, intent=intent, k=k, countries=country, kinds=kind,
                                        min_shared_themes=min_shared_themes, purpose=purpose)

    @app.post("/match", response_model=MatchResponse, tags=["matching"], responses=_errors(413, 422, 503))
    def match(body: MatchRequest, svc: Svc) -> MatchResponse:
        """Ranked stakeholders and projects for free text or a draft project."""
        return svc.match(body)

    @app.post("/stakeholders/{external_id}/confirm", response_model=StakeholderPublic, tags=["stakeholders"],
              responses=_errors(404, 409, 422))
    def confirm_stakeholder(external_id: Id, svc: Svc, response: Response, if_match: IfMatch = None) -> Any:
        """Confirm that a stakeholder's profile is current (its members or the secretariat): it is no
        longer stale for a year. With If-Match, only the version read (409 when changed meanwhile)."""
        svc.freshness.confirm(external_id, version=_version(if_match))
        return _tagged(response, svc.get_stakeholder(external_id))

    @app.get("/stale", response_model=list[StaleOut], tags=["stakeholders"], responses=_errors())
    def stale_profiles(svc: Svc) -> list[StaleOut]:
        """The profiles not confirmed for over a year, the longest first (the secretariat's list)."""
        return [StaleOut(id=r.external_id, name=r.name, kind=r.kind, confirmed_at=r.confirmed_at)
                for r in svc.freshness.stale()]

    @app.get("/countries/{code}", response_model=NationalOut, tags=["national"], responses={
        200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                              "schema": {"type": "string", "format": "binary"}}},
              "description": "the national view; with format=csv or xlsx, as rows: section, id, name, detail, "
                             "source"}, **_errors(404, 422)})
    def national_view(code: Annotated[str, PathParam(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")],
                      svc: Svc, who: Who, format: Literal["json", "csv", "xlsx"] = "json") -> Any:  # noqa: A002
        """A member State's actors, projects, partnerships, land degradation neutrality commitments and
        dust-and-sandstorm role, each with its source (what introductions became, for the secretariat),
        to help prepare a UNCCD national report."""
        view = svc.national.view(code, with_outcomes=who.secretariat)
        if format == "json":
            return view
        from api.downloads import download
        from api.national import HEADER, rows

        return download(f"national-view-{view['country']['code']}", HEADER, rows(view), format)

    @app.get("/pooling", response_model=PoolingList, tags=["pooling"], responses=_errors(422, 503))
    def pooling(svc: Svc, theme: str | None = None, country: str | None = None,
                kind: KindCode | None = None, k: K = 20) -> PoolingList:  # type: ignore[valid-type]
        """Groups of three or more that work on the same themes and places and close each other's gaps."""
        return svc.pooling(theme=theme, country=country, kind=kind, k=k)

    @app.get("/stakeholders/{external_id}/pooling", response_model=StakeholderPooling, tags=["pooling"],
             responses=_errors(404, 422, 503))
    def stakeholder_pooling(external_id: Id, svc: Svc, k: K = 10) -> StakeholderPooling:
        """Pooling groups this stakeholder is in, and groups it could join."""
        return svc.pooling_for_stakeholder(external_id, k=k)

    @app.get("/forums", response_model=list[ForumOut], tags=["forums"], responses=_errors())
    def list_forums(svc: Svc) -> list[ForumOut]:
        return svc.forums.list()

    @app.post("/forums", response_model=ForumOut, status_code=201, tags=["forums"], responses=_errors(409, 413, 422))
    def create_forum(body: ForumIn, svc: Svc, response: Response) -> Any:
        """A forum: dates, slots (or slot_count + first_slot), tables, meeting length and participants."""
        return _tagged(response, svc.forums.create(body))

    @app.get("/forums/{forum_id}", response_model=ForumOut, tags=["forums"], responses=_errors(404, 422))
    def get_forum(forum_id: Id, svc: Svc, response: Response) -> Any:
        return _tagged(response, svc.forums.get(forum_id))

    @app.put("/forums/{forum_id}", response_model=ForumOut, tags=["forums"], responses=_errors(404, 409, 412, 413, 422))
    def put_forum(forum_id: Id, body: ForumIn, svc: Svc, response: Response, if_match: IfMatch = None) -> Any:
        return _tagged(response, svc.forums.replace(forum_id, body, if_match=_version(if_match)))

    @app.delete("/forums/{forum_id}", status_code=204, tags=["forums"], responses=_errors(404, 409, 412, 422))
    def delete_forum(forum_id: Id, svc: Svc, who: Who, if_match: IfMatch = None) -> None:
        """Delete it (the secretariat can restore it from the trash)."""
        svc.forums.delete(forum_id, if_match=_version(if_match), actor=who.actor)

    @app.post("/forums/{forum_id}/participants", response_model=ForumOut, tags=["forums"],
              responses=_errors(404, 409, 413, 422))
    def add_forum_participant(forum_id: Id, body: ForumParticipantIn, svc: Svc) -> ForumOut:
        """Add a participant, or change one: what the body leaves out of ``meet``, ``asked``,
        ``accepted`` and ``declined`` (the participant's own say) is kept as it was."""
        return svc.forums.add_participant(forum_id, body.model_dump(exclude_unset=True))

    @app.delete("/forums/{forum_id}/participants/{stakeholder_id}", response_model=ForumOut, tags=["forums"],
                responses=_errors(404, 409, 422))
    def remove_forum_participant(forum_id: Id, stakeholder_id: Id, svc: Svc) -> ForumOut:
        return svc.forums.remove_participant(forum_id, stakeholder_id)

    @app.post("/forums/{forum_id}/schedule", response_model=ScheduleOut, tags=["forums"],
              responses=_errors(404, 409, 413, 422, 503))
    def schedule_forum(forum_id: Id, svc: Svc, body: ScheduleRequest | None = None) -> ScheduleOut:
        """Place bilateral meetings to maximise the total reciprocal match score, around locked and
        removed meetings; reports the gap to the linear-programming bound."""
        return svc.forums.schedule(forum_id, body)

    @app.get("/forums/{forum_id}/schedule", response_model=ScheduleOut, tags=["forums"], responses=_errors(404, 422))
    def get_forum_schedule(forum_id: Id, svc: Svc) -> ScheduleOut:
        return svc.forums.get_schedule(forum_id)

    @app.post("/forums/{forum_id}/meetings/lock", response_model=ForumOut, tags=["forums"],
              responses=_errors(404, 409, 413, 422))
    def lock_meeting(forum_id: Id, body: LockIn, svc: Svc) -> ForumOut:
        return svc.forums.lock(forum_id, body)

    @app.post("/forums/{forum_id}/meetings/unlock", response_model=ForumOut, tags=["forums"],
              responses=_errors(404, 409, 413, 422))
    def unlock_meeting(forum_id: Id, body: PairIn, svc: Svc) -> ForumOut:
        return svc.forums.unlock(forum_id, body)

    @app.post("/forums/{forum_id}/meetings/remove", response_model=ForumOut, tags=["forums"],
              responses=_errors(404, 409, 413, 422))
    def remove_meeting(forum_id: Id, body: PairIn, svc: Svc) -> ForumOut:
        return svc.forums.remove_meeting(forum_id, body)

    @app.post("/forums/{forum_id}/meetings/restore", response_model=ForumOut, tags=["forums"],
              responses=_errors(404, 409, 413, 422))
    def restore_meeting(forum_id: Id, body: PairIn, svc: Svc) -> ForumOut:
        return svc.forums.restore_meeting(forum_id, body)

    @app.post("/forums/{forum_id}/roundtables", response_model=RoundTablesOut, tags=["forums"],
              responses=_errors(404, 413, 422, 503))
    def forum_roundtables(forum_id: Id, body: RoundTablesIn, svc: Svc) -> RoundTablesOut:
        """Themed round-tables: participants split into tables of a given size by shared themes."""
        return svc.forums.roundtables(forum_id, body.size)

    @app.get("/forums/{forum_id}/agenda.csv", tags=["forums"], response_class=Response,
             responses={200: _file("text/csv", "the schedule, a meeting a row"), **_errors(404, 422)})
    def forum_agenda_csv(forum_id: Id, svc: Svc) -> Response:
        return Response(svc.forums.agenda_csv(forum_id), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{forum_id}-agenda.csv"'})

    @app.get("/forums/{forum_id}/participants/{stakeholder_id}/calendar.ics", tags=["forums"],
             response_class=Response,
             responses={200: _file("text/calendar", "the participant's meetings"), **_errors(404, 422)})
    def forum_calendar(forum_id: Id, stakeholder_id: Id, svc: Svc) -> Response:
        return Response(svc.forums.calendar(forum_id, stakeholder_id), media_type="text/calendar",
                        headers={"content-disposition":
                                 f'attachment; filename="{forum_id}-{stakeholder_id}.ics"'})

    # ---- a participant's own part in a forum (issue 16, item 5): its members or the secretariat ----

    @app.get("/forums/{forum_id}/participants/{stakeholder_id}", response_model=ForumParticipation,
             tags=["forums"], responses=_errors(404, 422))
    def forum_participation(forum_id: Id, stakeholder_id: Id, svc: Svc) -> ForumParticipation:
        """The participant's view: its availability, the other participants ranked by fit with its
        marks and the meeting requests either way, and its meetings once the schedule is made."""
        return svc.participation.view(forum_id, stakeholder_id)

    @app.put("/forums/{forum_id}/participants/{stakeholder_id}/preferences", response_model=ForumParticipation,
             tags=["forums"], responses=_errors(404, 409, 422))
    def forum_preferences(forum_id: Id, stakeholder_id: Id, body: ForumPreferencesIn,
                          svc: Svc) -> ForumParticipation:
        """When the participant can meet, and whom it must meet, would like to meet or will not (the
        schedule uses all of it the next time it is made)."""
        svc.participation.set_preferences(forum_id, stakeholder_id, body)
        return svc.participation.view(forum_id, stakeholder_id)

    @app.post("/forums/{forum_id}/participants/{stakeholder_id}/requests", response_model=ForumParticipation,
              tags=["forums"], responses=_errors(404, 409, 422))
    def forum_request(forum_id: Id, stakeholder_id: Id, body: MeetingRequestIn, svc: Svc) -> ForumParticipation:
        """Ask another participant for a meeting (its members are mailed); 409 if asked already or
        declined."""
        svc.participation.ask(forum_id, stakeholder_id, body)
        return svc.participation.view(forum_id, stakeholder_id)

    @app.post("/forums/{forum_id}/participants/{stakeholder_id}/answers", response_model=ForumParticipation,
              tags=["forums"], responses=_errors(404, 409, 422))
    def forum_answer(forum_id: Id, stakeholder_id: Id, body: MeetingAnswerIn, svc: Svc) -> ForumParticipation:
        """Accept or decline another participant's request (the asker is mailed): an accepted one is
        a meeting the schedule must place, a declined one a pair it never places."""
        svc.participation.answer(forum_id, stakeholder_id, body)
        return svc.participation.view(forum_id, stakeholder_id)

    @app.post("/forums/{forum_id}/participants/{stakeholder_id}/outcomes", response_model=MeetingOutcomeOut,
              tags=["forums"], responses=_errors(404, 409, 422))
    def forum_meeting_outcome(forum_id: Id, stakeholder_id: Id, body: MeetingOutcomeIn, svc: Svc,
                              who: Who) -> MeetingOutcomeOut:
        """What came of the participant's meeting with ``other``: first once it took place, again
        about six months later; to change an answer, send the ``version`` read (409 if changed meanwhile)."""
        o = svc.meeting_outcomes.answer(forum_id, stakeholder_id, body.other, body.stage, body.result, body.note,
                                        answered_by=who.name, version=body.version)
        return MeetingOutcomeOut(forum=forum_id, org=o.org, other=body.other, stage=o.stage, result=o.result,
                                 note=o.note, answered_by=o.answered_by, answered_at=o.answered_at, version=o.version)

    @app.get("/templates/questionnaire.xlsx", tags=["intake"], response_class=Response,
             responses={200: _file(XLSX, "the questionnaire workbook"), **_errors()})
    def questionnaire_xlsx(request: Request, svc: Svc, lang: Language = None) -> Response:
        """The questionnaire workbook to fill in and upload to ``POST /import``, in the language asked
        (``lang``, else the browser's ``Accept-Language``, else English)."""
        from api.intake import template_xlsx

        lang = language_of(request)
        data = template_xlsx([(t.id, t.label_in(lang)) for t in svc.vocabulary.values()], lang)
        return Response(data, media_type=XLSX,
                        headers={"content-disposition": 'attachment; filename="dldmatch-questionnaire.xlsx"'})

    @app.get("/templates/{sheet}.csv", tags=["intake"], response_class=Response,
             responses={200: _file("text/csv", "one sheet of the questionnaire, its header row"), **_errors(422)})
    def questionnaire_csv(sheet: Literal["stakeholders", "projects"]) -> Response:
        from api.intake import template_csv

        return Response(template_csv(sheet), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="dldmatch-{sheet}.csv"'})

    @app.post("/submissions", response_model=SubmissionReceipt, status_code=201, tags=["review"],
              responses=_errors(409, 413, 422, 429))
    async def submit_file(request: Request, svc: Svc,
                          file: UploadFile = File(description=".xlsx or .csv questionnaire")) -> SubmissionReceipt:
        """Send a filled questionnaire for the secretariat's review (anyone): checked now, every row's
        mistakes at once (422); neither listed nor matched before it is approved. 409 names the rows
        that look like stored organisations (write their id to update, or yes in confirm_new)."""
        from api.importing import read_sheets

        sheets = read_sheets(file.filename or "upload", await file.read())
        client = request.client.host if request.client else "unknown"
        row, flagged = await run_in_threadpool(svc.review.submit, sheets, channel="upload", client=client,
                                               filename=file.filename)
        if row is None:
            raise Conflict(f"{len(flagged)} row(s) look like organisations already in dldmatch; nothing was sent",
                           errors=[{"field": f"{f.sheet} row {f.row}", "message": f"{f.name!r} looks like stored "
                                    f"{f.similar_to.id!r} ({f.similar_to.name}); if it is another organisation, write yes "
                                    "in confirm_new"} for f in flagged])
        assert row.id is not None
        return SubmissionReceipt(id=row.id, status="pending", message="received: the secretariat reviews it "
                                                                      "before it is listed")

    SubmissionId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
    Reviewer = Annotated[Principal, Depends(principal_of)]

    @app.get("/submissions", response_model=list[SubmissionOut], tags=["review"], responses=_errors(422))
    def list_submissions(svc: Svc, status: Literal["pending", "approved", "rejected"] | None = "pending",
                         limit: Annotated[int, Query(ge=1, le=500)] = 200) -> list[SubmissionOut]:
        """The review queue (the secretariat): pending by default; ``status`` for decided ones."""
        return [_submission(r) for r in svc.review.list(status, limit)]

    @app.get("/submissions/{submission_id}", response_model=SubmissionOut, tags=["review"],
             responses=_errors(404, 422))
    def get_submission(submission_id: SubmissionId, svc: Svc) -> SubmissionOut:
        return _submission(svc.review.get(submission_id))

    @app.post("/submissions/{submission_id}/approve", response_model=IntakeReport, tags=["review"],
              responses=_errors(404, 409, 422))
    def approve_submission(submission_id: SubmissionId, svc: Svc, who: Reviewer,
                           confirm_new: bool = False) -> IntakeReport:
        """Import it as self-declared profiles; rows that look like stored organisations come back
        flagged and it stays pending, unless ``confirm_new``. 409 if decided meanwhile."""
        return svc.review.approve(submission_id, reviewer=who.name, confirm_new=confirm_new)

    @app.post("/submissions/{submission_id}/reject", response_model=SubmissionOut, tags=["review"],
              responses=_errors(404, 409, 413, 422))
    def reject_submission(submission_id: SubmissionId, body: RejectIn, svc: Svc, who: Reviewer) -> SubmissionOut:
        return _submission(svc.review.reject(submission_id, reviewer=who.name, reason=body.reason))

    @app.post("/import", response_model=IntakeReport, tags=["intake"], responses=_errors(409, 413, 422))
    async def import_file(svc: Svc, file: UploadFile = File(description=".xlsx or .csv questionnaire, or .jsonl"),
                          dry_run: bool = False) -> IntakeReport:
        """Import a filled questionnaire or a JSON Lines file: all rows or none; possible duplicates flagged."""
        data = await file.read()
        return await run_in_threadpool(svc.import_upload, file.filename or "upload", data, dry_run=dry_run)

    return app


def _participants(svc: DLDMatch, project_id: str) -> list[tuple[str, str]]:
    """A stored project's participants as (organisation, role); none when there is no such project (the
    write then answers 404)."""
    from api.errors import NotFound

    try:
        return [(p.stakeholder, p.role) for p in svc.catalogue.project_record(project_id).participants]
    except NotFound:
        return []


def _submission(row: Any) -> SubmissionOut:
    return SubmissionOut(id=row.id, status=row.status, channel=row.channel, filename=row.filename, summary=row.summary,
                         rows=row.sheets, submitted_at=row.submitted_at, reviewed_at=row.reviewed_at,
                         reviewed_by=row.reviewed_by, reason=row.reason, imported=row.imported)


def _tagged(response: Response, out: Any) -> Any:
    """The record's version as its ETag, for If-Match."""
    response.headers["ETag"] = f'"{out.version}"'
    return out


_IF_MATCH = r'^\s*(\*|(W/)?"?[0-9]{1,18}"?)?\s*$'  # declared in the schema; ASCII digits that fit a 64-bit int


def _version(if_match: str | None) -> int | None:
    """The version an If-Match header names (an ETag as this API gives it: ``"3"``); ``*`` or none: any."""
    if if_match is None:
        return None
    if not re.fullmatch(_IF_MATCH, if_match):
        raise InvalidInput(N_("invalid If-Match"), errors=[{"field": "If-Match", "message":
                           f"expected the ETag of a GET, such as \"3\"; got {if_match[:40]!r}"}])
    digits = re.search(r"[0-9]+", if_match)
    return int(digits.group()) if digits else None


def _same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        from api.errors import InvalidInput

        raise InvalidInput(N_("id mismatch"), errors=[{"field": "id",
                                                   "message": f"body id {body_id!r} differs from the path's {path_id!r}"}])


def _mount_docs(app: FastAPI) -> None:
    """OpenAPI docs with Swagger UI served from the installed package, not a CDN: the Swagger UI 5
    that fastapi-offline bundles (the 4.15 of swagger-ui-bundle could not read OpenAPI 3.1, the
    schema FastAPI writes: "Unable to render this definition")."""
    import fastapi_offline

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="dldmatch API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None})  # no badge from swagger.io


_HEADINGS = {401: N_("Please sign in"), 403: N_("Not allowed"), 429: N_("Too many attempts"), 404: N_("Not found"),
             413: N_("Too large"), 422: N_("Please check your request"), 409: N_("Already there"),
             503: N_("Starting up"), 500: N_("Something went wrong")}


def _add_error_handlers(app: FastAPI, templates: Any) -> None:
    """Errors are JSON for the API, and a page in words (never a stack trace) for the web page."""

    def render(request: Request, status: int, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> Response:
        if getattr(request.state, "html", False) or (
                request.method == "GET" and "text/html" in request.headers.get("accept", "")
                and not request.url.path.startswith(("/stakeholders", "/projects", "/themes", "/health",
                                                     "/match", "/docs", "/openapi"))):
            lang = language_of(request)
            message = body["message"]
            if status == 503:
                message = N_("dldmatch is still getting ready (building its index). Please try again in a moment.")
            return templates.TemplateResponse(request, "error.html", {
                "heading": gettext(lang, _HEADINGS.get(status, _HEADINGS[500])), "message": translate(lang, message),
                "errors": body.get("errors", []), "theme_labels": {}, "has_pooling": False, "has_forums": False,
                "lang": lang, **vocabularies(lang)}, status_code=status, headers=headers)
        return JSONResponse(status_code=status, content=body, headers=headers)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, Unauthorized) and getattr(request.state, "html", False):
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return render(request, exc.status, exc.to_json(), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"field": "body" if e["type"] == "json_invalid" else
                   ".".join(str(p) for p in e["loc"] if p != "body") or "body", "message": plain(e)}
                  for e in exc.errors()]
        return render(request, 422, {"error": "invalid_input", "message": f"{len(errors)} invalid field(s)",
                                     "errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (not UTF-8, broken multipart): invalid input
            return render(request, 422, {"error": "invalid_input", "message": N_("the request body cannot be read"),
                                         "errors": [{"field": "body", "message": str(exc.detail)}]})
        message = N_("There is no such page.") if exc.status_code == 404 else str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Allow, as HTTP requires: every method of the path, not the first route's
            headers["Allow"] = _allowed_methods(request)
        return render(request, exc.status_code, {"error": "http_error", "message": message}, headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        return render(request, 500, {"error": "internal_error", "message": N_("An unexpected error occurred.")})

    app.add_middleware(KeepConnection, render=unexpected)


def _allowed_methods(request: Request) -> str:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def app_from_env() -> FastAPI:
    """For ``uvicorn api.app:app_from_env --factory --workers N``: settings from the environment."""
    return create_app(Settings())
