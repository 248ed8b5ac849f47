"""What the composer needs to count and check text the way the server does.

`GET /platforms` lists each platform's limits (the same `PlatformLimits` that `validate_content`
applies), and `POST /preview/count` answers the server's own count of one text for one platform,
so the web app's live counters can never disagree with the check made when the post is saved.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from postwright.api.deps import PrincipalDep, storable_input
from postwright.api.problems import PROBLEM_RESPONSES, ProblemError
from postwright.domain.content_rules import (
    ContentDraft,
    PlatformLimits,
    count_text,
    limits_for,
    validate_content,
)
from postwright.domain.platforms import Platform
from postwright.domain.text import utf8_length
from postwright.services.calendar import PLATFORM_COLORS
from postwright.services.posts import MAX_TEXT

__all__ = ["router"]

router = APIRouter(
    responses={k: PROBLEM_RESPONSES[k] for k in (401, 403, 422)},
    dependencies=[Depends(storable_input)],
)

PlatformName = Literal[
    "sandbox", "x", "reddit", "linkedin", "facebook", "instagram", "threads", "mastodon", "bluesky"
]
assert {p.value for p in Platform} == set(PlatformName.__args__)  # type: ignore[attr-defined]


class MediaGroupPublic(BaseModel):
    kinds: list[str] = Field(description="Kinds of media that may share one post.")
    max_items: int | None = Field(description="How many of them; null: no documented cap.")


class PlatformPublic(BaseModel):
    """One platform's content limits, as the server applies them."""

    platform: str
    name: str
    color: str = Field(description="The colour the calendar shows this platform in.")
    max_text: int = Field(description="The text limit, in `text_unit`.")
    text_unit: str = Field(description='What is counted, e.g. "weighted characters".')
    text_note: str = Field(description="How counting differs from the obvious; may be empty.")
    text_limit_owner: str = Field(
        description="Who sets the limit when not the platform as a whole (a Mastodon server)."
    )
    max_text_bytes: int | None = Field(description="A second limit in UTF-8 bytes (Bluesky).")
    media_groups: list[MediaGroupPublic] = Field(
        description="A post's media must fit one of these groups."
    )
    max_media: int | None = Field(description="The most attachments one post may have.")
    max_bytes: dict[str, int] = Field(description="Largest file per media kind, in bytes.")
    mime_types: dict[str, list[str]] = Field(
        description="Accepted MIME types per media kind, where the platform restricts them."
    )
    media_required: bool
    max_links: int | None
    max_hashtags: int | None
    max_mentions: int | None
    max_title: int | None

    @classmethod
    def of(cls, limits: PlatformLimits) -> PlatformPublic:
        return cls(
            platform=limits.platform.value,
            name=limits.name,
            color=PLATFORM_COLORS.get(limits.platform, "#6b7280"),
            max_text=limits.max_text,
            text_unit=limits.text_unit,
            text_note=limits.text_note,
            text_limit_owner=limits.text_limit_owner,
            max_text_bytes=limits.max_text_bytes,
            media_groups=[
                MediaGroupPublic(kinds=sorted(g.kinds), max_items=g.max_items)
                for g in limits.media_groups
            ],
            max_media=limits.max_media,
            max_bytes={kind: size.max_bytes for kind, size in limits.max_bytes.items()},
            mime_types={kind: sorted(types) for kind, types in limits.mime_types.items()},
            media_required=limits.media_required,
            max_links=limits.max_links,
            max_hashtags=limits.max_hashtags,
            max_mentions=limits.max_mentions,
            max_title=limits.max_title,
        )


class CountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: PlatformName
    text: str = Field(max_length=MAX_TEXT)
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="The target's options as they will be sent (Mastodon's `spoiler_text` "
        "counts, `max_characters` is the server's limit).",
    )


class CountPublic(BaseModel):
    platform: str
    count: int = Field(description="The text's length in `unit`, counted as the server does.")
    limit: int
    unit: str
    note: str = Field(description="How counting differs from the obvious; may be empty.")
    remaining: int = Field(description="`limit - count`; negative when over.")
    bytes: int | None = Field(description="UTF-8 size, where the platform limits it.")
    max_bytes: int | None
    within_limit: bool = Field(description="Both the count and the size (if any) fit.")
    problems: list[ProblemError] = Field(
        description="What else the text or the options break on this platform (too many links, "
        "an unknown visibility...), with fields relative to the target: `text`, `options.x`."
    )


def _relevant(field: str, rule: str, prefix: str) -> bool:
    """Whether a violation says something the counter does not: the count itself is the
    counter's job, and empty text and media rules depend on media this call does not see."""
    if field == f"{prefix}.text":
        return rule not in {"required", "max_length"}
    return not field.startswith(f"{prefix}.media")


@router.get(
    "/platforms",
    response_model=list[PlatformPublic],
    summary="Every platform's text and media limits",
)
async def list_platforms(_principal: PrincipalDep) -> list[PlatformPublic]:
    return [PlatformPublic.of(limits_for(p)) for p in Platform]


@router.post(
    "/preview/count",
    response_model=CountPublic,
    summary="Count a text the way one platform (and the server) counts it",
)
async def count(body: CountBody, _principal: PrincipalDep) -> CountPublic:
    platform = Platform(body.platform)
    limits = limits_for(platform, body.options)
    counted = count_text(platform, body.text, body.options)
    size = utf8_length(body.text) if limits.max_text_bytes is not None else None
    within = counted <= limits.max_text and (size is None or size <= (limits.max_text_bytes or 0))
    prefix = "target"
    problems = [
        ProblemError(field=v.field.removeprefix(f"{prefix}."), rule=v.rule, message=v.message)
        for v in validate_content(
            platform, ContentDraft(text=body.text, options=body.options), prefix=prefix
        )
        if _relevant(v.field, v.rule, prefix)
    ]
    return CountPublic(
        platform=platform.value,
        count=counted,
        limit=limits.max_text,
        unit=limits.text_unit,
        note=limits.text_note,
        remaining=limits.max_text - counted,
        bytes=size,
        max_bytes=limits.max_text_bytes,
        within_limit=within,
        problems=problems,
    )
