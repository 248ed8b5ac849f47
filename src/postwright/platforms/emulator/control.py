"""The emulator's own API under `/_emulator`, for tests, the demo and benchmarks.

    GET    /_emulator/health              200 {"status": "ok", "platforms": [...]}
    GET    /_emulator/ledger              what was stored (filters: ?platform=&account=)
    DELETE /_emulator/ledger              forget every post and idempotency key -> 204
    POST   /_emulator/faults              add a rule (see `rules`) -> 201 {"id", ...rule}
    GET    /_emulator/faults              rules in force, with `remaining` and `applied`
    DELETE /_emulator/faults              withdraw every rule -> 204
    DELETE /_emulator/faults/{rule_id}    withdraw one rule -> 204 (404 if unknown)
    POST   /_emulator/seed                {"seed": n}: restart the RNG of rule probabilities

No fault rule ever applies to these routes.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from postwright.platforms.emulator.faults import FaultBook
from postwright.platforms.emulator.ledger import Ledger
from postwright.platforms.emulator.rules import EFFECT_KINDS, FaultRule

__all__ = ["ControlPlane"]


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None


class ControlPlane:
    """The `/_emulator` endpoints over the shared ledger and fault rules."""

    def __init__(self, *, ledger: Ledger, faults: FaultBook, platforms: Sequence[str]) -> None:
        self._ledger = ledger
        self._faults = faults
        self._platforms = list(platforms)

    def routes(self) -> list[Route]:
        """The control routes."""
        return [
            Route("/_emulator/health", self._health, methods=["GET"]),
            Route("/_emulator/ledger", self._ledger_list, methods=["GET"]),
            Route("/_emulator/ledger", self._ledger_reset, methods=["DELETE"]),
            Route("/_emulator/faults", self._fault_add, methods=["POST"]),
            Route("/_emulator/faults", self._fault_list, methods=["GET"]),
            Route("/_emulator/faults", self._fault_clear, methods=["DELETE"]),
            Route("/_emulator/faults/{rule_id}", self._fault_remove, methods=["DELETE"]),
            Route("/_emulator/seed", self._seed, methods=["POST"]),
        ]

    async def _health(self, request: Request) -> Response:
        platforms: list[JsonValue] = list(self._platforms)
        return JSONResponse({"status": "ok", "platforms": platforms})

    async def _ledger_list(self, request: Request) -> Response:
        params = request.query_params
        posts = self._ledger.entries(platform=params.get("platform"), account=params.get("account"))
        return JSONResponse([post.ledger_entry() for post in posts])

    async def _ledger_reset(self, request: Request) -> Response:
        self._ledger.clear()
        return Response(status_code=204)

    async def _fault_add(self, request: Request) -> Response:
        try:
            rule = FaultRule.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid("invalid fault rule", exc)
        platform = rule.match.platform
        if platform is not None and platform not in self._platforms:
            served = ", ".join(self._platforms)
            message = f"invalid fault rule: match.platform {platform!r} is not served ({served})"
            return JSONResponse({"error": message, "errors": []}, 422)
        return JSONResponse(self._faults.add(rule).to_json(), 201)

    async def _fault_list(self, request: Request) -> Response:
        return JSONResponse([active.to_json() for active in self._faults.rules()])

    async def _fault_clear(self, request: Request) -> Response:
        self._faults.clear()
        return Response(status_code=204)

    async def _fault_remove(self, request: Request) -> Response:
        if not self._faults.remove(request.path_params["rule_id"]):
            return JSONResponse({"error": "no such fault rule"}, 404)
        return Response(status_code=204)

    async def _seed(self, request: Request) -> Response:
        try:
            seed = _Seed.model_validate_json(await request.body()).seed
        except ValidationError as exc:
            return _invalid("invalid seed", exc)
        self._faults.seed(seed)
        return JSONResponse({"seed": seed})


def _invalid(what: str, exc: ValidationError) -> JSONResponse:
    """422 `{"error": "<what>: <loc>: <msg>; ...", "errors": [{"loc", "message"}]}`."""
    problems = [
        (_where(error["loc"]), error["msg"].removeprefix("Value error, "))
        for error in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    summary = "; ".join(f"{loc}: {message}" if loc else message for loc, message in problems)
    errors: list[JsonValue] = [{"loc": loc, "message": message} for loc, message in problems]
    return JSONResponse({"error": f"{what}: {summary}", "errors": errors}, 422)


def _where(loc: tuple[int | str, ...]) -> str:
    # pydantic puts the effect's kind (its union tag) in the path: effect.status.status
    if len(loc) > 2 and loc[0] == "effect" and loc[1] in EFFECT_KINDS:
        loc = loc[:1] + loc[2:]
    return ".".join(str(part) for part in loc)
