"""Domain errors carry their HTTP status; one handler renders them all as JSON."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError


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


class Unauthorized(DomainError):
    """No valid token or session where the route needs one (README, "Roles")."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """A valid token or session whose role the route's rule does not let in, or a form without its
    CSRF token."""

    status = 403
    code = "forbidden"


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"


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


class PreconditionFailed(DomainError):
    """An ``If-Match`` version that is no longer the stored one: the client read a stale copy."""

    status = 412
    code = "precondition_failed"


class IndexNotReady(DomainError):
    status = 503
    code = "index_not_ready"


@contextmanager
def conflicts(exists: str | None = None) -> Iterator[None]:
    """Races that the database decides, as 409s naming what happened (never a 500): two writes of
    the same new id (unique constraint; ``exists`` says it in the caller's words), a row changed or
    deleted meanwhile (row version), a writer that waited too long for another's lock, or a
    PostgreSQL serialisation failure or deadlock."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(exists or "another request wrote the same records at the same time; read them again "
                       "and retry") from exc
    except StaleDataError as exc:
        raise Conflict("the record was changed or deleted by another request meanwhile; read it again and "
                       "retry") from exc
    except OperationalError as exc:
        code = getattr(exc.orig, "sqlstate", None)
        if code in ("40001", "40P01", "55P03") or "database is locked" in str(exc.orig):
            raise Conflict("the database is busy with another write; try again in a moment") from exc
        raise
