"""The handoff queue: requests for a person, and the interpreters and staff who take them.

Requests are the rows ``ConversationStore.request_handoff`` writes; this package moves
them through waiting → offered → accepted → in_session → resolved | abandoned | expired
and guarantees at the database that no two interpreters take the same request.
"""

from assistant.handoff.base import HandoffQueue
from assistant.handoff.records import (
    SKILL_KSL,
    SKILL_PERSON,
    Interpreter,
    Outcome,
    QueueEntry,
    QueueState,
    skill_for_reason,
)
from assistant.handoff.sql import SqlHandoffQueue

__all__ = [
    "SKILL_KSL",
    "SKILL_PERSON",
    "HandoffQueue",
    "Interpreter",
    "Outcome",
    "QueueEntry",
    "QueueState",
    "SqlHandoffQueue",
    "skill_for_reason",
]
