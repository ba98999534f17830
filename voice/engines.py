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
(``pool_size`` per language). A recogniser serves one call at a time; reset clears
everything it heard.
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
from voice.codec import ulaw_to_pcm
from voice.tts import Speaker

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
        pool_size: int = 16,
        make_recognizer: RecognizerFactory = _new_recognizer,
    ) -> None:
        self.models = models
        self.speaker = speaker
        self.asr_executor = ThreadPoolExecutor(
            max_workers=asr_threads, thread_name_prefix="sotong-asr"
        )
        self._make = make_recognizer
        self._pool_size = pool_size
        self._pools: dict[Language, list[CallRecognizer]] = {"ko": [], "en": []}
        self._warm_audio: dict[Language, bytes] = {}
        self.ready = False
        self.problem: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceEngines:
        """Engines configured by the settings (models are not loaded yet)."""
        return cls(
            SpeechModels.from_settings(settings),
            Speaker(),
            settings.voice_asr_threads,
            pool_size=settings.voice_recognizer_pool,
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

    @property
    def status(self) -> str:
        """For readiness: "ok", "loading" or what went wrong."""
        if self.ready:
            return "ok"
        return self.problem or "speech model loading"

    def model_path(self, language: Language) -> Path | None:
        """Where ``language``'s model is, if one is configured."""
        return self.models.path(language)

    async def recognizer(self, language: Language) -> tuple[CallRecognizer | None, bool]:
        """A recogniser for one call (None when no model serves ``language``), and
        whether it is warm already (from the pool)."""
        if not self.models.available(language):
            return None, False
        pool = self._pools[language]
        if pool:
            return pool.pop(), True
        loop = asyncio.get_running_loop()
        model = await loop.run_in_executor(self.asr_executor, self.models.model, language)
        recognizer = await loop.run_in_executor(self.asr_executor, self._make, model, language)
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
        pool = self._pools[language]
        if len(pool) >= self._pool_size:
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

    def pooled(self, language: Language) -> int:
        """Warm recognisers waiting for a call."""
        return len(self._pools[language])

    def close(self) -> None:
        """Free pooled recognisers and stop the pools (calls are over)."""
        for pool in self._pools.values():
            for recognizer in pool:
                recognizer.close()
            pool.clear()
        self.asr_executor.shutdown(wait=False, cancel_futures=True)
        self.speaker.close()
