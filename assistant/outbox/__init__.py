"""The SMS outbox: messages the gateway sends on its own, stored first, sent by a worker.

Handoff updates, interpreter text, reminders and answers to messages kept while the
dialogue was down all go through ``Outbox.send_sms``.
"""

from assistant.outbox.base import OutboxError, OutboxStore
from assistant.outbox.records import OutboxMessage, OutboxStatus
from assistant.outbox.sender import (
    SendError,
    SendOutcome,
    SmsSender,
    TwilioCredentials,
    TwilioSmsSender,
)
from assistant.outbox.service import Outbox, OutboxPolicy, RoundReport, Texter, split_for_sms
from assistant.outbox.sql import SqlOutboxStore

__all__ = [
    "Outbox",
    "OutboxError",
    "OutboxMessage",
    "OutboxPolicy",
    "OutboxStatus",
    "OutboxStore",
    "RoundReport",
    "SendError",
    "SendOutcome",
    "SmsSender",
    "SqlOutboxStore",
    "Texter",
    "TwilioCredentials",
    "TwilioSmsSender",
    "split_for_sms",
]
