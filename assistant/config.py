"""Typed settings, read from the environment (pydantic-settings).

Checked at start-up: outside development, a missing or placeholder secret refuses to
start, with one message naming every bad value.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent

Environment = Literal["development", "test", "production"]

_PLACEHOLDER = re.compile(
    r"^(|changeme|change[-_ ]?me|placeholder|todo|tbd|secret|password|test|dummy|example"
    r"|x+|your[-_ ].*|<.*>|\$\{.*\}|AC[x]+|.*xxxx.*)$",
    re.IGNORECASE,
)


class SettingsError(RuntimeError):
    """Settings are unusable; the message lists every problem."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every setting of the gateway. Names are the environment variables."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Environment = Field("development", validation_alias=_env("SOTONG_ENV"))
    host: str = Field("127.0.0.1", validation_alias=_env("SOTONG_HOST"))
    port: int = Field(8000, validation_alias=_env("SOTONG_PORT"))
    public_url: str | None = Field(None, validation_alias=_env("SOTONG_PUBLIC_URL"))
    var_dir: Path = Field(PROJECT_DIR / "var", validation_alias=_env("SOTONG_VAR_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("SOTONG_DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("SOTONG_REDIS_URL"))
    auto_migrate: bool = Field(True, validation_alias=_env("SOTONG_AUTO_MIGRATE"))

    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_phone_number: str | None = Field(None, validation_alias=_env("TWILIO_PHONE_NUMBER"))

    rasa_url: str = Field("http://127.0.0.1:5005", validation_alias=_env("SOTONG_RASA_URL"))
    rasa_token: SecretStr | None = Field(None, validation_alias=_env("SOTONG_RASA_TOKEN"))
    rasa_timeout_seconds: float = Field(
        15.0, gt=0, validation_alias=_env("SOTONG_RASA_TIMEOUT_SECONDS")
    )
    actions_token: SecretStr | None = Field(None, validation_alias=_env("SOTONG_ACTIONS_TOKEN"))

    max_body_bytes: int = Field(64 * 1024, gt=0, validation_alias=_env("SOTONG_MAX_BODY_BYTES"))
    # Rasa posts the whole tracker and domain to the action webhook; it grows with a
    # conversation, so that one route gets a larger cap.
    max_action_body_bytes: int = Field(
        8 * 1024 * 1024, gt=0, validation_alias=_env("SOTONG_MAX_ACTION_BODY_BYTES")
    )
    pending_retry_seconds: float = Field(
        3.0, gt=0, validation_alias=_env("SOTONG_PENDING_RETRY_SECONDS")
    )
    log_json: bool = Field(False, validation_alias=_env("SOTONG_LOG_JSON"))

    @cached_property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL of the store (a SQLite file under var/ by default)."""
        url = self.database_url or f"sqlite:///{self.var_dir / 'sotong.db'}"
        return to_async_url(url)

    def problems(self) -> list[str]:
        """Every missing or placeholder value that forbids running in this environment."""
        problems: list[str] = []
        if self.env == "development":
            return problems
        required: dict[str, str | None] = {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": _secret(self.twilio_auth_token),
            "TWILIO_PHONE_NUMBER": self.twilio_phone_number,
            "SOTONG_PUBLIC_URL": self.public_url,
            "SOTONG_RASA_TOKEN": _secret(self.rasa_token),
            "SOTONG_ACTIONS_TOKEN": _secret(self.actions_token),
        }
        for name, value in required.items():
            if value is None or not value.strip():
                problems.append(f"{name} is missing")
            elif _PLACEHOLDER.match(value.strip()):
                problems.append(f"{name} is a placeholder ({_redact(name, value)!r})")
        sid = self.twilio_account_sid
        if sid and not _PLACEHOLDER.match(sid) and not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
            problems.append("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
        phone = self.twilio_phone_number
        if phone and not _PLACEHOLDER.match(phone) and not re.fullmatch(r"\+[1-9]\d{6,14}", phone):
            problems.append("TWILIO_PHONE_NUMBER must be in E.164 form, e.g. +821012345678")
        url = self.public_url
        if url and not _PLACEHOLDER.match(url) and not url.startswith("https://"):
            problems.append("SOTONG_PUBLIC_URL must be an https:// URL (Twilio signs it)")
        return problems

    def check(self) -> None:
        """Raise SettingsError naming every bad value (nothing is raised in development)."""
        problems = self.problems()
        if problems:
            raise SettingsError(
                f"Sotong refuses to start with SOTONG_ENV={self.env}; fix these settings:\n  - "
                + "\n  - ".join(problems)
            )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _redact(name: str, value: str) -> str:
    if "TOKEN" in name or "SECRET" in name or "PASSWORD" in name:
        return value[:2] + "…" if len(value) > 2 else "…"
    return value


def to_async_url(url: str) -> str:
    """Map a plain database URL to the async driver the gateway uses."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def to_sync_url(url: str) -> str:
    """The synchronous twin of an async URL (for Alembic)."""
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url.removeprefix("sqlite+aiosqlite:")
    return url
