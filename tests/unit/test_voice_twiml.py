"""TwiML for calls, read back with an XML parser; a live call redirected through the real
Twilio SDK against the local Twilio double."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from assistant.outbox.sender import RebasedHttpClient
from channels.voice.twiml import (
    connect_stream,
    dial,
    media_stream_url,
    say_and_hang_up,
    say_locale,
)
from tests.twilio_double import TwilioDouble

CALL = "CA" + "2b1c" * 8


def parse(twiml: str) -> ET.Element:
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(twiml.encode("utf-8"))
    assert root.tag == "Response"
    return root


def test_connect_stream_with_parameters() -> None:
    url = "wss://sotong.test/webhooks/twilio/media"
    parameters = {"caller": "+821012345678", "token": 'a&b<c>"d', "언어": "한국어"}
    root = parse(connect_stream(url, parameters))
    [connect] = list(root)
    assert connect.tag == "Connect"
    [stream] = list(connect)
    assert stream.tag == "Stream" and stream.attrib == {"url": url}
    assert [(p.tag, p.attrib["name"], p.attrib["value"]) for p in stream] == [
        ("Parameter", name, value) for name, value in parameters.items()
    ]


def test_connect_stream_without_parameters_and_refusing_http() -> None:
    stream = parse(connect_stream("wss://sotong.test/m", {})).find("Connect/Stream")
    assert stream is not None and list(stream) == []
    with pytest.raises(ValueError):
        connect_stream("https://sotong.test/m", {})


def test_dial() -> None:
    root = parse(dial("+8221001234", caller_id="+827012345678", timeout_seconds=20))
    [element] = list(root)
    assert element.tag == "Dial" and element.text == "+8221001234"
    assert element.attrib == {"callerId": "+827012345678", "timeout": "20"}
    plain = parse(dial(" 1588-0000 ")).find("Dial")
    assert plain is not None and plain.text == "1588-0000" and plain.attrib == {"timeout": "30"}
    with pytest.raises(ValueError):
        dial("  ")
    with pytest.raises(ValueError):
        dial("+8221001234", timeout_seconds=0)


@pytest.mark.parametrize(
    ("language", "locale", "voice"),
    [
        ("ko", "ko-KR", "Polly.Seoyeon"),
        ("ko-KR", "ko-KR", "Polly.Seoyeon"),
        ("en", "en-US", "Polly.Joanna"),
        ("en-US", "en-US", "Polly.Joanna"),
    ],
)
def test_say_and_hang_up(language: str, locale: str, voice: str) -> None:
    text = "지금은 전화 상담을 할 수 없어요. 문자로 연락해 주세요 <&>"
    root = parse(say_and_hang_up(text, language))
    say, hangup = list(root)
    assert say.tag == "Say" and say.text == text
    assert say.attrib == {"language": locale, "voice": voice}
    assert hangup.tag == "Hangup" and list(hangup) == [] and not hangup.text


def test_say_refuses_a_language_without_a_voice() -> None:
    with pytest.raises(ValueError):
        say_locale("fr")
    with pytest.raises(ValueError):
        say_and_hang_up("bonjour", "fr-FR")


@pytest.mark.parametrize(
    ("public", "expected"),
    [
        ("https://sotong.test", "wss://sotong.test/webhooks/twilio/media"),
        ("https://sotong.test/", "wss://sotong.test/webhooks/twilio/media"),
        ("https://example.org/sotong/", "wss://example.org/sotong/webhooks/twilio/media"),
        ("https://sotong.test:8443?x=1", "wss://sotong.test:8443/webhooks/twilio/media"),
        ("http://127.0.0.1:8000", "ws://127.0.0.1:8000/webhooks/twilio/media"),
    ],
)
def test_media_stream_url(public: str, expected: str) -> None:
    assert media_stream_url(public) == expected


@pytest.mark.parametrize("public", ["", "sotong.test", "ftp://sotong.test", "https://"])
def test_media_stream_url_needs_an_absolute_http_url(public: str) -> None:
    with pytest.raises(ValueError):
        media_stream_url(public)


# ---- the double's Calls update, through the real SDK ----------------------------------


@pytest.fixture(scope="module")
def double() -> Iterator[TwilioDouble]:
    with TwilioDouble() as running:
        yield running


def client(double: TwilioDouble, token: str | None = None) -> Client:
    http = RebasedHttpClient(double.url, timeout=5)
    return Client(double.account_sid, token or double.auth_token, http_client=http)


def test_redirect_a_live_call_with_twiml(double: TwilioDouble) -> None:
    twiml = dial("+8221001234", caller_id="+827012345678")
    call = client(double).calls(CALL).update(twiml=twiml)
    assert call.sid == CALL and call.status == "in-progress"
    assert call.account_sid == double.account_sid
    update = double.call_updates[-1]
    assert (update.call_sid, update.twiml, update.status, update.url) == (CALL, twiml, None, None)


def test_end_a_call(double: TwilioDouble) -> None:
    call = client(double).calls(CALL).update(status="completed")
    assert call.status == "completed"
    assert double.call_updates[-1].status == "completed"


def test_call_update_needs_auth_and_sense(double: TwilioDouble) -> None:
    before = len(double.call_updates)
    with pytest.raises(TwilioRestException) as caught:
        client(double, token="0" * 32).calls(CALL).update(status="completed")
    assert caught.value.status == 401 and caught.value.code == 20003
    with pytest.raises(TwilioRestException) as caught:
        client(double).calls(CALL).update(status="ringing")
    assert caught.value.status == 400
    answer = httpx.post(
        f"{double.url}/2010-04-01/Accounts/{double.account_sid}/Calls/{CALL}.json",
        auth=(double.account_sid, double.auth_token),
        data={},
    )
    assert answer.status_code == 400 and answer.json()["code"] == 21205
    assert len(double.call_updates) == before
