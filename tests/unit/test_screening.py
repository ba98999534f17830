"""Public Service Map screening: questions, rules, the Rasa domain and the actions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.screening import ActionScreeningResult, ValidateScreening, describe_findings
from assistant.catalog import load_catalog
from assistant.config import PROJECT_DIR
from assistant.screening import (
    DISABLED,
    ELDERLY,
    MOTHERS_NEWBORNS,
    SCREENINGS,
    UNKNOWN,
    all_screening_slots,
)
from assistant.text_me import TEXT_ME_PAYLOAD, text_me_button

CATALOG = load_catalog()
DOMAIN = yaml.safe_load((PROJECT_DIR / "nlu" / "domain" / "screening.yml").read_text("utf-8"))


def _services(screening: Any, answers: dict[str, Any]) -> list[str]:
    return [f.service for f in screening.findings(answers)]


def test_every_finding_is_a_catalog_service() -> None:
    for screening in SCREENINGS.values():
        for answers in _answer_combinations(screening):
            for finding in screening.findings(answers):
                assert CATALOG.get(finding.service), finding


def _answer_combinations(screening: Any) -> list[dict[str, Any]]:
    combos: list[dict[str, Any]] = [{}]
    for question in screening.questions:
        values: list[Any] = (
            [True, False, UNKNOWN] if question.kind == "yes_no" else [0.5, 5, 20, 64, 70, UNKNOWN]
        )
        combos = [{**c, question.slot: v} for c in combos for v in values]
    return combos


def test_elderly_low_income_alone_gets_pension_and_care() -> None:
    found = ELDERLY.findings(
        {
            "age": 72,
            "low_income": True,
            "lives_alone": True,
            "needs_daily_help": False,
            "wants_work": False,
        }
    )
    services = [f.service for f in found]
    assert services[:2] == ["basic_pension", "elderly_care_service"]
    assert "long_term_care" not in services and "senior_jobs" not in services
    assert all(f.certain for f in found)


def test_elderly_unknown_income_keeps_the_pension_but_marks_it() -> None:
    found = {f.service: f for f in ELDERLY.findings({"age": 70, "low_income": UNKNOWN})}
    assert found["basic_pension"].certain is False


def test_a_younger_person_is_not_told_of_the_pension() -> None:
    services = _services(ELDERLY, {"age": 50, "low_income": True, "needs_daily_help": False})
    assert "basic_pension" not in services and "senior_jobs" not in services
    assert services[-1] == "welfare_consultation"


def test_elderly_questions_stop_early_for_the_young() -> None:
    assert ELDERLY.required_slots({"age": 40}) == ["age", "needs_daily_help"]
    assert ELDERLY.required_slots({"age": 70}) == ELDERLY.slots


def test_disabled_not_registered_skips_severity_and_starts_with_registration() -> None:
    assert "disability_severe" not in DISABLED.required_slots({"disability_registered": False})
    services = _services(
        DISABLED,
        {
            "disability_registered": False,
            "age": 35,
            "low_income": True,
            "needs_daily_help": True,
            "hearing_or_speech": True,
        },
    )
    assert services[0] == "disability_registration"
    assert "disability_activity_support" in services and "sign_language_relay" in services


def test_disabled_severe_low_income_adult_gets_the_pension_not_the_allowance() -> None:
    services = _services(
        DISABLED,
        {
            "disability_registered": True,
            "age": 45,
            "disability_severe": True,
            "low_income": True,
            "needs_daily_help": False,
            "hearing_or_speech": False,
        },
    )
    assert "disability_pension" in services and "disability_allowance" not in services
    assert "disability_registration" not in services


def test_mothers_before_birth_skip_baby_questions() -> None:
    assert MOTHERS_NEWBORNS.required_slots({"baby_born": False}) == ["baby_born", "low_income"]
    services = _services(MOTHERS_NEWBORNS, {"baby_born": False, "low_income": False})
    assert services[0] == "birth_report"


def test_mothers_with_a_two_year_old_no_longer_get_parent_benefit() -> None:
    services = _services(
        MOTHERS_NEWBORNS,
        {"baby_born": True, "baby_months": 30, "birth_reported": True, "low_income": False},
    )
    assert "parent_benefit" not in services and "first_meeting_voucher" not in services
    assert "child_allowance" in services and "birth_report" not in services


def test_domain_forms_match_the_screenings() -> None:
    forms = DOMAIN["forms"]
    assert set(forms) == {s.form for s in SCREENINGS.values()}
    # An action is a name, or {name: options}; a validation action reads the form's
    # slots from the domain, which Rasa sends only to actions that ask for it.
    actions = {
        name: options
        for entry in DOMAIN["actions"]
        for name, options in (entry.items() if isinstance(entry, dict) else [(entry, {})])
    }
    for screening in SCREENINGS.values():
        assert forms[screening.form]["required_slots"] == screening.slots
        assert actions[f"validate_{screening.form}"] == {"send_domain": True}
        for slot in screening.slots:
            assert f"utter_ask_{screening.form}_{slot}" in DOMAIN["responses"]
    for slot in all_screening_slots():
        mapping = DOMAIN["slots"][slot]["mappings"][0]
        assert mapping["type"] == "from_text"
        assert {"request_human", "start_over"} <= set(mapping["not_intent"])
        forms_using = {c["active_loop"] for c in mapping["conditions"]}
        assert forms_using == {s.form for s in SCREENINGS.values() if slot in s.slots}


def test_yes_no_questions_offer_yes_no_and_not_sure_buttons() -> None:
    for screening in SCREENINGS.values():
        for question in screening.questions:
            variations = DOMAIN["responses"][f"utter_ask_{screening.form}_{question.slot}"]
            for variation in variations:
                buttons = variation.get("buttons") or []
                assert (len(buttons) == 3) == (question.kind == "yes_no")


def _tracker(slots: dict[str, Any], text: str, language: str = "ko", events=None) -> Tracker:
    return Tracker(
        sender_id="test",
        slots={"language": language, **slots},
        latest_message={"text": text, "intent": {"name": "affirm"}, "metadata": {}},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": ELDERLY.form},
        latest_action_name="action_listen",
    )


def _validate(screening: Any, slots: dict[str, Any], text: str) -> tuple[list[Any], list[Any]]:
    tracker = _tracker(slots, text)
    # Rasa sends the just-extracted value as the latest SlotSet event.
    requested = next(s for s in screening.required_slots(slots) if slots.get(s) is None)
    tracker.events.append({"event": "slot", "name": requested, "value": text})
    tracker.slots[requested] = text
    dispatcher = CollectingDispatcher()
    domain = {"forms": {screening.form: {"required_slots": screening.slots}}}
    events = asyncio.run(ValidateScreening(screening).run(dispatcher, tracker, domain))
    return events, dispatcher.messages


def test_validation_reads_a_number_in_words() -> None:
    # With every question still to ask, Rasa's form picks the next one itself.
    events, messages = _validate(ELDERLY, {"age": None}, "일흔두 살이세요")
    assert events == [SlotSet("age", 72.0)]
    assert messages == []


def test_validation_asks_again_with_an_example_when_it_cannot_read() -> None:
    events, messages = _validate(ELDERLY, {"age": None}, "음 그게요")
    assert events == [SlotSet("age", None)]  # the form asks for the age again
    assert "72" in messages[0]["text"]


def test_validation_takes_not_sure_and_rejects_impossible_ages() -> None:
    events, _ = _validate(ELDERLY, {"age": 70}, "잘 모르겠어요")
    assert SlotSet("low_income", UNKNOWN) in events
    events, messages = _validate(ELDERLY, {"age": None}, "250")
    assert SlotSet("age", None) in events and messages


def test_validation_skips_severity_for_an_unregistered_disability() -> None:
    events, _ = _validate(DISABLED, {"disability_registered": False}, "35")
    assert SlotSet("requested_slot", "low_income") in events


def test_validation_ends_the_form_after_the_last_question() -> None:
    answers = {"baby_born": False}
    events, _ = _validate(MOTHERS_NEWBORNS, answers, "아니요")
    assert SlotSet("low_income", False) in events
    assert SlotSet("requested_slot", None) in events


@pytest.mark.parametrize(("short", "present"), [(True, False), (False, True)])
def test_result_is_names_and_where_on_sms_and_fuller_on_the_web(short: bool, present: bool) -> None:
    answers = {"age": 70, "low_income": True, "lives_alone": False, "needs_daily_help": False}
    findings = ELDERLY.findings(answers)
    text = describe_findings(ELDERLY, answers, findings, CATALOG, "ko", short=short)
    assert "1. 기초연금" in text and "행정복지센터" in text and "담당 기관" in text
    assert (CATALOG.services["basic_pension"].short.ko in text) is present


def test_result_action_uses_the_screening_that_just_ended() -> None:
    events = [{"event": "active_loop", "name": MOTHERS_NEWBORNS.form}, {"event": "active_loop"}]
    tracker = _tracker(
        {"baby_born": True, "baby_months": 2.0, "birth_reported": False, "low_income": False},
        "아니요",
        language="en",
        events=events,
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionScreeningResult(CATALOG).run(dispatcher, tracker, {}))
    message = dispatcher.messages[0]
    assert message["text"].splitlines()[1].startswith("1. Birth report")
    assert message["buttons"][0]["payload"] == "/service_birth_report"
    assert message["buttons"][-1] == text_me_button("en")  # a web chat: "Text it to me"


def test_a_result_on_sms_is_not_offered_by_text_again() -> None:
    answers = {"age": 70, "low_income": True, "lives_alone": False, "needs_daily_help": False}
    tracker = _tracker(answers, "아니요")
    tracker.latest_message["metadata"] = {"channel": "sms"}
    tracker.events.extend(
        [{"event": "active_loop", "name": ELDERLY.form}, {"event": "active_loop"}]
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionScreeningResult(CATALOG).run(dispatcher, tracker, {}))
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads and TEXT_ME_PAYLOAD not in payloads


def test_screening_domain_file_exists() -> None:
    assert Path(PROJECT_DIR / "nlu" / "data" / "screening.yml").exists()
