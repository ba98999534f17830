"""Present a Civil Service Package: the checklist one life event needs."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import current_language, offers_text_me, wants_short_form
from assistant.catalog import Catalog, Package
from assistant.catalog.nlu_export import intent_for, package_for_intent
from assistant.catalog.schema import Language
from assistant.text_me import text_me_button
from assistant.texts import say

_DEADLINE = {"ko": "기한", "en": "deadline"}


def describe_package(
    package: Package, catalog: Catalog, language: Language, short: bool = False
) -> str:
    """The checklist: each service in order, with its deadline and the event's note."""
    lines = [f"[{package.name.get(language)}]"]
    if not short:
        lines.append(package.summary.get(language))
    for number, step in enumerate(package.steps, 1):
        service = catalog.services[step.service]
        line = f"{number}. {service.name.get(language)}"
        if service.deadline is not None:
            deadline = service.deadline.describe(language)
            line += f" ({deadline})" if short else f" — {_DEADLINE[language]}: {deadline}"
        if step.note is not None and not short:
            line += f"\n   {step.note.get(language)}"
        lines.append(line)
    lines.append(say("choose_for_details", language))
    return "\n".join(lines)


class ActionPresentPackage(Action):
    """Answer a life event (moving, a birth, a death, turning 65, a new disability)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_present_package"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        intent = (tracker.latest_message or {}).get("intent") or {}
        package_id = package_for_intent(intent.get("name"))
        package = self._catalog.package(package_id) if package_id else None
        if package is None:
            dispatcher.utter_message(response="utter_offer_choices")
            return []
        text = describe_package(package, self._catalog, language, wants_short_form(tracker))
        buttons = [
            {
                "title": self._catalog.services[step.service].name.get(language),
                "payload": f"/{intent_for(step.service)}",
            }
            for step in package.steps
        ]
        if offers_text_me(tracker):
            buttons.append(text_me_button(language))
        dispatcher.utter_message(text=text, buttons=buttons)
        return [SlotSet("service", None)]
