"""Property-based checks of every operation in /openapi.json (Schemathesis, stateless).

For each operation, Hypothesis generates a bounded number of requests from the schema, valid
ones and deliberately invalid ones, sent with a real owner's token. Every answer must be no
server error, with a status code, a content type and a body that the schema documents.

Half of the generated ids are swapped for ids of real resources (an account, a draft post, a
token), so the checks reach past "404 no such post" into validation and state rules.

It runs on SQLite only: the point is the schema and the handlers, and the suite already runs
every API test on both databases.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from postwright.api.app import create_app
from postwright.runtime import Runtime
from postwright.services import accounts as account_service
from postwright.services import identity
from postwright.services import posts as post_service
from postwright.settings import Settings
from tests.support.factories import make_member

# examples per operation: valid requests, and deliberately invalid ones (those mostly stop at
# validation, so fewer of them find as much)
MAX_EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Real:
    """Ids of resources that exist, and the owner's token."""

    token: str
    ids: dict[str, str]  # path parameter name -> id


async def _seed(settings: Settings) -> Real:
    """A workspace with an owner, a sandbox account and a draft post (its own runtime: this
    event loop ends before Schemathesis drives the app in its own)."""
    runtime = Runtime.from_settings(settings)
    try:
        owner = await make_member(runtime, email="owner@example.com")
        principal = await identity.authenticate_bearer(runtime, owner.token)
        account = await account_service.create_account(
            runtime,
            principal,
            account_service.AccountCreate(platform="sandbox", handle="brand"),
        )
        post = await post_service.create_post(
            runtime,
            principal,
            post_service.PostCreate(
                text="hello", targets=[post_service.TargetIn(account_id=account.id)]
            ),
        )
        spare, _ = await identity.create_api_token(
            runtime,
            workspace_id=principal.workspace_id,
            user_id=principal.user_id,
            name="spare",  # for DELETE /tokens/{token_id}: not the token the run uses
            expires_at=None,
            actor_id=None,
        )
        spare_id = next(
            t.id
            for t in await identity.list_api_tokens(runtime, principal)
            if t.prefix == spare[:10]
        )
    finally:
        await runtime.close()
    return Real(
        token=owner.token,
        ids={
            "account_id": str(account.id),
            "post_id": str(post.post.id),
            "token_id": str(spare_id),
        },
    )


@pytest.fixture
def app_and_real(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Any, Real]]:
    path = tmp_path / "postwright.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{path}",
        secret_key="schemathesis-secret-key-0123456789abcdef",
        public_url="http://testserver",
    )
    real = asyncio.run(_seed(settings))
    runtime = Runtime.from_settings(settings)
    try:
        yield create_app(runtime), real
    finally:
        asyncio.run(runtime.close())


def _is_real(value: Any) -> bool:
    """Deterministically, about half of the generated ids."""
    try:
        return uuid.UUID(str(value)).int % 2 == 0
    except ValueError:
        return False


def _register_hooks(schema: Any, real: Real) -> None:
    # Schemathesis finds a hook by its function's name
    def map_path_parameters(context: Any, path_parameters: Any) -> Any:
        if not isinstance(path_parameters, dict):
            return path_parameters
        return {
            name: real.ids[name] if name in real.ids and _is_real(value) else value
            for name, value in path_parameters.items()
        }

    def map_body(context: Any, body: Any) -> Any:
        targets = body.get("targets") if isinstance(body, dict) else None
        if isinstance(targets, list):
            for target in targets:
                if isinstance(target, dict) and _is_real(target.get("account_id")):
                    target["account_id"] = real.ids["account_id"]
        return body

    schema.hook(map_path_parameters)
    schema.hook(map_body)


def _run(operation: Any, mode: GenerationMode, call: Callable[[Case[Any]], None]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES[mode],
        derandomize=True,  # the same examples on every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case[Any]) -> None:
        call(case)

    run()


def test_every_operation_conforms(app_and_real: tuple[Any, Real]) -> None:
    app, real = app_and_real
    schema: Any = schemathesis.openapi.from_asgi("/openapi.json", app)
    _register_hooks(schema, real)
    headers = {"Authorization": f"Bearer {real.token}"}

    def call(case: Case[Any]) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    # deletions last, so the real resources serve every other operation first
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda operation: operation.method.upper() == "DELETE",
    )
    assert len(operations) >= 20, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, call)
            except Unsatisfiable:
                # no parameters and no body: there is nothing to make invalid
                if mode is not GenerationMode.NEGATIVE:
                    raise
            # Schemathesis raises a FailureGroup (a BaseExceptionGroup): collect every
            # operation's failures, then report them all
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode.value}):\n{exc}")
    assert not failures, "\n\n".join(failures)
