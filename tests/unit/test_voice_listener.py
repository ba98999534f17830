"""The listening processor alone: frames in; SpeechStarted and Heard out, off the loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from voice.asr import Transcript
from voice.codec import pcm_to_ulaw
from voice.listener import Heard, Listener, ListenerEvent, SpeechStarted
from voice.turns import TurnSettings

SILENCE = pcm_to_ulaw(b"\x00\x00" * 160)
LOUD = pcm_to_ulaw((b"\x00\x20" + b"\x00\xe0") * 80)  # ±8192, a square wave


class FakeRecognizer:
    """Records what it was fed, and from which thread."""

    def __init__(self) -> None:
        self.fed = 0
        self.threads: set[str] = set()
        self.modes: list[str] = []
        self.closed = False

    def accept(self, pcm: bytes) -> Transcript | None:
        self.threads.add(threading.current_thread().name)
        self.fed += len(pcm)
        return None

    def finish(self) -> Transcript:
        words = ("등본", "떼기") if self.fed > 16000 else ()  # over a second of audio
        self.fed = 0
        return Transcript(text=" ".join(words), confidence=0.9 if words else 0.0, words=words)

    def set_mode(self, mode: str) -> None:
        self.modes.append(mode)

    def close(self) -> None:
        self.closed = True


async def run(
    frames: list[bytes], recognizer: FakeRecognizer | None, prime: bytes = b""
) -> list[ListenerEvent]:
    events: list[ListenerEvent] = []

    async def emit(event: ListenerEvent) -> None:
        events.append(event)

    with ThreadPoolExecutor(thread_name_prefix="asr-test") as pool:
        listener = Listener(recognizer, pool, TurnSettings(end_of_turn_ms=300), emit)
        if prime:
            listener.prime(prime)
        for frame in frames:
            await listener.hear(frame)
        await asyncio.sleep(0.2)
        # The recogniser is handed back idle (to be pooled), not closed by the listener.
        assert await listener.close() is recognizer
        assert await listener.close() is None
    return events


async def test_speech_then_a_pause_is_one_heard_turn_recognised_off_the_loop() -> None:
    recognizer = FakeRecognizer()
    events = await run([SILENCE] * 20 + [LOUD] * 50 + [SILENCE] * 20, recognizer)
    assert isinstance(events[0], SpeechStarted)
    (heard,) = [e for e in events if isinstance(e, Heard)]
    assert heard.text == "등본 떼기" and heard.confidence == 0.9 and heard.recognised
    assert recognizer.threads and all(t.startswith("asr-test") for t in recognizer.threads)
    assert not recognizer.closed


async def test_priming_decodes_first_and_is_never_heard() -> None:
    recognizer = FakeRecognizer()
    warm_up = b"\x00\x10" * 16000  # two seconds, "heard" as words by the double
    events = await run([SILENCE] * 20, recognizer, prime=warm_up)
    assert events == [] and recognizer.fed == 0  # decoded, finished, thrown away
    assert recognizer.threads


async def test_silence_alone_is_never_recognised() -> None:
    recognizer = FakeRecognizer()
    events = await run([SILENCE] * 200, recognizer)
    assert events == [] and recognizer.threads == set()


async def test_a_click_is_dropped() -> None:
    events = await run([SILENCE] * 10 + [LOUD] * 5 + [SILENCE] * 30, FakeRecognizer())
    assert [type(e) for e in events] == [SpeechStarted]  # started, then nothing heard


async def test_without_a_model_turns_are_still_found_but_not_recognised() -> None:
    events = await run([SILENCE] * 10 + [LOUD] * 50 + [SILENCE] * 20, None)
    (heard,) = [e for e in events if isinstance(e, Heard)]
    assert heard.text == "" and not heard.recognised
