"""Instagram Login (Instagram API with Instagram Login), as the emulator serves it: the flow of
`oauth_graph_login` under `/instagram`, with Instagram's own wording.

Like Instagram: the code exchange (api.instagram.com) answers `{"access_token", "user_id",
"permissions"}` and refuses with `{"error_type": "OAuthException", "code": 400,
"error_message": ...}`; the long-lived exchange and refresh are `ig_exchange_token` and
`ig_refresh_token` on graph.instagram.com; `/me` has `user_id` (the professional account id
that publishing uses), `username`, `name` and `account_type`.
"""

from __future__ import annotations

import hashlib

from pydantic import JsonValue
from starlette.responses import JSONResponse

from postwright.platforms.emulator.oauth_core import Issued, TokenProblem
from postwright.platforms.emulator.oauth_graph_login import GraphLogin, GraphLoginPlatform
from postwright.platforms.emulator.platform import Toolkit

__all__ = ["InstagramOAuthPlatform"]

DEFAULT_USER = "17841405822304914"

_MESSAGES = {
    TokenProblem.INVALID_CLIENT: "Invalid platform app",
    TokenProblem.CODE_USED: "This authorization code has been used",
    TokenProblem.CODE_EXPIRED: "This authorization code has expired",
    TokenProblem.REDIRECT_MISMATCH: "Error validating verification code. Please make sure "
    "your redirect_uri is identical to the one you used in the OAuth dialog request",
    TokenProblem.VERIFIER_MISSING: "Invalid code verifier",
    TokenProblem.VERIFIER_MISMATCH: "Invalid code verifier",
    TokenProblem.UNSUPPORTED_GRANT: "Invalid grant_type",
}


def _problem(problem: TokenProblem) -> JSONResponse:
    message = _MESSAGES.get(problem, "Invalid authorization code")
    return JSONResponse(
        {"error_type": "OAuthException", "code": 400, "error_message": message}, 400
    )


def _short(issued: Issued) -> dict[str, JsonValue]:
    scopes: list[JsonValue] = [s for s in issued.scope.replace(",", " ").split() if s]
    return {"access_token": issued.token, "user_id": int(issued.user), "permissions": scopes}


def _profile(issued: Issued) -> dict[str, JsonValue]:
    scoped = hashlib.sha256(f"asid:{issued.user}".encode()).hexdigest()[:15]
    return {
        "id": str(int(scoped, 16)),
        "user_id": issued.user,
        "username": f"ig_{issued.user[-6:]}",
        "name": f"Instagram {issued.user[-6:]}",
        "account_type": "BUSINESS",
        "profile_picture_url": "",
    }


LOGIN = GraphLogin(
    name="instagram-oauth",
    title="Instagram",
    prefix="/instagram",
    default_user=DEFAULT_USER,
    exchange_grant="ig_exchange_token",
    refresh_grant="ig_refresh_token",
    token_prefix="IGAA",
    short_answer=_short,
    code_problem=_problem,
    profile=_profile,
    default_fields="id",
)


def InstagramOAuthPlatform(toolkit: Toolkit) -> GraphLoginPlatform:
    """Instagram Login's flow for the emulator."""
    return GraphLoginPlatform(toolkit, LOGIN)
