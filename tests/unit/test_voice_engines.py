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


async def test_a_recognizer_that_decoded_a_lot_is_freed_not_pooled(tmp_path: Path) -> None:
    """A recogniser keeps what it expanded of the decoding graph (hundreds of MB after
    minutes of speech): past ``max_seconds`` it is not kept for the next call."""
    settings = Settings(SOTONG_VAR_DIR=str(tmp_path))
    engines = VoiceEngines(
        SpeechModels.from_settings(settings), Speaker(), 1, pool_size=2, max_seconds=1.0
    )
    try:
        used, _ = await engines.recognizer("ko")
        fresh, _ = await engines.recognizer("ko")
        assert used is not None and fresh is not None
        used.accept(b"\x00\x00" * 8000 * 2)  # two seconds
        assert used.decoded_seconds == 2.0 and fresh.decoded_seconds == 0.0
        await engines.release("ko", used)
        await engines.release("ko", fresh)
        assert engines.pooled("ko") == 1
        assert (await engines.recognizer("ko")) == (fresh, True)
    finally:
        engines.close()


async def test_the_pool_is_filled_with_warm_recognizers_at_start(tmp_path: Path) -> None:
    """A burst of first calls must not each warm a cold recogniser at once (issue 19)."""
    settings = Settings(SOTONG_VAR_DIR=str(tmp_path))
    engines = VoiceEngines(SpeechModels.from_settings(settings), Speaker(), 1, pool_size=3)
    try:
        assert await engines.fill_pool("ko") == 3
        assert engines.pooled("ko") == 3
        assert await engines.fill_pool("ko") == 0  # already full
        assert await engines.fill_pool("en") == 0  # no English model under var/
        recognizer, warm = await engines.recognizer("ko")
        assert recognizer is not None and warm
        # it decoded the warm-up phrase and kept nothing of it
        assert recognizer.decoded_seconds > 0.5
        assert recognizer.finish().text == ""
        assert engines.pooled("ko") == 2
    finally:
        engines.close()
