"""The call's own dialogue: menu, keypad, confirmation, reprompts, handoff.

Everything a citizen asks goes to the conversation core like on every channel; this
processor decides what the *phone line* adds around it, because a caller cannot see
buttons or scroll back:

- the keypad works at every step: 1–5 common services (or the offered choices after
  an answer), 0 a person or sign-language help, * repeat, # slower, 9 the menu,
  7 English/Korean, 6 "text me a link";
- speech recognised with low confidence is confirmed with a yes/no (the recogniser
  then listens only for yes/no words, which it does well) before anything is done;
- two silences get the prompt again, a third an offer to text a link or call back,
  a fourth a goodbye;
- "천천히"/"slower" (or #, or the caller's saved profile) slows speech and lengthens
  the pause that ends the caller's turn.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import structlog

from assistant.catalog import Catalog
from assistant.catalog.nlu_export import intent_for
from assistant.language import Language
from assistant.spoken_answers import parse_yes_no
from voice.listener import Heard, RecognitionMode
from voice.prompts import prompt
from voice.spoken_forms import for_speech

log = structlog.get_logger(__name__)

# Common services for the first menu: what elderly and disabled callers ask most, with
# short spoken labels (the catalog's full names make a menu too long to listen to).
MENU_SERVICES: dict[str, dict[Language, str]] = {
    "resident_registration_copy": {"ko": "주민등록등본", "en": "resident registration copy"},
    "move_in_report": {"ko": "전입신고", "en": "move-in report"},
    "basic_pension": {"ko": "기초연금", "en": "basic pension"},
    "disability_registration": {"ko": "장애인 등록", "en": "disability registration"},
    "welfare_consultation": {"ko": "복지 상담", "en": "welfare help"},
}
HANDOFF_PAYLOAD = "/request_human"
MAX_SILENCES = 4  # two reprompts, the offer, then goodbye
_SLOWER = re.compile(r"천천히|느리게|slow", re.IGNORECASE)
_REPEAT = re.compile(r"다시|한 ?번 ?더|뭐라고|repeat|again|pardon", re.IGNORECASE)


@dataclass(frozen=True)
class MenuItem:
    """One keypad choice of the first menu."""

    titles: dict[Language, str]
    payload: str


def menu_from_catalog(
    catalog: Catalog, services: Mapping[str, dict[Language, str]] = MENU_SERVICES
) -> list[MenuItem]:
    """The first menu: those of ``services`` the catalog has, in order."""
    return [
        MenuItem(titles=dict(titles), payload=f"/{intent_for(service_id)}")
        for service_id, titles in services.items()
        if catalog.get(service_id) is not None
    ]


@dataclass(frozen=True)
class DialogueReply:
    """What the conversation core answered, as the phone line needs it."""

    texts: tuple[str, ...]
    choices: tuple[str, ...] = ()  # titles of the quick replies, in order
    handoff: str | None = None  # "person" or "sign_language" when a person was asked for
    degraded: bool = False  # the dialogue was down: an apology, the message is kept


class CallActions(Protocol):
    """What the dialogue can make happen outside the audio (the voice adapter does it)."""

    async def ask(
        self, text: str, payload: str | None, sign_language: bool = False
    ) -> DialogueReply:
        """One turn of the conversation core."""
        ...

    async def set_language(self, language: Language) -> None:
        """The conversation's language from now on."""
        ...

    async def text_link(self, sign_language: bool) -> bool:
        """Text the caller a link that continues this conversation; False if impossible."""
        ...

    async def request_callback(self) -> None:
        """Ask for a person to call back."""
        ...

    async def transfer(self) -> bool:
        """Move the call to a community centre; False when no number is configured."""
        ...

    async def remember_slow(self) -> None:
        """Keep "slower" in the caller's profile, where they consented to one."""
        ...

    async def hang_up(self) -> None:
        """End the call."""
        ...


class CallOutput(Protocol):
    """How the dialogue speaks and steers listening (the call session)."""

    async def say(self, texts: Sequence[str], language: Language, slow: bool) -> None: ...

    def listen_for(self, mode: RecognitionMode) -> None: ...

    def set_slow(self, slow: bool) -> None: ...

    async def switch_language(self, language: Language) -> bool:
        """Recognise ``language`` from now on; False when no model serves it."""
        ...

    def after_playback(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once everything said so far has been heard."""
        ...


class State(StrEnum):
    """Where the call is."""

    MENU = "menu"
    CHOICES = "choices"
    CONFIRM = "confirm"
    PERSON = "person"
    OFFER = "offer"
    ENDING = "ending"


@dataclass
class CallDialogue:
    """The phone line's dialogue for one call; see the module docstring."""

    menu: list[MenuItem]
    actions: CallActions
    out: CallOutput
    language: Language = "ko"
    slow: bool = False
    confirm_below: float = 0.8
    speech_available: bool = True
    state: State = State.MENU
    turns: int = 0
    choices: tuple[str, ...] = ()
    handoff: str | None = None
    _last_said: list[str] = field(default_factory=list)
    _pending: str = ""
    _silences: int = 0
    _misheard: int = 0
    _confirm_tries: int = 0
    _return_state: State = State.MENU

    # ---- what the caller hears -------------------------------------------------------
    async def _say(self, *texts: str, remember: bool = True) -> None:
        spoken = [for_speech(t, self.language) for t in texts if t]
        if remember:
            self._last_said = spoken
        await self.out.say(spoken, self.language, self.slow)

    def _options(self, titles: Sequence[str]) -> str:
        return ", ".join(
            prompt("option", self.language, number=i, title=t) for i, t in enumerate(titles, 1)
        )

    def _menu_text(self) -> str:
        titles = [item.titles[self.language] for item in self.menu]
        return prompt("menu", self.language, options=self._options(titles))

    async def begin(self) -> None:
        """Greet the caller and read the menu."""
        await self._say(prompt("welcome", self.language), self._menu_text())
        # "For English, press 7" in an English voice (and the reverse for English calls).
        other: Language = "en" if self.language == "ko" else "ko"
        offer = for_speech(prompt("english_offer", self.language), other)
        await self.out.say([offer], other, self.slow)
        if not self.speech_available:
            await self._say(prompt("english_unavailable", self.language))

    # ---- input -----------------------------------------------------------------------
    async def on_key(self, digit: str) -> None:
        """A keypad press, at any step."""
        self._silences = 0
        if self.state is State.ENDING:
            return
        if self.state is State.CONFIRM and digit not in "12":
            # Any other key leaves the yes/no question; the recogniser listens freely again.
            self._pending = ""
            self.state = self._return_state
            self.out.listen_for("free")
        if digit == "*" and self.state is State.PERSON:
            await self._to_menu()  # the person menu offers star as "go back"
        elif digit == "*":
            await self._say(*self._last_said, remember=False)
        elif digit == "#":
            await self._slower()
        elif digit == "0":
            self.state = State.PERSON
            await self._say(prompt("person_menu", self.language))
        elif self.state is State.CONFIRM and digit in "12":
            await self._confirmed(digit == "1")
        elif self.state is State.PERSON and digit in "12":
            await self._ask_for_person(sign_language=digit == "2")
        elif self.state is State.OFFER and digit in "12":
            await self._offer_taken(digit)
        elif (
            self.state is State.CHOICES and digit.isdigit() and 1 <= int(digit) <= len(self.choices)
        ):
            await self._ask(digit, None)
        elif digit == "9":
            await self._to_menu()
        elif digit == "7":
            await self._switch_language()
        elif digit == "6":
            await self._text_link(sign_language=False)
        elif self.state is State.MENU and digit.isdigit() and 1 <= int(digit) <= len(self.menu):
            item = self.menu[int(digit) - 1]
            await self._ask(item.titles[self.language], item.payload)
        else:
            await self._say(*self._last_said, remember=False)

    async def on_heard(self, heard: Heard) -> None:
        """A finished spoken turn."""
        self._silences = 0
        if self.state is State.ENDING:
            return
        if not heard.recognised:
            await self._say(prompt("english_unavailable", self.language))
            return
        text = heard.text.strip()
        if self.state is State.CONFIRM:
            answer = _yes_or_no(text)
            if answer is None:
                self._confirm_tries += 1
                if self._confirm_tries >= 2:
                    await self._give_up_on_speech()
                else:
                    await self._say(prompt("confirm_again", self.language))
                return
            await self._confirmed(answer)
            return
        if not text:
            await self._misheard_once()
            return
        words = text.split()
        if _SLOWER.search(text) and len(words) <= 4:
            await self._slower()
            return
        if _REPEAT.search(text) and len(words) <= 3:
            await self._say(*self._last_said, remember=False)
            return
        if heard.confidence < self.confirm_below:
            self._pending = text
            self._confirm_tries = 0
            self._return_state = self.state if self.state is not State.CONFIRM else State.MENU
            self.state = State.CONFIRM
            self.out.listen_for("yes_no")
            await self._say(prompt("confirm", self.language, heard=text))
            return
        await self._ask(text, None)

    async def on_silence(self) -> None:
        """The caller said nothing for a while after hearing everything."""
        if self.state is State.ENDING:
            return
        self._silences += 1
        if self._silences < MAX_SILENCES - 1:
            await self._say(prompt("silence", self.language), *self._last_said, remember=False)
        elif self._silences == MAX_SILENCES - 1:
            self.state = State.OFFER
            await self._say(prompt("offer_text", self.language))
        else:
            await self._end()

    async def on_failure(self) -> None:
        """A step failed inside the gateway: say so, so the line is never just silent."""
        if self.state is State.CONFIRM:
            self.out.listen_for("free")
        self.state = State.MENU
        await self._say(prompt("trouble", self.language), remember=False)

    # ---- steps -----------------------------------------------------------------------
    async def _misheard_once(self) -> None:
        self._misheard += 1
        if self._misheard >= 2:
            await self._give_up_on_speech()
        else:
            await self._say(prompt("not_heard", self.language))

    async def _give_up_on_speech(self) -> None:
        """Speech keeps failing: back to the menu, keys first."""
        self._misheard = 0
        self.state = State.MENU
        self.out.listen_for("free")
        titles = [item.titles[self.language] for item in self.menu]
        await self._say(prompt("try_keys", self.language, options=self._options(titles)))

    async def _confirmed(self, yes: bool) -> None:
        self.out.listen_for("free")
        self.state = self._return_state
        if yes and self._pending:
            text, self._pending = self._pending, ""
            await self._ask(text, None)
        else:
            self._pending = ""
            await self._misheard_once()

    async def _slower(self) -> None:
        self.slow = True
        self.out.set_slow(True)
        await self.actions.remember_slow()
        await self._say(prompt("slower", self.language), remember=False)
        if self._last_said:
            await self._say(*self._last_said, remember=False)

    async def _to_menu(self) -> None:
        self.state = State.MENU
        self.choices = ()
        await self._say(self._menu_text())

    async def _switch_language(self) -> None:
        self.language = "en" if self.language == "ko" else "ko"
        await self.actions.set_language(self.language)
        self.speech_available = await self.out.switch_language(self.language)
        self.state = State.MENU
        if not self.speech_available:
            await self._say(prompt("english_unavailable", self.language), self._menu_text())
        else:
            await self._say(self._menu_text())

    async def _ask(self, text: str, payload: str | None, sign_language: bool = False) -> None:
        self.turns += 1
        self._misheard = 0
        reply = await self.actions.ask(text, payload, sign_language)
        if reply.handoff is not None:
            # The core's last reply is the place in the queue and the wait.
            await self._handoff(reply.handoff, reply.texts[-1] if reply.texts else None)
            return
        self.choices = reply.choices
        if reply.choices:
            self.state = State.CHOICES
            await self._say(
                *reply.texts, prompt("choices", self.language, options=self._options(reply.choices))
            )
        else:
            self.state = State.MENU
            await self._say(*reply.texts, prompt("after_answer", self.language))

    async def _ask_for_person(self, sign_language: bool) -> None:
        text = "수어 통역" if sign_language and self.language == "ko" else "person"
        if sign_language and self.language == "en":
            text = "sign language interpreter"
        elif not sign_language and self.language == "ko":
            text = "상담원"
        await self._ask(text, HANDOFF_PAYLOAD, sign_language=sign_language)

    async def _handoff(self, reason: str, queue_status: str | None = None) -> None:
        self.handoff = reason
        if reason == "sign_language":
            sent = await self.actions.text_link(sign_language=True)
            self.state = State.OFFER if not sent else State.MENU
            # Only its first line is for the ear: the rest is about typing in the chat.
            place = queue_status.splitlines()[0] if queue_status else None
            said = [place] if place else []
            await self._say(
                *said, prompt("sign_link_sent" if sent else "link_failed", self.language)
            )
            return
        await self._say(prompt("transferring", self.language))

        async def transfer_when_heard() -> None:
            if await self.actions.transfer():
                self.state = State.ENDING
                return
            self.state = State.OFFER
            await self._say(prompt("no_transfer", self.language))

        self.out.after_playback(transfer_when_heard)

    async def _text_link(self, sign_language: bool) -> None:
        sent = await self.actions.text_link(sign_language=sign_language)
        self.state = State.MENU if sent else State.OFFER
        await self._say(prompt("link_sent" if sent else "link_failed", self.language))

    async def _offer_taken(self, digit: str) -> None:
        if digit == "1":
            await self._text_link(sign_language=False)
            return
        await self.actions.request_callback()
        self.handoff = self.handoff or "callback"
        await self._say(prompt("callback_booked", self.language), prompt("goodbye", self.language))
        self.state = State.ENDING
        self.out.after_playback(self.actions.hang_up)

    async def _end(self) -> None:
        self.state = State.ENDING
        await self._say(prompt("goodbye", self.language))
        self.out.after_playback(self.actions.hang_up)


def _yes_or_no(text: str) -> bool | None:
    """A yes/no from the grammar-constrained recogniser, or None when it is unclear.

    The grammar forces any sound onto its words ("사과를 먹었어요" comes out as "네
    싫어요"), so only a single word counts: several words are a sentence that was not
    a yes or a no at all.
    """
    words = text.split()
    return parse_yes_no(words[0]) if len(words) == 1 else None
