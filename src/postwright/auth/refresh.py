"""Account tokens: refreshed ahead of expiry, and once more when a platform refuses one.

    platform   access token       refreshed when                how
    x          2 h                < 15 min left                 POST {x}/2/oauth2/token
                                                                grant_type=refresh_token
    reddit     1 h (expires_in)   < 15 min left                 POST {reddit}/api/v1/access_token
                                                                (Basic client id:secret)
    linkedin   60 days            < 7 days left, only with a    POST {linkedin}/oauth/v2/accessToken
                                  partner refresh token
    instagram  60 days            < 7 days left, >= 24 h old    GET {ig}/refresh_access_token
                                                                ?grant_type=ig_refresh_token
    threads    60 days            < 7 days left, >= 24 h old    GET {threads}/refresh_access_token
                                                                ?grant_type=th_refresh_token
    bluesky    2 h (the JWT exp)  < 15 min left                 POST {pds}/xrpc/com.atproto.server
                                                                .refreshSession (Bearer refresh JWT)
    facebook, mastodon, sandbox: their tokens do not expire; nothing to refresh.

A token that cannot be refreshed (LinkedIn without partner refresh tokens, an X grant without
`offline.access`) is the health check's (`services.account_health`): `expiring` some days ahead,
`needs_reconnect` once past.

Two ways in:

- `TokenRefresher.refresh_due(rt)`: the periodic job `refresh_tokens` (every 5 minutes) refreshes
  every account whose token is within its window, then runs the health check;
- `TokenRefresher.refresh_account(rt, account_id, rejected=...)`: the worker, when a publish
  answered `AuthNeeded`, refreshes now and publishes once more with the new token.

Per account, refreshes are serialized across workers by `store.account_tokens.lock_account`
(a row lock on PostgreSQL, the write transaction on SQLite), held for the whole call to the
token endpoint; after taking it, the refresher reads the credentials again and stops if another
worker already refreshed them (the expiry moved out of the window, or the access token is no
longer the one that was refused). So one refresh token is never spent twice, which matters
where refreshing rotates it (X, Bluesky). The rotated refresh token is stored every time; an
answer without one keeps the stored one (`domain.credentials.merge_credentials`).

Failures: the platform refusing the refresh token (revoked, expired, `invalid_grant`,
`ExpiredToken`) makes the account `needs_reconnect` with the platform's reason; anything that
may be temporary (network, 5xx, 429, our client credentials refused) leaves the account alone
and is retried at the next run. Tokens never appear in errors, logs or the audit log.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import jwt
from pydantic import SecretStr

from postwright.auth.secretbox import SecretBox, SecretBoxError
from postwright.domain.credentials import merge_credentials
from postwright.domain.errors import AuthNeeded
from postwright.domain.models import AccountStatus
from postwright.domain.platforms import Platform
from postwright.platforms.account_signals import session_status_signal
from postwright.runtime import Runtime
from postwright.settings import Settings
from postwright.store import account_tokens
from postwright.store.account_tokens import TokenRow

if TYPE_CHECKING:
    from postwright.engine.jobs import TokenRefresher as JobRefresher

__all__ = [
    "PlatformRefresh",
    "RefreshRejected",
    "RefreshRejectedAuth",
    "RefreshResult",
    "RefreshUnavailable",
    "Refreshed",
    "TokenRefresher",
    "default_refreshers",
    "platform_refreshes",
]

log = logging.getLogger("postwright.auth.refresh")

_SECRET_PARAM = re.compile(
    r"((?:access_token|refresh_token|client_secret|code_verifier|password)=)[^&\s\"']+", re.I
)


def _redact_query_secrets(record: logging.LogRecord) -> bool:
    """httpx logs every request's URL at INFO; Meta's refresh puts the token in the query."""
    if record.args:
        record.msg = _SECRET_PARAM.sub(r"\1[redacted]", record.getMessage())
        record.args = None
    else:
        record.msg = _SECRET_PARAM.sub(r"\1[redacted]", str(record.msg))
    return True


if _redact_query_secrets not in logging.getLogger("httpx").filters:
    logging.getLogger("httpx").addFilter(_redact_query_secrets)

_BATCH = 200
_REFRESHING = (AccountStatus.ACTIVE, AccountStatus.EXPIRING)
_TOKEN_KEYS = ("access_token", "refresh_token", "access_jwt", "refresh_jwt", "client_secret")


class RefreshRejected(Exception):
    """The platform refused the refresh token: a person has to reconnect the account."""


class RefreshUnavailable(Exception):
    """The refresh could not be done now (network, 5xx, 429, configuration); try again later."""


class RefreshRejectedAuth(AuthNeeded):
    """What the worker records when its refresh was refused (the account is already marked)."""

    account_marked = True


@dataclass(frozen=True, slots=True)
class Refreshed:
    """What a token endpoint gave: credential values to merge over the stored ones."""

    credentials: dict[str, Any]
    expires_at: datetime | None
    account_status: tuple[str, str] | None = None  # what the platform said of the account


class PlatformRefresh(Protocol):
    """How one platform refreshes its tokens."""

    @property
    def platform(self) -> Platform: ...

    @property
    def access_key(self) -> str:
        """The credentials key of the access token."""
        ...

    def can_refresh(self, credentials: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
        """Whether these credentials carry what a refresh needs."""
        ...

    def due(
        self, *, expires_at: datetime | None, credentials: Mapping[str, Any], now: datetime
    ) -> bool:
        """Whether the token should be refreshed now."""
        ...

    async def refresh(
        self,
        client: httpx.AsyncClient,
        *,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        now: datetime,
    ) -> Refreshed:
        """Call the token endpoint; raise RefreshRejected or RefreshUnavailable."""
        ...


# -- the platforms ----------------------------------------------------------------------------


def _expires(now: datetime, expires_in: object) -> datetime | None:
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float, str)):
        return None
    try:
        seconds = float(expires_in)
    except ValueError:
        return None
    return now + timedelta(seconds=seconds) if seconds > 0 else None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _said(body: Mapping[str, Any], response: httpx.Response) -> str:
    """The platform's own words for a refusal, never echoing anything we sent."""
    error = body.get("error")
    if isinstance(error, dict):  # Graph: {"error": {"message", "code", ...}}
        code = error.get("code")
        message = str(error.get("message") or "")[:200]
        return f"{message} [code {code}]" if code is not None else message
    parts = [str(error)] if error else []
    for key in ("error_description", "message"):
        if body.get(key):
            parts.append(str(body[key])[:200])
    return ": ".join(parts) or f"HTTP {response.status_code}"


async def _send(name: str, call: Any) -> httpx.Response:
    try:
        response: httpx.Response = await call
    except httpx.HTTPError as exc:
        # `from None`: the request (its URL may carry a token) stays out of tracebacks
        raise RefreshUnavailable(
            f"could not reach {name}'s token endpoint: {type(exc).__name__}"
        ) from None
    return response


def _unavailable_or_none(name: str, response: httpx.Response, body: Mapping[str, Any]) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise RefreshUnavailable(
            f"{name}'s token endpoint answered {status}: {_said(body, response)}"
        )


@dataclass(frozen=True, slots=True)
class OAuth2Refresh:
    """The OAuth 2.0 refresh grant (RFC 6749 section 6): X, Reddit, LinkedIn partners."""

    platform: Platform
    name: str
    token_url: str
    client_id: str | None
    client_secret: str | None
    ahead: timedelta
    access_key: str = "access_token"

    def can_refresh(self, credentials: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
        return bool(credentials.get("refresh_token"))

    def due(
        self, *, expires_at: datetime | None, credentials: Mapping[str, Any], now: datetime
    ) -> bool:
        return expires_at is not None and expires_at - now < self.ahead

    async def refresh(
        self,
        client: httpx.AsyncClient,
        *,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        now: datetime,
    ) -> Refreshed:
        if not self.client_id:
            raise RefreshUnavailable(f"no {self.name} client id is configured")
        form = {"grant_type": "refresh_token", "refresh_token": str(credentials["refresh_token"])}
        headers = {"Accept": "application/json"}
        if self.client_secret:  # confidential client: HTTP Basic (RFC 6749 section 2.3.1)
            pair = f"{self.client_id}:{self.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:  # public client (X with PKCE): the id in the body
            form["client_id"] = self.client_id
        response = await _send(self.name, client.post(self.token_url, data=form, headers=headers))
        body = _json(response)
        _unavailable_or_none(self.name, response, body)
        if response.status_code != 200 or body.get("error"):
            error = str(body.get("error") or "")
            if error in ("invalid_client", "unauthorized_client"):
                said = _said(body, response)
                raise RefreshUnavailable(
                    f"{self.name} refused postwright's client credentials ({said}); "
                    "check the client id and secret in the settings"
                )
            raise RefreshRejected(
                f"{self.name} refused the refresh token ({_said(body, response)})"
            )
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise RefreshUnavailable(f"{self.name} answered the refresh without an access token")
        fresh: dict[str, Any] = {"access_token": access}
        if isinstance(body.get("refresh_token"), str):
            fresh["refresh_token"] = body["refresh_token"]
        return Refreshed(credentials=fresh, expires_at=_expires(now, body.get("expires_in")))


@dataclass(frozen=True, slots=True)
class MetaLongLivedRefresh:
    """Instagram (Instagram Login) and Threads: a 60-day token renews itself once >= 24 h old."""

    platform: Platform
    name: str
    url: str
    grant_type: str
    ahead: timedelta = timedelta(days=7)
    min_age: timedelta = timedelta(hours=24)
    access_key: str = "access_token"

    def can_refresh(self, credentials: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
        # Instagram through Facebook Login uses Page-linked tokens that do not expire this way
        return bool(credentials.get("access_token")) and options.get("login") != "facebook"

    def due(
        self, *, expires_at: datetime | None, credentials: Mapping[str, Any], now: datetime
    ) -> bool:
        if expires_at is None or expires_at - now >= self.ahead or expires_at <= now:
            return False
        issued = _parse_time(credentials.get("issued_at"))
        return issued is None or now - issued >= self.min_age

    async def refresh(
        self,
        client: httpx.AsyncClient,
        *,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        now: datetime,
    ) -> Refreshed:
        params = {"grant_type": self.grant_type, "access_token": str(credentials["access_token"])}
        response = await _send(self.name, client.get(self.url, params=params))
        body = _json(response)
        _unavailable_or_none(self.name, response, body)
        if response.status_code != 200 or "error" in body:
            error = body.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            if code in (190, 102) or response.status_code in (400, 401):
                raise RefreshRejected(f"{self.name} refused the token ({_said(body, response)})")
            raise RefreshUnavailable(f"{self.name} could not refresh ({_said(body, response)})")
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise RefreshUnavailable(f"{self.name} answered the refresh without an access token")
        return Refreshed(
            credentials={"access_token": access, "issued_at": now.isoformat()},
            expires_at=_expires(now, body.get("expires_in")),
        )


_BLUESKY_REJECTED = frozenset(
    {"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"}
)
_BLUESKY_ACCOUNT = {"AccountTakedown": "takendown", "AccountDeactivated": "deactivated"}


@dataclass(frozen=True, slots=True)
class BlueskyRefresh:
    """`com.atproto.server.refreshSession` on the account's PDS (refreshing rotates both JWTs)."""

    default_service: str
    platform: Platform = Platform.BLUESKY
    name: str = "Bluesky"
    ahead: timedelta = timedelta(minutes=15)
    access_key: str = "access_jwt"

    def can_refresh(self, credentials: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
        return bool(credentials.get("refresh_jwt"))

    def due(
        self, *, expires_at: datetime | None, credentials: Mapping[str, Any], now: datetime
    ) -> bool:
        return expires_at is not None and expires_at - now < self.ahead

    async def refresh(
        self,
        client: httpx.AsyncClient,
        *,
        credentials: Mapping[str, Any],
        options: Mapping[str, Any],
        now: datetime,
    ) -> Refreshed:
        service = str(options.get("service") or self.default_service).rstrip("/")
        url = f"{service}/xrpc/com.atproto.server.refreshSession"
        headers = {"Authorization": f"Bearer {credentials['refresh_jwt']}"}
        response = await _send(self.name, client.post(url, headers=headers))
        body = _json(response)
        _unavailable_or_none(self.name, response, body)
        if response.status_code != 200:
            error = str(body.get("error") or "")
            if error in _BLUESKY_ACCOUNT:
                signal = session_status_signal(False, _BLUESKY_ACCOUNT[error])
                assert signal is not None
                raise RefreshRejected(f"{signal.reason} ({_said(body, response)})")
            if error in _BLUESKY_REJECTED or response.status_code in (400, 401):
                raise RefreshRejected(
                    f"{self.name} refused the session's refresh token ({_said(body, response)})"
                )
            raise RefreshUnavailable(f"{self.name} could not refresh ({_said(body, response)})")
        return bluesky_session(body, now=now)


def bluesky_session(body: Mapping[str, Any], *, now: datetime) -> Refreshed:
    """Credentials from a createSession or refreshSession answer."""
    access, refresh = body.get("accessJwt"), body.get("refreshJwt")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        raise RefreshUnavailable("Bluesky answered the session without its tokens")
    fresh: dict[str, Any] = {"access_jwt": access, "refresh_jwt": refresh}
    if isinstance(body.get("did"), str):
        fresh["did"] = body["did"]
    signal = session_status_signal(body.get("active"), body.get("status"))
    return Refreshed(
        credentials=fresh,
        expires_at=jwt_expiry(access) or now + timedelta(hours=2),
        account_status=(signal.status, signal.reason) if signal else None,
    )


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` of a JWT, read without verifying it (we are not its audience)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    exp = claims.get("exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, (int, float)) else None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _client_credentials(settings: Settings, platform: str) -> tuple[str | None, str | None]:
    client_id = getattr(settings, f"{platform}_client_id", None)
    secret = getattr(settings, f"{platform}_client_secret", None)
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    return (str(client_id) if client_id else None, str(secret) if secret else None)


def platform_refreshes(settings: Settings) -> dict[Platform, PlatformRefresh]:
    """How each platform refreshes, with URLs and client credentials from the settings.

    Token endpoints come from the `oauth_urls` setting (`x.token`, `reddit.token`,
    `linkedin.token`; `instagram.graph` and `threads.graph` for the hosts of Meta's refresh), else
    the platforms' own; a Bluesky session is refreshed at the account's PDS.
    """
    x_id, x_secret = _client_credentials(settings, "x")
    reddit_id, reddit_secret = _client_credentials(settings, "reddit")
    linkedin_id, linkedin_secret = _client_credentials(settings, "linkedin")
    return {
        Platform.X: OAuth2Refresh(
            platform=Platform.X,
            name="X",
            token_url=settings.oauth_url("x", "token", "https://api.x.com/2/oauth2/token"),
            client_id=x_id,
            client_secret=x_secret,
            ahead=timedelta(minutes=15),
        ),
        Platform.REDDIT: OAuth2Refresh(
            platform=Platform.REDDIT,
            name="Reddit",
            token_url=settings.oauth_url(
                "reddit", "token", "https://www.reddit.com/api/v1/access_token"
            ),
            client_id=reddit_id,
            client_secret=reddit_secret,
            ahead=timedelta(minutes=15),
        ),
        Platform.LINKEDIN: OAuth2Refresh(
            platform=Platform.LINKEDIN,
            name="LinkedIn",
            token_url=settings.oauth_url(
                "linkedin", "token", "https://www.linkedin.com/oauth/v2/accessToken"
            ),
            client_id=linkedin_id,
            client_secret=linkedin_secret,
            ahead=timedelta(days=7),
        ),
        Platform.INSTAGRAM: MetaLongLivedRefresh(
            platform=Platform.INSTAGRAM,
            name="Instagram",
            url=settings.oauth_url("instagram", "graph", "https://graph.instagram.com")
            + "/refresh_access_token",
            grant_type="ig_refresh_token",
        ),
        Platform.THREADS: MetaLongLivedRefresh(
            platform=Platform.THREADS,
            name="Threads",
            url=settings.oauth_url("threads", "graph", "https://graph.threads.net")
            + "/refresh_access_token",
            grant_type="th_refresh_token",
        ),
        Platform.BLUESKY: BlueskyRefresh(
            default_service=settings.platform_urls.get("bluesky", "https://bsky.social")
        ),
    }


# -- the refresher ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What `refresh_account` did.

    outcome: refreshed | already_refreshed (another worker did it; use `credentials`) |
             not_refreshable | not_due | rejected (the account now needs reconnecting) |
             unavailable (try again later) | gone (no such live account)
    """

    outcome: str
    credentials: dict[str, Any] | None = None
    message: str | None = None

    @property
    def usable(self) -> bool:
        return self.outcome in ("refreshed", "already_refreshed") and bool(self.credentials)


def scrub(message: str, credentials: Mapping[str, Any]) -> str:
    """`message` with any credential value in it replaced (defence in depth)."""
    for key, value in credentials.items():
        if isinstance(value, str) and len(value) >= 8 and value in message:
            message = message.replace(value, f"[{key}]")
    return message


class TokenRefresher:
    """The `refresh_tokens` job's refresher, and the worker's refresh-and-retry."""

    def __init__(
        self,
        settings: Settings,
        *,
        platforms: Mapping[Platform, PlatformRefresh] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._platforms = dict(platforms if platforms is not None else platform_refreshes(settings))
        self._transport = transport
        self._timeout = settings.token_refresh_timeout_s
        self._horizon = max(
            (getattr(p, "ahead", timedelta(0)) for p in self._platforms.values()),
            default=timedelta(0),
        )

    def refresh_for(self, platform: str) -> PlatformRefresh | None:
        try:
            return self._platforms.get(Platform(platform))
        except ValueError:
            return None

    def can_refresh(
        self, platform: str, credentials: Mapping[str, Any], options: Mapping[str, Any]
    ) -> bool:
        """Whether this account's token can be renewed without a person."""
        how = self.refresh_for(platform)
        return how is not None and how.can_refresh(credentials, options)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self._transport,
            timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
            headers={"User-Agent": "postwright (+https://github.com/postwright/postwright)"},
            follow_redirects=False,
        )

    # -- the periodic job

    async def refresh_due(self, rt: Runtime) -> dict[str, Any]:
        """Refresh every token within its platform's window; then the health check."""
        from postwright.services.account_health import check_token_health

        counts = {"refreshed": 0, "rejected": 0, "unavailable": 0, "skipped": 0}
        now = rt.now()
        after: uuid.UUID | None = None
        while True:
            async with rt.db.read() as conn:
                batch = await account_tokens.accounts_with_expiring_tokens(
                    conn,
                    before=now + self._horizon,
                    statuses=_REFRESHING,
                    limit=_BATCH,
                    after_id=after,
                )
            if not batch:
                break
            after = batch[-1].id
            for row in batch:
                how = self.refresh_for(row.platform)
                if how is None:
                    continue
                credentials = _open(rt.secretbox, row.credentials)
                if credentials is None or not how.can_refresh(credentials, row.options):
                    continue
                if not how.due(expires_at=row.token_expires_at, credentials=credentials, now=now):
                    continue
                result = await self._refresh(rt, row.id, rejected=None)
                key = result.outcome if result.outcome in counts else "skipped"
                counts[key] += 1
        health = await check_token_health(rt, can_refresh=self.can_refresh)
        return {**counts, **health}

    # -- the worker's way in

    async def refresh_account(
        self, rt: Runtime, account_id: uuid.UUID, *, rejected: Mapping[str, Any]
    ) -> RefreshResult:
        """Refresh now because the platform refused `rejected` (the credentials just used)."""
        return await self._refresh(rt, account_id, rejected=rejected)

    async def _refresh(
        self, rt: Runtime, account_id: uuid.UUID, *, rejected: Mapping[str, Any] | None
    ) -> RefreshResult:
        """Refresh under the account's lock, re-checking first (see the module docstring)."""
        async with rt.db.write() as conn:
            row = await account_tokens.lock_account(conn, account_id=account_id)
            if row is None:
                return RefreshResult("gone")
            how = self.refresh_for(row.platform)
            credentials = _open(rt.secretbox, row.credentials)
            if how is None or credentials is None or not how.can_refresh(credentials, row.options):
                return RefreshResult("not_refreshable")
            now = rt.now()
            if rejected is None:
                if row.status not in _REFRESHING or not how.due(
                    expires_at=row.token_expires_at, credentials=credentials, now=now
                ):
                    return RefreshResult("not_due")
            elif credentials.get(how.access_key) != rejected.get(how.access_key):
                # another worker refreshed since that token was read: use its result
                return RefreshResult("already_refreshed", credentials=credentials)
            try:
                async with self._client() as client:
                    async with asyncio.timeout(self._timeout * 1.5):
                        refreshed = await how.refresh(
                            client, credentials=credentials, options=row.options, now=now
                        )
            except TimeoutError:
                return self._unavailable(row, f"{how.platform.value} token endpoint timed out")
            except RefreshUnavailable as exc:
                return self._unavailable(row, scrub(str(exc), credentials))
            except RefreshRejected as exc:
                reason = scrub(str(exc), credentials) + "; reconnect the account"
                await account_tokens.mark_health(
                    conn,
                    account=row,
                    status=AccountStatus.NEEDS_RECONNECT,
                    reason=reason,
                    now=rt.now(),
                )
                log.warning("account %s (%s): refresh refused: %s", row.id, row.platform, reason)
                return RefreshResult("rejected", message=reason)
            merged = merge_credentials(credentials, {**credentials, **refreshed.credentials})
            await account_tokens.store_credentials(
                conn,
                account_id=row.id,
                credentials=rt.secretbox.seal(merged),
                token_expires_at=refreshed.expires_at,
                now=rt.now(),
            )
            if row.status == AccountStatus.EXPIRING:
                # the warning was about the token just renewed
                await account_tokens.mark_health(
                    conn, account=row, status=AccountStatus.ACTIVE, reason=None, now=rt.now()
                )
                row = replace(row, status=AccountStatus.ACTIVE, status_reason=None)
            if refreshed.account_status is not None:
                await account_tokens.mark_health(
                    conn,
                    account=row,
                    status=refreshed.account_status[0],
                    reason=refreshed.account_status[1],
                    now=rt.now(),
                )
        log.info("account %s (%s): token refreshed", row.id, row.platform)
        return RefreshResult("refreshed", credentials=merged)

    @staticmethod
    def _unavailable(row: TokenRow, message: str) -> RefreshResult:
        log.warning("account %s (%s): refresh not possible now: %s", row.id, row.platform, message)
        return RefreshResult("unavailable", message=message)


def _open(box: SecretBox, sealed: str | None) -> dict[str, Any] | None:
    if not sealed:
        return None
    try:
        return box.open(sealed)
    except SecretBoxError:
        return None


def default_refreshers(settings: Settings) -> list[JobRefresher]:
    """What `EngineService(refreshers=...)` should run: platform token refreshes (which also
    run the health check of tokens that cannot be refreshed) and, for the worker, the
    refresh-and-retry-once after `AuthNeeded`."""
    return [TokenRefresher(settings)]
