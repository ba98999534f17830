"""Easy read: a service's answer as short steps, one per message, each with a pictogram.

The setting travels as the conversation's accessibility in every message's metadata
(PATCH /api/webchat/sessions/{id}); the actions read it there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.services import ActionAnswerService, easy_read_steps
from assistant.catalog import load_catalog
from assistant.plain_language import MAX_KO_SENTENCE_CHARS, sentences

CATALOG = load_catalog()
COPY = "resident_registration_copy"


def _tracker(metadata: dict[str, Any], language: str = "ko") -> Tracker:
    return Tracker(
        sender_id="test",
        slots={"language": language, "service": COPY},
        latest_message={
            "text": "등본",
            "intent": {"name": "ask_service", "confidence": 0.99},
            "entities": [{"entity": "service", "value": COPY}],
            "metadata": metadata,
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _answer(metadata: dict[str, Any], language: str = "ko") -> list[str]:
    dispatcher = CollectingDispatcher()
    action = ActionAnswerService(CATALOG)
    asyncio.run(action.run(dispatcher, _tracker(metadata, language), {}))
    return [m["text"] for m in dispatcher.messages]


def test_easy_read_gives_one_step_per_message_with_a_pictogram() -> None:
    steps = _answer({"channel": "webchat", "accessibility": {"easy_read": True}})
    assert len(steps) >= 7
    assert steps[0].startswith("📄 주민등록표 등본·초본 발급\n")
    assert [s.split(" ", 1)[0] for s in steps[1:]] == ["🙋", "🧾", "💰", "🏢", "⏳", "🤝"]
    # The accessibility note is the last step (issue 20).
    note = CATALOG.get(COPY).accessibility.ko  # type: ignore[union-attr]
    assert steps[-1] == f"🤝 도움을 받는 방법: {note}"
    assert steps[2].startswith("🧾 준비할 것:\n- 신분증")  # documents one per line


def test_without_easy_read_the_answer_is_one_full_message() -> None:
    service = CATALOG.get(COPY)
    assert service is not None and service.accessibility is not None
    (full,) = _answer({"channel": "webchat", "accessibility": {}})
    assert full.startswith("[주민등록표 등본·초본 발급]")
    assert full.endswith(f"\n도움을 받는 방법: {service.accessibility.ko}")
    # SMS and voice: the short form, then the note's first sentence (issue 20).
    (short,) = _answer({"channel": "sms"})
    assert short == f"{service.short.ko} 주민센터에서 직원이 발급을 도와드립니다."
    assert service.accessibility.ko.startswith("주민센터에서 직원이 발급을 도와드립니다. ")


def test_easy_read_in_english_and_every_service_fits_the_sentence_rule() -> None:
    steps = _answer({"accessibility": {"easy_read": True}}, language="en")
    assert steps[1].startswith("🙋 Who can apply: ")
    for service in CATALOG:
        for language in ("ko", "en"):
            for step in easy_read_steps(service, language):
                assert step.split(" ", 1)[0] in {"📄", "📅", "🙋", "🧾", "💰", "🏢", "⏳", "🤝"}
    # The catalog's own sentences already pass the plain-language lint; steps add only
    # a pictogram and a label in front of them.
    assert all(
        len(s) <= MAX_KO_SENTENCE_CHARS + 12
        for step in easy_read_steps(CATALOG.get(COPY), "ko")  # type: ignore[arg-type]
        for s in sentences(step)
    )


def test_every_short_answer_ends_with_its_accessibility_notes_first_sentence() -> None:
    from assistant.actions.services import answer_for_channel, first_sentence

    for service in CATALOG:
        assert service.accessibility is not None, service.id  # every service has one
        for language in ("ko", "en"):
            note = service.accessibility.get(language)
            sentence = first_sentence(note)
            assert sentence and sentence[-1] in ".?!" and note.startswith(sentence)
            short = answer_for_channel(service, language, short=True)
            assert short == f"{service.short.get(language)} {sentence}", service.id
            assert "\n" not in short  # one paragraph, as before
