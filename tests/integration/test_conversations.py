"""Conversations through the gateway with a real Rasa 3.6 server and real actions."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import Citizen, texts
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa


def test_korean_conversation(citizen: Citizen) -> None:
    greeting = citizen.say("안녕하세요")
    assert greeting["language"] == "ko" and not greeting["degraded"]
    assert "소통" in texts(greeting)

    answer = citizen.say("주민등록등본 떼려고 하는데요")
    body = texts(answer)
    assert "[주민등록표 등본·초본 발급]" in body  # the catalog's answer, via the custom action
    assert "신분증" in body and "정부24" in body

    thanks = citizen.say("감사합니다")
    assert "천만에요" in texts(thanks)


def test_english_conversation(gateway: httpx.Client) -> None:
    citizen = Citizen(gateway, language="en")
    assert "Sotong" in texts(citizen.say("hello"))
    answer = citizen.say("how do I apply for the basic pension")
    assert answer["language"] == "en"
    body = texts(answer)
    assert "[Basic pension]" in body and "65" in body
    assert "Goodbye" in texts(citizen.say("bye"))


@pytest.mark.parametrize(
    ("question", "title_ko", "title_en"),
    [
        ("등본", "주민등록표 등본·초본 발급", "Resident registration copy or abstract"),
        ("전입신고 어떻게 해요", "전입신고", "Move-in report"),
        ("기초연금 신청하고 싶어요", "기초연금", "Basic pension"),
        ("장애인 등록 하려면 어떻게 해요", "장애인 등록", "Disability registration"),
        ("출생신고 하려고요", "출생신고", "Birth report"),
    ],
)
def test_five_services_in_both_languages(
    gateway: httpx.Client, question: str, title_ko: str, title_en: str
) -> None:
    citizen = Citizen(gateway)
    assert f"[{title_ko}]" in texts(citizen.say(question))
    english = Citizen(gateway, language="en")
    english_question = {
        "등본": "resident registration copy",
        "전입신고 어떻게 해요": "how do I report a change of address",
        "기초연금 신청하고 싶어요": "basic pension",
        "장애인 등록 하려면 어떻게 해요": "how do I register a disability",
        "출생신고 하려고요": "where do I report a birth",
    }[question]
    assert f"[{title_en}]" in texts(english.say(english_question))


def test_language_switch_mid_conversation(citizen: Citizen) -> None:
    first = citizen.say("기초연금 알려주세요")
    assert first["language"] == "ko" and "[기초연금]" in texts(first)

    switched = citizen.say("English please")
    assert switched["language"] == "en"
    assert "English" in texts(switched)

    # A bare number picks the quick reply offered last; the reply stays in English.
    menu = citizen.say("what can you do")
    assert menu["language"] == "en" and menu["messages"][-1]["buttons"]
    chosen = citizen.say("2")  # help's second: "Services for you"
    assert chosen["language"] == "en" and "Who are they for?" in texts(chosen)

    back = citizen.say("한국어로 해주세요")
    assert back["language"] == "ko" and "한국어" in texts(back)
    assert "[출생신고]" in texts(citizen.say("출생신고"))


def test_asking_for_a_document_in_english_is_not_a_language_switch(citizen: Citizen) -> None:
    # Issue 20: this switched the conversation to English and answered the ordinary
    # copy; it asks, in Korean, for the English certificate.
    answer = citizen.say("영어로 된 등본이 필요해요")
    assert answer["language"] == "ko"
    assert "[영문 증명서·번역 민원서류 발급]" in texts(answer), texts(answer)


def test_repeat_start_over_and_fallback(citizen: Citizen) -> None:
    answer = citizen.say("전입신고")
    repeated = citizen.say("다시 말해 주세요")
    assert texts(repeated) == texts(answer)

    restarted = citizen.say("처음부터 다시")
    assert "처음부터" in texts(restarted)

    fallback = citizen.say("ㅁㄴㅇㄹ 블라블라 쿼크 양자역학")
    assert fallback["messages"][-1]["buttons"], "a fallback offers choices"
    assert "모르" not in texts(fallback)


def test_quick_reply_payload(citizen: Citizen) -> None:
    # A payload counts only when its button was offered (review L6): a fallback's choices.
    offered = citizen.say("ㅁㄴㅇㄹ 블라블라 쿼크 양자역학")["messages"][-1]["buttons"]
    pension = next(b for b in offered if b["payload"] == '/ask_service{"service":"basic_pension"}')
    answer = citizen.say(pension["title"], payload=pension["payload"])
    assert "[기초연금]" in texts(answer)


def test_transcript_is_stored_with_replies(citizen: Citizen) -> None:
    citizen.say("안녕하세요")
    citizen.say("출생신고 기한이 있나요")
    transcript = citizen.transcript()
    senders = [m["sender"] for m in transcript]
    assert senders[:2] == ["citizen", "bot"] and senders.count("citizen") == 2
    assert any("[출생신고]" in m["text"] for m in transcript)
    later = citizen.transcript(after=transcript[1]["id"])
    assert later == transcript[2:]


def test_talk_to_a_person_records_a_handoff(citizen: Citizen, stack: Stack) -> None:
    citizen.say("기초연금")
    reply = citizen.say("수어 통역사 불러주세요")
    assert "수어 통역사" in texts(reply)
    assert "107" in texts(reply)  # the relay service, usable while the interpreter comes
    import sqlite3

    with sqlite3.connect(stack.var_dir / "sotong.db") as db:
        rows = db.execute(
            "SELECT reason, service, channel, language FROM handoff_requests"
            " WHERE conversation_id = ?",
            (citizen.session_id,),
        ).fetchall()
    assert rows == [("sign_language", "basic_pension", "webchat", "ko")]


def test_resident_registration_number_never_reaches_rasa_or_store(
    citizen: Citizen, stack: Stack
) -> None:
    citizen.say("제 주민번호는 900101-1234567 인데 등본 떼주세요")
    assert all("1234567" not in m["text"] for m in citizen.transcript())
    tracker = httpx.get(
        f"{stack.rasa.url}/conversations/{citizen.session_id}/tracker",
        params={"token": stack.rasa.auth_token},
        timeout=10,
    ).json()
    assert "1234567" not in str(tracker)
    assert "******-*******" in str(tracker)


def test_duplicate_delivery_is_answered_once(citizen: Citizen) -> None:
    first = citizen.say("전입신고", client_message_id="retry-1")
    again = citizen.say("전입신고", client_message_id="retry-1")
    assert again["duplicate"] and again["messages"] == first["messages"]
    assert [m["sender"] for m in citizen.transcript()].count("citizen") == 1


def test_bad_input_gets_clear_errors(gateway: httpx.Client, citizen: Citizen) -> None:
    url = f"/api/webchat/sessions/{citizen.session_id}/messages"
    assert gateway.post(url, json={"text": "   "}).status_code == 422
    assert gateway.post(url, json={"text": "가" * 2001}).status_code == 422
    big = gateway.post(
        url, content=b"{" + b" " * 70_000 + b"}", headers={"content-type": "application/json"}
    )
    assert big.status_code == 413
    missing = gateway.post(f"/api/webchat/sessions/{'0' * 32}/messages", json={"text": "hi"})
    assert missing.status_code == 404
    assert (
        gateway.post("/api/webchat/sessions/not-an-id/messages", json={"text": "x"}).status_code
        == 422
    )


def test_every_catalog_service_is_reachable_in_both_languages(gateway: httpx.Client) -> None:
    from assistant.catalog import load_catalog

    korean, english = Citizen(gateway), Citizen(gateway, language="en")
    missed = []
    for service in load_catalog():
        if f"[{service.name.ko}]" not in texts(korean.say(f"{service.name.ko} 알려 주세요")):
            missed.append((service.id, "ko"))
        if f"[{service.name.en}]" not in texts(english.say(f"tell me about {service.name.en}")):
            missed.append((service.id, "en"))
    assert not missed, missed


def test_easy_read_setting_and_language_change_during_a_session(
    gateway: httpx.Client, citizen: Citizen
) -> None:
    path = f"/api/webchat/sessions/{citizen.session_id}"
    changed = gateway.patch(path, json={"accessibility": {"easy_read": True}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["accessibility"] == {"easy_read": True}
    steps = [m["text"] for m in citizen.say("주민등록등본 떼려고 하는데요")["messages"]]
    assert steps[0].startswith("📄 주민등록표 등본·초본 발급")
    assert any(step.startswith("🧾 준비할 것:") for step in steps)

    english = gateway.patch(path, json={"language": "en"}).json()
    assert english["language"] == "en" and english["accessibility"] == {"easy_read": True}
    transcript = gateway.get(path + "/messages").json()
    assert transcript["language"] == "en" and transcript["accessibility"]["easy_read"]
    assert gateway.patch("/api/webchat/sessions/" + "0" * 32, json={}).status_code == 404
    assert gateway.patch(path, json={"language": "fr"}).status_code == 422
