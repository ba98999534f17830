"""Console accounts (staff, interpreters, admins), their web sessions and the audit log
of what they did with citizens' conversations."""

from assistant.accounts.base import AccountStore
from assistant.accounts.passwords import Passwords, PasswordsBusy
from assistant.accounts.records import (
    Account,
    AccountError,
    AccountExists,
    AuditEntry,
    Role,
    WebSession,
)
from assistant.accounts.sql import SqlAccountStore

__all__ = [
    "Account",
    "AccountError",
    "AccountExists",
    "AccountStore",
    "AuditEntry",
    "Passwords",
    "PasswordsBusy",
    "Role",
    "SqlAccountStore",
    "WebSession",
]
