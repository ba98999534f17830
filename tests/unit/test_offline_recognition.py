"""Recognition needs nothing from the network: both engines run in a namespace without one.

faster-whisper falls back to a model hub for anything it cannot find on disk (a missing
tokenizer, a model name instead of a folder); this proves that the gateway's engines,
as configured, load and decode a real recording with no network at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from assistant.config import PROJECT_DIR, Settings
from tests.conftest import missing_part
from tests.speech_data import korean_dev_manifest
from voice.whisper_model import default_whisper_dir

_SCRIPT = r"""
import asyncio, json, socket, sys
from pathlib import Path
from assistant.config import Settings
from voice.engines import VoiceEngines
from voice.evaluation import read_wav
from voice.codec import resample_pcm
from voice.recording import recognise_recording

try:
    socket.create_connection(("1.1.1.1", 443), timeout=3).close()
    network = "reachable"
except OSError as exc:
    network = type(exc).__name__

async def main():
    engines = VoiceEngines.from_settings(Settings())
    pcm, rate = read_wav(Path(sys.argv[1]))
    whisper = await recognise_recording(engines, "ko", pcm, rate, engine="whisper")
    vosk = await recognise_recording(engines, "ko", pcm, rate, engine="vosk")
    engines.close()
    print(json.dumps({"network": network, "whisper": whisper.text, "vosk": vosk.text}))

asyncio.run(main())
"""


def test_both_engines_recognise_real_speech_without_a_network() -> None:
    if shutil.which("unshare") is None:
        missing_part("unshare (util-linux) for a network namespace")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        missing_part(f"network namespaces (unshare -n: {probe.stderr.decode().strip()})")
    if not (default_whisper_dir(Settings().var_dir) / "model.bin").is_file():
        missing_part("the Whisper model: run `sotong models prepare` (scripts/setup.sh does)")
    clip = korean_dev_manifest().parent / "ko_test_0000.wav"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", _SCRIPT, str(clip)],
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    heard = json.loads(result.stdout.strip().splitlines()[-1])
    assert heard["network"] != "reachable"
    assert "자녀들이 사랑을" in heard["whisper"].replace("  ", " ")
    assert heard["vosk"]
