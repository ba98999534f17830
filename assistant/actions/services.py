"""Answer a civil-service question from the catalog."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.context import (
    current_channel,
    current_language,
    wants_easy_read,
    wants_short_form,
)
from assistant.actions.detail_choice import detail_button
from assistant.actions.mention_roles import is_condition, is_refusal
from assistant.catalog import Catalog, Service
from assistant.catalog.nlu_export import service_for_intent
from assistant.catalog.schema import Language

_LABELS: dict[str, dict[Language, str]] = {
    "who": {"ko": "신청할 수 있는 분", "en": "Who can apply"},
    "documents": {"ko": "준비할 것", "en": "What to bring"},
    "fee": {"ko": "비용", "en": "Cost"},
    "how": {"ko": "신청 방법", "en": "How to apply"},
    "time": {"ko": "걸리는 시간", "en": "How long it takes"},
    "deadline": {"ko": "기한", "en": "Deadline"},
    # The same heading as the desk's printed summary (consoles/summary.py).
    "help": {"ko": "도움을 받는 방법", "en": "If you need help"},
}


def describe_service(service: Service, language: Language) -> str:
    """A plain-language answer: what it is, who, what to bring, cost, how, how long."""

    def label(key: str) -> str:
        return _LABELS[key][language]

    lines = [f"[{service.name.get(language)}]", service.summary.get(language)]
    if service.deadline is not None:
        lines.append(f"{label('deadline')}: {service.deadline.describe(language)}")
    lines.append(f"{label('who')}: {service.who_can_apply.get(language)}")
    lines.append(f"{label('documents')}: " + ", ".join(service.documents.get(language)))
    lines.append(f"{label('fee')}: {service.cost(language)}")
    lines.append(f"{label('how')}: {service.how_to_apply.get(language)}")
    lines.append(f"{label('time')}: {service.processing_time.get(language)}")
    if service.accessibility is not None:  # "a family member can apply for you" and such
        lines.append(f"{label('help')}: {service.accessibility.get(language)}")
    return "\n".join(lines)


def first_sentence(text: str) -> str:
    """The first sentence of a note (up to its full stop, question or exclamation mark)."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


# A name in the message usually decides; but "출생신고랑 같이 지원금 신청" names the birth
# report while asking for the childbirth one-stop service. A very confident classifier
# that chose a *related* service (same life event or same target group) overrides a
# single name. Unrelated overrides are refused: a classifier can be overconfident on
# stray tokens (DIET once sent "기초연금 선정기준액 2024" to the 107 relay service at 0.94).
INTENT_OVERRIDES_NAME = 0.9


def related_services(first: Service, second: Service) -> bool:
    """True when two services share a life event or a specific target group."""
    if set(first.life_events) & set(second.life_events):
        return True
    return bool((set(first.target_groups) & set(second.target_groups)) - {"everyone"})


def services_in_message(parse: dict[str, Any], catalog: Catalog) -> list[str]:
    """Service ids a parsed message asks about, most certain first.

    A name the citizen refuses ("등본 말고") is never answered; a name that only
    describes them ("기초연금수급자", "생계급여 받으시다가") gives way to the service the
    classifier chose (assistant/actions/mention_roles.py).
    """
    text = str(parse.get("text") or "")
    mentions = _service_mentions(parse, catalog, text)
    # A service named twice counts by its plainest mention ("인감증명서 말고 본인서명
    # 사실확인서" names one service twice, refusing only one of its names).
    found = list(dict.fromkeys(m.service for m in mentions if not m.refused))
    refused = _refused(mentions)
    conditions = set(found) - {m.service for m in mentions if not m.condition and not m.refused}
    intent = parse.get("intent") or {}
    classified = service_for_intent(intent.get("name"))
    if classified in refused:
        classified = _next_choice(parse, refused)
    if classified is None or catalog.get(classified) is None:
        if not found:
            if refused:
                return []
            # The classifier named no service: a misspelt or oddly spaced name is the
            # best clue left ("차 명의변경", "주민등록쯩"). It never overrides a
            # classified service: near matches are wrong more often than the classifier.
            near = catalog.name_matcher.best(text)
            return [near] if near else []
        return found
    if not found:
        return [classified]
    if classified in found:
        # Several names ("보건소 임산부 등록", "수급자가 사망했을 때 장례비"): the one the
        # classifier chose, reading the whole message, is what is asked; the rest follow.
        return [classified, *(f for f in found if f != classified)]
    asked = [f for f in found if f not in conditions]
    if not asked:
        # Every name describes the citizen: what they ask is the classifier's service.
        return [classified]
    confident = float(intent.get("confidence") or 0.0) >= INTENT_OVERRIDES_NAME
    if len(asked) == 1 and confident:
        mentioned, chosen = catalog.get(asked[0]), catalog.get(classified)
        if mentioned is not None and chosen is not None and related_services(mentioned, chosen):
            return [classified]
    return asked


def refused_in_message(parse: dict[str, Any], catalog: Catalog) -> set[str]:
    """Services the message names only to refuse them ("등본 말고 다른 서류")."""
    return _refused(_service_mentions(parse, catalog, str(parse.get("text") or "")))


@dataclass(frozen=True)
class _Mention:
    service: str
    condition: bool
    refused: bool


def _service_mentions(parse: dict[str, Any], catalog: Catalog, text: str) -> list[_Mention]:
    """The catalog services named in the message (the lookup table's entities), in order."""
    mentions = []
    for entity in parse.get("entities") or []:
        value = str(entity.get("value"))
        if entity.get("entity") != "service" or catalog.get(value) is None:
            continue
        start, end = entity.get("start"), entity.get("end")
        spanned = isinstance(start, int) and isinstance(end, int) and text
        mentions.append(
            _Mention(
                value,
                condition=bool(spanned) and is_condition(text, start, end),
                refused=bool(spanned) and is_refusal(text, end),
            )
        )
    return mentions


def _refused(mentions: list[_Mention]) -> set[str]:
    return {m.service for m in mentions} - {m.service for m in mentions if not m.refused}


# A refused service the classifier chose gives way to its next choice, if that one is
# at least as sure as the fallback threshold (nlu/config.yml) would want.
_NEXT_CHOICE_MIN_CONFIDENCE = 0.3


def _next_choice(parse: dict[str, Any], refused: set[str]) -> str | None:
    for entry in parse.get("intent_ranking") or []:
        service_id = service_for_intent(entry.get("name"))
        if service_id is None or service_id in refused:
            continue
        if float(entry.get("confidence") or 0.0) >= _NEXT_CHOICE_MIN_CONFIDENCE:
            return service_id
        return None
    return None


# Easy read: a pictogram opens each step, so a reader who reads little can find it again.
# The pictogram is followed by a space; pages may hide it from screen readers.
_PICTOGRAMS: dict[str, str] = {
    "what": "📄",
    "deadline": "📅",
    "who": "🙋",
    "documents": "🧾",
    "fee": "💰",
    "how": "🏢",
    "time": "⏳",
    "help": "🤝",
}


def easy_read_steps(service: Service, language: Language) -> list[str]:
    """The answer as easy-read steps, one per message: what it is, then each part with
    its pictogram and label; documents one per line."""
    name = service.name.get(language)
    steps = [f"{_PICTOGRAMS['what']} {name}\n{service.summary.get(language)}"]
    parts: list[tuple[str, str]] = []
    if service.deadline is not None:
        parts.append(("deadline", service.deadline.describe(language)))
    parts += [
        ("who", service.who_can_apply.get(language)),
        ("documents", "\n".join(f"- {d}" for d in service.documents.get(language))),
        ("fee", service.cost(language)),
        ("how", service.how_to_apply.get(language)),
        ("time", service.processing_time.get(language)),
    ]
    if service.accessibility is not None:
        parts.append(("help", service.accessibility.get(language)))
    for key, text in parts:
        separator = "\n" if key == "documents" else " "
        steps.append(f"{_PICTOGRAMS[key]} {_LABELS[key][language]}:{separator}{text}")
    return steps


def answer_for_channel(
    service: Service, language: Language, short: bool, with_note: bool = True
) -> str:
    """The short form on SMS and voice, the full description elsewhere. The short form
    ends with the first sentence of the service's accessibility note (who can apply for
    you, how to reach it without speaking), in the same paragraph (issue 20), unless
    ``with_note`` is False (an aside that must not push more urgent lines to a second
    SMS page)."""
    if short:
        if service.accessibility is None or not with_note:
            return service.short.get(language)
        return (
            f"{service.short.get(language)} {first_sentence(service.accessibility.get(language))}"
        )
    return describe_service(service, language)


def utter_services(
    dispatcher: CollectingDispatcher,
    catalog: Catalog,
    service_ids: list[str],
    language: Language,
    short: bool,
    easy_read: bool = False,
    channel: str | None = None,
) -> list[EventType]:
    """Answer each known service in order; the last one becomes the ``service`` slot.

    Easy read (a web chat setting) wins over the short form: one step per message. A
    short form on ``channel`` (SMS, the phone) offers the full answer after the last
    service ("자세히"; assistant/actions/details.py).
    """
    answered = [s for s in (catalog.get(i) for i in service_ids) if s is not None]
    for service in answered:
        if easy_read:
            for step in easy_read_steps(service, language):
                dispatcher.utter_message(text=step)
            continue
        text = answer_for_channel(service, language, short)
        if short and channel is not None and service is answered[-1]:
            dispatcher.utter_message(text=text, buttons=[detail_button(service, channel, language)])
        else:
            dispatcher.utter_message(text=text)
    return [SlotSet("service", answered[-1].id)] if answered else []


class ActionAnswerService(Action):
    """Answer about the service in the ``service`` slot, or ask which one is meant."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def name(self) -> str:
        return "action_answer_service"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = current_language(tracker)
        short = wants_short_form(tracker)
        parse = tracker.latest_message or {}
        known = services_in_message(parse, self._catalog)
        earlier = tracker.get_slot("service")
        if not known and isinstance(earlier, str):
            # "and how much is it?" after an answer; but not "등본 말고" after 등본.
            if earlier not in refused_in_message(parse, self._catalog):
                known = [earlier]
        events = utter_services(
            dispatcher,
            self._catalog,
            known,
            language,
            short,
            wants_easy_read(tracker),
            current_channel(tracker),
        )
        if not events:
            dispatcher.utter_message(response="utter_ask_which_service")
            return [SlotSet("service", None)] if tracker.get_slot("service") else []
        return events
