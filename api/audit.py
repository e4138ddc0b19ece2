"""The audit log (issue 15, item 6): who changed what and when, for every write.

:class:`AuditTrail` is an ASGI middleware: a request that changes something (any method but GET,
HEAD and OPTIONS) answered below 400 is recorded before its answer leaves, with the principal the
access guard found, the route (its template and ids) and the status. Refused or failed requests
change nothing and are not recorded (failed sign-ins are counted apart). The CLI's writing commands
call :func:`record` themselves, as ``cli``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.core import utcnow
from store.models import Audit

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger("uvicorn.error")


def record(writer: Any, *, actor: str, role: str, action: str, target: str = "", status: int = 200,
           organisation: str | None = None) -> None:
    with Session(writer) as session:
        session.add(Audit(at=utcnow(), actor=actor[:200], role=role, organisation=organisation, action=action[:200],
                          target=target[:500], status=status))
        session.commit()


def entries(engine: Any, *, actor: str | None = None, target: str | None = None, limit: int = 200,
            offset: int = 0) -> list[Audit]:
    with Session(engine) as session:
        query = select(Audit).order_by(col(Audit.id).desc()).offset(offset).limit(limit)
        if actor:
            query = query.where(col(Audit.actor).contains(actor))
        if target:
            query = query.where(col(Audit.target).contains(target))
        return list(session.exec(query).all())


class AuditTrail:
    def __init__(self, app: ASGIApp, writer: Any) -> None:
        self.app, self.writer = app, writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE:
            await self.app(scope, receive, send)
            return

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await run_in_threadpool(self._record, scope, message["status"])
            await send(message)

        await self.app(scope, receive, watched)

    def _record(self, scope: Scope, status: int) -> None:
        """Record the write; a failure to record is logged, never turned into an error for a write that
        is already committed (the client would retry it and get a 409)."""
        try:
            self._write(scope, status)
        except Exception:  # noqa: BLE001
            log.exception("the audit log could not record %s %s", scope.get("method"), scope.get("path"))

    def _write(self, scope: Scope, status: int) -> None:
        from api.accounts import PUBLIC

        principal = (scope.get("state") or {}).get("principal", PUBLIC)
        route = scope.get("route")
        params = scope.get("path_params") or {}
        record(self.writer, actor=principal.actor, role=principal.role, organisation=principal.organisation,
               action=f"{scope['method']} {getattr(route, 'path', scope.get('path', ''))}",
               target=", ".join(f"{k}={v}" for k, v in sorted(params.items())), status=status)
