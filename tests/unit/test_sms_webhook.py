"""POST /webhooks/twilio/sms at app level: Twilio's exact wire format, real signatures.

The whole gateway runs in process (lifespan, store, SMS state, outbox, middleware); only
the dialogue is a double of Rasa's REST channel (httpx.MockTransport speaking its JSON).
The same flows against the real Rasa server are in tests/integration/test_sms_webhook.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import structlog.testing
from twilio.request_validator import RequestValidator

from assistant.app import create_app
from assistant.config import Settings
from assistant.conversation import ConversationCore
from assistant.foreign import foreign_text
from assistant.rasa_client import RasaClient
from assistant.services import Services
from assistant.sms import SqlSmsStateStore
from assistant.store import TurnDirection, TurnStatus
from assistant.texts import say
from channels.sms import adapter as sms_adapter
from channels.sms.adapter import SmsOutput, answer_kept
from channels.sms.segments import encoding_of, segment_count
from tests.clock import ManualClock

TOKEN = "5f0c1e2d3b4a69788796a5b4c3d2e1f0"
ACCOUNT = "AC" + "0123456789abcdef" * 2
PUBLIC_URL = "https://sotong.test"
PATH = "/webhooks/twilio/sms"
SIGNED_URL = PUBLIC_URL + PATH
INTERNAL = "http://internal-host:8000"  # what the app sees behind the proxy
CITIZEN = "+821012345678"
OUR_NUMBER = "+827012345678"

LONG_KO = " ".join(
    f"{n}번째 안내입니다. 신분증을 가지고 가까운 주민센터에 가시면 됩니다." for n in range(1, 16)
)


@dataclass
class FakeRasa:
    """Rasa's REST channel (``POST /webhooks/rest/webhook``), scripted per message."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    gate: asyncio.Event | None = None  # when set, answers wait for it

    def reply(self, message: str) -> list[dict[str, Any]]:
        if message == "긴 답":
            return [{"text": LONG_KO}]
        if message == "메뉴":
            return [
                {
                    "text": "무엇을 도와드릴까요?",
                    "buttons": [
                        {"title": "등본", "payload": "/ask_service"},
                        {"title": "전입신고", "payload": "/ask_move"},
                    ],
                }
            ]
        return [{"text": f"답: {message}"}]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tracker/events"):
            # Before a kept message is sent again the core asks the tracker whether it
            # got there (review L7): a message this double refused (503) never did.
            return httpx.Response(503) if self.down else httpx.Response(200, json={"events": []})
        assert request.url.path == "/webhooks/rest/webhook"
        body = json.loads(request.content)
        self.calls.append(body)
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            return httpx.Response(503)
        return httpx.Response(
            200, json=[{"recipient_id": body["sender"], **r} for r in self.reply(body["message"])]
        )


@dataclass
class Gateway:
    client: httpx.AsyncClient
    services: Services
    rasa: FakeRasa
    clock: ManualClock
    sids: int = 0

    def sid(self) -> str:
        self.sids += 1
        return f"SM{self.sids:032x}"

    def form(self, body: str, sid: str | None = None, **extra: str) -> dict[str, str]:
        """The fields Twilio posts for an incoming SMS."""
        sid = sid or self.sid()
        return {
            "ToCountry": "KR",
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": "KR",
            "To": OUR_NUMBER,
            "MessagingServiceSid": "MG" + "1" * 32,
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT,
            "From": CITIZEN,
            "ApiVersion": "2010-04-01",
            **extra,
        }

    async def post(
        self,
        form: dict[str, str],
        *,
        url: str = SIGNED_URL,
        token: str = TOKEN,
        signature: str | None = None,
        sign: bool = True,
    ) -> httpx.Response:
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = signature or RequestValidator(token).compute_signature(
                url, form
            )
        return await self.client.post(PATH, data=form, headers=headers)

    async def text(self, body: str, **extra: str) -> list[str]:
        """Send ``body`` as a new SMS; the <Message> texts of the TwiML answer."""
        response = await self.post(self.form(body, **extra))
        assert response.status_code == 200, response.text
        return messages(response)


def messages(response: httpx.Response) -> list[str]:
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [element.text or "" for element in root.findall("Message")]


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "development",
        "var_dir": tmp_path,
        "public_url": PUBLIC_URL,
        "twilio_auth_token": TOKEN,
        "twilio_account_sid": ACCOUNT,
        "twilio_phone_number": OUR_NUMBER,
        "rasa_url": "http://127.0.0.1:9",  # nothing listens: the double below answers
        "twilio_api_url": "http://127.0.0.1:9",  # the outbox never reaches Twilio's cloud
        "pending_retry_seconds": 3600,
        # The SMS state below runs on a hand-set clock (2026-11-30) while retention's
        # first round, at start-up, reads the real one: under the shifted-clock pass
        # (2034) it would drop the message records the retry tests are about.
        "sms_message_record_days": 365 * 100,
        **extra,
    }
    return Settings(**values)


@pytest.fixture
def settings_extra() -> dict[str, Any]:
    return {}


@pytest.fixture
async def gateway(tmp_path: Path, settings_extra: dict[str, Any]) -> AsyncIterator[Gateway]:
    app = create_app(_settings(tmp_path, **settings_extra))
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        rasa = FakeRasa()
        rasa_http = httpx.AsyncClient(transport=httpx.MockTransport(rasa.handle))
        core = ConversationCore(
            services.store, RasaClient("http://rasa.test", rasa_http), services.metrics
        )
        core.register_output("sms", SmsOutput(services.store, services.outbox))
        services.core = core
        clock = ManualClock(dt.datetime(2026, 11, 30, 9, 0, 0, tzinfo=dt.UTC))
        original_state = services.sms_state
        # The app's own engine: its waits are the settings' (an outage test shortens them).
        services.sms_state = SqlSmsStateStore(services.engine, clock=clock)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url=INTERNAL) as client:
                yield Gateway(client, services, rasa, clock)
        finally:
            await services.sms_state.close()
            services.sms_state = original_state
            await rasa_http.aclose()


def _outcomes(services: Services, outcome: str) -> float:
    value = services.metrics.registry.get_sample_value(
        "sotong_sms_inbound_total", {"outcome": outcome}
    )
    return value or 0.0


# ---- signatures ------------------------------------------------------------------------
async def test_signed_message_gets_a_twiml_answer(gateway: Gateway) -> None:
    answer = await gateway.text("메뉴")
    assert answer == ["무엇을 도와드릴까요?\n1. 등본\n2. 전입신고"]
    [call] = gateway.rasa.calls
    assert call["message"] == "메뉴" and call["metadata"]["channel"] == "sms"
    assert call["metadata"]["sms"]["message_sid"].startswith("SM")
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None and call["sender"] == conversation.id
    # A bare digit picks the numbered choice (the core maps it to the button's payload).
    await gateway.text("2")
    # (with the message's language and channel, which Rasa reads from a payload)
    assert gateway.rasa.calls[-1]["message"] == '/ask_move{"language":"ko","channel":"sms"}'
    turns = await gateway.services.store.transcript(conversation.id)
    inbound = [t for t in turns if t.direction is TurnDirection.INBOUND]
    assert [t.text for t in inbound] == ["메뉴", "2"]
    assert all(t.client_message_id and t.status is TurnStatus.ANSWERED for t in inbound)


async def test_a_text_starting_with_a_slash_is_not_an_intent(gateway: Gateway) -> None:
    # Rasa would read it as the intent request_human with a 100-character service
    # (review L6): the dialogue gets words, the transcript what the citizen wrote.
    body = '/request_human{"service":"' + "x" * 100 + '"}'
    assert await gateway.text(body) == ["답: " + body.removeprefix("/")]
    [call] = gateway.rasa.calls
    assert call["message"] == body.removeprefix("/")
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None
    turns = await gateway.services.store.transcript(conversation.id)
    assert [t.text for t in turns if t.direction is TurnDirection.INBOUND] == [body]


async def test_behind_a_proxy_the_public_url_is_what_counts(gateway: Gateway) -> None:
    form = gateway.form("안녕")
    # Signed over the URL the app sees (http://internal-host…): not what Twilio called.
    wrong = await gateway.post(form, url=INTERNAL + PATH)
    assert wrong.status_code == 403
    assert (await gateway.post(form, url="https://other.test" + PATH)).status_code == 403
    right = await gateway.post(form)
    assert right.status_code == 200 and messages(right) == ["답: 안녕"]


async def test_bad_or_missing_signature_is_refused(gateway: Gateway) -> None:
    form = gateway.form("안녕")
    assert (await gateway.post(form, token="0" * 32)).status_code == 403
    assert (await gateway.post(form, sign=False)).status_code == 403
    assert (await gateway.post(form, signature="bm90IGEgc2lnbmF0dXJl")).status_code == 403
    signature = RequestValidator(TOKEN).compute_signature(SIGNED_URL, form)
    tampered = {**form, "Body": "다른 말"}
    assert (await gateway.post(tampered, signature=signature)).status_code == 403
    assert gateway.rasa.calls == []
    rejected = gateway.services.metrics.registry.get_sample_value(
        "sotong_rejected_webhooks_total", {"provider": "twilio", "reason": "signature"}
    )
    assert rejected == 4


async def test_oversized_body_is_refused(gateway: Gateway) -> None:
    form = gateway.form("가" * 5000)
    response = await gateway.post(form)
    assert response.status_code == 413
    assert gateway.rasa.calls == []


async def test_malformed_webhook_is_a_400_and_never_logs_the_body(gateway: Gateway) -> None:
    secret = "제 비밀 이야기예요"
    with structlog.testing.capture_logs() as logs:
        no_sid = gateway.form(secret, MessageSid="", SmsMessageSid="", SmsSid="")
        assert (await gateway.post(no_sid)).status_code == 400
        no_sender = gateway.form(secret, From="")
        assert (await gateway.post(no_sender)).status_code == 400
        bad_count = gateway.form(secret, NumMedia="x")
        assert (await gateway.post(bad_count)).status_code == 400
        # A good message logs its outcome, never its text either.
        await gateway.text(secret)
    assert [e["fields"] for e in logs if e["event"] == "sms.malformed"] == [
        ["MessageSid"],
        ["From"],
        ["NumMedia"],
    ]
    assert any(e["event"] == "sms.answered" for e in logs)
    assert secret not in repr(logs)


async def test_webhook_of_another_account_is_refused(gateway: Gateway) -> None:
    form = gateway.form("안녕", AccountSid="AC" + "f" * 32)
    assert (await gateway.post(form)).status_code == 403


# ---- keywords and opt-out ----------------------------------------------------------------
async def test_korean_stop_persists_confirms_and_silences(gateway: Gateway) -> None:
    state = gateway.services.sms_state
    assert await gateway.text(" 중지! ") == [say("sms_stopped", "ko")]
    number = await state.number(CITIZEN)
    assert number.opted_out and not number.provider_blocked
    assert number.opted_out_at is not None
    # Other text is not sent to the dialogue; the number is told once how to restart.
    assert await gateway.text("등본 떼고 싶어요") == [say("sms_opted_out", "ko")]
    assert await gateway.text("여보세요") == []
    assert await gateway.text("더보기") == []
    assert gateway.rasa.calls == []
    assert await gateway.text("도움말") == [say("sms_help", "ko")]  # help is always given
    assert await gateway.text("시작") == [say("sms_started", "ko")]
    assert not await state.is_opted_out(CITIZEN)
    assert await gateway.text("안녕") == ["답: 안녕"]


async def test_english_stop_is_left_to_twilio(gateway: Gateway) -> None:
    """Twilio answers STOP itself and blocks the number: a reply of ours would fail
    with error 21610, so the TwiML is empty; the opt-out is still persisted."""
    state = gateway.services.sms_state
    assert await gateway.text("stop") == []
    number = await state.number(CITIZEN)
    assert number.opted_out and number.provider_blocked
    assert await gateway.text("hello?") == []  # no restart hint: Twilio would refuse it
    assert await gateway.text("HELP") == []
    assert await gateway.text("START") == []  # Twilio confirms its own START
    assert not await state.is_opted_out(CITIZEN)
    assert gateway.rasa.calls == []
    assert await gateway.text("HELP") == [say("sms_help", "en")]


async def test_twilio_opt_out_type_wins(gateway: Gateway) -> None:
    # Advanced Opt-Out configured with a Korean word: Twilio answered it (OptOutType).
    assert await gateway.text("그만", OptOutType="STOP") == []
    assert (await gateway.services.sms_state.number(CITIZEN)).provider_blocked
    assert await gateway.text("YES") == []  # Twilio's opt-in word, from an opted-out number
    assert not await gateway.services.sms_state.is_opted_out(CITIZEN)
    assert await gateway.text("도움말", OptOutType="HELP") == []  # Twilio sent the help text
    assert await gateway.text("yes") == ["답: yes"]  # opted in: an ordinary answer again


@pytest.mark.parametrize("settings_extra", [{"sms_provider_keywords": False}])
async def test_without_twilio_filtering_english_keywords_are_answered(
    gateway: Gateway,
) -> None:
    assert await gateway.text("STOP") == [say("sms_stopped", "en")]
    assert not (await gateway.services.sms_state.number(CITIZEN)).provider_blocked
    assert await gateway.text("what now") == [say("sms_opted_out", "en")]
    assert await gateway.text("Start") == [say("sms_started", "en")]


async def test_a_keyword_inside_a_sentence_goes_to_the_dialogue(gateway: Gateway) -> None:
    assert await gateway.text("등본 발급 중지하고 싶어요") == ["답: 등본 발급 중지하고 싶어요"]
    assert not await gateway.services.sms_state.is_opted_out(CITIZEN)


# ---- paging ----------------------------------------------------------------------------
async def test_a_long_korean_answer_is_paged_with_more(gateway: Gateway) -> None:
    hint = say("sms_more_hint", "ko")
    budget = gateway.services.settings
    pages = [await gateway.text("긴 답")]
    while pages[-1][-1].endswith(hint):
        pages.append(await gateway.text("더보기"))
        assert len(pages) < 10
    assert len(pages) >= 2
    for page in pages:
        assert 1 <= len(page) <= budget.sms_messages_per_page
        for message in page:
            assert encoding_of(message) == "UCS-2"
            assert segment_count(message) <= budget.sms_segments_per_message
    sent = " ".join(m.removesuffix(hint) for page in pages for m in page)
    assert sent.split() == LONG_KO.split()  # every word once, in order
    assert await gateway.text("MORE") == [say("sms_more_none", "en")]
    assert len(gateway.rasa.calls) == 1  # pages come from the store, not the dialogue


async def test_a_new_answer_replaces_the_rest_of_the_old(gateway: Gateway) -> None:
    await gateway.text("긴 답")
    await gateway.text("안녕")
    assert await gateway.text("더 보기") == [say("sms_more_none", "ko")]


# ---- rate limit ------------------------------------------------------------------------
@pytest.mark.parametrize("settings_extra", [{"sms_rate_per_minute": 2}])
async def test_rate_limit_one_polite_reply_then_silence(gateway: Gateway) -> None:
    assert await gateway.text("하나") == ["답: 하나"]
    assert await gateway.text("둘") == ["답: 둘"]
    assert await gateway.text("셋") == [say("sms_rate_limited", "ko")]
    assert await gateway.text("넷") == []
    assert await gateway.text("중지") == []  # honoured, but silently over the limit
    assert await gateway.services.sms_state.is_opted_out(CITIZEN)
    assert len(gateway.rasa.calls) == 2
    assert _outcomes(gateway.services, "rate_limited") == 3
    gateway.clock.now += dt.timedelta(minutes=1)  # the next window
    assert await gateway.text("시작") == [say("sms_started", "ko")]
    assert await gateway.text("다섯") == ["답: 다섯"]


# ---- idempotency -------------------------------------------------------------------------
async def test_a_retried_delivery_gets_the_same_answer_once(gateway: Gateway) -> None:
    form = gateway.form("긴 답")
    first = await gateway.post(form)
    again = await gateway.post(form)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content and messages(first)
    assert len(gateway.rasa.calls) == 1
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None
    turns = await gateway.services.store.transcript(conversation.id)
    assert sum(t.direction is TurnDirection.INBOUND for t in turns) == 1
    assert _outcomes(gateway.services, "duplicate") == 1
    # The retry did not consume the next page either.
    assert await gateway.text("더보기") != [say("sms_more_none", "ko")]


async def test_a_retry_of_a_turn_that_died_mid_way_is_answered_once(gateway: Gateway) -> None:
    # The first delivery dies while Rasa thinks (a crash, a killed worker): the turn is
    # stored, nothing was said back. Twilio retries the same MessageSid (review M1).
    gateway.rasa.gate = asyncio.Event()
    form = gateway.form("안녕하세요")
    first = asyncio.ensure_future(gateway.post(form))
    while not gateway.rasa.calls:
        await asyncio.sleep(0.01)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    gateway.rasa.gate.set()
    again = await gateway.post(form)
    assert messages(again) == ["답: 안녕하세요"]
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None
    turns = await gateway.services.store.transcript(conversation.id)
    assert [t.status for t in turns if t.direction is TurnDirection.INBOUND] == [
        TurnStatus.ANSWERED
    ]
    # A third delivery gets the same answer, and Rasa is not asked again.
    calls = len(gateway.rasa.calls)
    assert messages(await gateway.post(form)) == ["답: 안녕하세요"]
    assert len(gateway.rasa.calls) == calls


async def test_a_keyword_retried_is_not_applied_twice(gateway: Gateway) -> None:
    form = gateway.form("중지")
    assert messages(await gateway.post(form)) == [say("sms_stopped", "ko")]
    await gateway.services.sms_state.set_opted_out(CITIZEN, False)
    assert messages(await gateway.post(form)) == [say("sms_stopped", "ko")]
    assert not await gateway.services.sms_state.is_opted_out(CITIZEN)


async def test_concurrent_duplicates_are_processed_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway.rasa.gate = asyncio.Event()
    state = gateway.services.sms_state
    original = state._get_message

    async def polling(message_sid: str) -> Any:
        assert gateway.rasa.gate is not None
        gateway.rasa.gate.set()  # the duplicate is waiting: let the first one answer
        return await original(message_sid)

    monkeypatch.setattr(state, "_get_message", polling)
    form = gateway.form("안녕하세요")
    first, second = await asyncio.gather(gateway.post(form), gateway.post(form))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert messages(first) == ["답: 안녕하세요"]
    assert len(gateway.rasa.calls) == 1


# ---- media, empty, dialogue down ---------------------------------------------------------
async def test_a_picture_without_text_gets_a_kind_reply(gateway: Gateway) -> None:
    media = {
        "NumMedia": "1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/x/Media/y",
    }
    assert await gateway.text("", **media) == [say("sms_media", "ko")]
    assert await gateway.text("   ") == [say("sms_empty", "ko")]
    assert gateway.rasa.calls == []


async def test_dialogue_down_apology_now_answer_later_through_the_outbox(
    gateway: Gateway,
) -> None:
    gateway.rasa.down = True
    assert await gateway.text("기초연금 알려주세요") == [say("dialogue_unavailable", "ko")]
    assert _outcomes(gateway.services, "degraded") == 1
    gateway.rasa.down = False
    assert await gateway.services.core.replay_pending() == 1
    queued = await gateway.services.outbox.store.messages(recipient=CITIZEN)
    assert [m.kind for m in queued] == ["answer"]
    assert queued[0].body == "답: 기초연금 알려주세요"


@pytest.mark.parametrize("settings_extra", [{"sms_answer_budget_seconds": 0.3}])
async def test_a_slow_answer_goes_out_by_the_outbox_not_past_twilios_wait(
    gateway: Gateway,
) -> None:
    # Twilio waits 15 s; past the budget the webhook answers empty and the answer is
    # texted when it is ready (review M2).
    gateway.rasa.gate = asyncio.Event()
    started = asyncio.get_running_loop().time()
    assert await gateway.text("기초연금 알려주세요") == []
    assert asyncio.get_running_loop().time() - started < 2
    assert await gateway.services.outbox.store.messages(recipient=CITIZEN) == []
    gateway.rasa.gate.set()
    for _ in range(100):
        queued = await gateway.services.outbox.store.messages(recipient=CITIZEN)
        if queued:
            break
        await asyncio.sleep(0.05)
    assert [m.body for m in queued] == ["답: 기초연금 알려주세요"]
    # The copy kept on disk while the answer was late goes once the answer is queued.
    spool = gateway.services.settings.var_dir / "spool" / "sms"
    for _ in range(100):
        if not any(spool.iterdir()):
            break
        await asyncio.sleep(0.05)
    assert list(spool.iterdir()) == []
    assert await answer_kept(gateway.services) == 0


@pytest.mark.parametrize(
    "settings_extra",
    [
        {
            "sms_answer_budget_seconds": 0.3,
            "sms_duplicate_wait_seconds": 0.2,
            "sms_claim_lease_seconds": 60,
        }
    ],
)
async def test_a_late_answer_cut_off_by_the_gateway_dying_is_answered_from_disk(
    gateway: Gateway,
) -> None:
    # After its empty 200 Twilio never sends the message again. CI lost a text this way:
    # a gateway answered late, then was killed before the answer went out.
    services = gateway.services
    spool = services.settings.var_dir / "spool" / "sms"
    gateway.rasa.gate = asyncio.Event()
    form = gateway.form("기초연금 알려주세요")
    assert messages(await gateway.post(form)) == []
    (kept,) = spool.iterdir()
    assert form["MessageSid"] in kept.name
    # The process dies: its late work stops, its claim on the MessageSid stays behind.
    (late,) = (task for task in sms_adapter._late if not task.done())
    late.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await late
    claim = await services.sms_state.claim_message(
        form["MessageSid"], CITIZEN, wait_seconds=0.1, lease_seconds=60
    )
    assert claim.owned  # as the dead process had it
    gateway.rasa.gate.set()
    assert await answer_kept(services) == 0  # the claim may still be working: wait
    assert await services.outbox.store.messages(recipient=CITIZEN) == []
    gateway.clock.advance(seconds=61)  # past the lease: the claim belonged to the dead
    assert await answer_kept(services) == 1
    queued = await services.outbox.store.messages(recipient=CITIZEN)
    assert [m.body for m in queued] == ["답: 기초연금 알려주세요"]
    assert list(spool.iterdir()) == []
    assert await answer_kept(services) == 0  # answered once


async def test_a_number_sent_over_two_texts_is_masked(gateway: Gateway) -> None:
    # Review M11: each half alone is no resident number; sent one after the other they are.
    await gateway.text("생년월일 850315")
    await gateway.text("2987654")
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None
    said = [
        t.text
        for t in await gateway.services.store.transcript(conversation.id)
        if t.direction is TurnDirection.INBOUND
    ]
    assert said == ["생년월일 850315", "*******"]
    assert [call["message"] for call in gateway.rasa.calls][-1] == "*******"
    assert await gateway.services.store.last_inbound_text(conversation.id) == "*******"


@contextlib.contextmanager
def _database_locked(settings: Settings) -> Iterator[None]:
    """Another process holds SQLite's write lock: every write waits, then fails."""
    lock = sqlite3.connect(settings.var_dir / "sotong.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        lock.execute("COMMIT")
        lock.close()


@pytest.mark.parametrize("settings_extra", [{"db_query_timeout_seconds": 0.5}])
async def test_database_out_message_kept_on_disk_and_answered_when_back(
    gateway: Gateway,
) -> None:
    # Twilio never retries a messaging webhook that failed: a 500 would lose the
    # message (review M12). The citizen is told it was kept; it is answered later.
    services = gateway.services
    spool = services.settings.var_dir / "spool" / "sms"
    with _database_locked(services.settings):
        response = await gateway.post(gateway.form("기초연금 850315-1987654 알려주세요"))
        assert response.status_code == 200, response.text
        assert messages(response) == [say("dialogue_unavailable", "ko")]
        (kept,) = spool.iterdir()
        assert kept.stat().st_mode & 0o777 == 0o600
        assert "1987654" not in kept.read_text(encoding="utf-8")  # masked on disk too
        assert await answer_kept(services) == 0  # still out: it stays
        assert len(list(spool.iterdir())) == 1
    assert gateway.rasa.calls == []
    assert await answer_kept(services) == 1
    assert list(spool.iterdir()) == []
    queued = await services.outbox.store.messages(recipient=CITIZEN)
    assert [m.kind for m in queued] == ["answer"]
    assert queued[0].body.startswith("답: 기초연금")
    assert "1987654" not in queued[0].body
    assert await answer_kept(services) == 0  # answered once


@pytest.mark.parametrize("settings_extra", [{"db_query_timeout_seconds": 0.5}])
async def test_database_out_web_routes_answer_503_in_plain_words(gateway: Gateway) -> None:
    with _database_locked(gateway.services.settings):
        response = await gateway.client.post("/api/webchat/sessions", json={"language": "ko"})
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert "다시 보내 주세요" in response.json()["detail"]


def test_the_dialogue_gives_up_before_the_sms_budget() -> None:
    settings = Settings(_env_file=None)
    assert settings.rasa_timeout_seconds < settings.sms_answer_budget_seconds < 15


# ---- profile (with consent) and deadline reminders ----------------------------------
async def test_nothing_is_remembered_without_consent(gateway: Gateway) -> None:
    await gateway.text("hello, I need help")
    assert await gateway.services.profiles.get(CITIZEN) is None


async def test_save_keeps_the_language_with_consent(gateway: Gateway) -> None:
    assert await gateway.text("hello") == ["답: hello"]
    assert await gateway.text("SAVE") == [say("sms_profile_saved", "en")]
    profile = await gateway.services.profiles.get(CITIZEN)
    assert profile is not None and profile.language == "en" and profile.consented_at


async def test_a_first_contact_starts_from_the_profile(gateway: Gateway) -> None:
    other = "+821099998888"
    await gateway.services.profiles.save_with_consent(other, "en", {"deaf": True})
    # No letters to tell the language by: the profile decides.
    assert await gateway.text("112", From=other) == ["답: 112"]
    call = gateway.rasa.calls[-1]
    assert call["metadata"]["language"] == "en"
    assert call["metadata"]["accessibility"]["deaf"] is True


async def test_forget_erases_the_profile_and_the_reminders(gateway: Gateway) -> None:
    await gateway.text("저장")
    assert await gateway.services.profiles.get(CITIZEN) is not None
    assert "1." in (await gateway.text("알림"))[0]  # the menu of life events
    assert await gateway.text("삭제") == [say("sms_profile_forgotten", "ko")]
    assert await gateway.services.profiles.get(CITIZEN) is None
    assert await gateway.services.reminders.store.get_draft(CITIZEN) is None
    assert gateway.rasa.calls == []  # none of these went to the dialogue


async def test_reminders_are_set_up_in_two_texts_and_cancelled(gateway: Gateway) -> None:
    menu = (await gateway.text("알림"))[0]
    choices = gateway.services.reminders.choices
    moving = next(i for i, c in enumerate(choices, 1) if c.service.id == "move_in_report")
    assert f"{moving}." in menu
    asked = await gateway.text(str(moving))
    assert asked and gateway.rasa.calls == []  # a digit in a set-up is not a dialogue choice
    today = dt.datetime.now(dt.UTC).date()
    due = today + dt.timedelta(days=14)  # the move-in report: 14 days after moving
    (confirmed,) = await gateway.text(f"{today.month}월 {today.day}일")
    assert f"{due.month}월 {due.day}일" in confirmed and "알림취소" in confirmed
    reminders = await gateway.services.reminders.store.reminders(CITIZEN)
    assert reminders and {r.service_id for r in reminders} == {"move_in_report"}
    assert await gateway.text("알림취소")
    left = await gateway.services.reminders.store.reminders(CITIZEN)
    assert all(r.status != "scheduled" for r in left)


async def test_an_opted_out_number_can_still_have_its_data_erased(gateway: Gateway) -> None:
    await gateway.text("저장")
    assert await gateway.text("중지") == [say("sms_stopped", "ko")]
    assert await gateway.text("삭제") == [say("sms_profile_forgotten", "ko")]
    assert await gateway.services.profiles.get(CITIZEN) is None
    assert await gateway.services.sms_state.is_opted_out(CITIZEN)  # still opted out
    assert await gateway.text("저장") == [say("sms_opted_out", "ko")]  # no consent while out
    assert await gateway.services.profiles.get(CITIZEN) is None


def _rasa_tracker(path: Path, events: dict[str, int]) -> None:
    """Rasa's SQL tracker store table (SQLTrackerStore.SQLEvent), with ``count`` events
    for each sender id, as Rasa writes it (tests/integration/test_forget.py checks the
    same against a real Rasa server)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL,"
            " type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255),"
            " action_name VARCHAR(255), data TEXT)"
        )
        for sender, count in events.items():
            for _ in range(count):
                db.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, data)"
                    " VALUES (?, 'user', 0, '{\"text\": \"기초연금\"}')",
                    (sender,),
                )
        db.commit()


def _tracker_events(path: Path) -> dict[str, int]:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT sender_id, count(*) FROM events GROUP BY sender_id").fetchall()
    return dict(rows)


async def test_forget_erases_every_trace_of_the_number(gateway: Gateway, tmp_path: Path) -> None:
    """Review M7: FORGET erases the number's conversations with their turns and handoff
    requests, the dialogue's tracker of them, outbox messages and SMS records; the next
    text starts afresh. The opt-out state and other citizens' data stay."""
    services = gateway.services
    other = "+821099998888"
    assert await gateway.text("기초연금 알려주세요") == ["답: 기초연금 알려주세요"]
    assert await gateway.text("안녕", From=other) == ["답: 안녕"]
    mine = await services.store.latest_conversation("sms", CITIZEN)
    theirs = await services.store.latest_conversation("sms", other)
    assert mine is not None and theirs is not None
    await services.store.request_handoff(mine.id, "person", None, "sms", "ko", {})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # not sent during the test
    for phone in (CITIZEN, other):
        await services.outbox.store.enqueue(phone, ["늦은 답"], kind="answer", now=later)
    tracker = tmp_path / "rasa-tracker.db"
    _rasa_tracker(tracker, {mine.id: 5, theirs.id: 3})

    assert await gateway.text("삭제") == [say("sms_profile_forgotten", "ko")]
    forget_sid = f"SM{gateway.sids:032x}"

    assert await services.store.get_conversation(mine.id) is None
    assert await services.store.transcript(mine.id) == []
    assert await services.store.handoff_requests(mine.id) == []
    assert _tracker_events(tracker) == {theirs.id: 3}
    assert [m.recipient for m in await services.outbox.store.messages()] == [other]
    # Of the number's SMS records only the FORGET's own is left (a retry of it must
    # get the same answer); the daily drop takes it.
    assert [sid for phone, sid in await _message_records(services) if phone == CITIZEN] == [
        forget_sid
    ]
    assert await services.store.get_conversation(theirs.id) is not None
    # The next text is a new conversation, with no memory of the old one.
    assert await gateway.text("안녕하세요") == ["답: 안녕하세요"]
    fresh = await services.store.latest_conversation("sms", CITIZEN)
    assert fresh is not None and fresh.id != mine.id
    assert [t.text for t in await services.store.transcript(fresh.id)] == [
        "안녕하세요",
        "답: 안녕하세요",
    ]


async def _message_records(services: Services) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from assistant.sms.models import SmsMessageRow

    async with services.engine.connect() as conn:
        rows = await conn.execute(select(SmsMessageRow.phone, SmsMessageRow.message_sid))
        return [(str(phone), str(sid)) for phone, sid in rows]


async def test_a_multipart_form_with_a_file_is_refused_not_a_500(gateway: Gateway) -> None:
    """Review L2: a multipart body with a file reached the signature check as an
    UploadFile and failed it with a TypeError (500). Twilio posts url-encoded forms only."""
    response = await gateway.client.post(
        PATH,
        files={"Body": ("hostname", b"sotong\n", "text/plain")},
        data={"From": CITIZEN},
        headers={"X-Twilio-Signature": "x"},
    )
    assert response.status_code == 415
    assert "x-www-form-urlencoded" in response.json()["detail"]
    as_json = await gateway.client.post(
        PATH, json={"Body": "x"}, headers={"X-Twilio-Signature": "x"}
    )
    assert as_json.status_code == 415
    assert await gateway.text("안녕") == ["답: 안녕"]  # a real webhook still works


# ---- foreign residents (issue 20, item 6) ----------------------------------------------
async def test_a_vietnamese_text_is_answered_in_vietnamese_and_a_person_who_speaks_it_asked(
    gateway: Gateway,
) -> None:
    answer = "\n".join(await gateway.text("Tôi cần giấy chứng nhận cư trú"))
    assert answer.startswith(foreign_text("vi", "help")[:40])
    assert answer.endswith("1. Nhân viên nói tiếng Việt\n2. 한국어\n3. English")
    assert gateway.rasa.calls == []  # the dialogue has no Vietnamese
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None and conversation.language == "ko"  # nothing switched

    answer = "\n".join(await gateway.text("1"))
    assert answer.startswith(foreign_text("vi", "waiting"))
    requests = await gateway.services.store.handoff_requests(conversation.id)
    assert [(r.reason, r.language) for r in requests] == [("foreign_language", "vi")]
    assert gateway.rasa.calls == []


async def test_english_picked_after_a_foreign_answer_is_the_dialogue_in_english(
    gateway: Gateway,
) -> None:
    await gateway.text("Мне нужна справка о регистрации")
    await gateway.text("3")
    [call] = gateway.rasa.calls
    assert call["message"].startswith("/switch_language")
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None and conversation.language == "en"


async def test_a_word_or_two_in_another_script_does_not_turn_a_korean_conversation(
    gateway: Gateway,
) -> None:
    await gateway.text("기초연금 알려주세요")
    assert await gateway.text("спасибо") == ["답: спасибо"]  # to the dialogue, as ever
    conversation = await gateway.services.store.latest_conversation("sms", CITIZEN)
    assert conversation is not None and conversation.language == "ko"
