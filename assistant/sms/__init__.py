"""Per-number SMS state: opt-out, "더보기"/MORE pages, rate limit, MessageSid idempotency."""

from assistant.sms.base import SmsStateStore
from assistant.sms.records import (
    Claim,
    ClaimTimeout,
    MessageRecord,
    MessageStatus,
    NumberState,
    RateDecision,
)
from assistant.sms.sql import SqlSmsStateStore

__all__ = [
    "Claim",
    "ClaimTimeout",
    "MessageRecord",
    "MessageStatus",
    "NumberState",
    "RateDecision",
    "SmsStateStore",
    "SqlSmsStateStore",
]
