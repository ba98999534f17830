"""Codec conversions on real speech (espeak-ng) and on synthetic tones."""

from __future__ import annotations

import io
import math
import wave

import numpy as np

from tests.voice_audio import espeak_pcm8k, ulaw_of
from voice.codec import (
    FRAME_BYTES,
    ULAW_SILENCE,
    frames,
    level_dbfs,
    pcm_to_ulaw,
    resample_pcm,
    ulaw_to_pcm,
    wav_to_pcm8k,
)


def _tone(seconds: float, rate: int = 8000, amplitude: int = 10000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * amplitude).astype("<i2").tobytes()


def test_ulaw_round_trip_keeps_real_speech() -> None:
    pcm = espeak_pcm8k("주민등록등본을 떼고 싶어요")
    assert len(pcm) > 8000  # more than half a second of speech
    ulaw = pcm_to_ulaw(pcm)
    assert len(ulaw) == len(pcm) // 2
    back = ulaw_to_pcm(ulaw)
    assert len(back) == len(pcm)
    a = np.frombuffer(pcm, "<i2").astype(float)
    b = np.frombuffer(back, "<i2").astype(float)
    # μ-law keeps roughly 35-40 dB SNR on speech.
    snr = 10 * math.log10(np.sum(a**2) / np.sum((a - b) ** 2))
    assert snr > 30
    assert abs(level_dbfs(pcm) - level_dbfs(back)) < 0.5


def test_ulaw_silence_is_zero() -> None:
    assert ulaw_to_pcm(ULAW_SILENCE * 4) == b"\x00\x00" * 4
    assert pcm_to_ulaw(b"\x00\x00" * 3) == ULAW_SILENCE * 3


def test_resample_length() -> None:
    one_second = _tone(1.0, rate=22050)
    assert len(resample_pcm(one_second, 22050, 8000)) == 2 * 8000
    assert len(resample_pcm(_tone(1.0), 8000, 16000)) == 2 * 16000
    assert resample_pcm(b"", 8000, 16000) == b""
    assert resample_pcm(one_second, 8000, 8000) is one_second


def test_frames_pad_the_last_with_silence() -> None:
    ulaw = bytes(range(256)) * 2  # 512 bytes → 3 full frames + 32 bytes
    chunks = list(frames(ulaw))
    assert [len(c) for c in chunks] == [FRAME_BYTES] * 4
    assert b"".join(chunks)[: len(ulaw)] == ulaw
    assert chunks[-1][32:] == ULAW_SILENCE * (FRAME_BYTES - 32)
    assert list(frames(b"")) == []
    spoken = ulaw_of("네")
    assert {len(c) for c in frames(spoken, 80)} == {80}
    assert len(list(frames(spoken, 80))) == -(-len(spoken) // 80)


def test_level_dbfs() -> None:
    assert level_dbfs(b"") == -120.0
    assert level_dbfs(b"\x00\x00" * 100) == -120.0
    full_sine = _tone(0.5, amplitude=32767)
    assert abs(level_dbfs(full_sine) - (-3.01)) < 0.1
    assert level_dbfs(espeak_pcm8k("네")) > -40


def _wav(pcm: bytes, rate: int, channels: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def test_wav_to_pcm8k_mono_and_stereo() -> None:
    mono = _tone(1.0, rate=22050)
    assert len(wav_to_pcm8k(_wav(mono, 22050, 1))) == 16000
    left = np.frombuffer(_tone(0.5, rate=16000), "<i2")
    stereo = np.stack([left, left], axis=1).astype("<i2").tobytes()
    out = wav_to_pcm8k(_wav(stereo, 16000, 2))
    assert len(out) == 8000
    assert abs(level_dbfs(out) - level_dbfs(_tone(0.5))) < 0.5
