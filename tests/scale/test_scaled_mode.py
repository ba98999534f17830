"""Issue 18's proof: two gateways and two Rasa servers behind nginx, on PostgreSQL and
Redis (tests/scale/farm.py), all real processes on this machine.

Where a scenario is about crossing gateways, the test talks to gateway A and gateway B
directly, so the crossing is certain rather than left to the balancer; Rasa calls the
custom actions through nginx, and the load of (e) goes through nginx as Twilio and the
citizens' browsers would.

(a) a person's messages posted through A are pushed on the citizen's socket held by B,
    in order, once; the citizen's through A reach the console's socket on B;
(b) in test_video_across_gateways.py (real browsers);
(c) 50 texts from one number and retried MessageSids, sprayed over both gateways at
    once: one conversation, one answer per MessageSid, each answer right after its
    question;
(d) a voice webhook answered by A and its Media Stream on B: greeting, keypad, answer;
(f) outbox messages and due reminders with both gateways' workers running: each sent
    once;
(e) two minutes of web, SMS and calls through nginx while one gateway and one Rasa
    server are killed with ``kill -9`` and restarted: every accepted message answered,
    none twice, each outbox message sent once. (Last: it kills and restarts.)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

import httpx
import psycopg
import pytest
from websockets.asyncio.client import connect as ws_connect

from assistant.config import to_async_url
from assistant.outbox import SqlOutboxStore
from assistant.reminders.sql import SqlReminderStore
from tests.browser.consoles import create_account
from tests.media_streams_peer import TwilioMediaPeer, signed_headers, websocket_url
from tests.scale.farm import Farm, as_stack, kill_rasa
from tests.stackutil import PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, GatewayProcess
from tests.twilio_double import TwilioDouble
from tests.twilio_wire import SMS_PATH, signed, sms_form
from tests.voice_calls import MEDIA_PATH, answer_call

pytestmark = pytest.mark.rasa


# ---- helpers --------------------------------------------------------------------------
def new_number() -> str:
    return "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))


def rows(farm: Farm, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Read the gateways' store directly (PostgreSQL)."""
    with psycopg.connect(farm.database_url) as conn:
        return conn.execute(query, args).fetchall()


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [m.text or "" for m in ET.fromstring(response.content).findall("Message")]


async def sign_in_api(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Sign in through the gateway's API; the CSRF token (the cookie stays in client)."""
    response = await client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        headers={"X-Requested-With": "sotong"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


async def eventually(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.2)


async def frames_until_quiet(socket: Any, quiet: float) -> list[dict[str, Any]]:
    """Every JSON frame the socket receives until it is quiet for ``quiet`` seconds."""
    frames = []
    with contextlib.suppress(TimeoutError):
        while True:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), quiet)))
    return frames


def sent_bodies(twilio: TwilioDouble, to: str) -> list[str]:
    return [m.body for m in list(twilio.received) if m.to == to]


# ---- (a) ------------------------------------------------------------------------------
async def test_a_pushes_reach_a_socket_held_by_the_other_gateway(farm: Farm) -> None:
    username, password = f"scale.a.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    create_account(
        as_stack(farm.a), username, password, "--name", "김통역", "--role", "interpreter"
    )
    async with (
        httpx.AsyncClient(base_url=farm.a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=farm.b.url, timeout=30) as on_b,
    ):
        session_id = (await on_b.post("/api/webchat/sessions", json={"language": "ko"})).json()[
            "session_id"
        ]
        citizen_socket = await ws_connect(
            websocket_url(farm.b.url, f"/api/webchat/sessions/{session_id}/ws")
        )
        asked = await on_a.post(
            f"/api/webchat/sessions/{session_id}/messages", json={"text": "수어 통역 요청"}
        )
        assert asked.status_code == 200, asked.text
        person = httpx.AsyncClient(base_url=farm.a.url, timeout=30)
        try:
            csrf = await sign_in_api(person, username, password)
            headers = {"X-CSRF-Token": csrf}
            await person.post(
                "/api/console/availability", json={"available": True}, headers=headers
            )
            [(request_id,)] = rows(
                farm, "SELECT id FROM handoff_requests WHERE conversation_id = %s", session_id
            )
            accepted = await person.post(
                f"/api/console/requests/{request_id}/accept", headers=headers
            )
            assert accepted.status_code == 200, accepted.text
            # The console's socket is on B; the citizen writes through A.
            console_socket = await ws_connect(
                websocket_url(farm.b.url, "/api/console/ws"),
                additional_headers={
                    "Cookie": "; ".join(f"{k}={v}" for k, v in person.cookies.items()),
                    "Origin": farm.b.url,
                },
            )
            said = await on_a.post(
                f"/api/webchat/sessions/{session_id}/messages", json={"text": "안녕하세요"}
            )
            assert said.status_code == 200, said.text

            async def changed() -> bool:
                frame = json.loads(await asyncio.wait_for(console_socket.recv(), 10))
                return frame.get("request_id") == request_id

            await eventually(changed, 15, "the console on B heard the citizen's message")
            await console_socket.close()

            for n in range(20):
                sent = await person.post(
                    f"/api/console/requests/{request_id}/messages",
                    json={"text": f"안내 {n}번"},
                    headers=headers,
                )
                assert sent.status_code == 200, sent.text
            texts = [
                frame["message"]["text"]
                for frame in await frames_until_quiet(citizen_socket, 3.0)
                if frame.get("type") == "message" and frame["message"]["text"].startswith("안내 ")
            ]
            # In order and once: the pushes came from A through Redis to B's socket.
            assert texts == [f"안내 {n}번" for n in range(20)], texts
        finally:
            await citizen_socket.close()
            await person.aclose()


# ---- (c) ------------------------------------------------------------------------------
async def test_c_one_number_s_texts_sprayed_over_both_gateways(
    farm: Farm, twilio: TwilioDouble
) -> None:
    phone = new_number()
    phrases = ["기초연금 알려주세요", "등본 떼는 법", "전입신고 어떻게 해요", "장애인 등록"]
    forms = [sms_form(phone, f"{phrases[n % 4]} {n}") for n in range(50)]

    async def deliver(client: httpx.AsyncClient, form: dict[str, str]) -> list[str]:
        # As Twilio: a 503 ("still being processed") is tried again a moment later.
        for _ in range(30):
            response = await client.post(SMS_PATH, data=form, headers=signed(form))
            if response.status_code != 503:
                return twiml_messages(response)
            await asyncio.sleep(1)
        raise AssertionError(f"{form['MessageSid']} never answered")

    async with (
        httpx.AsyncClient(base_url=farm.a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=farm.b.url, timeout=60) as on_b,
    ):
        deliveries = [(n, (on_a, on_b)[n % 2], form) for n, form in enumerate(forms)]
        # Every fifth message is delivered again, to the other gateway, at the same time.
        deliveries += [(n, (on_b, on_a)[n % 2], forms[n]) for n in range(0, 50, 5)]
        answers = await asyncio.gather(*(deliver(c, f) for _, c, f in deliveries))
    by_sid: dict[str, list[list[str]]] = {}
    for (_, _, form), answer in zip(deliveries, answers, strict=True):
        by_sid.setdefault(form["MessageSid"], []).append(answer)
    # A delivery answered in time carries the answer; one past the budget is empty and
    # texted later (once per MessageSid). The same message never gets two answers.
    for sid, answered in by_sid.items():
        non_empty = [a for a in answered if a]
        assert len({tuple(a) for a in non_empty}) <= 1, (sid, answered)
    [(conversation_id,)] = rows(
        farm, "SELECT id FROM conversations WHERE channel = 'sms' AND address = %s", phone
    )

    def transcript() -> list[tuple[Any, ...]]:
        return rows(
            farm,
            "SELECT id, direction, text, status, reply_to, client_message_id FROM turns "
            "WHERE conversation_id = %s ORDER BY id",
            conversation_id,
        )

    async def all_answered() -> list[tuple[Any, ...]] | None:
        turns = transcript()
        inbound = [t for t in turns if t[1] == "inbound"]
        done = len(inbound) == 50 and all(t[3] == "answered" for t in inbound)
        return turns if done else None

    try:
        turns = await eventually(all_answered, 60, "every text answered")
    except AssertionError:
        statuses = Counter(t[3] for t in transcript() if t[1] == "inbound")
        raise AssertionError(f"inbound texts by status: {dict(statuses)}") from None
    inbound = [t for t in turns if t[1] == "inbound"]
    assert Counter(t[5] for t in inbound) == Counter(f["MessageSid"] for f in forms)
    # Each answer right after its question: the number's texts were taken one at a time.
    last_inbound = None
    for turn in turns:
        if turn[1] == "inbound":
            last_inbound = turn[0]
        else:
            assert turn[4] == last_inbound, turn
    late = rows(
        farm,
        "SELECT dedupe_key FROM outbox_messages "
        "WHERE recipient = %s AND dedupe_key LIKE 'sms-late:%%'",
        phone,
    )
    empty = {sid for sid, answered in by_sid.items() if not any(answered)}
    assert {key for (key,) in late} == {f"sms-late:{sid}" for sid in empty}
    print(f"[scale c] {len(empty)} of 50 answered by a later text, the rest in the webhook")


# ---- (d) ------------------------------------------------------------------------------
async def active_calls(gateway: GatewayProcess) -> float:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    found = re.search(r"^sotong_voice_active_calls ([0-9.]+)", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_d_a_call_answered_by_a_streams_on_b(farm: Farm) -> None:
    async with httpx.AsyncClient(base_url=farm.a.url, timeout=30) as on_a:
        answered = await answer_call(on_a, new_number())
    assert answered.stream_url == websocket_url(PUBLIC_URL, MEDIA_PATH)
    async with TwilioMediaPeer.connect(
        websocket_url(farm.b.url, MEDIA_PATH),
        headers=signed_headers(TWILIO_AUTH_TOKEN, answered.stream_url),
        call_sid=answered.call_sid,
        account_sid=TWILIO_ACCOUNT_SID,
        parameters=answered.parameters,
    ) as peer:
        await peer.wait_for("media", timeout=30)  # the greeting, spoken by B
        assert await active_calls(farm.b) == 1 and await active_calls(farm.a) == 0
        for key in "111":  # documents, resident registration, a copy
            pressed = time.monotonic()
            await peer.press(key)
            await peer.wait_for_audio_after(pressed, timeout=30)
        await peer.wait_until_quiet(1.5, 60)
        texts = " ".join(
            text
            for (text,) in rows(
                farm,
                "SELECT text FROM turns WHERE conversation_id = %s AND direction = 'outbound'",
                answered.conversation_id,
            )
        )
        assert "등본" in texts, texts
        await peer.hang_up()
    [(started,)] = rows(
        farm, "SELECT stream_started_at FROM calls WHERE call_sid = %s", answered.call_sid
    )
    assert started is not None
    assert await active_calls(farm.b) == 0


# ---- (f) ------------------------------------------------------------------------------
async def test_f_outbox_and_reminders_run_once_with_two_replicas(
    farm: Farm, twilio: TwilioDouble
) -> None:
    url = to_async_url(farm.database_url)
    outbox, reminders = SqlOutboxStore.from_url(url), SqlReminderStore.from_url(url)
    tag = secrets.token_hex(3)
    phones = [new_number() for _ in range(10)]
    now = dt.datetime.now(dt.UTC)
    try:
        for n in range(40):
            await outbox.enqueue(phones[n % 10], [f"확인 {tag} {n}"], kind="test")
        for phone in phones:
            await reminders.schedule(
                phone,
                "move_in_report",
                now.date(),
                now.date() + dt.timedelta(days=10),
                [now - dt.timedelta(minutes=1)],
                "ko",
            )
    finally:
        await outbox.close()
        await reminders.close()

    def ours() -> list[str]:
        return [m.body for m in list(twilio.received) if m.to in phones]

    async def all_sent() -> bool:
        bodies = ours()
        return sum(f"확인 {tag}" in b for b in bodies) >= 40 and len(bodies) >= 50

    await eventually(all_sent, 60, "every message and reminder sent")
    await asyncio.sleep(3)  # a second sending would come within the workers' rounds
    bodies = ours()
    assert Counter(b for b in bodies if f"확인 {tag}" in b) == Counter(
        f"확인 {tag} {n}" for n in range(40)
    )
    reminder_texts = [b for b in bodies if f"확인 {tag}" not in b]
    assert len(reminder_texts) == 10  # one per number, none twice
    assert {m.to for m in list(twilio.received) if m.body in reminder_texts} == set(phones)
    sent = rows(
        farm,
        "SELECT count(*) FROM reminders WHERE phone = ANY(%s) AND status = 'sent'",
        phones,
    )
    assert sent == [(10,)]


# ---- (e) ------------------------------------------------------------------------------
LOAD_SECONDS = 120.0
KILL_AT, RESTART_AT = 40.0, 60.0
PHRASES = ["기초연금 알려주세요", "등본 떼는 법", "전입신고 어떻게 해요", "여권 발급"]


async def retried(send: Any, what: str, attempts: int = 90) -> httpx.Response:
    """What a client does when its gateway dies under it: the same request again (the
    same client message id or MessageSid) until a gateway takes it."""
    for _ in range(attempts):
        with contextlib.suppress(httpx.HTTPError):
            response = await send()
            if response.status_code in (200, 201):
                return response
        await asyncio.sleep(1)
    raise AssertionError(f"{what} was never accepted")


async def test_e_killing_a_gateway_and_a_rasa_server_under_load_loses_and_doubles_nothing(
    farm: Farm, twilio: TwilioDouble
) -> None:
    stop = asyncio.Event()
    web: list[tuple[str, str]] = []  # (session id, client message id) accepted
    texts: dict[str, str] = {}  # MessageSid → the number, accepted
    calls: Counter[str] = Counter()
    phones = [new_number() for _ in range(2)]
    notices: list[str] = []  # outbox messages queued during the load
    tag = secrets.token_hex(3)

    async with httpx.AsyncClient(base_url=farm.nginx.url, timeout=40) as lb:

        async def citizen(n: int) -> None:
            created = await retried(
                lambda: lb.post("/api/webchat/sessions", json={"language": "ko"}), "a session"
            )
            session_id = created.json()["session_id"]
            k = 0
            while not stop.is_set():
                body = {"text": PHRASES[(n + k) % 4], "client_message_id": f"e{n}-{k}"}
                path = f"/api/webchat/sessions/{session_id}/messages"
                await retried(
                    functools.partial(lb.post, path, json=body),
                    f"web message e{n}-{k}",
                )
                web.append((session_id, body["client_message_id"]))
                k += 1
                await asyncio.sleep(0.5)

        async def texter(phone: str) -> None:
            k = 0
            while not stop.is_set():
                form = sms_form(phone, f"{PHRASES[k % 4]} {k}")
                await retried(
                    functools.partial(lb.post, SMS_PATH, data=form, headers=signed(form)),
                    f"text {form['MessageSid']}",
                )
                texts[form["MessageSid"]] = phone
                k += 1
                await asyncio.sleep(1.0)

        async def caller() -> None:
            while not stop.is_set():
                try:
                    answered = await answer_call(lb, new_number())
                    async with TwilioMediaPeer.connect(
                        websocket_url(farm.nginx.url, MEDIA_PATH),
                        headers=signed_headers(TWILIO_AUTH_TOKEN, answered.stream_url),
                        call_sid=answered.call_sid,
                        account_sid=TWILIO_ACCOUNT_SID,
                        parameters=answered.parameters,
                    ) as peer:
                        await peer.wait_for("media", timeout=30)
                        pressed = time.monotonic()
                        await peer.press("1")
                        await peer.wait_for_audio_after(pressed, timeout=30)
                        await peer.hang_up()
                    calls["answered"] += 1
                except Exception as exc:  # a call on the killed gateway is cut
                    calls[f"cut: {exc.__class__.__name__}"] += 1
                await asyncio.sleep(5)

        async def notifier() -> None:
            # What the gateways text on their own (queue places, reminders, late answers)
            # waits in the outbox; both gateways' workers send it, one is killed.
            store = SqlOutboxStore.from_url(to_async_url(farm.database_url))
            try:
                while not stop.is_set():
                    n = len(notices)
                    await store.enqueue(phones[n % 2], [f"알림 {tag} {n}"], kind="test")
                    notices.append(f"알림 {tag} {n}")
                    await asyncio.sleep(0.5)
            finally:
                await store.close()

        async def chaos() -> None:
            await asyncio.sleep(KILL_AT)
            farm.a.kill()
            kill_rasa(farm.rasas[0])
            await asyncio.sleep(RESTART_AT - KILL_AT)
            await asyncio.gather(
                asyncio.to_thread(farm.restart_gateway, farm.a),
                asyncio.to_thread(farm.restart_rasa, farm.rasas[0]),
            )

        load = [asyncio.create_task(citizen(n)) for n in range(4)]
        load += [asyncio.create_task(texter(p)) for p in phones]
        load += [asyncio.create_task(caller()), asyncio.create_task(notifier())]
        troubles = asyncio.create_task(chaos())
        await asyncio.sleep(LOAD_SECONDS)
        stop.set()
        await asyncio.gather(*load)
        await troubles

    # Every accepted message is answered (kept ones by the kept-messages loop, texts
    # past the webhook's budget by a later text), and none twice.
    def inbound_of(pairs: list[tuple[str, str]]) -> list[tuple[Any, ...]]:
        found = []
        for conversation_id, message_id in pairs:
            found += rows(
                farm,
                "SELECT id, status FROM turns WHERE conversation_id = %s "
                "AND client_message_id = %s AND direction = 'inbound'",
                conversation_id,
                message_id,
            )
        return found

    sms_conversations = {
        phone: rows(
            farm, "SELECT id FROM conversations WHERE channel = 'sms' AND address = %s", phone
        )
        for phone in phones
    }
    assert all(len(found) == 1 for found in sms_conversations.values()), sms_conversations
    sms_pairs = [(sms_conversations[phone][0][0], sid) for sid, phone in texts.items()]

    accepted = web + sms_pairs

    async def everything_answered() -> list[tuple[Any, ...]] | None:
        turns = inbound_of(accepted)
        done = len(turns) == len(accepted) and all(status == "answered" for _, status in turns)
        return turns if done else None

    try:
        turns = await eventually(everything_answered, 150, "every accepted message answered")
    except AssertionError:
        found = {pair: inbound_of([pair]) for pair in accepted}
        stuck = {
            pair: turns for pair, turns in found.items() if [s for _, s in turns] != ["answered"]
        }
        raise AssertionError(
            f"{len(stuck)} not answered once: {list(stuck.items())[:10]}"
        ) from None
    assert len(turns) == len(accepted)  # each stored once
    for turn_id, _ in turns:
        replies = Counter(
            text for (text,) in rows(farm, "SELECT text FROM turns WHERE reply_to = %s", turn_id)
        )
        assert replies and max(replies.values()) == 1, (turn_id, replies)

    # The outbox sent each of its messages once, whichever gateway's worker took it.
    async def notices_sent() -> bool:
        return {m.body for m in list(twilio.received)} >= set(notices)

    await eventually(notices_sent, 60, "every queued text sent")
    await asyncio.sleep(3)  # a second sending would come within the workers' rounds
    sent_ids = Counter(
        m.status_callback.rsplit("=", 1)[-1]
        for m in list(twilio.received)
        if m.status_callback and m.to in phones
    )
    assert all(count == 1 for count in sent_ids.values()), sent_ids
    assert Counter(m.body for m in list(twilio.received) if tag in m.body) == Counter(notices)
    assert calls["answered"] >= 5, calls
    print(
        f"[scale e] {len(web)} web messages and {len(texts)} texts accepted and answered "
        f"once; outbox texts {sum(sent_ids.values())} ({len(notices)} queued during the "
        f"load); calls {dict(calls)}"
    )
