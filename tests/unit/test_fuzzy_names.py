"""Catalog names found despite spacing errors and small typos (assistant/catalog/fuzzy.py)."""

from __future__ import annotations

import pytest

from assistant.catalog import Catalog, load_catalog
from assistant.catalog.fuzzy import NameMatcher, normalise


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_normalise_drops_spaces_and_splits_syllables_into_jamo() -> None:
    assert normalise("차 명의 변경!") == normalise("차명의변경")
    assert len(normalise("등본")) == 6  # ㄷㅡㅇ ㅂㅗㄴ


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("차 명의변경 하려고요", "vehicle_registration"),  # spacing
        ("주민등록쯩 다시 만들래요", "id_card_reissue"),  # one wrong consonant
        ("장애인 활둥지원 신청", "disability_activity_support"),  # one wrong vowel
        ("토지이용계획확인원 떼야 돼요", "land_register"),  # the old name of the paper
    ],
)
def test_near_names_are_found(catalog: Catalog, text: str, service: str) -> None:
    assert catalog.name_matcher.best(text) == service


@pytest.mark.parametrize(
    "text",
    [
        "그리고 등 본인이 직접 와야 하나요",  # "등본" across words: short names are exact only
        "오늘 날씨 좋네요",
        "the people at the office were kind",  # English names are exact only
    ],
)
def test_far_or_short_names_are_not_found(catalog: Catalog, text: str) -> None:
    assert catalog.name_matcher.best(text) is None


def test_two_syllables_apart_is_another_service(catalog: Catalog) -> None:
    assert catalog.name_matcher.best("기초생활 수급 신청") != "basic_pension"


def test_two_services_equally_near_is_no_answer() -> None:
    matcher = NameMatcher([("a", "가나다라"), ("b", "가나다라")])
    assert matcher.best("가나다라") is None
    assert [m.service_id for m in matcher.matches("가나다라")] == ["a", "b"]


def test_the_longer_name_wins_a_tie_in_score() -> None:
    matcher = NameMatcher([("short", "주민등록"), ("long", "주민등록등본")])
    assert matcher.best("주민등록등본 뗄래요") == "long"


def test_a_message_shorter_than_a_name_does_not_match_it() -> None:
    matcher = NameMatcher([("copy", "주민등록등본")])
    assert matcher.best("등본") is None
