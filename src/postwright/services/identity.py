"""Users, workspaces, logins, refresh tokens and API tokens."""

from __future__ import annotations

import logging
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from postwright.auth import tokens
from postwright.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password
from postwright.auth.principal import Principal
from postwright.domain import login_throttle as throttle
from postwright.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from postwright.domain.models import User, Workspace
from postwright.domain.roles import Action, Role
from postwright.domain.timeutil import format_duration, format_utc
from postwright.runtime import Runtime
from postwright.store import audit, identity, login_throttle

__all__ = [
    "TokenPair",
    "authenticate_bearer",
    "authenticate_session",
    "create_api_token",
    "ensure_user",
    "list_api_tokens",
    "login",
    "refresh",
    "revoke_api_token",
]

log = logging.getLogger("postwright.auth")


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    workspace_id: uuid.UUID


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.one(
            "password",
            "min_length",
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters long",
        )


def _check_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 320:
        raise InvalidInput.one("email", "invalid", f"{email!r} is not an email address")
    return email


async def ensure_user(
    rt: Runtime, *, email: str, password: str, workspace_name: str, role: Role
) -> tuple[User, Workspace, bool]:
    """Create the user (or set a new password) and their membership in the workspace.

    Creates the workspace too when it does not exist yet. Returns (user, workspace, created?).
    """
    email = _check_email(email)
    _check_password(password)
    if not workspace_name.strip():
        raise InvalidInput.one("workspace", "required", "give the workspace a name")
    now = rt.now()
    async with rt.db.write() as conn:
        workspace = await identity.get_workspace_by_name(conn, name=workspace_name)
        if workspace is None:
            workspace = await identity.create_workspace(
                conn,
                name=workspace_name,
                plan=rt.settings.default_plan,
                timezone="UTC",
                now=now,
            )
        creds = await identity.get_user_credentials(conn, email=email)
        created = creds is None
        if creds is None:
            user = await identity.create_user(
                conn, email=email, name="", password_hash=hash_password(password), now=now
            )
        else:
            user = creds.user
            await identity.set_password(
                conn, user_id=user.id, password_hash=hash_password(password)
            )
        await identity.add_membership(
            conn, workspace_id=workspace.id, user_id=user.id, role=role, now=now
        )
        await audit.record(
            conn,
            workspace_id=workspace.id,
            actor_id=None,
            action="member.added" if created else "member.updated",
            target_type="user",
            target_id=user.id,
            details={"email": email, "role": role.value},
            now=now,
        )
    return user, workspace, created


async def _issue_pair(rt: Runtime, *, user_id: uuid.UUID, workspace_id: uuid.UUID) -> TokenPair:
    now = rt.now()
    ttl = timedelta(seconds=rt.settings.access_token_ttl_s)
    access = tokens.encode_access_token(
        secret=rt.secret_key, user_id=user_id, workspace_id=workspace_id, now=now, ttl=ttl
    )
    refresh_token, refresh_hash = tokens.new_refresh_token()
    async with rt.db.write() as conn:
        await identity.create_refresh_token(
            conn,
            workspace_id=workspace_id,
            user_id=user_id,
            token_hash=refresh_hash,
            expires_at=now + timedelta(seconds=rt.settings.refresh_token_ttl_s),
            now=now,
        )
    return TokenPair(access, refresh_token, int(ttl.total_seconds()), workspace_id)


def _throttle_policies(
    rt: Runtime, *, account: str, client: str | None
) -> dict[str, throttle.ThrottlePolicy]:
    """The policy of each throttle key a login counts against: the email's, the address's."""
    s = rt.settings
    window, lockout = timedelta(seconds=s.login_window_s), timedelta(seconds=s.login_lockout_s)
    policies = {account: throttle.ThrottlePolicy(s.login_account_max_failures, window, lockout)}
    if client:
        policies[throttle.client_key(client)] = throttle.ThrottlePolicy(
            s.login_client_max_failures, window, lockout
        )
    return policies


def _refuse_if_blocked(strikes: dict[str, throttle.Strikes], *, now: datetime) -> None:
    waits = [throttle.blocked_for(s, now=now) for s in strikes.values()]
    longest = max((w for w in waits if w is not None), default=None)
    if longest is not None:
        seconds = max(1, math.ceil(longest.total_seconds()))
        raise TooManyAttempts(
            "too many failed logins for this account or from this address; "
            f"try again in {format_duration(seconds)}",
            retry_after_s=seconds,
        )


async def _count_failure(
    rt: Runtime,
    *,
    policies: dict[str, throttle.ThrottlePolicy],
    account: str,
    email: str,
    user: User | None,
    client: str | None,
) -> None:
    now = rt.now()
    locked: list[str] = []
    async with rt.db.write() as conn:
        current = await login_throttle.lock(conn, keys=list(policies), now=now)
        for key, policy in policies.items():
            before = current.get(key)
            after = throttle.strike(before, now=now, policy=policy)
            await login_throttle.save(conn, key=key, strikes=after, now=now)
            if after.blocked_until is not None and (
                before is None or before.blocked_until != after.blocked_until
            ):
                locked.append(key)
        if account in locked and user is not None:
            # the owners of the workspaces see that someone is guessing this member's password
            until = now + policies[account].lockout
            for workspace, _ in await identity.list_user_workspaces(conn, user_id=user.id):
                await audit.record(
                    conn,
                    workspace_id=workspace.id,
                    actor_id=None,
                    action="login.locked",
                    target_type="user",
                    target_id=user.id,
                    details={
                        "email": user.email,
                        "client": client,
                        "failures": policies[account].max_failures,
                        "locked_until": format_utc(until),
                    },
                    now=now,
                )
    for key in locked:
        log.warning(
            "login locked after %d failures: %s (client %s) until %s",
            policies[key].max_failures,
            "email " + email.strip().lower() if key == account else "client address",
            client or "unknown",
            format_utc(now + policies[key].lockout),
        )


async def login(
    rt: Runtime,
    *,
    email: str,
    password: str,
    workspace_id: uuid.UUID | None,
    client: str | None,
) -> TokenPair:
    """Password login; the same answer for a wrong email and a wrong password.

    `client` is the caller's address (None when unknown). Too many failures for the email or
    from the client refuse further tries for a while (`TooManyAttempts`), the same way whether
    or not the email belongs to anyone.
    """
    account = throttle.account_key(email, secret=rt.secret_key)
    policies = _throttle_policies(rt, account=account, client=client)
    async with rt.db.read() as conn:
        strikes = await login_throttle.read(conn, keys=list(policies))
        _refuse_if_blocked(strikes, now=rt.now())
        creds = await identity.get_user_credentials(conn, email=email)
        ok = verify_password(password, creds.password_hash if creds else None)
        user = creds.user if creds is not None and ok and not creds.disabled else None
        workspaces = await identity.list_user_workspaces(conn, user_id=user.id) if user else []
    if user is None:
        await _count_failure(
            rt,
            policies=policies,
            account=account,
            email=email,
            user=creds.user if creds else None,
            client=client,
        )
        raise Unauthenticated("wrong email or password")
    if account in strikes:
        async with rt.db.write() as conn:
            await login_throttle.clear(conn, key=account)
    if not workspaces:
        raise Forbidden("this user belongs to no workspace; ask an admin to add you")
    if workspace_id is None:
        chosen = workspaces[0][0]
    else:
        matches = [w for w, _ in workspaces if w.id == workspace_id]
        if not matches:
            raise Forbidden("you are not a member of that workspace")
        chosen = matches[0]
    return await _issue_pair(rt, user_id=user.id, workspace_id=chosen.id)


async def refresh(rt: Runtime, *, refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; each refresh token works once (rotation)."""
    now = rt.now()
    async with rt.db.write() as conn:
        record = await identity.find_refresh_token(
            conn, token_hash=tokens.hash_token(refresh_token)
        )
        if record is None or record.expires_at <= now:
            raise Unauthenticated("the refresh token is unknown or expired; log in again")
        if not await identity.revoke_refresh_token(conn, token_id=record.id, now=now):
            raise Unauthenticated("the refresh token was already used; log in again")
        membership = await identity.get_membership(
            conn, workspace_id=record.workspace_id, user_id=record.user_id
        )
    if membership is None:
        raise Unauthenticated("you are no longer a member of this workspace")
    return await _issue_pair(rt, user_id=record.user_id, workspace_id=record.workspace_id)


async def _principal(
    rt: Runtime, *, user_id: uuid.UUID, workspace_id: uuid.UUID, via: str
) -> Principal:
    async with rt.db.read() as conn:
        membership = await identity.get_membership(conn, workspace_id=workspace_id, user_id=user_id)
        user_ok = await identity.user_is_enabled(conn, user_id=user_id)
    if membership is None or not user_ok:
        raise Unauthenticated("this user is no longer a member of the workspace")
    return Principal(user_id=user_id, workspace_id=workspace_id, role=membership.role, via=via)


async def authenticate_bearer(rt: Runtime, token: str) -> Principal:
    now = rt.now()
    if token.startswith(tokens.API_TOKEN_PREFIX):
        async with rt.db.read() as conn:
            record = await identity.find_api_token(conn, token_hash=tokens.hash_token(token))
        if record is None or record.revoked_at is not None:
            raise Unauthenticated("the API token is unknown or was revoked")
        if record.expires_at is not None and record.expires_at <= now:
            raise Unauthenticated("the API token has expired")
        principal = await _principal(
            rt, user_id=record.user_id, workspace_id=record.workspace_id, via="api_token"
        )
        if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=1):
            async with rt.db.write() as conn:
                await identity.touch_api_token(conn, token_id=record.id, now=now)
        return principal
    claims = tokens.decode_access_token(token, secret=rt.secret_key, now=now, kind="access")
    return await _principal(
        rt, user_id=claims.user_id, workspace_id=claims.workspace_id, via="access_token"
    )


async def authenticate_session(
    rt: Runtime, *, cookie: str, csrf_header: str | None, safe_method: bool
) -> Principal:
    """A browser session cookie; unsafe methods must echo the session's CSRF token."""
    claims = tokens.decode_access_token(cookie, secret=rt.secret_key, now=rt.now(), kind="session")
    if not safe_method and (
        claims.csrf is None
        or csrf_header is None
        or not secrets.compare_digest(claims.csrf, csrf_header)
    ):
        raise Forbidden("missing or wrong X-CSRF-Token header for this session")
    return await _principal(
        rt, user_id=claims.user_id, workspace_id=claims.workspace_id, via="session"
    )


async def create_api_token(
    rt: Runtime,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    name: str,
    expires_at: datetime | None,
    actor_id: uuid.UUID | None,
) -> tuple[str, identity.ApiTokenRecord]:
    """Create a personal API token; the plaintext is returned once and never stored."""
    if not name.strip():
        raise InvalidInput.one("name", "required", "give the token a name")
    now = rt.now()
    if expires_at is not None and expires_at <= now:
        raise InvalidInput.one("expires_at", "in_past", "the expiry must be in the future")
    token, token_hash, prefix = tokens.new_api_token()
    async with rt.db.write() as conn:
        if await identity.get_membership(conn, workspace_id=workspace_id, user_id=user_id) is None:
            raise NotFound("no such member in this workspace")
        record = await identity.create_api_token(
            conn,
            workspace_id=workspace_id,
            user_id=user_id,
            name=name.strip(),
            token_hash=token_hash,
            prefix=prefix,
            expires_at=expires_at,
            now=now,
        )
        await audit.record(
            conn,
            workspace_id=workspace_id,
            actor_id=actor_id,
            action="token.created",
            target_type="api_token",
            target_id=record.id,
            details={"name": record.name, "prefix": prefix},
            now=now,
        )
    return token, record


async def list_api_tokens(rt: Runtime, principal: Principal) -> list[identity.ApiTokenRecord]:
    principal.require(Action.READ)
    # admins see every token of the workspace; others only their own
    only = None if principal.role.allows(Action.MANAGE) else principal.user_id
    async with rt.db.read() as conn:
        return await identity.list_api_tokens(
            conn, workspace_id=principal.workspace_id, user_id=only
        )


async def revoke_api_token(rt: Runtime, principal: Principal, token_id: uuid.UUID) -> None:
    principal.require(Action.READ)
    only = None if principal.role.allows(Action.MANAGE) else principal.user_id
    now = rt.now()
    async with rt.db.write() as conn:
        if not await identity.revoke_api_token(
            conn, workspace_id=principal.workspace_id, token_id=token_id, user_id=only, now=now
        ):
            raise NotFound("no such API token")
        await audit.record(
            conn,
            workspace_id=principal.workspace_id,
            actor_id=principal.user_id,
            action="token.revoked",
            target_type="api_token",
            target_id=token_id,
            now=now,
        )
