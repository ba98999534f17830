"""Custom Rasa actions, run by rasa-sdk's executor inside the gateway.

Actions are pure functions of the tracker and the catalog: they never write to the
store. Anything with a side effect (a handoff request) goes back to the conversation
core as a custom payload, and the core records it.
"""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from assistant.actions.details import ActionAnswerDetail
from assistant.actions.dialogue import (
    ActionOfferChoices,
    ActionRepeat,
    ActionRequestHandoff,
    ActionResumeAssistant,
    ActionStartOver,
)
from assistant.actions.offers import ActionOfferReminders
from assistant.actions.packages import ActionPresentPackage
from assistant.actions.screening import screening_actions
from assistant.actions.services import ActionAnswerService
from assistant.catalog import Catalog


def build_executor(catalog: Catalog, sms_number: str | None = None) -> ActionExecutor:
    """An executor with every Sotong action registered. ``sms_number``: the number
    citizens text (for the reminders offer), None where SMS is not set up."""
    executor = ActionExecutor()
    for action in (
        ActionAnswerService(catalog),
        ActionAnswerDetail(catalog),
        ActionPresentPackage(catalog),
        ActionOfferReminders(sms_number),
        ActionRequestHandoff(catalog),
        ActionResumeAssistant(catalog),
        ActionRepeat(),
        ActionStartOver(),
        ActionOfferChoices(catalog),
        *screening_actions(catalog),
    ):
        executor.register_action(action)
    return executor
