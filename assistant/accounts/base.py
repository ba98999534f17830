"""The account store's algorithm: who may sign in, their sessions, and the audit log.

Passwords are hashed with argon2id and never stored or returned in clear; a session
token is stored only as its SHA-256, so a copy of the database does not let anyone sign
in. Deactivating an account or changing its password ends its sessions at once.

Subclasses provide the storage primitives (the ``_``-prefixed methods), each one
statement, so several gateway processes can share one database.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from assistant.accounts.passwords import Passwords
from assistant.accounts.records import (
    Account,
    AccountError,
    AuditEntry,
    Role,
    WebSession,
    check_name,
    check_password,
    check_role,
    check_username,
)
from assistant.privacy import mask_rrn
from assistant.store.base import utcnow

DEFAULT_SESSION_HOURS = 12.0
MAX_AUDIT_LIMIT = 1000
_MAX_ACTION = 64
_MAX_CENTRE = 128
_MAX_REGION = 64  # as the interpreters table holds it


def token_hash(token: str) -> str:
    """What the store keeps of a session token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _masked(value: Any) -> Any:
    """``value`` with every string in it (nested too) passed through ``mask_rrn``."""
    if isinstance(value, str):
        return mask_rrn(value)
    if isinstance(value, Mapping):
        return {str(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _place(value: str | None, what: str, longest: int) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if len(cleaned) > longest:
        raise AccountError(f"a {what} is at most {longest} characters")
    return cleaned or None


class AccountStore(abc.ABC):
    """Console accounts (staff, interpreters, admins), web sessions and the audit log."""

    def __init__(
        self,
        clock: Callable[[], dt.datetime] = utcnow,
        passwords: Passwords | None = None,
    ) -> None:
        self._clock = clock
        self._passwords = passwords or Passwords()

    # ---- accounts ------------------------------------------------------------------
    async def create(
        self,
        username: str,
        password: str,
        name: str,
        role: Role | str,
        centre: str | None = None,
        region: str | None = None,
    ) -> Account:
        """A new active account; AccountExists if the username is taken, AccountError
        for an invalid value (username 3–64 of a–z 0–9 . _ -, password ≥ 12 chars)."""
        check_username(username)
        check_password(password)
        values: dict[str, Any] = {
            "username": username,
            "name": check_name(name),
            "role": check_role(role).value,
            "centre": _place(centre, "centre", _MAX_CENTRE),
            "region": _place(region, "region", _MAX_REGION),
            "active": True,
            "password_hash": await self._passwords.hash(password),
            "created_at": self._clock(),
        }
        values["updated_at"] = values["created_at"]
        return await self._insert_account(values)

    async def authenticate(self, username: str, password: str) -> Account | None:
        """The account if ``password`` is its password and it is active; else None.

        An unknown username spends one hash too, so timing does not tell whether it
        exists. A hash made with older parameters is replaced on success.
        """
        found = (
            await self._account_by_username(username)
            if isinstance(username, str) and len(username) <= 64
            else None
        )
        if found is None or not isinstance(password, str) or len(password) > 1024:
            await self._passwords.spend(password if isinstance(password, str) else "")
            return None
        account, stored_hash = found
        if not await self._passwords.verify(stored_hash, password):
            return None
        if not account.active:
            return None
        if self._passwords.needs_rehash(stored_hash):
            await self._update_account(
                account.username,
                {
                    "password_hash": await self._passwords.hash(password),
                    "updated_at": self._clock(),
                },
            )
        return account

    async def get(self, account_id: int) -> Account | None:
        """The account with this id, or None."""
        return await self._account_by_id(account_id)

    async def by_username(self, username: str) -> Account | None:
        """The account with this username, or None."""
        found = await self._account_by_username(username)
        return found[0] if found else None

    async def list_accounts(self) -> list[Account]:
        """Every account, active or not, by username."""
        return await self._list_accounts()

    async def set_active(self, username: str, active: bool) -> Account:
        """Enable or disable an account (AccountError if unknown); disabling ends every
        session it has."""
        if not await self._update_account(
            username, {"active": active, "updated_at": self._clock()}
        ):
            raise AccountError(f"no account {username!r}")
        account = await self._require(username)
        if not active:
            await self._delete_sessions_of(account.id)
        return account

    async def set_profile(
        self, username: str, *, name: str, centre: str | None, region: str | None
    ) -> Account:
        """Replace the name, centre and region (AccountError if unknown or invalid)."""
        values = {
            "name": check_name(name),
            "centre": _place(centre, "centre", _MAX_CENTRE),
            "region": _place(region, "region", _MAX_REGION),
            "updated_at": self._clock(),
        }
        if not await self._update_account(username, values):
            raise AccountError(f"no account {username!r}")
        return await self._require(username)

    async def set_password(self, username: str, password: str) -> Account:
        """Replace the password (AccountError if unknown or too short) and end every
        session of the account: whoever knew the old one is signed out."""
        check_password(password)
        new_hash = await self._passwords.hash(password)
        if not await self._update_account(
            username, {"password_hash": new_hash, "updated_at": self._clock()}
        ):
            raise AccountError(f"no account {username!r}")
        account = await self._require(username)
        await self._delete_sessions_of(account.id)
        return account

    # ---- second factor (accounts/totp.py) -------------------------------------------
    async def set_totp(self, username: str, nonce: str | None) -> Account:
        """Enrol the account in one-time codes under ``nonce`` (None: stop asking for
        them); AccountError if unknown. Ends every session: the next sign-in uses it."""
        if not await self._update_account(
            username, {"totp_nonce": nonce, "totp_last_step": None, "updated_at": self._clock()}
        ):
            raise AccountError(f"no account {username!r}")
        account = await self._require(username)
        await self._delete_sessions_of(account.id)
        return account

    async def totp_nonce(self, account: Account) -> str | None:
        """The account's enrolment nonce, or None if it signs in without codes."""
        return await self._totp_nonce(account.id)

    async def use_totp_step(self, account: Account, step: int) -> bool:
        """Record that a code of time step ``step`` signed the account in; False if a
        code of this step or a later one already did (a code works once)."""
        return await self._advance_totp_step(account.id, step)

    # ---- web sessions --------------------------------------------------------------
    async def start_session(
        self,
        account: Account,
        hours: float = DEFAULT_SESSION_HOURS,
        idle_minutes: float | None = None,
    ) -> WebSession:
        """Sign ``account`` in for ``hours``: a new random token (only its hash is kept)
        and a CSRF token for unsafe requests. With ``idle_minutes`` the session ends that
        long after sign-in unless ``keep_alive`` moves it on (never past ``hours``)."""
        if hours <= 0 or (idle_minutes is not None and idle_minutes <= 0):
            raise ValueError("a session lasts a positive time")
        now = self._clock()
        # Sessions that ran out are dropped here, so the table never grows without bound.
        await self._delete_expired_sessions(now)
        token = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        expires_at = now + dt.timedelta(hours=hours)
        if idle_minutes is not None:
            expires_at = min(expires_at, now + dt.timedelta(minutes=idle_minutes))
        await self._insert_session(
            {
                "token_hash": token_hash(token),
                "account_id": account.id,
                "csrf_token": csrf_token,
                "created_at": now,
                "expires_at": expires_at,
            }
        )
        return WebSession(
            token=token, csrf_token=csrf_token, account=account, expires_at=expires_at
        )

    async def session(self, token: str) -> WebSession | None:
        """The live session of this cookie value; None when unknown, expired, or its
        account is disabled."""
        if not token or len(token) > 256:
            return None
        found = await self._session(token_hash(token))
        if found is None:
            return None
        csrf_token, account, expires_at = found
        if expires_at <= self._clock() or not account.active:
            return None
        return WebSession(
            token=token, csrf_token=csrf_token, account=account, expires_at=expires_at
        )

    async def keep_alive(
        self, session: WebSession, hours: float, idle_minutes: float
    ) -> WebSession | None:
        """The person did something (review M5, L14): the session now ends
        ``idle_minutes`` from now, but never later than ``hours`` after sign-in. None if
        it has ended meanwhile."""
        key = token_hash(session.token)
        created_at = await self._session_created(key)
        now = self._clock()
        if created_at is None:
            return None
        expires_at = min(
            created_at + dt.timedelta(hours=hours), now + dt.timedelta(minutes=idle_minutes)
        )
        if expires_at <= now or not await self._extend_session(key, now, expires_at):
            return None
        return WebSession(
            token=session.token,
            csrf_token=session.csrf_token,
            account=session.account,
            expires_at=expires_at,
        )

    async def end_session(self, token: str) -> None:
        """Sign this browser out (nothing happens for an unknown token)."""
        if token:
            await self._delete_session(token_hash(token))

    # ---- audit ---------------------------------------------------------------------
    async def record_audit(
        self,
        actor: Account,
        action: str,
        conversation_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Write down that ``actor`` did ``action`` (e.g. "walkin.start"), on which
        conversation. Strings in ``detail`` are masked (resident registration numbers)."""
        if not action or len(action) > _MAX_ACTION:
            raise ValueError(f"an audit action is 1 to {_MAX_ACTION} characters")
        values: dict[str, Any] = {
            "at": self._clock(),
            "actor_id": actor.id,
            "actor_username": actor.username,
            "role": actor.role.value,
            "action": action,
            "conversation_id": conversation_id,
            "detail": _masked(dict(detail or {})),
        }
        return await self._insert_audit(values)

    async def audit_log(
        self,
        conversation_id: str | None = None,
        actor_id: int | None = None,
        action: str | None = None,
        limit: int = 200,
    ) -> list[AuditEntry]:
        """Audit entries matching every filter given, newest first, at most ``limit``."""
        limit = max(1, min(limit, MAX_AUDIT_LIMIT))
        return await self._audit_log(conversation_id, actor_id, action, limit)

    async def drop_audit_before(self, before: dt.datetime) -> int:
        """Retention: delete audit entries written before ``before``; how many."""
        return await self._delete_audit_before(before)

    # ---- health --------------------------------------------------------------------
    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise StoreError unless the store answers and its schema is current."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    async def _require(self, username: str) -> Account:
        found = await self._account_by_username(username)
        if found is None:
            raise AccountError(f"no account {username!r}")
        return found[0]

    # ---- primitives ----------------------------------------------------------------
    @abc.abstractmethod
    async def _insert_account(self, values: dict[str, Any]) -> Account:
        """Insert an account row; AccountExists if the username is taken."""

    @abc.abstractmethod
    async def _account_by_username(self, username: str) -> tuple[Account, str] | None:
        """The account and its password hash, or None."""

    @abc.abstractmethod
    async def _account_by_id(self, account_id: int) -> Account | None:
        """The account, or None."""

    @abc.abstractmethod
    async def _list_accounts(self) -> list[Account]:
        """Every account by username."""

    @abc.abstractmethod
    async def _update_account(self, username: str, values: dict[str, Any]) -> bool:
        """Set columns of the account; False if there is no such account."""

    @abc.abstractmethod
    async def _totp_nonce(self, account_id: int) -> str | None:
        """The account's TOTP enrolment nonce, or None."""

    @abc.abstractmethod
    async def _advance_totp_step(self, account_id: int, step: int) -> bool:
        """Set the last TOTP step to ``step`` if the account is enrolled and its last
        step is older, in one statement; whether it was set."""

    @abc.abstractmethod
    async def _insert_session(self, values: dict[str, Any]) -> None:
        """Insert a session row."""

    @abc.abstractmethod
    async def _session(self, token_hash: str) -> tuple[str, Account, dt.datetime] | None:
        """CSRF token, account and expiry of the session, or None."""

    @abc.abstractmethod
    async def _session_created(self, token_hash: str) -> dt.datetime | None:
        """When the session was signed in, or None if there is no such session."""

    @abc.abstractmethod
    async def _extend_session(
        self, token_hash: str, now: dt.datetime, expires_at: dt.datetime
    ) -> bool:
        """Set the session's expiry to ``expires_at`` if it has not expired by ``now``
        (one statement); whether it was set."""

    @abc.abstractmethod
    async def _delete_session(self, token_hash: str) -> None:
        """Delete one session."""

    @abc.abstractmethod
    async def _delete_sessions_of(self, account_id: int) -> int:
        """Delete every session of the account; how many."""

    @abc.abstractmethod
    async def _delete_expired_sessions(self, now: dt.datetime) -> int:
        """Delete sessions that expired at or before ``now``; how many."""

    @abc.abstractmethod
    async def _insert_audit(self, values: dict[str, Any]) -> AuditEntry:
        """Insert an audit entry."""

    @abc.abstractmethod
    async def _audit_log(
        self, conversation_id: str | None, actor_id: int | None, action: str | None, limit: int
    ) -> list[AuditEntry]:
        """Matching entries, newest first."""

    @abc.abstractmethod
    async def _delete_audit_before(self, before: dt.datetime) -> int:
        """Delete audit entries with ``at`` before ``before``; how many."""
