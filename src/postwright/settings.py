"""Settings from `POSTWRIGHT_*` environment variables, read once per process (`get_settings()`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="POSTWRIGHT_", env_ignore_empty=True, extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("postwright-data"),
        description="Where the SQLite file, media and generated keys live.",
    )
    database_url: str | None = Field(
        default=None,
        description="sqlite:///path or postgresql://user@host:port/db; default: SQLite file.",
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions and tokens; generated into data_dir when unset."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address at which people and platforms reach postwright.",
    )
    log_level: str = "info"
    log_json: bool = False

    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600

    # password guessing: failed logins per account (email) and per client address
    login_account_max_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins for one email within login_window_s before it is locked.",
    )
    login_client_max_failures: int = Field(
        default=20,
        ge=1,
        description="Failed logins from one client address (IPv6: one /64) within "
        "login_window_s, whatever the emails, before that client is refused.",
    )
    login_window_s: int = Field(
        default=15 * 60, ge=1, description="The window in which failed logins are counted."
    )
    login_lockout_s: int = Field(
        default=15 * 60,
        ge=1,
        description="How long a locked email or client is refused, even the right password.",
    )

    default_plan: str = "unlimited"
    plans: str | None = Field(default=None, description="JSON object of plans over the defaults.")

    media_max_bytes: int = 512 * 1024 * 1024
    media_allow_private_urls: bool = Field(
        default=False,
        description="Let POST /media {url} fetch from private, loopback and link-local addresses.",
    )
    media_fetch_timeout_s: float = 30.0

    # engine
    worker_concurrency: int = 64
    claim_ahead_ms: int = 1500
    claim_batch: int = 200
    lease_s: float = 30.0
    poll_interval_s: float = 1.0
    publish_timeout_s: float = 30.0
    retry_max_attempts: int = 6
    retry_base_delay_s: float = 5.0
    retry_max_delay_s: float = 3600.0
    retention_days: int = 30
    processing_budget_s: float = Field(
        default=7200.0,
        description="How long a platform may keep processing a delivery's media (a video), "
        "counted from the first time it said it was still processing; then the delivery fails.",
    )
    reconcile_settle_s: float = Field(
        default=10.0,
        description="How long after an uncertain outcome to look for the post on the platform.",
    )
    catch_up_overdue_s: float = Field(
        default=60.0, description="A delivery later than this when claimed counts as overdue."
    )
    catch_up_spacing_s: float = Field(
        default=60.0, description="Spread policy: time between overdue posts of one account."
    )
    catch_up_skip_after_min: int = 60
    publish_lead_ms: int = Field(
        default=30, description="Commit `publishing` this long before the due instant."
    )
    sandbox_url: str = Field(
        default="http://127.0.0.1:8001", description="The emulator, for sandbox accounts."
    )
    platform_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Base URL per platform, e.g. {"x": "http://127.0.0.1:8001"}, to point '
        "adapters at the emulator; unset platforms use their real API.",
    )
    linkedin_version: str | None = Field(
        default=None,
        pattern=r"^\d{6}$",
        description="The LinkedIn-Version (YYYYMM) the LinkedIn adapter sends; default: the "
        "adapter's own. LinkedIn retires each version about a year after its release.",
    )

    # accounts: secrets, token lifecycle, connect flows
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated older secret keys: sealed values made under them still "
        "open, until `postwright keys rotate` re-encrypts everything under secret_key.",
    )
    token_expiry_warning_days: int = Field(
        default=7,
        ge=0,
        description="Mark an account `expiring` this many days before a token that cannot be "
        "refreshed (LinkedIn without partner refresh tokens) runs out.",
    )
    token_refresh_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Time limit of one call to a platform's token endpoint (the account's "
        "refresh lock is held meanwhile).",
    )
    connect_allow_http_localhost: bool = Field(
        default=False,
        description="Let connect flows use http:// instance and PDS URLs on 127.0.0.1 and "
        "localhost (tests, the emulator); otherwise they must be public https URLs.",
    )

    # -- connecting accounts (OAuth 2.0 clients; see services/connect.py) --------------------
    x_client_id: str | None = Field(default=None, description="X OAuth 2.0 client id.")
    x_client_secret: SecretStr | None = Field(default=None, description="X client secret.")
    reddit_client_id: str | None = Field(default=None, description="Reddit app client id.")
    reddit_client_secret: SecretStr | None = None
    reddit_user_agent: str = Field(
        default="postwright/0.1 (self-hosted scheduler)",
        description="The User-Agent Reddit asks every client to send.",
    )
    linkedin_client_id: str | None = Field(default=None, description="LinkedIn app client id.")
    linkedin_client_secret: SecretStr | None = None
    linkedin_organizations: bool = Field(
        default=False,
        description="Also ask for `w_organization_social` and offer the pages a member "
        "administers (needs LinkedIn's Community Management API).",
    )
    facebook_client_id: str | None = Field(default=None, description="Meta app id.")
    facebook_client_secret: SecretStr | None = Field(default=None, description="Meta app secret.")
    instagram_client_id: str | None = Field(
        default=None, description="Instagram app id (Instagram Login; from the Meta app)."
    )
    instagram_client_secret: SecretStr | None = None
    threads_client_id: str | None = Field(default=None, description="Threads app id.")
    threads_client_secret: SecretStr | None = None
    oauth_urls: dict[str, str] = Field(
        default_factory=dict,
        description='Overrides of OAuth endpoints by "<platform>.<endpoint>", e.g. '
        '{"x.authorize": "...", "x.token": "..."}, to point connect flows at the emulator.',
    )
    connect_state_ttl_s: int = Field(
        default=600, description="How long an authorization link stays valid."
    )

    def oauth_redirect_url(self, platform: str) -> str:
        """Where a platform sends people back after they authorize postwright."""
        return f"{self.public_url}/api/v1/oauth/{platform}/callback"

    def oauth_url(self, platform: str, endpoint: str, default: str) -> str:
        """An OAuth endpoint of `platform`: the `oauth_urls` override, else `default`."""
        return self.oauth_urls.get(f"{platform}.{endpoint}", default).rstrip("/")

    @field_validator("public_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'postwright.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once into the data directory (mode 0600)."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48))
        return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
