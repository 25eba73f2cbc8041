"""One Settings object, read from HALAQA_* environment variables and an optional .env file."""

from __future__ import annotations

import contextlib
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from halaqa.db.engine import normalize_database_url
from halaqa.kit.crypto import SecretBox
from halaqa.kit.validation import ServerUrl

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/halaqa.db"
MIN_SECRET_KEY_LENGTH = 32


class WorkerMode(StrEnum):
    EMBEDDED = "embedded"  # the server process runs the worker loop too (SQLite default)
    EXTERNAL = "external"  # workers run as separate `halaqa worker` processes


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    TEXT = "text"  # one readable line per record
    JSON = "json"  # one JSON object per line, for log collectors


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HALAQA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="At least 32 characters. Keys the digests of tokens, API keys and invitations.",
    )
    secret_key_file: Path = Field(
        Path("var/secret_key"),
        description="Where a generated secret key is kept when secret_key is not set.",
    )
    previous_secret_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Server secrets used before the current one (JSON list): values sealed under "
        "them still open until `halaqa secrets rotate` seals them again.",
    )
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL of this server.")
    worker_mode: WorkerMode = WorkerMode.EMBEDDED
    worker_poll_seconds: float = Field(5.0, gt=0)
    demo_livekit_url: ServerUrl | None = Field(
        None,
        description="A LiveKit server for the demo academy (set before `halaqa demo load`); "
        "without one the demo meets by Jitsi links.",
    )
    demo_livekit_api_key: str | None = None
    demo_livekit_api_secret: SecretStr | None = None
    presence_poll_seconds: int = Field(
        60,
        ge=10,
        description="While a class runs on LiveKit, the worker asks who is in its room this often "
        "(presence webhooks can be late or lost).",
    )
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.TEXT
    metrics_token: SecretStr | None = Field(
        None,
        min_length=16,
        description="When set, GET /metrics asks for `Authorization: Bearer <token>`; "
        "open otherwise.",
    )

    token_ttl_hours: int = Field(24 * 14, gt=0, description="Lifetime of a login token.")
    invitation_ttl_hours: int = Field(24 * 7, gt=0)
    login_max_failures_per_account: int = Field(5, gt=0)
    login_max_failures_per_address: int = Field(20, gt=0)
    login_failure_window_minutes: int = Field(15, gt=0)
    max_body_bytes: int = Field(1_000_000, gt=0)
    webhook_answer_ms: int = Field(
        100,
        gt=0,
        description="How long a webhook waits for the database before it is kept on local disk "
        "instead (and moved into the database later), so LiveKit's per-room queue never waits.",
    )
    webhook_spool_dir: Path = Field(
        Path("var/webhook-spool"),
        description="Where webhooks are kept while the database is slow or down; local to each "
        "machine, emptied by its server processes.",
    )
    webhook_private_addresses: bool = Field(
        False,
        description="Let outbound webhooks reach private, loopback and reserved addresses (an "
        "academy's own network). Off, an academy's admin cannot make this server call, and "
        "show the answers of, what is reachable only from inside.",
    )

    smtp_host: str | None = Field(
        None, description="The mail server notifications are sent through; none: no email."
    )
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = Field(
        SmtpSecurity.STARTTLS,
        description="starttls (port 587), tls (implicit, port 465) or none (a local relay).",
    )
    mail_from: str = Field(
        "Halaqa <no-reply@localhost>", description="The sender of notification emails."
    )
    email_max_attempts: int = Field(
        6, ge=1, description="Tries before an email is marked failed (and can be re-sent)."
    )

    @model_validator(mode="after")
    def _demo_livekit_complete(self) -> Settings:
        given = [self.demo_livekit_url, self.demo_livekit_api_key, self.demo_livekit_api_secret]
        if any(v is not None for v in given) and any(v is None for v in given):
            raise ValueError("the demo's LiveKit needs its URL, API key and API secret together")
        return self

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret(self) -> bytes:
        """The server secret; generated once into `secret_key_file` when none is configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.secret_key_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            draft.write_text(secrets.token_urlsafe(48))
            draft.chmod(0o600)
            # link() fails if another process got there first; its key wins and ours is dropped.
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip().encode()

    def secret_box(self) -> SecretBox:
        return SecretBox(
            self.secret(), [s.get_secret_value().encode() for s in self.previous_secret_keys]
        )


@lru_cache
def get_settings() -> Settings:
    return Settings()
