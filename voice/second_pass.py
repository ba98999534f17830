"""The second pass: a free-speech turn transcribed again by the accurate engine.

    Listener ─TurnPaused──▶ TurnRefiner ─(yes/no: end the turn now)
                       └──────────────── (otherwise: Whisper starts on the pause)
             ─PauseHeard──▶ (a short turn's words are an instant phrase: end it now,
                             and what Whisper started is dropped)
             ─SpeechResumed─▶ (the caller went on: that start is dropped)
             ─Heard─────────▶ TurnRefiner.refine ──▶ Heard for the dialogue

What stays with streaming Vosk, instant: yes/no answers (a grammar), and a short turn
whose words are one of the phrases the line is listening for right now — a digit, a
menu or choice label, "다시", "천천히" (``instant``). Such a turn ends on its first pause.
Any other turn waits a little longer for the caller to go on (``commit_ms`` in
``voice.turns``: nobody is cut off mid-sentence for stopping to think), and Whisper
starts on that pause already, so the wait costs nothing. Within a hard time budget
counted from the end of the caller's speech, Whisper's text replaces Vosk's (confirmed
first only when Whisper itself was unsure). Past it — a long turn, a busy pool, a failed
decode — the dialogue gets Vosk's text with ``confirm`` set, so the caller is asked
"did you say …?" instead of waiting. (The caller is never left in silence meanwhile:
the call acknowledges a turn on the turn detector's clock, ``voice.session``.)

Where no Vosk model serves the call's language (English, unless one was downloaded),
Whisper hears every turn, yes/no answers included.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import structlog

from voice.codec import SAMPLE_RATE
from voice.listener import SHORT_TURN_BYTES, Heard, PauseHeard, TurnPaused
from voice.recognition_pool import Expired, Priority, RecognitionPool
from voice.whisper import WhisperEngine, WhisperResult

log = structlog.get_logger(__name__)

_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)
_BYTES_PER_SECOND = SAMPLE_RATE * 2


@dataclass(frozen=True)
class SecondPassSettings:
    """How the second pass decides and waits.

    ``budget_ms`` (+ ``budget_per_second_ms`` for every second of the turn) from the end
    of speech to giving up on Whisper; ``confirm_below``: Whisper's token probability
    under which its text is confirmed first; ``instant_max_ms``: only a turn this short
    may be an instant phrase (a long sentence Vosk squeezed into one word still goes to
    Whisper).
    """

    enabled: bool = True
    budget_ms: int = 1200
    budget_per_second_ms: int = 200
    confirm_below: float = 0.5
    # The listener finalises Vosk's words at the pause of turns this short (PauseHeard):
    # only those can be told instant in time, and only those wait for their words.
    instant_max_ms: int = SHORT_TURN_BYTES * 1000 // _BYTES_PER_SECOND
    use_instant: bool = True


def compact(text: str) -> str:
    """``text`` without spaces, punctuation or case: how phrases are compared."""
    return _NOT_WORD.sub("", text).lower()


@dataclass(frozen=True)
class Refinement:
    """What the second pass did with a turn (for logs, metrics and the bench)."""

    heard: Heard
    outcome: str  # "instant", "whisper", "unsure", "late", "failed", "off"
    seconds: float = 0.0


class SecondPass:
    """The accurate engine, its pool and the rules (one per process); see the module
    docstring. ``engine`` None (or without a model) turns it off."""

    def __init__(
        self,
        engine: WhisperEngine | None,
        pool: RecognitionPool | None,
        settings: SecondPassSettings,
    ) -> None:
        self._engine = engine if engine is not None and engine.available() else None
        self._pool = pool
        self.settings = settings

    @property
    def active(self) -> bool:
        """Whether turns are decoded again at all."""
        return self.settings.enabled and self._engine is not None and self._pool is not None

    def hears(self, language: str) -> bool:
        """Whether the accurate engine can hear ``language`` (Whisper is multilingual)."""
        return self.active and language in ("ko", "en")

    def stays_instant(
        self, text: str, mode: str, recognised: bool, audio: bytes, instant: Iterable[str]
    ) -> bool:
        """Whether streaming Vosk's result is used as it is (no second pass)."""
        if not recognised:
            return False  # no streaming model: only Whisper can hear this language
        if mode == "yes_no":
            return True
        if not text or not self.may_be_instant(recognised, audio):
            return False
        return compact(text) in {compact(phrase) for phrase in instant}

    def may_be_instant(self, recognised: bool, audio: bytes) -> bool:
        """Whether a free-speech turn of ``audio`` is short enough to be an instant phrase
        and has streaming words to tell (they then decide before Whisper is started)."""
        short = len(audio) <= self.settings.instant_max_ms * _BYTES_PER_SECOND // 1000
        return recognised and self.settings.use_instant and short

    def start(
        self, audio: bytes, language: str, speech_ended_at: float
    ) -> asyncio.Future[WhisperResult]:
        """Queue ``audio`` for Whisper now, with the budget's deadline."""
        assert self._engine is not None and self._pool is not None
        engine = self._engine
        future = asyncio.ensure_future(
            self._pool.run(
                lambda: engine.transcribe(audio, SAMPLE_RATE, language),
                priority=Priority.CALL,
                deadline=self._deadline(audio, speech_ended_at),
            )
        )
        # Past the budget nobody awaits the job any more: its end (a late result, or the
        # pool's Expired) is collected here instead of being reported as lost.
        future.add_done_callback(_collect)
        return future

    def deadline(self, heard: Heard) -> float:
        """When the budget of ``heard`` runs out (monotonic time)."""
        return self._deadline(heard.audio, heard.speech_ended_at)

    def _deadline(self, audio: bytes, speech_ended_at: float) -> float:
        seconds = len(audio) / _BYTES_PER_SECOND
        budget = self.settings.budget_ms + self.settings.budget_per_second_ms * seconds
        return speech_ended_at + budget / 1000

    async def refine(
        self,
        heard: Heard,
        language: str,
        instant: Iterable[str] = (),
        started: asyncio.Future[WhisperResult] | None = None,
    ) -> Refinement:
        """The turn as the dialogue should get it (see the module docstring).

        ``started`` is Whisper already decoding this turn (begun on its pause)."""
        if not self.hears(language) or not heard.audio:
            return Refinement(heard, "off")
        if self.stays_instant(heard.text, heard.mode, heard.recognised, heard.audio, instant):
            if started is not None:
                started.cancel()  # begun on the pause before Vosk's words were in
            return Refinement(heard, "instant")
        began = time.monotonic()
        job = started or self.start(heard.audio, language, heard.speech_ended_at)
        deadline = self.deadline(heard)
        try:
            result = await asyncio.wait_for(
                asyncio.shield(job), timeout=max(0.0, deadline - time.monotonic())
            )
        except (TimeoutError, Expired):
            return self._fallback(heard, "late", began)
        except Exception as exc:  # a decoder error: the caller still gets an answer
            log.error("voice.second_pass_failed", error=f"{exc.__class__.__name__}: {exc}")
            return self._fallback(heard, "failed", began)
        seconds = time.monotonic() - began
        text = result.transcript.text
        if not text:
            # Whisper heard no words; Vosk's guess (if any) is confirmed before use.
            return self._fallback(heard, "failed", began)
        sure = result.reliable and result.transcript.confidence >= self.settings.confirm_below
        refined = replace(
            heard,
            text=text,
            confidence=result.transcript.confidence,
            engine="whisper",
            confirm=not sure,
            recognised=True,
        )
        return Refinement(refined, "whisper" if sure else "unsure", seconds)

    def _fallback(self, heard: Heard, outcome: str, began: float) -> Refinement:
        # Vosk's text, confirmed before anything is done with it; nothing if Vosk could
        # not hear this language (the dialogue then says it did not catch that, rather
        # than that the language is not understood: Whisper did try).
        fallback = replace(heard, confirm=True, recognised=True)
        return Refinement(fallback, outcome, time.monotonic() - began)


class TurnRefiner:
    """One call's side of the second pass: pauses, resumptions and finished turns.

    ``end_turn(turn)`` ends the listener's paused turn at once (an instant phrase needs
    no commit wait); ``instant`` gives the phrases the dialogue listens for right now.
    """

    def __init__(
        self,
        second_pass: SecondPass,
        end_turn: Callable[[int], None],
        instant: Callable[[], Iterable[str]] = lambda: (),
    ) -> None:
        self._second_pass = second_pass
        self._end_turn = end_turn
        self._instant = instant
        # The paused turn by the listener's turn number, with Whisper begun on it (None
        # while a short turn's words are awaited).
        self._paused: dict[int, tuple[TurnPaused, str, asyncio.Future[WhisperResult] | None]] = {}

    def paused(self, event: TurnPaused, language: str) -> None:
        """The caller went quiet: end a yes/no turn now; start Whisper on a longer one;
        a short one waits for its words (``PauseHeard``), which may end it at once."""
        self._drop(event.turn)
        second = self._second_pass
        if not second.hears(language) or (event.recognised and event.mode == "yes_no"):
            self._end_turn(event.turn)
            return
        may_be_instant = second.may_be_instant(event.recognised, event.audio)
        started = None if may_be_instant else self._start(event, language)
        self._paused[event.turn] = (event, language, started)

    def pause_heard(self, event: PauseHeard) -> None:
        """Vosk's words for a short paused turn: an instant phrase ends the turn now,
        anything else starts Whisper on it while the commit is awaited."""
        entry = self._paused.get(event.turn)
        if entry is None:
            return  # resumed, ended or never paused: nothing to decide
        paused, language, started = entry
        if self._second_pass.stays_instant(
            event.text, paused.mode, paused.recognised, paused.audio, self._instant()
        ):
            self._drop(event.turn)
            self._end_turn(event.turn)
        elif started is None:
            self._paused[event.turn] = (paused, language, self._start(paused, language))

    def _start(self, event: TurnPaused, language: str) -> asyncio.Future[WhisperResult]:
        return self._second_pass.start(event.audio, language, event.speech_ended_at)

    def resumed(self, turn: int) -> None:
        """The caller went on: what Whisper started on the pause is not the turn."""
        self._drop(turn)

    async def refine(self, heard: Heard, language: str) -> Refinement:
        """A finished turn, through the second pass (reusing the start made on its
        pause when the caller did not go on after it)."""
        # The finished turn is the paused one plus the quiet that committed it.
        entry = self._paused.pop(heard.turn, None)
        return await self._second_pass.refine(
            heard, language, self._instant(), started=entry[2] if entry else None
        )

    def _drop(self, turn: int) -> None:
        entry = self._paused.pop(turn, None)
        if entry is not None and entry[2] is not None:
            entry[2].cancel()  # dropped unrun if it is still waiting in the pool

    def close(self) -> None:
        """The call is over: whatever was started for it is dropped."""
        for turn in list(self._paused):
            self._drop(turn)


def _collect(task: asyncio.Future[WhisperResult]) -> None:
    if not task.cancelled():
        task.exception()
