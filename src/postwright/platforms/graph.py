"""What Meta's Graph APIs (Facebook Pages, Instagram, Threads) have in common, in one place.

- Errors. Every failure is `{"error": {message, type, code, error_subcode, fbtrace_id,
  is_transient?, error_user_title?, error_user_msg?}}`, and the code decides, not the status:

      102, 104, 190, 10, 200-299     AuthNeeded   (bad, expired or revoked token; a permission
                                                   the token lacks: the account needs reconnecting)
      4, 17, 32, 341, 613,           RateLimited  (app, user, page and business-use-case
      80000-80014                                  throttles), reset from the headers below
      9 (IG 2207042)                 PublishingQuotaExceeded, a RateLimited: the 24 h posts quota
      1, 2, is_transient, 5xx        Uncertain on a step that creates the post (it may exist),
                                     Retryable on any other step (nothing visible was made)
      9007 / 2207027                 Retryable: the container is not ready to publish yet
      anything else (100, 506, ...)  Permanent, naming the media file when the step was about one

- Rate-limit headers. `X-App-Usage` and `X-Page-Usage` are JSON percentages of the app's (or
  Page's) hourly budget; `X-Business-Use-Case-Usage` maps business ids to lists of
  `{type, call_count, total_cputime, total_time, estimated_time_to_regain_access}` (percent,
  percent, percent, minutes). The highest percentage and the longest wait win.

- Steps. A publish is several calls; each one is a `Step` saying what it does (for messages),
  whether it can create the post (which decides between Uncertain and Retryable), and which
  media file it concerns. A transport failure on a step that cannot create the post is
  Retryable too: an orphan container or unpublished photo is invisible and harmless.

- Containers (Instagram, Threads): created, polled until FINISHED, then published. `Polling`
  and `wait_for_container` bound the waiting by a deadline. A container still processing at
  the deadline (a video, most often) is `StillProcessing`, carrying the ids of the containers
  made and when (`MadeContainers`): the next try polls those instead of making new ones, and
  makes new ones only when they expired (24 h) or no longer fit the post. Only publishing a
  FINISHED container creates the post, so waiting across tries cannot publish twice.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from postwright.domain.errors import (
    AuthNeeded,
    Permanent,
    PlatformError,
    RateLimited,
    Retryable,
    StillProcessing,
    Uncertain,
)
from postwright.domain.posting_rules import content_fingerprint
from postwright.domain.retry import parse_retry_after
from postwright.platforms.base import AccountRef, Published, RateInfo, made_within
from postwright.platforms.http import translate_transport_errors

__all__ = [
    "DEFAULT_THROTTLE_WAIT",
    "ContainerApi",
    "ContainerExpired",
    "ContainerFlow",
    "ContainerSpec",
    "ContainerStatus",
    "GraphClient",
    "GraphError",
    "GraphResponse",
    "Lookup",
    "MadeContainers",
    "Polling",
    "PublishingQuotaExceeded",
    "Step",
    "Usage",
    "classify",
    "parse_graph_error",
    "parse_graph_time",
    "parse_usage",
    "read_insights",
    "split_fields",
    "user_and_token",
    "wait_for_container",
]

AUTH_CODES = frozenset({10, 102, 104, 190, *range(200, 300)})
THROTTLE_CODES = frozenset({4, 17, 32, 341, 613, *range(80000, 80015)})
UNKNOWN_CODES = frozenset({1, 2})
QUOTA_CODE = 9
NOT_READY = (9007, 2207027)

DEFAULT_THROTTLE_WAIT = timedelta(minutes=10)
"""The wait after a throttle answer that says nothing of when it ends (no Retry-After, no
`estimated_time_to_regain_access`). Meta's budgets are rolling hours; ten minutes is a guess that
lets a lightly throttled account recover soon, while a still-throttled one is told again."""

QUOTA_WAIT = timedelta(hours=1)
"""The wait after a publishing-quota refusal when the adapter cannot estimate better."""


@dataclass(frozen=True, slots=True)
class GraphError:
    """The `error` object of a Graph API answer."""

    message: str
    type: str | None = None
    code: int | None = None
    subcode: int | None = None
    fbtrace_id: str | None = None
    is_transient: bool = False
    user_title: str | None = None
    user_message: str | None = None

    @property
    def platform_code(self) -> str | None:
        """`"100"` or `"100/2207052"`: the code and subcode, as `Permanent.platform_code`."""
        if self.code is None:
            return None
        return f"{self.code}/{self.subcode}" if self.subcode is not None else str(self.code)

    def describe(self) -> str:
        """The message for a person: Meta's user-facing text when it gave one, and the codes."""
        text = self.message
        if self.user_message and self.user_message not in text:
            text = f"{self.user_message} ({text})"
        extras = [f"code {self.platform_code}"] if self.platform_code else []
        if self.fbtrace_id:
            extras.append(f"fbtrace_id {self.fbtrace_id}")
        return f"{text} [{', '.join(extras)}]" if extras else text


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def parse_graph_error(response: httpx.Response) -> GraphError | None:
    """The Graph error in `response`'s body, or None if the body is not one."""
    try:
        body: Any = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    message = error.get("message")
    return GraphError(
        message=str(message) if message else response.reason_phrase or "unknown error",
        type=str(error["type"]) if error.get("type") else None,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
        is_transient=error.get("is_transient") is True,
        user_title=str(error["error_user_title"]) if error.get("error_user_title") else None,
        user_message=str(error["error_user_msg"]) if error.get("error_user_msg") else None,
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """What the usage headers said: the highest percentage used, and the longest wait."""

    percent: int | None
    regain_minutes: int | None

    def reset_at(self, now: datetime) -> datetime | None:
        if self.regain_minutes:
            return now + timedelta(minutes=self.regain_minutes)
        return None

    def rate_info(self, now: datetime) -> RateInfo:
        """As a `RateInfo` in percent: limit 100, remaining 100 minus the highest share used."""
        remaining = None if self.percent is None else max(0, 100 - self.percent)
        return RateInfo(limit=100, remaining=remaining, reset_at=self.reset_at(now))


def _percentages(entry: Mapping[str, Any]) -> Iterator[int]:
    for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
        value = entry.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield math.ceil(value)


def parse_usage(headers: Mapping[str, str]) -> Usage | None:
    """Read `X-App-Usage`, `X-Page-Usage` and `X-Business-Use-Case-Usage`; None if absent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    entries: list[Mapping[str, Any]] = []
    for name in ("x-app-usage", "x-page-usage"):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            entries.append(value)
    raw = lowered.get("x-business-use-case-usage")
    if raw is not None:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict):
            for per_business in value.values():
                if isinstance(per_business, list):
                    entries.extend(item for item in per_business if isinstance(item, dict))
    if not entries:
        return None
    percents = [p for entry in entries for p in _percentages(entry)]
    waits = [
        minutes
        for entry in entries
        if (minutes := _int(entry.get("estimated_time_to_regain_access"))) is not None
    ]
    return Usage(
        percent=max(percents) if percents else None,
        regain_minutes=max(waits) if waits else None,
    )


class PublishingQuotaExceeded(RateLimited):
    """The account published as many posts as its rolling 24 h quota allows (Instagram, Threads).

    Adapters catch it to replace the reset time with an estimate from the account's own posts.
    """


@dataclass(frozen=True, slots=True)
class Step:
    """One call of a publish: what it does, whether it can create the post, which file."""

    what: str
    creates: bool = False
    media_file: str | None = None


def _throttle_reset(response: httpx.Response, now: datetime) -> datetime:
    retry_after = response.headers.get("retry-after")
    reset_at = parse_retry_after(retry_after, now) if retry_after else None
    usage = parse_usage(response.headers)
    from_usage = usage.reset_at(now) if usage is not None else None
    candidates = [at for at in (reset_at, from_usage) if at is not None]
    return max(candidates) if candidates else now + DEFAULT_THROTTLE_WAIT


def _maybe_created(platform: str, step: Step, status: int, detail: str) -> PlatformError:
    if step.creates:
        return Uncertain(
            f"{platform} failed while {step.what}: {detail}; the post may have been created",
            status=status,
        )
    return Retryable(f"{platform} failed while {step.what}: {detail}", status=status)


def classify(
    platform: str, response: httpx.Response, *, now: datetime, step: Step
) -> PlatformError:
    """The error class of a non-success Graph answer (see the table in the module docstring)."""
    status = response.status_code
    error = parse_graph_error(response)
    if error is None:
        detail = f"HTTP {status} {response.reason_phrase}".strip()
        if status == 429:
            reset = _throttle_reset(response, now)
            return RateLimited(f"{platform} rate limit: {detail}", reset_at=reset, status=status)
        if status in (401, 403):
            return AuthNeeded(f"{platform} refused the credentials: {detail}", status=status)
        if status >= 500 or status in (408, 425):
            return _maybe_created(platform, step, status, detail)
        return Permanent(
            f"{platform} refused {step.what}: {detail}", status=status, media_file=step.media_file
        )
    code, subcode = error.code, error.subcode
    detail = error.describe()
    if code in AUTH_CODES:
        return AuthNeeded(f"{platform} refused the access token: {detail}", status=status)
    if code == QUOTA_CODE:
        return PublishingQuotaExceeded(
            f"{platform} publishing quota reached: {detail}",
            reset_at=now + QUOTA_WAIT,
            status=status,
        )
    if code in THROTTLE_CODES or status == 429:
        return RateLimited(
            f"{platform} rate limit: {detail}",
            reset_at=_throttle_reset(response, now),
            status=status,
        )
    if (code, subcode) == NOT_READY:
        return Retryable(f"{platform} was not ready while {step.what}: {detail}", status=status)
    if code in UNKNOWN_CODES or error.is_transient or status >= 500:
        return _maybe_created(platform, step, status, detail)
    where = f" ({step.media_file})" if step.media_file else ""
    return Permanent(
        f"{platform} refused {step.what}{where}: {detail}",
        status=status,
        media_file=step.media_file,
        platform_code=error.platform_code,
    )


@asynccontextmanager
async def step_transport_errors(platform: str, step: Step) -> AsyncIterator[None]:
    """httpx errors as PlatformErrors; a lost answer is Uncertain only if the step creates."""
    try:
        async with translate_transport_errors(platform):
            yield
    except Uncertain as exc:
        if step.creates:
            raise
        raise Retryable(f"{exc.message} (while {step.what}; nothing was published)") from exc


@dataclass(frozen=True, slots=True)
class GraphResponse:
    """A successful answer: its JSON object and its usage headers, read."""

    body: dict[str, Any]
    usage: Usage | None


class GraphClient:
    """Calls one Graph host with a token, a timeout per step, and every error classified."""

    def __init__(self, client: httpx.AsyncClient, *, platform: str, timeout_s: float) -> None:
        self._client = client
        self.platform = platform
        self.timeout_s = timeout_s

    def timeout(self, *, read_s: float | None = None) -> httpx.Timeout:
        """The timeout of one step: connect within 10 s, and `read_s` (default: the setting)."""
        read = self.timeout_s if read_s is None else read_s
        return httpx.Timeout(read, connect=min(read, 10.0))

    async def call(
        self,
        method: str,
        url: str,
        *,
        token: str,
        step: Step,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        read_timeout_s: float | None = None,
    ) -> GraphResponse:
        """One request; the parsed JSON object of a 2xx answer, or a PlatformError raised."""
        headers = {"Authorization": f"Bearer {token}"}
        async with step_transport_errors(self.platform, step):
            response = await self._client.request(
                method,
                url,
                params=params,
                data=data,
                json=json_body,
                files=files,
                headers=headers,
                timeout=self.timeout(read_s=read_timeout_s),
            )
        now = datetime.now(UTC)
        if not 200 <= response.status_code < 300:
            raise classify(self.platform, response, now=now, step=step)
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _maybe_created(
                self.platform, step, response.status_code, "the answer was not a JSON object"
            )
        return GraphResponse(body=body, usage=parse_usage(response.headers))

    async def delete(self, url: str, *, token: str) -> None:
        """Delete the node at `url`; one that does not exist was deleted already."""
        try:
            await self.call("DELETE", url, token=token, step=Step("deleting the post"))
        except Permanent as exc:
            if exc.platform_code != "100/33":
                raise


def user_and_token(account: AccountRef, *, platform: str) -> tuple[str, str]:
    """The account's user id (`external_id`) and access token, or AuthNeeded for a missing one."""
    token = account.credentials.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthNeeded(f"the {platform} account has no access token; reconnect it")
    if not account.external_id:
        raise AuthNeeded(f"the {platform} account has no {platform} user id; reconnect it")
    return account.external_id, token


# -- containers (Instagram, Threads) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Polling:
    """How often to ask whether a container is ready: `first_s`, then growing by `factor` up to
    `max_interval_s`. The total is bounded by the caller's deadline, not here."""

    first_s: float = 1.0
    factor: float = 1.6
    max_interval_s: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(self.max_interval_s, delay * self.factor)


class ContainerExpired(Retryable):
    """A container was not published within its lifetime (24 h); a new one must be made."""


@dataclass(frozen=True, slots=True)
class ContainerStatus:
    """A container's state (IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED) and why."""

    state: str
    detail: str | None = None


async def wait_for_container(
    read_status: Callable[[], Awaitable[ContainerStatus]],
    *,
    platform: str,
    what: str,
    media_file: str | None,
    polling: Polling,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> ContainerStatus:
    """Poll until the container is FINISHED (or PUBLISHED), within `deadline` (monotonic seconds).

    ERROR is Permanent and names `media_file`; EXPIRED is `ContainerExpired` (Retryable: a new
    container is needed). Still processing at the deadline is `StillProcessing`, to look again
    after as long as this call waited; its `resume` is empty: the caller knows what it made.
    """
    started = clock()
    for delay in polling.delays():
        if clock() + delay > deadline:
            waited = clock() - started
            raise StillProcessing(
                f"{platform} is still processing {what} (waited {waited:.0f} s this time)",
                resume={},
                check_after=timedelta(seconds=max(1.0, waited)),
            )
        await asyncio.sleep(delay)
        status = await read_status()
        if status.state in ("FINISHED", "PUBLISHED"):
            return status
        if status.state == "ERROR":
            because = f": {status.detail}" if status.detail else ""
            raise Permanent(
                f"{platform} could not process {what}{because}",
                media_file=media_file,
                platform_code="container_error",
            )
        if status.state == "EXPIRED":
            raise ContainerExpired(
                f"{platform}'s container for {what} expired before it was published"
            )
    raise AssertionError("unreachable: Polling.delays() never ends")  # pragma: no cover


# -- the container flow of Instagram and Threads ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerApi:
    """Where one platform keeps the pieces of the container flow, and what it calls them."""

    platform: str  # "Instagram"
    create_edge: str  # POST /{user}/<create_edge> makes a container
    publish_edge: str  # POST /{user}/<publish_edge>?creation_id= publishes it
    status_fields: str  # GET /{container}?fields=<status_fields>
    state_field: str  # which of them holds IN_PROGRESS|FINISHED|ERROR|EXPIRED|PUBLISHED
    detail_field: str  # which of them says why
    quota_edge: str  # GET /{user}/<quota_edge>?fields=quota_usage,config
    text_field: str  # the post's text in listings: caption | text


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """One container to make: its parameters, what to call it in messages, its file; for a
    carousel, its children (made and finished first; their ids go in `children`)."""

    params: dict[str, str]
    what: str
    media_file: str | None = None
    children: tuple[ContainerSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class Lookup:
    """How to recognise the post among the account's recent ones: by text (fingerprint) and
    media type, in a listing edge (`media`, `stories`, `threads`)."""

    edge: str
    text: str
    media_types: frozenset[str]
    match_text: bool = True
    taken: frozenset[str] = frozenset()  # posts other deliveries own: never a match


_FIND_LIMIT = 50
_RECOVERY_SKEW = timedelta(minutes=2)
CONTAINER_LIFETIME = timedelta(hours=24)
"""How long Meta keeps an unpublished container before it says EXPIRED."""


@dataclass(frozen=True, slots=True)
class MadeContainers:
    """The containers made for one post so far, as `StillProcessing.resume` carries them:
    the carousel's children (empty for a single container), the container to publish once it
    is made, and when the first of them was made."""

    made_at: datetime
    children: tuple[str, ...] = ()
    container: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "made_at": self.made_at.isoformat(),
            "children": list(self.children),
            "container": self.container,
        }

    @classmethod
    def from_json(
        cls, state: Mapping[str, Any] | None, spec: ContainerSpec, *, now: datetime
    ) -> MadeContainers | None:
        """The containers in `state` if they can still serve `spec`: the same number of
        children, made less than `CONTAINER_LIFETIME` ago; None otherwise."""
        if not state:
            return None
        made_at = made_within(state, now=now, lifetime=CONTAINER_LIFETIME)
        children = state.get("children")
        container = state.get("container")
        if (
            made_at is None
            or not isinstance(children, list)
            or not all(isinstance(child, str) for child in children)
            or len(children) not in (0, len(spec.children))
            or (spec.children and container is not None and len(children) != len(spec.children))
            or not (container is None or isinstance(container, str))
        ):
            return None
        return cls(made_at=made_at, children=tuple(children), container=container)


@dataclass(frozen=True, slots=True)
class Ready:
    """A container that may be published (FINISHED), or was already (PUBLISHED: a lost
    publish answer of an earlier try), with when it was made."""

    container: str
    published: bool
    made_at: datetime


class ContainerFlow:
    """Make containers, wait for them, publish, and settle a lost answer: for one account."""

    def __init__(
        self,
        graph: GraphClient,
        api: ContainerApi,
        *,
        base: str,
        user: str,
        token: str,
        polling: Polling,
    ) -> None:
        self._graph = graph
        self._api = api
        self._base = base.rstrip("/")
        self._user = quote(user, safe="")
        self._token = token
        self._polling = polling

    async def _get(self, path: str, params: Mapping[str, str], what: str) -> dict[str, Any]:
        answer = await self._graph.call(
            "GET", f"{self._base}/{path}", token=self._token, step=Step(what), params=params
        )
        return answer.body

    # -- quota

    async def check_quota(self, *, lookup: Lookup) -> None:
        """Refuse early, with an estimated reset, when the 24 h publishing quota is spent.

        The platform enforces the quota at publish time anyway, so an answer that cannot be read
        (or a Permanent refusal of the edge) lets the publish go ahead.
        """
        try:
            body = await self._get(
                f"{self._user}/{self._api.quota_edge}",
                {"fields": "quota_usage,config"},
                "checking the publishing quota",
            )
        except Permanent:
            return
        data = body.get("data")
        entry = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        config: dict[str, Any] = entry["config"] if isinstance(entry.get("config"), dict) else {}
        usage, total = _int(entry.get("quota_usage")), _int(config.get("quota_total"))
        duration = _int(config.get("quota_duration")) or 86_400
        if usage is not None and total and usage >= total:
            raise await self.quota_exhausted(lookup, total=total, duration_s=duration)

    async def quota_exhausted(
        self, lookup: Lookup, *, total: int | None, duration_s: int = 86_400
    ) -> PublishingQuotaExceeded:
        """The quota error, with the reset estimated as when the oldest post of the window ages
        out of it. That post is found in the account's own listing, which also holds posts made
        outside the API (which the quota does not count): so the estimate is never late, only
        sometimes early, and an early retry just meets the quota again and waits some more."""
        now = datetime.now(UTC)
        window_start = now - timedelta(seconds=duration_s)
        reset = now + QUOTA_WAIT
        try:
            body = await self._get(
                f"{self._user}/{lookup.edge}",
                {"fields": "id,timestamp", "limit": str(min(100, (total or 50) + 25))},
                "estimating when the quota frees up",
            )
        except PlatformError:
            body = {}
        stamps = [
            moment
            for item in body.get("data") or []
            if isinstance(item, dict)
            and (moment := parse_graph_time(item.get("timestamp"))) is not None
            and moment > window_start
        ]
        if stamps:
            reset = min(stamps) + timedelta(seconds=duration_s)
        reset = max(reset, now + timedelta(minutes=1))
        hours = duration_s / 3600
        limit = f"{total} post{'' if total == 1 else 's'}" if total else "its quota of posts"
        return PublishingQuotaExceeded(
            f"{self._api.platform} allows {limit} per {hours:g} h and this account has used "
            f"them; the next one can go out around {reset:%Y-%m-%d %H:%M} UTC",
            reset_at=reset,
            status=None,
        )

    # -- containers

    async def create(
        self, spec: ContainerSpec, *, deadline: float, resume: Mapping[str, Any] | None = None
    ) -> Ready:
        """Make the container (children first, all processing at once) and wait until it is
        FINISHED; with `resume` (a `MadeContainers`), continue with the containers made then.

        Still processing at `deadline` raises `StillProcessing` with the containers made so far.
        """
        made = MadeContainers.from_json(resume, spec, now=datetime.now(UTC))
        if made is not None:
            try:
                return await self._finish(spec, made, deadline)
            except ContainerExpired:
                pass  # made too long ago after all: start over with new containers
        return await self._finish(spec, MadeContainers(made_at=datetime.now(UTC)), deadline)

    async def _finish(self, spec: ContainerSpec, made: MadeContainers, deadline: float) -> Ready:
        try:
            parent = spec
            if spec.children:
                if not made.children:
                    children = [await self._create_one(child) for child in spec.children]
                    made = replace(made, children=tuple(children))
                for child, child_id in zip(spec.children, made.children, strict=True):
                    await self._wait(child_id, child, deadline)
                parent = ContainerSpec(
                    params={**spec.params, "children": ",".join(made.children)},
                    what=spec.what,
                    media_file=spec.media_file,
                )
            container = made.container
            if container is None:
                container = await self._create_one(parent)
                made = replace(made, container=container)
            status = await self._wait(container, parent, deadline)
        except StillProcessing as late:
            raise StillProcessing(
                late.message, resume=made.to_json(), check_after=late.check_after
            ) from None
        return Ready(container, status.state == "PUBLISHED", made.made_at)

    async def _create_one(self, spec: ContainerSpec) -> str:
        answer = await self._graph.call(
            "POST",
            f"{self._base}/{self._user}/{self._api.create_edge}",
            token=self._token,
            step=Step(f"creating the container for {spec.what}", media_file=spec.media_file),
            data=spec.params,
        )
        container = answer.body.get("id")
        if not container:
            raise Retryable(f"{self._api.platform} made no container for {spec.what}")
        return str(container)

    async def status(self, container: str) -> ContainerStatus:
        body = await self._get(
            quote(container, safe=""),
            {"fields": self._api.status_fields},
            "reading the container's status",
        )
        detail = body.get(self._api.detail_field)
        return ContainerStatus(
            state=str(body.get(self._api.state_field) or "IN_PROGRESS").upper(),
            detail=str(detail) if detail else None,
        )

    async def _wait(self, container: str, spec: ContainerSpec, deadline: float) -> ContainerStatus:
        return await wait_for_container(
            lambda: self.status(container),
            platform=self._api.platform,
            what=spec.what,
            media_file=spec.media_file,
            polling=self._polling,
            deadline=deadline,
        )

    # -- publishing

    async def publish(self, ready: Ready, *, lookup: Lookup) -> Published:
        """Publish a FINISHED container. A container publishes at most once, so after a lost
        answer its status says what happened: PUBLISHED (find the post), or still FINISHED
        (publishing it again cannot make a second post); anything else stays Uncertain.

        A container found PUBLISHED before publishing (an earlier try's answer was lost and
        reconciliation did not see the post) is looked up, never published again."""
        container = ready.container
        if ready.published:
            found = await self.find(lookup, since=ready.made_at - _RECOVERY_SKEW)
            if found is None:
                raise Uncertain(
                    f"{self._api.platform} says the container {container} was published, but "
                    "the post is not among the account's recent posts yet"
                )
            return found
        started = datetime.now(UTC)
        try:
            answer = await self._publish_once(container)
        except PublishingQuotaExceeded as refused:
            raise await self.quota_exhausted(lookup, total=None) from refused
        except Uncertain as lost:
            settled = await self._settle(container, lookup, lost, since=started - _RECOVERY_SKEW)
            if isinstance(settled, Published):
                return settled
            answer = settled
        media_id = answer.body.get("id")
        if not media_id:
            raise Uncertain(
                f"{self._api.platform} answered the publish without an id; "
                "the post may have been created"
            )
        permalink = await self.permalink(str(media_id))
        rate = answer.usage.rate_info(datetime.now(UTC)) if answer.usage is not None else None
        return Published(external_id=str(media_id), permalink=permalink, rate=rate)

    async def _publish_once(self, container: str) -> GraphResponse:
        return await self._graph.call(
            "POST",
            f"{self._base}/{self._user}/{self._api.publish_edge}",
            token=self._token,
            step=Step("publishing the post", creates=True),
            data={"creation_id": container},
        )

    async def _settle(
        self, container: str, lookup: Lookup, lost: Uncertain, *, since: datetime
    ) -> Published | GraphResponse:
        try:
            status = await self.status(container)
            if status.state == "PUBLISHED":
                found = await self.find(lookup, since=since)
                if found is not None:
                    return found
            elif status.state == "FINISHED":
                return await self._publish_once(container)
        except PlatformError:
            pass
        raise lost

    async def permalink(self, media_id: str) -> str | None:
        """The post's permalink, or None if it cannot be read now (the post exists: no raise)."""
        try:
            body = await self._get(
                quote(media_id, safe=""), {"fields": "permalink"}, "reading the permalink"
            )
        except PlatformError:
            return None
        permalink = body.get("permalink")
        return permalink if isinstance(permalink, str) else None

    async def find(self, lookup: Lookup, *, since: datetime) -> Published | None:
        """The account's earliest post at or after `since` with this text and media type."""
        fields = f"id,{self._api.text_field},timestamp,permalink,media_type"
        body = await self._get(
            f"{self._user}/{lookup.edge}",
            {"fields": fields, "limit": str(_FIND_LIMIT)},
            "listing the account's recent posts",
        )
        wanted = content_fingerprint(lookup.text)
        matches: list[tuple[datetime, Published]] = []
        for item in body.get("data") or []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            created = parse_graph_time(item.get("timestamp"))
            if created is None or created < since:
                continue
            if lookup.media_types and str(item.get("media_type")) not in lookup.media_types:
                continue
            if str(item["id"]) in lookup.taken:
                continue
            text = str(item.get(self._api.text_field) or "")
            if lookup.match_text and content_fingerprint(text) != wanted:
                continue
            permalink = item.get("permalink")
            matches.append(
                (
                    created,
                    Published(
                        external_id=str(item["id"]),
                        permalink=permalink if isinstance(permalink, str) else None,
                    ),
                )
            )
        if not matches:
            return None
        return min(matches, key=lambda match: match[0])[1]


# -- small readers shared by the adapters ---------------------------------------------------------


def parse_graph_time(value: Any) -> datetime | None:
    """A Graph timestamp (`2026-08-01T12:00:00+0000`, ISO 8601 with `Z`, or unix seconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00 (3.11's fromisoformat needs it)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def split_fields(fields: str) -> list[str]:
    """`"a,b.summary(x,y){c,d},e"` -> `["a", "b.summary(x,y){c,d}", "e"]` (top-level commas)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in fields:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def read_insights(body: Mapping[str, Any]) -> dict[str, int]:
    """`{"data": [{"name", "values": [{"value"}]} | {"name", "total_value": {"value"}}]}` as
    name -> int (values that are objects, such as reactions by type, are summed)."""
    found: dict[str, int] = {}
    for entry in body.get("data") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        value: Any = None
        values = entry.get("values")
        if isinstance(values, list) and values and isinstance(values[-1], dict):
            value = values[-1].get("value")
        elif isinstance(entry.get("total_value"), dict):
            value = entry["total_value"].get("value")
        if isinstance(value, dict):
            value = sum(_int(v) or 0 for v in value.values())
        found[entry["name"]] = _int(value) or 0
    return found
