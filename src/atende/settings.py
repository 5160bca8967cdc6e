"""Settings from `ATENDE_*` environment variables and an optional `.env` (contract.md)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ATENDE_", env_file=".env", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_VAR_DIR / 'atende.db'}"
    redis_url: str | None = None
    # Derives the key that encrypts provider secrets at rest. Unset: a random key is created once
    # in var/secret.key (readable by its owner only), so no installation shares a known key.
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    media_dir: Path = DEFAULT_VAR_DIR / "media"
    timezone: str = "America/Sao_Paulo"
    language: str = "pt_BR"
    # Webhook bodies above this size are refused with 413 before parsing.
    max_webhook_bytes: int = 2 * 1024 * 1024
    # Group commit: webhooks arriving within this window share one transaction.
    ingest_batch_max: int = 500
    ingest_batch_wait_ms: float = 2.0
    # Job worker.
    worker_concurrency: int = 8
    job_lease_s: int = 60
    job_poll_s: float = 1.0
    # Routing engine.
    auto_assign: bool = True
    # Defaults of every team's timers (a team may set its own): durable per-conversation jobs.
    auto_release_after_s: int = 15 * 60  # taken but unanswered → back to the queue (0 = off)
    auto_close_after_s: int = 24 * 60 * 60  # open with no activity → concluded (0 = off)
    # An online agent with no live connection (no workspace tab open) this long becomes away (0 = off).
    auto_away_after_s: int = 10 * 60
    sweep_interval_s: int = 30
    session_max_age_s: int = 60 * 60 * 12
    login_attempts_per_minute: int = 10  # per account; then back-off doubles up to login_backoff_max_s
    login_attempts_per_ip_per_minute: int = 30
    login_backoff_max_s: int = 15 * 60
    # Session cookies carry `Secure` when public_url is https; this forces it (TLS ended by a proxy
    # that talks http to us, say).
    cookie_secure: bool = False
    # Provider base_url must be https; plain http to this machine (loopback, *.localhost, *.test)
    # only with this on: tests and sandboxes.
    allow_http_loopback_providers: bool = False
    # Messages each user may queue (0 = no limit): a stolen account cannot message thousands.
    send_quota_per_hour: int = 500
    send_quota_per_day: int = 3000
    # Items (messages + statuses) one webhook request may carry per connector; more → 413.
    webhook_max_items: int = 1000
    # Status reports for messages not known yet are kept this long for late matching.
    parked_status_ttl_s: int = 48 * 60 * 60
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"  # json: one object per line, for log shippers
    run_migrations_on_start: bool = True
    extra_origins: list[str] = Field(default_factory=list)

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        path = DEFAULT_VAR_DIR / "secret.key"
        if not path.exists():
            from atende.db.engine import private_dir

            private_dir(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or self.public_url.lower().startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
