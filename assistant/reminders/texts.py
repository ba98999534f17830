"""What reminders say, in Korean and English: short, plain, and always how to stop.

A reminder SMS says what, by when, where, and how to stop ("알림 그만: '알림취소'"), in
at most two SMS segments (134 Korean characters). The replies of the set-up exchange
(menu, date question, confirmation) are answers and follow the response budget.
``assistant/reminders/samples.py`` renders every one of them for the plain-language
lint.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from assistant.catalog import Localized, Service
from assistant.language import Language

# Words that stop every reminder of a number (keep in step with ``menu.CANCEL_WORDS``).
CANCEL_WORD: Final[Localized] = Localized(ko="알림취소", en="REMINDERS OFF")
SETUP_WORD: Final[Localized] = Localized(ko="알림", en="REMINDERS")

_WEEKDAYS_KO: Final = "월화수목금토일"
_TRAILING_BRACKET: Final = re.compile(r"\s*\([^()]*\)\s*$")
_WEEKDAYS_EN: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

# Where to do it, when the service's channels alone would say it badly.
_WHERE: Final[dict[str, Localized]] = {
    "move_in_report": Localized(
        ko="정부24나 새 주소의 주민센터에서",
        en="on Gov24 or at the community centre of your new address",
    ),
    "vehicle_registration": Localized(
        ko="차량등록사업소나 자동차365에서", en="at the vehicle registration office or on Car365"
    ),
}
_WHERE_GOV24_OR_CENTRE: Final = Localized(
    ko="정부24나 행정복지센터에서", en="on Gov24 or at a community centre"
)
_WHERE_CENTRE: Final = Localized(ko="가까운 행정복지센터에서", en="at a community centre")
_WHERE_GOV24: Final = Localized(ko="정부24에서", en="on Gov24")
_WHERE_OFFICE: Final = Localized(ko="담당 기관에서", en="at the office in charge")


def _has_final_consonant(word: str) -> bool:
    # The particle follows the word before a trailing bracket ("17일(화)과", as the
    # National Institute of Korean Language advises), so brackets are dropped first.
    # A syllable has a final consonant (받침) unless (code - 0xAC00) % 28 == 0; digits
    # are read as Korean numbers (일, 삼, 육, 칠, 팔, 십, 영 end in one).
    bare = _TRAILING_BRACKET.sub("", word)
    last = next((c for c in reversed(bare) if "가" <= c <= "힣" or c.isdigit()), "가")
    if last.isdigit():
        return last in "013678"
    return (ord(last) - 0xAC00) % 28 != 0


def _topic(word: str) -> str:
    return word + ("은" if _has_final_consonant(word) else "는")


def _subject(word: str) -> str:
    return word + ("이" if _has_final_consonant(word) else "가")


def _and(word: str) -> str:
    return word + ("과" if _has_final_consonant(word) else "와")


def format_date(day: dt.date, language: Language) -> str:
    """A date as citizens read it: "11월 20일(금)" or "Fri 20 Nov"."""
    if language == "ko":
        return f"{day.month}월 {day.day}일({_WEEKDAYS_KO[day.weekday()]})"
    return f"{_WEEKDAYS_EN[day.weekday()]} {day.day} {_MONTHS_EN[day.month - 1]}"


def where(service: Service, language: Language) -> str:
    """Where to do ``service``, as a phrase ("정부24나 행정복지센터에서")."""
    if service.id in _WHERE:
        return _WHERE[service.id].get(language)
    channels = set(service.channels)
    if {"gov24", "community_centre"} <= channels:
        return _WHERE_GOV24_OR_CENTRE.get(language)
    if "community_centre" in channels:
        return _WHERE_CENTRE.get(language)
    if "gov24" in channels:
        return _WHERE_GOV24.get(language)
    return _WHERE_OFFICE.get(language)


def _stop_hint(language: Language) -> str:
    if language == "ko":
        return f"알림 그만: '{CANCEL_WORD.ko}'"
    return f"To stop reminders, reply {CANCEL_WORD.en}."


def reminder_body(service: Service, due: dt.date, days_left: int, language: Language) -> str:
    """The reminder SMS for ``service`` due on ``due``, ``days_left`` days before it."""
    name = service.name.get(language)
    date = format_date(due, language)
    place = where(service, language)
    if language == "ko":
        if days_left <= 0:
            head = f"{_topic(name)} 오늘 {date}까지 하셔야 합니다."
        elif days_left == 1:
            head = f"{_topic(name)} 내일 {date}까지 하셔야 합니다."
        else:
            head = f"{_topic(name)} {date}까지 하셔야 합니다. {days_left}일 남았습니다."
        return f"[소통] {head} {place} 하세요. {_stop_hint(language)}"
    if days_left <= 0:
        head = f"{name}: today, {date}, is the last day."
    elif days_left == 1:
        head = f"{name}: the last day is tomorrow, {date}."
    else:
        head = f"{name}: the last day is {date}, in {days_left} days."
    return f"[Sotong] {head} Do it {place}. {_stop_hint(language)}"


def ask_date_text(service: Service, language: Language) -> str:
    """The question for the event date of ``service`` ("이사한 날이 언제인가요?")."""
    if service.deadline is None:
        raise ValueError(f"service {service.id!r} has no deadline")
    event = service.deadline.from_.get(language)
    if language == "ko":
        return f"{_subject(event)} 언제인가요? 이렇게 보내 주세요: 11월 20일, 어제"
    return f"When was {event}? Write it like this: Nov 20, or yesterday."


def date_not_understood_text(language: Language) -> str:
    """Said once when a date cannot be read (the second time the set-up ends)."""
    if language == "ko":
        return "날짜를 알아듣지 못했습니다. 이렇게 보내 주세요: 11월 20일, 어제"
    return "Sorry, I did not understand the date. Write it like this: Nov 20, or yesterday."


def choice_not_understood_text(language: Language) -> str:
    """Put before the menu when the reply picked nothing."""
    if language == "ko":
        return "번호로 골라 주세요."
    return "Please reply with a number."


def menu_heading(language: Language) -> str:
    """The first line of the menu of life events."""
    if language == "ko":
        return "기한을 알려 드릴 일을 골라 번호로 답해 주세요."
    return "Which deadline should I remind you of? Reply with a number."


def _times(send_at: tuple[dt.datetime, ...], language: Language) -> str:
    days = [format_date(t.date(), language) for t in send_at]
    if language == "ko":
        return "".join(_and(d) + " " for d in days[:-1]) + days[-1]
    return " and ".join(days)


def scheduled_text(
    service: Service,
    due: dt.date,
    send_at: tuple[dt.datetime, ...],
    language: Language,
) -> str:
    """The confirmation once reminders are set (``send_at`` in Seoul time, maybe empty)."""
    name = service.name.get(language)
    date = format_date(due, language)
    if language == "ko":
        if not send_at:
            return f"{_topic(name)} 오늘 {date}까지 하셔야 합니다. 오늘 꼭 하세요."
        return (
            f"알림을 맞췄습니다. {_topic(name)} {date}까지 하셔야 합니다. "
            f"{_times(send_at, language)} 아침 9시에 문자를 드립니다. {_stop_hint(language)}"
        )
    if not send_at:
        return f"{name}: today, {date}, is the last day. Please do it today."
    return (
        f"Reminder set. {name}: the last day is {date}. "
        f"I will text you at 9 am on {_times(send_at, language)}. {_stop_hint(language)}"
    )


def passed_text(service: Service, due: dt.date, language: Language) -> str:
    """Said instead of scheduling when the deadline is already over."""
    name = service.name.get(language)
    date = format_date(due, language)
    place = where(service, language)
    claim = service.deadline is not None and service.deadline.kind == "claim"
    if language == "ko":
        if claim:  # a benefit or a right: it may be lost, not fined
            return (
                f"{name} 기한은 {date}까지였습니다. 기한이 지나면 못 받거나 덜 받을 수 "
                f"있습니다. 아직 할 수 있는 일이 있는지 {place} 바로 물어보세요."
            )
        return (
            f"{name} 기한은 {date}까지였습니다. 늦었지만 지금이라도 꼭 하세요. "
            f"과태료를 낼 수 있습니다. {place} 물어보세요."
        )
    if claim:
        return (
            f"{name}: the last day was {date}. After it you may get less or nothing. "
            f"Ask {place} now whether anything can still be done."
        )
    return (
        f"{name}: the last day was {date}. It is late, but please still do it now. "
        f"You may have to pay a fine. Ask {place}."
    )


def cancelled_text(count: int, language: Language) -> str:
    """The answer to the cancel word: reminders stopped (``count`` of them)."""
    if language == "ko":
        if count == 0:
            return f"맞춰 둔 알림이 없습니다. 알림을 받으려면 '{SETUP_WORD.ko}'이라고 보내 주세요."
        return f"알림을 모두 껐습니다. 다시 받으려면 '{SETUP_WORD.ko}'이라고 보내 주세요."
    if count == 0:
        return f"You have no reminders. To set one, send {SETUP_WORD.en}."
    return f"All reminders are off. To get them again, send {SETUP_WORD.en}."
