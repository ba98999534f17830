"""Plain records of console accounts, their web sessions and the audit log.

Rows never leave the store; a password hash never leaves it either (``Account`` has
no field for it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

USERNAME_PATTERN: Final = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD_LENGTH: Final = 12
# argon2 hashes any length, but a megabyte "password" is only a way to burn CPU.
MAX_PASSWORD_LENGTH: Final = 1024
MAX_NAME_LENGTH: Final = 128


class Role(StrEnum):
    """What a console account may do."""

    STAFF = "staff"  # community-centre staff: walk-ins at the desk, handoff sessions
    INTERPRETER = "interpreter"  # KSL interpreters: handoff sessions
    ADMIN = "admin"  # figures and accounts, no citizen sessions


class AccountError(ValueError):
    """An account value is invalid (username, password, name, role) or unknown."""


class AccountExists(AccountError):
    """Another account already has this username."""


@dataclass(frozen=True)
class Account:
    """A person who signs in to a console."""

    id: int
    username: str
    name: str
    role: Role
    centre: str | None
    region: str | None
    active: bool
    created_at: dt.datetime
    totp: bool = False  # signs in with a one-time code too (accounts/totp.py)


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: ``token`` is the cookie's value (the store keeps only its
    SHA-256), ``csrf_token`` what unsafe requests must echo in a header."""

    token: str
    csrf_token: str
    account: Account
    expires_at: dt.datetime


@dataclass(frozen=True)
class AuditEntry:
    """One thing a person did with a citizen's data (or with their own session)."""

    id: int
    at: dt.datetime
    actor_id: int
    actor_username: str
    role: Role
    action: str
    conversation_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)


def check_username(username: str) -> str:
    """``username`` if it is 3–64 of a–z, 0–9, ``.``, ``_``, ``-``; else AccountError."""
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "a username is 3 to 64 characters: lower-case letters a-z, digits, '.', '_' or '-'"
        )
    return username


def check_password(password: str) -> str:
    """``password`` if it is 12 to 1024 characters; else AccountError."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


def check_name(name: str) -> str:
    """``name`` stripped, if it is 1–128 characters; else AccountError."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH:
        raise AccountError(f"a name is 1 to {MAX_NAME_LENGTH} characters")
    return cleaned


def check_role(role: str) -> Role:
    """``role`` as a Role; else AccountError naming the roles."""
    try:
        return Role(role)
    except ValueError:
        raise AccountError(
            f"role must be one of {', '.join(r.value for r in Role)}, not {role!r}"
        ) from None
