"""Real speech for voice tests and benches: espeak-ng renders text, the codec converts it.

espeak-ng must be installed (scripts/apt-packages.txt); a missing one fails loudly.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from voice.codec import level_dbfs, pcm_to_ulaw, wav_to_pcm8k

_FRAME = 320  # 20 ms of 8 kHz 16-bit PCM
_QUIET_DBFS = -45.0

_VOICES = {"ko": "ko", "en": "en-us"}


def espeak_pcm8k(text: str, language: str = "ko", speed: int | None = None) -> bytes:
    """``text`` spoken by espeak-ng in ``language`` as 8 kHz mono 16-bit PCM."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed: run scripts/setup.sh (apt package)")
    with tempfile.TemporaryDirectory(prefix="sotong-espeak-") as tmp:
        out = Path(tmp) / "speech.wav"
        command = [binary, "-v", _VOICES.get(language, language), "-w", str(out)]
        if speed is not None:
            command += ["-s", str(speed)]
        subprocess.run([*command, text], check=True, capture_output=True, timeout=30)
        return speech_only(wav_to_pcm8k(out.read_bytes()))


def speech_only(pcm: bytes) -> bytes:
    """``pcm`` without the silence espeak-ng puts before and after the words.

    Latency is measured from the last frame a caller sends; with espeak's trailing
    silence still in it, the turn would end before that frame and flatter the figure.
    """
    frames = [pcm[i : i + _FRAME] for i in range(0, len(pcm), _FRAME)]
    loud = [i for i, frame in enumerate(frames) if level_dbfs(frame) > _QUIET_DBFS]
    if not loud:
        return pcm
    return b"".join(frames[loud[0] : loud[-1] + 1])


def ulaw_of(text: str, language: str = "ko") -> bytes:
    """``text`` spoken by espeak-ng as 8 kHz μ-law, as a phone line carries it."""
    return pcm_to_ulaw(espeak_pcm8k(text, language))


def recorded_pcm8k(path: Path) -> bytes:
    """A real recording (any 16-bit WAV) as the phone line's 8 kHz PCM, its leading and
    trailing silence trimmed like espeak-ng's."""
    return speech_only(wav_to_pcm8k(path.read_bytes()))
