"""A citizen's event date as people write it in a text message, Korean or English.

Understood (anywhere in the message, so "11월20일에 이사했어요" works):

- full dates: "2026-11-20", "2026.11.20", "2026. 11. 20.", "2026/11/20", "2026년 11월 20일",
  "11/20/2026", "20/11/2026", "Nov 20, 2026", "20 November 2026";
- month and day: "11월 20일", "11/20", "11.20", "Nov 20", "November 20th", "20 Nov",
  "20th of November";
- a day of the month: "20일" (this month), "지난달 20일", "이번 달 20일";
- relative days: "오늘", "어제", "그저께"/"그제", "그끄저께", "내일", "모레", "3일 전",
  "today", "yesterday", "the day before yesterday", "tomorrow", "3 days ago".

Decisions
---------
- Numeric month/day order: "11/20" is month/day (Korean and US order). Only when the
  first number cannot be a month ("20/11") is it read as day/month.
- A date without a year is the most recent such date that is not more than
  ``MAX_FUTURE_DAYS`` (60) days ahead: deadlines follow events that happened, or are
  about to (a move or a car purchase planned a few weeks ahead). So "11/20" typed in
  January means last November, and "1/3" typed on 28 December means next January.
- A bare day ("20일") is this month's, unless that is more than ``DAY_ONLY_FUTURE_DAYS``
  (7) days ahead: then last month's (someone writing only "the 20th" on the 5th means
  the 20th that has been). A day the month does not have ("31일" in November) also means
  the last month that has it.
- A date with a year is taken as written, but one more than ``MAX_FUTURE_DAYS`` ahead,
  or in a year more than ``OLDEST_YEARS_BACK`` before today's, is not an event date
  (most likely a typo) and gives None.
- Two-digit years ("26.11.20", "11/20/26") are ambiguous between orders and give None.
- Anything else, or an impossible date ("2월 30일"), gives None: the caller asks again.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Final

MAX_FUTURE_DAYS: Final = 60
# A date written with a year at most this many years before today's (every legal
# deadline the reminders know is far shorter).
OLDEST_YEARS_BACK: Final = 2
DAY_ONLY_FUTURE_DAYS: Final = 7

_MONTHS: Final[dict[str, int]] = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINAL = r"(?:st|nd|rd|th)?"

_YMD = re.compile(r"(?<!\d)(\d{4})\s*(?:[-./]|년)\s*(\d{1,2})\s*(?:[-./]|월)\s*(\d{1,2})(?!\d)")
_MONTH_DAY_EN = re.compile(rf"\b{_MONTH}\s*(\d{{1,2}}){_ORDINAL}\b(?:\s*,?\s*(\d{{4}})\b)?")
_DAY_MONTH_EN = re.compile(
    rf"(?<!\d)(\d{{1,2}}){_ORDINAL}\s*(?:of\s+)?{_MONTH}\b(?:\s*,?\s*(\d{{4}})\b)?"
)
_MONTH_DAY_KO = re.compile(r"(?<!\d)(\d{1,2})\s*월\s*(\d{1,2})(?!\d)")
# A third part must be a four-digit year: "26.11.20" (yy.mm.dd) and "11/20/26" are
# ambiguous, so they match nothing rather than a wrong date.
_NUMERIC = re.compile(
    r"(?<![\d./-])(\d{1,2})\s*[-./]\s*(\d{1,2})(?:\s*[-./]\s*(\d{4}))?(?!\d)(?!\s*[-./]\s*\d)"
)
_DAYS_AGO = re.compile(r"(?<!\d)(\d{1,3})\s*(?:일\s*전|days?\s+ago)")
_DAY_ONLY = re.compile(r"(지난\s*달|저번\s*달|이번\s*달)?\s*(?<!\d)(\d{1,2})\s*일")

# Longer words first: "그저께" holds "저께", "엊그제" holds "그제".
_RELATIVE: Final[tuple[tuple[str, int], ...]] = (
    ("the day before yesterday", -2),
    ("day before yesterday", -2),
    ("그끄저께", -3),
    ("그끄제", -3),
    ("엊그저께", -2),
    ("엊그제", -2),
    ("그저께", -2),
    ("그제", -2),
    ("어저께", -1),
    ("어제", -1),
    ("yesterday", -1),
    ("오늘", 0),
    ("today", 0),
    ("내일", 1),
    ("tomorrow", 1),
    ("모레", 2),
)


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and letters ("１１／２０") into ASCII.
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _without_year(month: int, day: int, today: dt.date, max_future_days: int) -> dt.date | None:
    latest = today + dt.timedelta(days=max_future_days)
    for year in (today.year + 1, today.year, today.year - 1):
        candidate = _date(year, month, day)
        if candidate is not None and candidate <= latest:
            return candidate
    return None


def _with_year(
    year: int, month: int, day: int, today: dt.date, max_future_days: int
) -> dt.date | None:
    candidate = _date(year, month, day)
    if candidate is None or candidate > today + dt.timedelta(days=max_future_days):
        return None
    # A year long past ("0001.01.01", found by the property test) is a typo, not a life
    # event whose deadline could still be ahead.
    if candidate.year < today.year - OLDEST_YEARS_BACK:
        return None
    return candidate


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


def _day_only(prefix: str | None, day: int, today: dt.date) -> dt.date | None:
    if not 1 <= day <= 31:
        return None
    if prefix is not None:
        year, month = today.year, today.month
        if not prefix.startswith("이번"):
            year, month = _month_before(year, month)
        return _date(year, month, day)
    year, month = today.year, today.month
    candidate = _date(year, month, day)
    if candidate is not None and candidate <= today + dt.timedelta(days=DAY_ONLY_FUTURE_DAYS):
        return candidate
    # Last month that has this day (every month has up to 28; 31 is at most two back).
    for _ in range(3):
        year, month = _month_before(year, month)
        if day <= calendar.monthrange(year, month)[1]:
            return dt.date(year, month, day)
    return None


def _ymd(match: re.Match[str], today: dt.date, max_future: int) -> dt.date | None:
    year, month, day = (int(g) for g in match.groups())
    return _with_year(year, month, day, today, max_future)


def _english(match: re.Match[str], today: dt.date, max_future: int) -> dt.date | None:
    first, second, year = match.groups()
    name, day = (first, second) if first[0].isalpha() else (second, first)
    month = _MONTHS[name[:3]]
    if year:
        return _with_year(int(year), month, int(day), today, max_future)
    return _without_year(month, int(day), today, max_future)


def _korean_month_day(match: re.Match[str], today: dt.date, max_future: int) -> dt.date | None:
    return _without_year(int(match.group(1)), int(match.group(2)), today, max_future)


def _numeric(match: re.Match[str], today: dt.date, max_future: int) -> dt.date | None:
    first, second, year = int(match.group(1)), int(match.group(2)), match.group(3)
    month, day = (second, first) if first > 12 >= second else (first, second)
    if year:
        return _with_year(int(year), month, day, today, max_future)
    return _without_year(month, day, today, max_future)


def _days_ago(match: re.Match[str], today: dt.date, max_future: int) -> dt.date | None:
    return today - dt.timedelta(days=int(match.group(1)))


def _day_of_month(match: re.Match[str], today: dt.date, max_future: int) -> dt.date | None:
    return _day_only(match.group(1), int(match.group(2)), today)


# Most specific first. A pattern that matches decides, even when its date is impossible
# ("2월 30일" is None, not "30일" of some month).
_PARSERS: Final[
    tuple[tuple[re.Pattern[str], Callable[[re.Match[str], dt.date, int], dt.date | None]], ...]
] = (
    (_YMD, _ymd),
    (_MONTH_DAY_EN, _english),
    (_DAY_MONTH_EN, _english),
    (_MONTH_DAY_KO, _korean_month_day),
    (_NUMERIC, _numeric),
    (_DAYS_AGO, _days_ago),
    (_DAY_ONLY, _day_of_month),
)


def parse_event_date(
    text: str, today: dt.date, *, max_future_days: int = MAX_FUTURE_DAYS
) -> dt.date | None:
    """The date a citizen means by ``text``, seen on ``today`` (Seoul), or None.

    See the module docstring for the formats and how a missing year is chosen.
    """
    norm = _normalise(text)
    for pattern, parse in _PARSERS:
        match = pattern.search(norm)
        if match:
            return parse(match, today, max_future_days)
    for word, offset in _RELATIVE:
        if word in norm:
            return today + dt.timedelta(days=offset)
    return None
