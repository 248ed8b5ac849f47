"""Who is calling: a user acting inside one workspace with one role."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from postwright.domain.errors import Forbidden
from postwright.domain.roles import Action, Role

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID
    workspace_id: uuid.UUID
    role: Role
    via: str  # "api_token" | "access_token" | "session"

    def require(self, action: Action) -> None:
        if not self.role.allows(action):
            raise Forbidden(
                f"your role ({self.role.value}) cannot {action.value} here; "
                f"ask a workspace admin or owner"
            )
