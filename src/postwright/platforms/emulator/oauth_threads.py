"""Threads' login, as the emulator serves it: the flow of `oauth_graph_login` under `/threads`.

Like Threads: the code exchange answers `{"access_token", "user_id"}` and refuses in the Graph
shape (`{"error": {"message", "type": "OAuthException", "code", "fbtrace_id"}}`); the long-lived
exchange and refresh are `th_exchange_token` and `th_refresh_token`; `/me` has `id`,
`username`, `name` and `threads_profile_picture_url`.
"""

from __future__ import annotations

from pydantic import JsonValue

from postwright.platforms.emulator.oauth_core import Issued
from postwright.platforms.emulator.oauth_facebook import graph_token_problem
from postwright.platforms.emulator.oauth_graph_login import GraphLogin, GraphLoginPlatform
from postwright.platforms.emulator.platform import Toolkit

__all__ = ["ThreadsOAuthPlatform"]

DEFAULT_USER = "25925112093786130"


def _short(issued: Issued) -> dict[str, JsonValue]:
    return {"access_token": issued.token, "user_id": issued.user}


def _profile(issued: Issued) -> dict[str, JsonValue]:
    return {
        "id": issued.user,
        "username": f"threads_{issued.user[-6:]}",
        "name": f"Threads {issued.user[-6:]}",
        "threads_profile_picture_url": "",
        "threads_biography": "",
    }


LOGIN = GraphLogin(
    name="threads-oauth",
    title="Threads",
    prefix="/threads",
    default_user=DEFAULT_USER,
    exchange_grant="th_exchange_token",
    refresh_grant="th_refresh_token",
    token_prefix="THAA",
    short_answer=_short,
    code_problem=graph_token_problem,
    profile=_profile,
    default_fields="id",
)


def ThreadsOAuthPlatform(toolkit: Toolkit) -> GraphLoginPlatform:
    """Threads' login flow for the emulator."""
    return GraphLoginPlatform(toolkit, LOGIN)
