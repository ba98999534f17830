"""Records of phone calls: who called, in which conversation, how it went and ended.

Written by the voice channel (stream start and end) and by Twilio's call status
callbacks (``channels/voice/status.py``); erased per number by FORGET.
"""

from assistant.calls.base import CallStore
from assistant.calls.records import (
    STATUS_RANK,
    CallRecord,
    CallStatus,
    StreamClaim,
    parse_call_status,
)
from assistant.calls.sql import SqlCallStore

__all__ = [
    "STATUS_RANK",
    "CallRecord",
    "CallStatus",
    "CallStore",
    "SqlCallStore",
    "StreamClaim",
    "parse_call_status",
]
