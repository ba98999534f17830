"""The full answer after a short one (issue 20, item 3), through the real stack: on SMS
"자세히"/DETAIL or the choice's number gives the documents, fee, how to apply and
deadline page by page within the SMS budget, opened by a signed link that shows the
whole answer on the web chat once. The phone's sections by keypad are in
test_voice_call.py."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from assistant.catalog import load_catalog
from assistant.config import Settings
from assistant.texts import say
from channels.sms.segments import segment_count
from tests.integration.test_sms_webhook import flat, new_number, pages_of, send
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa

CATALOG = load_catalog()
LINK = re.compile(r"https?://\S+\?continue=[A-Za-z0-9_.-]+")


def _all_pages(gateway: httpx.Client, phone: str, first: list[str], language: str) -> list[str]:
    """Every message of an answer, without the "더보기" hints."""
    hint = say("sms_more_hint", language)
    return [
        m.removesuffix(hint)
        for page in pages_of(gateway, phone, first, language, most=11)
        for m in page
    ]


def test_detail_on_sms_pages_the_full_answer_and_links_to_it(
    gateway: httpx.Client, stack: Stack
) -> None:
    settings = Settings()
    pension = CATALOG.services["basic_pension"]
    phone = new_number()
    short = " ".join(_all_pages(gateway, phone, send(gateway, phone, "기초연금 알려주세요"), "ko"))
    assert "1. 자세히 보기" in short, short
    assert "준비할 것:" not in short  # the short form, as before

    first = send(gateway, phone, "자세히")
    for message in first:
        assert segment_count(message) <= settings.sms_segments_per_message
    # The link comes first, a message of its own (plain ASCII: it fits whole).
    found = LINK.fullmatch(first[0])
    assert found is not None, first
    assert first[1].startswith("함께 보낸 링크를 누르면 이 답을 웹에서 한 번에 봅니다(24시간"), (
        first
    )
    whole = flat(" ".join(_all_pages(gateway, phone, first, "ko")))
    for label, value in [
        ("준비할 것", ", ".join(pension.documents.ko)),
        ("비용", pension.fee.ko),
        ("신청 방법", pension.how_to_apply.ko),
        ("걸리는 시간", pension.processing_time.ko),
    ]:
        assert flat(f"{label}: {value}") in whole, label

    # The link opens the web chat once, with the whole answer as its own message.
    token = parse_qs(urlparse(found.group(0)).query)["continue"][0]
    opened = gateway.post("/api/webchat/sessions", json={"continue_token": token})
    assert opened.status_code == 201, opened.text
    session = opened.json()["session_id"]
    messages = gateway.get(f"/api/webchat/sessions/{session}/messages").json()["messages"]
    texts = [m["text"] for m in messages]
    assert "문자 상담을 여기서 이어 갑니다" in texts[0]
    assert texts[1].startswith("[기초연금]") and "신청 방법:" in texts[1], texts
    again = gateway.post("/api/webchat/sessions", json={"continue_token": token})
    assert again.status_code != 201  # used once


def test_detail_in_english_by_the_choices_number(gateway: httpx.Client) -> None:
    phone = new_number()
    short = " ".join(send(gateway, phone, "how do I get a passport"))
    assert "1. Details" in short, short
    whole = flat(" ".join(_all_pages(gateway, phone, send(gateway, phone, "1"), "en")))
    passport = CATALOG.services["passport"]
    assert "The link sent with this shows the whole answer on the web" in whole
    assert flat(f"What to bring: {', '.join(passport.documents.en)}") in whole
    assert flat(f"Cost: {passport.fee.en}") in whole


def test_detail_before_any_answer_asks_which_service(gateway: httpx.Client) -> None:
    phone = new_number()
    asked = " ".join(send(gateway, phone, "DETAIL"))
    assert "Which service" in asked or "어떤 민원" in asked, asked
    assert not LINK.search(asked)
