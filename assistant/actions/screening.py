"""Public Service Map screening in the dialogue: start, read each answer, show the result.

The questions are Rasa forms (``nlu/domain/screening.yml``) whose slots take the
citizen's words as they are (``from_text``); :class:`ValidateScreening` reads them as
yes/no, numbers or "I don't know", and asks again kindly when it cannot. What the answers
mean lives in :mod:`assistant.screening`.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import current_language, offers_text_me, wants_short_form
from assistant.catalog import Catalog
from assistant.catalog.nlu_export import intent_for
from assistant.catalog.schema import Language, Localized
from assistant.screening import (
    SCREENINGS,
    UNKNOWN,
    AnswerKind,
    Finding,
    Screening,
    all_screening_slots,
    screening_for_form,
)
from assistant.spoken_answers import (
    is_dont_know,
    parse_age_in_months,
    parse_number,
    parse_yes_no,
)
from assistant.text_me import text_me_button

SCREEN_INTENT_PREFIX = "screen_"

# Ages and months outside these ranges are misheard or mistyped, not real answers.
_RANGES: dict[AnswerKind, tuple[float, float]] = {"number": (0, 120), "months": (0, 240)}

# Channel names for "how to apply" in the short result, in the order citizens prefer.
CHANNEL_NAMES: dict[str, Localized] = {
    "community_centre": Localized(ko="행정복지센터", en="community centre"),
    "gov24": Localized(ko="정부24", en="Gov24"),
    "online_other": Localized(ko="복지로 등 누리집", en="official website"),
    "mobile": Localized(ko="휴대전화", en="mobile app"),
    "phone": Localized(ko="전화", en="phone"),
    "agency_office": Localized(ko="담당 기관", en="agency office"),
    "hospital": Localized(ko="병원", en="hospital"),
    "post": Localized(ko="우편", en="post"),
    "kiosk": Localized(ko="무인발급기", en="kiosk"),
    "proxy": Localized(ko="가족 대리 신청", en="family can apply"),
}

TEXTS: dict[str, Localized] = {
    "intro": Localized(
        ko='몇 가지만 여쭤볼게요. 모르시면 "모름"이라고 하셔도 됩니다.',
        en='I will ask a few short questions. You can say "not sure".',
    ),
    "retry_yes_no": Localized(
        ko='죄송해요, 잘 못 알아들었어요. "네" 또는 "아니요"로 답해 주세요.',
        en='Sorry, I did not catch that. Please answer "yes" or "no".',
    ),
    "retry_number": Localized(
        ko='죄송해요, 숫자를 못 알아들었어요. 예를 들어 "72"나 "일흔두 살"처럼 말씀해 주세요.',
        en='Sorry, I did not catch the number. Please say it like "72".',
    ),
    "retry_months": Localized(
        ko='죄송해요, 잘 못 알아들었어요. "3개월"이나 "두 돌"처럼 말씀해 주세요.',
        en='Sorry, I did not catch that. Please say it like "3 months".',
    ),
    "found": Localized(
        ko="답해 주셔서 고맙습니다. 받을 수 있는 서비스입니다.",
        en="Thank you for your answers. These services may fit you.",
    ),
    "before_birth": Localized(
        ko="아기가 태어나면 이 순서로 신청하세요.",
        en="After the birth, apply in this order.",
    ),
    "check": Localized(ko="조건 확인 필요", en="check the conditions"),
    "apply": Localized(ko="신청", en="Apply"),
    "decides": Localized(
        ko="받을 수 있는지는 담당 기관이 정합니다. 번호를 고르시면 자세히 알려 드립니다.",
        en="The agency makes the final decision. Choose a number for the details.",
    ),
}


def _read(kind: AnswerKind, text: str) -> Any:
    """The answer in ``text``, UNKNOWN, or None when it cannot be read."""
    if is_dont_know(text):
        return UNKNOWN
    if kind == "yes_no":
        return parse_yes_no(text)
    value = parse_number(text) if kind == "number" else parse_age_in_months(text)
    low, high = _RANGES[kind]
    if value is None or not low <= value <= high:
        return None
    return value


def _answers(screening: Screening, tracker: Tracker) -> dict[str, Any]:
    return {slot: tracker.get_slot(slot) for slot in screening.slots}


class ValidateScreening(FormValidationAction):
    """Read each answer of one screening form; choose the next question."""

    def __init__(self, screening: Screening) -> None:
        self._screening = screening

    def name(self) -> str:
        return f"validate_{self._screening.form}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        return self._screening.required_slots(_answers(self._screening, tracker))

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = []
        for slot, value in tracker.slots_to_validate().items():
            if slot not in self._screening.slots or not isinstance(value, str):
                continue  # already read (a bool, a number or UNKNOWN)
            kind = self._screening.question(slot).kind
            answer = _read(kind, value)
            if answer is None:
                # Ask the same question again, with an example of an answer that works.
                dispatcher.utter_message(text=TEXTS[f"retry_{kind}"].get(current_language(tracker)))
            events.append(SlotSet(slot, answer))
            tracker.slots[slot] = answer
        return events


class ActionStartScreening(Action):
    """Forget earlier screening answers and say what is about to happen."""

    def name(self) -> str:
        return "action_start_screening"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text=TEXTS["intro"].get(current_language(tracker)))
        return [SlotSet(slot, None) for slot in all_screening_slots()]


def _last_screening(tracker: Tracker) -> Screening | None:
    """The screening whose form just ended: the latest action (the rules run the result
    right after the form), else the latest loop in the events Rasa sent (recent turns
    only, nlu/action_window.py)."""
    ended = screening_for_form(tracker.latest_action_name)
    if ended is not None:
        return ended
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return screening_for_form(event["name"])
    return None


def describe_findings(
    screening: Screening,
    answers: dict[str, Any],
    findings: list[Finding],
    catalog: Catalog,
    language: Language,
    short: bool,
) -> str:
    """The result: each service, with how to apply, and who decides."""
    before_birth = screening.group == "mothers_newborns" and answers.get("baby_born") is False
    lines = [TEXTS["before_birth" if before_birth else "found"].get(language)]
    for number, finding in enumerate(findings, 1):
        service = catalog.services[finding.service]
        line = f"{number}. {service.name.get(language)}"
        if not finding.certain:
            line += f" ({TEXTS['check'].get(language)})"
        where = ", ".join(CHANNEL_NAMES[c].get(language) for c in service.channels[:2])
        if short:
            line += f" - {where}"
        else:
            line += (
                f"\n   {service.short.get(language)}\n   {TEXTS['apply'].get(language)}: {where}"
            )
        lines.append(line)
    lines.append(TEXTS["decides"].get(language))
    return "\n".join(lines)


class ActionScreeningResult(Action):
    """After the last question: the services that may fit and how to apply."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_screening_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        screening = _last_screening(tracker)
        if screening is None:
            dispatcher.utter_message(response="utter_offer_choices")
            return []
        language = current_language(tracker)
        answers = _answers(screening, tracker)
        findings = [
            f for f in screening.findings(answers) if self._catalog.get(f.service) is not None
        ]
        text = describe_findings(
            screening, answers, findings, self._catalog, language, wants_short_form(tracker)
        )
        buttons = [
            {
                "title": self._catalog.services[f.service].name.get(language),
                "payload": f"/{intent_for(f.service)}",
            }
            for f in findings
        ]
        if offers_text_me(tracker):
            buttons.append(text_me_button(language))
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


def screening_actions(catalog: Catalog) -> list[Action]:
    """Every screening action, for the executor."""
    validators: list[Action] = [ValidateScreening(s) for s in SCREENINGS.values()]
    return [*validators, ActionStartScreening(), ActionScreeningResult(catalog)]
