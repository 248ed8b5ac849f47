"""The caller's workspace: its settings, and pausing or resuming all of its publishing.

The owner edits the name, the default time zone and the catch-up policy (what the engine does
with deliveries it finds overdue after an outage). The plan is the installation's business and
is not editable here. Admins pause and resume: a paused workspace's deliveries stay where they
are (the engine's claim skips them) until it is resumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.ext.asyncio import AsyncConnection

from postwright.auth.principal import Principal
from postwright.domain import timeutil
from postwright.domain.errors import Conflict, InvalidInput, NotFound
from postwright.domain.models import Workspace
from postwright.domain.roles import Action
from postwright.runtime import Runtime
from postwright.store import audit, identity
from postwright.store import delivery_queue as q

__all__ = [
    "CATCH_UP_POLICIES",
    "MAX_SKIP_AFTER_MIN",
    "WorkspaceSettings",
    "WorkspaceUpdate",
    "get_workspace",
    "pause_workspace",
    "resume_workspace",
    "update_workspace",
]

CatchUpPolicy = Literal["spread", "all", "skip"]
CATCH_UP_POLICIES: tuple[str, ...] = ("spread", "all", "skip")
MAX_SKIP_AFTER_MIN = 7 * 24 * 60  # a week


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(
        default=None, max_length=64, description="IANA time zone new posts default to."
    )
    catch_up_policy: CatchUpPolicy | None = Field(
        default=None,
        description="After an outage: `spread` overdue posts out (default), publish `all` at "
        "once, or `skip` those more than `catch_up_skip_after_min` minutes late.",
    )
    catch_up_skip_after_min: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SKIP_AFTER_MIN,
        description="With `skip`: how late (minutes) a post may still go out. "
        "null: the installation's default.",
    )
    # not documented: present only to answer clearly that the plan is not set through this API
    plan: SkipJsonSchema[Any] = None


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    workspace: Workspace
    catch_up_skip_after_min: int  # the effective value (the installation's default when unset)
    catch_up_skip_after_min_default: bool  # whether it is the installation's default


async def _settings(rt: Runtime, conn: AsyncConnection, principal: Principal) -> WorkspaceSettings:
    workspace = await identity.get_workspace(conn, workspace_id=principal.workspace_id)
    catch_up = await q.get_catch_up(conn, workspace_id=principal.workspace_id)
    if workspace is None or catch_up is None:
        raise NotFound("no such workspace")
    own = catch_up.skip_after_min
    return WorkspaceSettings(
        workspace=workspace,
        catch_up_skip_after_min=own if own is not None else rt.settings.catch_up_skip_after_min,
        catch_up_skip_after_min_default=own is None,
    )


async def get_workspace(rt: Runtime, principal: Principal) -> WorkspaceSettings:
    principal.require(Action.READ)
    async with rt.db.read() as conn:
        return await _settings(rt, conn, principal)


def _name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidInput.one("name", "required", "a workspace needs a name")
    return name


async def update_workspace(
    rt: Runtime, principal: Principal, body: WorkspaceUpdate
) -> WorkspaceSettings:
    principal.require(Action.OWN)
    fields = body.model_fields_set
    if "plan" in fields:
        raise InvalidInput.one(
            "plan",
            "read_only",
            "the plan is set by the installation's administrator, not through this API",
        )
    values: dict[str, Any] = {}
    if "name" in fields:
        if body.name is None:
            raise InvalidInput.one("name", "required", "a workspace needs a name")
        values["name"] = _name(body.name)
    if "timezone" in fields:
        if body.timezone is None:
            raise InvalidInput.one("timezone", "required", "give an IANA time zone, e.g. UTC")
        values["timezone"] = timeutil.load_timezone(body.timezone, field="timezone").key
    if "catch_up_policy" in fields:
        if body.catch_up_policy is None:
            raise InvalidInput.one(
                "catch_up_policy", "required", f"one of: {', '.join(CATCH_UP_POLICIES)}"
            )
        values["catch_up_policy"] = body.catch_up_policy
    if "catch_up_skip_after_min" in fields:
        values["catch_up_skip_after_min"] = body.catch_up_skip_after_min
    now = rt.now()
    async with rt.db.write() as conn:
        current = await identity.get_workspace(conn, workspace_id=principal.workspace_id)
        if current is None:
            raise NotFound("no such workspace")
        if "name" in values and values["name"] != current.name:
            taken = await identity.get_workspace_by_name(conn, name=values["name"])
            if taken is not None:
                raise Conflict(f"a workspace named {values['name']!r} already exists")
        if values:
            await identity.update_workspace(conn, workspace_id=principal.workspace_id, **values)
            await audit.record(
                conn,
                workspace_id=principal.workspace_id,
                actor_id=principal.user_id,
                action="workspace.updated",
                target_type="workspace",
                target_id=principal.workspace_id,
                details={k: values[k] for k in sorted(values)},
                now=now,
            )
        return await _settings(rt, conn, principal)


async def _set_paused(rt: Runtime, principal: Principal, *, paused: bool) -> WorkspaceSettings:
    principal.require(Action.MANAGE)
    now = rt.now()
    async with rt.db.write() as conn:
        current = await identity.get_workspace(conn, workspace_id=principal.workspace_id)
        if current is None:
            raise NotFound("no such workspace")
        released = 0
        if paused:
            # claims taken just before the pause are handed back: none of them goes out now
            released = await q.unclaim(conn, now=now, workspace_id=principal.workspace_id)
        if current.paused != paused:
            await identity.update_workspace(
                conn, workspace_id=principal.workspace_id, paused=paused
            )
            await audit.record(
                conn,
                workspace_id=principal.workspace_id,
                actor_id=principal.user_id,
                action="workspace.paused" if paused else "workspace.resumed",
                target_type="workspace",
                target_id=principal.workspace_id,
                details={"released_claims": released} if paused else {},
                now=now,
            )
        if not paused:
            await rt.wakeup.notify_in(conn)
        result = await _settings(rt, conn, principal)
    if not paused:
        rt.wakeup.poke()
    return result


async def pause_workspace(rt: Runtime, principal: Principal) -> WorkspaceSettings:
    """Hold every delivery of the workspace; publishes already under way finish."""
    return await _set_paused(rt, principal, paused=True)


async def resume_workspace(rt: Runtime, principal: Principal) -> WorkspaceSettings:
    """Publish again; what fell due meanwhile follows the catch-up policy."""
    return await _set_paused(rt, principal, paused=False)
