"""Audio conversions of the phone line: μ-law ↔ 16-bit PCM, resampling, framing, levels.

Twilio Media Streams carry 8 kHz μ-law mono in 20 ms frames (160 bytes). The recogniser
wants 16-bit PCM at 8 kHz and the synthesiser writes 22.05 kHz WAV, so every conversion
between the three lives here. μ-law uses the stdlib ``audioop`` (``audioop-lts`` from
Python 3.13 on, same module name); resampling uses soxr.
"""

from __future__ import annotations

import io
import math
import warnings
import wave
from collections.abc import Iterator

import numpy as np
import soxr

with warnings.catch_warnings():
    # audioop is deprecated in 3.11/3.12 and gone in 3.13, where audioop-lts provides it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 8000
"""The phone line's sample rate."""

FRAME_BYTES = 160
"""One Media Streams frame: 20 ms of 8 kHz μ-law (one byte per sample)."""

ULAW_SILENCE = b"\xff"
"""μ-law's encoding of zero (digital silence)."""

_SILENCE_DBFS = -120.0


def ulaw_to_pcm(ulaw: bytes) -> bytes:
    """Decode μ-law bytes to 16-bit little-endian PCM (two bytes per sample)."""
    return audioop.ulaw2lin(ulaw, 2)


def pcm_to_ulaw(pcm: bytes) -> bytes:
    """Encode 16-bit PCM to μ-law (an odd trailing byte is dropped)."""
    if len(pcm) % 2:
        pcm = pcm[:-1]
    return audioop.lin2ulaw(pcm, 2)


def resample_pcm(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample mono 16-bit PCM from ``from_rate`` to ``to_rate`` Hz (soxr, high quality)."""
    if from_rate == to_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    out = soxr.resample(samples, from_rate, to_rate, quality="HQ")
    return np.asarray(out, dtype="<i2").tobytes()


def frames(ulaw: bytes, size: int = FRAME_BYTES) -> Iterator[bytes]:
    """Split μ-law audio into frames of ``size`` bytes; the last is padded with silence."""
    if size <= 0:
        raise ValueError("frame size must be positive")
    for start in range(0, len(ulaw), size):
        chunk = ulaw[start : start + size]
        if len(chunk) < size:
            chunk += ULAW_SILENCE * (size - len(chunk))
        yield chunk


def level_dbfs(pcm: bytes) -> float:
    """RMS level of 16-bit PCM in dBFS (0 = full scale); -120.0 for silence or no audio."""
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
    if samples.size == 0:
        return _SILENCE_DBFS
    rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2)))
    if rms <= 0.0:
        return _SILENCE_DBFS
    return max(_SILENCE_DBFS, 20.0 * math.log10(rms / 32768.0))


def wav_to_pcm8k(wav: bytes) -> bytes:
    """Any 16-bit mono or stereo WAV (bytes of the file) → 8 kHz mono 16-bit PCM."""
    with wave.open(io.BytesIO(wav), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"need 16-bit WAV, got {8 * reader.getsampwidth()}-bit")
        channels = reader.getnchannels()
        rate = reader.getframerate()
        pcm = reader.readframes(reader.getnframes())
    if channels == 2:
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    elif channels != 1:
        raise ValueError(f"need mono or stereo WAV, got {channels} channels")
    return resample_pcm(pcm, rate, SAMPLE_RATE)
