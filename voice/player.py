"""The speaking processor: texts in, paced μ-law audio and marks out.

A reply is synthesised sentence by sentence, so the caller hears the first sentence
while the rest is made. Audio goes out in 100 ms chunks kept at most ``LEAD_SECONDS``
ahead of what the caller has heard: enough to ride out a slow moment, little enough
that a barge-in has almost nothing to clear. A mark follows each utterance; when
Twilio reports the last one played, the caller has heard everything and the
dialogue's silence timer may start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from voice.events import ClearPlayback, OutboundEvent, PlaceMark, PlayAudio

log = structlog.get_logger(__name__)

CHUNK_BYTES = 800  # 100 ms of 8 kHz μ-law
BYTES_PER_SECOND = 8000
LEAD_SECONDS = 0.6
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+|\n+")


class Speaker(Protocol):
    """Text to 8 kHz μ-law (``voice.tts.Speaker``)."""

    async def speak(self, text: str, language: str, slow: bool = False) -> bytes: ...


def sentences(text: str) -> list[str]:
    """A reply cut where a speaker would breathe, so synthesis can start early."""
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]


class Player:
    """Plays utterances to the caller in order; ``interrupt`` is barge-in."""

    def __init__(
        self,
        speaker: Speaker,
        send: Callable[[OutboundEvent], Awaitable[None]],
        on_finished: Callable[[], Awaitable[None]],
    ) -> None:
        self._speaker = speaker
        self._send = send
        self._on_finished = on_finished
        self._queue: asyncio.Queue[tuple[list[str], str, bool, str] | None] = asyncio.Queue()
        self._pending_marks: set[str] = set()
        self._numbers = itertools.count(1)
        self._played_until = 0.0  # monotonic time the caller will have heard all sent audio
        self._speaking = False
        self._interrupted = False  # since the last utterance was queued
        self._task = asyncio.create_task(self._run())
        self.first_audio_at: float | None = None  # of the utterance being played

    @property
    def busy(self) -> bool:
        """True while anything is queued, being sent or not yet heard by the caller."""
        return self._speaking or not self._queue.empty() or bool(self._pending_marks)

    def say(
        self,
        texts: Sequence[str],
        language: str,
        slow: bool = False,
        kind: str = "say",
        continues: bool = False,
    ) -> None:
        """Queue one utterance (several texts said one after another); it is synthesised
        and sent by the player's own task. Its mark is named ``<kind>-<n>`` ("ack" for an
        acknowledgement), so a listener can tell them apart.

        ``continues``: the rest of the utterance queued just before (an answer, then
        what the caller may do next); dropped if the caller interrupted it meanwhile."""
        if continues and self._interrupted:
            return
        self._interrupted = False
        parts = [s for text in texts for s in sentences(text)]
        if parts:
            self._queue.put_nowait((parts, language, slow, kind))

    async def interrupt(self) -> bool:
        """Stop talking now: drop what is queued and clear what Twilio holds.

        Returns True when there was something to stop.
        """
        had_something = self.busy
        self._interrupted = True
        while not self._queue.empty():
            self._queue.get_nowait()
        if had_something:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._speaking = False
            self._pending_marks.clear()
            self._played_until = 0.0
            await self._send(ClearPlayback())
            self._task = asyncio.create_task(self._run())
        return had_something

    async def mark_played(self, name: str) -> None:
        """Twilio says playback reached ``name`` (or cleared it)."""
        if name not in self._pending_marks:
            return
        self._pending_marks.discard(name)
        if not self.busy:
            await self._on_finished()

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            parts, language, slow, kind = item
            self._speaking = True
            self.first_audio_at = None
            try:
                for part in parts:
                    audio = await self._speaker.speak(part, language, slow)
                    await self._stream(audio)
                name = f"{kind}-{next(self._numbers)}"
                self._pending_marks.add(name)
                await self._send(PlaceMark(name))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed synthesis skips that utterance, not the call
                log.error("voice.playback_failed", error=f"{exc.__class__.__name__}: {exc}")
            finally:
                self._speaking = False
            if not self.busy:
                await self._on_finished()

    async def _stream(self, audio: bytes) -> None:
        for start in range(0, len(audio), CHUNK_BYTES):
            chunk = audio[start : start + CHUNK_BYTES]
            now = time.monotonic()
            ahead = self._played_until - now
            if ahead > LEAD_SECONDS:
                await asyncio.sleep(ahead - LEAD_SECONDS)
                now = time.monotonic()
            await self._send(PlayAudio(chunk))
            if self.first_audio_at is None:
                self.first_audio_at = now
            self._played_until = max(self._played_until, now) + len(chunk) / BYTES_PER_SECOND

    async def close(self) -> None:
        """Stop the sending task (the call is over; nothing is cleared on a dead line)."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
