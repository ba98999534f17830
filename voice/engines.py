"""The voice engines one gateway process holds: speech models, the speaker, the pools.

Models load once per process (Korean at start-up, off the event loop; others when a
call first needs them). Each call gets a recogniser of its own for as long as it lasts,
made or reset in the recognition threads because both touch the model.

Why recognisers are pooled and warmed: a fresh Vosk recogniser expands its search
graph lazily, so its first sentence decodes at 0.5–0.8× real time against about 0.15×
once warm (measured). A caller's first sentence would pay that, late, while every
other call waits for the same two cores. So a new recogniser is warmed while the
caller hears the greeting — it decodes a short synthesised phrase, and the result is
thrown away — and a finished call's recogniser is reset and kept for the next call
(``pool_size`` per language). At start-up the Korean pool is filled with warmed
recognisers, so a burst of first calls does not warm them all at once. A recogniser
serves one call at a time; reset clears everything it heard. It also keeps growing with
what it decodes (``voice.asr``), so one that has decoded more than ``max_seconds`` of
speech is freed at the end of its call rather than pooled: memory stays bounded however
long the gateway runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog

from assistant.config import Settings
from assistant.language import Language
from voice.asr import CallRecognizer, SpeechModels
from voice.codec import SAMPLE_RATE, ulaw_to_pcm
from voice.recognition_pool import Priority, RecognitionPool
from voice.second_pass import SecondPass, SecondPassSettings
from voice.tts import Speaker
from voice.whisper import WhisperEngine

log = structlog.get_logger(__name__)

# Said to a new recogniser before its first caller speaks (never heard by anyone).
WARM_UP_PHRASES: dict[Language, str] = {
    "ko": "주민등록등본을 떼고 싶어요.",
    "en": "I would like a copy of my resident registration.",
}

RecognizerFactory = Callable[[Any, Language], CallRecognizer]


def _new_recognizer(model: Any, language: Language) -> CallRecognizer:
    return CallRecognizer(model, language=language)


class VoiceEngines:
    """Speech recognition and synthesis for every call of the process."""

    def __init__(
        self,
        models: SpeechModels,
        speaker: Speaker,
        asr_threads: int,
        pool_size: int = 4,
        make_recognizer: RecognizerFactory = _new_recognizer,
        whisper: WhisperEngine | None = None,
        second_pass: SecondPassSettings | None = None,
        whisper_nice: int = 0,
        max_seconds: float = 60.0,
    ) -> None:
        self.models = models
        self.speaker = speaker
        self.asr_executor = ThreadPoolExecutor(
            max_workers=asr_threads, thread_name_prefix="sotong-asr"
        )
        self._make = make_recognizer
        self._pool_size = pool_size
        self._max_seconds = max_seconds
        # Warm recognisers per (language, sample rate): 8 kHz for calls, the web's own rate.
        self._pools: dict[tuple[Language, int], list[CallRecognizer]] = {}
        self._warm_audio: dict[Language, bytes] = {}
        self.ready = False
        self.problem: str | None = None
        # The accurate engine and its own bounded pool (calls before web uploads).
        self.whisper = whisper if whisper is not None and whisper.available() else None
        self.accurate_pool = (
            RecognitionPool(self.whisper.workers, nice=whisper_nice)
            if self.whisper is not None
            else None
        )
        self.second_pass = SecondPass(
            self.whisper, self.accurate_pool, second_pass or SecondPassSettings(enabled=False)
        )
        self.whisper_problem: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceEngines:
        """Engines configured by the settings (models are not loaded yet)."""
        whisper = WhisperEngine.from_settings(settings) if settings.voice_second_pass else None
        if whisper is not None and not whisper.available():
            log.warning("voice.no_whisper_model", path=str(whisper.path))
        return cls(
            SpeechModels.from_settings(settings),
            Speaker(),
            settings.voice_asr_threads,
            pool_size=settings.voice_recognizer_pool,
            max_seconds=settings.voice_recognizer_max_seconds,
            whisper=whisper,
            whisper_nice=settings.whisper_nice,
            second_pass=SecondPassSettings(
                enabled=settings.voice_second_pass,
                budget_ms=settings.voice_second_pass_budget_ms,
                budget_per_second_ms=settings.voice_second_pass_budget_per_second_ms,
                confirm_below=settings.voice_whisper_confirm_below,
            ),
        )

    async def warm(self) -> None:
        """Load the Korean model (seconds) so the first call does not wait for it."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.asr_executor, self.models.model, "ko")
        except Exception as exc:  # readiness reports it; calls are told the line is down
            self.problem = f"Korean speech model failed to load: {exc}"
            log.error("voice.model_failed", error=str(exc))
            return
        self.ready = True
        languages = [lang for lang in ("ko", "en") if self.models.available(lang)]
        log.info("voice.models_loaded", languages=languages)
        await self.fill_pool("ko")
        await self.warm_whisper()

    async def fill_pool(self, language: Language) -> int:
        """Make and warm recognisers until ``pool_size`` wait for calls in ``language``;
        return how many were made.

        Run at start-up: otherwise the pool fills only as calls end, and a burst of first
        calls each makes a cold recogniser and warms it at once, on the same cores as the
        calls already talking (issue 19). A failure leaves the pool as it is: calls then
        make their own, as before."""
        if not self.models.available(language):
            return 0
        loop = asyncio.get_running_loop()
        pool = self._pools.setdefault((language, SAMPLE_RATE), [])
        made = 0
        try:
            audio = await self.warm_up_audio(language)
            model = await loop.run_in_executor(self.asr_executor, self.models.model, language)

            def make_warm() -> CallRecognizer:
                recognizer = self._make(model, language)
                recognizer.accept(audio)
                recognizer.finish()  # what the warm-up phrase left is dropped
                return recognizer

            while len(pool) < self._pool_size:
                pool.append(await loop.run_in_executor(self.asr_executor, make_warm))
                made += 1
        except Exception as exc:
            log.warning("voice.pool_fill_failed", error=f"{exc.__class__.__name__}: {exc}")
        log.info("voice.pool_filled", language=language, made=made, pooled=len(pool))
        return made

    async def warm_whisper(self) -> None:
        """Load Whisper (about a second) so the first free sentence does not wait for it.

        A failure leaves the line on Vosk alone (every turn confirmed as before)."""
        if self.whisper is None or self.accurate_pool is None:
            return
        try:
            await self.accurate_pool.run(self.whisper.load, priority=Priority.CALL)
        except Exception as exc:
            self.whisper_problem = f"Whisper failed to load: {exc}"
            log.error("voice.whisper_failed", error=str(exc))
            return
        log.info("voice.whisper_loaded", path=str(self.whisper.path))

    @property
    def status(self) -> str:
        """For readiness: "ok", "loading" or what went wrong."""
        if self.ready:
            return "ok"
        return self.problem or "speech model loading"

    def hears(self, language: Language) -> bool:
        """Whether speech in ``language`` can be recognised at all (Vosk or Whisper)."""
        return self.models.available(language) or self.second_pass.hears(language)

    def model_path(self, language: Language) -> Path | None:
        """Where ``language``'s model is, if one is configured."""
        return self.models.path(language)

    async def recognizer(
        self, language: Language, rate: int = SAMPLE_RATE
    ) -> tuple[CallRecognizer | None, bool]:
        """A recogniser for one call or upload at ``rate`` Hz (None when no model serves
        ``language``), and whether it is warm already (from the pool)."""
        if not self.models.available(language):
            return None, False
        pool = self._pools.setdefault((language, rate), [])
        if pool:
            return pool.pop(), True
        loop = asyncio.get_running_loop()
        model = await loop.run_in_executor(self.asr_executor, self.models.model, language)
        if rate == SAMPLE_RATE:
            make = self._make
        else:

            def make(model: Any, language: Language) -> CallRecognizer:
                return CallRecognizer(model, rate, language=language)

        recognizer = await loop.run_in_executor(self.asr_executor, make, model, language)
        return recognizer, False

    async def warm_up_audio(self, language: Language) -> bytes:
        """8 kHz PCM of the warm-up phrase (synthesised once, then kept)."""
        audio = self._warm_audio.get(language)
        if audio is None:
            ulaw = await self.speaker.speak(WARM_UP_PHRASES[language], language)
            audio = self._warm_audio[language] = ulaw_to_pcm(ulaw)
        return audio

    async def release(self, language: Language, recognizer: CallRecognizer) -> None:
        """A call is over: reset its recogniser for the next call, or free it."""
        loop = asyncio.get_running_loop()
        rate = getattr(recognizer, "sample_rate", SAMPLE_RATE)
        pool = self._pools.setdefault((language, rate), [])
        if len(pool) >= self._pool_size or recognizer.decoded_seconds > self._max_seconds:
            await loop.run_in_executor(self.asr_executor, recognizer.close)
            return

        def reset() -> None:
            recognizer.set_mode("free")
            recognizer.finish()  # drops whatever the last caller left unfinished

        try:
            await loop.run_in_executor(self.asr_executor, reset)
        except Exception as exc:  # a broken recogniser is not pooled
            log.warning("voice.recognizer_reset_failed", error=f"{exc.__class__.__name__}")
            await loop.run_in_executor(self.asr_executor, recognizer.close)
            return
        pool.append(recognizer)

    def pooled(self, language: Language, rate: int = SAMPLE_RATE) -> int:
        """Warm recognisers waiting for a call (or an upload at ``rate``)."""
        return len(self._pools.get((language, rate), []))

    def close(self) -> None:
        """Free pooled recognisers and stop the pools (calls are over)."""
        for pool in self._pools.values():
            for recognizer in pool:
                recognizer.close()
            pool.clear()
        self.asr_executor.shutdown(wait=False, cancel_futures=True)
        if self.accurate_pool is not None:
            self.accurate_pool.close()
        self.speaker.close()
