"""A whole recording to text: the web page's microphone (and the evaluation's wideband path).

Unlike a call there is no streaming and no turn-taking: the citizen recorded up to 30 s
and pressed stop. Three engines, named as ``sotong asr evaluate`` names them:

- ``vosk``: resampled to 8 kHz and decoded by a pooled call recogniser;
- ``vosk-16k``: decoded at the recording's own rate by a recogniser made for that rate
  (pooled separately);
- ``whisper``: Whisper base in the recognition pool, behind every waiting caller.

Everything blocking runs in the engines' threads, never on the event loop. A recogniser
goes back to its pool only after its decode finished, even if the request is cancelled
meanwhile (a reset racing a decode would corrupt it).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Literal

from voice.asr import CallRecognizer, Transcript
from voice.codec import SAMPLE_RATE, resample_pcm
from voice.engines import VoiceEngines
from voice.recognition_pool import Priority

WebEngine = Literal["vosk", "vosk-16k", "whisper"]
WEB_ENGINES: tuple[WebEngine, ...] = ("vosk", "vosk-16k", "whisper")

_CHUNK_SECONDS = 0.5  # audio per AcceptWaveform call
# A web upload waits behind callers, but not for ever: past this it is refused (503).
_WEB_DEADLINE_SECONDS = 20.0

# At most this many uploads hold a Vosk recogniser at once, per engines (each tens of MB,
# growing with what it decodes: voice.asr.CallRecognizer).
_gates: weakref.WeakKeyDictionary[VoiceEngines, asyncio.Semaphore] = weakref.WeakKeyDictionary()
# Recognitions whose request went away: kept referenced until they return their recogniser.
_orphans: set[asyncio.Future[Transcript | None]] = set()


def transcribe(recognizer: CallRecognizer, pcm: bytes, rate: int = SAMPLE_RATE) -> Transcript:
    """Everything said in ``pcm`` (16-bit mono at the recogniser's rate) as one transcript.

    Blocking (Vosk): runs in the engines' ASR threads, all of one recogniser's calls in
    this one job."""
    recognizer.set_mode("free")
    parts: list[Transcript] = []
    chunk = int(rate * _CHUNK_SECONDS) * 2
    for start in range(0, len(pcm), chunk):
        heard = recognizer.accept(pcm[start : start + chunk])
        if heard is not None:
            parts.append(heard)
    last = recognizer.finish()
    if last.text:
        parts.append(last)
    words = tuple(word for part in parts for word in part.words)
    if not words:
        return Transcript(text="", confidence=0.0, words=())
    # Weighted by words, as Transcript.confidence is a per-word mean.
    confidence = sum(part.confidence * len(part.words) for part in parts) / len(words)
    return Transcript(text=" ".join(words), confidence=confidence, words=words)


def _gate(engines: VoiceEngines, size: int) -> asyncio.Semaphore:
    gate = _gates.get(engines)
    if gate is None:
        gate = _gates[engines] = asyncio.Semaphore(size)
    return gate


async def recognise_recording(
    engines: VoiceEngines,
    language: str,
    pcm: bytes,
    rate: int,
    *,
    engine: str,
    priority: Priority = Priority.WEB,
    concurrency: int = 2,
) -> Transcript | None:
    """What was said in ``pcm`` (16-bit mono at ``rate`` Hz); None when the engine has no
    model for ``language``. Raises what the decoder raised (the route says 503)."""
    if engine == "whisper":
        whisper, pool = engines.whisper, engines.accurate_pool
        if whisper is None or pool is None:
            return None
        result = await pool.run(
            lambda: whisper.transcribe(pcm, rate, language),
            priority=priority,
            deadline=time.monotonic() + _WEB_DEADLINE_SECONDS,
        )
        return result.transcript
    if engine not in ("vosk", "vosk-16k"):
        raise ValueError(f"unknown engine {engine!r}")
    if not engines.models.available(language):
        return None
    at = SAMPLE_RATE if engine == "vosk" else rate
    audio = await asyncio.to_thread(resample_pcm, pcm, rate, at) if at != rate else pcm

    async def work() -> Transcript | None:
        async with _gate(engines, concurrency):
            recognizer, _warm = await engines.recognizer(language, at)  # type: ignore[arg-type]
            if recognizer is None:
                return None
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(
                    engines.asr_executor, transcribe, recognizer, audio, at
                )
            finally:
                await engines.release(language, recognizer)  # type: ignore[arg-type]

    task = asyncio.ensure_future(work())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            _orphans.add(task)
            task.add_done_callback(_orphans.discard)
        raise
