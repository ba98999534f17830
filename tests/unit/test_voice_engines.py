"""The process's voice engines: recognisers pooled warm across calls, with the real model."""

from __future__ import annotations

from pathlib import Path

from assistant.config import Settings
from voice.asr import SpeechModels
from voice.engines import VoiceEngines
from voice.tts import Speaker


async def test_a_finished_calls_recognizer_is_reset_and_reused_warm(tmp_path: Path) -> None:
    settings = Settings(SOTONG_VAR_DIR=str(tmp_path))  # no English model under var/
    engines = VoiceEngines(SpeechModels.from_settings(settings), Speaker(), 1, pool_size=1)
    try:
        first, warm = await engines.recognizer("ko")
        assert first is not None and not warm
        second, _ = await engines.recognizer("ko")
        assert second is not None and second is not first  # one per call at a time
        await engines.release("ko", first)
        assert engines.pooled("ko") == 1
        reused, warm = await engines.recognizer("ko")
        assert reused is first and warm and reused.mode == "free"
        await engines.release("ko", reused)
        await engines.release("ko", second)  # the pool is full: this one is freed
        assert engines.pooled("ko") == 1
        assert (await engines.recognizer("en")) == (None, False)
        audio = await engines.warm_up_audio("ko")
        assert len(audio) > 16000 and audio is await engines.warm_up_audio("ko")
    finally:
        engines.close()
