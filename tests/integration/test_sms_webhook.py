"""SMS through the real gateway process and the real Rasa 3.6 server.

Each test posts Twilio's exact wire format (form fields, ``X-Twilio-Signature`` computed
with the SDK over the public URL Twilio would call) to ``sotong serve``, and reads the
transcript from the gateway's own database.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from twilio.request_validator import RequestValidator

from assistant.catalog import load_catalog
from assistant.config import Settings, to_async_url
from assistant.store import SqlConversationStore, Turn, TurnDirection
from assistant.texts import say
from channels.sms.segments import encoding_of, segment_count
from tests.stackutil import TWILIO_AUTH_TOKEN, Stack
from tests.twilio_wire import SMS_PATH as PATH
from tests.twilio_wire import signed, sms_form

pytestmark = pytest.mark.rasa

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def short_form(service_id: str) -> str:
    """The SMS (short) answer of a catalog service in Korean, spaces normalised."""
    service = load_catalog().get(service_id)
    assert service is not None
    return flat(service.short.get("ko"))


def flat(text: str) -> str:
    return " ".join(text.split())


def new_number() -> str:
    """A citizen's phone number of its own per test (state and rate limit are per number)."""
    return "+8210" + "".join(secrets.choice("0123456789") for _ in range(8))


def twiml_messages(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


@pytest.fixture
def gateway(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
        yield client


def send(gateway: httpx.Client, phone: str, body: str) -> list[str]:
    form = sms_form(phone, body)
    return twiml_messages(gateway.post(PATH, data=form, headers=signed(form)))


def pages_of(
    gateway: httpx.Client, phone: str, first: list[str], language: str = "ko", most: int = 9
) -> list[list[str]]:
    """An answer's pages: its first, then one per "더보기"/MORE until none is left (at
    most ``most`` pages)."""
    hint = say("sms_more_hint", language)
    pages = [first]
    while pages[-1] and pages[-1][-1].endswith(hint):
        pages.append(send(gateway, phone, "더보기" if language == "ko" else "MORE"))
        assert len(pages) <= most, pages
    return pages


async def _inbound_turns(stack: Stack, phone: str) -> list[Turn]:
    url = to_async_url(f"sqlite:///{stack.var_dir / 'sotong.db'}")
    store = SqlConversationStore.from_url(url)
    try:
        conversation = await store.latest_conversation("sms", phone)
        assert conversation is not None
        turns = await store.transcript(conversation.id)
        return [t for t in turns if t.direction is TurnDirection.INBOUND]
    finally:
        await store.close()


def test_signed_sms_is_answered_by_rasa_in_sms_sized_korean(
    gateway: httpx.Client, stack: Stack
) -> None:
    phone = new_number()
    settings = Settings()
    hint = say("sms_more_hint", "ko")
    pages = pages_of(gateway, phone, send(gateway, phone, "등본"))
    answer = flat(" ".join(m.removesuffix(hint) for page in pages for m in page))
    # The catalog's short form (SMS gets it), through the custom action.
    assert short_form("resident_registration_copy") in answer
    for page in pages:
        assert 1 <= len(page) <= settings.sms_messages_per_page
        for message in page:
            assert HANGUL.search(message) and encoding_of(message) == "UCS-2"
            # 70 UTF-16 units alone, 67 per segment when concatenated.
            assert segment_count(message) <= settings.sms_segments_per_message
    assert send(gateway, phone, "더보기") == [say("sms_more_none", "ko")]
    [turn] = asyncio.run(_inbound_turns(stack, phone))
    assert turn.text == "등본" and turn.client_message_id is not None


def test_duplicate_message_sid_is_processed_once(gateway: httpx.Client, stack: Stack) -> None:
    phone = new_number()
    form = sms_form(phone, "기초연금 알려주세요")
    first = twiml_messages(gateway.post(PATH, data=form, headers=signed(form)))
    again = twiml_messages(gateway.post(PATH, data=form, headers=signed(form)))
    assert first == again and short_form("basic_pension") in flat(" ".join(first))

    async def concurrent() -> list[httpx.Response]:
        form = sms_form(phone, "전입신고 어떻게 해요")
        async with httpx.AsyncClient(base_url=stack.gateway.url, timeout=30) as client:
            return await asyncio.gather(
                *(client.post(PATH, data=form, headers=signed(form)) for _ in range(3))
            )

    responses = asyncio.run(concurrent())
    assert len({r.content for r in responses}) == 1
    assert short_form("move_in_report") in flat(" ".join(twiml_messages(responses[0])))
    turns = asyncio.run(_inbound_turns(stack, phone))
    assert [t.text for t in turns] == ["기초연금 알려주세요", "전입신고 어떻게 해요"]


def test_bad_or_missing_signature_is_refused(gateway: httpx.Client) -> None:
    form = sms_form(new_number(), "등본")
    assert gateway.post(PATH, data=form, headers=signed(form, "0" * 32)).status_code == 403
    assert gateway.post(PATH, data=form).status_code == 403
    # Signed over the URL the gateway itself sees instead of the public one.
    local = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
        str(gateway.base_url).rstrip("/") + PATH, form
    )
    assert gateway.post(PATH, data=form, headers={"X-Twilio-Signature": local}).status_code == 403


def test_korean_stop_keeps_text_from_the_dialogue(gateway: httpx.Client, stack: Stack) -> None:
    phone = new_number()
    assert send(gateway, phone, "안녕하세요")
    assert send(gateway, phone, "중지") == [say("sms_stopped", "ko")]
    assert send(gateway, phone, "등본") == [say("sms_opted_out", "ko")]
    assert [t.text for t in asyncio.run(_inbound_turns(stack, phone))] == ["안녕하세요"]
    assert send(gateway, phone, "시작") == [say("sms_started", "ko")]
    assert short_form("resident_registration_copy") in flat(" ".join(send(gateway, phone, "등본")))
