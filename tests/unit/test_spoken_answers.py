"""Yes/no and number answers in the forms citizens type and say."""

from __future__ import annotations

import pytest

from assistant.spoken_answers import is_dont_know, parse_age_in_months, parse_number, parse_yes_no


@pytest.mark.parametrize(
    "text",
    [
        "네",
        "네네",
        "넵",
        "예",
        "응",
        "ㅇㅇ",
        "맞아요",
        "네 혼자 살아요",
        "있어요",
        "yes",
        "Yeah sure",
        "ok",
    ],
)
def test_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "아니요",
        "아뇨",
        "아니오",
        "없어요",
        "아직 안 했어요",
        "혼자 안 살아요",
        "음... 아니요",
        "no",
        "nope",
        "I do not",
    ],
)
def test_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize(
    "text", ["예순다섯", "네 살", "어머니가 계세요", "안녕하세요", "nothing", ""]
)
def test_neither_yes_nor_no(text: str) -> None:
    # "예순" starts like 예 and "네 살" like 네, but neither answers yes.
    assert parse_yes_no(text) is None


@pytest.mark.parametrize("text", ["잘 모르겠어요", "몰라요", "글쎄요", "not sure", "I don't know"])
def test_dont_know(text: str) -> None:
    assert is_dont_know(text)
    assert parse_yes_no(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("72", 72),
        ("72세", 72),
        ("일흔두 살", 72),
        ("일흔둘", 72),
        ("예순다섯", 65),
        ("칠십이 세", 72),
        ("육십오", 65),
        ("여든", 80),
        ("스무 살", 20),
        ("열두 살", 12),
        ("네 살", 4),
        ("sixty-five", 65),
        ("seventy two", 72),
        ("I am 70", 70),
        ("3.5", 3.5),
    ],
)
def test_numbers_in_digits_and_words(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["네", "한국", "그게요", "hello"])
def test_no_number(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("3개월", 3),
        ("석 달 됐어요", 3),
        ("두 돌", 24),
        ("1년", 12),
        ("1살", 12),
        ("일곱 달", 7),
        ("six months", 6),
        ("어제 태어났어요", 0),
    ],
)
def test_baby_age_in_months(text: str, months: float) -> None:
    assert parse_age_in_months(text) == pytest.approx(months)


def test_weeks_and_days_become_fractions_of_a_month() -> None:
    assert parse_age_in_months("2주") == pytest.approx(0.46, abs=0.01)
    assert parse_age_in_months("6 weeks") == pytest.approx(1.38, abs=0.01)
    assert parse_age_in_months("백일") == pytest.approx(3.33, abs=0.01)
