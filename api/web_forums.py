"""The web page of a forum's participant (issue 16, item 5): its members say when they can meet and
whom they must meet, would like to meet or will not; ask others for a meeting and answer theirs; and
see their agenda once the secretariat makes the schedule."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pydantic import BaseModel, ValidationError

from api.core import utcnow
from api.errors import DomainError, InvalidInput
from api.i18n import N_
from api.messages import plain
from api.schemas import ForumPreferencesIn, MeetingAnswerIn, MeetingOutcomeIn, MeetingRequestIn


def checked(model: type[BaseModel], **values: Any) -> Any:
    """The form's values as the API's model, or a 422 naming each field in words."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise InvalidInput(N_("Please check the form"), errors=[
            {"field": ".".join(map(str, e["loc"])) or "form", "message": plain(e)} for e in exc.errors()]) from exc


def add_participant_pages(router: APIRouter, page: Callable[..., HTMLResponse], svc_of: Callable[[Request], Any]) -> None:
    def participant_page(request: Request, forum_id: str, stakeholder_id: str, *,
                         error: DomainError | None = None, status_code: int = 200) -> HTMLResponse:
        view = svc_of(request).participation.view(forum_id, stakeholder_id)
        return page(request, "forum_mine.html", status_code=status_code, view=view, now=utcnow(),
                    error={"message": error.message, "errors": error.errors} if error else None)

    def back(forum_id: str, stakeholder_id: str, anchor: str = "") -> RedirectResponse:
        return RedirectResponse(f"/forums/{forum_id}/as/{stakeholder_id}?saved=1{anchor}", status_code=303)

    @router.get("/forums/{forum_id}/as/{stakeholder_id}", response_class=HTMLResponse)
    def participant(request: Request, forum_id: str, stakeholder_id: str) -> HTMLResponse:
        return participant_page(request, forum_id, stakeholder_id)

    @router.post("/forums/{forum_id}/as/{stakeholder_id}", response_class=HTMLResponse)
    async def participant_save(request: Request, forum_id: str, stakeholder_id: str) -> Response:
        """The form: a checkbox per slot, and for each other participant a choice of mark."""
        form = await request.form()
        slots = [int(v) for v in form.getlist("slot") if str(v).isdigit()]
        marks: dict[str, list[str]] = {"must_meet": [], "meet": [], "no_thanks": []}
        for key, value in form.multi_items():
            if key.startswith("mark:") and value in marks:
                marks[str(value)].append(key[5:])
        n_slots = len(svc_of(request).forums.get(forum_id).slots)  # the forum alone: no pair scoring here
        try:
            if not slots:
                raise InvalidInput(N_("Please check the form"), errors=[
                    {"field": "slot", "message": N_("choose at least one time when you can meet")}])
            every = set(slots) >= set(range(1, n_slots + 1))
            prefs = checked(ForumPreferencesIn, available_slots=None if every else slots, **marks)
            svc_of(request).participation.set_preferences(forum_id, stakeholder_id, prefs)
        except DomainError as exc:
            return participant_page(request, forum_id, stakeholder_id, error=exc, status_code=exc.status)
        return back(forum_id, stakeholder_id)

    @router.post("/forums/{forum_id}/as/{stakeholder_id}/ask", response_class=HTMLResponse)
    def participant_ask(request: Request, forum_id: str, stakeholder_id: str, to: str = Form(...),
                        message: str = Form("")) -> Response:
        try:
            svc_of(request).participation.ask(forum_id, stakeholder_id, checked(MeetingRequestIn, to=to, message=message[:1000]))
        except DomainError as exc:
            return participant_page(request, forum_id, stakeholder_id, error=exc, status_code=exc.status)
        return back(forum_id, stakeholder_id, "#others")

    @router.post("/forums/{forum_id}/as/{stakeholder_id}/answer", response_class=HTMLResponse)
    def participant_answer(request: Request, forum_id: str, stakeholder_id: str, asker: str = Form(...),
                           accept: str = Form(...)) -> Response:
        try:
            svc_of(request).participation.answer(forum_id, stakeholder_id,
                                                 checked(MeetingAnswerIn, asker=asker, accept=accept == "yes"))
        except DomainError as exc:
            return participant_page(request, forum_id, stakeholder_id, error=exc, status_code=exc.status)
        return back(forum_id, stakeholder_id, "#requests")

    @router.post("/forums/{forum_id}/as/{stakeholder_id}/outcome", response_class=HTMLResponse)
    def participant_outcome(request: Request, forum_id: str, stakeholder_id: str, other: str = Form(...),
                            stage: str = Form("first"), result: str = Form(...), version: str = Form(""),
                            note: str = Form("")) -> Response:
        from api.access import principal_of

        try:
            told = checked(MeetingOutcomeIn, other=other, stage=stage, result=result, note=note[:1000],
                           version=int(version) if version.isdigit() else None)
            svc_of(request).meeting_outcomes.answer(forum_id, stakeholder_id, told.other, told.stage, told.result,
                                                    told.note, answered_by=principal_of(request).name,
                                                    version=told.version)
        except DomainError as exc:
            return participant_page(request, forum_id, stakeholder_id, error=exc, status_code=exc.status)
        return back(forum_id, stakeholder_id, "#meetings")
