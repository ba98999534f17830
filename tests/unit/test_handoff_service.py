"""The handoff service and the conversation core around the queue.

The world of tests/handoff_world.py: real store and queue (SQLite, migrated), the real
core; the dialogue is a double of Rasa's REST channel and trigger_intent API
(httpx.MockTransport speaking their JSON).
The same flows against the real Rasa server: tests/integration/test_handoff.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from assistant.handoff import SKILL_KSL, SKILL_PERSON, Interpreter, QueueState
from assistant.handoff.records import CONTACT_VIDEO, SEOUL, CallbackState, QueueEntry
from assistant.handoff.service import (
    COMMAND_PREFIX,
    HANDOFF_QUEUE_TOPIC,
    AdmissionLimits,
    HandoffRefused,
    QueueStatus,
    _material,
    _next_start,
    handoff_command,
    person_topic,
)
from assistant.messages import IncomingMessage, OutgoingMessage
from assistant.store import TurnStatus
from tests.handoff_world import (
    KIM,
    PARK,
    T0,
    AccountState,
    Person,
    World,
    make_available,
)


async def test_a_request_is_queued_with_its_place_wait_and_a_cancel_choice(world: World) -> None:
    await make_available(world, KIM)
    citizen = await world.conversation()
    result = await world.say(citizen, "수어 통역 요청")
    assert result.handoff == "sign_language"
    status_message = result.replies[-1]
    assert status_message.text.startswith("다음 차례입니다. 약 15분")
    assert "107" in status_message.text  # KSL: the relay centre at any hour
    assert [b.payload for b in status_message.buttons] == [COMMAND_PREFIX + "cancel"]
    entry = await world.service.active(citizen)
    assert entry is not None and entry.skill == SKILL_KSL and entry.state is QueueState.WAITING
    assert (entry.told_position, entry.told_wait_minutes) == (1, 15)

    # Asking again keeps the one request.
    again = await world.say(citizen, "상담원 연결")
    assert (await world.service.active(citizen)).id == entry.id  # type: ignore[union-attr]
    assert "다음 차례" in again.replies[-1].text


async def test_second_in_line_and_a_person_request_needs_any_person(world: World) -> None:
    await make_available(world, KIM)
    first, second = await world.conversation(), await world.conversation()
    await world.say(first, "상담원 연결")
    result = await world.say(second, "상담원 연결")
    assert result.replies[-1].text.startswith("지금 2번째로 기다리고 있습니다. 약 30분")
    assert "107" not in result.replies[-1].text
    entry = await world.service.active(second)
    assert entry is not None and entry.skill == SKILL_PERSON


async def test_nobody_on_duty_offers_an_appointment_at_the_next_opening(world: World) -> None:
    # Kim works 09:00–18:00 Seoul; it is 20:00 on Tuesday.
    await make_available(world, KIM, work_start=9 * 60, work_end=18 * 60)
    world.clock.now = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)
    citizen = await world.conversation()
    result = await world.say(citizen, "수어 통역 요청")
    offer = result.replies[-1]
    assert "지금은 연결할 수 있는 사람이 없습니다" in offer.text and "107" in offer.text
    # A sign-language request is never offered a voice call: a text instead.
    assert [b.payload for b in offer.buttons] == [
        COMMAND_PREFIX + "text",
        COMMAND_PREFIX + "video",
        COMMAND_PREFIX + "cancel",
    ]
    status = await world.service.status(citizen)
    assert status is not None and status.after_hours and status.wait is None

    booked = await world.say(citizen, "2")  # the number picks the offered choice
    assert "12월 2일(수) 오전 9시" in booked.replies[0].text
    entry = await world.service.active(citizen)
    assert entry is not None and entry.contact == CONTACT_VIDEO
    assert entry.scheduled_for == dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)
    assert world.rasa.messages == ["수어 통역 요청"]  # the choice never reached the bot


async def test_cancel_by_word_or_button_and_only_when_something_is_queued(world: World) -> None:
    citizen = await world.conversation()
    untouched = await world.say(citizen, "취소")
    assert untouched.replies[0].text == "봇: 취소"  # nothing queued: the bot's word
    await world.say(citizen, "상담원")
    cancelled = await world.say(citizen, "취소")
    assert "취소했습니다" in cancelled.replies[0].text
    assert await world.service.active(citizen) is None
    nothing = await world.say(citizen, "요청 취소", payload=COMMAND_PREFIX + "cancel")
    assert "취소할 요청이 없습니다" in nothing.replies[0].text


async def test_while_a_person_holds_the_conversation_the_bot_is_silent(world: World) -> None:
    await make_available(world, KIM)
    citizen = await world.conversation()
    await world.say(citizen, "수어 통역 요청")
    entry = await world.service.active(citizen)
    assert entry is not None
    events = world.push.subscribe(person_topic("kim"))
    world.clock.advance(minutes=4)
    assert await world.service.accept(KIM, entry.id) is not None
    waited = world.metrics.registry.get_sample_value
    assert waited("sotong_handoff_wait_seconds_count", {"skill": "ksl"}) == 1
    assert waited("sotong_handoff_wait_seconds_sum", {"skill": "ksl"}) == 240.0
    joined = world.outputs["webchat"].sent[-1][1]
    assert joined.text == (
        "김수어 님이 연결되었습니다. 이제부터 사람이 답합니다. "
        "상담을 끝내려면 '상담종료'라고 보내세요."
    )
    assert [(b.title, b.payload) for b in joined.buttons] == [
        ("상담 끝내기", COMMAND_PREFIX + "cancel")
    ]

    turn = await world.service.send_to_citizen(KIM, entry.id, "안녕하세요 900101-1234567")
    assert turn is not None and turn.author == "person:kim" and "1234567" not in turn.text
    delivered = world.outputs["webchat"].sent[-1][1]
    assert delivered.author == "person:kim"
    assert (await world.queue.get(entry.id)).state is QueueState.IN_SESSION  # type: ignore[union-attr]

    asked_before = list(world.rasa.messages)
    result = await world.say(citizen, "네 고맙습니다")
    assert result.relayed and result.replies == ()
    assert world.rasa.messages == asked_before  # the bot never saw it
    inbound = (await world.store.transcript(citizen))[-1]
    assert inbound.status is TurnStatus.RELAYED
    seen = [events.get_nowait() for _ in range(events.qsize())]
    assert {"type": "message", "request_id": entry.id, "turn_id": inbound.id} in seen

    # Someone else cannot write, see or close it.
    assert await world.service.send_to_citizen(PARK, entry.id, "x") is None
    assert await world.service.detail(PARK, entry.id) is None
    assert not await world.service.close(PARK, entry.id, None, hand_back=True)


async def test_hand_back_resumes_the_bot_through_trigger_intent(world: World) -> None:
    await make_available(world, KIM)
    citizen = await world.conversation()
    await world.say(citizen, "수어 통역 요청")
    entry = await world.service.active(citizen)
    assert entry is not None
    await world.service.accept(KIM, entry.id)
    assert await world.service.close(KIM, entry.id, "등본 안내", hand_back=True)
    closed = await world.queue.get(entry.id)
    assert closed is not None and closed.outcome == "handed_back" and closed.notes == "등본 안내"
    assert world.rasa.triggered == [(citizen, "resume_assistant")]
    said = [m.text for _, m in world.outputs["webchat"].sent[-3:]]
    assert said == [
        "상담이 끝났습니다. 고맙습니다.",
        "오늘 상담이 도움이 되었나요? '도움이 됐어요'나 '도움이 안 됐어요'로 답해 주세요.",
        "다시 소통이 도와드립니다.",
    ]
    # The bot answers the next message again.
    assert (await world.say(citizen, "등본")).replies[0].text == "봇: 등본"


async def _held_by_kim(world: World, channel: str = "webchat") -> tuple[str, int]:
    await make_available(world, KIM)
    citizen = await world.conversation(channel)
    await world.say(citizen, "수어 통역 요청")
    entry = await world.service.active(citizen)
    assert entry is not None and await world.service.accept(KIM, entry.id) is not None
    assert await world.service.send_to_citizen(KIM, entry.id, "안녕하세요") is not None
    return citizen, entry.id


async def test_the_citizen_can_leave_a_session_with_a_person(world: World) -> None:
    citizen, request_id = await _held_by_kim(world, "sms")
    events = world.push.subscribe(person_topic("kim"))
    relayed = await world.say(citizen, "취소")  # part of the talk, not a way out
    assert relayed.relayed and relayed.replies == ()
    left = await world.say(citizen, "상담종료")
    assert [r.text for r in left.replies] == [
        "사람 상담을 끝냈습니다. 이제 다시 제가 답합니다. 무엇을 도와드릴까요?"
    ]
    entry = await world.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.ABANDONED
    assert entry.outcome == "cancelled"
    seen = [events.get_nowait() for _ in range(events.qsize())]
    assert {"type": "changed", "request_id": request_id} in seen  # the console is told
    assert await world.service.send_to_citizen(KIM, request_id, "여보세요") is None
    assert (await world.say(citizen, "등본")).replies[0].text == "봇: 등본"


async def test_the_leave_button_ends_a_session_on_the_web(world: World) -> None:
    citizen, request_id = await _held_by_kim(world)
    left = await world.say(citizen, "상담 끝내기", payload=COMMAND_PREFIX + "cancel")
    assert "사람 상담을 끝냈습니다" in left.replies[0].text
    assert (await world.queue.get(request_id)).state is QueueState.ABANDONED  # type: ignore[union-attr]


async def test_a_session_whose_person_is_gone_times_out_back_to_the_assistant(
    world: World,
) -> None:
    citizen, request_id = await _held_by_kim(world, "sms")
    world.clock.advance(10 * 60)
    assert await world.service.present(KIM) == 1  # the console's ping
    world.clock.advance(10 * 60)
    assert await world.service.release_absent() == []  # seen 10 minutes ago
    await world.say(citizen, "여보세요?")  # the citizen writing is no sign of the person
    world.clock.advance(6 * 60)
    world.outputs["sms"].sent.clear()
    assert await world.service.release_absent() == [request_id]
    told = [m.text for cid, m in world.outputs["sms"].sent if cid == citizen]
    assert told == [
        "담당자와 연결이 끊어져 사람 상담을 마쳤습니다. 이제 다시 제가 답합니다. "
        "사람이 다시 필요하면 '상담원'이라고 보내세요."
    ]
    entry = await world.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.RESOLVED
    assert entry.outcome == "timed_out"
    assert (await world.say(citizen, "등본")).replies[0].text == "봇: 등본"
    assert await world.service.release_absent() == []


async def test_a_disabled_persons_sessions_go_back_in_line(world: World) -> None:
    citizen, request_id = await _held_by_kim(world)
    assert await world.service.release_absent() == []  # kim's account is active
    world.roster.accounts["kim"] = AccountState(False)  # `sotong accounts disable kim`
    world.outputs["webchat"].sent.clear()
    assert await world.service.release_absent() == [request_id]
    entry = await world.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.WAITING and entry.accepted_by is None
    told = world.outputs["webchat"].sent[-1][1]
    assert told.text.startswith(
        "연결되었던 담당자가 상담을 이어갈 수 없게 되었습니다. 다른 분을 기다립니다.\n"
    )
    assert [b.payload for b in told.buttons][-1] == COMMAND_PREFIX + "cancel"
    # The bot answers meanwhile; the next person takes the request.
    assert (await world.say(citizen, "등본")).replies[0].text == "봇: 등본"
    assert not (await world.queue.get_interpreter("kim")).available  # type: ignore[union-attr]
    lee = Person("lee", "이통역")
    await make_available(world, lee)
    assert await world.service.accept(lee, request_id) is not None
    # An account that no longer exists holds nothing either.
    world.roster.accounts.pop("lee", None)
    assert await world.service.release_absent() == [request_id]


async def _ask_from(world: World, origin: str, channel: str = "webchat") -> Any:
    citizen = await world.conversation(channel)
    return citizen, await world.core.handle(
        IncomingMessage(citizen, "수어 통역 요청", channel=channel, origin=origin)
    )


async def test_a_flood_from_one_source_is_refused_and_shown_to_staff(world: World) -> None:
    """The review's H2 reproduction, through the core: one address opening sessions and
    asking for an interpreter in each. The first ten are queued, the rest refused in
    plain words (with 107); staff see the refusals and that they came from one place;
    a citizen elsewhere is still queued."""
    flood = "203.0.113.9"
    for _ in range(10):
        _, result = await _ask_from(world, flood)
        assert result.handoff == "sign_language"
    _, refused = await _ask_from(world, flood)
    assert refused.handoff is None
    told = refused.replies[-1].text
    assert told.startswith("짧은 시간에 요청이 너무 많았습니다.") and "107" in told
    assert (
        world.metrics.registry.get_sample_value(
            "sotong_handoff_refused_total", {"reason": "too_many"}
        )
        == 1
    )
    neighbour, queued = await _ask_from(world, "198.51.100.20")
    assert queued.handoff == "sign_language" and await world.service.active(neighbour)
    seen = await world.service.refused_recently()
    assert (seen.total, seen.from_one_source) == (1, 1)
    world.clock.advance(3601)  # an hour later the source may ask again
    _, again = await _ask_from(world, flood)
    assert again.handoff == "sign_language"
    assert (await world.service.refused_recently()).total == 0


async def test_one_conversation_asking_over_and_over_is_refused(world: World) -> None:
    citizen = await world.conversation("sms")
    for _ in range(4):
        await world.say(citizen, "상담원")
        assert (await world.say(citizen, "대기취소")).replies
    refused = await world.say(citizen, "상담원")
    assert refused.handoff is None and "요청이 너무 많았습니다" in refused.replies[-1].text
    assert await world.service.active(citizen) is None


async def test_a_full_queue_refuses_new_requests_but_never_a_walk_in(world: World) -> None:
    world.service._limits = AdmissionLimits(queue_cap=2)  # a small queue for the test
    for origin in ("a", "b"):
        _, result = await _ask_from(world, origin)
        assert result.handoff == "sign_language"
    _, refused = await _ask_from(world, "c")
    assert refused.replies[-1].text.startswith("지금은 기다리는 분이 너무 많아")
    # A staff member asking for a walk-in citizen at the desk is always queued.
    walk_in = await world.store.get_conversation(await world.conversation("desk"))
    assert walk_in is not None
    status = await world.service.request(
        walk_in, reason="sign_language", service=None, language="ko", requested_by=PARK
    )
    assert status.position == 3
    assert (
        world.metrics.registry.get_sample_value("sotong_handoff_refused_total", {"reason": "busy"})
        == 1
    )


async def test_a_request_of_another_region_cannot_be_taken(world: World) -> None:
    await make_available(world, PARK)
    citizen = await world.conversation()
    conversation = await world.store.get_conversation(citizen)
    assert conversation is not None
    status = await world.service.request(
        conversation, reason="person", service=None, language="ko", region="mapo"
    )
    assert await world.service.queue_for(PARK) == []
    assert await world.service.accept(PARK, status.request_id) is None


async def test_sms_citizens_are_texted_only_when_their_place_improves_materially(
    world: World,
) -> None:
    await make_available(world, KIM)
    people = [Person(f"p{i}", f"상담{i}", role="staff") for i in range(4)]
    for person in people[:3]:
        await make_available(world, person)
    citizens = [await world.conversation("sms") for _ in range(5)]
    for citizen in citizens:
        await world.say(citizen, "상담원")
    last = citizens[-1]
    assert (await world.service.status(last)).position == 5  # type: ignore[union-attr]
    world.outputs["sms"].sent.clear()

    await world.service.refresh_positions()  # nothing changed
    assert world.outputs["sms"].sent == []
    assert world.metrics.registry.get_sample_value("sotong_handoff_waiting") == 5

    for person, citizen in zip(people[:3], citizens[:3], strict=True):
        entry = await world.service.active(citizen)
        assert entry is not None and await world.service.accept(person, entry.id)
    texts = [m.text for cid, m in world.outputs["sms"].sent if cid == last]
    # Place 5 → 4 → 3 → 2: texted once, when three places better, with place and wait.
    assert len(texts) == 1 and texts[0].startswith("지금 2번째로 기다리고 있습니다. 약 15분")


def test_handoff_commands() -> None:
    assert handoff_command("취소", None) == "cancel"
    assert handoff_command("대기취소", None) == "cancel"
    assert handoff_command(" LEAVE ", None) == "cancel"
    # With a person, "취소" is part of the talk; only a leave word or the button leaves.
    assert handoff_command("취소", None, held=True) is None
    assert handoff_command("상담 종료", None, held=True) == "cancel"
    assert handoff_command("leave", None, held=True) == "cancel"
    assert handoff_command("x", COMMAND_PREFIX + "cancel", held=True) == "cancel"
    assert handoff_command(" Cancel. ", None) == "cancel"
    assert handoff_command("아무거나", COMMAND_PREFIX + "video") == "video"
    assert handoff_command("x", COMMAND_PREFIX + "nonsense") is None
    assert handoff_command("취소하고 싶은 게 있어요", None) is None
    assert handoff_command("/request_human", "/request_human") is None


def _entry(position: int | None, wait: int | None) -> QueueEntry:
    return QueueEntry(
        id=1,
        conversation_id="c",
        reason="person",
        service=None,
        channel="sms",
        language="ko",
        state=QueueState.WAITING,
        skill=SKILL_PERSON,
        created_at=T0,
        told_position=position,
        told_wait_minutes=wait,
    )


def _status(position: int | None, wait: int | None) -> QueueStatus:
    minutes = None if wait is None else dt.timedelta(minutes=wait)
    return QueueStatus(1, QueueState.WAITING, position, minutes, after_hours=False)


@pytest.mark.parametrize(
    ("told", "now", "material"),
    [
        ((5, 75), (5, 75), False),
        ((5, 75), (4, 60), False),  # one place, 15 minutes: not worth a text
        ((5, 75), (2, 30), True),  # three places
        ((2, 30), (1, 15), True),  # next in line
        ((4, 60), (3, 20), True),  # a much shorter wait (more people came)
        ((3, 45), (2, 20), False),  # one place, 25 minutes
        ((2, 30), (3, 45), False),  # worse: shown on request, not texted
        ((2, 30), (2, None), True),  # nobody available any more: choices offered
        ((None, None), (2, 30), True),  # someone became available
    ],
)
def test_what_is_material(
    told: tuple[int | None, int | None], now: tuple[int | None, int | None], material: bool
) -> None:
    assert _material(_entry(*told), _status(*now)) is material


def test_next_start_of_working_hours() -> None:
    day = Interpreter("a", "A", work_start=9 * 60, work_end=18 * 60)
    night = Interpreter("b", "B", work_start=22 * 60, work_end=6 * 60)
    evening = dt.datetime(2026, 12, 1, 20, 0, tzinfo=SEOUL)
    assert _next_start(day, evening) == dt.datetime(2026, 12, 2, 9, 0, tzinfo=SEOUL)
    assert _next_start(night, evening) == dt.datetime(2026, 12, 1, 22, 0, tzinfo=SEOUL)
    assert _next_start(day, dt.datetime(2026, 12, 1, 10, 0, tzinfo=SEOUL)).hour == 10
    assert _next_start(Interpreter("c", "C"), evening) == evening


async def test_queue_changes_are_announced_to_consoles(world: World) -> None:
    consoles = world.push.subscribe(HANDOFF_QUEUE_TOPIC)
    citizen = await world.conversation()
    chat = world.push.subscribe(citizen)
    await world.say(citizen, "상담원")
    entry = await world.service.active(citizen)
    assert entry is not None
    assert consoles.get_nowait() == {"type": "changed", "request_id": entry.id}
    assert chat.get_nowait() == {"type": "handoff_changed"}


async def test_an_appointment_for_later_is_not_ahead_of_citizens_waiting_now(
    world: World,
) -> None:
    await make_available(world, KIM, work_start=9 * 60, work_end=18 * 60)
    world.clock.now = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)  # 20:00 in Seoul
    early = await world.conversation()
    await world.say(early, "상담원")
    await world.say(early, "1", payload=COMMAND_PREFIX + "callback")
    await world.say(early, "010-1234-5678")  # 09:00 tomorrow
    world.clock.advance(minutes=5)
    later = await world.conversation()
    await world.say(later, "상담원")
    status = await world.service.status(later)
    assert status is not None and status.position == 1  # the appointment is not in line
    world.clock.now = dt.datetime(2026, 12, 2, 0, 30, tzinfo=dt.UTC)  # 09:30: its time came
    status = await world.service.status(later)
    assert status is not None and status.position == 2


# ---- call-backs: the number, with consent; never a voice call for a deaf citizen --------
async def _after_hours(world: World) -> None:
    await make_available(world, KIM, work_start=9 * 60, work_end=18 * 60)
    world.clock.now = dt.datetime(2026, 12, 1, 11, 0, tzinfo=dt.UTC)  # 20:00 in Seoul


def _payloads(reply: OutgoingMessage) -> list[str]:
    return [b.payload.removeprefix(COMMAND_PREFIX) for b in reply.buttons]


async def test_a_web_citizen_is_asked_for_the_number_to_call_with_what_it_is_kept_for(
    world: World,
) -> None:
    await _after_hours(world)
    citizen = await world.conversation()
    offer = (await world.say(citizen, "상담원")).replies[-1]
    assert _payloads(offer) == ["callback", "video", "cancel"]

    asked = (await world.say(citizen, "1")).replies[0]  # the first choice: call me back
    assert "전화받을 번호를 보내 주세요" in asked.text and "14일 뒤에 지웁니다" in asked.text
    assert _payloads(asked) == ["cancel"]
    entry = await world.service.active(citizen)
    assert entry is not None
    assert (entry.contact, entry.callback_state, entry.scheduled_for) == (
        "callback",
        CallbackState.ASKING,
        None,
    )

    # A question meanwhile goes to the assistant; the number is still asked for.
    answered = await world.say(citizen, "기초연금은 얼마예요?")
    assert answered.replies[0].text == "봇: 기초연금은 얼마예요?"
    wrong = (await world.say(citizen, "010-12")).replies[0]
    assert "전화번호를 읽지 못했습니다" in wrong.text

    world.clock.advance(minutes=1)
    booked = (await world.say(citizen, "제 번호는 010 1234 5678 이에요")).replies[0]
    assert "12월 2일(수) 오전 9시에 담당자가 010-1234-5678(으)로 전화드립니다" in booked.text
    assert _payloads(booked) == ["other_number", "cancel"]
    entry = await world.service.active(citizen)
    assert entry is not None
    assert (entry.callback_number, entry.callback_state, entry.callback_consent_at) == (
        "+821012345678",
        CallbackState.CONFIRMED,
        world.clock.now,
    )
    assert entry.scheduled_for == dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)
    # Only the question reached the dialogue: never the number, nor the choices.
    assert world.rasa.messages == ["상담원", "기초연금은 얼마예요?"]


async def test_an_sms_citizen_confirms_the_number_they_text_from_or_gives_another(
    world: World,
) -> None:
    await _after_hours(world)
    sms = (await world.core.start("sms", address="+821099998888")).id
    await world.say(sms, "상담원")
    proposed = (await world.say(sms, "1")).replies[0]
    assert proposed.text == "지금 쓰시는 번호 010-9999-8888(으)로 전화드릴까요?"
    assert _payloads(proposed) == ["this_number", "other_number", "cancel"]
    entry = await world.service.active(sms)
    assert entry is not None and entry.callback_state is CallbackState.CONFIRMING
    assert entry.scheduled_for is None  # nothing is booked before the citizen says yes

    booked = (await world.say(sms, "1")).replies[0]
    assert "010-9999-8888(으)로 전화드립니다" in booked.text
    entry = await world.service.active(sms)
    assert entry is not None and entry.callback_state is CallbackState.CONFIRMED
    assert entry.callback_number == "+821099998888" and entry.scheduled_for is not None

    again = (await world.say(sms, "1")).replies[0]  # "another number" on the booked message
    assert "전화받을 번호를 보내 주세요" in again.text
    rebooked = (await world.say(sms, "02-123-4567")).replies[0]  # a landline takes a call
    assert "02-123-4567(으)로 전화드립니다" in rebooked.text


@pytest.mark.parametrize("need", ["deaf", "hard_of_hearing"])
async def test_a_deaf_citizen_is_offered_a_text_never_a_voice_call(world: World, need: str) -> None:
    await _after_hours(world)
    citizen = (await world.core.start("webchat", "web-deaf", accessibility={need: True})).id
    offer = (await world.say(citizen, "상담원")).replies[-1]
    assert "문자 연락이나 영상 통화 예약" in offer.text
    assert _payloads(offer) == ["text", "video", "cancel"]
    # Even a call-back asked for by its payload (an old page's button) becomes a text.
    asked = (await world.say(citizen, "전화 예약", payload=COMMAND_PREFIX + "callback")).replies[0]
    assert "문자 받을 휴대전화 번호를 보내 주세요" in asked.text
    landline = (await world.say(citizen, "02-123-4567")).replies[0]
    assert "휴대전화로만" in landline.text
    booked = (await world.say(citizen, "010-5555-4444")).replies[0]
    assert "010-5555-4444(으)로 문자드립니다" in booked.text
    entry = await world.service.active(citizen)
    assert entry is not None and (entry.contact, entry.callback_number) == (
        "text",
        "+821055554444",
    )


async def test_a_caller_s_keyed_number_books_the_call_back_at_once(world: World) -> None:
    await _after_hours(world)
    call = await world.core.start("voice", address="+821077776666")
    status = await world.service.book_callback(call, "+821077776666", "ko", origin=None)
    assert (status.contact, status.callback_number) == ("callback", "+821077776666")
    assert status.scheduled_for == dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)
    entry = await world.service.active(call.id)
    assert entry is not None and entry.reason == "callback"
    assert entry.callback_consent_at == world.clock.now


async def test_requests_are_routed_by_the_citizen_s_language_too(world: World) -> None:
    await make_available(world, KIM)  # works in Korean only (the default)
    conversation = await world.core.start("webchat", "web-en", language="en")
    status = await world.service.request(conversation, reason="person", service=None, language="en")
    # Nobody available works in English: no wait to promise, the appointment offered.
    assert status.wait is None
    assert world.service.status_message(status, "en").buttons[0].payload.endswith("callback")
    assert await world.service.queue_for(KIM) == []
    assert await world.service.accept(KIM, status.request_id) is None

    await world.service.set_own_details(
        KIM, hours=None, skills=("ksl", "person"), languages=("ko", "en"), phone=None
    )
    assert [e.id for e in await world.service.queue_for(KIM)] == [status.request_id]
    again = await world.service.status(conversation.id)
    assert again is not None and again.wait is not None
    assert await world.service.accept(KIM, status.request_id) is not None


async def test_a_foreign_resident_s_request_goes_to_a_person_who_speaks_their_language(
    world: World,
) -> None:
    await make_available(world, KIM)  # Korean only
    sms = (await world.core.start("sms", address="+821033334444")).id
    helped = (await world.say(sms, "Tôi cần giấy chứng nhận cư trú")).replies[0]
    assert helped.buttons[0].title == "Nhân viên nói tiếng Việt"
    asked = await world.say(sms, "1")
    assert asked.handoff == "foreign_language"
    entry = await world.service.active(sms)
    assert entry is not None and (entry.language, entry.reason) == ("vi", "foreign_language")
    assert await world.service.queue_for(KIM) == []  # she does not speak Vietnamese

    await world.service.set_own_details(
        KIM, hours=None, skills=("ksl", "person"), languages=("ko", "vi"), phone=None
    )
    assert [e.id for e in await world.service.queue_for(KIM)] == [entry.id]
    assert await world.service.accept(KIM, entry.id) is not None


async def test_a_foreign_resident_refused_by_a_full_queue_is_told_only_why(
    world: World,
) -> None:
    world.service._limits = AdmissionLimits(queue_cap=0)  # nobody more can wait
    sms = (await world.core.start("sms", address="+821033335555")).id
    await world.say(sms, "Мне нужна справка о регистрации")
    refused = await world.say(sms, "1")
    assert refused.handoff is None
    # Not "a person who speaks Russian will answer you here": the refusal and 107 only.
    assert [r.text for r in refused.replies] == [
        world.service.refusal_message(HandoffRefused("busy"), "ko").text
    ]


async def test_closing_tells_the_outcome_and_asks_once_whether_it_helped(world: World) -> None:
    await make_available(world, KIM)
    sms = (await world.core.start("sms", address="+821044445555")).id
    await world.say(sms, "상담원")
    entry = await world.service.active(sms)
    assert entry is not None
    await world.service.accept(KIM, entry.id)
    words = "기초연금 신청서를 함께 썼습니다. 다음 주까지 통장 사본을 내세요."
    assert await world.service.close(KIM, entry.id, "내부 메모", False, closing_words=words)
    goodbye, question = (m for _, m in world.outputs["sms"].sent[-2:])
    assert goodbye.text == f"상담이 끝났습니다. 고맙습니다.\n담당자가 남긴 말: {words}"
    assert "내부 메모" not in goodbye.text  # the notes are the team's, not the citizen's
    assert question.text.startswith("오늘 상담이 도움이 되었나요?")
    assert [b.payload for b in question.buttons] == [
        COMMAND_PREFIX + "helpful",
        COMMAND_PREFIX + "not_helpful",
    ]

    thanked = await world.say(sms, "2")  # by number on SMS: "it did not help"
    assert thanked.replies[0].text.startswith("답해 주셔서 고맙습니다")
    ended = await world.queue.get(entry.id)
    assert ended is not None and ended.helpful is False and ended.feedback_at is not None
    again = await world.say(sms, "도움이 됐어요", payload=COMMAND_PREFIX + "helpful")
    assert again.replies[0].text.startswith("이미 답해 주셨습니다")
    ended = await world.queue.get(entry.id)
    assert ended is not None and ended.helpful is False  # one answer a session
    assert "2" not in world.rasa.messages  # the answer never reached the dialogue


async def test_a_caller_answers_whether_it_helped_by_text_in_words(world: World) -> None:
    # The call is over: the question reached the caller by SMS, and they answer in the
    # number's SMS conversation, where its buttons were never offered.
    await make_available(world, KIM)
    caller = "+821066667777"
    call = (await world.core.start("voice", address=caller)).id
    status = await world.service.request(
        await world.store.get_conversation(call),  # type: ignore[arg-type]
        reason="person",
        service=None,
        language="ko",
    )
    await world.service.accept(KIM, status.request_id)
    assert await world.service.close(KIM, status.request_id, None, False)
    sms = (await world.core.start("sms", address=caller)).id
    answered = await world.say(sms, "도움이 됐어요")
    assert answered.replies[0].text.startswith("답해 주셔서 고맙습니다")
    ended = await world.queue.get(status.request_id)
    assert ended is not None and ended.helpful is True
    # Without a question pending, the same words are not taken as an answer twice.
    assert (await world.say(sms, "도움이 안 됐어요")).replies[0].text.startswith("이미 답해")
