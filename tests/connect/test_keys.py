"""The key ring (POSTWRIGHT_SECRET_KEY + POSTWRIGHT_PREVIOUS_SECRET_KEYS) and `postwright keys
rotate`: every sealed value re-encrypted under the current key, idempotent, counted."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from postwright.auth.keyring import key_ring, rotate_keys
from postwright.auth.secretbox import SecretBox, SecretBoxError
from postwright.cli_ops import ops_app
from postwright.domain.platforms import Platform
from postwright.runtime import Runtime
from postwright.services.connect import open_authorization
from postwright.settings import Settings, get_settings
from postwright.store import sealed
from postwright.store.tables import accounts, oauth_states
from tests.support.account_flows import owner, principal_of, save_account
from tests.support.factories import Member

__all__ = ["owner"]  # fixtures

OLD = "the-old-secret-key-0123456789-abcdefghijklmnop"
NEW = "the-new-secret-key-9876543210-zyxwvutsrqponmlk"
LOST = "a-key-nobody-kept-any-more-0123456789-abcdefgh"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key=OLD)


def test_the_ring_puts_the_current_key_first() -> None:
    settings = Settings.model_validate({"previous_secret_keys": f"{OLD}, {NEW} ,{OLD},"})
    assert key_ring(NEW, settings) == [NEW, OLD]
    assert key_ring(OLD, Settings()) == [OLD]


def test_the_previous_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTWRIGHT_PREVIOUS_SECRET_KEYS", f"{OLD},{LOST}")
    settings = Settings()
    assert [k.get_secret_value() for k in settings.previous_secret_keys] == [OLD, LOST]
    assert OLD not in repr(settings), "keys never show in a repr (logs, tracebacks)"


async def _seed(rt: Runtime, owner: Member) -> tuple[list[uuid.UUID], str]:
    """Two accounts and a pending authorization, sealed under the runtime's current key."""
    ids = [
        await save_account(
            rt,
            owner,
            Platform.X,
            external_id=str(n),
            credentials={"access_token": f"token-{n}", "refresh_token": f"refresh-{n}"},
            expires_in_s=7200,
        )
        for n in (1, 2)
    ]
    pending = await open_authorization(
        rt,
        principal_of(owner),
        Platform.MASTODON,
        code_verifier="the-verifier",
        extra={"instance": "https://mastodon.example"},
        secrets_={"client_secret": "the-client-secret"},
    )
    return ids, pending.state


async def _key_ids(rt: Runtime) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    async with rt.db.read() as conn:
        for column in sealed.registered():
            values = (await conn.execute(select(column.value))).scalars().all()
            found[column.name] = sorted(
                str(rt.secretbox.key_id_of(v)) for v in values if v is not None
            )
    return found


async def test_rotation_reencrypts_everything_once(
    runtime: Runtime, owner: Member, settings: Settings
) -> None:
    ids, state = await _seed(runtime, owner)
    old_id = runtime.secretbox.current_key_id
    # one value sealed under a key nobody configured any more
    async with runtime.db.write() as conn:
        await conn.execute(
            accounts.update()
            .where(accounts.c.id == ids[1])
            .values(credentials=SecretBox([LOST]).seal({"access_token": "lost"}))
        )
    rotated_settings = Settings.model_validate(
        {**settings.model_dump(), "secret_key": NEW, "previous_secret_keys": OLD}
    )
    new_rt = Runtime.from_settings(rotated_settings)
    try:
        new_id = new_rt.secretbox.current_key_id
        assert new_id != old_id
        report = await rotate_keys(new_rt)
        assert report.key_id == new_id
        counts = report.as_dict()["columns"]
        assert counts["accounts.credentials"] == {
            "rotated": 1,
            "current": 0,
            "unreadable": 1,
            "changed_meanwhile": 0,
        }
        assert counts["oauth_states.code_verifier"]["rotated"] == 1
        assert counts["oauth_states.sealed_extra"]["rotated"] == 1
        assert report.rotated == 3
        assert report.unreadable == 1

        ids_now = await _key_ids(new_rt)
        lost_id = SecretBox([LOST]).current_key_id
        assert ids_now["accounts.credentials"] == sorted([new_id, lost_id])
        assert ids_now["oauth_states.code_verifier"] == [new_id]
        assert ids_now["oauth_states.sealed_extra"] == [new_id]

        again = await rotate_keys(new_rt)
        assert again.rotated == 0
        assert again.columns["accounts.credentials"].current == 1

        # the old key can go: the new key alone opens everything that was readable
        only_new = SecretBox([NEW])
        async with new_rt.db.read() as conn:
            creds = (
                await conn.execute(select(accounts.c.credentials).where(accounts.c.id == ids[0]))
            ).scalar_one()
            row = (await conn.execute(select(oauth_states).where(oauth_states.c.id == state))).one()
        assert only_new.open(creds) == {"access_token": "token-1", "refresh_token": "refresh-1"}
        assert only_new.open(row.code_verifier) == {"v": "the-verifier"}
        assert only_new.open(row.sealed_extra) == {"client_secret": "the-client-secret"}
        with pytest.raises(SecretBoxError):
            SecretBox([OLD]).open(creds)
    finally:
        await new_rt.close()


async def test_a_value_changed_meanwhile_is_left_to_its_writer(runtime: Runtime) -> None:
    column = next(c for c in sealed.registered() if c.name == "accounts.credentials")
    async with runtime.db.write() as conn:
        assert not await sealed.replace_sealed(
            conn, column, key=uuid.uuid4(), old="v1.x.y", new="v1.z.w"
        )


def _cli(settings: Settings, *args: str, previous: str | None) -> tuple[int, str]:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("POSTWRIGHT_")}
    env.update(
        POSTWRIGHT_DATA_DIR=str(settings.data_dir),
        POSTWRIGHT_DATABASE_URL=settings.resolved_database_url,
        POSTWRIGHT_SECRET_KEY=NEW,
        COLUMNS="200",
    )
    if previous is not None:
        env["POSTWRIGHT_PREVIOUS_SECRET_KEYS"] = previous
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(ops_app, list(args), env=env)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.stdout + (result.stderr or "")


async def test_the_keys_rotate_command(runtime: Runtime, owner: Member, settings: Settings) -> None:
    import asyncio

    await _seed(runtime, owner)
    await runtime.close()  # the command runs its own runtime (and event loop)

    def run(previous: str | None) -> tuple[int, str]:
        return _cli(settings, "keys", "rotate", previous=previous)

    code, out = await asyncio.to_thread(run, None)
    assert code == 1, out
    assert "4 secret(s) open with none of the configured keys" in out
    assert "POSTWRIGHT_PREVIOUS_SECRET_KEYS" in out

    code, out = await asyncio.to_thread(run, OLD)
    assert code == 0, out
    assert "re-encrypted 4 secret(s)" in out
    assert "accounts.credentials" in out
    assert OLD not in out
    assert NEW not in out

    code, out = await asyncio.to_thread(run, OLD)
    assert code == 0, out
    assert "re-encrypted 0 secret(s)" in out
