"""Speech synthesis with pyttsx3 (espeak-ng driver), as 8 kHz μ-law for the phone line.

pyttsx3 is not thread-safe and espeak-ng is one global engine per process, so a Speaker
owns the engine on ONE dedicated thread and every synthesis runs there, in turn. The
event loop only awaits. Prompts repeat a lot (greetings, menus, "다시 말씀해 주세요"),
so results are kept in an LRU cache and identical concurrent requests share one
synthesis.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from voice.codec import SAMPLE_RATE, pcm_to_ulaw, resample_pcm

# espeak-ng voice names per language (pyttsx3's espeak driver sets them by name).
VOICES: dict[str, str] = {"ko": "ko", "en": "en-us"}

_ESPEAK_RATE = 22050  # espeak-ng always synthesises at 22.05 kHz
_TRIM_THRESHOLD = 300  # |sample| below this (about -41 dBFS) counts as silence when trimming
_TRIM_MARGIN_SECONDS = 0.03  # keep a little air so the first consonant is not clipped
_SYNTH_TIMEOUT_SECONDS = 30.0
_ATTEMPTS = 3

_CacheKey = tuple[str, str, bool]
# 32 MiB of 8 kHz μ-law is about 70 minutes of speech: every prompt and many answers.
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024


class Speaker:
    """Text → 8 kHz μ-law speech, cached, on one dedicated synthesis thread.

    ``rate`` is espeak-ng's words per minute for normal speech; ``slow`` speech (for
    elderly callers or anyone who asked) uses ``rate * slow_factor``.
    """

    def __init__(
        self,
        cache_size: int = 512,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        rate: int = 165,
        slow_factor: float = 0.7,
    ) -> None:
        if cache_size < 0 or cache_bytes < 0:
            raise ValueError("cache_size and cache_bytes must be >= 0")
        self._cache_size = cache_size
        # Bounded by bytes too (review L13): a long answer is about 1 MB of audio, so
        # 512 of them could hold hundreds of MB; prompts, the common case, are small.
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0
        self._rate = rate
        self._slow_rate = max(80, round(rate * slow_factor))
        self._cache: OrderedDict[_CacheKey, bytes] = OrderedDict()
        self._pending: dict[_CacheKey, asyncio.Future[bytes]] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="sotong-tts-"))
        # Set on the synthesis thread by the executor's initializer, used only there.
        self._engine: Any = None
        self._finished = threading.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="sotong-tts", initializer=self._start_engine
        )
        self._closed = False

    # ---- on the synthesis thread --------------------------------------------------

    def _start_engine(self) -> None:
        import pyttsx3
        from pyttsx3.drivers import espeak as espeak_driver

        # The driver prints "Audio saved to <temp file>" to stdout for every synthesis;
        # the gateway's output is its structured logs. Silenced in that module only.
        espeak_driver.print = lambda *args, **kwargs: None
        engine = pyttsx3.init("espeak")

        def finished(name: object = None, completed: bool = True) -> None:
            if completed:
                self._finished.set()

        engine.connect("finished-utterance", finished)
        self._engine = engine

    def _synthesize(self, text: str, language: str, slow: bool) -> bytes:
        """22.05 kHz 16-bit PCM of ``text`` (runs on the synthesis thread only)."""
        for _ in range(_ATTEMPTS):
            pcm = self._synthesize_once(text, VOICES[language], self._rate_for(slow))
            if pcm:
                return pcm
        raise RuntimeError(f"speech synthesis produced no audio ({language}, {len(text)} chars)")

    def _synthesize_once(self, text: str, voice: str, rate: int) -> bytes:
        import wave

        engine = self._engine
        path = self._tmp / f"{uuid.uuid4().hex}.wav"
        _wait_engine_idle()
        engine.setProperty("voice", voice)
        # pyttsx3 2.99's espeak driver applies a rate one utterance late now and then
        # (measured: 68 of 150 utterances at the previous rate); setting it twice makes
        # it stick (0 of 400).
        engine.setProperty("rate", rate)
        engine.setProperty("rate", rate)
        self._finished.clear()
        try:
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            # The driver may return from runAndWait before its callback thread wrote
            # the file; the finished-utterance notification comes after the write.
            if not self._finished.wait(_SYNTH_TIMEOUT_SECONDS):
                raise TimeoutError("speech synthesis did not finish")
            _wait_engine_idle()
            if not path.exists():
                return b""
            with wave.open(str(path), "rb") as reader:
                return reader.readframes(reader.getnframes())
        finally:
            path.unlink(missing_ok=True)

    def _rate_for(self, slow: bool) -> int:
        return self._slow_rate if slow else self._rate

    def _render(self, text: str, language: str, slow: bool) -> bytes:
        pcm = _trim_silence(self._synthesize(text, language, slow))
        return pcm_to_ulaw(resample_pcm(pcm, _ESPEAK_RATE, SAMPLE_RATE))

    # ---- on the event loop -----------------------------------------------------------

    async def speak(self, text: str, language: str, slow: bool = False) -> bytes:
        """``text`` spoken in ``language`` ("ko" or "en") as 8 kHz μ-law bytes.

        Leading and trailing silence is trimmed (the pipeline adds its own pauses).
        Cached by (text, language, slow); concurrent identical requests share one
        synthesis. Raises ``ValueError`` for an unknown language.
        """
        if self._closed:
            raise RuntimeError("speaker is closed")
        if language not in VOICES:
            raise ValueError(f"no voice for language {language!r}")
        text = text.strip()
        if not text:
            return b""
        key = (text, language, slow)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        pending = self._pending.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(
                loop.run_in_executor(self._executor, self._render, text, language, slow)
            )
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        # shield: one caller giving up (barge-in, hang-up) must not cancel the others.
        return await asyncio.shield(pending)

    def _settle(self, key: _CacheKey, done: asyncio.Future[bytes]) -> None:
        self._pending.pop(key, None)
        if done.cancelled() or done.exception() is not None or self._cache_size == 0:
            return
        audio = done.result()
        if len(audio) > self._cache_bytes:
            return  # one answer bigger than the whole cache: never kept
        previous = self._cache.pop(key, None)
        if previous is not None:
            self._cached_bytes -= len(previous)
        self._cache[key] = audio
        self._cached_bytes += len(audio)
        while len(self._cache) > self._cache_size or self._cached_bytes > self._cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cached_bytes -= len(evicted)

    @property
    def cached_bytes(self) -> int:
        """Bytes of audio the cache holds now."""
        return self._cached_bytes

    def cached(self, text: str, language: str, slow: bool = False) -> bool:
        """Whether this exact speech is in the cache."""
        return (text.strip(), language, slow) in self._cache

    def close(self) -> None:
        """Stop the synthesis thread and remove the temporary directory. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._cache.clear()
        self._cached_bytes = 0
        shutil.rmtree(self._tmp, ignore_errors=True)


def _wait_engine_idle(timeout: float = _SYNTH_TIMEOUT_SECONDS) -> None:
    """Wait until espeak-ng's own thread has no synthesis in progress."""
    try:
        from pyttsx3.drivers import _espeak
    except ImportError:  # another pyttsx3 layout: nothing to wait for
        return
    deadline = time.monotonic() + timeout
    while _espeak.IsPlaying() and time.monotonic() < deadline:
        time.sleep(0.002)


def _trim_silence(pcm: bytes, rate: int = _ESPEAK_RATE) -> bytes:
    """Cut leading and trailing silence from 16-bit PCM, keeping a short margin."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _TRIM_THRESHOLD)
    if loud.size == 0:
        return pcm
    margin = int(_TRIM_MARGIN_SECONDS * rate)
    start = max(0, int(loud[0]) - margin)
    end = min(samples.size, int(loud[-1]) + 1 + margin)
    return samples[start:end].tobytes()
