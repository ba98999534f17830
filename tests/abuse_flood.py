"""Floods of every anonymous route against a running gateway, while one citizen elsewhere
chats on the web and texts — shared by tests/faults/test_abuse.py (which asserts the
429s and that the citizen is answered) and bench/abuse.py (which prints the citizen's
latencies).

The floods come from one address and the citizen from another: the gateway trusts
``X-Forwarded-For`` from its loopback proxy, as behind nginx, so both run here.
"""

from __future__ import annotations

import asyncio
import io
import secrets
import statistics
import time
import wave
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field

import httpx
import websockets

from tests.twilio_wire import SMS_PATH, signed, sms_form

FLOODER = "203.0.113.66"
CITIZEN = "198.51.100.7"
CITIZEN_PAUSE_SECONDS = 2.5
QUESTIONS = [
    "기초연금 신청 방법 알려주세요",
    "전입신고 하려면 뭐가 필요해요",
    "주민등록등본 떼는 법",
]

# The production limits (Settings' defaults): the test stacks lift the per-address
# ones, since every test citizen is 127.0.0.1; this stack keeps them.
PRODUCTION_LIMITS = {
    "SOTONG_LIMIT_SESSIONS": "30/minute;300/hour",
    "SOTONG_LIMIT_MESSAGES": "120/minute",
    "SOTONG_LIMIT_SESSION_MESSAGES": "30/minute;600/hour",
    "SOTONG_LIMIT_SPEECH": "30/minute",
    "SOTONG_LIMIT_SESSION_SPEECH": "6/minute",
    "SOTONG_LIMIT_SOCKETS": "60/minute",
    "SOTONG_LIMIT_LOGIN": "20/minute;200/day",
    "SOTONG_LIMIT_LOGIN_ALL": "120/minute",
    "SOTONG_HANDOFF_PER_SOURCE_HOUR": "10",
    "SOTONG_HANDOFF_QUEUE_CAP": "50",
}


@dataclass
class FloodResult:
    """What each flood got back, and how the citizen fared meanwhile."""

    statuses: dict[str, Counter[int]] = field(default_factory=dict)
    retry_after_seen: dict[str, bool] = field(default_factory=dict)
    socket_closes: Counter[int] = field(default_factory=Counter)
    citizen_web_ms: list[float] = field(default_factory=list)
    citizen_sms_ms: list[float] = field(default_factory=list)
    citizen_unanswered: int = 0
    unanswered_detail: Counter[str] = field(default_factory=Counter)

    def p(self, values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]

    def report(self) -> str:
        lines = []
        for route, counts in sorted(self.statuses.items()):
            lines.append(f"  flood {route:<22} {dict(sorted(counts.items()))}")
        lines.append(f"  flood socket closes       {dict(self.socket_closes)}")
        for name, values in (("web chat", self.citizen_web_ms), ("SMS", self.citizen_sms_ms)):
            lines.append(
                f"  citizen {name:<9} turns {len(values):>3}  p50 {self.p(values, 50):7.0f} ms"
                f"  p95 {self.p(values, 95):7.0f} ms"
            )
        detail = f" {dict(self.unanswered_detail)}" if self.unanswered_detail else ""
        lines.append(f"  citizen unanswered        {self.citizen_unanswered}{detail}")
        return "\n".join(lines)


def _tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * 1600)
    return buffer.getvalue()


async def _flood(
    client: httpx.AsyncClient, name: str, result: FloodResult, until: float, make: object
) -> None:
    counts = result.statuses.setdefault(name, Counter())
    while time.monotonic() < until:
        try:
            response = await make(client)  # type: ignore[operator]
        except httpx.HTTPError:
            counts[0] += 1
            continue
        counts[response.status_code] += 1
        if response.status_code == 429 and response.headers.get("retry-after"):
            result.retry_after_seen[name] = True


async def _flood_sockets(url: str, result: FloodResult, until: float) -> None:
    ws_url = url.replace("http://", "ws://")
    async with httpx.AsyncClient(
        base_url=url, headers={"X-Forwarded-For": FLOODER}, timeout=10
    ) as client:
        session = (await client.post("/api/webchat/sessions", json={"language": "ko"})).json()
    session_id = session.get("session_id", "0" * 32)
    while time.monotonic() < until:
        try:
            async with websockets.connect(
                f"{ws_url}/api/webchat/sessions/{session_id}/ws",
                additional_headers={"X-Forwarded-For": FLOODER},
                open_timeout=5,
            ) as socket:
                for _ in range(50):  # past the frame budget
                    await socket.send("ping")
                await asyncio.wait_for(socket.recv(), 5)
                await asyncio.wait_for(socket.wait_closed(), 5)
                result.socket_closes[socket.close_code or 0] += 1
        except websockets.exceptions.ConnectionClosed as closed:
            result.socket_closes[closed.rcvd.code if closed.rcvd else 0] += 1
        except (OSError, TimeoutError, websockets.exceptions.InvalidStatus):
            result.socket_closes[-1] += 1


async def _citizen(url: str, result: FloodResult, until: float) -> None:
    """One web chat citizen, and texting citizens (a new number each time: one number
    may send 10 a minute, which no person nears but this loop would)."""
    async with httpx.AsyncClient(
        base_url=url, headers={"X-Forwarded-For": CITIZEN}, timeout=30
    ) as client:
        session = (await client.post("/api/webchat/sessions", json={"language": "ko"})).json()
        turn = 0
        while time.monotonic() < until:
            question = QUESTIONS[turn % len(QUESTIONS)]
            turn += 1
            started = time.monotonic()
            response = await client.post(
                f"/api/webchat/sessions/{session['session_id']}/messages",
                json={"text": question},
            )
            result.citizen_web_ms.append((time.monotonic() - started) * 1000)
            if response.status_code != 200 or not response.json().get("messages"):
                result.citizen_unanswered += 1
                result.unanswered_detail[f"web {response.status_code}"] += 1
            phone = "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))
            form = sms_form(phone, question)
            started = time.monotonic()
            sms = await client.post(SMS_PATH, data=form, headers=signed(form))
            result.citizen_sms_ms.append((time.monotonic() - started) * 1000)
            if sms.status_code != 200 or not ET.fromstring(sms.content).findall("Message"):
                result.citizen_unanswered += 1
                result.unanswered_detail[f"sms {sms.status_code}"] += 1
            # A person's pace: a message every few seconds (a session may send 30 a
            # minute; this loop without a pause would pass that itself).
            await asyncio.sleep(CITIZEN_PAUSE_SECONDS)


async def run_floods(url: str, seconds: float, workers: int = 3) -> FloodResult:
    """Flood every anonymous route for ``seconds`` with ``workers`` clients each, while
    one citizen chats and texts from another address."""
    result = FloodResult()
    until = time.monotonic() + seconds
    wav = _tiny_wav()
    async with httpx.AsyncClient(
        base_url=url, headers={"X-Forwarded-For": FLOODER}, timeout=30
    ) as flooder:
        target = (await flooder.post("/api/webchat/sessions", json={"language": "ko"})).json()
        session_id = target["session_id"]

        async def new_session(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post("/api/webchat/sessions", json={"language": "ko"})

        async def message(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(
                f"/api/webchat/sessions/{session_id}/messages", json={"text": "안녕하세요"}
            )

        async def speech(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(
                f"/api/webchat/sessions/{session_id}/speech",
                content=wav,
                headers={"content-type": "audio/wav"},
            )

        async def login(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(
                "/api/auth/login",
                json={"username": f"guess{secrets.token_hex(3)}", "password": "x" * 64},
                headers={"X-Requested-With": "sotong"},
            )

        async def unsigned_sms(c: httpx.AsyncClient) -> httpx.Response:
            return await c.post(SMS_PATH, data={"From": "+821000000000", "Body": "x"})

        floods = {
            "webchat.session": new_session,
            "webchat.message": message,
            "webchat.speech": speech,
            "console.login": login,
            "twilio.sms unsigned": unsigned_sms,
        }
        tasks = [
            _flood(flooder, name, result, until, make)
            for name, make in floods.items()
            for _ in range(workers)
        ]
        tasks.append(_flood_sockets(url, result, until))
        tasks.append(_citizen(url, result, until))
        await asyncio.gather(*tasks)
    return result
