"""Custom Rasa actions, run by rasa-sdk's executor inside the gateway.

Actions are pure functions of the tracker and the catalog: they never write to the
store. Anything with a side effect (a handoff request) goes back to the conversation
core as a custom payload, and the core records it.
"""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from assistant.actions.context import ActionReadMessageContext
from assistant.actions.dialogue import (
    ActionOfferChoices,
    ActionRepeat,
    ActionRequestHandoff,
    ActionResumeAssistant,
    ActionStartOver,
)
from assistant.actions.packages import ActionPresentPackage
from assistant.actions.screening import screening_actions
from assistant.actions.services import ActionAnswerService
from assistant.catalog import Catalog


def build_executor(catalog: Catalog) -> ActionExecutor:
    """An executor with every Sotong action registered."""
    executor = ActionExecutor()
    for action in (
        ActionReadMessageContext(),
        ActionAnswerService(catalog),
        ActionPresentPackage(catalog),
        ActionRequestHandoff(catalog),
        ActionResumeAssistant(catalog),
        ActionRepeat(),
        ActionStartOver(),
        ActionOfferChoices(catalog),
        *screening_actions(catalog),
    ):
        executor.register_action(action)
    return executor
