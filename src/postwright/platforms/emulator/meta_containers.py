"""The media-container flow Instagram and Threads share, as the emulator serves it: create a
container, read its status until FINISHED, publish it into the ledger, within a 24 h quota.

- A container's first status read says IN_PROGRESS; the next ones FINISHED, or ERROR when any of
  its media URLs contains "fail" (a stand-in for a download or processing failure), EXPIRED when
  it is 24 h old and unpublished, PUBLISHED once published. The URL itself is not fetched. A
  video container stays IN_PROGRESS for `processing.seconds[<platform>]` after it was made (by
  default no longer than that first read); every container made is recorded in `processing`.
- Publishing a container that has not been read as FINISHED is refused with code 9007, subcode
  2207027 ("not ready"): a client must poll. Publishing one twice is refused with code 100.
- A carousel's children must have been read as FINISHED before the carousel is made.
- Creating containers stores nothing in the ledger (and is not `creates=True`): only publishing
  makes a post, so the fault rules without a path apply to it alone.
- The publishing quota (`rate_limits={"<platform>.publishing": RateLimit(...)}` overrides the
  platform's default) counts the account's posts in the ledger; over it, publishing answers
  code 9, subcode 2207042.

What differs between the two platforms (limits, wording, the fields of a post) is a
`ContainerRules` or stays in the platform's module.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from postwright.platforms.emulator.facebook import (
    GraphCall,
    graph_error,
    insight,
    invalid_metric,
    metric_value,
    unknown_field,
)
from postwright.platforms.emulator.ledger import StoredPost
from postwright.platforms.emulator.platform import Toolkit
from postwright.platforms.emulator.ratelimit import RateLimit

__all__ = ["Container", "ContainerRules", "Containers", "insights_answer", "shortcode"]

CONTAINER_TTL = 86_400.0


@dataclass(slots=True)
class Container:
    """A media container: created, processed (as seen through status reads), then published."""

    id: str
    owner: str
    media_type: str
    params: dict[str, JsonValue]
    created_at: float
    fails: bool = False
    is_item: bool = False
    children: list[str] = field(default_factory=list)
    polls: int = 0
    media_id: str | None = None
    processing_s: float = 0.0
    seen_finished: bool = False

    def state(self, now: float) -> str:
        """IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED, without counting a read."""
        if self.media_id is not None:
            return "PUBLISHED"
        if now - self.created_at > CONTAINER_TTL:
            return "EXPIRED"
        if self.polls <= 1 or now < self.created_at + self.processing_s:
            return "IN_PROGRESS"
        return "ERROR" if self.fails else "FINISHED"

    def read(self, now: float) -> str:
        """The state a status read reports (the first read always says IN_PROGRESS)."""
        self.polls += 1
        state = self.state(now)
        self.seen_finished = self.seen_finished or state == "FINISHED"
        return state

    @property
    def ready(self) -> bool:
        """Reported FINISHED at least once, and not yet published."""
        return self.media_id is None and self.seen_finished


@dataclass(frozen=True, slots=True)
class ContainerRules:
    """One platform's limits and wording for the shared flow."""

    first_id: int
    default_quota: RateLimit
    carousel: tuple[int, int]
    """The fewest and the most children a carousel takes."""
    invalid_child: str
    """The code 100 message for a child that is not the caller's carousel item (`{child}`)."""
    says_child_failed: bool
    """Whether a child read as ERROR gets its own message, rather than "not ready"."""
    already_published: str
    quota_message: str
    """The `error_user_msg` over the quota (`{limit}`)."""
    limit_node: str
    """The node type named when a `*_publishing_limit` field is unknown."""


class Containers:
    """One platform's containers, and the account of each medium they became."""

    def __init__(self, toolkit: Toolkit, *, name: str, rules: ContainerRules) -> None:
        self._toolkit = toolkit
        self._ledger = toolkit.ledger
        self._name = name
        self._rules = rules
        self.quota = toolkit.rate_limits.get(f"{name}.publishing", rules.default_quota)
        self._ids = itertools.count(rules.first_id)
        self._containers: dict[str, Container] = {}
        self._owners: dict[str, str] = {}  # media id -> account

    def get(self, object_id: str) -> Container | None:
        return self._containers.get(object_id)

    def owner_of(self, request: Request) -> str:
        """The account of the container or medium `{object_id}` (the id itself when unknown)."""
        object_id = str(request.path_params["object_id"])
        container = self._containers.get(object_id)
        if container is not None:
            return container.owner
        return self._owners.get(object_id, object_id)

    def media_owner(self, object_id: str) -> str:
        """The account that published medium `object_id`, "" for none."""
        return self._owners.get(object_id, "")

    def post(self, object_id: str) -> StoredPost | None:
        return self._ledger.get(self._name, self.media_owner(object_id), object_id)

    def create(
        self,
        call: GraphCall,
        media_type: str,
        params: dict[str, JsonValue],
        *,
        is_item: bool,
        children: list[str],
    ) -> Response:
        """Store a checked container and answer its id."""
        urls = [str(params[k]) for k in ("image_url", "video_url") if k in params]
        container = Container(
            id=str(next(self._ids)),
            owner=call.account,
            media_type=media_type,
            params=params,
            created_at=time.time(),
            fails=any("fail" in url for url in urls),
            is_item=is_item,
            children=children,
            processing_s=self._toolkit.processing.delay(self._name, 0.0)
            if "video_url" in params
            else 0.0,
        )
        self._containers[container.id] = container
        self._toolkit.processing.record(self._name, call.account, container.id)
        return JSONResponse({"id": container.id})

    def carousel_children(self, call: GraphCall) -> list[str] | Response:
        """The ids in `children` (a list or comma-separated), each a finished item of the caller."""
        raw = call.params.get("children")
        if isinstance(raw, list):
            ids = [str(item) for item in raw]
        else:
            ids = [part.strip() for part in str(raw or "").split(",") if part.strip()]
        low, high = self._rules.carousel
        if not low <= len(ids) <= high:
            return graph_error(
                400, 100, f"(#100) A carousel needs {low} to {high} children, not {len(ids)}"
            )
        for child_id in ids:
            child = self._containers.get(child_id)
            if child is None or child.owner != call.account or not child.is_item:
                return graph_error(400, 100, self._rules.invalid_child.format(child=child_id))
            if self._rules.says_child_failed and child.state(time.time()) == "ERROR":
                return graph_error(
                    400, 100, f"(#100) The carousel item {child_id} failed to process"
                )
            if not child.ready:
                return graph_error(
                    400,
                    9007,
                    "Media ID is not available",
                    subcode=2207027,
                    user_message=f"The carousel item {child_id} is not ready yet",
                )
        return ids

    def publishable(self, call: GraphCall) -> Container | Response:
        """The caller's container `creation_id` if it may be published now, else the refusal."""
        container = self._containers.get(call.text("creation_id") or "")
        if container is None or container.owner != call.account or container.is_item:
            return graph_error(400, 100, "(#100) The parameter creation_id is invalid")
        if container.media_id is not None:
            return graph_error(400, 100, self._rules.already_published)
        if not container.ready:
            return graph_error(
                400,
                9007,
                "Media ID is not available",
                subcode=2207027,
                user_message="The media is not ready for publishing, please wait for a moment",
            )
        if self.used(call.account) >= self.quota.limit:
            return graph_error(
                400,
                9,
                "(#9) Application request limit reached",
                subcode=2207042,
                user_message=self._rules.quota_message.format(limit=self.quota.limit),
            )
        return container

    def publish(
        self,
        call: GraphCall,
        container: Container,
        *,
        text: str,
        kind: str,
        attributes: Mapping[str, JsonValue],
    ) -> StoredPost:
        """Record the container's post (media type `kind`, with the platform's `attributes`)."""
        media_id = str(next(self._ids))
        children: list[JsonValue] = [
            {"media_type": child.media_type, **child.params}
            for child in (self._containers[c] for c in container.children)
        ]
        post, _ = self._ledger.record(
            platform=self._name,
            account=call.account,
            text=text,
            received_at=self._toolkit.received_at(call.request),
            post_id=media_id,
            attributes={
                "container_id": container.id,
                "media_type": kind,
                **attributes,
                "params": container.params,
                "children": children,
            },
        )
        container.media_id = media_id
        self._owners[media_id] = call.account
        return post

    def used(self, account: str) -> int:
        """The account's posts within the quota's window."""
        since = time.time() - self.quota.window_seconds
        return len(self._ledger.recent(self._name, account, since=since, limit=10_000))

    def publishing_limit(
        self, call: GraphCall, extra: Mapping[str, JsonValue] | None = None
    ) -> Response:
        """`quota_usage` and `config` (by default `quota_usage`), and the platform's `extra`."""
        entry: dict[str, JsonValue] = {}
        for name in call.fields(["quota_usage"]):
            if name == "quota_usage":
                entry[name] = self.used(call.account)
            elif name == "config":
                entry[name] = {
                    "quota_total": self.quota.limit,
                    "quota_duration": int(self.quota.window_seconds),
                }
            elif extra is not None and name in extra:
                entry[name] = extra[name]
            else:
                return unknown_field(name, self._rules.limit_node)
        return JSONResponse({"data": [entry]})


def shortcode(media_id: str) -> str:
    """A stable, Instagram-looking shortcode for a numeric id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    number, code = int(media_id), ""
    while number:
        number, digit = divmod(number, 64)
        code = alphabet[digit] + code
    return code or "A"


def insights_answer(
    platform: str,
    object_id: str,
    names: list[str],
    allowed: frozenset[str],
    deprecated: frozenset[str],
) -> Response:
    """`{"data": [insight, ...]}`, or code 100 for a missing, deprecated or unknown metric."""
    if not names:
        return graph_error(400, 100, "(#100) The parameter metric is required")
    data: list[JsonValue] = []
    for name in names:
        if name in deprecated:
            return graph_error(
                400,
                100,
                f"(#100) Starting from v22.0, {name} is no longer supported for this media",
            )
        if name not in allowed:
            return invalid_metric(name)
        data.append(insight(object_id, name, metric_value(platform, object_id, name)))
    return JSONResponse({"data": data})
