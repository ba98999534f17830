"""Recognition measured on real recorded speech, through the line's own audio path.

``sotong asr evaluate --manifest FILE`` reads a manifest (``file<TAB>transcript`` per
line, paths relative to the manifest, an optional header row starting ``file``) and
puts every clip through what a caller's or a web user's voice goes through:

- ``phone``: the clip resampled to 8 kHz and μ-law encoded as the telephone network
  delivers it, cut into 20 ms frames and fed to the call's own ``Listener`` (μ-law
  decoding, energy turn detection with pre-roll, the streaming Vosk recogniser from the
  engines' pool), then, per turn, the call's own second pass (``two-pass``) or Whisper
  alone on every turn (``whisper``), or nothing more (``vosk``). A clip may be cut into
  several turns where the reader pauses; its hypothesis is all of them in order.
- ``wideband``: the clip as the web page uploads it (16 kHz PCM), through the web
  speech path (``vosk``: today's path, resampled to 8 kHz for the call recognisers;
  ``vosk-16k``: a recogniser at the clip's own rate; ``whisper``).

Frames are fed faster than real time but never ahead of the recogniser (it is waited
for every half second of audio), so the decoding the caller would wait for is the same;
the 300 ms of quiet that ends a turn is not waited for and is added to the latency.

Scores: **CER** is the character edit distance (Levenshtein) over the reference's
length, both texts with spaces, punctuation and case removed; **number-normalised CER**
first reads every number in both texts aloud the way the phone line does
(``voice.spoken_forms.for_speech``: "5.94" → "오 점 구 사") and treats 쩜 as 점, because
the references spell numbers in Hangul where Whisper writes digits; English numbers
become the words espeak-ng says ("14th" → "fourteenth"). Totals are summed
over clips (edits over reference characters), not averaged per clip. **RTF** is
processing time over audio time; **latency** is end of speech → final transcript,
the end-of-turn quiet included.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import statistics
import time
import unicodedata
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from rapidfuzz.distance import Levenshtein

from voice.asr import CallRecognizer, Transcript
from voice.codec import SAMPLE_RATE, frames, pcm_to_ulaw, resample_pcm
from voice.engines import VoiceEngines
from voice.listener import Heard, Listener, ListenerEvent, PauseHeard, SpeechResumed, TurnPaused
from voice.recognition_pool import Priority
from voice.second_pass import SecondPass, SecondPassSettings, TurnRefiner
from voice.spoken_forms import english_number, for_speech
from voice.turns import TurnSettings

AudioPath = Literal["phone", "wideband"]
PHONE_ENGINES = ("vosk", "whisper", "two-pass")
WIDEBAND_ENGINES = ("vosk", "vosk-16k", "whisper")

_LEAD_IN_SECONDS = 0.3
_TAIL_SECONDS = 1.0
_SETTLE_EVERY_FRAMES = 25  # wait for the recogniser every 0.5 s of audio


class ManifestError(ValueError):
    """The manifest cannot be read; the message says which line and why."""


@dataclass(frozen=True)
class Clip:
    """One recording and what was said in it."""

    path: Path
    reference: str


def read_manifest(path: Path) -> list[Clip]:
    """The clips of a ``file<TAB>transcript`` manifest (extra columns are ignored)."""
    clips: list[Clip] = []
    text = path.read_text(encoding="utf-8-sig")
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter="\t"), 1):
        if not row or not "".join(row).strip() or row[0].startswith("#"):
            continue
        if number == 1 and row[0].strip().lower() == "file":
            continue
        if len(row) < 2 or not row[1].strip():
            raise ManifestError(f"{path}:{number}: need file<TAB>transcript")
        clip = (path.parent / row[0].strip()).resolve()
        if not clip.is_file():
            raise ManifestError(f"{path}:{number}: no such file {clip}")
        clips.append(Clip(clip, row[1].strip()))
    if not clips:
        raise ManifestError(f"{path}: no clips")
    return clips


def scoring_form(text: str) -> str:
    """``text`` as it is scored: no spaces, punctuation or symbols, lower case."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFC", text).lower()
        if unicodedata.category(ch)[0] in "LN"
    )


def numbers_read_aloud(text: str, language: str) -> str:
    """``text`` with its numbers as the phone line reads them (for the second score).

    Korean numbers go through the line's own ``for_speech``; English ones are left to
    espeak-ng there, which says them as words, so here they become words too ("14" →
    "fourteen", "12th" → "twelfth")."""
    if language == "en":
        return _ENGLISH_NUMBER.sub(_english_words, text)
    return for_speech(text, language).replace("쩜", "점")


_ENGLISH_NUMBER = re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d{1,6})(st|nd|rd|th)?\b", re.IGNORECASE)
_ORDINAL_ENDINGS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth",
    "eight": "eighth", "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip


def _english_words(match: re.Match[str]) -> str:
    # The line's own number words; scoring drops the hyphen of "twenty-one" anyway.
    words = english_number(int(match.group(1).replace(",", ""))).replace("-", " ")
    if not match.group(2):
        return words
    head, _, last = words.rpartition(" ")
    if last in _ORDINAL_ENDINGS:
        last = _ORDINAL_ENDINGS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head} {last}".strip()


def char_edits(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference characters) between the scoring forms of the two texts."""
    ref, hyp = scoring_form(reference), scoring_form(hypothesis)
    return Levenshtein.distance(ref, hyp), len(ref)


def read_wav(path: Path) -> tuple[bytes, int]:
    """A clip's 16-bit mono PCM and its rate (stereo is mixed down)."""
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError(f"{path}: need 16-bit WAV")
        rate, channels = reader.getframerate(), reader.getnchannels()
        pcm = reader.readframes(reader.getnframes())
    if channels == 2:
        import numpy as np

        samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, 2).astype(np.int32)
        pcm = (samples.sum(axis=1) // 2).astype("<i2").tobytes()
    elif channels != 1:
        raise ValueError(f"{path}: need mono or stereo WAV")
    return pcm, rate


@dataclass
class ClipResult:
    """One clip's outcome."""

    clip: Clip
    hypothesis: str
    seconds: float
    processing: float
    edits: int
    length: int
    number_edits: int
    number_length: int
    latencies: list[float] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)

    @property
    def cer(self) -> float:
        return self.edits / max(1, self.length)

    @property
    def number_cer(self) -> float:
        return self.number_edits / max(1, self.number_length)


@dataclass(frozen=True)
class Summary:
    """Totals over every clip."""

    path: str
    engine: str
    clips: int
    seconds: float
    cer: float
    number_cer: float
    rtf: float
    latency_p50: float | None
    latency_p95: float | None
    outcomes: dict[str, int]

    def lines(self) -> list[str]:
        """The summary as printed."""
        latency = (
            f"latency p50 {self.latency_p50 * 1000:.0f} ms, p95 {self.latency_p95 * 1000:.0f} ms"
            if self.latency_p50 is not None and self.latency_p95 is not None
            else "latency: not applicable (whole recording at once)"
        )
        lines = [
            f"{self.path} / {self.engine}: {self.clips} clips, {self.seconds:.1f} s of speech",
            f"CER {self.cer:.3f}   number-normalised CER {self.number_cer:.3f}",
            f"real-time factor {self.rtf:.3f}   {latency}",
        ]
        if self.outcomes:
            lines.append(
                "second pass: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
            )
        return lines


def summarise(path: str, engine: str, results: Sequence[ClipResult]) -> Summary:
    """Edits summed over clips (not a mean of per-clip rates)."""
    latencies = sorted(x for r in results for x in r.latencies)
    outcomes: dict[str, int] = {}
    for result in results:
        for outcome in result.outcomes:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    seconds = sum(r.seconds for r in results)

    def quantile(q: float) -> float | None:
        if not latencies:
            return None
        if len(latencies) == 1:
            return latencies[0]
        return statistics.quantiles(latencies, n=100, method="inclusive")[round(q * 100) - 1]

    return Summary(
        path=path,
        engine=engine,
        clips=len(results),
        seconds=seconds,
        cer=sum(r.edits for r in results) / max(1, sum(r.length for r in results)),
        number_cer=sum(r.number_edits for r in results)
        / max(1, sum(r.number_length for r in results)),
        rtf=sum(r.processing for r in results) / max(seconds, 1e-9),
        latency_p50=quantile(0.5),
        latency_p95=quantile(0.95),
        outcomes=outcomes,
    )


def write_report(path: Path, results: Sequence[ClipResult]) -> None:
    """One row per clip: file, scores, timing, reference and hypothesis."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(
            [
                "file",
                "cer",
                "number_cer",
                "seconds",
                "rtf",
                "latency_ms",
                "second_pass",
                "reference",
                "hypothesis",
            ]
        )
        for r in results:
            writer.writerow(
                [
                    r.clip.path.name,
                    f"{r.cer:.3f}",
                    f"{r.number_cer:.3f}",
                    f"{r.seconds:.2f}",
                    f"{r.processing / max(r.seconds, 1e-9):.3f}",
                    " ".join(f"{x * 1000:.0f}" for x in r.latencies),
                    " ".join(r.outcomes),
                    r.clip.reference,
                    r.hypothesis,
                ]
            )


class Evaluator:
    """Runs clips through one path and engine with the process's voice engines."""

    def __init__(
        self,
        engines: VoiceEngines,
        *,
        path: AudioPath,
        engine: str,
        language: str = "ko",
        turn_settings: TurnSettings | None = None,
        instant: frozenset[str] = frozenset(),
    ) -> None:
        allowed = PHONE_ENGINES if path == "phone" else WIDEBAND_ENGINES
        if engine not in allowed:
            raise ValueError(f"engine for the {path} path: one of {', '.join(allowed)}")
        needs_whisper = engine in ("whisper", "two-pass")
        if needs_whisper and engines.whisper is None:
            raise LookupError("no Whisper model (run: sotong models prepare)")
        # Two-pass without a Vosk model for the language is what an English call does:
        # turn detection alone, Whisper on every turn.
        if engine.startswith("vosk") and not engines.models.available(language):
            raise LookupError(f"no Vosk model for {language!r}")
        self._engines = engines
        self._path = path
        self._engine = engine
        self._language = language
        self._turns = turn_settings or TurnSettings()
        self._instant = instant

    async def run(
        self, clips: Sequence[Clip], progress: Callable[[ClipResult], None] | None = None
    ) -> list[ClipResult]:
        """Every clip in order (one recogniser reused across them, as a call's is)."""
        results = []
        for clip in clips:
            result = await self.clip(clip)
            results.append(result)
            if progress is not None:
                progress(result)
        return results

    async def clip(self, clip: Clip) -> ClipResult:
        """One clip through the path."""
        pcm, rate = await asyncio.to_thread(read_wav, clip.path)
        seconds = len(pcm) / 2 / rate
        started = time.perf_counter()
        if self._path == "phone":
            hypothesis, latencies, outcomes = await self._phone(pcm, rate)
        else:
            hypothesis = await self._wideband(pcm, rate)
            latencies, outcomes = [], []
        processing = time.perf_counter() - started
        edits, length = char_edits(clip.reference, hypothesis)
        number_edits, number_length = char_edits(
            numbers_read_aloud(clip.reference, self._language),
            numbers_read_aloud(hypothesis, self._language),
        )
        return ClipResult(
            clip,
            hypothesis,
            seconds,
            processing,
            edits,
            length,
            number_edits,
            number_length,
            latencies,
            outcomes,
        )

    # ---- the phone line ----------------------------------------------------------------
    def _second_pass(self) -> SecondPass | None:
        engines = self._engines
        if self._engine == "vosk":
            return None
        if self._engine == "two-pass":
            return engines.second_pass
        # Whisper alone: every turn, no instant phrases, no budget.
        settings = SecondPassSettings(budget_ms=600_000, use_instant=False)
        return SecondPass(engines.whisper, engines.accurate_pool, settings)

    async def _phone(self, pcm: bytes, rate: int) -> tuple[str, list[float], list[str]]:
        engines = self._engines
        language = self._language
        # What the network delivers: 8 kHz μ-law, 20 ms frames, with quiet around it.
        line = pcm_to_ulaw(resample_pcm(pcm, rate, SAMPLE_RATE))
        quiet_in = b"\xff" * int(SAMPLE_RATE * _LEAD_IN_SECONDS)
        quiet_out = b"\xff" * int(SAMPLE_RATE * _TAIL_SECONDS)
        recognizer: CallRecognizer | None = None
        warm = True
        if self._engine != "whisper" and engines.models.available(language):
            recognizer, warm = await engines.recognizer(language)  # type: ignore[arg-type]
        second = self._second_pass()
        # The quiet a call waits through before a pause is seen is not waited here (frames
        # go as fast as the recogniser takes them): it is taken off the end of speech, so
        # budgets and latencies count from when the caller really stopped.
        pause = self._turns.silence_frames * 0.02
        commit = self._turns.commit_frames * 0.02
        turns: list[Heard] = []
        listener: Listener

        def shifted(event: TurnPaused) -> TurnPaused:
            return replace(event, speech_ended_at=event.speech_ended_at - pause)

        async def collect(event: ListenerEvent) -> None:
            if isinstance(event, Heard):
                turns.append(replace(event, speech_ended_at=event.speech_ended_at - pause))
            elif isinstance(event, TurnPaused):
                if refiner is None:
                    listener.end_turn_now(event.turn)
                else:
                    refiner.paused(shifted(event), language)
            elif isinstance(event, PauseHeard) and refiner is not None:
                refiner.pause_heard(event)
            elif isinstance(event, SpeechResumed) and refiner is not None:
                refiner.resumed(event.turn)

        listener = Listener(recognizer, engines.asr_executor, self._turns, collect)
        refiner = (
            TurnRefiner(second, end_turn=listener.end_turn_now, instant=lambda: self._instant)
            if second is not None
            else None
        )
        if recognizer is not None and not warm:
            listener.prime(await engines.warm_up_audio(language))  # type: ignore[arg-type]
            await listener.settled()
        texts: list[str] = []
        latencies: list[float] = []
        outcomes: list[str] = []

        async def finish_turns() -> None:
            while len(texts) < len(turns):
                heard = turns[len(texts)]
                if refiner is None:
                    text, outcome = heard.text, "vosk"
                else:
                    refinement = await refiner.refine(heard, language)
                    text, outcome = refinement.heard.text, refinement.outcome
                ready = time.monotonic() - heard.speech_ended_at
                # A turn that was not instant also waited for its commit.
                waited = commit if outcome not in ("vosk", "instant", "off") else pause
                latencies.append(max(ready, waited))
                texts.append(text)
                outcomes.append(outcome)

        try:
            for n, frame in enumerate(frames(quiet_in + line + quiet_out), 1):
                await listener.hear(frame)
                if n % _SETTLE_EVERY_FRAMES == 0:
                    await listener.settled()
                    await finish_turns()
            await listener.settled()
            await finish_turns()
        finally:
            if refiner is not None:
                refiner.close()
            used = await listener.close()
            if isinstance(used, CallRecognizer):
                await engines.release(language, used)  # type: ignore[arg-type]
        return " ".join(t for t in texts if t), latencies, outcomes

    # ---- the web page -----------------------------------------------------------------
    async def _wideband(self, pcm: bytes, rate: int) -> str:
        from voice.recording import recognise_recording

        heard = await recognise_recording(
            self._engines, self._language, pcm, rate, engine=self._engine, priority=Priority.WEB
        )
        return heard.text if isinstance(heard, Transcript) else ""
