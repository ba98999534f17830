"""The call's own dialogue: the keypad tree, confirmation, reprompts, handoff.

Everything a citizen asks goes to the conversation core like on every channel; this
processor decides what the *phone line* adds around it, because a caller cannot see
buttons or scroll back:

- the keypad reaches everything (``voice/data/phone_menu.yaml``): at most five numbered
  choices a level, down to every service, life-event checklist and screening; after an
  answer the digits pick its choices (five at most heard at once: 1–4, then 5 for the
  next ones), and a question that wants a number takes it typed (a short pause ends
  it). At every step: 0 a person or sign-language help, * back, # repeat, 8 slower,
  9 the first menu, 7 English/Korean, 6 "text me a link";
- speech recognised with low confidence is confirmed with a yes/no (the recogniser
  then listens only for yes/no words, which it does well) before anything is done;
- two silences get the prompt again, a third an offer to text a link or call back,
  a fourth a goodbye; a call-back is booked on the caller ID read back (its last four
  digits) and confirmed with 1, or on a number keyed in and ended by #;
- "천천히"/"slower" (or 8, or the caller's saved profile) slows speech and lengthens
  the pause that ends the caller's turn.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, Protocol

import structlog

from assistant.handoff.phone_numbers import read_number
from assistant.language import Language
from assistant.spoken_answers import parse_yes_no
from voice.asr import YES_NO_WORDS
from voice.listener import Heard, RecognitionMode
from voice.phone_menu import MAX_CHOICES, MenuNode
from voice.prompts import prompt
from voice.spoken_forms import for_speech

log = structlog.get_logger(__name__)

HANDOFF_PAYLOAD = "/request_human"
MAX_SILENCES = 4  # two reprompts, the offer, then goodbye
_SLOWER = re.compile(r"천천히|느리게|slow", re.IGNORECASE)
# Short answers streaming Vosk hears well enough alone (see instant_phrases).
_INSTANT_WORDS: frozenset[str] = frozenset(
    {word for words in YES_NO_WORDS.values() for word in words}
    | {"다시", "한 번 더", "뭐라고요", "repeat", "again", "pardon"}
    | {"천천히", "느리게", "slowly", "slower"}
    | {f"{n}{suffix}" for n in "일이삼사오육칠팔구" for suffix in ("", "번")}
    | {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
)
_REPEAT = re.compile(r"다시|한 ?번 ?더|뭐라고|repeat|again|pardon", re.IGNORECASE)


def instant_phrases(level: Sequence[MenuNode], choices: Sequence[str] = ()) -> set[str]:
    """The phrases a call may take from streaming Vosk alone (``voice.second_pass``): the
    labels of the menu level heard, the choices offered, numbers, yes/no, repeat, slower."""
    phrases = set(_INSTANT_WORDS)
    for node in level:
        phrases.update(node.titles.values())
    phrases.update(choices)
    return phrases


@dataclass(frozen=True)
class DialogueReply:
    """What the conversation core answered, as the phone line needs it."""

    texts: tuple[str, ...]
    choices: tuple[str, ...] = ()  # titles of the quick replies, in order
    handoff: str | None = None  # "person" or "sign_language" when a person was asked for
    degraded: bool = False  # the dialogue was down: an apology, the message is kept


class TextRefused(Exception):
    """``CallActions.text_link`` may not text the caller's number at all (not a mobile
    number it may text, or past that number's daily texts; review L10): the caller is
    told so, rather than "not right now"."""


class CallActions(Protocol):
    """What the dialogue can make happen outside the audio (the voice adapter does it)."""

    async def ask(
        self, text: str, payload: str | None, sign_language: bool = False
    ) -> DialogueReply:
        """One turn of the conversation core."""
        ...

    async def expects_number(self) -> bool:
        """Whether the question just asked wants a number (an age, a baby's months), so
        the caller may type it. Asked while the answer is already being spoken."""
        ...

    async def set_language(self, language: Language) -> None:
        """The conversation's language from now on."""
        ...

    async def text_link(self, sign_language: bool) -> bool:
        """Text the caller a link that continues this conversation; False if impossible
        now, TextRefused if the caller's number may not be texted."""
        ...

    async def caller_number(self) -> str | None:
        """The caller's own number (E.164) if a person could call it back; None when it
        is withheld or not a phone number."""
        ...

    async def request_callback(self, number: str) -> bool:
        """Ask for a person to call back on ``number`` (E.164), which the caller keyed or
        confirmed; False if it was not taken (past a limit)."""
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

    async def say(
        self, texts: Sequence[str], language: Language, slow: bool, continues: bool = False
    ) -> None:
        """Speak ``texts``; ``continues``: the rest of what was just said, dropped if the
        caller interrupted that."""
        ...

    def listen_for(self, mode: RecognitionMode) -> None: ...

    def set_slow(self, slow: bool) -> None: ...

    async def switch_language(self, language: Language) -> bool:
        """Recognise ``language`` from now on; False when no model serves it."""
        ...

    def after_playback(self, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` once everything said so far has been heard."""
        ...

    def after_pause(self, seconds: float, action: Callable[[], Awaitable[None]] | None) -> None:
        """Run ``action`` after ``seconds`` with no other input (None cancels it)."""
        ...


class State(StrEnum):
    """Where the call is."""

    MENU = "menu"
    CHOICES = "choices"
    NUMBER = "number"
    CONFIRM = "confirm"
    PERSON = "person"
    OFFER = "offer"
    CALLBACK_NUMBER = "callback_number"  # 1: the caller ID, 2: key another number
    CALLBACK_DIGITS = "callback_digits"  # keying the number, ended by #
    ENDING = "ending"


NUMBER_PAUSE_SECONDS = 2.0  # after the last digit of a typed number (×slow factor)
_MAX_NUMBER_DIGITS = 3  # an age or a number of months
_MAX_PHONE_DIGITS = 15  # E.164's longest
_CALLBACK_TRIES = 3  # wrong numbers keyed before the offer is made again


@dataclass
class CallDialogue:
    """The phone line's dialogue for one call; see the module docstring."""

    menu: tuple[MenuNode, ...]
    actions: CallActions
    out: CallOutput
    language: Language = "ko"
    slow: bool = False
    confirm_below: float = 0.8
    slow_factor: float = 2.5
    speech_available: bool = True
    state: State = State.MENU
    turns: int = 0
    choices: tuple[str, ...] = ()
    handoff: str | None = None
    _path: list[MenuNode] = field(default_factory=list)  # submenus entered, top first
    _page: int = 0  # which five of the offered choices are heard
    _digits: str = ""  # a number being typed
    _last_said: list[str] = field(default_factory=list)
    _pending: str = ""
    _silences: int = 0
    _misheard: int = 0
    _confirm_tries: int = 0
    _return_state: State = State.MENU
    _callback_number: str | None = None  # the caller ID offered for the call-back
    _callback_tries: int = 0

    # ---- what the caller hears -------------------------------------------------------
    async def _say(self, *texts: str, remember: bool = True, more: bool = False) -> None:
        """Speak ``texts``; ``remember`` keeps them for "repeat" (``more``: added to what
        was just said, which the caller hears as one answer)."""
        spoken = [for_speech(t, self.language) for t in texts if t]
        if remember:
            self._last_said = [*self._last_said, *spoken] if more else spoken
        await self.out.say(spoken, self.language, self.slow, continues=more)

    def _options(self, titles: Sequence[str], first: int = 1) -> str:
        return ", ".join(
            prompt("option", self.language, number=i, title=t) for i, t in enumerate(titles, first)
        )

    @property
    def level(self) -> tuple[MenuNode, ...]:
        """The menu level the caller is on (the first menu, or a submenu)."""
        return self._path[-1].items if self._path else self.menu

    def _menu_text(self) -> str:
        titles = [node.titles[self.language] for node in self.level]
        if not self._path:
            return prompt("menu", self.language, options=self._options(titles))
        title = self._path[-1].titles[self.language]
        return prompt("submenu", self.language, title=title, options=self._options(titles))

    def instant_phrases(self) -> set[str]:
        """What streaming Vosk may decide alone right now, with no second pass: the menu's
        or the offered choices' labels, numbers, yes/no, "repeat" and "slower" words."""
        return instant_phrases(self.level, self.choices)

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
        if self.state is State.NUMBER and (digit.isdigit() or self._digits):
            await self._number_key(digit)
            return
        if self.state is State.CALLBACK_DIGITS and (digit.isdigit() or digit == "#"):
            await self._callback_key(digit)
            return
        if self.state is State.CALLBACK_NUMBER and digit in "12":
            await self._callback_number_chosen(digit == "1")
            return
        if self.state is State.CONFIRM and digit not in "12":
            # Any other key leaves the yes/no question; the recogniser listens freely again.
            self._pending = ""
            self.state = self._return_state
            self.out.listen_for("free")
        if digit == "*":
            await self._back()
        elif digit == "#":
            await self._say(*self._last_said, remember=False)
        elif digit == "8":  # never a choice: at most five are offered at once
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
        elif self.state is State.CHOICES and await self._choice_key(digit):
            pass
        elif digit == "9":
            await self._to_menu(top=True)
        elif digit == "7":
            await self._switch_language()
        elif digit == "6":
            await self._text_link(sign_language=False)
        elif self.state is State.MENU and digit.isdigit() and 1 <= int(digit) <= len(self.level):
            await self._choose(self.level[int(digit) - 1])
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
        if self.state is State.CALLBACK_NUMBER and (answer := _yes_or_no(text)) is not None:
            await self._callback_number_chosen(answer)
            return
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
        # Whisper's own doubt arrives as ``confirm``; Vosk's as a low word confidence.
        if heard.confirm or (heard.engine == "vosk" and heard.confidence < self.confirm_below):
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
        self._digits = ""
        await self._say(prompt("trouble", self.language), remember=False)

    # ---- the keypad tree -------------------------------------------------------------
    async def _choose(self, node: MenuNode) -> None:
        if node.is_leaf:
            assert node.payload is not None
            await self._ask(node.titles[self.language], node.payload)
            return
        self._path.append(node)
        await self._say(self._menu_text())

    async def _back(self) -> None:
        """``*``: one step back — out of a question, an answer's choices, a submenu."""
        if self.state in (State.MENU, State.OFFER) and self._path:
            self._path.pop()
        self.state = State.MENU
        self.choices = ()
        self._digits = ""
        self.out.after_pause(0, None)
        await self._say(self._menu_text())

    async def _to_menu(self, top: bool = False) -> None:
        self.state = State.MENU
        self.choices = ()
        if top:
            self._path.clear()
        await self._say(self._menu_text())

    def _page_of_choices(self) -> tuple[list[str], bool]:
        """The choices heard now (their numbers start at 1) and whether more follow."""
        if len(self.choices) <= MAX_CHOICES:
            return list(self.choices), False
        size = MAX_CHOICES - 1  # the fifth key turns the page
        start = self._page * size
        page = list(self.choices[start : start + size])
        return page, start + size < len(self.choices)

    def _choices_text(self) -> str:
        page, more = self._page_of_choices()
        options = self._options(page)
        if more:
            more_title = prompt("more_choices", self.language)
            options += ", " + prompt("option", self.language, number=MAX_CHOICES, title=more_title)
        return prompt("choices", self.language, options=options)

    async def _choice_key(self, digit: str) -> bool:
        """A digit while an answer's choices are offered; False if it is not one of them."""
        if not digit.isdigit() or digit == "0":
            return False
        page, more = self._page_of_choices()
        number = int(digit)
        if more and number == MAX_CHOICES:
            self._page += 1
            await self._say(self._choices_text())
            return True
        if not 1 <= number <= len(page):
            return False
        # The core maps a digit to the quick reply offered last: its number in the whole
        # list, not on the page (pages hold four when there are more than five).
        await self._ask(str(self._page * (MAX_CHOICES - 1) + number), None)
        return True

    async def _number_key(self, digit: str) -> None:
        """Digits of a number the question asked for; a pause (or * to clear) ends it."""
        if digit == "*":
            self._digits = ""
            self.out.after_pause(0, None)
            await self._say(*self._last_said, remember=False)
            return
        if digit.isdigit() and len(self._digits) < _MAX_NUMBER_DIGITS:
            self._digits += digit
        pause = NUMBER_PAUSE_SECONDS * (self.slow_factor if self.slow else 1.0)
        self.out.after_pause(pause, self._number_done)

    async def _number_done(self) -> None:
        digits, self._digits = self._digits, ""
        if digits and self.state is State.NUMBER:
            await self._ask(digits, None)

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
        titles = [node.titles[self.language] for node in self.level]
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
        self._digits = ""
        self.out.after_pause(0, None)
        reply = await self.actions.ask(text, payload, sign_language)
        if reply.handoff is not None:
            # The core's last reply is the place in the queue and the wait.
            await self._handoff(reply.handoff, reply.texts[-1] if reply.texts else None)
            return
        self.choices = reply.choices
        self._page = 0
        if reply.choices:
            self.state = State.CHOICES
            await self._say(*reply.texts, self._choices_text())
            return
        # The answer starts playing first; what the caller may do next is known a
        # moment later (one more question to the dialogue) and said after it.
        await self._say(*reply.texts)
        if not reply.degraded and await self.actions.expects_number():
            self.state = State.NUMBER
            await self._say(prompt("number_keys", self.language), more=True)
        else:
            self.state = State.MENU
            await self._say(prompt("after_answer", self.language), more=True)

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
            outcome = await self._link_outcome(sign_language=True)
            self.state = State.MENU if outcome == "sent" else State.OFFER
            # Only its first line is for the ear: the rest is about typing in the chat.
            place = queue_status.splitlines()[0] if queue_status else None
            said = [place] if place else []
            key = "sign_link_sent" if outcome == "sent" else f"link_{outcome}"
            await self._say(*said, prompt(key, self.language))
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
        outcome = await self._link_outcome(sign_language)
        self.state = State.MENU if outcome == "sent" else State.OFFER
        await self._say(prompt(f"link_{outcome}", self.language))

    async def _link_outcome(self, sign_language: bool) -> Literal["sent", "failed", "refused"]:
        """Whether the link was sent, "failed" (not now) or "refused" (not to this number)."""
        try:
            sent = await self.actions.text_link(sign_language=sign_language)
        except TextRefused:
            return "refused"
        return "sent" if sent else "failed"

    async def _offer_taken(self, digit: str) -> None:
        if digit == "1":
            await self._text_link(sign_language=False)
            return
        self._callback_tries = 0
        self._callback_number = await self.actions.caller_number()
        if self._callback_number is None:  # withheld: the caller keys the number
            await self._callback_number_chosen(False)
            return
        self.state = State.CALLBACK_NUMBER
        self.out.listen_for("yes_no")
        last_four = _spaced(self._callback_number[-4:])
        await self._say(prompt("callback_this_number", self.language, last_four=last_four))

    async def _callback_number_chosen(self, this_number: bool) -> None:
        self.out.listen_for("free")
        if this_number and self._callback_number is not None:
            await self._book_callback(self._callback_number)
            return
        self.state = State.CALLBACK_DIGITS
        self._digits = ""
        await self._say(prompt("callback_key_number", self.language))

    async def _callback_key(self, digit: str) -> None:
        """A key while the call-back number is keyed: digits, then # to end."""
        if digit.isdigit():
            if len(self._digits) < _MAX_PHONE_DIGITS:
                self._digits += digit
            return
        digits, self._digits = self._digits, ""
        number = read_number(digits) if digits else None
        if number is not None:
            await self._book_callback(number)
            return
        self._callback_tries += 1
        if self._callback_tries >= _CALLBACK_TRIES:
            self.state = State.OFFER
            await self._say(prompt("offer_text", self.language))
            return
        await self._say(prompt("callback_bad_number", self.language))

    async def _book_callback(self, number: str) -> None:
        if not await self.actions.request_callback(number):
            # Never promise a call nobody will make (the request queue is full).
            await self._say(
                prompt("callback_refused", self.language), prompt("goodbye", self.language)
            )
            self.state = State.ENDING
            self.out.after_playback(self.actions.hang_up)
            return
        self.handoff = self.handoff or "callback"
        booked = prompt("callback_booked_to", self.language, last_four=_spaced(number[-4:]))
        await self._say(booked, prompt("goodbye", self.language))
        self.state = State.ENDING
        self.out.after_playback(self.actions.hang_up)

    async def _end(self) -> None:
        self.state = State.ENDING
        await self._say(prompt("goodbye", self.language))
        self.out.after_playback(self.actions.hang_up)


def _spaced(digits: str) -> str:
    """Digits read one by one ("5 6 7 8", not "five thousand…")."""
    return " ".join(digits)


def _yes_or_no(text: str) -> bool | None:
    """A yes/no from the grammar-constrained recogniser, or None when it is unclear.

    The grammar forces any sound onto its words ("사과를 먹었어요" comes out as "네
    싫어요"), so only a single word counts: several words are a sentence that was not
    a yes or a no at all.
    """
    words = text.split()
    return parse_yes_no(words[0]) if len(words) == 1 else None
