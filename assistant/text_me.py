"""A checklist or a screening's result sent by text to the citizen's own mobile (issue 20,
item 4), from the web chat or a call.

The actions that give a checklist or a screening's result add a "문자로 받기" choice on
every channel but SMS (assistant/actions/packages.py, screening.py). What follows is the
gateway's, not the dialogue's: exact, and no retraining when it changes.

- On a call the caller ID is the number, when it is a mobile; the reply names its last
  four digits. A withheld caller ID or a landline cannot take a text: said plainly.
- On the web chat the citizen is asked for a mobile number. It is used for this one text
  and kept nowhere: the message that carried it is stored with the number masked
  (010-****-5678), like the reply. "취소" (the choice under the question), or a message
  with no number in it, leaves the question; the message then goes to the dialogue.
- At most ``MAX_TEXTS_A_DAY`` such texts to one number in a day: a web page must not
  become a way to text strangers. A number that sent STOP gets nothing (the outbox holds
  to opt-outs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from assistant.handoff.phone_numbers import (
    can_text,
    is_phone_number,
    last_four,
    masked,
    read_number,
)
from assistant.language import Language
from assistant.outbox.base import OutboxStore
from assistant.outbox.service import Texter
from assistant.store import Button, Conversation, ConversationStore, Reply, TurnDirection
from assistant.texts import say

TEXT_ME_PAYLOAD = "sotong:text_me"
_CANCEL_PAYLOAD = "sotong:text_me:cancel"
MAX_TEXTS_A_DAY = 3
VOICE_CHANNEL = "voice"
OUTBOX_KIND = "text_me"
SIGNATURE = "— 소통 Sotong"

_TEXTS: dict[str, dict[Language, str]] = {
    "button": {"ko": "문자로 받기", "en": "Text it to me"},
    "ask": {
        "ko": "받으실 휴대전화 번호를 보내 주세요. 예: 010-1234-5678. 이번 한 번만 쓰고 "
        "저장하지 않습니다.",
        "en": "Please send the mobile number to text it to, like 010-1234-5678. It is used "
        "this once and not kept.",
    },
    "cancel": {"ko": "취소", "en": "Cancel"},
    "cancelled": {"ko": "문자를 보내지 않았습니다.", "en": "Nothing was texted."},
    "not_mobile": {
        "ko": "휴대전화 번호로만 문자를 보낼 수 있습니다. 010으로 시작하는 번호를 보내 주세요.",
        "en": "Only a mobile can take a text. Please send a number starting with 010.",
    },
    "sent": {
        "ko": "{number} 번호로 문자를 보냈습니다. 곧 도착합니다.",
        "en": "Texted to {number}. It will arrive shortly.",
    },
    "sent_caller": {
        "ko": "지금 거신 휴대전화(끝자리 {last_four})로 문자를 보냈습니다.",
        "en": "Texted to the mobile you are calling from (ending {last_four}).",
    },
    "caller_cannot": {
        "ko": "이 전화로는 문자를 받을 수 없습니다. 휴대전화로 다시 걸어 주시거나, "
        "웹 채팅에서 번호를 넣어 받으세요.",
        "en": "This phone cannot take a text. Call again from a mobile, or get it on the "
        "web chat with your number.",
    },
    "nothing": {
        "ko": "보낼 안내가 없습니다. 먼저 안내를 받아 주세요.",
        "en": "There is nothing to text yet. Ask for a checklist or a result first.",
    },
    "too_many": {
        "ko": "이 번호로는 오늘 더 보낼 수 없습니다 (하루 {max}번까지). 내일 다시 해 주세요.",
        "en": "No more texts to this number today (at most {max} a day). Please try tomorrow.",
    },
}


def text(key: str, language: Language, **fields: object) -> str:
    """One of this flow's texts (for the plain-language lint too: ``all_texts``)."""
    return _TEXTS[key][language].format(**fields)


def all_texts() -> list[tuple[str, str, str]]:
    """Every (key, language, text), for the plain-language lint."""
    return [(key, lang, t) for key, texts in _TEXTS.items() for lang, t in texts.items()]


def text_me_button(language: Language) -> dict[str, str]:
    """The choice the actions add under a checklist or a result (Rasa's button form)."""
    return {"title": text("button", language), "payload": TEXT_ME_PAYLOAD}


def asked_for_number(conversation: Conversation) -> bool:
    """Whether the last thing said was the question for a number."""
    return any(b.payload == _CANCEL_PAYLOAD for b in conversation.last_buttons)


def mask_number(raw: str) -> str:
    """``raw`` with the phone number it holds masked, to be stored (the answer to the
    question); unchanged when it holds none."""
    number = read_number(raw)
    return raw if number is None else masked(number)


class TextMe:
    """The flow: find what to send, get the number, hand it to the outbox."""

    def __init__(
        self,
        store: ConversationStore,
        texter: Texter,
        sent_today: Callable[[str], Awaitable[int]],
    ) -> None:
        """``texter`` queues a text (the outbox); ``sent_today(number)`` says how many
        of this flow's texts went to ``number`` in the last day."""
        self._store = store
        self._texter = texter
        self._sent_today = sent_today

    async def turn(
        self,
        conversation: Conversation,
        raw_text: str,
        payload: str | None,
        language: Language,
    ) -> list[Reply] | None:
        """The replies when this message belongs to the flow, else None."""
        if payload == TEXT_ME_PAYLOAD:
            return await self._asked(conversation, language)
        if not asked_for_number(conversation):
            return None
        if payload == _CANCEL_PAYLOAD or raw_text.strip() in ("취소", "cancel", "Cancel"):
            return _say(text("cancelled", language))
        number = read_number(raw_text)
        if number is None:
            if any(ch.isdigit() for ch in raw_text):
                return _ask_again(text("not_mobile", language), language)
            return None  # not an answer to the question: the dialogue takes it
        if not can_text(number):
            return _ask_again(text("not_mobile", language), language)
        sent = await self._deliver(conversation, number, language)
        if sent is not None:
            return sent
        return _say(text("sent", language, number=masked(number)))

    async def _asked(self, conversation: Conversation, language: Language) -> list[Reply]:
        if conversation.channel != VOICE_CHANNEL:
            return _ask_again(text("ask", language), language)
        address = conversation.address
        if not (is_phone_number(address) and can_text(address)):
            return _say(text("caller_cannot", language))
        refused = await self._deliver(conversation, address, language)
        if refused is not None:
            return refused
        return _say(text("sent_caller", language, last_four=last_four(address)))

    async def _deliver(
        self, conversation: Conversation, number: str, language: Language
    ) -> list[Reply] | None:
        """Text the answer that offered the choice; None when sent, else what to say."""
        turns = await self._store.transcript(conversation.id)
        offered = [
            t
            for t in turns
            if t.direction is TurnDirection.OUTBOUND
            and any(b.payload == TEXT_ME_PAYLOAD for b in t.buttons)
        ]
        if not offered:
            return _say(text("nothing", language))
        if await self._sent_today(number) >= MAX_TEXTS_A_DAY:
            return _say(text("too_many", language, max=MAX_TEXTS_A_DAY))
        body = as_text_message(offered[-1].text)
        await self._texter.send_sms(number, body, kind=OUTBOX_KIND, conversation_id=conversation.id)
        return None


def counted_in(
    outbox: OutboxStore, clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
) -> Callable[[str], Awaitable[int]]:
    """``sent_today`` read from the outbox: this flow's texts to a number in the last day
    (a text split into several SMS counts once)."""

    async def sent_today(number: str) -> int:
        since = clock() - dt.timedelta(days=1)
        return sum(
            1
            for m in await outbox.messages(recipient=number)
            if m.kind == OUTBOX_KIND and m.part == 1 and m.created_at >= since
        )

    return sent_today


def as_text_message(answer: str) -> str:
    """The answer as a text: without the line that points at choices it cannot carry,
    signed so the citizen knows who sent it."""
    pointers = {say("choose_for_details", "ko"), say("choose_for_details", "en")}
    lines = [line for line in answer.splitlines() if line not in pointers]
    return "\n".join([*lines, SIGNATURE])


def _say(reply: str) -> list[Reply]:
    return [Reply(text=reply)]


def _ask_again(question: str, language: Language) -> list[Reply]:
    cancel = Button(text("cancel", language), _CANCEL_PAYLOAD)
    return [Reply(text=question, buttons=(cancel,))]
