"""The API of people and their consent: interests between organisations (contacts only when both
accept) and invitations to set a password. Rules are in ``api.access``; the capability modules
(``api.interests``, ``api.accounts``) check who may do what to which record."""


from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam

from api.access import principal_of
from api.accounts import Principal
from fastapi import Query

from api.schemas import (ID_PATTERN, AuditOut, FunnelOut, InterestIn, InterestOut, InvitationIn, InvitationOut, NoThanksIn,
                         NoThanksOut, OutcomeIn, OutcomeOut, StakeholderRef, TrashOut, error_responses)
from api.service import DLDMatch

_errors = error_responses


def _ref(refs: dict[str, tuple[str, str]], org: str) -> StakeholderRef:
    name, kind = refs.get(org, (org, ""))  # an organisation deleted since keeps its id
    return StakeholderRef(id=org, name=name, kind=kind)


def outcome_out(row: Any, refs: dict[str, tuple[str, str]]) -> OutcomeOut:
    from api.outcomes import RESULTS

    return OutcomeOut(interest=row.interest_id, org=_ref(refs, row.org), stage=row.stage, result=row.result,
                      label=RESULTS[row.result], note=row.note, answered_by=row.answered_by,
                      answered_at=row.answered_at, version=row.version)


def interests_out(svc: DLDMatch, who: Principal, rows: list[Any]) -> list[InterestOut]:
    """The interests as shown to ``who``, with the answers about each (read in two queries)."""
    refs = svc.interests.refs(list({o for r in rows for o in (r.from_org, r.to_org)}))
    answers = svc.outcomes.of([r.id for r in rows if r.accepted_at is not None])
    return [InterestOut(id=row.id, from_org=_ref(refs, row.from_org), to_org=_ref(refs, row.to_org),
                        message=row.message, status=row.status, brokered=row.brokered, created_at=row.created_at,
                        updated_at=row.updated_at, created_by=row.created_by, decided_by=row.decided_by,
                        accepted_at=row.accepted_at, contacts=svc.interests.contacts(who, row),
                        outcomes=[outcome_out(o, refs) for o in answers.get(row.id, [])]) for row in rows]


def interest_out(svc: DLDMatch, who: Principal, row: Any) -> InterestOut:
    return interests_out(svc, who, [row])[0]


def trash_out(row: Any) -> TrashOut:
    record = row.record.get("record", {})
    return TrashOut(id=row.id, entity_type=row.entity_type, external_id=row.external_id,
                    name=record.get("name") or record.get("title") or row.external_id, deleted_at=row.deleted_at,
                    deleted_by=row.deleted_by, restored_at=row.restored_at, restored_by=row.restored_by)


def build_people_router() -> APIRouter:
    router = APIRouter(tags=["contact"])

    def get_service(request: Request) -> DLDMatch:
        return request.app.state.service  # type: ignore[no-any-return]

    Svc = Annotated[DLDMatch, Depends(get_service)]
    Who = Annotated[Principal, Depends(principal_of)]
    InterestId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]  # a PostgreSQL integer
    Part = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$", description="a part of it")]

    @router.post("/interests", response_model=InterestOut, status_code=201, responses=_errors(404, 409, 413, 422))
    def express_interest(body: InterestIn, svc: Svc, who: Who) -> InterestOut:
        """A member expresses interest in another organisation (its members are told through the
        outbox); with ``broker``, the secretariat gets it first. Contacts are shared only on acceptance."""
        return interest_out(svc, who, svc.interests.express(who, body.to, body.message, broker=body.broker))

    @router.get("/interests", response_model=list[InterestOut], responses=_errors())
    def list_interests(svc: Svc, who: Who) -> list[InterestOut]:
        """A member's organisation's interests, sent and received; the secretariat sees all."""
        return interests_out(svc, who, svc.interests.visible(who))

    @router.get("/interests/{interest_id}", response_model=InterestOut, responses=_errors(404, 422))
    def get_interest(interest_id: InterestId, svc: Svc, who: Who) -> InterestOut:
        return interest_out(svc, who, svc.interests.get(who, interest_id))

    @router.post("/interests/{interest_id}/outcome", response_model=OutcomeOut, tags=["outcomes"],
                 responses=_errors(404, 409, 413, 422))
    def tell_outcome(interest_id: InterestId, body: OutcomeIn, svc: Svc, who: Who) -> OutcomeOut:
        """A member tells what came of an interest its organisation accepted or had accepted: the first
        answer, or the later one (about six months after acceptance). To change its organisation's
        answer, send the ``version`` read (409 when another member changed it meanwhile)."""
        row = svc.outcomes.answer(who, interest_id, body.stage, body.result, body.note, version=body.version)
        return outcome_out(row, svc.interests.refs([row.org]))

    @router.post("/interests/{interest_id}/{action}", response_model=InterestOut, responses=_errors(404, 409, 422))
    def act_on_interest(interest_id: InterestId, action: Literal["accept", "decline", "withdraw", "forward"],
                        svc: Svc, who: Who) -> InterestOut:
        """accept or decline (the organisation it is for), withdraw (either side), forward or decline a
        brokered one (the secretariat)."""
        return interest_out(svc, who, svc.interests.act(who, interest_id, action))

    @router.get("/outcomes", response_model=list[OutcomeOut], tags=["outcomes"], responses=_errors())
    def list_outcomes(svc: Svc, who: Who) -> list[OutcomeOut]:
        """Answers about a member's organisation's interests; every answer for the secretariat."""
        rows = svc.outcomes.visible(who)
        refs = svc.interests.refs(list({r.org for r in rows}))
        return [outcome_out(r, refs) for r in rows]

    @router.get("/outcomes/funnel", response_model=FunnelOut, tags=["outcomes"], responses={
        200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                              "schema": {"type": "string", "format": "binary"}}},
              "description": "the funnel; with format=csv or xlsx, as a file"}, **_errors(422)})
    def funnel(svc: Svc, format: Literal["json", "csv", "xlsx"] = "json") -> Any:  # noqa: A002
        """Interests expressed, accepted, met, cooperation started, agreement reached: overall and by
        theme, country and kind of the two organisations; and the forum meetings (``meetings``; in a
        download the row ``forum meetings``, a scheduled meeting counting as expressed and accepted);
        ``format=csv`` or ``xlsx`` to download."""
        result = {**svc.outcomes.funnel(), "meetings": svc.meeting_outcomes.funnel()}
        if format == "json":
            return result
        from api.downloads import download
        from api.outcomes import funnel_rows

        return download("outcomes-funnel", ["group", "value", *result["stages"]], funnel_rows(result), format)

    @router.post("/no-thanks", response_model=NoThanksOut, status_code=201, tags=["outcomes"],
                 responses=_errors(404, 409, 413, 422))
    def say_no_thanks(body: NoThanksIn, svc: Svc, who: Who) -> NoThanksOut:
        """A member's organisation does not want this organisation suggested as its partner again."""
        row = svc.outcomes.no_thanks(who, body.other)
        return NoThanksOut(org=row.org, other=_ref(svc.interests.refs([row.other]), row.other),
                           said_by=row.said_by, said_at=row.said_at)

    @router.get("/no-thanks", response_model=list[NoThanksOut], tags=["outcomes"], responses=_errors())
    def list_no_thanks(svc: Svc, who: Who) -> list[NoThanksOut]:
        """The organisations the member's organisation said no thanks to."""
        rows = svc.outcomes.said(who.organisation or "")
        refs = svc.interests.refs([r.other for r in rows])
        return [NoThanksOut(org=r.org, other=_ref(refs, r.other), said_by=r.said_by, said_at=r.said_at) for r in rows]

    @router.delete("/no-thanks/{other}", status_code=204, tags=["outcomes"], responses=_errors(404, 422))
    def take_back_no_thanks(other: Annotated[str, PathParam(max_length=120, pattern=ID_PATTERN)], svc: Svc,
                            who: Who) -> Response:
        """Suggest this organisation to the member's organisation again."""
        svc.outcomes.take_back(who, other)
        return Response(status_code=204)

    @router.post("/invitations", response_model=InvitationOut, status_code=201, responses=_errors(409, 413, 422))
    def invite(body: InvitationIn, svc: Svc) -> InvitationOut:
        """An account for a person (a member of an organisation, or the secretariat) and a one-time link,
        valid 72 hours, mailed to them to set a password. The link is never in this answer."""
        account, expires = svc.invite(body.email, body.role, organisation=body.organisation, name=body.name,
                                      language=body.language)
        assert account.id is not None
        return InvitationOut(account=account.id, email=account.email, expires_at=expires,
                             message=f"a link to set the password was mailed to {account.email}")

    # ---- the secretariat's records: the audit log and the trash ----------------------------------

    @router.get("/audit", response_model=list[AuditOut], tags=["audit"], responses=_errors(422))
    def audit_log(svc: Svc, actor: Part = None, target: Part = None,
                  offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
                  limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[AuditOut]:
        """Every write, newest first: who, what, when; ``actor`` and ``target`` filter by a part of them."""
        from api.audit import entries

        return [AuditOut.model_validate(e, from_attributes=True)
                for e in entries(svc.engine, actor=actor, target=target, limit=limit, offset=offset)]

    @router.get("/trash", response_model=list[TrashOut], tags=["audit"], responses=_errors(422))
    def trash(svc: Svc, restored: bool = False) -> list[TrashOut]:
        """Deleted stakeholders and projects (``restored=true``: those restored since)."""
        return [trash_out(r) for r in svc.trash.list(restored=restored)]

    @router.post("/trash/{trash_id}/restore", response_model=TrashOut, tags=["audit"], responses=_errors(404, 409, 422))
    def restore(trash_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)], svc: Svc, who: Who) -> TrashOut:
        """Create the record again as it was deleted (a stakeholder rejoins its projects that still
        exist); 409 when its id was taken meanwhile or it was restored already."""
        return trash_out(svc.trash.restore(trash_id, actor=who.actor))

    return router
