"""The security review's reproductions, run as regression tests (issue 16).

``../shared/reviews/security-2026-12.md`` gives, for each finding, a "Reproduce" block
(section 3's ``probe.py`` helpers plus a few lines) and the bad result it got. Each test
here does what that block does, against a real gateway process and a real Rasa 3.6
server, and asserts the fixed behaviour: the opposite of the review's "expected". Its
docstring names the finding and what the reproduction used to get. The helpers are
``tests/review_probe.py`` (the review's, on httpx and websockets).

One module stack serves every test but H6's. It keeps the production abuse limits
(``tests/abuse_flood.PRODUCTION_LIMITS``): each reproduction is a client address of its
own (``X-Forwarded-For``, trusted from the loopback proxy as behind nginx), so one
test's flood never spends another's budget. Where a reproduction waits on one of the
fix's own timeouts the stack shortens it (the database wait, the handoff upkeep: see
``STACK_ENV``); Rasa's timeout and the SMS answer budget stay as shipped, since M2 is
about them.

Each test was also run against the code the review read (55e932b) or the commit just
before its fix: every one failed there with the review's bad result (L5 aside: the
review is wrong there, the test shows it). Not here: L12 (dependency pins; nothing to
run, pip-audit has no data on this machine). Where the review's block needs what CI
cannot have (``docker build`` for H6, a 90 s database lock for M12, a 120 s wait for
a stream token to expire in L1, a day of idleness for M6), the test says so and
reproduces the closest thing. Tests of findings not fixed (yet) are strict xfails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import io
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.parse
import uuid
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from assistant.accounts import Role, SqlAccountStore
from assistant.config import PROJECT_DIR, Settings, to_async_url
from assistant.store.migrate import upgrade
from assistant.texts import say as bot_text
from tests.abuse_flood import PRODUCTION_LIMITS
from tests.review_probe import WS, Probe
from tests.stackutil import (
    PUBLIC_URL,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_PHONE_NUMBER,
    Stack,
    free_port,
    running_stack,
)
from tests.twilio_double import TwilioDouble
from tests.voice_audio import espeak_pcm8k
from tests.voice_calls import call

pytestmark = pytest.mark.rasa

T = TypeVar("T")

PASSWORD = "correct horse battery staple"
METRICS_TOKEN = "review-metrics-token-5f1c2e"
TURN_SECRET = "review-turn-secret-9d3a7c41b2"
TURN_URLS = "turn:turn.sotong.test:3478?transport=udp,turns:turn.sotong.test:5349"
# The fix's default (M2): an SMS webhook answers within this, below Twilio's 15 s.
SMS_BUDGET_SECONDS = 12.0
DB_WAIT_SECONDS = 3.0
MAX_CALLS = 2
KEPT = {bot_text("dialogue_unavailable", "ko"), bot_text("dialogue_unavailable", "en")}

STACK_ENV = {
    **PRODUCTION_LIMITS,
    "SOTONG_OUTBOX_POLL_SECONDS": "0.2",
    "SOTONG_OUTBOX_BASE_DELAY_SECONDS": "0.2",
    "SOTONG_OUTBOX_MAX_DELAY_SECONDS": "1",
    # The fix's own timeouts, shortened where a reproduction waits on them. Not Rasa's
    # timeout and the SMS budget: M2's reproduction is about them (a shorter Rasa
    # timeout alone would have "fixed" the reviewed code too).
    "SOTONG_DB_QUERY_TIMEOUT_SECONDS": str(DB_WAIT_SECONDS),
    "SOTONG_HANDOFF_UPKEEP_SECONDS": "1",
    # H4: every spoken turn is confirmed with a yes/no, so the turn measured is a "네"
    # (espeak-ng's Korean is heard with low confidence anyway; as in test_voice_call).
    "SOTONG_VOICE_CONFIRM_BELOW": "1.0",
    "SOTONG_VOICE_WHISPER_CONFIRM_BELOW": "1.0",
    # M10: a small line, so the cap is reached with three calls.
    "SOTONG_VOICE_MAX_CALLS": str(MAX_CALLS),
    # L8: /metrics behind the operator's token; M5: admins need a second factor.
    "SOTONG_METRICS_TOKEN": METRICS_TOKEN,
    "SOTONG_ADMIN_TOTP_REQUIRED": "true",
    # L9: short-lived TURN credentials; the ICE list itself has STUN only.
    "SOTONG_ICE_SERVERS": '[{"urls": "stun:stun.sotong.test:3478"}]',
    "SOTONG_TURN_SECRET": TURN_SECRET,
    "SOTONG_TURN_URLS": TURN_URLS,
}

_addresses = itertools.count(10)


def new_address() -> str:
    """A client address of its own (TEST-NET-3), for one reproduction."""
    n = next(_addresses)
    return f"203.0.113.{n}" if n < 250 else f"198.51.100.{n - 240}"


def new_mobile() -> str:
    """A Korean mobile number nobody else in the module uses."""
    return "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))


def not_fixed_yet(finding: str) -> pytest.MarkDecorator:
    """For a finding whose fix had not landed when its test was written: expected to
    fail, strictly, so the day the fix is in the test passes, fails the run, and this
    mark must go."""
    return pytest.mark.xfail(strict=True, reason=f"{finding} not fixed yet")


# ---- the stack ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def review_stack(
    rasa_model: Path, tmp_path_factory: pytest.TempPathFactory, twilio: TwilioDouble
) -> Iterator[Stack]:
    env = {**STACK_ENV, "SOTONG_TWILIO_API_URL": twilio.url}
    with running_stack(rasa_model, tmp_path_factory.mktemp("review"), extra_env=env) as stack:
        yield stack


@pytest.fixture
def probe(review_stack: Stack) -> Iterator[Probe]:
    """The review's helpers, as a client address of this test's own."""
    with Probe(review_stack.gateway.url, new_address()) as p:
        yield p


def gateway_log(stack: Stack) -> str:
    return (stack.var_dir / "gateway.log").read_text(encoding="utf-8", errors="replace")


def rows(stack: Stack, sql: str, *params: Any, db: str = "sotong.db") -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(stack.var_dir / db, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def tracker_events(stack: Stack, sender_id: str) -> list[dict[str, Any]]:
    """Rasa's tracker events of a conversation, from its SQL tracker store."""
    found = rows(
        stack,
        "SELECT data FROM events WHERE sender_id = ? ORDER BY id",
        sender_id,
        db="rasa-tracker.db",
    )
    return [json.loads(data) for (data,) in found]


def eventually(check: Callable[[], T], timeout: float = 20.0, every: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {value!r}")
        time.sleep(every)


def texted(twilio: TwilioDouble, phone: str) -> list[str]:
    return [m.body for m in twilio.received if m.to == phone]


def twiml_messages(body: bytes) -> list[str]:
    return [m.text or "" for m in ET.fromstring(body).findall("Message")]


def replies(body: bytes) -> list[str]:
    return [m["text"] for m in json.loads(body)["messages"]]


def create_account(stack: Stack, username: str, role: Role, name: str = "김수어") -> None:
    url = to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")

    async def create() -> None:
        await asyncio.to_thread(upgrade, url)
        store = SqlAccountStore.from_url(url)
        try:
            await store.create(username, PASSWORD, name, role)
        finally:
            await store.close()

    asyncio.run(create())


class Person:
    """An interpreter or staff member signed in to the consoles (from an address of
    their own)."""

    def __init__(self, stack: Stack, role: Role, prefix: str = "ksl") -> None:
        self.stack = stack
        self.username = prefix + secrets.token_hex(4)
        create_account(stack, self.username, role)
        self.address = new_address()
        self.client = httpx.Client(
            base_url=stack.gateway.url, headers={"X-Forwarded-For": self.address}, timeout=30
        )
        signed_in = self.client.post(
            "/api/auth/login",
            json={"username": self.username, "password": PASSWORD},
            headers={"X-Requested-With": "sotong"},
        )
        assert signed_in.status_code == 200, signed_in.text
        self.csrf = signed_in.json()["csrf_token"]
        self.cookie = self.client.cookies.get("sotong_console") or ""

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.client.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})

    def take(self, request_id: int) -> None:
        accepted = self.post(f"/api/console/requests/{request_id}/accept")
        assert accepted.status_code == 200, accepted.text

    def close(self) -> None:
        with contextlib.suppress(httpx.HTTPError):
            self.post("/api/console/availability", {"available": False})
        self.client.close()


@contextlib.contextmanager
def person(stack: Stack, role: Role = Role.INTERPRETER) -> Iterator[Person]:
    someone = Person(stack, role, "ksl" if role is Role.INTERPRETER else "desk")
    try:
        yield someone
    finally:
        someone.close()


def handed_to(p: Probe, interpreter: Person) -> tuple[str, int]:
    """A web chat citizen (``p``) who asked for a sign-language interpreter, and the
    interpreter holding the request: (session id, request id)."""
    assert interpreter.post("/api/console/availability", {"available": True}).status_code == 200
    sid = p.session()
    status, body = p.say(sid, "수어 통역 요청")
    assert status == 200, body
    handoff = json.loads(p.call("GET", f"/api/webchat/sessions/{sid}/handoff")[1])["status"]
    assert handoff is not None, replies(body)
    request_id = int(handoff["request_id"])
    interpreter.take(request_id)
    return sid, request_id


# ---- H1 -----------------------------------------------------------------------------
def test_h1_a_desk_visit_or_sms_id_does_not_open_the_web_chat_api(
    review_stack: Stack, probe: Probe
) -> None:
    """H1: the web chat API served any conversation by id. With the id of a desk
    walk-in (printed in the summary's footer), an anonymous GET of
    /api/webchat/sessions/$ID/messages returned the desk transcript (200) and a POST
    wrote into it (200). Now both are 404, as for an SMS conversation's id."""
    with person(review_stack, Role.STAFF) as desk:
        started = desk.post("/api/staff/sessions", {"consent": True, "consent_method": "spoken"})
        assert started.status_code == 201, started.text
        desk_id = started.json()["id"]
        said = desk.post(
            f"/api/staff/sessions/{desk_id}/messages",
            {"text": "장애인 등록하려고요. 우울증 진단을 받았어요"},
        )
        assert said.status_code in (200, 201), said.text
    # --- anyone holding the printout, no cookie:
    status, body = probe.call("GET", f"/api/webchat/sessions/{desk_id}/messages")
    assert status == 404, body[:300]
    assert "우울증".encode() not in body
    status, body = probe.call(
        "POST", f"/api/webchat/sessions/{desk_id}/messages", {"text": "injected"}
    )
    assert status == 404, body[:300]
    assert probe.call("GET", f"/api/staff/sessions/{desk_id}")[0] == 401
    assert "injected" not in [
        t
        for (t,) in rows(review_stack, "SELECT text FROM turns WHERE conversation_id = ?", desk_id)
    ]
    # The summary's stylesheet prints no page margin, so no browser prints its address
    # (the desk id) in a footer.
    css = probe.http.get("/static/consoles/summary.css").text
    assert re.search(r"@page\s*{[^}]*margin:\s*0\s*;", css), css[:200]
    # The same for an SMS conversation's id (it used to work for ever, and could make
    # the gateway text the citizen).
    phone = new_mobile()
    assert probe.sms("등본 어떻게 떼요?", 1001, frm=phone)[0] == 200
    sms_id = review_stack.sms_conversation(phone)
    for method, path, body_in in (
        ("GET", f"/api/webchat/sessions/{sms_id}/messages", None),
        ("POST", f"/api/webchat/sessions/{sms_id}/messages", {"text": "수어 통역 요청"}),
        ("PATCH", f"/api/webchat/sessions/{sms_id}", {"language": "en"}),
        ("GET", f"/api/webchat/sessions/{sms_id}/handoff", None),
    ):
        assert probe.call(method, path, body_in)[0] == 404, (method, path)


# ---- H2 -----------------------------------------------------------------------------
def test_h2_one_source_cannot_flood_the_interpreter_queue(
    review_stack: Stack, probe: Probe
) -> None:
    """H2: a loop of sessions each sending "수어 통역 요청" put hundreds of fake requests
    ahead of deaf citizens ("position": ~300 after 300). Now one source (client
    address) gets at most SOTONG_HANDOFF_PER_SOURCE_HOUR (10) requests an hour; the next
    ones are refused in plain words, with 107. (The review loops 300 times; 12 show the
    cap. The cap of 50 waiting per queue and the O(N²) upkeep are unit-tested.)"""
    per_source = int(PRODUCTION_LIMITS["SOTONG_HANDOFF_PER_SOURCE_HOUR"])
    sessions: list[str] = []
    positions: list[int] = []
    refused: list[str] = []
    try:
        for _ in range(per_source + 2):
            sid = probe.session()
            sessions.append(sid)
            status, body = probe.say(sid, "수어 통역 요청")
            assert status == 200, body[:300]
            said = "\n".join(replies(body))
            handoff = json.loads(probe.call("GET", f"/api/webchat/sessions/{sid}/handoff")[1])
            if handoff["status"] is not None:
                positions.append(int(handoff["status"]["position"] or 0))
            elif "짧은 시간에 요청이 너무 많았습니다" in said:
                refused.append(said)
    finally:
        for sid in sessions:  # "End chat": the requests leave the queue
            probe.call("DELETE", f"/api/webchat/sessions/{sid}")
    assert len(positions) <= per_source, positions
    assert max(positions, default=0) <= per_source, positions
    assert len(refused) >= 2, (positions, refused)
    assert all("107" in text for text in refused), refused


# ---- H3 -----------------------------------------------------------------------------
def test_h3_accessibility_settings_are_a_closed_list(review_stack: Stack, probe: Probe) -> None:
    """H3: each PATCH merged 16 new keys of any length into ``accessibility`` (200,
    ~12.8 MB echoed after 200 PATCHes), and the dict travelled to Rasa on every turn.
    Now unknown keys, and anything but true/false, are refused (422); nothing grows."""
    sid = probe.session()
    sizes: list[int] = []  # the refusal names the bad key: what was sent, no more
    for _ in range(3):
        acc = {uuid.uuid4().hex + "A" * 3950: True for _ in range(16)}  # ~64 000 bytes
        status, body = probe.call("PATCH", f"/api/webchat/sessions/{sid}", {"accessibility": acc})
        assert status == 422, (status, len(body))
        sizes.append(len(body))
    assert (
        probe.call(
            "PATCH", f"/api/webchat/sessions/{sid}", {"accessibility": {"deaf": "yes please"}}
        )[0]
        == 422
    )
    status, body = probe.call(
        "PATCH", f"/api/webchat/sessions/{sid}", {"accessibility": {"easy_read": True}}
    )
    assert status == 200 and json.loads(body)["accessibility"] == {"easy_read": True}
    started = time.monotonic()
    status, body = probe.say(sid, "안녕하세요")
    assert status == 200 and replies(body), body[:300]
    assert time.monotonic() - started < 5.0
    (stored,) = rows(review_stack, "SELECT accessibility FROM conversations WHERE id = ?", sid)[0]
    assert json.loads(stored) == {"easy_read": True}
    # What Rasa keeps of the turn (its tracker) is small too.
    assert len(json.dumps(tracker_events(review_stack, sid))) < 200_000


# ---- H4 -----------------------------------------------------------------------------
# How much later a caller's "네" may be answered while web recordings are decoded.
H4_SLOWER_AT_MOST = 1.5


def _speech_wav(seconds: int) -> bytes:
    """``seconds`` of Korean speech (espeak-ng, 8 kHz) as a WAV upload. The review
    uploads 30 s of noise; Vosk dismisses noise here in about 2 s, while speech keeps a
    thread as long as the review measured (5 s and more), so speech is what floods."""
    text = (
        "주민등록등본을 떼고 싶어요. 전입신고는 어떻게 하나요? "
        "기초연금 신청 방법을 알려주세요. 장애인 등록을 하려고 합니다. "
    )
    pcm = espeak_pcm8k(text)
    pcm = (pcm * (seconds * 16000 // len(pcm) + 1))[: seconds * 16000]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm)
    return buf.getvalue()


def _metric(stack: Stack, name: str) -> float:
    text = httpx.get(
        f"{stack.gateway.url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    ).text
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def _reply_latency(stack: Stack, peer: Any, text: str) -> float:
    """Say ``text`` on the call; seconds from the end of speech to the answer's first
    audio, as the gateway measures it (``sotong_voice_reply_seconds``: from the end of
    speech, once the recogniser has heard the turn)."""
    count = await asyncio.to_thread(_metric, stack, "sotong_voice_reply_seconds_count")
    total = await asyncio.to_thread(_metric, stack, "sotong_voice_reply_seconds_sum")
    await peer.say(espeak_pcm8k(text))
    deadline = time.monotonic() + 60
    while (
        now := await asyncio.to_thread(_metric, stack, "sotong_voice_reply_seconds_count")
    ) == count:
        assert time.monotonic() < deadline, "the caller's turn was never answered"
        await asyncio.sleep(0.1)
    spent = await asyncio.to_thread(_metric, stack, "sotong_voice_reply_seconds_sum") - total
    return float(spent / (now - count))


async def test_h4_web_recordings_leave_the_phone_line_a_recognition_thread(
    review_stack: Stack,
) -> None:
    """H4: the anonymous speech endpoint could hold every Vosk thread: three looping
    30-second uploads stalled recognition on every live call (reply latency from about
    0.4 s to several seconds). Now web recordings hold at most one of the two threads.

    The caller's turn measured is a "네" to "…라고 하셨나요?": recognised against a
    yes/no grammar, it needs little CPU, so what it waits for is a thread — not the
    cores the flood keeps busy (a free sentence's latency also grows with the machine's
    load, which says nothing of the threads). Measured here: 0.4 s → 0.3-0.5 s (so
    too with two processes spinning on the two cores); on the code before the fix
    (4ef087e), 0.4 s → 3.1-3.4 s, behind the web's decodes. The uploads are speech,
    see ``_speech_wav``."""
    stack = review_stack
    wav = _speech_wav(30)
    stop = threading.Event()
    statuses: list[int] = []
    errors: list[str] = []

    def loop() -> None:
        with Probe(stack.gateway.url, new_address()) as p:
            sid = p.session()
            while not stop.is_set():
                try:
                    status, _ = p.call(
                        "POST",
                        f"/api/webchat/sessions/{sid}/speech",
                        raw=wav,
                        headers={"Content-Type": "audio/wav"},
                        timeout=120,
                    )
                except httpx.HTTPError as exc:
                    statuses.append(-1)
                    errors.append(repr(exc))
                    return
                statuses.append(status)
                if status == 429:  # past the session's limit: wait as a client would
                    time.sleep(2)

    flooders = [threading.Thread(target=loop, daemon=True) for _ in range(3)]
    async with call(stack.gateway.url, new_mobile()) as (_, peer):
        await peer.wait_for("media", timeout=20)  # speaking over the menu, as callers do
        await _reply_latency(stack, peer, "주민등록등본을 떼고 싶어요")  # "…라고 하셨나요?"
        quiet = await _reply_latency(stack, peer, "네")
        for flooder in flooders:
            flooder.start()
        try:
            await asyncio.sleep(2.0)  # the uploads are in, their decoding started
            await _reply_latency(stack, peer, "전입신고를 하고 싶어요")  # barging in
            flooded = await _reply_latency(stack, peer, "네")
        finally:
            stop.set()
    for flooder in flooders:  # the uploads already sent are decoded all the same
        await asyncio.to_thread(flooder.join, 60)
    print(f"[review H4] a yes heard and answered in {quiet:.2f} s, {flooded:.2f} s in the flood")
    assert flooded < quiet + H4_SLOWER_AT_MOST, (quiet, flooded)
    assert 500 not in statuses and not errors, (statuses, errors)


# ---- H5 -----------------------------------------------------------------------------
def test_h5_anonymous_floods_meet_limits(review_stack: Stack, probe: Probe) -> None:
    """H5: no rate, connection or frame limit on the anonymous API — sessions and
    messages without end, and the push socket took 16 MiB frames (50 sockets: ~800 MB
    of transient memory). Now, from one address: sessions past 30 a minute and a
    session's messages past 30 a minute get 429 with Retry-After (a refused message is
    not stored); a frame over 64 KiB closes the socket (1009), and so do frames faster
    than 5 a second (4429)."""
    sids = [probe.session()]
    refused: httpx.Response | None = None
    for _ in range(40):
        response = probe.response("POST", "/api/webchat/sessions", {"language": "ko"})
        if response.status_code == 429:
            refused = response
            break
        assert response.status_code == 201, response.text
        sids.append(response.json()["session_id"])
    assert refused is not None and len(sids) <= 30, len(sids)
    assert int(refused.headers["retry-after"]) > 0

    # One session's messages, 16 at a time as the review's threads do: past the
    # session's 30 a minute they are refused at once (the rest answered by Rasa).
    sid = sids[0]
    codes: list[int] = []

    def spam(i: int) -> None:
        codes.append(probe.say(sid, "주민등록등본 떼려면 어떻게 해요?", cid=f"h5-{i}")[0])

    threads = [threading.Thread(target=spam, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert codes.count(429) >= 10 and set(codes) <= {200, 429}, sorted(codes)
    stored = rows(
        review_stack,
        "SELECT count(*) FROM turns WHERE conversation_id = ? AND direction = 'inbound'",
        sid,
    )[0][0]
    assert stored == codes.count(200), (stored, codes.count(200))

    # Large frames: the review's 16 MiB, shortened to what is enough (1 MiB).
    socket = probe.ws(f"/api/webchat/sessions/{sids[1]}/ws")
    assert socket.status == "HTTP/1.1 101", socket.status
    with contextlib.suppress(Exception):
        socket.send("x" * (1024 * 1024))
    assert socket.wait_closed(timeout=10) == 1009
    # Frames faster than the budget.
    socket = probe.ws(f"/api/webchat/sessions/{sids[2]}/ws")
    assert socket.status == "HTTP/1.1 101", socket.status
    with contextlib.suppress(Exception):
        for _ in range(50):
            socket.send("ping")
    assert socket.wait_closed(timeout=10) == 4429


# ---- H6 -----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ImageGateway:
    url: str
    running: bool
    log_path: Path

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]


@pytest.fixture(scope="module")
def image_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageGateway]:
    """The production image's gateway, as near as CI gets without Docker: only what
    deploy/gateway.Dockerfile COPYs, on the installed dependencies alone (no editable
    install of this checkout: ``python -S`` with site-packages added by hand), started
    as the image's CMD (``sotong serve``) in production."""
    root = tmp_path_factory.mktemp("image")
    app_dir, var_dir = root / "app", root / "var"
    app_dir.mkdir()
    dockerfile = (PROJECT_DIR / "deploy" / "gateway.Dockerfile").read_text()
    for line in dockerfile.splitlines():
        parts = line.split()
        if not parts or parts[0] != "COPY" or any(p.startswith("--") for p in parts):
            continue
        *sources, dest = parts[1:]
        for source in sources:
            src = PROJECT_DIR / source
            target = app_dir / dest / src.name if dest.endswith("/") else app_dir / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, target)
    site = sysconfig.get_paths()["purelib"]
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(root),
        "SOTONG_ENV": "production",
        "SOTONG_VAR_DIR": str(var_dir),
        "SOTONG_LOG_JSON": "true",
        "SOTONG_VOICE_PRELOAD": "false",
        "SOTONG_PUBLIC_URL": PUBLIC_URL,
        "SOTONG_RASA_URL": "http://127.0.0.1:9",
        "SOTONG_RASA_TOKEN": secrets.token_urlsafe(16),
        "SOTONG_ACTIONS_TOKEN": secrets.token_urlsafe(16),
        "SOTONG_SECRET_KEY": secrets.token_urlsafe(32),
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": TWILIO_PHONE_NUMBER,
    }
    bootstrap = (
        "import sys; sys.path[:0] = [sys.argv.pop(1), sys.argv.pop(1)]; "
        "from assistant.cli import app; app()"
    )
    log_path = root / "gateway.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-S",
                "-c",
                bootstrap,
                str(app_dir),
                site,
                "serve",
                "--port",
                f"{port}",
            ],
            cwd=app_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield ImageGateway(url, process.poll() is None, log_path)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_h6_the_images_files_start_a_gateway(image_gateway: ImageGateway) -> None:
    """H6: the production image could not start (``docker run … python -c "import
    assistant.app"`` → ModuleNotFoundError: consoles), as the Dockerfile never copied
    consoles/. No Docker daemon in CI: the fixture runs ``sotong serve`` from exactly
    the files the Dockerfile copies, in production, and it serves."""
    assert image_gateway.running, image_gateway.log_tail()
    url = image_gateway.url
    assert httpx.get(url + "/healthz", timeout=5).json() == {"status": "ok"}
    login = httpx.get(url + "/login", timeout=5)  # served from consoles/
    assert login.status_code == 200 and "<form" in login.text


# ---- M1 -----------------------------------------------------------------------------
def test_m1_a_turn_the_gateway_died_in_is_answered_on_retry(
    review_stack: Stack, probe: Probe
) -> None:
    """M1: with Rasa hung, a message stored then the gateway killed (kill -9) was left
    'received' for ever; the page's retry (same client_message_id) got 200
    {"duplicate": true, "messages": []}. Now the retry is answered."""
    stack = review_stack
    sid = probe.session()
    with stack.rasa_paused():  # make the turn hang
        with contextlib.suppress(httpx.HTTPError):
            probe.say(sid, "전입신고 하려면?", cid="c-1", timeout=1.5)
        inbound = rows(
            stack,
            "SELECT status FROM turns WHERE conversation_id = ? AND direction = 'inbound'",
            sid,
        )
        assert inbound == [("received",)], inbound  # stored, waiting on the dialogue
        stack.gateway.kill()  # within the Rasa timeout, before it could be kept
        stack.gateway.start()
        stack.gateway.wait_alive()
    stack.gateway.wait_ready()
    status, body = probe.say(sid, "전입신고 하려면?", cid="c-1")
    assert status == 200, body[:300]
    retried = json.loads(body)
    said = [m["text"] for m in retried["messages"]]
    print(f"[review M1] the retry: duplicate={retried['duplicate']} {said!r:.200}")
    assert said, retried  # never the empty answer
    answers = eventually(
        lambda: [
            t
            for (t,) in rows(
                stack,
                "SELECT text FROM turns WHERE conversation_id = ? AND reply_to IS NOT NULL",
                sid,
            )
            if t not in KEPT
        ],
        timeout=30,
    )
    assert any("전입" in text for text in answers), answers


# ---- M2 -----------------------------------------------------------------------------
def test_m2_an_sms_answer_slower_than_twilios_wait_is_texted(
    review_stack: Stack, probe: Probe, twilio: TwilioDouble
) -> None:
    """M2: with Rasa hung for 14.7 s (``kill -STOP``), the SMS webhook outlasted
    Twilio's 15 s wait (the client timed out); the late answer was stored 'answered'
    and never sent (no outbox row). Now the webhook answers inside the budget (12 s;
    here at Rasa's 10 s timeout, with the plain "kept" apology) and the answer reaches
    the citizen by text, once, when the dialogue gives it."""
    phone = new_mobile()
    started = time.monotonic()
    with review_stack.rasa_paused():
        status, body = probe.sms("주민등록등본 어떻게 떼요?", 42, frm=phone, timeout=15)
        took = time.monotonic() - started
        time.sleep(max(0.0, 14.7 - took))  # Rasa stays hung as long as in the review
    assert status == 200, body[:300]
    assert took < SMS_BUDGET_SECONDS + 0.5, took
    inline = twiml_messages(body)
    assert all("등본" not in text for text in inline), inline  # no answer yet: kept
    answer = eventually(
        lambda: [t for t in texted(twilio, phone) if "등본" in t and t not in KEPT], timeout=40
    )
    time.sleep(1.5)  # long enough for a second text to show, were one sent
    assert len([t for t in texted(twilio, phone) if t == answer[0]]) == 1, texted(twilio, phone)


# ---- M3 -----------------------------------------------------------------------------
def test_m3_a_second_gateway_on_the_same_database_refuses_to_start(review_stack: Stack) -> None:
    """M3: a second ``sotong serve`` (SOTONG_PORT=8001) on the same database ran, and
    with Rasa hung a kept message was answered twice (by both). Now the second process
    refuses to start, saying to run exactly one; the first goes on serving."""
    stack = review_stack
    second = subprocess.run(
        [str(PROJECT_DIR / ".venv" / "bin" / "sotong"), "serve", "--port", str(free_port())],
        env=stack.gateway.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = second.stdout + second.stderr
    assert second.returncode != 0, output[-2000:]
    assert "exactly one" in output, output[-2000:]
    assert httpx.get(stack.gateway.url + "/readyz", timeout=10).status_code == 200


# ---- M4 -----------------------------------------------------------------------------
def test_m4_a_disabled_interpreters_citizen_is_not_left_alone(
    review_stack: Stack, probe: Probe
) -> None:
    """M4: once an interpreter held the conversation and was disabled (``sotong
    accounts disable``), "취소" and "주민등록등본" got {"messages": []} and the handoff
    stayed in_session for ever. Now the disabled account's session goes back in line
    (the citizen is told), the citizen can leave the queue, and the bot answers again."""
    stack = review_stack
    with person(stack) as kim:
        sid, request_id = handed_to(probe, kim)
        sent = kim.post(f"/api/console/requests/{request_id}/messages", {"text": "안녕하세요"})
        assert sent.status_code == 200, sent.text
        disabled = subprocess.run(
            [str(PROJECT_DIR / ".venv" / "bin" / "sotong"), "accounts", "disable", kim.username],
            env=stack.gateway.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert disabled.returncode == 0, disabled.stdout + disabled.stderr

    def state() -> str | None:
        status = json.loads(probe.call("GET", f"/api/webchat/sessions/{sid}/handoff")[1])
        return None if status["status"] is None else str(status["status"]["state"])

    def told_to_wait() -> bool:
        transcript = json.loads(probe.call("GET", f"/api/webchat/sessions/{sid}/messages")[1])
        return any("다른 분을 기다립니다" in m["text"] for m in transcript["messages"])

    eventually(lambda: state() not in ("in_session", None), timeout=20)
    # The notice is written just after the request goes back in line (it failed once
    # when read in between, on a loaded run).
    eventually(told_to_wait, timeout=20)
    status, body = probe.say(sid, "대기취소")
    assert status == 200 and any("취소했습니다" in t for t in replies(body)), body[:500]
    assert state() is None
    status, body = probe.say(sid, "주민등록등본")
    assert status == 200 and any("등본" in t for t in replies(body)), body[:500]


def test_m4_a_citizen_can_end_a_held_session(review_stack: Stack, probe: Probe) -> None:
    """M4, first remedy: while held, every message (cancel included) was relayed and
    got no reply. Now "상담종료" ends the session and the bot answers again."""
    with person(review_stack) as kim:
        sid, request_id = handed_to(probe, kim)
        status, body = probe.say(sid, "상담종료")
        assert status == 200 and any("사람 상담을 끝냈습니다" in t for t in replies(body)), body
        status, body = probe.say(sid, "주민등록등본")
        assert status == 200 and any("등본" in t for t in replies(body)), body[:500]
        assert kim.client.get(f"/api/console/requests/{request_id}").status_code == 404


# ---- M5 -----------------------------------------------------------------------------
def test_m5_sign_in_floods_and_lockouts(review_stack: Stack, probe: Probe) -> None:
    """M5: 1500 sign-ins with random usernames from one client all got 401, never 429,
    each costing an argon2 hash; and 10 bad attempts from anywhere locked a named
    interpreter out. Now one address gets 429 (Retry-After) past 20 attempts a minute,
    /healthz stays quick meanwhile, failures lock out only that username from that
    address, and an admin without a second factor cannot sign in. (40 attempts, not
    1500: the limit on everyone together must stay for the module's other sign-ins.)"""
    stack = review_stack
    codes: list[int] = []
    retry_after: list[str] = []
    health: list[float] = []

    def hit(_: int) -> None:
        response = probe.response(
            "POST",
            "/api/auth/login",
            {"username": uuid.uuid4().hex[:20], "password": "x" * 1024},
            headers={"X-Requested-With": "sotong"},
        )
        codes.append(response.status_code)
        if response.status_code == 429:
            retry_after.append(response.headers.get("retry-after", ""))

    def pulse() -> None:
        for _ in range(5):
            started = time.monotonic()
            assert httpx.get(stack.gateway.url + "/healthz", timeout=10).status_code == 200
            health.append(time.monotonic() - started)
            time.sleep(0.2)

    started = time.monotonic()

    def worker(i: int) -> None:
        for j in range(5):
            hit(i * 5 + j)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=pulse))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    print(f"[review M5] {sorted(codes)} in {time.monotonic() - started:.1f} s; healthz {health}")
    assert codes.count(429) >= 20 and set(codes) <= {401, 429, 503}, sorted(codes)
    assert all(value.isdigit() and int(value) > 0 for value in retry_after), retry_after
    assert max(health) < 1.0, health

    # A named interpreter: bad passwords from one address lock out only that address.
    with person(stack) as kim:
        with Probe(stack.gateway.url, new_address()) as attacker:
            guesses = [
                attacker.call(
                    "POST",
                    "/api/auth/login",
                    {"username": kim.username, "password": f"guess-{i}-wrong"},
                    headers={"X-Requested-With": "sotong"},
                )[0]
                for i in range(7)
            ]
        assert guesses[:5] == [401] * 5 and 429 in guesses[5:], guesses
        again = kim.client.post(
            "/api/auth/login",
            json={"username": kim.username, "password": PASSWORD},
            headers={"X-Requested-With": "sotong"},
        )
        assert again.status_code == 200, again.text

    # An admin without an enrolled second factor is refused (SOTONG_ADMIN_TOTP_REQUIRED).
    admin = "admin" + secrets.token_hex(4)
    create_account(stack, admin, Role.ADMIN)
    with Probe(stack.gateway.url, new_address()) as p:
        refused = p.response(
            "POST",
            "/api/auth/login",
            {"username": admin, "password": PASSWORD},
            headers={"X-Requested-With": "sotong"},
        )
    assert refused.status_code == 403 and "set-cookie" not in refused.headers, refused.text


# ---- M6 -----------------------------------------------------------------------------
def test_m6_a_web_chat_id_expires_can_be_ended_and_is_not_logged(
    review_stack: Stack, probe: Probe
) -> None:
    """M6: a conversation id stayed a bearer secret for ever (reopening the page
    restored it; there was no control to end it) and ``grep conversation_id`` in the
    gateway log listed usable ids. Now an id stops working after a day without
    messages (the day is simulated by moving the conversation's times back), "End chat"
    (DELETE) erases the conversation and the dialogue's memory of it, and the log never
    holds an id. (The page's own control is a browser test.)"""
    stack = review_stack
    idle, ended = probe.session(), probe.session()
    for sid in (idle, ended):
        status, body = probe.say(sid, "전입신고 어떻게 해요")
        assert status == 200, body[:300]
    # A day and an hour without messages.
    with contextlib.closing(sqlite3.connect(stack.var_dir / "sotong.db", timeout=30)) as db:
        for table, column, key in (
            ("conversations", "updated_at", "id"),
            ("conversations", "created_at", "id"),
            ("turns", "created_at", "conversation_id"),
        ):
            found = db.execute(f"SELECT rowid, {column} FROM {table} WHERE {key} = ?", (idle,))
            for rowid, value in found.fetchall():
                old = dt.datetime.fromisoformat(value) - dt.timedelta(hours=25)
                db.execute(
                    f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                    (old.isoformat(sep=" "), rowid),
                )
        db.commit()
    status, body = probe.call("GET", f"/api/webchat/sessions/{idle}/messages")
    assert status == 404 and b"expired" in body, (status, body[:300])
    assert probe.say(idle, "계속")[0] == 404

    assert tracker_events(stack, ended)
    assert probe.call("DELETE", f"/api/webchat/sessions/{ended}")[0] == 204
    assert probe.call("GET", f"/api/webchat/sessions/{ended}/messages")[0] == 404
    assert rows(stack, "SELECT count(*) FROM turns WHERE conversation_id = ?", ended) == [(0,)]
    assert tracker_events(stack, ended) == []

    log = gateway_log(stack)
    assert idle not in log and ended not in log
    assert "ref-" in log  # ids are logged as references


# ---- M7 -----------------------------------------------------------------------------
def test_m7_forget_erases_the_number_everywhere(review_stack: Stack, probe: Probe) -> None:
    """M7: after "삭제" (FORGET) the number's conversations, turns and Rasa tracker
    stayed (the review's count > 0), and the next SMS continued the same conversation.
    Now they are erased and the next text starts afresh."""
    stack = review_stack
    phone = new_mobile()
    for n, body in ((7001, "전입신고 어떻게 해요"), (7002, "저장")):
        assert probe.sms(body, n, frm=phone)[0] == 200
    before = stack.sms_conversation(phone)
    assert tracker_events(stack, before)
    assert probe.sms("삭제", 7003, frm=phone)[0] == 200
    count = rows(
        stack,
        "SELECT count(*) FROM turns t JOIN conversations c ON c.id = t.conversation_id"
        " WHERE c.address = ?",
        phone,
    )
    assert count == [(0,)], count
    assert tracker_events(stack, before) == []
    assert rows(stack, "SELECT count(*) FROM citizen_profiles WHERE phone = ?", phone) == [(0,)]
    assert probe.sms("안녕", 7004, frm=phone)[0] == 200
    assert stack.sms_conversation(phone) != before


# ---- M8 -----------------------------------------------------------------------------
def test_m8_a_failing_action_logs_no_citizen_data(review_stack: Stack, probe: Probe) -> None:
    """M8: a failing action logged a Rich traceback whose locals held the action call in
    clear (``'note': '주민번호 900101-1234567 전화 010-1234-5678'``). Now tracebacks carry
    no locals and what is logged is masked."""
    stack = review_stack
    token = stack.gateway.env["SOTONG_ACTIONS_TOKEN"]
    before = len(gateway_log(stack))
    status, body = probe.call(
        "POST",
        f"/webhooks/rasa/actions?token={token}",
        {
            "next_action": "action_request_handoff",
            "note": "주민번호 900101-1234567 전화 010-1234-5678",
        },
    )
    assert status == 500, body[:300]
    logged = eventually(lambda: gateway_log(stack)[before:], timeout=5)
    assert "action.failed" in logged, logged[-2000:]
    assert "Traceback" in logged or "exception" in logged  # the traceback is kept …
    for secret in ("1234567", "010-1234-5678", "주민번호", "action_call ="):
        assert secret not in logged, (secret, logged[-3000:])  # … without the data


# ---- M9 -----------------------------------------------------------------------------
def test_m9_every_first_transcript_read_is_audited(review_stack: Stack, probe: Probe) -> None:
    """M9: ``GET /api/console/requests/{id}?after=1`` returned the whole transcript and
    wrote no ``handoff.view`` to the audit log. Now a person's first read is audited
    whatever ``after`` says."""
    stack = review_stack
    with person(stack) as kim:
        sid, request_id = handed_to(probe, kim)
        read = kim.client.get(f"/api/console/requests/{request_id}", params={"after": 1})
        assert read.status_code == 200, read.text
        assert read.json()["transcript"], read.json()  # the whole transcript …
        views = rows(
            stack,
            "SELECT detail FROM audit_log WHERE action = 'handoff.view' AND actor_username = ?"
            " AND conversation_id = ?",
            kim.username,
            sid,
        )
        assert [json.loads(d)["request_id"] for (d,) in views] == [request_id], views


# ---- M10 ----------------------------------------------------------------------------
async def test_m10_keys_pressed_faster_than_answers_are_dropped(review_stack: Stack) -> None:
    """M10 (keypad): every key press was queued as a dialogue turn, without bound. Now
    past three waiting behind a slow answer, presses are dropped (and logged)."""
    stack = review_stack
    before = gateway_log(stack).count("voice.key_dropped")
    async with call(stack.gateway.url, new_mobile()) as (_, peer):
        await peer.wait_for("media", timeout=20)
        for key in "11":  # documents → resident registration (the phone's own menu)
            pressed = time.monotonic()
            await peer.press(key)
            await peer.wait_for_audio_after(pressed, timeout=20)
        with stack.rasa_paused():
            await peer.press("1")  # a copy: a dialogue turn, hung with Rasa
            await asyncio.sleep(0.3)
            for _ in range(8):
                await peer.press("2")
            await asyncio.sleep(1.0)
            dropped = gateway_log(stack).count("voice.key_dropped") - before
        assert dropped >= 5, dropped


async def test_m10_the_line_past_its_cap_says_busy_and_texts(
    review_stack: Stack, twilio: TwilioDouble
) -> None:
    """M10: nothing refused call 21 (or 40): every call took a recogniser and a share of
    two cores. Now past SOTONG_VOICE_MAX_CALLS (2 on this stack) the caller hears a
    short "busy" (no stream) and is texted that they can ask by SMS."""
    stack = review_stack
    # The line is idle first (an earlier call's stream may still be closing).
    eventually(lambda: _metric(stack, "sotong_voice_active_calls") == 0, timeout=30)
    p = Probe(stack.gateway.url, new_address())
    held: list[tuple[str, str, str]] = []
    try:
        for _ in range(MAX_CALLS):
            call_sid = "CA" + secrets.token_hex(16)
            status, body = p.incoming_call(call_sid, new_mobile())
            assert status == 200 and b"<Stream" in body, body[:500]
            parameters = {
                m.group(1): m.group(2)
                for m in re.finditer(rb'<Parameter name="(\w+)" value="([^"]+)"', body)
            }
            held.append(
                (call_sid, parameters[b"conversation_id"].decode(), parameters[b"token"].decode())
            )
        caller = new_mobile()
        status, body = p.incoming_call("CA" + secrets.token_hex(16), caller)
        assert status == 200, body[:500]
        assert b"<Stream" not in body and b"<Say" in body and b"<Hangup" in body, body[:500]
        assert eventually(lambda: texted(twilio, caller), timeout=20)
    finally:
        for call_sid, conversation_id, token in held:  # hang the held calls up
            stream = p.ws("/webhooks/twilio/media", {"X-Twilio-Signature": p.media_sig})
            stream.send(json.dumps(_start(call_sid, conversation_id, token)))
            stream.send(json.dumps({"event": "stop", "streamSid": "MZ" + call_sid[2:]}))
            stream.wait_closed(timeout=20)
        p.close()


def _start(call_sid: str, conversation_id: str, token: str) -> dict[str, Any]:
    stream_sid = "MZ" + call_sid[2:]
    return {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": stream_sid,
        "start": {
            "streamSid": stream_sid,
            "callSid": call_sid,
            "accountSid": TWILIO_ACCOUNT_SID,
            "tracks": ["inbound"],
            "customParameters": {"conversation_id": conversation_id, "token": token},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        },
    }


# ---- M11 ----------------------------------------------------------------------------
RRN_SPELLINGS = [
    "900101−1234567",
    "９００１０１－１２３４５６７",
    "900101\u200b-1234567",
    "900101.1234567",
    "9 0 0 1 0 1 - 1 2 3 4 5 6 7",
]


def _back_part_seen(text: str) -> bool:
    """Whether the number's back part (1234567) survives, however typed."""
    digits = "".join(str(int(c)) if c.isdigit() else c for c in text if c.isdigit() or c.isalpha())
    return "1234567" in digits


def test_m11_numbers_are_masked_however_typed(review_stack: Stack, probe: Probe) -> None:
    """M11: resident registration numbers typed with other dashes, full-width digits, a
    zero-width space, dots or spaces were stored, shown and sent to Rasa in clear, and
    an accessibility key could carry one. Now each spelling is masked, and settings
    are a closed list (H3)."""
    stack = review_stack
    sid = probe.session()
    for t in RRN_SPELLINGS:
        status, body = probe.say(sid, "제 주민번호는 " + t)
        assert status == 200, body[:300]
    status, _ = probe.call(
        "PATCH",
        f"/api/webchat/sessions/{sid}",
        {"accessibility": {"주민번호 900101-1234567": True}},
    )
    assert status == 422
    transcript = json.loads(probe.call("GET", f"/api/webchat/sessions/{sid}/messages")[1])
    said = [m["text"] for m in transcript["messages"] if m["sender"] == "citizen"]
    assert len(said) == len(RRN_SPELLINGS), said
    assert not [t for t in said if _back_part_seen(t)], said
    assert "1234567" not in json.dumps(transcript["accessibility"])
    sent_to_rasa = [e.get("text") or "" for e in tracker_events(stack, sid) if e["event"] == "user"]
    assert not [t for t in sent_to_rasa if _back_part_seen(t)], sent_to_rasa


def test_m11_a_number_in_hangul_numerals_is_masked(review_stack: Stack, probe: Probe) -> None:
    """M11's sixth spelling: "구공공일공일 일이삼사오육칠" (digits read out, as Vosk writes
    a spoken number) was stored in clear."""
    sid = probe.session()
    assert probe.say(sid, "제 주민번호는 구공공일공일 일이삼사오육칠")[0] == 200
    transcript = json.loads(probe.call("GET", f"/api/webchat/sessions/{sid}/messages")[1])
    said = [m["text"] for m in transcript["messages"] if m["sender"] == "citizen"]
    assert not [t for t in said if "일이삼사오육칠" in t], said


# ---- M12 ----------------------------------------------------------------------------
def test_m12_a_locked_database_means_a_kept_sms_and_a_plain_503(
    review_stack: Stack, probe: Probe, twilio: TwilioDouble
) -> None:
    """M12: with the database locked (BEGIN EXCLUSIVE held 90 s), an SMS webhook blocked
    ~30 s and got 500 — past Twilio's 15 s, the message lost. Now every database wait is
    bounded (SOTONG_DB_QUERY_TIMEOUT_SECONDS, shortened here to 3 s; the lock is held
    through the three requests, about twice that): the SMS is kept and the citizen told
    at once, its answer texted once the database is back; web chat answers 503 in plain
    words; /readyz answers at once."""
    stack = review_stack
    phone = new_mobile()
    sid = probe.session()
    lock = sqlite3.connect(stack.var_dir / "sotong.db", timeout=30, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        locked_at = time.monotonic()
        started = time.monotonic()
        status, body = probe.sms("등본", 55, frm=phone, timeout=60)
        sms_took = time.monotonic() - started
        started = time.monotonic()
        web = probe.response("POST", f"/api/webchat/sessions/{sid}/messages", {"text": "등본"})
        web_took = time.monotonic() - started
        started = time.monotonic()
        ready = httpx.get(stack.gateway.url + "/readyz", timeout=30)
        ready_took = time.monotonic() - started
        time.sleep(max(0.0, DB_WAIT_SECONDS + 1.5 - (time.monotonic() - locked_at)))
    finally:
        if lock.in_transaction:
            lock.execute("COMMIT")
        lock.close()
    print(f"[review M12] sms {sms_took:.1f} s, web {web_took:.1f} s, readyz {ready_took:.1f} s")
    assert status == 200, body[:300]
    assert twiml_messages(body) == [bot_text("dialogue_unavailable", "ko")]
    assert sms_took < 12, sms_took
    assert web.status_code == 503 and "다시 보내 주세요" in web.json()["detail"], web.text
    assert web.headers.get("retry-after")
    assert ready_took < 5, ready_took
    assert ready.status_code in (200, 503)
    answer = eventually(lambda: [t for t in texted(twilio, phone) if t not in KEPT], timeout=45)
    assert "등본" in answer[0], answer


# ---- L1 -----------------------------------------------------------------------------
def test_l1_a_media_stream_start_cannot_be_replayed(review_stack: Stack, probe: Probe) -> None:
    """L1: the same ``start`` (conversation id and token from the call's TwiML) opened a
    stream again after each one ended — greeting audio every time — and the replayed
    stream acted on the conversation with the keypad. Now a call has one stream: the
    replays are closed (1008) before a sound. (The handshake's X-Twilio-Signature is
    Twilio's and stays constant; the token's 120 s expiry is unit-tested.)"""
    call_sid = "CA" + secrets.token_hex(16)
    status, tw = probe.incoming_call(call_sid, new_mobile())
    assert status == 200, tw[:300]
    conv_match = re.search(rb'conversation_id"\s+value="([0-9a-f]{32})', tw)
    tok_match = re.search(rb'token"\s+value="([^"]+)"', tw)
    assert conv_match and tok_match, tw[:500]
    start = _start(call_sid, conv_match.group(1).decode(), tok_match.group(1).decode())
    heard: list[list[str]] = []
    closes: list[int | None] = []
    for _ in range(3):  # the same start, after each stream ended
        w = probe.ws("/webhooks/twilio/media", {"X-Twilio-Signature": probe.media_sig})
        assert w.status == "HTTP/1.1 101", w.status
        w.send(json.dumps(start))
        events: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "media" not in events:
            frame = w.recv_json(timeout=20)
            if frame is None:
                break
            events.append(str(frame.get("event")))
        heard.append(events)
        if w.close_code is None:
            w.send(
                json.dumps(
                    {"event": "dtmf", "streamSid": start["streamSid"], "dtmf": {"digit": "0"}}
                )
            )
            time.sleep(0.5)
            w.send(json.dumps({"event": "stop", "streamSid": start["streamSid"]}))
            closes.append(w.wait_closed(timeout=20))
        else:
            closes.append(w.close_code)
    assert "media" in heard[0], heard  # the call itself
    assert heard[1:] == [[], []], heard  # the replays: not a sound
    assert closes[1:] == [1008, 1008], closes


# ---- L2 -----------------------------------------------------------------------------
def test_l2_a_multipart_form_is_refused_not_a_500(review_stack: Stack, probe: Probe) -> None:
    """L2: ``curl -F 'Body=@/etc/hostname' -H 'X-Twilio-Signature: x'`` on the SMS
    webhook gave a 500 (an UploadFile reached the signature check). Now 415."""
    for path in ("/webhooks/twilio/sms", "/webhooks/twilio/voice", "/webhooks/twilio/sms/status"):
        response = probe.http.post(
            path,
            files={"Body": ("hostname", b"sotong-host\n")},
            headers={"X-Twilio-Signature": "x"},
        )
        assert response.status_code == 415, (path, response.status_code, response.text[:200])


# ---- L3 -----------------------------------------------------------------------------
def test_l3_the_action_webhook_always_wants_its_token(review_stack: Stack, probe: Probe) -> None:
    """L3: ``GET /webhooks/rasa/actions`` listed the actions to anyone, and
    ``POST …?token=%C3%A9`` was a 500 (compare_digest on a non-ASCII str). Both are
    refused now (403)."""
    status, body = probe.call("GET", "/webhooks/rasa/actions")
    assert status == 403 and b"action_" not in body, body[:300]
    status, body = probe.call("POST", "/webhooks/rasa/actions?token=%C3%A9", raw=b"{}")
    assert status == 403, body[:300]


# ---- L4 -----------------------------------------------------------------------------
def test_l4_huge_ids_and_control_characters(review_stack: Stack, probe: Probe) -> None:
    """L4: ``?after=99999999999999999999`` overflowed SQLite's integer (500); NUL failed
    PostgreSQL's insert (500, then M1); U+202E reordered text on an interpreter's
    screen. Now the number is a 422, and NUL and bidirectional overrides are dropped
    from what is stored."""
    sid = probe.session()
    status, body = probe.call(
        "GET", f"/api/webchat/sessions/{sid}/messages?after=99999999999999999999"
    )
    assert status == 422, body[:300]
    status, body = probe.say(sid, "a\u0000b 주민등록등본 \u202e010-1234-9876")
    assert status == 200, body[:300]
    (stored,) = rows(
        review_stack,
        "SELECT text FROM turns WHERE conversation_id = ? AND direction = 'inbound'",
        sid,
    )[0]
    assert "\u0000" not in stored and "\u202e" not in stored, repr(stored)


# ---- L5 -----------------------------------------------------------------------------
def test_l5_a_username_cannot_forge_a_log_line(review_stack: Stack, probe: Probe) -> None:
    """L5 (the review is wrong): a sign-in with the username
    "a\\n2026-01-01T00:00:00Z [error   ] forged" was said to write a forged line in the
    console log format. structlog writes such a value as its repr (quoted, ``\\n``), so
    no line of the log begins with the forged text; the same for the video ``role``."""
    stack = review_stack
    forged = "2026-01-01T00:00:00Z [error   ] forged"
    status, _ = probe.call(
        "POST",
        "/api/auth/login",
        {"username": "a\n" + forged, "password": "x"},
        headers={"X-Requested-With": "sotong"},
    )
    assert status == 401
    w = probe.ws("/api/video/1/ws?role=" + urllib.parse.quote("x\n" + forged))
    with contextlib.suppress(Exception):
        w.wait_closed(timeout=10)
    eventually(lambda: "\\n2026-01-01T00" in gateway_log(stack), 5)
    log = gateway_log(stack)
    assert not [line for line in log.splitlines() if line.startswith("2026-01-01T00:00:00Z")]
    assert "\\n2026-01-01T00:00:00Z" in log  # written escaped, on the sign-in's own line


# ---- L6 -----------------------------------------------------------------------------
def test_l6_citizens_cannot_choose_intents_and_entities(review_stack: Stack, probe: Probe) -> None:
    """L6: text starting with "/" (``/request_human{"service":"…"}``) and the web chat's
    ``payload`` went to Rasa as they were: intents chosen and slots set by the citizen
    (a service name over 64 characters broke the handoff insert on PostgreSQL). Now a
    payload counts only when it is a button offered, a leading "/" is plain text, and
    the service slot holds only the catalog's services."""
    stack = review_stack
    long_service = "X" * 80
    command = '/request_human{"service":"' + long_service + '"}'
    as_payload = probe.session()
    status, body = probe.say(as_payload, "안녕하세요", payload=command)
    assert status == 200, body[:300]
    as_text = probe.session()
    status, body = probe.say(as_text, command)
    assert status == 200, body[:300]
    for sid in (as_payload, as_text):
        slots = [
            e.get("value")
            for e in tracker_events(stack, sid)
            if e["event"] == "slot" and e.get("name") == "service"
        ]
        assert long_service not in slots, (sid, slots)
        requested = rows(
            stack, "SELECT service FROM handoff_requests WHERE conversation_id = ?", sid
        )
        assert requested == [], (sid, requested)


# ---- L7 -----------------------------------------------------------------------------
def test_l7_a_turn_that_timed_out_is_not_processed_twice(review_stack: Stack, probe: Probe) -> None:
    """L7: the gateway took a Rasa timeout for "not processed" and sent the kept message
    again, though Rasa may have finished the turn and saved its tracker: two ``user``
    events, two answers. The review's way (``kill -STOP`` for ~15.5 s, then ``-CONT``)
    does not get there: Rasa's server cancels a request whose client hung up before it
    runs it. What does: Rasa slow to start the turn (stopped until 4 s before the
    gateway's timeout) and then held saving it (the tracker store's SQLite locked by
    another connection, inside SQLite's 5 s wait) until the gateway gave up; the save
    then goes through. Now the gateway asks the tracker before sending again, and the
    message is processed once."""
    stack = review_stack
    timeout = float(
        stack.gateway.env.get("SOTONG_RASA_TIMEOUT_SECONDS")
        or Settings.model_fields["rasa_timeout_seconds"].default
    )
    sid = probe.session()
    assert probe.say(sid, "안녕하세요")[0] == 200  # the dialogue knows the conversation
    question = "기초연금 신청 방법 알려주세요"
    sent: list[tuple[int, bytes]] = []
    sender = threading.Thread(
        target=lambda: sent.append(probe.say(sid, question, cid="l7-1", timeout=60))
    )
    tracker = sqlite3.connect(stack.var_dir / "rasa-tracker.db", timeout=30, isolation_level=None)
    try:
        with stack.rasa_paused():
            sender.start()
            time.sleep(timeout - 4.0)  # the message waits for Rasa, as on a slow server
            tracker.execute("BEGIN IMMEDIATE")  # Rasa may read its trackers, not save them
        sender.join(timeout=30)  # the gateway gave up: kept for later, with the apology
    finally:
        if tracker.in_transaction:
            tracker.execute("COMMIT")  # Rasa's save of the first delivery goes through
        tracker.close()
    (status, body), *_ = sent
    assert status == 200 and json.loads(body)["degraded"], body[:300]

    def settled() -> list[str]:
        answers = [
            t
            for (t,) in rows(
                stack,
                "SELECT text FROM turns WHERE conversation_id = ? AND reply_to IS NOT NULL",
                sid,
            )
            if t not in KEPT
        ]
        pending = rows(
            stack,
            "SELECT count(*) FROM turns WHERE conversation_id = ? AND status = 'pending'",
            sid,
        )[0][0]
        return answers if answers and not pending else []

    eventually(settled, timeout=40)
    time.sleep(2)  # a second processing, were there one, shows by now
    users = [e.get("text") for e in tracker_events(stack, sid) if e["event"] == "user"]
    # Exactly once: none would mean Rasa never finished the first delivery (the
    # reproduction did not happen), two is the finding.
    assert users.count(question) == 1, users
    answers = settled()
    assert len(answers) == len(set(answers)), answers


# ---- L8 -----------------------------------------------------------------------------
def test_l8_security_headers_and_closed_api_pages(
    review_stack: Stack, probe: Probe, image_gateway: ImageGateway
) -> None:
    """L8: no CSP, frame-ancestors/X-Frame-Options, nosniff or Referrer-Policy on the
    web chat and consoles; /docs, /redoc, /openapi.json and /metrics public. Now every
    response carries them (HSTS behind https), /metrics wants the operator's token, and
    in production (the image's gateway, H6) the API pages and /metrics are off."""
    for path in ("/", "/login", "/interpreter", "/api/webchat/sessions/" + "0" * 32 + "/messages"):
        headers = probe.response("GET", path).headers
        csp = headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, (path, csp)
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "no-referrer", path
        assert headers.get("x-frame-options") == "DENY", path
        assert "max-age=" in headers.get("strict-transport-security", ""), path
    assert probe.call("GET", "/metrics")[0] == 401
    assert (
        probe.call("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})[0]
        == 200
    )
    assert image_gateway.running, image_gateway.log_tail()  # see H6
    for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
        assert httpx.get(image_gateway.url + path, timeout=5).status_code == 404, path
    page = httpx.get(image_gateway.url + "/", timeout=5)
    assert "frame-ancestors 'none'" in page.headers.get("content-security-policy", "")


# ---- L9 -----------------------------------------------------------------------------
def test_l9_video_turn_credentials_are_short_lived_and_a_forwarded_link_shows(
    review_stack: Stack, probe: Probe
) -> None:
    """L9: every citizen socket with a join link got the long-lived TURN username and
    credential of SOTONG_ICE_SERVERS, and anyone with a forwarded link pushed the real
    citizen out silently (4409). Now each socket gets its own TURN credential (the TURN
    REST API: ``<expiry>:<random>`` and its HMAC, expiring within hours), and when the
    citizen's place is taken the interpreter is told (``peer-replaced``)."""
    with person(review_stack) as kim:
        _, request_id = handed_to(probe, kim)
        video = kim.post(f"/api/console/requests/{request_id}/video")
        assert video.status_code == 200, video.text
        token = httpx.URL(video.json()["join_url"]).params["t"]
        origin = {"Origin": review_stack.gateway.url, "Cookie": f"sotong_console={kim.cookie}"}
        interpreter = probe.ws(f"/api/video/{request_id}/ws?role=person", origin)
        welcome = interpreter.recv_json()
        assert welcome and welcome["type"] == "welcome", welcome
        citizens: list[WS] = []
        credentials: list[dict[str, Any]] = []
        for _ in range(2):  # the citizen, then someone with the forwarded link
            w = probe.ws(f"/api/video/{request_id}/ws?role=citizen&t={token}")
            greeting = w.recv_json()
            assert greeting and greeting["type"] == "welcome", greeting
            turn = [s for s in greeting["ice_servers"] if "username" in s]
            assert turn, greeting["ice_servers"]
            credentials += turn
            citizens.append(w)
        now = time.time()
        for server in credentials:
            expiry, _, user = server["username"].partition(":")
            assert user and now < int(expiry) <= now + 24 * 3600, server
            expected = base64.b64encode(
                hmac.new(TURN_SECRET.encode(), server["username"].encode(), hashlib.sha1).digest()
            ).decode()
            assert server["credential"] == expected, server
        assert credentials[0]["username"] != credentials[1]["username"]
        assert citizens[0].wait_closed(timeout=10) == 4409
        told: list[str] = []
        deadline = time.monotonic() + 10
        while "peer-replaced" not in told and time.monotonic() < deadline:
            frame = interpreter.recv_json(timeout=10)
            if frame is None:
                break
            told.append(str(frame.get("type")))
        assert "peer-replaced" in told, told
        for w in (*citizens, interpreter):
            w.close()


# ---- L10 ----------------------------------------------------------------------------
async def test_l10_calls_text_only_korean_mobiles(
    review_stack: Stack, twilio: TwilioDouble
) -> None:
    """L10 (outbound part): with a spoofed caller ID, key 6 made the service text any
    number, premium and international ones included (SMS pumping). Now a call texts
    only Korean mobile numbers, at most three a day each."""
    stack = review_stack
    premium = "+447700900123"
    async with call(stack.gateway.url, premium) as (_, peer):
        await peer.wait_for("media", timeout=20)
        pressed = time.monotonic()
        await peer.press("6")
        await peer.wait_for_audio_after(pressed, timeout=20)  # told it cannot be texted
        await asyncio.sleep(1.0)
    assert texted(twilio, premium) == []


@not_fixed_yet("L10")
async def test_l10_a_spoofed_caller_id_neither_reads_nor_changes_a_profile(
    review_stack: Stack, probe: Probe
) -> None:
    """L10: the caller's ``From`` chose the saved profile (its language told a spoofer
    the number has one, and which), and "8"/"천천히" wrote slow_speech into it. Now an
    unverified caller ID (no STIR/SHAKEN A-level attestation) neither applies nor
    changes the number's profile."""
    stack = review_stack
    victim = new_mobile()
    assert probe.sms("How do I apply for the basic pension?", 10001, frm=victim)[0] == 200
    assert probe.sms("SAVE", 10002, frm=victim)[0] == 200
    assert rows(stack, "SELECT language FROM citizen_profiles WHERE phone = ?", victim) == [("en",)]
    async with call(stack.gateway.url, victim) as (answered, peer):
        await peer.wait_for("media", timeout=20)
        language = rows(
            stack, "SELECT language FROM conversations WHERE id = ?", answered.conversation_id
        )
        assert language == [("ko",)], language  # the profile's language is not applied
        pressed = time.monotonic()
        await peer.press("8")
        await peer.wait_for_audio_after(pressed, timeout=20)
        await asyncio.sleep(1.0)
    (needs,) = rows(stack, "SELECT accessibility FROM citizen_profiles WHERE phone = ?", victim)[0]
    assert not json.loads(needs).get("slow_speech"), needs


# ---- L11 ----------------------------------------------------------------------------
def test_l11_no_token_on_a_command_line_and_the_gateway_on_loopback(review_stack: Stack) -> None:
    """L11: Rasa's and the action webhook's tokens were on the processes' command lines
    (readable by any local user in /proc/*/cmdline); compose published 8000 on every
    interface; the gateway image ran as root. Now neither token is on a command line,
    compose publishes 127.0.0.1 only, and the image has a USER that is not root."""
    stack = review_stack
    tokens = [stack.gateway.env["SOTONG_RASA_TOKEN"], stack.gateway.env["SOTONG_ACTIONS_TOKEN"]]
    for process in (stack.rasa.process, stack.gateway.process):
        assert process is not None
        cmdlines = [Path(f"/proc/{process.pid}/cmdline").read_bytes()]
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        for child in children.read_text().split() if children.exists() else []:
            with contextlib.suppress(FileNotFoundError):
                cmdlines.append(Path(f"/proc/{child}/cmdline").read_bytes())
        for cmdline in cmdlines:
            for token in tokens:
                assert token.encode() not in cmdline, cmdline.replace(b"\0", b" ")[:300]
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    # Only nginx publishes a port (the gateways sit behind it), and only on loopback.
    published = {
        name: [str(p) for p in service.get("ports", [])]
        for name, service in compose["services"].items()
        if service.get("ports")
    }
    assert list(published) == ["nginx"], published
    assert all(p.startswith("127.0.0.1:") for p in published["nginx"]), published
    users = re.findall(
        r"^USER\s+(\S+)", (PROJECT_DIR / "deploy" / "gateway.Dockerfile").read_text(), re.M
    )
    assert users and users[-1] not in ("root", "0"), users


# ---- L13 ----------------------------------------------------------------------------
def test_l13_readiness_names_every_background_loop(review_stack: Stack, probe: Probe) -> None:
    """L13: no background loop (kept messages, housekeeping, handoff upkeep, outbox,
    reminders) showed in /readyz, so a dead loop was invisible. Now each is named."""
    status, body = probe.call("GET", "/readyz")
    assert status == 200, body[:500]
    loops = json.loads(body)["checks"]["loops"]
    text = json.dumps(loops)
    for name in ("outbox", "upkeep", "reminder", "housekeeping"):
        assert name in text, loops


# ---- L14 ----------------------------------------------------------------------------
def test_l14_signing_out_closes_the_console_socket_and_the_cookie_is_host_only(
    review_stack: Stack, probe: Probe
) -> None:
    """L14: the console socket went on delivering after sign-out (until the page's next
    ping); the cookie had no __Host- prefix and was Secure only by the request's
    scheme. Now signing out closes the socket (4401) within seconds, and behind https
    the cookie is __Host-sotong_console (Secure, Path=/, no Domain) and the plain name
    is not accepted there."""
    stack = review_stack
    with person(stack) as kim:
        socket = probe.ws(
            "/api/console/ws",
            {"Origin": stack.gateway.url, "Cookie": f"sotong_console={kim.cookie}"},
        )
        assert socket.status == "HTTP/1.1 101", socket.status
        out = kim.post("/api/auth/logout")
        assert out.status_code == 200, out.text
        signed_out = time.monotonic()
        assert socket.wait_closed(timeout=10) == 4401
        assert time.monotonic() - signed_out < 7

        https = {"X-Forwarded-Proto": "https", "X-Requested-With": "sotong"}
        login = probe.response(
            "POST", "/api/auth/login", {"username": kim.username, "password": PASSWORD}, https
        )
        assert login.status_code == 200, login.text
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("__Host-sotong_console="), cookie
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie, cookie
        token = cookie.split("=", 1)[1].split(";", 1)[0]
        plain = probe.call(
            "GET", "/api/auth/me", headers={**https, "Cookie": f"sotong_console={token}"}
        )
        assert plain[0] == 401
        host = probe.call(
            "GET", "/api/auth/me", headers={**https, "Cookie": f"__Host-sotong_console={token}"}
        )
        assert host[0] == 200
