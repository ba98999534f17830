"""Floors on recognition of real speech, through the line's own audio path.

The 12 shortest clips of the Korean tuning set (86 s of read Korean; the tuning set is
what every setting was chosen on, so these are regression floors, not accuracy
claims: README has the figures on the whole set and on held-out speech). Measured on
2026-12-04: phone path, streaming Vosk alone 0.378; with Whisper's second pass 0.089.
The second pass runs here with no time budget, so a loaded CI machine can slow this
test but not change its result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from assistant.config import PROJECT_DIR, Settings
from tests.conftest import missing_part
from tests.speech_data import korean_dev_manifest
from voice.asr import SpeechModels
from voice.engines import VoiceEngines
from voice.evaluation import Clip, Evaluator, read_manifest, summarise
from voice.second_pass import SecondPassSettings
from voice.tts import Speaker
from voice.turns import TurnSettings
from voice.whisper import WhisperEngine
from voice.whisper_model import default_whisper_dir

in_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def clips() -> list[Clip]:
    every = read_manifest(korean_dev_manifest())
    return sorted(every, key=lambda clip: clip.path.stat().st_size)[:12]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engines() -> AsyncIterator[VoiceEngines]:
    model = default_whisper_dir(PROJECT_DIR / "var")
    if not (model / "model.bin").is_file():
        missing_part("the Whisper model: run `sotong models prepare` (scripts/setup.sh does)")
    settings = Settings(_env_file=None)
    running = VoiceEngines(
        SpeechModels.from_settings(settings),
        Speaker(),
        asr_threads=2,
        whisper=WhisperEngine(model),
        second_pass=SecondPassSettings(budget_ms=600_000),
    )
    yield running
    running.close()


def turns() -> TurnSettings:
    return TurnSettings(end_of_turn_ms=300, commit_ms=600)


@in_module_loop
async def test_streaming_vosk_alone_on_the_phone_path(
    engines: VoiceEngines, clips: list[Clip]
) -> None:
    evaluator = Evaluator(engines, path="phone", engine="vosk", turn_settings=turns())
    summary = summarise("phone", "vosk", await evaluator.run(clips))
    assert summary.cer <= 0.42, summary.lines()


@in_module_loop
async def test_the_second_pass_on_the_phone_path(engines: VoiceEngines, clips: list[Clip]) -> None:
    evaluator = Evaluator(engines, path="phone", engine="two-pass", turn_settings=turns())
    results = await evaluator.run(clips)
    summary = summarise("phone", "two-pass", results)
    assert summary.cer <= 0.13, summary.lines()
    assert summary.number_cer <= summary.cer
    heard_again = summary.outcomes.get("whisper", 0) + summary.outcomes.get("unsure", 0)
    assert heard_again >= len(clips)  # every sentence went through Whisper
