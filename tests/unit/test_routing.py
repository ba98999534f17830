"""The evaluation's picture of the dialogue (assistant/actions/routing.py) matches the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.actions.routing import (
    ANSWER_ACTION,
    CHOICES_ACTION,
    HANDOFF_ACTION,
    action_for_intent,
    answered_services,
    asks_for_sign_language,
)
from assistant.catalog import Catalog, load_catalog
from assistant.config import PROJECT_DIR

RULE_FILES = [
    PROJECT_DIR / "nlu" / "data" / "rules.yml",
    PROJECT_DIR / "nlu" / "data" / "catalog_rules.yml",
]
ROUTED = {ANSWER_ACTION, CHOICES_ACTION, HANDOFF_ACTION}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def first_actions(path: Path) -> dict[str, str]:
    """intent → the action a rule runs right after it (rules that start with an intent)."""
    found: dict[str, str] = {}
    for rule in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules") or []:
        steps = rule.get("steps") or []
        if len(steps) >= 2 and "intent" in steps[0] and "action" in steps[1]:
            if not rule.get("condition"):
                found[steps[0]["intent"]] = steps[1]["action"]
    return found


def test_the_routing_table_matches_the_rules(catalog: Catalog) -> None:
    rules: dict[str, str] = {}
    for path in RULE_FILES:
        rules.update(first_actions(path))
    routed_by_rules = {intent: action for intent, action in rules.items() if action in ROUTED}
    assert routed_by_rules, "no rule runs a service-answering action"
    for intent, action in routed_by_rules.items():
        assert action_for_intent(intent) == action, intent
    for intent in rules:
        if action_for_intent(intent) is not None:
            assert rules[intent] == action_for_intent(intent), intent


def parse(intent: str, text: str, *named: str) -> dict[str, Any]:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": 0.8},
        "entities": [{"entity": "service", "value": v} for v in named],
    }


def test_a_greeting_that_names_a_service_is_not_an_answer(catalog: Catalog) -> None:
    assert (
        answered_services(parse("greet", "안녕하세요 등본", "resident_registration_copy"), catalog)
        == []
    )


def test_a_hesitation_with_a_name_is_answered(catalog: Catalog) -> None:
    found = answered_services(
        parse("nlu_fallback", "등본 되나", "resident_registration_copy"), catalog
    )
    assert found == ["resident_registration_copy"]


def test_asking_for_sign_language_also_answers_the_relay_service(catalog: Catalog) -> None:
    assert answered_services(parse("request_human", "수어 통역 불러 주세요"), catalog) == [
        "sign_language_relay"
    ]
    assert answered_services(parse("request_human", "상담원 연결"), catalog) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("수어 통역", True),
        ("수화로 얘기하고 싶어요", True),
        ("I need a sign language interpreter", True),
        ("sign-language please", True),
        ("where do I sign the form", False),
        ("I want to sign up", False),
        ("signature certificate", False),
    ],
)
def test_sign_language_requests_are_recognised(text: str, expected: bool) -> None:
    assert asks_for_sign_language(text) is expected
