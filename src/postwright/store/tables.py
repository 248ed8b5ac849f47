"""Every table of postwright. Tenant-owned rows carry `workspace_id` so the schema can be
sharded by workspace later without redesign."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)

from postwright.store.types import JSONType, NullableJSONType, UTCDateTime

__all__ = [
    "accounts",
    "api_tokens",
    "attempts",
    "audit_log",
    "campaigns",
    "deliveries",
    "engine_controls",
    "login_throttles",
    "media",
    "memberships",
    "metadata",
    "oauth_states",
    "periodic_jobs",
    "posts",
    "rate_buckets",
    "refresh_tokens",
    "users",
    "workers",
    "workspaces",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _workspace_fk() -> Column[object]:
    return Column(
        "workspace_id", Uuid, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created_at() -> Column[object]:
    return Column("created_at", UTCDateTime, nullable=False)


workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("plan", String(50), nullable=False),
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("paused", Boolean, nullable=False, server_default=text("false")),
    # what to do with deliveries found overdue after an outage: spread | all | skip
    Column("catch_up_policy", String(20), nullable=False, server_default="spread"),
    Column("catch_up_skip_after_min", Integer, nullable=True),
    _created_at(),
)

users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", String(200), nullable=False, server_default=""),
    Column("password_hash", String(200), nullable=True),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "workspace_id",
        Uuid,
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(20), nullable=False),
    _created_at(),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("prefix", String(16), nullable=False),  # shown in lists so people can tell them apart
    _created_at(),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),  # set when used (rotation) or logged out
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("platform", String(20), nullable=False),
    Column("handle", String(300), nullable=False),
    Column("display_name", String(300), nullable=False, server_default=""),
    Column("external_id", String(300), nullable=True),  # the platform's id for the profile
    Column("status", String(20), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("options", JSONType, nullable=False),
    Column("credentials", Text, nullable=True),  # encrypted; never plaintext
    Column("token_expires_at", UTCDateTime, nullable=True),
    _created_at(),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Index(
        "uq_accounts_live_handle",
        "workspace_id",
        "platform",
        "handle",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("color", String(20), nullable=True),
    Column("starts_on", UTCDateTime, nullable=True),
    Column("ends_on", UTCDateTime, nullable=True),
    _created_at(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

media = Table(
    "media",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("kind", String(20), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("duration_s", Float, nullable=True),
    Column("checksum_sha256", String(64), nullable=False),
    Column("alt_text", Text, nullable=True),
    Column("filename", String(300), nullable=False),
    Column("storage_path", String(1000), nullable=False),
    Column("source_url", Text, nullable=True),
    _created_at(),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("author_id", Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("text", Text, nullable=False),
    Column("media_ids", JSONType, nullable=False),
    Column("status", String(30), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("local_time", String(32), nullable=True),
    Column("priority", Integer, nullable=False),
    Column("campaign_id", Uuid, ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True),
    Column("notes", Text, nullable=True),
    Column("approval_required", Boolean, nullable=False),
    Column("recurrence", Text, nullable=True),
    Column("recurrence_skips", JSONType, nullable=False),  # occurrence instants skipped alone
    # the targets as written ([{account_id, text, options}]): a series' template for the
    # occurrences still to come, apart from any one occurrence edited alone
    Column("targets", JSONType, nullable=False, server_default="[]"),
    Column("materialized_until", UTCDateTime, nullable=True),
    Column("review_note", Text, nullable=True),
    _created_at(),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime, nullable=True),
    Index("ix_posts_workspace_scheduled", "workspace_id", "scheduled_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("post_id", Uuid, ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    # the time the person asked for; `due_at` is when the engine next acts (retries, deferrals)
    Column("scheduled_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("priority", Integer, nullable=False),
    Column("text", Text, nullable=True),  # per-target override of the post's text
    Column("options", JSONType, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("idempotency_key", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=True),  # of the content actually sent
    Column("external_id", String(300), nullable=True),
    Column("permalink", Text, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("error_class", String(30), nullable=True),
    Column("hold_reason", Text, nullable=True),  # why it waits (rule, rate limit, account health)
    Column("occurrence_at", UTCDateTime, nullable=True),  # recurring series: which occurrence
    Column("publishing_started_at", UTCDateTime, nullable=True),
    Column("published_at", UTCDateTime, nullable=True),
    # media the platform is still processing: {"since", "state"} (see engine.outcomes)
    Column("resume", NullableJSONType, nullable=True),
    _created_at(),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("post_id", "account_id", "occurrence_at"),
    # claims scan only the rows the engine may take next, in due order
    Index(
        "ix_deliveries_due",
        "due_at",
        sqlite_where=text("state IN ('scheduled', 'retry_wait')"),
        postgresql_where=text("state IN ('scheduled', 'retry_wait')"),
    ),
    Index(
        "ix_deliveries_leased",
        "lease_expires_at",
        sqlite_where=text("state IN ('claimed', 'publishing')"),
        postgresql_where=text("state IN ('claimed', 'publishing')"),
    ),
    Index("ix_deliveries_post", "post_id"),
    Index("ix_deliveries_account_published", "account_id", "published_at"),
    Index("ix_deliveries_workspace_state", "workspace_id", "state"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("delivery_id", Uuid, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("worker_id", String(100), nullable=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("error_class", String(30), nullable=True),
    Column("http_status", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("latency_ms", Float, nullable=True),  # platform call started minus due time
    Column("execution_time_ms", Float, nullable=True),  # duration of the platform call
    Index("ix_attempts_delivery", "delivery_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Uuid, primary_key=True),
    _workspace_fk(),
    Column("actor_id", Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("action", String(100), nullable=False),
    Column("target_type", String(50), nullable=False),
    Column("target_id", String(100), nullable=True),
    Column("details", JSONType, nullable=False),
    _created_at(),
    Index("ix_audit_log_workspace_created", "workspace_id", "created_at"),
)

# -- engine bookkeeping (not tenant-owned) ---------------------------------------------------

workers = Table(
    "workers",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("hostname", String(300), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)

periodic_jobs = Table(
    "periodic_jobs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("interval_s", Float, nullable=False),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_started_at", UTCDateTime, nullable=True),
    Column("last_finished_at", UTCDateTime, nullable=True),
    Column("last_outcome", String(20), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_result", JSONType, nullable=True),
    Column("next_run_at", UTCDateTime, nullable=False),
)

rate_buckets = Table(
    "rate_buckets",
    metadata,
    # e.g. "account:<uuid>" or "platform:x"
    Column("key", String(200), primary_key=True),
    Column("workspace_id", Uuid, nullable=True),
    Column("limit_count", Integer, nullable=True),
    Column("remaining", Integer, nullable=True),
    Column("reset_at", UTCDateTime, nullable=True),
    Column("blocked_until", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

engine_controls = Table(
    "engine_controls",
    metadata,
    # "paused:global" or "paused:platform:<name>" -> value
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# -- logins (not tenant-owned: a guesser may not name a real user) ----------------------------

login_throttles = Table(
    "login_throttles",
    metadata,
    # "account:<hmac of the email>" or "client:<address or IPv6 /64>"
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("blocked_until", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_login_throttles_updated_at", "updated_at"),
)

# -- connecting accounts ---------------------------------------------------------------------

oauth_states = Table(
    "oauth_states",
    metadata,
    # the OAuth `state` value itself (32 random bytes, urlsafe base64), or the id of a pending
    # choice among several accounts one authorization yielded (the Pages of a Facebook user)
    Column("id", String(64), primary_key=True),
    _workspace_fk(),
    Column("user_id", Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("kind", String(20), nullable=False),  # authorize | choose
    Column("code_verifier", Text, nullable=True),  # sealed with the secretbox (PKCE)
    Column("redirect_uri", Text, nullable=False),
    Column("extra", JSONType, nullable=False),  # nothing secret: instance, variant, choices
    Column("sealed_extra", Text, nullable=True),  # sealed: client secrets, page tokens
    _created_at(),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),  # single use: set when consumed
    Index("ix_oauth_states_expires_at", "expires_at"),
)
