"""Which service a parsed message asks about: a name in it versus the classifier."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.actions.services import services_in_message
from assistant.catalog import Catalog, load_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def parse(intent: str, confidence: float, *named: str) -> dict[str, Any]:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "entities": [{"entity": "service", "value": value} for value in named],
    }


def test_the_classifier_decides_when_no_service_is_named(catalog: Catalog) -> None:
    assert services_in_message(parse("service_passport", 0.5), catalog) == ["passport"]


def test_a_name_decides_over_an_unsure_classifier(catalog: Catalog) -> None:
    found = services_in_message(parse("service_passport", 0.6, "basic_pension"), catalog)
    assert found == ["basic_pension"]


def test_a_confident_classifier_overrides_a_name_of_a_related_service(
    catalog: Catalog,
) -> None:
    # "출생신고랑 같이 지원금 신청": names the birth report, asks for the one-stop service.
    message = parse("service_childbirth_one_stop", 0.95, "birth_report")
    assert services_in_message(message, catalog) == ["childbirth_one_stop"]


def test_a_confident_classifier_never_overrides_a_name_of_an_unrelated_service(
    catalog: Catalog,
) -> None:
    # "기초연금 선정기준액 2024 얼마" once went to the 107 relay service at 0.94.
    message = parse("service_sign_language_relay", 0.94, "basic_pension")
    assert services_in_message(message, catalog) == ["basic_pension"]


def test_several_names_are_all_answered_in_order(catalog: Catalog) -> None:
    message = parse("service_passport", 0.99, "birth_report", "move_in_report")
    assert services_in_message(message, catalog) == ["birth_report", "move_in_report"]


def test_among_several_names_the_classifier_s_choice_comes_first(catalog: Catalog) -> None:
    # "보건소임산부등록 필요서류": both names are found; the message is about registering.
    message = parse(
        "service_pregnancy_registration", 0.98, "public_health_centre", "pregnancy_registration"
    )
    assert services_in_message(message, catalog) == [
        "pregnancy_registration",
        "public_health_centre",
    ]


def test_a_fallback_with_a_name_still_finds_the_named_service(catalog: Catalog) -> None:
    assert services_in_message(parse("nlu_fallback", 0.3, "passport"), catalog) == ["passport"]


def with_text(parsed: dict[str, Any], text: str) -> dict[str, Any]:
    return {**parsed, "text": text}


def test_a_hesitation_finds_a_misspelt_or_oddly_spaced_name(catalog: Catalog) -> None:
    # The lookup table wants "차 명의 변경" and "주민등록증" exactly.
    assert services_in_message(
        with_text(parse("nlu_fallback", 0.2), "차 명의변경 돼요"), catalog
    ) == ["vehicle_registration"]
    assert services_in_message(
        with_text(parse("ask_service", 0.6), "주민등록쯩 분실"), catalog
    ) == ["id_card_reissue"]


def test_a_near_name_never_overrides_the_classifier(catalog: Catalog) -> None:
    message = with_text(parse("service_passport", 0.4), "주민등록쯩 분실")
    assert services_in_message(message, catalog) == ["passport"]


def test_nothing_near_a_name_is_nothing(catalog: Catalog) -> None:
    assert (
        services_in_message(with_text(parse("nlu_fallback", 0.2), "오늘 날씨 어때요"), catalog)
        == []
    )
