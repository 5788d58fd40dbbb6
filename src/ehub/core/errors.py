"""Domain errors: what services raise when a request cannot be honoured.

Services raise these instead of returning error codes. The API layer turns them into
RFC 9457 ``application/problem+json``: every error carries a stable ``code`` (from which the
API builds the ``type`` URI), a translated ``title``, the HTTP ``status``, a ``detail`` and,
for validation, the list of field ``errors`` (``as_problem()`` assembles them). Portal views
show ``message`` inline, on ``field`` when one is named.

The kernel defines only the generic kinds. Contexts subclass them with their own ``code``
(``class QuotaExceeded(Conflict): code = "quota_exceeded"``) so clients can branch on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class FieldError:
    """One invalid field: which one, what is wrong (translated), and a stable code."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": str(self.message), "code": self.code}


class DomainError(Exception):
    """Base of every error a service raises on purpose.

    Subclasses set the class attributes ``code``, ``title`` and ``status``; an instance may
    override ``code``/``status`` and carries a ``message`` (the problem's ``detail``) and,
    optionally, the ``field`` it concerns.
    """

    code: str = "domain_error"
    title: Any = _("The request could not be completed.")
    status: int = HTTPStatus.BAD_REQUEST

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        field: str | None = None,
        status: int | None = None,
    ) -> None:
        self.message = message if message is not None else self.title
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.field = field
        super().__init__(str(self.message))

    @property
    def detail(self) -> str:
        return str(self.message)

    @property
    def errors(self) -> list[FieldError]:
        """Field errors; a single-field error reports itself so clients need one code path."""
        if self.field:
            return [FieldError(self.field, self.message, self.code)]
        return []

    def as_problem(self, instance: str | None = None) -> dict[str, Any]:
        """RFC 9457 members (plus eHub's ``code`` and ``errors``); the API layer adds ``type``."""
        problem: dict[str, Any] = {
            "title": str(self.title),
            "status": int(self.status),
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            problem["instance"] = instance
        errors = self.errors
        if errors:
            problem["errors"] = [error.as_dict() for error in errors]
        return problem

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(code={self.code!r}, field={self.field!r}, message={self.detail!r})"


class NotFound(DomainError):
    """The object does not exist, or is not visible to the caller's organization."""

    code = "not_found"
    title = _("Not found.")
    status = HTTPStatus.NOT_FOUND


class PermissionDenied(DomainError):
    """The caller is known but lacks the role or membership this action needs."""

    code = "permission_denied"
    title = _("You are not allowed to do this.")
    status = HTTPStatus.FORBIDDEN


class Conflict(DomainError):
    """The request is valid but clashes with the current state (wrong status, duplicate...)."""

    code = "conflict"
    title = _("This conflicts with the current state.")
    status = HTTPStatus.CONFLICT


class ValidationFailed(DomainError):
    """One or more fields are invalid. Carries every field error, not just the first."""

    code = "validation_failed"
    title = _("Some fields are invalid.")
    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(
        self,
        errors: Iterable[FieldError],
        message: Any = None,
        *,
        code: str | None = None,
    ) -> None:
        self._errors = list(errors)
        if not self._errors and message is None:
            raise ValueError("ValidationFailed needs at least one FieldError or a message")
        super().__init__(message, code=code)
        self.field = self._errors[0].field if len(self._errors) == 1 else None

    @property
    def errors(self) -> list[FieldError]:
        return list(self._errors)

    @classmethod
    def single(cls, field: str, message: Any, code: str = "invalid") -> ValidationFailed:
        return cls([FieldError(field, message, code)])
