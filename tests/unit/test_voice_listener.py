"""The listening processor alone: frames in; turn events out, recognition off the loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from voice.asr import Transcript
from voice.codec import pcm_to_ulaw, ulaw_to_pcm
from voice.listener import (
    SHORT_TURN_BYTES,
    Heard,
    Listener,
    ListenerEvent,
    PauseHeard,
    SpeechResumed,
    SpeechStarted,
    TurnPaused,
)
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

    def partial(self) -> str:
        return "등본" if self.fed else ""

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


async def test_the_turn_carries_its_audio_for_the_second_pass() -> None:
    # Speech starts on the 4th loud frame; the 10 frames before it are the pre-roll, and
    # the turn ends on the 15th quiet frame (300 ms).
    events = await run([SILENCE] * 20 + [LOUD] * 50 + [SILENCE] * 20, FakeRecognizer())
    (heard,) = [e for e in events if isinstance(e, Heard)]
    frame_pcm = 320  # 20 ms of 8 kHz 16-bit
    assert len(heard.audio) == (10 + 47 + 15) * frame_pcm
    loud_pcm = ulaw_to_pcm(LOUD)
    assert heard.audio.count(loud_pcm) == 50
    without = [e for e in await run([SILENCE] * 10 + [LOUD] * 50 + [SILENCE] * 20, None)]
    (unrecognised,) = [e for e in without if isinstance(e, Heard)]
    assert unrecognised.audio.count(loud_pcm) == 50  # Whisper can still hear it


async def test_settled_waits_until_everything_fed_was_decoded() -> None:
    recognizer = FakeRecognizer()
    events: list[ListenerEvent] = []

    async def emit(event: ListenerEvent) -> None:
        events.append(event)

    with ThreadPoolExecutor(thread_name_prefix="asr-test") as pool:
        listener = Listener(recognizer, pool, TurnSettings(end_of_turn_ms=300), emit)
        for frame in [SILENCE] * 10 + [LOUD] * 50 + [SILENCE] * 20:
            await listener.hear(frame)
        await listener.settled()  # no sleeping: the turn is out once this returns
        assert [e for e in events if isinstance(e, Heard)]
        await listener.close()


async def settled_events(frames: list[bytes], settings: TurnSettings) -> list[ListenerEvent]:
    """Every event of ``frames`` fed to a listener over a ``FakeRecognizer``, once all of
    it was decoded (no sleeping)."""
    events: list[ListenerEvent] = []

    async def emit(event: ListenerEvent) -> None:
        events.append(event)

    with ThreadPoolExecutor(thread_name_prefix="asr-test") as pool:
        listener = Listener(FakeRecognizer(), pool, settings, emit)
        for frame in frames:
            await listener.hear(frame)
        await listener.settled()
        await listener.close()
    return events


async def test_a_pause_is_announced_and_a_resumed_turn_stays_one_turn() -> None:
    settings = TurnSettings(end_of_turn_ms=300, commit_ms=600)
    frames = [SILENCE] * 10 + [LOUD] * 30 + [SILENCE] * 20 + [LOUD] * 30 + [SILENCE] * 40
    events = await settled_events(frames, settings)
    # The detector's events, in their order (recognition's come in between, whenever
    # the decoding thread gets there).
    detected = [e for e in events if not isinstance(e, PauseHeard | Heard)]
    assert [type(e).__name__ for e in detected] == [
        "SpeechStarted",
        "TurnPaused",
        "SpeechResumed",
        "TurnPaused",
    ]
    first_pause, resumed, second_pause = detected[1:]
    assert isinstance(first_pause, TurnPaused) and isinstance(second_pause, TurnPaused)
    assert isinstance(resumed, SpeechResumed)
    # A short turn is finalised at its pause (Vosk's partial of a short word is empty);
    # at the second pause the turn is long, and stays whole for Vosk.
    (words,) = [e for e in events if isinstance(e, PauseHeard)]
    assert words.text == "등본 떼기" and words.turn == 1
    (heard,) = [e for e in events if isinstance(e, Heard)]
    assert first_pause.turn == resumed.turn == second_pause.turn == heard.turn == 1
    assert len(first_pause.audio) < len(second_pause.audio) < len(heard.audio)
    assert heard.audio.count(ulaw_to_pcm(LOUD)) == 60  # both halves, one turn
    assert events.index(words) > events.index(first_pause)


async def test_a_long_turn_stays_whole_for_vosk() -> None:
    settings = TurnSettings(end_of_turn_ms=300, commit_ms=600)
    frames = [SILENCE] * 10 + [LOUD] * 100 + [SILENCE] * 40  # 2 s of speech, then quiet
    events = await settled_events(frames, settings)
    paused = next(e for e in events if isinstance(e, TurnPaused))
    heard = next(e for e in events if isinstance(e, Heard))
    assert len(paused.audio) > SHORT_TURN_BYTES
    assert not [e for e in events if isinstance(e, PauseHeard)]  # nothing finalised early
    assert heard.text == "등본 떼기"  # one utterance for Vosk, finished at the end


async def test_a_short_turn_gives_its_words_at_the_pause() -> None:
    settings = TurnSettings(end_of_turn_ms=300, commit_ms=600)
    frames = [SILENCE] * 10 + [LOUD] * 60 + [SILENCE] * 40  # 1.2 s of speech
    events = await settled_events(frames, settings)
    (words,) = [e for e in events if isinstance(e, PauseHeard)]
    assert words.text == "등본 떼기"


async def test_the_pause_is_announced_before_recognition_catches_up() -> None:
    """A busy line: the decoding thread is stuck, yet the pause comes on the detector's
    clock, with the turn's audio (the acknowledgement and the second pass start on it)."""
    release = threading.Event()

    class Stuck(FakeRecognizer):
        def accept(self, pcm: bytes) -> Transcript | None:
            release.wait(5)
            return super().accept(pcm)

    events: list[ListenerEvent] = []

    async def emit(event: ListenerEvent) -> None:
        events.append(event)

    with ThreadPoolExecutor(thread_name_prefix="asr-test") as pool:
        settings = TurnSettings(end_of_turn_ms=300, commit_ms=600)
        listener = Listener(Stuck(), pool, settings, emit)
        for frame in [SILENCE] * 10 + [LOUD] * 100 + [SILENCE] * 16:
            await listener.hear(frame)
        assert [type(e).__name__ for e in events] == ["SpeechStarted", "TurnPaused"]
        paused = events[1]
        assert isinstance(paused, TurnPaused) and paused.audio.count(ulaw_to_pcm(LOUD)) == 100
        release.set()
        await listener.settled()
        await listener.close()


async def test_ending_a_paused_turn_now_emits_it_without_the_commit_wait() -> None:
    recognizer = FakeRecognizer()
    events: list[ListenerEvent] = []

    async def emit(event: ListenerEvent) -> None:
        events.append(event)
        if isinstance(event, TurnPaused):
            listener.end_turn_now(event.turn + 1)  # not this turn: nothing happens
            listener.end_turn_now(event.turn)

    with ThreadPoolExecutor(thread_name_prefix="asr-test") as pool:
        listener = Listener(recognizer, pool, TurnSettings(end_of_turn_ms=300, commit_ms=900), emit)
        for frame in [SILENCE] * 10 + [LOUD] * 60 + [SILENCE] * 16:  # 320 ms of quiet only
            await listener.hear(frame)
        await listener.settled()
        await listener.close()
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["SpeechStarted", "TurnPaused", "PauseHeard", "Heard"]
    (heard,) = [e for e in events if isinstance(e, Heard)]
    assert heard.text == "등본 떼기"  # the words finalised at the pause are kept


async def test_a_turn_that_went_on_is_not_ended_by_a_late_decision() -> None:
    events: list[ListenerEvent] = []

    async def emit(event: ListenerEvent) -> None:
        events.append(event)

    with ThreadPoolExecutor(thread_name_prefix="asr-test") as pool:
        settings = TurnSettings(end_of_turn_ms=300, commit_ms=900)
        listener = Listener(FakeRecognizer(), pool, settings, emit)
        for frame in [SILENCE] * 10 + [LOUD] * 30 + [SILENCE] * 16 + [LOUD] * 10:
            await listener.hear(frame)
        listener.end_turn_now(1)  # decided on the pause, arriving after the caller went on
        await listener.settled()
        assert not [e for e in events if isinstance(e, Heard)]
        await listener.close()
