"""The conversation store: a small base class and its SQL implementation."""

from assistant.store.base import ConversationStore, StoreError
from assistant.store.records import (
    Button,
    Conversation,
    HandoffRequest,
    Reply,
    Turn,
    TurnDirection,
    TurnStatus,
)
from assistant.store.sql import SqlConversationStore

__all__ = [
    "Button",
    "Conversation",
    "ConversationStore",
    "HandoffRequest",
    "Reply",
    "SqlConversationStore",
    "StoreError",
    "Turn",
    "TurnDirection",
    "TurnStatus",
]
