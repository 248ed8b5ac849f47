"""Who may do what inside a workspace."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Action", "Role"]


class Action(StrEnum):
    READ = "read"  # see posts, accounts, calendar, queue
    WRITE = "write"  # create and edit posts, media, campaigns
    APPROVE = "approve"  # approve or reject posts waiting for approval
    MANAGE = "manage"  # connect accounts, manage members, control the queue
    OWN = "own"  # workspace settings and deletion


class Role(StrEnum):
    """Roles in increasing power: each may do everything the previous one may."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, action: Action) -> bool:
        return self.rank >= _NEEDED[action].rank


_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}
_NEEDED = {
    Action.READ: Role.VIEWER,
    Action.WRITE: Role.EDITOR,
    Action.APPROVE: Role.ADMIN,
    Action.MANAGE: Role.ADMIN,
    Action.OWN: Role.OWNER,
}
