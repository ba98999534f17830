"""pyttsx3 speech through espeak-ng, as the phone line gets it (8 kHz μ-law)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from voice.codec import level_dbfs, ulaw_to_pcm
from voice.tts import Speaker

GREETING = "안녕하세요. 소통입니다. 무엇을 도와드릴까요?"


@pytest.fixture(scope="module")
def speaker() -> Iterator[Speaker]:
    # pyttsx3 keeps one espeak engine per process: one Speaker serves the whole module.
    speaker = Speaker(cache_size=64)
    yield speaker
    speaker.close()


async def test_korean_speech_is_audible_and_plausibly_long(speaker: Speaker) -> None:
    ulaw = await speaker.speak(GREETING, "ko")
    seconds = len(ulaw) / 8000
    assert 2.0 < seconds < 8.0
    assert level_dbfs(ulaw_to_pcm(ulaw)) > -35  # silence is -120
    # trimmed: the first and last 20 ms are not pure silence padding
    assert level_dbfs(ulaw_to_pcm(ulaw[:800])) > -60


async def test_english_voice(speaker: Speaker) -> None:
    ulaw = await speaker.speak("Hello, this is Sotong. How can I help?", "en")
    assert 1.0 < len(ulaw) / 8000 < 6.0
    assert level_dbfs(ulaw_to_pcm(ulaw)) > -35
    with pytest.raises(ValueError, match="language"):
        await speaker.speak("Bonjour", "fr")


async def test_cache_hit_is_identical_and_fast(speaker: Speaker) -> None:
    first = await speaker.speak("다시 말씀해 주세요.", "ko")
    assert speaker.cached("다시 말씀해 주세요.", "ko")
    started = time.perf_counter()
    second = await speaker.speak("다시 말씀해 주세요.", "ko")
    assert time.perf_counter() - started < 0.005
    assert second is first


async def test_slow_speech_is_longer(speaker: Speaker) -> None:
    normal = await speaker.speak(GREETING, "ko")
    slow = await speaker.speak(GREETING, "ko", slow=True)
    assert len(slow) > 1.25 * len(normal)
    # and repeatedly so: the rate must not lag one utterance behind
    for _ in range(3):
        speaker._cache.clear()
        assert len(await speaker.speak(GREETING, "ko")) < len(
            await speaker.speak(GREETING, "ko", slow=True)
        )


async def test_many_concurrent_requests(speaker: Speaker) -> None:
    texts = [f"{n}번을 누르세요." for n in range(1, 9)]
    results = await asyncio.gather(*(speaker.speak(texts[i % 8], "ko") for i in range(48)))
    for i, ulaw in enumerate(results):
        assert ulaw is results[i % 8]  # identical requests shared one synthesis
        assert level_dbfs(ulaw_to_pcm(ulaw)) > -35
    assert len({bytes(r) for r in results}) == 8


async def test_cancelled_waiter_does_not_cancel_the_others(speaker: Speaker) -> None:
    text = "잠시만 기다려 주세요."
    first = asyncio.ensure_future(speaker.speak(text, "ko"))
    second = asyncio.ensure_future(speaker.speak(text, "ko"))
    await asyncio.sleep(0)
    first.cancel()
    assert len(await second) > 0


async def test_empty_text_is_no_audio(speaker: Speaker) -> None:
    assert await speaker.speak("   ", "ko") == b""


async def test_lru_evicts_and_close_is_idempotent() -> None:
    small = Speaker(cache_size=2)
    try:
        for text in ("하나", "둘", "셋"):
            await small.speak(text, "ko")
        assert not small.cached("하나", "ko")
        assert small.cached("셋", "ko")
    finally:
        small.close()
        small.close()
    with pytest.raises(RuntimeError, match="closed"):
        await small.speak("넷", "ko")


async def test_the_cache_is_bounded_by_bytes_too() -> None:
    # A long answer is about 1 MB of audio: a count alone could hold hundreds of MB.
    probe = Speaker(cache_size=0)
    try:
        short = len(await probe.speak("하나", "ko"))
    finally:
        probe.close()
    small = Speaker(cache_size=100, cache_bytes=short * 2 + short // 2)
    try:
        for text in ("하나", "둘", "셋"):
            await small.speak(text, "ko")
        assert small.cached_bytes <= short * 2 + short // 2
        assert not small.cached("하나", "ko")  # the oldest went first
        assert small.cached("셋", "ko")
        long = "이것은 아주 긴 답입니다. " * 20
        await small.speak(long, "ko")
        assert not small.cached(long, "ko")  # bigger than the whole cache: never kept
        assert small.cached("셋", "ko")
    finally:
        small.close()
