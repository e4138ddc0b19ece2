"""The web pages of people: expressing interest, the inbox (consent before contact), invitations,
accounts and the outbox. Rules are in ``api.access``; records are checked by the capabilities."""


from typing import Any, Callable, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import CSRF_COOKIE, SESSION_COOKIE, principal_of
from api.accounts import Accounts
from api.errors import DomainError
from api.i18n import N_, t
from api.messages import plain
from api.people_api import interests_out
from api.core import utc, utcnow
from api.outcomes import LATER_OPENS, RESULTS
from api.schemas import RowId



def add_people_pages(router: APIRouter, page: Callable[..., HTMLResponse], svc_of: Callable[[Request], Any],
                     secure: Callable[[Request], bool]) -> None:

    @router.get("/s/{external_id}/interest", response_class=HTMLResponse)
    def interest_form(request: Request, external_id: str) -> HTMLResponse:
        svc = svc_of(request)
        return page(request, "interest.html", s=svc.get_stakeholder(external_id), error=None, message="")

    @router.post("/s/{external_id}/interest", response_class=HTMLResponse)
    def interest_send(request: Request, external_id: str, message: str = Form(""),
                      broker: bool = Form(False)) -> Response:
        svc = svc_of(request)
        try:
            svc.interests.express(principal_of(request), external_id, message, broker=broker)
        except DomainError as exc:
            return page(request, "interest.html", status_code=exc.status, s=svc.get_stakeholder(external_id),
                        error={"message": exc.message, "errors": exc.errors}, message=message)
        return RedirectResponse("/inbox?sent=1", status_code=303)

    def inbox_page(request: Request, *, error: DomainError | None = None, status_code: int = 200) -> HTMLResponse:
        svc = svc_of(request)
        me = principal_of(request)
        items = interests_out(svc, me, svc.interests.visible(me))
        mine = me.organisation
        return page(request, "inbox.html", status_code=status_code,
                    brokering=[i for i in items if i.status == "brokering" and me.secretariat],
                    received=[i for i in items if i.to_org.id == mine and i.status == "open"],
                    sent=[i for i in items if i.from_org.id == mine and i.status in ("open", "brokering")],
                    accepted=[i for i in items if i.status == "accepted"],
                    others=[i for i in items if me.secretariat and i.status == "open"],
                    closed=[i for i in items if i.status in ("declined", "withdrawn")][:30],
                    results=RESULTS, later_open=lambda i: i.accepted_at is not None and utcnow() >= utc(
                        i.accepted_at) + LATER_OPENS,
                    error={"message": error.message, "errors": error.errors} if error else None,
                    forums=[f for f in svc.forums.list() if mine in {p.stakeholder for p in f.participants}]
                    if mine else [])

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox(request: Request) -> HTMLResponse:
        return inbox_page(request)

    @router.post("/inbox/{interest_id}/outcome", response_class=HTMLResponse)
    def inbox_outcome(request: Request, interest_id: RowId, stage: Literal["first", "later"] = Form("first"),
                      result: str = Form(...), note: str = Form(""), version: str = Form("")) -> Response:
        try:
            svc_of(request).outcomes.answer(principal_of(request), interest_id, stage, result,  # type: ignore[arg-type]
                                            note, version=int(version) if version.isdigit() else None)
        except DomainError as exc:
            return inbox_page(request, error=exc, status_code=exc.status)
        return RedirectResponse(f"/inbox?told=1#interest-{interest_id}", status_code=303)

    # ---- no thanks: a member's organisation does not want an organisation suggested again ----------

    @router.post("/s/{external_id}/no-thanks", response_class=HTMLResponse)
    def no_thanks(request: Request, external_id: str, back: str = Form("")) -> Response:
        svc = svc_of(request)
        try:
            svc.outcomes.no_thanks(principal_of(request), external_id)
        except DomainError as exc:
            return hidden_page(request, error=exc, status_code=exc.status)
        target = back if back.startswith("/") and not back.startswith("//") else "/hidden"
        return RedirectResponse(target, status_code=303)

    def hidden_page(request: Request, *, error: DomainError | None = None, status_code: int = 200) -> HTMLResponse:
        svc = svc_of(request)
        me = principal_of(request)
        rows = svc.outcomes.said(me.organisation or "")
        refs = svc.interests.refs([r.other for r in rows])
        declined = {o: reason for o, reason in svc.outcomes.not_suggested(me.organisation or "").items()
                    if reason != "no thanks was said to it"}
        return page(request, "hidden.html", status_code=status_code, rows=rows, refs=refs,
                    declined=declined, declined_refs=svc.interests.refs(list(declined)),
                    error={"message": error.message, "errors": error.errors} if error else None)

    @router.get("/hidden", response_class=HTMLResponse)
    def hidden(request: Request) -> HTMLResponse:
        return hidden_page(request)

    @router.post("/hidden/{other}/restore", response_class=HTMLResponse)
    def hidden_restore(request: Request, other: str) -> Response:
        try:
            svc_of(request).outcomes.take_back(principal_of(request), other)
        except DomainError as exc:
            return hidden_page(request, error=exc, status_code=exc.status)
        return RedirectResponse("/hidden", status_code=303)

    # ---- the secretariat: what introductions became ----------------------------------------------

    @router.get("/conversion", response_class=HTMLResponse)
    def conversion(request: Request) -> HTMLResponse:
        svc = svc_of(request)
        return page(request, "conversion.html", funnel=svc.outcomes.funnel(), results=RESULTS,
                    meetings=svc.meeting_outcomes.funnel(),
                    theme_names={t.id: t.label for t in svc.core.vocabulary.values()})

    @router.post("/inbox/{interest_id}/{action}", response_class=HTMLResponse)
    def inbox_act(request: Request, interest_id: RowId,
                  action: Literal["accept", "decline", "withdraw", "forward"]) -> Response:
        try:
            svc_of(request).interests.act(principal_of(request), interest_id, action)
        except DomainError as exc:
            return inbox_page(request, error=exc, status_code=exc.status)
        return RedirectResponse("/inbox", status_code=303)

    # ---- a member edits its own organisation's profile --------------------------------------------

    def profile_form(request: Request, external_id: str, form: dict[str, Any] | None = None, *,
                     version: int | None = None, field_errors: dict[str, str] | None = None,
                     outcome: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
        svc = svc_of(request)
        record, stored_version = svc.catalogue.stakeholder_record(external_id)
        if form is None:
            contact = record.contact
            form = {"name": record.name, "kind": record.kind, "countries": record.countries,
                    "places": "; ".join(p.name for p in record.places), "description": record.description,
                    "offers": [o.kind for o in record.offers], "needs": [n.kind for n in record.needs],
                    "website": record.website or "", "contact_name": contact.name if contact else "",
                    "contact_email": contact.email if contact else ""}
        return page(request, "intake.html", status_code=status_code, form=form, field_errors=field_errors or {},
                    outcome=outcome, form_action=f"/s/{external_id}/edit", profile=record,
                    version=version if version is not None else stored_version)

    @router.get("/s/{external_id}/edit", response_class=HTMLResponse)
    def profile_edit_page(request: Request, external_id: str) -> HTMLResponse:
        return profile_form(request, external_id)

    @router.post("/s/{external_id}/edit", response_class=HTMLResponse)
    def profile_edit(request: Request, external_id: str, version: int = Form(...), name: str = Form(""),
                     kind: str = Form(""), countries: list[str] = Form([]), places: str = Form(""),
                     description: str = Form(""), offers: list[str] = Form([]), needs: list[str] = Form([]),
                     website: str = Form(""), contact_name: str = Form(""), contact_email: str = Form("")) -> Response:
        from pydantic import ValidationError

        from api.schemas import StakeholderIn

        svc = svc_of(request)
        me = principal_of(request)
        form = {"name": name, "kind": kind, "countries": countries, "places": places, "description": description,
                "offers": offers, "needs": needs, "website": website, "contact_name": contact_name,
                "contact_email": contact_email}
        current, _ = svc.catalogue.stakeholder_record(external_id)
        kept_places = {p.name: p for p in current.places}  # a place kept keeps its coordinates
        details = {r.kind: r.detail for r in current.offers + current.needs}
        contact = {**(current.contact.model_dump(exclude_none=True) if current.contact else {}),
                   "name": contact_name.strip() or None, "email": contact_email.strip() or None}
        try:
            body = StakeholderIn.model_validate({
                **current.model_dump(exclude={"created_at", "updated_at"}), "name": name, "kind": kind,
                "countries": countries, "description": description, "website": website.strip() or None,
                "places": [kept_places.get(p.strip(), p.strip()) for p in places.split(";") if p.strip()],
                "offers": [{"kind": k, "detail": details.get(k, "")} for k in offers],
                "needs": [{"kind": k, "detail": details.get(k, "")} for k in needs],
                "contact": {k: v for k, v in contact.items() if v} or None,
                "self_declared": True if not me.secretariat else current.self_declared})
            svc.replace(body, if_match=version)
        except ValidationError as exc:
            errors = {(".".join(str(p) for p in e["loc"][:1]) if e["loc"][0] != "contact" else
                       f"contact_{e['loc'][1]}" if len(e["loc"]) > 1 else "contact"): plain(e) for e in exc.errors()}
            return profile_form(request, external_id, form, version=version, field_errors=errors, status_code=422,
                                outcome={"ok": False, "heading": t(request, "Please check the form"),
                                         "message": t(request, "Nothing was saved."),
                                         "errors": [{"column": k, "message": v} for k, v in errors.items()]})
        except DomainError as exc:
            message = (t(request, "Someone else changed this profile meanwhile: reload the page to see their "
                                   "changes, then edit again.") if exc.status in (409, 412) else exc.message)
            return profile_form(request, external_id, form, version=version, status_code=exc.status,
                                outcome={"ok": False, "heading": t(request, "Not saved"), "message": message,
                                         "errors": exc.errors})
        return RedirectResponse(f"/s/{external_id}?saved=1", status_code=303)

    # ---- projects: added and edited by their members (and the secretariat) ----------------------

    def project_page(request: Request, form: dict[str, Any], *, action: str, project: Any = None,
                     version: int | None = None, errors: list[dict[str, Any]] | None = None,
                     message: str | None = None, status_code: int = 200) -> HTMLResponse:
        from matcher.vocab import PROJECT_STATUSES

        field_errors = {e["column"]: e["message"] for e in errors or []}
        return page(request, "project_form.html", status_code=status_code, form=form, action=action, project=project,
                    version=version, field_errors=field_errors, errors=errors or [], message=message,
                    statuses=PROJECT_STATUSES)

    def project_row(title: str, description: str, countries: list[str], places: str, status: str, start_year: str,
                    end_year: str, seeks: list[str], participants: str) -> dict[str, Any]:
        return {"__row__": 2, "title": title, "description": description, "countries": "; ".join(countries),
                "places": places, "status": status, "start_year": start_year, "end_year": end_year,
                "seeks": "; ".join(seeks), "participants": participants}

    def parsed_project(row: dict[str, Any], current: Any = None) -> Any:
        """The form as a project: every mistake at once (InvalidInput naming the fields); an edit keeps
        what the form does not show (sources, budget, a place's coordinates, a need's detail)."""
        from pydantic import ValidationError

        from api import intake
        from api.errors import InvalidInput
        from api.schemas import ProjectIn

        [parsed] = intake.rows_to_records({"projects": [row]})
        record = parsed.record
        errors = [{"column": e.column, "message": e.message} for e in parsed.errors]
        if current is not None:
            kept_places = {p.name: p.model_dump() for p in current.places}
            details = {r.kind: r.detail for r in current.seeks}
            record = {**current.model_dump(exclude={"created_at", "updated_at"}), **record, "id": current.id,
                      "places": [kept_places.get(p, p) for p in record.get("places", [])],
                      "seeks": [{**r, "detail": r.get("detail") or details.get(r["kind"], "")}
                                for r in record.get("seeks", [])]}
            for column in ("status", "start_year", "end_year"):
                if not str(row.get(column) or "").strip():
                    record[column] = None
        try:
            project = ProjectIn.model_validate(record)
        except ValidationError as exc:
            noted = {e["column"] for e in errors}
            errors += [{"column": column, "message": plain(e)} for e in exc.errors()
                       if (column := intake.column_for("projects", e["loc"])) not in noted]
            project = None
        if errors:
            raise InvalidInput(N_("Please check the form"), errors=errors)
        return project

    def project_form_of(p: Any) -> dict[str, Any]:
        return {"title": p.title, "description": p.description, "countries": p.countries,
                "places": "; ".join(x.name for x in p.places), "status": p.status or "",
                "start_year": p.start_year or "", "end_year": p.end_year or "", "seeks": [r.kind for r in p.seeks],
                "participants": "; ".join(f"{x.stakeholder}:{x.role}" for x in p.participants)}

    @router.get("/p/new", response_class=HTMLResponse)
    def project_new_page(request: Request) -> HTMLResponse:
        me = principal_of(request)
        return project_page(request, {"participants": f"{me.organisation}:lead" if me.organisation else ""},
                            action="/p/new")

    @router.post("/p/new", response_class=HTMLResponse)
    def project_new(request: Request, title: str = Form(""), description: str = Form(""),
                    countries: list[str] = Form([]), places: str = Form(""), status: str = Form(""),
                    start_year: str = Form(""), end_year: str = Form(""), seeks: list[str] = Form([]),
                    participants: str = Form("")) -> Response:
        from api.access import require_project_member

        form = {"title": title, "description": description, "countries": countries, "places": places,
                "status": status, "start_year": start_year, "end_year": end_year, "seeks": seeks,
                "participants": participants}
        svc = svc_of(request)
        try:
            project = parsed_project(project_row(title, description, countries, places, status, start_year, end_year,
                                                 seeks, participants))
            require_project_member(principal_of(request), [(x.stakeholder, x.role) for x in project.participants],
                                   stored=[])
            svc.create(project)
        except DomainError as exc:
            return project_page(request, form, action="/p/new", errors=exc.errors or None,
                                message=None if exc.errors else exc.message, status_code=exc.status)
        return RedirectResponse(f"/p/{project.id}", status_code=303)

    @router.get("/p/{external_id}/edit", response_class=HTMLResponse)
    def project_edit_page(request: Request, external_id: str) -> HTMLResponse:
        svc = svc_of(request)
        current = svc.catalogue.project_record(external_id)
        return project_page(request, project_form_of(current), action=f"/p/{external_id}/edit", project=current,
                            version=svc.get_project(external_id).version)

    @router.post("/p/{external_id}/edit", response_class=HTMLResponse)
    def project_edit(request: Request, external_id: str, version: int = Form(...), title: str = Form(""),
                     description: str = Form(""), countries: list[str] = Form([]), places: str = Form(""),
                     status: str = Form(""), start_year: str = Form(""), end_year: str = Form(""),
                     seeks: list[str] = Form([]), participants: str = Form("")) -> Response:
        from api.access import require_project_member

        form = {"title": title, "description": description, "countries": countries, "places": places,
                "status": status, "start_year": start_year, "end_year": end_year, "seeks": seeks,
                "participants": participants}
        svc = svc_of(request)
        current = svc.catalogue.project_record(external_id)
        try:
            project = parsed_project(project_row(title, description, countries, places, status, start_year, end_year,
                                                 seeks, participants), current)
            require_project_member(principal_of(request), [(x.stakeholder, x.role) for x in project.participants],
                                   stored=[(x.stakeholder, x.role) for x in current.participants])
            svc.replace(project, if_match=version)
        except DomainError as exc:
            message = (t(request, "Someone else changed this project meanwhile: reload the page to see their "
                                   "changes, then edit again.") if exc.status in (409, 412)
                       else None if exc.errors else exc.message)
            return project_page(request, form, action=f"/p/{external_id}/edit", project=current, version=version,
                                errors=exc.errors or None, message=message, status_code=exc.status)
        return RedirectResponse(f"/p/{external_id}?saved=1", status_code=303)

    # ---- accounts (the secretariat) and invitations ---------------------------------------------

    def accounts_page(request: Request, *, notice: dict[str, Any] | None = None, form: dict[str, Any] | None = None,
                      status_code: int = 200) -> HTMLResponse:
        svc = svc_of(request)
        return page(request, "accounts.html", status_code=status_code, accounts=svc.accounts.accounts(),
                    stakeholders=svc.list_stakeholders(limit=200).items, notice=notice, form=form or {})

    @router.get("/accounts", response_class=HTMLResponse)
    def accounts(request: Request) -> HTMLResponse:
        return accounts_page(request)

    @router.post("/accounts/invite", response_class=HTMLResponse)
    def accounts_invite(request: Request, email: str = Form(""), role: str = Form("member"),
                        organisation: str = Form(""), name: str = Form(""), language: str = Form("")) -> HTMLResponse:
        form = {"email": email, "role": role, "organisation": organisation, "name": name, "language": language}
        try:
            account, _ = svc_of(request).invite(email, role, organisation=organisation or None, name=name,
                                                language=language or None)
        except DomainError as exc:
            return accounts_page(request, notice={"ok": False, "message": exc.message, "errors": exc.errors},
                                 form=form, status_code=exc.status)
        return accounts_page(request, notice={"ok": True, "message": t(
            request, "Invitation mailed to %(email)s (see the outbox).", email=account.email)})

    @router.get("/invite/{token}", response_class=HTMLResponse)
    def invitation(request: Request, token: str) -> HTMLResponse:
        account = svc_of(request).accounts.invitation(token)
        return page(request, "invite.html", account=account, token=token, error=None)

    @router.post("/invite/{token}", response_class=HTMLResponse)
    def invitation_accept(request: Request, token: str, password: str = Form(""),
                          again: str = Form("")) -> Response:
        svc = svc_of(request)
        account = svc.accounts.invitation(token)
        try:
            if password != again:
                raise DomainError(N_("the two passwords differ; type the same one twice"))
            key, request.state.principal = svc.accounts.accept_invitation(
                token, password, client=request.client.host if request.client else "unknown")
        except DomainError as exc:
            return page(request, "invite.html", status_code=422 if exc.status == 400 else exc.status,
                        account=account, token=token, error=exc.message)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, key, httponly=True, samesite="lax", secure=secure(request),
                            max_age=Accounts.SESSION_HOURS * 3600)
        response.delete_cookie(CSRF_COOKIE)
        return response

    @router.get("/audit-log", response_class=HTMLResponse)
    def audit_page(request: Request, actor: str = "", target: str = "", offset: int = 0) -> HTMLResponse:
        from api.audit import entries

        offset = max(0, min(offset, 10**9))
        actor, target = actor.replace("\x00", "")[:200], target.replace("\x00", "")[:200]  # PostgreSQL refuses NUL
        rows = entries(svc_of(request).engine, actor=actor or None, target=target or None, limit=100, offset=offset)
        return page(request, "audit.html", rows=rows, filters={"actor": actor, "target": target}, offset=offset)

    def deleted_page(request: Request, *, notice: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
        from api.people_api import trash_out

        trash = svc_of(request).trash
        return page(request, "deleted.html", status_code=status_code, notice=notice,
                    deleted=[trash_out(r) for r in trash.list()], restored=[trash_out(r) for r in trash.list(restored=True)][:30])

    @router.get("/deleted", response_class=HTMLResponse)
    def deleted(request: Request) -> HTMLResponse:
        return deleted_page(request)

    @router.post("/deleted/{trash_id}/restore", response_class=HTMLResponse)
    def deleted_restore(request: Request, trash_id: RowId) -> Response:
        try:
            row = svc_of(request).trash.restore(trash_id, actor=principal_of(request).actor)
        except DomainError as exc:
            return deleted_page(request, notice={"ok": False, "message": exc.message}, status_code=exc.status)
        where = {"stakeholder": "/s/", "project": "/p/", "forum": "/planner/"}[row.entity_type]
        return RedirectResponse(where + row.external_id, status_code=303)

    @router.get("/outbox", response_class=HTMLResponse)
    def outbox(request: Request) -> HTMLResponse:
        svc = svc_of(request)
        return page(request, "outbox.html", mails=svc.outbox.recent(), smtp=bool(svc.settings.smtp_url))
