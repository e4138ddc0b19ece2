"""Domain errors carry their HTTP status; one handler renders them all as JSON."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidInput(DomainError):
    """Each entry of ``errors`` names a ``field`` (and, for files, a ``line``) and a ``message``."""

    status = 422
    code = "invalid_input"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class IndexNotReady(DomainError):
    status = 503
    code = "index_not_ready"
