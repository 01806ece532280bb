"""Domain errors: each has a stable code and an HTTP status; one handler maps them to responses."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def to_body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 422


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    """Also what another organization's object answers: the same body as a missing one."""

    code = "not_found"
    status = 404

    def __init__(self, kind: str) -> None:
        super().__init__(f"{kind} not found.", details={"kind": kind})


class Conflict(DomainError):
    code = "conflict"
    status = 409


class ConcurrentWrite(Conflict):
    """A write met another request's write of the same row at the same moment (the same person's draft saved
    while they submitted, say). This request's transaction is rolled back, so it may run again from the start,
    and will then see the other request's row: the labeling loop's routes do so once (`api.deps.Gate`)."""

    code = "concurrent_write"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
