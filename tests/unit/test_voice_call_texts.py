"""Texts a phone call makes us send go only to Korean mobile numbers, a few a day each
(security review L10: a spoofed caller ID must not turn the line into an SMS pump).

Three levels: the number rule alone; the "busy" answer of the voice webhook (a small
app, as in test_voice_webhook.py); key 6's link through the adapter's call actions, and
what the dialogue says when the number may not be texted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from assistant.api.ratelimit import RateLimits
from assistant.config import Settings
from assistant.language import Language
from assistant.metrics import Metrics
from assistant.profiles import ProfileError
from channels.voice import adapter
from channels.voice.admission import CallAdmission
from channels.voice.call_texts import is_korean_mobile
from tests.unit.test_call_dialogue import MENU, FakeActions, FakeOutput
from voice.call_dialogue import CallDialogue, DialogueReply, State, TextRefused
from voice.events import CallStarted
from voice.prompts import prompt
from voice.spoken_forms import for_speech

PUBLIC = "https://sotong.example"
TOKEN = "e" * 32
MOBILE = "+821099998888"
# Not Korean mobiles: abroad (a premium-rate range among them), a Seoul landline, a
# Korean premium-rate (060) number, a 070 internet phone, and malformed ones.
NOT_MOBILES = [
    "+447700900123",
    "+881612345678",
    "+15005550006",
    "+82212345678",
    "+82601234567",
    "+827012345678",
    "+8210123456",  # too short
    "+82101234567890",  # too long
    "+82101234５678",  # a full-width digit
    "+821012345678\n",
    "821012345678",
    "anonymous",
]


# ---- the number rule ----------------------------------------------------------------
@pytest.mark.parametrize(
    "number", ["+821012345678", "+82101234567", "+82111234567", "+821612345678", "+82191234567"]
)
def test_korean_mobile_numbers_may_be_texted(number: str) -> None:
    assert is_korean_mobile(number)


@pytest.mark.parametrize("number", NOT_MOBILES)
def test_other_numbers_may_not(number: str) -> None:
    assert not is_korean_mobile(number)


# ---- the busy line ------------------------------------------------------------------
@dataclass
class Line:
    texts: list[tuple[str, str | None]] = field(default_factory=list)  # to, dedupe key


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path, public_url=PUBLIC, twilio_auth_token=TOKEN)


@pytest.fixture
async def busy_line(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Line]]:
    """A line with no room at all: every call is answered "busy"."""
    line = Line()

    async def send_sms(
        to: str, body: str, *, kind: str, dedupe_key: str | None = None
    ) -> list[int]:
        line.texts.append((to, dedupe_key))
        return [1]

    async def no_profile(phone: str) -> None:
        if not phone.startswith("+"):
            raise ProfileError("not E.164")

    admission = CallAdmission(1)
    assert await admission.admit("CA" + "0" * 32)  # the one place, taken
    app = FastAPI()
    app.include_router(adapter.router)
    app.state.services = SimpleNamespace(
        settings=settings,
        metrics=Metrics(),
        voice=SimpleNamespace(problem=None),
        profiles=SimpleNamespace(get=no_profile),
        call_admission=admission,
        outbox=SimpleNamespace(send_sms=send_sms),
        limits=RateLimits(settings),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http, line


async def ring(client: httpx.AsyncClient, caller: str, n: int) -> str:
    """The spoken answer to call number ``n`` from ``caller``."""
    form = {"CallSid": f"CA{n:032x}", "From": caller, "To": "+15005550006"}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/voice", form)
    response = await client.post(
        "/webhooks/twilio/voice", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 200
    root = ET.fromstring(response.text)
    say = root.find("Say")
    assert say is not None and root.find("Hangup") is not None
    return say.text or ""


@pytest.mark.parametrize("caller", ["+447700900123", "+82212345678", "+82601234567"])
async def test_busy_texts_no_number_but_a_korean_mobile(
    busy_line: tuple[httpx.AsyncClient, Line], caller: str
) -> None:
    client, line = busy_line
    said = await ring(client, caller, 1)
    assert line.texts == []
    # The same "busy", without the promise of a text.
    assert "전화가 많아 연결할 수 없습니다" in said and "문자로 안내를 보내" not in said


async def test_the_fourth_busy_text_to_a_number_in_a_day_is_refused(
    busy_line: tuple[httpx.AsyncClient, Line],
) -> None:
    client, line = busy_line
    for n in range(1, 4):
        assert "문자로 안내를 보내 드릴게요" in await ring(client, MOBILE, n)
    assert [to for to, _ in line.texts] == [MOBILE] * 3
    said = await ring(client, MOBILE, 4)
    assert len(line.texts) == 3
    assert "전화가 많아 연결할 수 없습니다" in said and "문자로 안내를 보내" not in said
    # Another number has its own count.
    await ring(client, "+821011112222", 5)
    assert line.texts[-1][0] == "+821011112222"


# ---- key 6: the link ----------------------------------------------------------------
@dataclass
class Outbox:
    sent: list[tuple[str, str | None]] = field(default_factory=list)  # to, dedupe key

    async def send_sms(self, to: str, body: str, **kwargs: Any) -> list[int]:
        key = kwargs.get("dedupe_key")
        if key not in {k for _, k in self.sent}:  # as the real outbox: a duplicate is dropped
            self.sent.append((to, key))
        return [1]


@pytest.fixture
def call_services(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[SimpleNamespace, Outbox]:
    async def offer(*_: object) -> str:
        return "https://sotong.example/c/link"

    monkeypatch.setattr(adapter.continuation, "offer", offer)
    outbox = Outbox()
    services = SimpleNamespace(
        settings=settings,
        store=SimpleNamespace(),
        signing_key=b"k" * 32,
        outbox=outbox,
        limits=RateLimits(settings),  # one per process, shared by its calls
    )
    return services, outbox


def _actions(services: SimpleNamespace, caller: str, n: int) -> adapter.VoiceCallActions:
    call = CallStarted(
        stream_sid=f"MZ{n:032x}",
        call_sid=f"CA{n:032x}",
        account_sid="AC" + "0" * 32,
        parameters={},
    )

    async def end_call() -> None:
        pass

    actions = adapter.VoiceCallActions(services, call, "d" * 32, end_call)  # type: ignore[arg-type]
    actions.caller = caller
    return actions


@pytest.mark.parametrize("caller", ["+447700900123", "+82212345678", "+82601234567"])
async def test_key_six_texts_no_number_but_a_korean_mobile(
    call_services: tuple[SimpleNamespace, Outbox], caller: str
) -> None:
    services, outbox = call_services
    with pytest.raises(TextRefused):
        await _actions(services, caller, 1).text_link(sign_language=False)
    with pytest.raises(TextRefused):
        await _actions(services, caller, 2).text_link(sign_language=True)
    assert outbox.sent == []


async def test_the_fourth_link_to_a_number_in_a_day_is_refused(
    call_services: tuple[SimpleNamespace, Outbox],
) -> None:
    services, outbox = call_services
    first = _actions(services, MOBILE, 1)
    # Key 6 pressed again in the same call sends nothing new, so it counts once.
    assert await first.text_link(sign_language=False)
    assert await first.text_link(sign_language=False)
    for n in (2, 3):
        assert await _actions(services, MOBILE, n).text_link(sign_language=False)
    assert [to for to, _ in outbox.sent] == [MOBILE] * 3
    with pytest.raises(TextRefused):
        await _actions(services, MOBILE, 4).text_link(sign_language=False)
    assert len(outbox.sent) == 3


# As they are heard (numbers in words: "이 번", "two").
REFUSED = {
    language: for_speech(prompt("link_refused", language), language) for language in ("ko", "en")
}


class RefusingActions(FakeActions):
    async def text_link(self, sign_language: bool) -> bool:
        await super().text_link(sign_language)
        raise TextRefused


@pytest.mark.parametrize("language", ["ko", "en"])
async def test_a_refused_link_is_said_and_a_call_back_offered(language: Language) -> None:
    """Key 6 to a number that may not be texted: the caller hears so (not "not right
    now"), and the call goes on with the offer of a call back."""
    actions, out = RefusingActions(), FakeOutput()
    dialogue = CallDialogue(menu=MENU, actions=actions, out=out, language=language)
    await dialogue.on_key("6")
    assert actions.done == ["link:continue"]
    assert out.last == REFUSED[language]
    assert dialogue.state is State.OFFER
    await dialogue.on_key("2")
    await dialogue.on_key("1")  # the number calling, read back, is the one to call
    assert actions.done == ["link:continue", "callback:+821012345678"]


async def test_a_refused_sign_language_link_is_said_too() -> None:
    actions, out = RefusingActions(), FakeOutput()
    actions.replies = [DialogueReply(texts=("…",), handoff="sign_language")]
    dialogue = CallDialogue(menu=MENU, actions=actions, out=out)
    await dialogue.on_key("0")
    await dialogue.on_key("2")
    assert actions.done == ["link:sign"] and dialogue.handoff == "sign_language"
    assert out.said[-1][-1] == REFUSED["ko"]
    assert dialogue.state is State.OFFER
