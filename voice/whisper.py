"""The accurate recogniser: Whisper base through faster-whisper (CTranslate2, int8, CPU).

Vosk streams every call (turn-taking, barge-in, yes/no, digits, menu words); a finished
free-speech turn is transcribed again here, because on the phone line Whisper base
makes about half as many character errors on real Korean (README: "Recognition").

Settings that keep it fast and honest on two cores:
- greedy decoding (beam 1) and **no temperature fallback**: faster-whisper's default
  retries a failed decode at five rising temperatures, which once took 14–18 s on a 20 s
  turn; here a decode that fails its own checks (repetition, low log-probability) is
  not retried, its result is marked unsure, and the dialogue confirms what Vosk heard;
- Silero VAD (bundled in the faster-whisper wheel, run by onnxruntime) trims silence
  first, because over silence Whisper invents words;
- no conditioning on earlier text and no timestamps: every turn stands alone.

Blocking (C++ in worker threads): call :meth:`WhisperEngine.transcribe` from a pool,
never from the event loop. The model loads once per process; ``num_workers`` lets that
many threads decode at once.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from voice.asr import Transcript
from voice.codec import resample_pcm

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from assistant.config import Settings

WHISPER_RATE = 16_000
# A decode is not trusted past these (faster-whisper's own thresholds).
_MAX_COMPRESSION_RATIO = 2.4
_MIN_AVG_LOGPROB = -1.0
_NO_SPEECH = 0.6
# Silero VAD only trims what is not speech around and inside a turn (our own turn
# detection already cut it). Tuned on the Korean tuning set, phone path: a lower
# threshold than Silero's 0.5 and its own 400 ms of padding keep the quiet first and
# last syllables of telephone audio (CER 0.222 with 0.5 threshold and 200 ms padding;
# 0.207 with these; 0.204 with no VAD at all, which then invents words over noise).
_VAD = {"threshold": 0.35, "speech_pad_ms": 400}


@dataclass(frozen=True)
class WhisperResult:
    """A turn as Whisper heard it.

    ``confidence`` is the geometric mean of the tokens' probabilities (``exp`` of the
    mean log-probability); ``reliable`` is False when the decode failed faster-whisper's
    own checks (so it would have been retried at a higher temperature).
    """

    transcript: Transcript
    reliable: bool
    speech_seconds: float


class WhisperEngine:
    """One faster-whisper model per process; :meth:`transcribe` from worker threads."""

    def __init__(self, path: Path | None, *, threads: int = 2, workers: int = 1) -> None:
        self.path = path
        self._threads = threads
        self._workers = workers
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> WhisperEngine:
        """``SOTONG_WHISPER_MODEL``, else the folder ``sotong models prepare`` assembled —
        used only if it is still the pinned model (sizes and the stamp written after
        hashing; a folder left half-copied or changed is not loaded)."""
        from voice.whisper_model import default_whisper_dir, problems

        path: Path | None = settings.whisper_model
        if path is None:
            path = default_whisper_dir(settings.var_dir)
            wrong = problems(path, full=False) if (path / "model.bin").exists() else []
            if wrong:
                log.warning("voice.whisper_model_refused", path=str(path), problems=wrong)
                path = None
        return cls(path, threads=settings.whisper_threads, workers=settings.whisper_workers)

    @property
    def workers(self) -> int:
        """How many decodes may run at once."""
        return self._workers

    def available(self) -> bool:
        """Whether a model folder is there (does not load it)."""
        return self.path is not None and (self.path / "model.bin").is_file()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def load(self) -> None:
        """Load the model (blocking, about a second). Raises ``LookupError`` without one."""
        if self._model is not None:
            return
        if not self.available():
            raise LookupError(f"no Whisper model at {self.path} (run: sotong models prepare)")
        with self._lock:
            if self._model is not None:
                return
            # Never reach for a model hub: everything is on disk already.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from faster_whisper import WhisperModel

            # faster-whisper logs every decode's duration at INFO: one line per turn of
            # every call is noise in the gateway's log (the second pass logs its outcome).
            logging.getLogger("faster_whisper").setLevel(logging.WARNING)
            self._model = WhisperModel(
                str(self.path),
                device="cpu",
                compute_type="int8",
                cpu_threads=self._threads,
                num_workers=self._workers,
                local_files_only=True,
            )

    def transcribe(self, pcm: bytes, rate: int, language: str) -> WhisperResult:
        """Everything said in ``pcm`` (16-bit mono at ``rate`` Hz), in ``language``."""
        self.load()
        if rate != WHISPER_RATE:
            pcm = resample_pcm(pcm, rate, WHISPER_RATE)
        audio = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float32)
        audio /= 32768.0
        segments, info = self._model.transcribe(
            audio,
            language=language,
            task="transcribe",
            beam_size=1,
            best_of=1,
            temperature=0.0,
            compression_ratio_threshold=_MAX_COMPRESSION_RATIO,
            log_prob_threshold=_MIN_AVG_LOGPROB,
            no_speech_threshold=_NO_SPEECH,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=True,
            vad_parameters=_VAD,
        )
        texts: list[str] = []
        weighted = 0.0
        tokens = 0
        reliable = True
        for segment in segments:  # a generator: decoding happens here
            if segment.no_speech_prob > _NO_SPEECH and segment.avg_logprob < _MIN_AVG_LOGPROB:
                continue  # what faster-whisper would call silence
            if segment.compression_ratio > _MAX_COMPRESSION_RATIO:
                # A repetition loop ("자, 자, 자, …" over breath or noise): never words the
                # caller said. Dropped, and the turn marked unsure.
                reliable = False
                continue
            text = segment.text.strip()
            if not text:
                continue
            texts.append(text)
            count = max(1, len(segment.tokens))
            weighted += segment.avg_logprob * count
            tokens += count
            if segment.avg_logprob < _MIN_AVG_LOGPROB:
                reliable = False
        text = " ".join(texts).strip()
        confidence = math.exp(weighted / tokens) if tokens else 0.0
        words = tuple(text.split())
        return WhisperResult(
            transcript=Transcript(text=text, confidence=round(confidence, 3), words=words),
            reliable=reliable and bool(text),
            speech_seconds=float(getattr(info, "duration_after_vad", info.duration) or 0.0),
        )
