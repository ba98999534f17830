"""A citizen handed to a person and back, through the real gateway and Rasa 3.6.

From the web chat and from SMS: the citizen asks for a sign-language interpreter (real
NLU and actions), is told their place and wait, an interpreter signs in to the console
API and accepts, they write to each other through the citizen's own channel (SMS goes
out through the outbox to the Twilio double, with the real SDK), the bot stays silent
meanwhile, the interpreter hands back and the bot resumes through Rasa's trigger_intent
API with the conversation's context.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.accounts import Role, SqlAccountStore
from assistant.config import to_async_url
from assistant.store.migrate import upgrade
from tests.integration.conftest import Citizen, texts
from tests.stackutil import Stack, running_stack
from tests.twilio_double import TwilioDouble
from tests.twilio_wire import SMS_PATH, signed, sms_form

pytestmark = pytest.mark.rasa

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def handoff_stack(
    rasa_model: Path, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioDouble
) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("handoff-stack")
    env = {
        "SOTONG_TWILIO_API_URL": twilio.url,
        "SOTONG_OUTBOX_POLL_SECONDS": "0.2",
        "SOTONG_VOICE_PRELOAD": "false",  # no calls here
    }
    with running_stack(rasa_model, var_dir, extra_env=env) as running:
        yield running


def _create_account(stack: Stack, username: str, name: str, role: Role) -> None:
    url = to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")

    async def create() -> None:
        await asyncio.to_thread(upgrade, url)
        store = SqlAccountStore.from_url(url)
        try:
            await store.create(username, PASSWORD, name, role)
        finally:
            await store.close()

    asyncio.run(create())


class Interpreter:
    """A person at the console, speaking its JSON API with a signed-in session."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.username = "ksl" + secrets.token_hex(4)
        _create_account(stack, self.username, name, Role.INTERPRETER)
        self.client = httpx.Client(base_url=stack.gateway.url, timeout=30)
        signed_in = self.client.post(
            "/api/auth/login",
            json={"username": self.username, "password": PASSWORD},
            headers={"X-Requested-With": "sotong"},
        )
        assert signed_in.status_code == 200, signed_in.text
        self.csrf = signed_in.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post(
            "/api/console" + path, json=body or {}, headers={"X-CSRF-Token": self.csrf}
        )

    def put(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.put(
            "/api/console" + path, json=body, headers={"X-CSRF-Token": self.csrf}
        )

    def get(self, path: str) -> Any:
        response = self.client.get("/api/console" + path)
        assert response.status_code == 200, response.text
        return response.json()

    def take(self, conversation_id: str) -> int:
        """Accept the waiting request of ``conversation_id``; its id."""
        assert self.post("/availability", {"available": True}).status_code == 200
        request_id = _request_of(self.stack, conversation_id)
        waiting = self.get("/queue")["waiting"]
        assert request_id in [item["id"] for item in waiting], waiting
        # Before it is taken: no transcript and no address in the queue, and the
        # request's details are not readable (404, as if it did not exist).
        assert all("transcript" not in item and "address" not in item for item in waiting)
        assert self.client.get(f"/api/console/requests/{request_id}").status_code == 404
        accepted = self.post(f"/requests/{request_id}/accept")
        assert accepted.status_code == 200, accepted.text
        assert self.post(f"/requests/{request_id}/accept").status_code == 409  # once only
        return request_id

    def transcript(self, request_id: int) -> list[dict[str, Any]]:
        detail = self.get(f"/requests/{request_id}")
        return list(detail["transcript"])

    def close(self) -> None:
        self.client.close()


@pytest.fixture
def gateway(handoff_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=handoff_stack.gateway.url, timeout=30) as client:
        yield client


@pytest.fixture
def interpreter(handoff_stack: Stack) -> Iterator[Interpreter]:
    person = Interpreter(handoff_stack, "김수어")
    yield person
    person.post("/availability", {"available": False})
    person.close()


def _eventually(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def test_web_chat_citizen_is_handed_to_an_interpreter_and_back(
    gateway: httpx.Client, interpreter: Interpreter
) -> None:
    interpreter.post("/availability", {"available": True})
    citizen = Citizen(gateway)
    asked = texts(citizen.say("수어 통역 요청"))
    assert "사람 상담을 요청했습니다" in asked
    assert "다음 차례입니다. 약 15분" in asked  # place 1, one interpreter available
    assert "107" in asked  # the relay centre for sign language at any hour
    status = gateway.get(f"/api/webchat/sessions/{citizen.session_id}/handoff").json()
    assert status["status"]["position"] == 1 and status["status"]["wait_minutes"] == 15

    request_id = interpreter.take(citizen.session_id)
    joined = citizen.transcript()[-1]
    assert joined["sender"] == "bot" and "김수어 님이 연결되었습니다" in joined["text"]

    # The interpreter writes; the citizen reads it as a person's message.
    hello = "안녕하세요, 수어 통역사입니다."
    sent = interpreter.post(f"/requests/{request_id}/messages", {"text": hello})
    assert sent.status_code == 200, sent.text
    last = citizen.transcript()[-1]
    assert last["sender"] == "person" and last["text"] == hello

    # The citizen writes; the bot is silent and the interpreter sees it (RRN masked).
    silent = citizen.say("등본 떼려면 뭐가 필요해요? 제 번호는 900101-1234567")
    assert silent["messages"] == [] and not silent["degraded"]
    seen = interpreter.transcript(request_id)
    assert "등본 떼려면 뭐가 필요해요?" in seen[-1]["text"]
    assert "1234567" not in seen[-1]["text"]
    assert [t["sender"] for t in seen].count("person") == 1

    closed = interpreter.post(
        f"/requests/{request_id}/close", {"notes": "등본 안내함", "hand_back": True}
    )
    assert closed.status_code == 200, closed.text
    after = [m["text"] for m in citizen.transcript()[-3:]]
    assert any("상담이 끝났습니다" in text for text in after)
    assert any("다시 소통이 도와드립니다" in text for text in after)  # Rasa's trigger_intent
    # The interpreter no longer sees the conversation.
    assert interpreter.client.get(f"/api/console/requests/{request_id}").status_code == 404

    # The bot answers again.
    answer = texts(citizen.say("주민등록등본 떼려고 하는데요"))
    assert "[주민등록표 등본·초본 발급]" in answer


def _sms(gateway: httpx.Client, phone: str, body: str) -> list[str]:
    form = sms_form(phone, body)
    response = gateway.post(SMS_PATH, data=form, headers=signed(form))
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.content).findall("Message")]


def _texts_to(twilio: TwilioDouble, phone: str) -> list[str]:
    return [m.body for m in twilio.received if m.to == phone]


def test_sms_citizen_is_handed_to_an_interpreter_and_back(
    gateway: httpx.Client, interpreter: Interpreter, twilio: TwilioDouble, handoff_stack: Stack
) -> None:
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    interpreter.post("/availability", {"available": True})
    asked = "\n".join(_sms(gateway, phone, "수어 통역사 불러주세요"))
    assert "사람 상담을 요청했습니다" in asked
    assert "약 15분" in asked and "취소" in asked

    conversation_id = handoff_stack.sms_conversation(phone)
    request_id = interpreter.take(conversation_id)
    _eventually(lambda: any("김수어 님이 연결되었습니다" in t for t in _texts_to(twilio, phone)))

    interpreter.post(f"/requests/{request_id}/messages", {"text": "문자로 도와드릴게요."})
    _eventually(lambda: "문자로 도와드릴게요." in _texts_to(twilio, phone))

    # While the interpreter holds the conversation the bot does not answer the text.
    assert _sms(gateway, phone, "네 고맙습니다") == []
    assert "네 고맙습니다" in interpreter.transcript(request_id)[-1]["text"]

    closed = interpreter.post(f"/requests/{request_id}/close", {"notes": None, "hand_back": True})
    assert closed.status_code == 200, closed.text
    _eventually(lambda: any("다시 소통이 도와드립니다" in t for t in _texts_to(twilio, phone)))

    answer = "\n".join(_sms(gateway, phone, "기초연금 신청하고 싶어요"))
    assert "기초연금" in answer


def test_sms_citizen_cancels_while_waiting(gateway: httpx.Client, interpreter: Interpreter) -> None:
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    interpreter.post("/availability", {"available": True})
    _sms(gateway, phone, "상담원 연결해 주세요")
    cancelled = "\n".join(_sms(gateway, phone, "취소"))
    assert "사람 연결 요청을 취소했습니다" in cancelled
    # Nothing left for the interpreter from this citizen; the bot answers again.
    assert "기초연금" in "\n".join(_sms(gateway, phone, "기초연금 신청하고 싶어요"))


def test_english_sms_citizen_cancels_as_told_and_stays_subscribed(
    gateway: httpx.Client, interpreter: Interpreter
) -> None:
    # "CANCEL" alone is a carrier opt-out word: the waiting text must ask for something
    # else, and that must cancel the request without unsubscribing the number.
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    # Requests are routed by language: someone who works in English is available.
    works_in_english = {"skills": ["ksl", "person"], "languages": ["ko", "en"]}
    assert interpreter.put("/details", works_in_english).status_code == 200
    interpreter.post("/availability", {"available": True})
    asked = "\n".join(_sms(gateway, phone, "I need to talk to a person please"))
    assert "To leave the queue, send LEAVE." in asked
    cancelled = "\n".join(_sms(gateway, phone, "LEAVE"))
    assert "I cancelled your request for a person" in cancelled
    answer = "\n".join(_sms(gateway, phone, "How do I apply for basic pension?"))
    assert "basic pension" in answer.lower()


def test_after_hours_offers_an_appointment_and_107(gateway: httpx.Client) -> None:
    # Nobody is available (every interpreter of this module is off at the end of their
    # test): the citizen is offered a text (never a voice call: they asked for sign
    # language) or a video appointment, and told of 107.
    citizen = Citizen(gateway)
    asked = citizen.say("수어 통역 요청")
    body = texts(asked)
    assert "지금은 연결할 수 있는 사람이 없습니다" in body and "107" in body
    choices = [b["title"] for b in asked["messages"][-1]["buttons"]]
    assert choices == ["문자로 연락", "영상 통화 예약", "요청 취소"]
    booked = texts(citizen.say("2"))  # a number picks a choice, as on SMS
    assert "영상 통화를" in booked and "예약했습니다" in booked and "예약변경" in booked
    status = gateway.get(f"/api/webchat/sessions/{citizen.session_id}/handoff").json()["status"]
    assert status["contact"] == "video" and status["scheduled_for"]


def _request_of(stack: Stack, conversation_id: str) -> int:
    from assistant.handoff import SqlHandoffQueue

    url = to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")

    async def find() -> int:
        queue = SqlHandoffQueue.from_url(url)
        try:
            entry = await queue.active_for_conversation(conversation_id)
            assert entry is not None
            return entry.id
        finally:
            await queue.close()

    return asyncio.run(find())
