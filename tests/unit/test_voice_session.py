"""One call's session, with doubles for the speech engines and the conversation core:
when a caller who stopped speaking hears something back.

The acknowledgement ("네." while the answer is still coming) runs on the turn
detector's clock, so it is on time even when recognition is behind — the case a busy
line creates, reproduced here by a recogniser that is stuck for a while.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from assistant.language import Language
from voice.asr import CallRecognizer, SpeechModels, Transcript
from voice.call_dialogue import DialogueReply
from voice.codec import pcm_to_ulaw
from voice.engines import VoiceEngines
from voice.events import (
    CallerAudio,
    KeyPressed,
    MarkPlayed,
    OutboundEvent,
    PlaceMark,
    PlayAudio,
)
from voice.phone_menu import MenuNode
from voice.second_pass import SecondPassSettings
from voice.session import MAX_KEYS_WAITING, CallOptions, CallSession
from voice.whisper import WhisperResult

SILENCE = pcm_to_ulaw(b"\x00\x00" * 160)
LOUD = pcm_to_ulaw((b"\x00\x20" + b"\x00\xe0") * 80)  # ±8192, a square wave
SENTENCE = "기초연금 신청하려면 어디로 가야 돼요"
ANSWER = "기초연금은 주민센터에서 신청해요."
ACK_AFTER = 0.3


class FakeSpeaker:
    """0.1 s of audio per sentence, at once."""

    async def speak(self, text: str, language: str, slow: bool = False) -> bytes:
        return b"\x7f" * 800

    def close(self) -> None:
        pass


@dataclass
class DoubleWhisper:
    delay: float = 0.0
    workers: int = 1

    def available(self) -> bool:
        return True

    def load(self) -> None:
        pass

    def transcribe(self, pcm: bytes, rate: int, language: str) -> WhisperResult:
        time.sleep(self.delay)
        words = tuple(SENTENCE.split())
        return WhisperResult(Transcript(SENTENCE, 0.9, words), True, 1.0)


class SlowRecognizer:
    """Streaming recognition that falls behind: every chunk waits until released."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def accept(self, pcm: bytes) -> Transcript | None:
        self.released.wait(5)
        return None

    def finish(self) -> Transcript:
        return Transcript(SENTENCE, 0.5, tuple(SENTENCE.split()))

    def set_mode(self, mode: str) -> None:
        pass

    def close(self) -> None:
        pass


class Engines(VoiceEngines):
    """The real engines class with doubles inside; ``streaming`` stands in for Vosk."""

    def __init__(self, whisper: DoubleWhisper, streaming: SlowRecognizer | None) -> None:
        super().__init__(
            SpeechModels({"ko": None, "en": None}),
            FakeSpeaker(),  # type: ignore[arg-type]
            asr_threads=1,
            whisper=whisper,  # type: ignore[arg-type]
            second_pass=SecondPassSettings(budget_ms=5000),
        )
        self._streaming = streaming

    async def recognizer(
        self, language: Language, rate: int = 8000
    ) -> tuple[CallRecognizer | None, bool]:
        return self._streaming, True  # type: ignore[return-value]


@dataclass
class FakeActions:
    asked: list[str] = field(default_factory=list)

    async def ask(self, text: str, payload: str | None, sign_language: bool = False):
        self.asked.append(text)
        return DialogueReply(texts=(ANSWER,))

    async def expects_number(self) -> bool:
        return False

    async def set_language(self, language: Language) -> None:
        pass

    async def text_link(self, sign_language: bool) -> bool:
        return False

    async def caller_number(self) -> str | None:
        return None

    async def request_callback(self, number: str) -> bool:
        return True

    async def transfer(self) -> bool:
        return False

    async def remember_slow(self) -> None:
        pass

    async def hang_up(self) -> None:
        pass


@dataclass
class Line:
    """The caller's end: what came back, when; marks are played back at once."""

    session: CallSession | None = None
    received: list[tuple[float, OutboundEvent]] = field(default_factory=list)

    async def send(self, event: OutboundEvent) -> None:
        self.received.append((time.monotonic(), event))
        if isinstance(event, PlaceMark) and self.session is not None:
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.session.handle(MarkPlayed(event.name)))
            )

    def after(self, t: float) -> list[tuple[float, str]]:
        """(time, "audio" or the mark's name) for everything received after ``t``."""
        return [
            (at, "audio" if isinstance(e, PlayAudio) else e.name)
            for at, e in self.received
            if at > t and isinstance(e, PlayAudio | PlaceMark)
        ]


@asynccontextmanager
async def call(
    whisper_delay: float, streaming: SlowRecognizer | None = None
) -> AsyncIterator[tuple[CallSession, Line, FakeActions]]:
    engines = Engines(DoubleWhisper(delay=whisper_delay), streaming)
    line, actions = Line(), FakeActions()
    menu = (MenuNode(titles={"ko": "서류", "en": "documents"}, payload="/documents"),)
    session = CallSession(
        engines,
        actions,  # type: ignore[arg-type]
        line.send,
        menu,
        CallOptions(end_of_turn_ms=100, commit_ms=200, ack_after_ms=int(ACK_AFTER * 1000)),
    )
    line.session = session
    try:
        await session.start()
        await asyncio.sleep(0.3)  # the greeting, heard
        yield session, line, actions
    finally:
        if streaming is not None:
            streaming.released.set()
        await session.close()
        engines.close()


async def speak(session: CallSession, seconds: float = 1.0, real_time: bool = False) -> float:
    """The caller says something (fed at once, unless ``real_time``); returns when the
    speech ended."""
    for _ in range(int(seconds / 0.02)):
        await session.handle(CallerAudio(LOUD))
        if real_time:
            await asyncio.sleep(0.02)
    return time.monotonic()


async def quiet(session: CallSession, seconds: float) -> None:
    for _ in range(int(seconds / 0.02)):
        await session.handle(CallerAudio(SILENCE))
        await asyncio.sleep(0.02)


async def test_a_slow_answer_is_acknowledged_on_time() -> None:
    async with call(whisper_delay=1.0) as (session, line, actions):
        ended = await speak(session)
        await quiet(session, 2.0)
        heard = line.after(ended)
        first_audio = next(at for at, what in heard if what == "audio")
        marks = [what for _, what in heard if what != "audio"]
        assert marks[0].startswith("ack-")  # "네." first, then the answer
        assert ACK_AFTER - 0.05 <= first_audio - ended < ACK_AFTER + 0.25
        assert actions.asked == [SENTENCE]


async def test_a_quick_answer_needs_no_acknowledgement() -> None:
    async with call(whisper_delay=0.0) as (session, line, actions):
        ended = await speak(session)
        await quiet(session, 1.0)
        marks = [what for _, what in line.after(ended) if what != "audio"]
        assert marks and not any(m.startswith("ack-") for m in marks)
        assert actions.asked == [SENTENCE]


async def test_the_acknowledgement_is_on_time_while_recognition_is_behind() -> None:
    streaming = SlowRecognizer()
    async with call(whisper_delay=0.0, streaming=streaming) as (session, line, actions):
        ended = await speak(session)
        await quiet(session, 0.8)
        heard = line.after(ended)
        assert heard, "the caller heard nothing while recognition was behind"
        assert ACK_AFTER - 0.05 <= heard[0][0] - ended < ACK_AFTER + 0.25
        assert next(what for _, what in heard if what != "audio").startswith("ack-")
        assert actions.asked == []  # the words are not in yet
        streaming.released.set()
        await quiet(session, 1.0)
        assert actions.asked == [SENTENCE]  # then the answer came (Whisper's words)


async def test_a_caller_who_goes_on_is_not_acknowledged_mid_sentence() -> None:
    async with call(whisper_delay=0.0) as (session, line, _actions):
        started = time.monotonic()
        await speak(session, 0.6)
        await quiet(session, 0.1)  # a pause (100 ms), shorter than the commit wait
        await speak(session, 0.6, real_time=True)  # still speaking when it would be due
        await asyncio.sleep(0.01)
        heard_before = [what for at, what in line.after(started) if what.startswith("ack-")]
        ended = time.monotonic()
        await quiet(session, 1.0)
        assert heard_before == []
        assert not any(what.startswith("ack-") for _, what in line.after(ended))


async def test_keys_pressed_faster_than_answered_are_dropped_not_queued() -> None:
    """Review M10: each key may be a dialogue turn; a caller (or a machine) pressing
    keys faster than they are answered loses the extras instead of queueing turns."""
    async with call(whisper_delay=0.0) as (session, _, _):
        taken: list[str] = []
        release = asyncio.Event()

        async def slow_key(digit: str) -> None:
            taken.append(digit)
            await release.wait()

        session.dialogue.on_key = slow_key  # type: ignore[method-assign]
        for digit in "1234567890":
            await session.handle(KeyPressed(digit))
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.sleep(0.05)
        # The first presses, in order: at most the waiting ones plus one being answered
        # (whether the first was taken before the others arrived is the loop's timing).
        assert MAX_KEYS_WAITING <= len(taken) <= 1 + MAX_KEYS_WAITING
        assert taken == list("1234567890")[: len(taken)]
        await session.handle(KeyPressed("#"))  # once answered, keys are taken again
        await asyncio.sleep(0.05)
        assert taken[-1] == "#"
