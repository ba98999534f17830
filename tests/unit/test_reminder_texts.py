"""Reminder texts: plain language, SMS-sized, and they say what, by when, where and how
to stop; the menu of life events and the words that start and stop reminders."""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.catalog import Catalog, load_catalog
from assistant.plain_language import lint, reminder_texts, sms_segments
from assistant.reminders.menu import (
    is_cancel_request,
    is_setup_request,
    menu_text,
    pick_choice,
    reminder_choices,
)
from assistant.reminders.schedule import SEOUL, deadline_services
from assistant.reminders.texts import (
    format_date,
    reminder_body,
    scheduled_text,
    where,
)

DUE = dt.date(2026, 11, 20)  # a Friday


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_reminder_text_is_plain_language(catalog: Catalog) -> None:
    texts = list(reminder_texts(catalog))
    assert len(texts) > 40
    findings = lint(texts)
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize("days_left", [10, 3, 1, 0])
def test_a_reminder_says_what_by_when_where_and_how_to_stop(
    catalog: Catalog, days_left: int
) -> None:
    for service in deadline_services(catalog):
        ko = reminder_body(service, DUE, days_left, "ko")
        en = reminder_body(service, DUE, days_left, "en")
        assert len(ko) <= 134 and sms_segments(ko) <= 2, ko
        assert sms_segments(en) <= 2, en
        assert service.name.ko in ko and service.name.en in en
        assert "11월 20일(금)" in ko and "Fri 20 Nov" in en
        assert where(service, "ko") in ko and where(service, "en") in en
        assert ko.endswith("알림 그만: '알림취소'")
        assert "REMINDERS OFF" in en


def test_reminder_wording_by_days_left(catalog: Catalog) -> None:
    move_in = catalog.get("move_in_report")
    assert move_in is not None
    assert "3일 남았습니다" in reminder_body(move_in, DUE, 3, "ko")
    assert "내일" in reminder_body(move_in, DUE, 1, "ko")
    assert "오늘" in reminder_body(move_in, DUE, 0, "ko")
    assert "in 3 days" in reminder_body(move_in, DUE, 3, "en")
    assert "tomorrow" in reminder_body(move_in, DUE, 1, "en")
    assert "today" in reminder_body(move_in, DUE, 0, "en")
    assert "정부24" in where(move_in, "ko")


def test_korean_particles_follow_the_last_syllable(catalog: Catalog) -> None:
    move_in, vehicle = catalog.get("move_in_report"), catalog.get("vehicle_registration")
    assert move_in is not None and vehicle is not None
    assert "전입신고는" in reminder_body(move_in, DUE, 3, "ko")
    assert "신규등록은" in reminder_body(vehicle, DUE, 3, "ko")
    times = (dt.datetime(2026, 11, 17, 9, tzinfo=SEOUL), dt.datetime(2026, 11, 20, 9, tzinfo=SEOUL))
    assert "11월 17일(화)과 11월 20일(금)" in scheduled_text(move_in, DUE, times, "ko")
    times = (dt.datetime(2026, 11, 18, 9, tzinfo=SEOUL), dt.datetime(2026, 11, 21, 9, tzinfo=SEOUL))
    assert "11월 18일(수)과" in scheduled_text(move_in, DUE, times, "ko")


def test_dates_as_citizens_read_them() -> None:
    assert format_date(dt.date(2028, 2, 29), "ko") == "2월 29일(화)"
    assert format_date(dt.date(2028, 2, 29), "en") == "Tue 29 Feb"


def test_menu_lists_every_service_with_a_deadline(catalog: Catalog) -> None:
    choices = reminder_choices(catalog)
    assert [c.service.id for c in choices] == [s.id for s in deadline_services(catalog)]
    assert [c.number for c in choices] == list(range(1, len(choices) + 1))
    ko, en = menu_text(choices, "ko"), menu_text(choices, "en")
    for choice in choices:
        assert f"{choice.number}. {choice.service.name.ko}" in ko.splitlines()
        assert f"{choice.number}. {choice.service.name.en}" in en.splitlines()


def test_picking_a_choice(catalog: Catalog) -> None:
    choices = reminder_choices(catalog)
    move_in = next(c for c in choices if c.service.id == "move_in_report")
    n = move_in.number
    assert pick_choice(choices, str(n)) == move_in
    assert pick_choice(choices, f" {n}번 ") == move_in
    assert pick_choice(choices, f"{n}.") == move_in
    assert pick_choice(choices, "전입신고요") == move_in
    assert pick_choice(choices, "Move-in report please") == move_in
    assert pick_choice(choices, "99") is None
    assert pick_choice(choices, "0") is None
    assert pick_choice(choices, "아무거나") is None
    assert pick_choice(choices, "") is None
    # Two services named: not a choice.
    assert pick_choice(choices, "출생신고랑 사망신고") is None


@pytest.mark.parametrize(
    "text", ["알림", " 알림 ", "알림 신청", "REMINDERS", "reminders", "Remind me"]
)
def test_setup_words(text: str) -> None:
    assert is_setup_request(text)
    assert not is_cancel_request(text)


@pytest.mark.parametrize(
    "text", ["알림취소", "알림 취소", "[알림취소]", "reminders off", "NO REMINDERS"]
)
def test_cancel_words(text: str) -> None:
    assert is_cancel_request(text)
    assert not is_setup_request(text)


@pytest.mark.parametrize("text", ["STOP", "CANCEL", "중지", "알림 설정 어떻게 해요?", ""])
def test_other_messages_are_neither(text: str) -> None:
    # STOP and CANCEL stop every message (opt-out), not only reminders.
    assert not is_setup_request(text) and not is_cancel_request(text)
