"""The listening processor: caller audio in, turn events out.

Each 20 ms frame is decoded, its level goes to the turn detector, and speech (with a
short pre-roll, so the first syllable is not cut) goes to the call's recogniser. Only
speech is recognised: silence costs no CPU, which is what lets two cores carry a dozen
calls. Recognition runs in a worker thread pool, never on the event loop, and one
call's audio is recognised strictly in order by a single task that drains a queue.

Two clocks, on purpose. What the turn detector decides — speech started, paused,
resumed — is emitted at once from the event loop (``SpeechStarted``, ``TurnPaused``,
``SpeechResumed``), with the turn's audio kept here: it never waits behind recognition,
so an acknowledgement and the second pass start on time even when the recognition
threads are behind on a busy line. What needs the recogniser's words — a short turn's
words at its pause (``PauseHeard``) and the finished turn (``Heard``) — comes from the
recognition task, after the audio before it was decoded.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import structlog

from voice.asr import Transcript
from voice.codec import level_dbfs, ulaw_to_pcm
from voice.turns import TurnDetector, TurnEvent, TurnSettings

log = structlog.get_logger(__name__)

RecognitionMode = Literal["free", "yes_no"]
PRE_ROLL_FRAMES = 10  # 200 ms
# A turn ends after 20 s anyway (TurnSettings.max_turn_ms); keep a little more than that
# of 8 kHz 16-bit audio for the second pass, and never more.
_MAX_TURN_AUDIO_BYTES = 25 * 8000 * 2
# A turn this short is finalised by Vosk at its pause (``PauseHeard``), so a short answer
# can end the turn there: Vosk's partial of a short word ("네", "다시", "일 번") is empty
# until the utterance is finalised (measured). Longer turns stay whole for Vosk: only
# short phrases end a turn at once, and the second pass hears long ones again anyway.
SHORT_TURN_BYTES = int(1.8 * 8000 * 2)


class Recognizer(Protocol):
    """One call's streaming recogniser (``voice.asr.CallRecognizer``); blocking methods."""

    def accept(self, pcm: bytes) -> Transcript | None: ...

    def finish(self) -> Transcript: ...

    def set_mode(self, mode: RecognitionMode) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SpeechStarted:
    """The caller started speaking (the cue for barge-in)."""

    at: float


@dataclass(frozen=True)
class Heard:
    """A finished caller turn. ``text`` is empty when nothing could be recognised.

    ``recognised`` is False when no recogniser serves the call's language, so the words
    were never tried (the dialogue says so instead of "I did not catch that").
    ``audio`` is the turn as the recogniser got it (8 kHz 16-bit PCM, pre-roll
    included), for the second pass. ``engine`` says who produced ``text``; ``confirm``
    asks the dialogue to confirm it whatever its confidence (the second pass ran out
    of time and this is streaming Vosk's guess).
    """

    text: str
    confidence: float
    mode: RecognitionMode
    speech_ended_at: float  # monotonic time of the last voiced frame
    recognised: bool = True
    audio: bytes = field(default=b"", repr=False)
    engine: str = "vosk"
    confirm: bool = False
    turn: int = 0  # the listener's count of turns, shared with TurnPaused


@dataclass(frozen=True)
class TurnPaused:
    """The caller went quiet; the turn may be over, or go on (``SpeechResumed``).

    Emitted by the turn detector's clock, not the recogniser's (see the module
    docstring). ``audio`` is the turn so far (8 kHz 16-bit PCM, pre-roll included):
    enough to start the second pass while waiting to see whether the caller goes on.
    A pause that was only noise (a click, a cough) is not announced."""

    mode: RecognitionMode
    speech_ended_at: float
    recognised: bool = True
    audio: bytes = field(default=b"", repr=False)
    turn: int = 0


@dataclass(frozen=True)
class PauseHeard:
    """Streaming Vosk's words for a short paused turn (at most ``SHORT_TURN_BYTES``),
    finalised at its pause: enough to tell a "네" or a menu word, which ends the turn at
    once. Only in free mode and with a recogniser; it follows its ``TurnPaused`` (and a
    ``SpeechResumed`` of the same turn may come before it: it is then stale)."""

    text: str
    turn: int = 0


@dataclass(frozen=True)
class SpeechResumed:
    """The caller spoke again after a pause: the same turn goes on."""

    at: float
    turn: int = 0


ListenerEvent = SpeechStarted | TurnPaused | PauseHeard | SpeechResumed | Heard


@dataclass(frozen=True)
class _Finish:
    speech_ended_at: float
    noise: bool
    turn: int
    audio: bytes


@dataclass(frozen=True)
class _Pause:
    turn: int


@dataclass(frozen=True)
class _Mode:
    mode: RecognitionMode


@dataclass(frozen=True)
class _Prime:
    pcm: bytes


_Work = bytes | _Finish | _Pause | _Mode | _Prime | None


class Listener:
    """Turns the caller's frames into turn events; see the module docstring."""

    def __init__(
        self,
        recognizer: Recognizer | None,
        executor: Executor,
        settings: TurnSettings,
        emit: Callable[[ListenerEvent], Awaitable[None]],
    ) -> None:
        self._recognizer = recognizer
        self._executor = executor
        self._emit = emit
        self.detector = TurnDetector(settings)
        self._pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_FRAMES)
        self._audio = bytearray()  # the open turn as the recogniser gets it
        self._queue: asyncio.Queue[_Work] = asyncio.Queue()
        self._mode: RecognitionMode = "free"
        self._last_voice_at = 0.0
        self._turn = 0
        self._worker = asyncio.create_task(self._recognise())
        self._closed = False

    @property
    def settings(self) -> TurnSettings:
        """The caller's turn-taking settings (``slow`` may change during a call)."""
        return self.detector.settings

    @property
    def mode(self) -> RecognitionMode:
        """What the recogniser listens for now."""
        return self._mode

    def set_mode(self, mode: RecognitionMode) -> None:
        """Listen for free speech or only for yes/no from the next turn on."""
        if mode != self._mode:
            self._mode = mode
            self._queue.put_nowait(_Mode(mode))

    def prime(self, pcm: bytes) -> None:
        """Decode ``pcm`` and forget it, before any caller audio: warms a new recogniser
        (see ``voice.engines``) in the same queue, so nothing runs on it concurrently."""
        self._queue.put_nowait(_Prime(pcm))

    async def hear(self, ulaw: bytes) -> None:
        """One frame of the caller's audio."""
        if self._closed:
            return
        pcm = ulaw_to_pcm(ulaw)
        level = level_dbfs(pcm)
        was_in_speech = self.detector.in_speech
        event = self.detector.feed(level)
        now = time.monotonic()
        if self.detector.in_speech and self.detector.is_voice(level):
            self._last_voice_at = now
        if event is TurnEvent.SPEECH_STARTED:
            self._turn += 1
            self._audio = bytearray(b"".join(self._pre_roll))
            for frame in self._pre_roll:
                self._queue.put_nowait(frame)
            self._pre_roll.clear()
            self._take(pcm)
            self._last_voice_at = now
            await self._emit(SpeechStarted(at=now))
        elif was_in_speech:
            self._take(pcm)
            if event is TurnEvent.SPEECH_ENDED:
                self._finish_turn(self.detector.was_noise())
            elif event is TurnEvent.SPEECH_PAUSED and not self.detector.was_noise():
                await self._paused()
            elif event is TurnEvent.SPEECH_RESUMED:
                await self._emit(SpeechResumed(at=now, turn=self._turn))
        else:
            self._pre_roll.append(pcm)

    def _take(self, pcm: bytes) -> None:
        self._queue.put_nowait(pcm)
        if len(self._audio) < _MAX_TURN_AUDIO_BYTES:
            self._audio += pcm

    async def _paused(self) -> None:
        audio = bytes(self._audio)
        if self._recognizer is not None and self._mode == "free" and len(audio) <= SHORT_TURN_BYTES:
            # Queued before the announcement: whoever hears it may end the turn at once,
            # and the turn's end must follow this in the queue.
            self._queue.put_nowait(_Pause(self._turn))
        await self._emit(
            TurnPaused(
                mode=self._mode,
                speech_ended_at=self._last_voice_at,
                recognised=self._recognizer is not None,
                audio=audio,
                turn=self._turn,
            )
        )

    def _finish_turn(self, noise: bool) -> None:
        audio, self._audio = bytes(self._audio), bytearray()
        self._queue.put_nowait(_Finish(self._last_voice_at, noise, self._turn, audio))

    def end_turn_now(self, turn: int | None = None) -> None:
        """The paused turn is over (the listener's owner knows nothing more is coming):
        finish it now rather than after the commit wait. Nothing unless that turn
        (``turn``, or the open one) is still paused: a caller who went on keeps it."""
        if self._closed or not self.detector.in_speech or not self.detector.paused:
            return
        if turn is not None and turn != self._turn:
            return
        noise = self.detector.was_noise()
        self.detector.end_now()
        self._finish_turn(noise)

    async def _recognise(self) -> None:
        pieces: list[Transcript] = []
        held: list[_Work] = []  # an item taken while gathering audio, handled next
        while True:
            work = held.pop() if held else await self._queue.get()
            taken = 1  # queue items this round handles (for settled())
            if work is None:
                self._queue.task_done()
                return
            try:
                if isinstance(work, bytes):
                    # Whatever audio queued up while the last chunk was decoded goes as one.
                    chunks = [work]
                    while not self._queue.empty():
                        following = self._queue.get_nowait()
                        if not isinstance(following, bytes):
                            held.append(following)
                            break
                        chunks.append(following)
                        taken += 1
                    piece = await self._run(self._accept, b"".join(chunks))
                    if piece is not None and piece.text:
                        pieces.append(piece)
                elif isinstance(work, _Mode):
                    pieces.clear()
                    await self._run(self._set_mode, work.mode)
                elif isinstance(work, _Prime):
                    await self._run(self._accept, work.pcm)
                    await self._run(self._finish)
                elif isinstance(work, _Pause):
                    # A short turn is finalised at its pause: Vosk's partial of a short
                    # word is empty until then (see SHORT_TURN_BYTES).
                    last = await self._run(self._finish)
                    if last is not None and last.text:
                        pieces.append(last)
                    so_far = " ".join(p.text for p in pieces if p.text).strip()
                    await self._emit(PauseHeard(text=so_far, turn=work.turn))
                else:
                    last = await self._run(self._finish)
                    if last is not None and last.text:
                        pieces.append(last)
                    heard = _joined(
                        pieces, self._mode, work.speech_ended_at, self._recognizer, work.audio
                    )
                    heard = replace(heard, turn=work.turn)
                    pieces = []
                    if work.noise and not heard.text:
                        continue
                    await self._emit(heard)
            except Exception as exc:  # one bad chunk must not end the call's listening
                log.error("voice.recognition_failed", error=f"{exc.__class__.__name__}: {exc}")
                pieces = []
            finally:
                for _ in range(taken):
                    self._queue.task_done()

    async def settled(self) -> None:
        """Wait until everything heard so far has been decoded (and any turn it ended
        emitted). For driving a listener faster than real time, as the evaluation does."""
        await self._queue.join()

    async def _run(self, fn: Callable[..., object], *args: object) -> Transcript | None:
        if self._recognizer is None:
            return None
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, fn, *args)
        return result if isinstance(result, Transcript) else None

    def _accept(self, pcm: bytes) -> Transcript | None:
        assert self._recognizer is not None
        return self._recognizer.accept(pcm)

    def _finish(self) -> Transcript:
        assert self._recognizer is not None
        return self._recognizer.finish()

    def _set_mode(self, mode: RecognitionMode) -> None:
        assert self._recognizer is not None
        self._recognizer.set_mode(mode)

    async def close(self) -> Recognizer | None:
        """Stop listening; hand back the recogniser (its owner frees or pools it).

        Whatever it was decoding finishes first (in the pool), so it is idle after this.
        """
        if self._closed:
            return None
        self._closed = True
        while not self._queue.empty():  # audio nobody will hear the answer to
            self._queue.get_nowait()
            self._queue.task_done()
        self._queue.put_nowait(None)
        try:
            await asyncio.wait_for(self._worker, timeout=10)
        except (TimeoutError, asyncio.CancelledError, Exception):
            self._worker.cancel()
            log.warning("voice.listener_stuck")
            return None  # possibly mid-decode in a thread: not safe to reuse
        recognizer, self._recognizer = self._recognizer, None
        return recognizer


def _joined(
    pieces: list[Transcript],
    mode: RecognitionMode,
    ended_at: float,
    recognizer: Recognizer | None,
    audio: bytes,
) -> Heard:
    """One turn from the pieces Vosk's own endpointing may have cut it into."""
    text = " ".join(p.text for p in pieces if p.text).strip()
    if not pieces:
        confidence = 0.0
    else:
        weights = [max(1, len(p.words)) for p in pieces]
        confidence = sum(p.confidence * w for p, w in zip(pieces, weights, strict=True)) / sum(
            weights
        )
    return Heard(
        text=text,
        confidence=round(confidence, 3),
        mode=mode,
        speech_ended_at=ended_at,
        recognised=recognizer is not None,
        audio=audio,
    )
