"""Which service a parsed message asks about: a name in it versus the classifier."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from assistant.actions.services import ActionAnswerService, services_in_message
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


def spoken(text: str, intent: str, confidence: float, *names: tuple[str, str]) -> dict[str, Any]:
    """A parse of ``text`` whose lookup table found each (service, words) at its place."""
    entities = []
    for service, words in names:
        start = text.index(words)
        entities.append(
            {"entity": "service", "value": service, "start": start, "end": start + len(words)}
        )
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": entities,
    }


@pytest.mark.parametrize(
    ("text", "intent", "name", "expected"),
    [
        # The name is the citizen's status; the request is the classifier's service.
        (
            "기초연금수급자 통신요금할인 신청어떻게해요",
            "service_telecom_discount",
            ("basic_pension", "기초연금"),
            "telecom_discount",
        ),
        (
            "외삼촌이 생계급여 받으시다가 돌아가셨는데 장례 비용 보태준다고",
            "service_funeral_benefit",
            ("basic_livelihood", "생계급여"),
            "funeral_benefit",
        ),
        (
            "아버지가 장애 판정을 받으셔서 차 앞유리에 붙이는 표지",
            "service_disabled_parking_permit",
            ("disability_registration", "장애 판정"),
            "disabled_parking_permit",
        ),
        (
            "기초생활수급자도 휴대폰 요금 깎아주나요",
            "service_telecom_discount",
            ("basic_livelihood", "기초생활수급자"),
            "telecom_discount",
        ),
        # Asking to receive it is no condition: the name decides, as before.
        (
            "기초연금 받을 수 있나요 핸드폰으로",
            "service_telecom_discount",
            ("basic_pension", "기초연금"),
            "basic_pension",
        ),
        (
            "기초연금 받는 방법",
            "service_senior_jobs",
            ("basic_pension", "기초연금"),
            "basic_pension",
        ),
    ],
)
def test_a_name_that_describes_the_citizen_gives_way_to_the_classifier(
    catalog: Catalog, text: str, intent: str, name: tuple[str, str], expected: str
) -> None:
    assert services_in_message(spoken(text, intent, 0.6, name), catalog)[0] == expected


def test_a_condition_is_not_answered_after_the_request(catalog: Catalog) -> None:
    message = spoken(
        "기초연금수급자 통신요금할인",
        "service_telecom_discount",
        0.6,
        ("basic_pension", "기초연금"),
    )
    assert services_in_message(message, catalog) == ["telecom_discount"]


def test_a_refused_name_is_never_answered(catalog: Catalog) -> None:
    text = "식구 관계 나오는 서류 떼 오라는데 등본 말고 다른 거래요"
    message = spoken(
        text, "service_resident_registration_copy", 0.52, ("resident_registration_copy", "등본")
    )
    message["intent_ranking"] = [
        {"name": "service_resident_registration_copy", "confidence": 0.52},
        {"name": "service_family_relation_certificate", "confidence": 0.38},
    ]
    assert services_in_message(message, catalog) == ["family_relation_certificate"]
    # Without a likely second choice the citizen is asked which one (nothing answered).
    message["intent_ranking"][1]["confidence"] = 0.1
    assert services_in_message(message, catalog) == []


def test_a_refusal_elsewhere_leaves_the_named_request(catalog: Catalog) -> None:
    text = "인감증명서 말고 본인서명사실확인서 되나요"
    # Both names belong to one service: the refusal of one spelling does not refuse the
    # other, which is also named.
    message = spoken(
        text,
        "service_seal_certificate",
        0.7,
        ("seal_certificate", "인감증명서"),
        ("seal_certificate", "본인서명사실확인서"),
    )
    assert services_in_message(message, catalog) == ["seal_certificate"]


def test_after_an_answer_a_refusal_of_it_is_not_answered_again(catalog: Catalog) -> None:
    # The conversation's last answer was the copy; "등본 말고 다른 거요" asks for
    # something else, so the citizen is asked which service, not told about 등본 again.
    latest = spoken(
        "등본 말고 다른 거요",
        "ask_service",
        0.8,
        ("resident_registration_copy", "등본"),
    )
    tracker = Tracker(
        sender_id="test",
        slots={"language": "ko", "service": "resident_registration_copy"},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerService(catalog).run(dispatcher, tracker, {}))
    assert [m.get("response") for m in dispatcher.messages] == ["utter_ask_which_service"]
