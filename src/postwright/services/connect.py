"""Connecting accounts: the flow every platform shares, and the `Connector` each one plugs in.

    POST /accounts/connect/{platform}      start_connect  -> an authorization URL (OAuth) or,
                                                             for flows without a redirect
                                                             (Bluesky), the connected account
    GET  /oauth/{platform}/callback        finish_connect -> the connected account(s), or a
                                                             choice when one authorization
                                                             reached several (Facebook Pages)
    GET  /accounts/connect/{platform}/choices/{id}
                                           get_choice     -> a pending choice, to show it again
    POST /accounts/connect/{platform}/choose  choose      -> the accounts picked from a choice

A redirect flow keeps its pending authorization server-side (`oauth_states`): the `state` sent
to the platform is the row's id, and the PKCE verifier and any client secrets are sealed in it.
The callback is a browser redirect from the platform with no bearer token: the state row names
the workspace and the user. A state is consumed once, before the code is exchanged, so a
replayed callback fails cleanly and a code is never exchanged twice.

Every account a flow yields is saved with `upsert_connected_account`: reconnecting the same
profile replaces the credentials of the same row, keeps a refresh token the platform did not
send again (`domain.credentials.merge_credentials`) and makes the account active again.

Adding a platform: write a class satisfying `Connector` (in `services/connectors/`) and add one
line to the registry in `services/connectors/__init__.py`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from postwright.auth.principal import Principal
from postwright.domain.credentials import merge_credentials
from postwright.domain.errors import Conflict, InvalidInput, NotFound, Violation
from postwright.domain.models import Account
from postwright.domain.platforms import Platform
from postwright.domain.roles import Action
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store import audit
from postwright.store.connections import find_connected_account, upsert_connected_account
from postwright.store.oauth_states import (
    ConsumeOutcome,
    OAuthState,
    StateKind,
    consume_state,
    create_state,
    find_pending_state,
    get_state,
)

__all__ = [
    "CONNECTORS",
    "LABELS",
    "ChoiceOffer",
    "ConnectOutcome",
    "ConnectStart",
    "ConnectedAccount",
    "Connector",
    "ConnectorInfo",
    "PendingAuthorization",
    "PendingChoice",
    "StartOutcome",
    "choose",
    "connect_failed",
    "finish_connect",
    "get_choice",
    "get_connector",
    "list_connectors",
    "open_authorization",
    "parse_body",
    "save_connected_accounts",
    "start_connect",
]

LABELS = {
    Platform.X: "X",
    Platform.REDDIT: "Reddit",
    Platform.LINKEDIN: "LinkedIn",
    Platform.FACEBOOK: "Facebook",
    Platform.INSTAGRAM: "Instagram",
    Platform.THREADS: "Threads",
    Platform.MASTODON: "Mastodon",
    Platform.BLUESKY: "Bluesky",
    Platform.SANDBOX: "Sandbox",
}


# -- what connectors exchange with the framework ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectedAccount:
    """One platform profile a flow gained access to, before it is saved.

    `credentials` are plaintext here and sealed before they reach the store; they hold the keys
    the platform's adapter reads (`access_token`, `refresh_token`, ...). `external_id` is the
    platform's stable id for the profile: reconnecting matches on it.
    """

    external_id: str
    handle: str
    display_name: str
    credentials: Mapping[str, Any]
    token_expires_at: datetime | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectStart:
    """What `Connector.start` answers: a URL to send the person to, or (flows without a
    redirect, e.g. Bluesky app passwords) the account itself."""

    authorization_url: str | None = None
    account: ConnectedAccount | None = None


@dataclass(frozen=True, slots=True)
class PendingAuthorization:
    """A started authorization, as `Connector.finish` gets it back (secrets opened)."""

    state: str
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    platform: Platform
    code_verifier: str | None
    redirect_uri: str
    extra: Mapping[str, Any]
    secrets: Mapping[str, Any]
    expires_at: datetime


class Connector(Protocol):
    """How one platform connects accounts."""

    platform: Platform
    setup_hint: str
    """What an operator must set when `configured` is false, e.g. "set POSTWRIGHT_X_CLIENT_ID
    and POSTWRIGHT_X_CLIENT_SECRET"; shown in the 409 and in the list of connectors."""

    def configured(self, settings: Settings) -> bool:
        """Whether the settings hold what the flow needs (client id and secret, ...)."""
        ...

    async def start(
        self, rt: Runtime, principal: Principal, body: Mapping[str, Any] | None
    ) -> ConnectStart:
        """Begin: validate `body` (the raw JSON, or None; see `parse_body`), and either open an
        authorization (`open_authorization`) and return its URL, or return the account.
        The framework has checked the role and the configuration already."""
        ...

    async def finish(
        self, rt: Runtime, pending: PendingAuthorization, params: Mapping[str, str]
    ) -> list[ConnectedAccount]:
        """Exchange the callback's `code` (in `params`, with every other query parameter) for
        tokens and look up the profile(s). The state is already consumed and checked, and an
        `error` parameter already answered. Raise `connect_failed(...)` for refusals."""
        ...


CONNECTORS: dict[Platform, Connector] = {}
"""Every platform's connector; filled by `services/connectors/__init__.py`."""


# -- helpers for connectors -------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: Mapping[str, Any] | None) -> M:
    """Validate a connect request's JSON with a connector's own model; 422 naming each field."""
    try:
        return model.model_validate(body if body is not None else {})
    except ValidationError as exc:
        violations = [
            Violation(
                ".".join(str(p) for p in err.get("loc", ())) or "body",
                str(err.get("type", "invalid")),
                "unknown field; check the spelling against the API reference"
                if err.get("type") == "extra_forbidden"
                else str(err.get("msg", "invalid value")),
            )
            for err in exc.errors()
        ]
        raise InvalidInput(violations) from None


def connect_failed(
    platform: Platform, message: str, *, field_name: str = "code", rule: str = "refused"
) -> InvalidInput:
    """A 422 for a flow the platform (or the person) refused; nothing was connected."""
    return InvalidInput.one(
        field_name, rule, f"{LABELS[platform]}: {message}; nothing was connected"
    )


async def open_authorization(
    rt: Runtime,
    principal: Principal,
    platform: Platform,
    *,
    code_verifier: str | None,
    extra: Mapping[str, Any] | None = None,
    secrets_: Mapping[str, Any] | None = None,
    redirect_uri: str | None = None,
) -> PendingAuthorization:
    """Store a pending authorization and return it; its `state` goes into the URL.

    `extra` is stored as is (nothing secret: an instance URL, a variant); `secrets_` and the
    verifier are sealed. The redirect URI defaults to the platform's callback.
    """
    now = rt.now()
    state_id = secrets.token_urlsafe(32)
    redirect = redirect_uri or rt.settings.oauth_redirect_url(platform.value)
    expires_at = now + timedelta(seconds=rt.settings.connect_state_ttl_s)
    async with rt.db.write() as conn:
        await create_state(
            conn,
            state_id=state_id,
            workspace_id=principal.workspace_id,
            user_id=principal.user_id,
            platform=platform.value,
            kind=StateKind.AUTHORIZE,
            code_verifier=rt.secretbox.seal({"v": code_verifier}) if code_verifier else None,
            redirect_uri=redirect,
            extra=dict(extra or {}),
            sealed_extra=rt.secretbox.seal(dict(secrets_)) if secrets_ else None,
            now=now,
            expires_at=expires_at,
        )
    return PendingAuthorization(
        state=state_id,
        workspace_id=principal.workspace_id,
        user_id=principal.user_id,
        platform=platform,
        code_verifier=code_verifier,
        redirect_uri=redirect,
        extra=dict(extra or {}),
        secrets=dict(secrets_ or {}),
        expires_at=expires_at,
    )


# -- the flow ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    platform: Platform
    configured: bool
    setup_hint: str | None


@dataclass(frozen=True, slots=True)
class StartOutcome:
    authorization_url: str | None = None
    account: Account | None = None


@dataclass(frozen=True, slots=True)
class ChoiceOffer:
    """An account a person may pick (no secrets)."""

    external_id: str
    handle: str
    display_name: str
    connected: bool = False  # already connected in this workspace (and refreshed just now)


@dataclass(frozen=True, slots=True)
class ConnectOutcome:
    """The accounts a callback connected, and the ones left for a person to choose from."""

    platform: Platform
    accounts: list[Account]
    choice_id: str | None = None
    choices: list[ChoiceOffer] = field(default_factory=list)
    choice_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingChoice:
    """A choice still waiting for a person: what the callback offered, read again."""

    platform: Platform
    choice_id: str
    choices: list[ChoiceOffer]
    expires_at: datetime


def get_connector(platform: Platform | str) -> Connector:
    try:
        key = Platform(platform)
    except ValueError:
        raise NotFound(f"unknown platform {platform!r}") from None
    connector = CONNECTORS.get(key)
    if connector is None:
        raise NotFound(f"{LABELS[key]} accounts cannot be connected (no connect flow)")
    return connector


def _require_configured(connector: Connector, settings: Settings) -> None:
    if not connector.configured(settings):
        raise Conflict(f"{LABELS[connector.platform]} is not configured: {connector.setup_hint}")


def list_connectors(rt: Runtime, principal: Principal) -> list[ConnectorInfo]:
    principal.require(Action.READ)
    found = []
    for platform in Platform:
        connector = CONNECTORS.get(platform)
        if connector is None:
            continue
        ok = connector.configured(rt.settings)
        found.append(ConnectorInfo(platform, ok, None if ok else connector.setup_hint))
    return found


async def start_connect(
    rt: Runtime, principal: Principal, platform: str, body: Mapping[str, Any] | None
) -> StartOutcome:
    principal.require(Action.MANAGE)
    connector = get_connector(platform)
    _require_configured(connector, rt.settings)
    started = await connector.start(rt, principal, body)
    if started.account is not None:
        saved = await save_connected_accounts(
            rt,
            workspace_id=principal.workspace_id,
            user_id=principal.user_id,
            platform=connector.platform,
            found=[started.account],
        )
        return StartOutcome(account=saved[0])
    if not started.authorization_url:
        raise RuntimeError(f"the {platform} connector returned neither a URL nor an account")
    return StartOutcome(authorization_url=started.authorization_url)


def _state_problem(platform: Platform, outcome: ConsumeOutcome) -> Exception:
    label = LABELS[platform]
    if outcome is ConsumeOutcome.USED:
        return Conflict(
            f"this {label} authorization was already used; "
            "start the connection again from postwright"
        )
    if outcome is ConsumeOutcome.EXPIRED:
        return InvalidInput.one(
            "state",
            "expired",
            f"this {label} authorization expired (links are valid for a few minutes); "
            "start the connection again",
        )
    return InvalidInput.one(
        "state",
        "unknown",
        f"this {label} authorization is unknown or was started for another platform; "
        "start the connection again from postwright",
    )


def _pending_of(rt: Runtime, row: OAuthState) -> PendingAuthorization:
    verifier = rt.secretbox.open(row.code_verifier)["v"] if row.code_verifier else None
    return PendingAuthorization(
        state=row.id,
        workspace_id=row.workspace_id,
        user_id=row.user_id,
        platform=Platform(row.platform),
        code_verifier=verifier,
        redirect_uri=row.redirect_uri,
        extra=row.extra,
        secrets=rt.secretbox.open(row.sealed_extra) if row.sealed_extra else {},
        expires_at=row.expires_at,
    )


async def finish_connect(rt: Runtime, platform: str, params: Mapping[str, str]) -> ConnectOutcome:
    """Finish an authorization from the platform's redirect (authenticated by its `state`)."""
    connector = get_connector(platform)
    label = LABELS[connector.platform]
    state = params.get("state")
    if not state:
        raise InvalidInput.one(
            "state", "required", f"the {label} callback carries no `state`; start again"
        )
    now = rt.now()
    # consumed in its own transaction, before anything else: a replay, a double click or a
    # failed exchange all leave the state used, so a code is never exchanged twice
    async with rt.db.write() as conn:
        outcome, row = await consume_state(
            conn,
            state_id=state,
            platform=connector.platform.value,
            kind=StateKind.AUTHORIZE,
            now=now,
        )
    if outcome is not ConsumeOutcome.OK or row is None:
        raise _state_problem(connector.platform, outcome)
    error = params.get("error")
    if error:
        description = params.get("error_description") or params.get("error_reason") or error
        if error == "access_denied":
            raise connect_failed(
                connector.platform,
                "the authorization was declined",
                field_name="error",
                rule="access_denied",
            )
        raise connect_failed(
            connector.platform,
            f"the authorization failed ({error}: {description[:200]})",
            field_name="error",
            rule=error[:50],
        )
    if not params.get("code"):
        raise InvalidInput.one(
            "code", "required", f"the {label} callback carries no `code`; start again"
        )
    _require_configured(connector, rt.settings)
    pending = _pending_of(rt, row)
    found = await connector.finish(rt, pending, params)
    if not found:
        raise connect_failed(
            connector.platform, "the authorization gave access to no account that can publish"
        )
    return await _connect_or_offer(rt, pending, connector.platform, found)


async def _connect_or_offer(
    rt: Runtime, pending: PendingAuthorization, platform: Platform, found: list[ConnectedAccount]
) -> ConnectOutcome:
    """One account: connect it. Several: reconnect at once those already connected (a
    reconnect must not ask again), and offer the others as a choice."""
    if len(found) == 1:
        saved = await save_connected_accounts(
            rt,
            workspace_id=pending.workspace_id,
            user_id=pending.user_id,
            platform=platform,
            found=found,
        )
        return ConnectOutcome(platform=platform, accounts=saved)
    async with rt.db.read() as conn:
        known = {
            f.external_id
            for f in found
            if await find_connected_account(
                conn,
                workspace_id=pending.workspace_id,
                platform=platform.value,
                external_id=f.external_id,
            )
        }
    reconnected = [f for f in found if f.external_id in known]
    offered = [f for f in found if f.external_id not in known]
    saved = (
        await save_connected_accounts(
            rt,
            workspace_id=pending.workspace_id,
            user_id=pending.user_id,
            platform=platform,
            found=reconnected,
        )
        if reconnected
        else []
    )
    if not offered:
        return ConnectOutcome(platform=platform, accounts=saved)
    now = rt.now()
    choice_id = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=rt.settings.connect_state_ttl_s)
    offers = [ChoiceOffer(f.external_id, f.handle, f.display_name) for f in offered]
    async with rt.db.write() as conn:
        await create_state(
            conn,
            state_id=choice_id,
            workspace_id=pending.workspace_id,
            user_id=pending.user_id,
            platform=platform.value,
            kind=StateKind.CHOOSE,
            code_verifier=None,
            redirect_uri=pending.redirect_uri,
            extra={
                "choices": [_offer_dump(o) for o in offers],
                # only to show them again (`get_choice`): they are connected already
                "connected": [
                    _offer_dump(ChoiceOffer(f.external_id, f.handle, f.display_name))
                    for f in reconnected
                ],
            },
            sealed_extra=rt.secretbox.seal({"accounts": [_dump(f) for f in offered]}),
            now=now,
            expires_at=expires_at,
        )
    return ConnectOutcome(
        platform=platform,
        accounts=saved,
        choice_id=choice_id,
        choices=[
            *(ChoiceOffer(f.external_id, f.handle, f.display_name, True) for f in reconnected),
            *offers,
        ],
        choice_expires_at=expires_at,
    )


def _offer_dump(offer: ChoiceOffer) -> dict[str, str]:
    return {"external_id": offer.external_id, "handle": offer.handle, "name": offer.display_name}


def _offers_of(stored: Sequence[Mapping[str, str]], *, connected: bool) -> list[ChoiceOffer]:
    return [ChoiceOffer(o["external_id"], o["handle"], o["name"], connected) for o in stored]


def _dump(found: ConnectedAccount) -> dict[str, Any]:
    return {
        "external_id": found.external_id,
        "handle": found.handle,
        "display_name": found.display_name,
        "credentials": dict(found.credentials),
        "token_expires_at": found.token_expires_at.isoformat() if found.token_expires_at else None,
        "options": dict(found.options),
    }


def _load(data: Mapping[str, Any]) -> ConnectedAccount:
    expires = data.get("token_expires_at")
    return ConnectedAccount(
        external_id=data["external_id"],
        handle=data["handle"],
        display_name=data["display_name"],
        credentials=data["credentials"],
        token_expires_at=datetime.fromisoformat(expires) if expires else None,
        options=data.get("options") or {},
    )


async def get_choice(
    rt: Runtime, principal: Principal, platform: str, choice_id: str
) -> PendingChoice:
    """A pending choice of the principal's workspace, listed as the callback offered it (the
    accounts it reconnected at once first); 404 once it is made, expired or not this
    workspace's."""
    principal.require(Action.MANAGE)
    connector = get_connector(platform)
    async with rt.db.read() as conn:
        row = await find_pending_state(
            conn,
            state_id=choice_id,
            platform=connector.platform.value,
            kind=StateKind.CHOOSE,
            workspace_id=principal.workspace_id,
            now=rt.now(),
        )
    if row is None:
        raise NotFound("no such choice, or it expired or was made; connect the account again")
    return PendingChoice(
        platform=connector.platform,
        choice_id=row.id,
        choices=[
            *_offers_of(row.extra.get("connected", []), connected=True),
            *_offers_of(row.extra.get("choices", []), connected=False),
        ],
        expires_at=row.expires_at,
    )


async def choose(
    rt: Runtime,
    principal: Principal,
    platform: str,
    *,
    choice_id: str,
    external_ids: Sequence[str],
) -> list[Account]:
    """Connect the accounts a person picked from a callback's choice (single use)."""
    principal.require(Action.MANAGE)
    connector = get_connector(platform)
    async with rt.db.read() as conn:
        row = await get_state(conn, state_id=choice_id)
    if (
        row is None
        or row.kind != StateKind.CHOOSE
        or row.platform != connector.platform.value
        or row.workspace_id != principal.workspace_id
    ):
        raise NotFound("no such choice; connect the account again")
    offered = {c["external_id"] for c in row.extra.get("choices", [])}
    unknown = [i for i in external_ids if i not in offered]
    if unknown:
        raise InvalidInput.one(
            "external_ids",
            "unknown",
            f"{unknown[0]!r} was not offered; pick among {sorted(offered)}",
        )
    now = rt.now()
    async with rt.db.write() as conn:
        outcome, consumed = await consume_state(
            conn,
            state_id=choice_id,
            platform=connector.platform.value,
            kind=StateKind.CHOOSE,
            now=now,
            workspace_id=principal.workspace_id,
        )
    if outcome is not ConsumeOutcome.OK or consumed is None:
        if outcome is ConsumeOutcome.USED:
            raise Conflict("this choice was already made; connect again to add other accounts")
        if outcome is ConsumeOutcome.EXPIRED:
            raise InvalidInput.one(
                "choice_id", "expired", "this choice expired; connect the account again"
            )
        raise NotFound("no such choice; connect the account again")
    sealed = rt.secretbox.open(consumed.sealed_extra) if consumed.sealed_extra else {}
    wanted = set(external_ids)
    picked = [_load(a) for a in sealed.get("accounts", []) if a["external_id"] in wanted]
    return await save_connected_accounts(
        rt,
        workspace_id=principal.workspace_id,
        user_id=principal.user_id,
        platform=connector.platform,
        found=picked,
    )


async def save_connected_accounts(
    rt: Runtime,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    platform: Platform,
    found: Sequence[ConnectedAccount],
) -> list[Account]:
    """Create or reconnect each account, in one transaction; credentials are sealed here."""
    now = rt.now()
    saved: list[Account] = []
    async with rt.db.write() as conn:
        for item in found:

            def seal(old: str | None, item: ConnectedAccount = item) -> str:
                previous = rt.secretbox.open(old) if old else None
                return rt.secretbox.seal(merge_credentials(previous, item.credentials))

            account, created = await upsert_connected_account(
                conn,
                workspace_id=workspace_id,
                platform=platform.value,
                external_id=item.external_id,
                handle=item.handle,
                display_name=item.display_name,
                options=dict(item.options),
                seal=seal,
                token_expires_at=item.token_expires_at,
                now=now,
            )
            await audit.record(
                conn,
                workspace_id=workspace_id,
                actor_id=user_id,
                action="account.connected" if created else "account.reconnected",
                target_type="account",
                target_id=account.id,
                details={"platform": platform.value, "handle": account.handle},
                now=now,
            )
            saved.append(account)
        # deliveries held while the account needed a person may go now
        await rt.wakeup.notify_in(conn)
    rt.wakeup.poke()
    return saved


# the connectors' registrations (kept last: their modules import this one)
from postwright.services import connectors as _connectors  # noqa: E402, F401
