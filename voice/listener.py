"""The listening processor: caller audio in, ``SpeechStarted`` and ``Heard`` out.

Each 20 ms frame is decoded, its level goes to the turn detector, and speech (with a
short pre-roll, so the first syllable is not cut) goes to the call's recogniser. Only
speech is recognised: silence costs no CPU, which is what lets two cores carry a dozen
calls. Recognition runs in a worker thread pool, never on the event loop, and one
call's audio is recognised strictly in order by a single task that drains a queue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from voice.asr import Transcript
from voice.codec import level_dbfs, ulaw_to_pcm
from voice.turns import TurnDetector, TurnEvent, TurnSettings

log = structlog.get_logger(__name__)

RecognitionMode = Literal["free", "yes_no"]
PRE_ROLL_FRAMES = 10  # 200 ms


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
    """

    text: str
    confidence: float
    mode: RecognitionMode
    speech_ended_at: float  # monotonic time of the last voiced frame
    recognised: bool = True


ListenerEvent = SpeechStarted | Heard


@dataclass(frozen=True)
class _Finish:
    speech_ended_at: float
    noise: bool


@dataclass(frozen=True)
class _Mode:
    mode: RecognitionMode


@dataclass(frozen=True)
class _Prime:
    pcm: bytes


_Work = bytes | _Finish | _Mode | _Prime | None


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
        self._queue: asyncio.Queue[_Work] = asyncio.Queue()
        self._mode: RecognitionMode = "free"
        self._last_voice_at = 0.0
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
            for frame in self._pre_roll:
                self._queue.put_nowait(frame)
            self._pre_roll.clear()
            self._queue.put_nowait(pcm)
            self._last_voice_at = now
            await self._emit(SpeechStarted(at=now))
        elif was_in_speech:
            self._queue.put_nowait(pcm)
            if event is TurnEvent.SPEECH_ENDED:
                noise = self.detector.was_noise()
                self._queue.put_nowait(_Finish(self._last_voice_at, noise))
        else:
            self._pre_roll.append(pcm)

    async def _recognise(self) -> None:
        pieces: list[Transcript] = []
        held: list[_Work] = []  # an item taken while gathering audio, handled next
        while True:
            work = held.pop() if held else await self._queue.get()
            if work is None:
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
                    piece = await self._run(self._accept, b"".join(chunks))
                    if piece is not None and piece.text:
                        pieces.append(piece)
                elif isinstance(work, _Mode):
                    pieces.clear()
                    await self._run(self._set_mode, work.mode)
                elif isinstance(work, _Prime):
                    await self._run(self._accept, work.pcm)
                    await self._run(self._finish)
                else:
                    last = await self._run(self._finish)
                    if last is not None and last.text:
                        pieces.append(last)
                    heard = _joined(pieces, self._mode, work.speech_ended_at, self._recognizer)
                    pieces = []
                    if work.noise and not heard.text:
                        continue
                    await self._emit(heard)
            except Exception as exc:  # one bad chunk must not end the call's listening
                log.error("voice.recognition_failed", error=f"{exc.__class__.__name__}: {exc}")
                pieces = []

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
    )
