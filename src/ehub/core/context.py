"""The request context passed to every service: who acts, for which organization, in which roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Context:
    """Who is acting. Built from the request (web or API) or by a command or task.

    ``user`` and ``org`` are model instances (or None for anonymous / no active org); services
    read them but the kernel does not import the accounts models.
    """

    user: Any = None
    org: Any = None
    roles: frozenset[str] = field(default_factory=frozenset)
    via: str = "web"  # web | api | cli | task
    request_id: str = ""

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None and getattr(self.user, "is_authenticated", False)

    @property
    def org_id(self) -> int | None:
        return self.org.pk if self.org is not None else None

    @property
    def org_kind(self) -> str | None:
        return getattr(self.org, "kind", None)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @classmethod
    def system(cls, via: str = "task") -> Context:
        return cls(user=None, org=None, roles=frozenset({"system"}), via=via)
