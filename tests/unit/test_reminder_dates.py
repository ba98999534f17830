"""Event dates as citizens text them, in Korean and English, relative to today."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.reminders.dates import parse_event_date

TODAY = dt.date(2026, 11, 25)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11월 20일", dt.date(2026, 11, 20)),
        ("11월20일", dt.date(2026, 11, 20)),
        ("11월 20일에 이사했어요", dt.date(2026, 11, 20)),
        ("11/20", dt.date(2026, 11, 20)),
        ("11.20", dt.date(2026, 11, 20)),
        ("2026-11-20", dt.date(2026, 11, 20)),
        ("2026.11.20", dt.date(2026, 11, 20)),
        ("2026. 11. 20.", dt.date(2026, 11, 20)),
        ("2026/11/20", dt.date(2026, 11, 20)),
        ("2026년 11월 20일", dt.date(2026, 11, 20)),
        ("2025-11-20", dt.date(2025, 11, 20)),
        ("20일", dt.date(2026, 11, 20)),
        ("오늘", TODAY),
        ("오늘 이사했어요", TODAY),
        ("어제", dt.date(2026, 11, 24)),
        ("그저께", dt.date(2026, 11, 23)),
        ("그제", dt.date(2026, 11, 23)),
        ("엊그제", dt.date(2026, 11, 23)),
        ("그끄저께", dt.date(2026, 11, 22)),
        ("내일", dt.date(2026, 11, 26)),
        ("모레", dt.date(2026, 11, 27)),
        ("3일 전", dt.date(2026, 11, 22)),
        ("today", TODAY),
        ("Today!", TODAY),
        ("yesterday", dt.date(2026, 11, 24)),
        ("the day before yesterday", dt.date(2026, 11, 23)),
        ("tomorrow", dt.date(2026, 11, 26)),
        ("5 days ago", dt.date(2026, 11, 20)),
        ("Nov 20", dt.date(2026, 11, 20)),
        ("nov. 20th", dt.date(2026, 11, 20)),
        ("November 20, 2025", dt.date(2025, 11, 20)),
        ("20 November", dt.date(2026, 11, 20)),
        ("20th of Nov", dt.date(2026, 11, 20)),
        ("I moved on 20 Nov 2026", dt.date(2026, 11, 20)),
        ("20/11", dt.date(2026, 11, 20)),  # 20 cannot be a month: day/month
        ("20/11/2026", dt.date(2026, 11, 20)),
        ("11/20/2026", dt.date(2026, 11, 20)),
        ("１１／２０", dt.date(2026, 11, 20)),  # full-width, as some phones type
        ("지난달 20일", dt.date(2026, 10, 20)),
        ("저번 달 3일", dt.date(2026, 10, 3)),
        ("이번 달 3일", dt.date(2026, 11, 3)),
    ],
)
def test_formats(text: str, expected: dt.date) -> None:
    assert parse_event_date(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "이사했어요",
        "2월 30일",  # no such day
        "2026-13-01",
        "13/13",
        "32일",
        "26.11.20",  # two-digit year: yy.mm.dd or dd.mm.yy? ambiguous
        "11/20/26",
        "2027-03-01",  # a year given, far in the future: not an event date
        "I may go",
    ],
)
def test_unparseable_is_none(text: str) -> None:
    assert parse_event_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # Typed in January, November means last November.
        ("11/20", dt.date(2027, 1, 10), dt.date(2026, 11, 20)),
        ("11월 20일", dt.date(2027, 1, 10), dt.date(2026, 11, 20)),
        ("Nov 20", dt.date(2027, 1, 10), dt.date(2026, 11, 20)),
        # A move planned a few weeks ahead stays ahead, even over the year end.
        ("12월 15일", dt.date(2026, 11, 25), dt.date(2026, 12, 15)),
        ("1/3", dt.date(2026, 12, 28), dt.date(2027, 1, 3)),
        # More than 60 days ahead: last year's.
        ("3월 1일", dt.date(2026, 11, 25), dt.date(2026, 3, 1)),
        ("2월 29일", dt.date(2029, 1, 10), dt.date(2028, 2, 29)),  # last leap day
        ("2월 29일", dt.date(2026, 11, 25), None),  # no 29 Feb in 2026, 2025 or 2027
    ],
)
def test_year_inference(text: str, today: dt.date, expected: dt.date | None) -> None:
    assert parse_event_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("20일", dt.date(2026, 11, 25), dt.date(2026, 11, 20)),
        ("28일", dt.date(2026, 11, 25), dt.date(2026, 11, 28)),  # a few days ahead: this month
        ("20일", dt.date(2026, 11, 5), dt.date(2026, 10, 20)),  # far ahead: last month
        ("31일", dt.date(2026, 11, 25), dt.date(2026, 10, 31)),  # November has no 31st
        ("31일", dt.date(2026, 3, 5), dt.date(2026, 1, 31)),  # nor has February
        ("25일", dt.date(2026, 1, 5), dt.date(2025, 12, 25)),  # over the year end
    ],
)
def test_a_bare_day_of_the_month(text: str, today: dt.date, expected: dt.date) -> None:
    assert parse_event_date(text, today) == expected


def test_the_future_window_is_a_parameter() -> None:
    assert parse_event_date("11/30", TODAY, max_future_days=0) == dt.date(2025, 11, 30)
    assert parse_event_date("2026-11-30", TODAY, max_future_days=0) is None


@pytest.mark.parametrize("text", ["0001.01.01", "1900-01-01", "1999년 5월 5일"])
def test_a_year_long_past_is_not_an_event_date(text: str) -> None:
    """Found by the property test (test_parsers_properties.py): a written year far back
    was taken as is — no deadline of a life event can still be ahead then."""
    assert parse_event_date(text, dt.date(2026, 12, 4)) is None
    assert parse_event_date("2024.12.04", dt.date(2026, 12, 4)) == dt.date(2024, 12, 4)
