"""Video appointments: slots, confirmation on the citizen's channel, reminders with the
signed link, reply words, no-shows and each person's day.

The world of tests/handoff_world.py: the real store, queue and conversation core on
SQLite and on PostgreSQL (migrated), a hand-moved clock. The queue's part alone:
test_handoff_queue_contract.py; in two browsers: tests/browser/test_appointment.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from assistant.handoff import QueueState
from assistant.handoff.appointments import slot_command, slot_time, works_at
from assistant.handoff.records import CONTACT_VIDEO, SEOUL, Interpreter, Outcome
from assistant.handoff.service import COMMAND_PREFIX, handoff_command
from assistant.plain_language import CARRIER_WORDS
from tests.handoff_world import KIM, World, make_available

# Tuesday 20:00 in Seoul: Kim (09:00-18:00) is off until tomorrow morning.
EVENING = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)
WED_9 = dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)  # Wednesday 09:00 Seoul
THU_9 = WED_9 + dt.timedelta(days=1)
LEE = Interpreter(id="lee", name="이통역", skills=("ksl", "person"), available=False)
MOBILE = "+821012345678"


async def _evening(world: World) -> None:
    await make_available(world, KIM, work_start=9 * 60, work_end=18 * 60)
    await world.service.set_availability(KIM, False)  # gone home
    world.clock.now = EVENING


async def _book(world: World, conversation_id: str) -> str:
    """Ask for a sign-language interpreter and choose the video appointment."""
    await world.say(conversation_id, "수어 통역 요청")
    booked = await world.say(conversation_id, "영상 통화 예약", payload=COMMAND_PREFIX + "video")
    return booked.replies[0].text


def test_slot_commands_carry_their_time_and_nothing_else() -> None:
    assert slot_time(slot_command(WED_9)) == WED_9
    for bad in ("slot:", "slot:abc", "slot:-5", "slot:" + "9" * 13, "video", "reschedule"):
        assert slot_time(bad) is None
    assert handoff_command("", COMMAND_PREFIX + slot_command(WED_9)) == slot_command(WED_9)
    assert handoff_command("", COMMAND_PREFIX + "slot:abc") is None


def test_reply_words_are_never_carrier_keywords() -> None:
    for word in ("예약변경", "CHANGE", "change the time"):
        assert handoff_command(word, None) == "reschedule"
    for word in ("예약취소", "CALL OFF", "call it off"):
        assert handoff_command(word, None) == "cancel"
    # While a person holds the conversation they are relayed, not commands.
    assert handoff_command("예약변경", None, held=True) is None
    assert not {"CHANGE", "CALL OFF"} & set(CARRIER_WORDS)


def test_people_without_hours_take_appointments_on_weekdays_in_office_hours() -> None:
    slot = dt.timedelta(minutes=15)
    assert works_at(None, WED_9, slot)
    assert not works_at(None, WED_9 - slot, slot)  # 08:45
    assert not works_at(None, WED_9 + dt.timedelta(hours=9) - slot + slot, slot)  # 18:00
    saturday = WED_9 + dt.timedelta(days=3)
    assert not works_at(None, saturday, slot)
    night = Interpreter(id="n", name="n", work_start=22 * 60, work_end=6 * 60)
    assert works_at(night, WED_9 - dt.timedelta(hours=5), slot)  # 04:00 Seoul


async def test_each_person_takes_one_appointment_a_slot(world: World) -> None:
    await _evening(world)
    first, second = await world.conversation(), await world.conversation()
    assert "12월 2일(수) 오전 9시" in await _book(world, first)
    assert "12월 2일(수) 오전 9시 15분" in await _book(world, second)
    # With a second interpreter on the same hours, a third citizen gets 09:00 with Lee.
    await world.queue.upsert_interpreter(replace(LEE, work_start=9 * 60, work_end=18 * 60))
    third = await world.conversation()
    assert "12월 2일(수) 오전 9시(으)로" in await _book(world, third)
    entries = [await world.service.active(c) for c in (first, second, third)]
    assert [(e.scheduled_for, e.booked_with) for e in entries if e] == [
        (WED_9, "kim"),
        (WED_9 + dt.timedelta(minutes=15), "kim"),
        (WED_9, "lee"),
    ]


async def test_sms_citizen_is_confirmed_reminded_with_the_link_and_moves_by_words(
    world: World,
) -> None:
    await _evening(world)
    citizen = await world.conversation("sms", address=MOBILE)
    confirmation = await _book(world, citizen)
    assert "영상 통화를 12월 2일(수) 오전 9시(으)로 예약했습니다" in confirmation
    assert "10분 전에 링크를 보내 드립니다" in confirmation and "하루 전" not in confirmation
    assert "'예약변경'" in confirmation and "'예약취소'" in confirmation
    entry = await world.service.active(citizen)
    assert entry is not None and entry.contact == CONTACT_VIDEO
    assert entry.callback_number == MOBILE  # the caller ID is where reminders go
    # Booked within a day: the confirmation is the day's reminder.
    assert entry.reminded_day_at == EVENING

    offered = await world.say(citizen, "예약변경")
    times = offered.replies[0].buttons
    assert [b.title for b in times] == [
        "12월 2일(수) 오전 9시 15분",  # the same morning, after the own slot
        "12월 3일(목) 오전 9시",
        "12월 4일(금) 오전 9시",
        "예약 취소",
    ]
    moved = await world.say(citizen, "2")  # SMS: a number picks the offered time
    assert "12월 3일(목) 오전 9시" in moved.replies[0].text
    assert "하루 전과 10분 전에 링크를" in moved.replies[0].text  # more than a day ahead
    entry = await world.service.active(citizen)
    assert entry is not None and entry.scheduled_for == THU_9
    assert entry.reminded_day_at is None  # more than a day ahead now
    assert world.rasa.messages == ["수어 통역 요청"]  # nothing of it reached the bot

    sms = world.outputs["sms"].sent
    before = len(sms)
    world.clock.now = THU_9 - dt.timedelta(hours=23, minutes=59)
    assert await world.service.appointments.send_reminders() == [(entry.id, "day")]
    assert await world.service.appointments.send_reminders() == []  # once
    day = sms[before][1]
    until = (THU_9 + dt.timedelta(hours=3)).timestamp()
    assert "12월 3일(목) 오전 9시" in day.text and f"/video/{entry.id}?t={until}" in day.text
    assert [b.title for b in day.buttons] == ["시간 바꾸기", "예약 취소"]

    world.clock.now = THU_9 - dt.timedelta(minutes=10)
    assert await world.service.appointments.send_reminders() == [(entry.id, "soon")]
    assert await world.service.appointments.send_reminders() == []
    assert sms[-1][1].text.startswith("10분 뒤 영상 통화가 시작됩니다")
    assert f"/video/{entry.id}?t=" in sms[-1][1].text
    # An SMS citizen's channel is the text itself: nothing sent twice through the outbox.
    assert world.texts.sent == []


async def test_a_reminder_is_not_sent_once_the_appointment_is_long_past(world: World) -> None:
    await _evening(world)
    citizen = await world.conversation("sms", address=MOBILE)
    await _book(world, citizen)
    world.clock.now = WED_9 + dt.timedelta(minutes=20)  # the gateway was down until now
    assert await world.service.appointments.send_reminders() == []


async def test_web_citizen_gives_a_number_and_calls_it_off_by_text(world: World) -> None:
    await _evening(world)
    citizen = await world.conversation()
    await world.say(citizen, "수어 통역 요청")
    booked = await world.say(citizen, "", payload=COMMAND_PREFIX + "video")
    titles = [b.title for b in booked.replies[0].buttons]
    assert titles == ["시간 바꾸기", "문자로 알림 받기", "예약 취소"]
    asked = await world.say(citizen, "문자로 알림 받기", payload=COMMAND_PREFIX + "remind_by_text")
    assert "휴대전화 번호를 보내 주세요" in asked.replies[0].text
    assert "14일 뒤에 지웁니다" in asked.replies[0].text
    landline = await world.say(citizen, "02-123-4567")
    assert "휴대전화" in landline.replies[0].text
    given = await world.say(citizen, "010 2222 3333")
    assert "010-2222-3333(으)로도 문자로 보냅니다" in given.replies[0].text
    entry = await world.service.active(citizen)
    assert entry is not None and entry.callback_number == "+821022223333"
    assert entry.callback_consent_at == EVENING
    assert [(to, kind) for to, _, kind in world.texts.sent] == [("+821022223333", "appointment")]
    assert "예약했습니다" in world.texts.sent[0][1]

    # The ten-minute reminder reaches both the chat and the phone.
    world.clock.now = WED_9 - dt.timedelta(minutes=9)
    assert await world.service.appointments.send_reminders() == [(entry.id, "soon")]
    assert world.outputs["webchat"].sent[-1][1].text.startswith("10분 뒤")
    assert world.texts.sent[-1][0] == "+821022223333"

    # Answering the text: the booking is found by the number it was given.
    sms = await world.conversation("sms", address="+821022223333")
    off = await world.say(sms, "예약취소")
    assert "영상 통화 예약을 취소했습니다" in off.replies[0].text
    ended = await world.queue.get(entry.id)
    assert ended is not None and ended.state is QueueState.ABANDONED


async def test_change_is_a_question_for_the_assistant_without_a_booking(world: World) -> None:
    citizen = await world.conversation()
    answer = await world.say(citizen, "change")
    assert answer.replies[0].text == "봇: change"


async def test_a_caller_gets_the_confirmation_by_text(world: World) -> None:
    await _evening(world)
    caller = await world.conversation("voice", address=MOBILE)
    spoken = await _book(world, caller)
    assert "예약했습니다" in spoken
    assert world.texts.sent and world.texts.sent[0][0] == MOBILE
    assert "예약했습니다" in world.texts.sent[0][1]


async def test_a_picked_time_taken_meanwhile_offers_the_times_again(world: World) -> None:
    await _evening(world)
    first, second = await world.conversation(), await world.conversation()
    await _book(world, first)
    await _book(world, second)  # 09:15
    taken = await world.say(second, "", payload=COMMAND_PREFIX + slot_command(WED_9))
    assert taken.replies[0].text.startswith("그 시간은 방금 찼습니다.")
    off_grid = WED_9 + dt.timedelta(days=1, minutes=7)
    again = await world.say(second, "", payload=COMMAND_PREFIX + slot_command(off_grid))
    assert again.replies[0].text.startswith("그 시간은 방금 찼습니다.")
    entry = await world.service.active(second)
    assert entry is not None and entry.scheduled_for == WED_9 + dt.timedelta(minutes=15)


async def test_no_show_is_recorded_and_the_day_shows_it(world: World) -> None:
    await _evening(world)
    citizen = await world.conversation("sms", address=MOBILE)
    await _book(world, citizen)
    entry = await world.service.active(citizen)
    assert entry is not None
    day = WED_9.astimezone(SEOUL).date()
    assert [e.id for e in await world.service.day_for(KIM, day)] == [entry.id]

    world.clock.now = WED_9 - dt.timedelta(minutes=5)
    await world.service.set_availability(KIM, True)
    assert await world.service.accept(KIM, entry.id) is not None
    assert not await world.service.no_show(KIM, entry.id, None)  # its time has not come
    world.clock.now = WED_9 + dt.timedelta(minutes=10)
    assert await world.service.no_show(KIM, entry.id, "기다렸지만 오지 않음")
    ended = await world.queue.get(entry.id)
    assert ended is not None and ended.outcome == Outcome.NO_SHOW.value
    assert ended.state is QueueState.RESOLVED
    told = world.outputs["sms"].sent[-1][1].text
    assert told.startswith("12월 2일(수) 오전 9시 영상 통화에 들어오지 않으셔서")
    # The day keeps what happened.
    [shown] = await world.service.day_for(KIM, day)
    assert shown.outcome == "no_show"
    assert await world.service.day_for(KIM, day + dt.timedelta(days=1)) == []
