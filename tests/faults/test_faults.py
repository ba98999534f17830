"""Faults, end to end (issue 16's proof): the real gateway process and Rasa server, a
Twilio double, and what goes wrong in the field — the gateway killed with ``kill -9``
in the middle of a web chat turn, an SMS turn and a call's turn, Rasa killed and
started again, the database locked for 10 s, Twilio's REST API answering 500, 429 and
not at all.

Each scenario counts the messages citizens sent, those answered, and those answered
twice. Answered: the transcript holds a reply to the message. Answered twice: one of
its replies (other than the plain "kept for later" apology) came twice — what a
citizen would see. Every scenario must end with 0 lost and 0 answered twice.

A call cannot outlive its gateway (the Media Stream is a socket to the process that
died; Twilio ends the call): what a crash must not lose is the caller's sentence, which
is answered by text after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import WebSocketException

from assistant.store import TurnDirection
from assistant.texts import say
from tests.speech_data import korean_dev_manifest
from tests.stackutil import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, Stack, running_stack
from tests.twilio_double import TwilioDouble
from tests.twilio_wire import SMS_PATH, signed, sms_form
from tests.voice_audio import recorded_pcm8k
from tests.voice_calls import call
from voice.evaluation import read_manifest

pytestmark = pytest.mark.rasa

# Real read Korean from the tuning set (a citizen's sentence on the phone).
CALL_CLIP = "ko_test_0000.wav"
QUESTIONS = [
    "기초연금 신청 방법 알려주세요",
    "전입신고 하려면 뭐가 필요해요",
    "주민등록등본 떼는 법",
]
# Replies that say "kept, answered later": they may precede the real answer.
KEPT = {say("dialogue_unavailable", "ko"), say("dialogue_unavailable", "en")}


@dataclass
class Tally:
    """What citizens sent and got back."""

    sent: int = 0
    answered: int = 0
    answered_twice: int = 0

    def __str__(self) -> str:
        lost = self.sent - self.answered
        return (
            f"sent {self.sent}, answered {self.answered}, lost {lost}, twice {self.answered_twice}"
        )


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioDouble]:
    with TwilioDouble(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN) as double:
        yield double


@pytest.fixture(scope="module")
def faults_stack(
    rasa_model: Path, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioDouble
) -> Iterator[Stack]:
    env = {
        "SOTONG_TWILIO_API_URL": twilio.url,
        "SOTONG_OUTBOX_POLL_SECONDS": "0.2",
        "SOTONG_OUTBOX_BASE_DELAY_SECONDS": "0.2",
        "SOTONG_OUTBOX_MAX_DELAY_SECONDS": "1",
        "SOTONG_VOICE_PRELOAD": "false",
        # The call below goes straight to the dialogue: no spoken confirmation first.
        "SOTONG_VOICE_CONFIRM_BELOW": "0",
        "SOTONG_VOICE_WHISPER_CONFIRM_BELOW": "0",
        # Whisper, too, is loaded by that first call (no preload). On a busy machine the
        # load outlasts the usual budget (1.2 s + 0.2 s a second of speech), and past it
        # the gateway asks the caller to confirm Vosk's words: a question the call below
        # does not answer (it failed so once in CI). The budget is tests/unit's concern.
        "SOTONG_VOICE_SECOND_PASS_BUDGET_MS": "120000",
    }
    with running_stack(rasa_model, tmp_path_factory.mktemp("faults"), extra_env=env) as stack:
        yield stack


def tally(stack: Stack, sent: dict[str, list[str]], wait: float = 60.0) -> Tally:
    """Count, waiting up to ``wait`` s for kept messages to be answered: for each
    conversation, the texts its citizen sent."""
    deadline = time.monotonic() + wait
    while True:
        result = Tally()
        transcripts = stack.transcripts(list(sent))
        for cid, texts in sent.items():
            turns = transcripts[cid]
            for text in texts:
                result.sent += 1
                inbound = [
                    t for t in turns if t.direction is TurnDirection.INBOUND and t.text == text
                ]
                replies = [
                    t.text for t in turns if inbound and t.reply_to in {i.id for i in inbound}
                ]
                answers = [r for r in replies if r not in KEPT]
                if answers:
                    result.answered += 1
                if len(inbound) > 1 or any(n > 1 for n in Counter(answers).values()):
                    result.answered_twice += 1
        if result.answered == result.sent or time.monotonic() > deadline:
            return result
        time.sleep(1.0)


def _restart(stack: Stack) -> None:
    stack.gateway.start()
    stack.gateway.wait_ready()


def _sms(url: str, phone: str, body: str, sid: str, timeout: float = 30) -> list[str] | None:
    form = sms_form(phone, body, sid=sid)
    try:
        response = httpx.post(url + SMS_PATH, data=form, headers=signed(form), timeout=timeout)
    except httpx.HTTPError:
        return None  # the gateway died under the request: Twilio retries
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.content).findall("Message")]


# ---- the gateway killed in the middle of turns -----------------------------------------
def test_gateway_killed_mid_web_chat_turn(faults_stack: Stack) -> None:
    stack = faults_stack
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        sessions = [
            client.post("/api/webchat/sessions", json={"language": "ko"}).json()["session_id"]
            for _ in QUESTIONS
        ]

    def post(session: str, text: str, cid: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{stack.gateway.url}/api/webchat/sessions/{session}/messages",
                json={"text": text, "client_message_id": cid},
                timeout=30,
            )

    cids = {s: f"w-fault-{secrets.token_hex(4)}" for s in sessions}
    with stack.rasa_paused():
        threads = [
            threading.Thread(target=post, args=(s, q, cids[s]))
            for s, q in zip(sessions, QUESTIONS, strict=True)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # every message stored, every turn waiting on the dialogue
        stack.gateway.kill()
        for thread in threads:
            thread.join(timeout=30)
    _restart(stack)
    # The page sends what it did not see answered again, with the same id.
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        for session, question in zip(sessions, QUESTIONS, strict=True):
            response = client.post(
                f"/api/webchat/sessions/{session}/messages",
                json={"text": question, "client_message_id": cids[session]},
            )
            assert response.status_code == 200, response.text
    result = tally(stack, {s: [q] for s, q in zip(sessions, QUESTIONS, strict=True)})
    print(f"[faults] gateway kill -9 mid web chat turn: {result}")
    assert (result.answered, result.answered_twice) == (result.sent, 0), str(result)


def test_gateway_killed_mid_sms_turn(faults_stack: Stack, twilio: TwilioDouble) -> None:
    stack = faults_stack
    phones = ["+8210" + "".join(secrets.choice("0123456789") for _ in range(8)) for _ in QUESTIONS]
    sids = ["SM" + secrets.token_hex(16) for _ in QUESTIONS]
    with stack.rasa_paused():
        threads = [
            threading.Thread(target=_sms, args=(stack.gateway.url, p, q, sid))
            for p, q, sid in zip(phones, QUESTIONS, sids, strict=True)
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        stack.gateway.kill()
        for thread in threads:
            thread.join(timeout=30)
    _restart(stack)
    # Twilio retries a webhook that got no answer, with the same MessageSid.
    for phone, question, sid in zip(phones, QUESTIONS, sids, strict=True):
        assert _sms(stack.gateway.url, phone, question, sid) is not None
    sent = {stack.sms_conversation(p): [q] for p, q in zip(phones, QUESTIONS, strict=True)}
    result = tally(stack, sent)
    print(f"[faults] gateway kill -9 mid SMS turn: {result}")
    assert (result.answered, result.answered_twice) == (result.sent, 0), str(result)


def test_gateway_killed_mid_call_turn(faults_stack: Stack, twilio: TwilioDouble) -> None:
    """A caller's sentence (real read Korean) reaches the dialogue, which hangs; the
    gateway dies with ``kill -9``, and the call with it (Twilio's stream ends). After the
    restart the kept turn is answered by text to the caller — once, though Rasa, woken,
    may have finished the turn the dead gateway asked for (its tracker tells; L7)."""
    stack = faults_stack
    caller = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    clip = next(c for c in read_manifest(korean_dev_manifest()) if c.path.name == CALL_CLIP)

    kept_in: list[str] = []

    async def call_until_the_turn_is_kept() -> None:
        # The stream dies with the gateway: the peer's complaints about it are expected.
        with contextlib.suppress(OSError, ConnectionError, WebSocketException):
            async with call(stack.gateway.url, caller) as (answered, peer):
                kept_in.append(answered.conversation_id)
                await peer.wait_for("media", timeout=120)  # the model loads at first call
                await peer.wait_until_quiet(1.5, 60)
                with stack.rasa_paused():
                    await peer.say(recorded_pcm8k(clip.path))
                    if not await asyncio.to_thread(_inbound_stored, stack, kept_in[0]):
                        heard = _log_lines(stack.gateway.log_path, "voice.")
                        pytest.fail(f"the caller's sentence never reached the dialogue:\n{heard}")
                    await asyncio.sleep(1.0)  # the gateway waits on the paused dialogue
                    stack.gateway.kill()

    asyncio.run(call_until_the_turn_is_kept())
    conversation_id = kept_in[0]
    _restart(stack)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(m.to == caller for m in twilio.received):
        time.sleep(1.0)
    time.sleep(3)  # long enough for a second text to show, were one sent
    texted = [m.body for m in twilio.received if m.to == caller]
    turns = stack.transcript(conversation_id)
    inbound = [t for t in turns if t.direction is TurnDirection.INBOUND]
    answers = [
        t.text for t in turns if inbound and t.reply_to == inbound[0].id and t.text not in KEPT
    ]
    twice = len(inbound) > 1 or any(n > 1 for n in Counter(answers).values())
    result = Tally(sent=1, answered=int(bool(answers)), answered_twice=int(twice))
    print(f"[faults] gateway kill -9 mid call turn: {result}; texted {len(texted)}")
    assert (result.answered, result.answered_twice) == (1, 0), (str(result), turns)
    assert len(texted) == len(set(texted)) >= 1, texted


def _log_lines(path: Path, containing: str, last: int = 30) -> str:
    """The gateway log's last lines that contain ``containing`` (for a failure's message)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join([line for line in lines if containing in line][-last:])


def _inbound_stored(stack: Stack, conversation_id: str, wait: float = 60.0) -> bool:
    """Whether the conversation got a turn from its citizen within ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        turns = stack.transcript(conversation_id)
        if any(t.direction is TurnDirection.INBOUND for t in turns):
            return True
        time.sleep(0.5)
    return False


# ---- the dialogue killed and started again ----------------------------------------------
def test_rasa_killed_and_restarted(faults_stack: Stack) -> None:
    stack = faults_stack
    stack.rasa.kill()
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        session = client.post("/api/webchat/sessions", json={"language": "ko"}).json()["session_id"]
        for question in QUESTIONS:
            kept = client.post(
                f"/api/webchat/sessions/{session}/messages", json={"text": question}
            ).json()
            assert kept["degraded"] is True  # a plain answer now, the message kept
    for question in QUESTIONS:
        assert _sms(stack.gateway.url, phone, question, "SM" + secrets.token_hex(16))
    stack.rasa.start()
    stack.rasa.wait_ready()
    sent = {session: list(QUESTIONS), stack.sms_conversation(phone): list(QUESTIONS)}
    result = tally(stack, sent, wait=90)
    print(f"[faults] Rasa killed and restarted: {result}")
    assert (result.answered, result.answered_twice) == (result.sent, 0), str(result)


# ---- the database unavailable for 10 s --------------------------------------------------
def test_database_locked_for_ten_seconds(faults_stack: Stack, twilio: TwilioDouble) -> None:
    """SQLite's stand-in for an unreachable database: another process holds an
    exclusive lock for 10 s, twice the store's wait (5 s). A web chat message meets a
    503 in plain words and the page sends it again (same message id) until it is
    taken; an SMS is kept on disk, the citizen told so at once, and the answer texted
    once the database is back (review M12). None is lost, none answered twice."""
    stack = faults_stack
    phone = "+821055500016"
    with httpx.Client(base_url=stack.gateway.url, timeout=60) as client:
        sessions = [
            client.post("/api/webchat/sessions", json={"language": "ko"}).json()["session_id"]
            for _ in QUESTIONS
        ]
        lock = sqlite3.connect(stack.var_dir / "sotong.db", timeout=30, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        refused: list[int] = []
        results: list[int] = []

        def post(session: str, text: str) -> None:
            # What the page does: a 5xx keeps the message and it is sent again.
            message_id = secrets.token_hex(8)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                response = httpx.post(
                    f"{stack.gateway.url}/api/webchat/sessions/{session}/messages",
                    json={"text": text, "client_message_id": message_id},
                    timeout=60,
                )
                if response.status_code != 503:
                    break
                assert "다시 보내 주세요" in response.json()["detail"]
                refused.append(503)
                time.sleep(1)
            results.append(response.status_code)

        threads = [
            threading.Thread(target=post, args=(s, q))
            for s, q in zip(sessions, QUESTIONS, strict=True)
        ]
        for thread in threads:
            thread.start()
        sms_started = time.monotonic()
        sms_reply = _sms(stack.gateway.url, phone, QUESTIONS[0], "SM" + secrets.token_hex(16))
        sms_seconds = time.monotonic() - sms_started
        time.sleep(max(0.0, 10 - sms_seconds))
        lock.execute("COMMIT")
        lock.close()
        for thread in threads:
            thread.join(timeout=90)
    assert results == [200] * len(QUESTIONS), results
    assert refused, "the lock outlasted the store's wait: some message met a 503"
    assert sms_reply == [say("dialogue_unavailable", "ko")]
    assert sms_seconds < 12, "answered inside Twilio's 15 s wait"
    sent = {s: [q] for s, q in zip(sessions, QUESTIONS, strict=True)}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(AssertionError):  # stored once the database is back
            sent[stack.sms_conversation(phone)] = [QUESTIONS[0]]
            break
        time.sleep(1)
    result = tally(stack, sent)
    print(f"[faults] database locked 10 s: {result}; web chat 503s then resent: {len(refused)}")
    assert (result.answered, result.answered_twice) == (result.sent, 0), str(result)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(m.to == phone for m in twilio.received):
        time.sleep(0.5)
    time.sleep(2)  # long enough for a second text to show, were one sent
    texted = [m.body for m in twilio.received if m.to == phone]
    assert len(texted) == 1, texted  # the kept SMS's answer, once
    assert texted[0] not in KEPT


# ---- Twilio's REST API failing ----------------------------------------------------------
@pytest.mark.parametrize(
    ("failure", "plan"),
    [("500", lambda t: t.fail_next(3, 500)), ("429", lambda t: t.fail_next(3, 429)),
     ("timeout", lambda t: t.hang_next(2, 20))],
)  # fmt: skip
def test_outbox_texts_get_through_twilio_failures(
    faults_stack: Stack, twilio: TwilioDouble, failure: str, plan: object
) -> None:
    """Texts the gateway sends on its own (here: answers to SMS kept while Rasa was
    down) reach Twilio once each, whatever Twilio answered first."""
    stack = faults_stack
    phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
    stack.rasa.kill()
    for question in QUESTIONS:
        assert _sms(stack.gateway.url, phone, question, "SM" + secrets.token_hex(16))
    plan(twilio)  # type: ignore[operator]
    stack.rasa.start()
    stack.rasa.wait_ready()
    result = tally(stack, {stack.sms_conversation(phone): list(QUESTIONS)}, wait=90)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        bodies = [m.body for m in twilio.received if m.to == phone]
        if len(bodies) >= len(QUESTIONS):
            break
        time.sleep(0.5)
    counts = Counter(m.body for m in twilio.received if m.to == phone)
    print(f"[faults] Twilio {failure}: {result}; texts delivered {sum(counts.values())}")
    assert (result.answered, result.answered_twice) == (result.sent, 0), str(result)
    assert counts and max(counts.values()) == 1, counts  # no text sent twice
