"""The second pass alone: which turns Whisper hears again, its budget, the fallback.

The accurate engine is a double here (its decoding is tested on real speech in
test_asr_evaluation.py); the pool and the budget are the real ones. (The acknowledgement
a waiting caller hears is the call's, on the turn detector's clock: test_voice_session.py.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest

from voice.asr import Transcript
from voice.listener import Heard, PauseHeard, TurnPaused
from voice.recognition_pool import Priority, RecognitionPool
from voice.second_pass import SecondPass, SecondPassSettings, TurnRefiner, compact
from voice.whisper import WhisperResult

SECOND_OF_AUDIO = b"\x00\x01" * 8000
SENTENCE = "기초연금 신청하려면 어디로 가야 돼요"


@dataclass
class DoubleWhisper:
    """Answers like WhisperEngine.transcribe, after ``delay`` seconds, in the pool's thread."""

    text: str = SENTENCE
    confidence: float = 0.8
    reliable: bool = True
    delay: float = 0.0
    error: Exception | None = None
    workers: int = 1
    calls: list[tuple[int, str]] = field(default_factory=list)

    def available(self) -> bool:
        return True

    def transcribe(self, pcm: bytes, rate: int, language: str) -> WhisperResult:
        self.calls.append((len(pcm), language))
        time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        words = tuple(self.text.split())
        return WhisperResult(Transcript(self.text, self.confidence, words), self.reliable, 1.0)


@pytest.fixture
async def pool() -> AsyncIterator[RecognitionPool]:
    running = RecognitionPool(1)
    yield running
    running.close()


def heard(
    text: str = "기초 연금 신청 어디",
    *,
    seconds: float = 3.0,
    mode: str = "free",
    recognised: bool = True,
    ended_ago: float = 0.3,
) -> Heard:
    return Heard(
        text=text,
        confidence=0.6,
        mode=mode,  # type: ignore[arg-type]
        speech_ended_at=time.monotonic() - ended_ago,
        recognised=recognised,
        audio=SECOND_OF_AUDIO * int(seconds) or SECOND_OF_AUDIO[: int(16000 * seconds)],
    )


async def occupied(pool: RecognitionPool, seconds: float) -> asyncio.Future[None]:
    """The pool's one thread busy for ``seconds`` from now (await the result to wait)."""
    busy = asyncio.ensure_future(pool.run(lambda: time.sleep(seconds), priority=Priority.CALL))
    await asyncio.sleep(0.05)  # the thread has taken it
    return busy


def second_pass(
    engine: DoubleWhisper, pool: RecognitionPool, **settings: float | int
) -> SecondPass:
    return SecondPass(engine, pool, SecondPassSettings(**settings))  # type: ignore[arg-type]


async def test_a_free_sentence_is_heard_again_by_whisper(pool: RecognitionPool) -> None:
    engine = DoubleWhisper()
    result = await second_pass(engine, pool).refine(heard(), "ko")
    assert result.outcome == "whisper"
    assert result.heard.text == SENTENCE and result.heard.engine == "whisper"
    assert not result.heard.confirm and result.heard.confidence == 0.8
    assert engine.calls == [(len(SECOND_OF_AUDIO) * 3, "ko")]


async def test_whisper_unsure_is_used_but_confirmed_first(pool: RecognitionPool) -> None:
    for engine in (DoubleWhisper(confidence=0.3), DoubleWhisper(reliable=False)):
        result = await second_pass(engine, pool, confirm_below=0.5).refine(heard(), "ko")
        assert result.outcome == "unsure" and result.heard.text == SENTENCE
        assert result.heard.confirm


async def test_yes_no_answers_and_short_menu_words_stay_with_vosk(pool: RecognitionPool) -> None:
    engine = DoubleWhisper()
    passes = second_pass(engine, pool)
    yes = await passes.refine(heard("네", seconds=1, mode="yes_no"), "ko")
    assert yes.outcome == "instant" and yes.heard.text == "네"
    menu = await passes.refine(heard("기초 연금", seconds=1), "ko", instant={"기초연금"})
    assert menu.outcome == "instant" and menu.heard.engine == "vosk"
    # A long turn that Vosk squeezed into a menu word is still heard again.
    long = await passes.refine(heard("기초 연금", seconds=4), "ko", instant={"기초연금"})
    assert long.outcome == "whisper"
    assert len(engine.calls) == 1


async def test_over_budget_the_caller_gets_vosk_confirmed(pool: RecognitionPool) -> None:
    engine = DoubleWhisper(delay=0.8)
    started = time.monotonic()
    passes = second_pass(engine, pool, budget_ms=600, budget_per_second_ms=0)
    result = await passes.refine(heard(ended_ago=0.0), "ko")
    waited = time.monotonic() - started
    assert result.outcome == "late"
    assert result.heard.text == "기초 연금 신청 어디" and result.heard.engine == "vosk"
    assert result.heard.confirm
    assert 0.55 <= waited < 0.75  # the budget, not the decode (0.8 s)


async def test_a_turn_waiting_behind_others_past_its_budget_is_never_decoded(
    pool: RecognitionPool,
) -> None:
    engine = DoubleWhisper()
    busy = await occupied(pool, 0.6)
    passes = second_pass(engine, pool, budget_ms=300, budget_per_second_ms=0)
    result = await passes.refine(heard(ended_ago=0.0), "ko")
    assert result.outcome == "late" and result.heard.confirm
    await busy
    await asyncio.sleep(0.05)
    assert engine.calls == [] and pool.expired == 1


async def test_a_decoder_fault_or_no_text_falls_back_to_vosk_confirmed(
    pool: RecognitionPool,
) -> None:
    for engine in (DoubleWhisper(error=RuntimeError("fault")), DoubleWhisper(text="")):
        result = await second_pass(engine, pool).refine(heard(), "ko")
        assert result.outcome == "failed"
        assert result.heard.text == "기초 연금 신청 어디" and result.heard.confirm


async def test_without_a_streaming_model_whisper_hears_every_turn(pool: RecognitionPool) -> None:
    # English calls without a Vosk model: turn detection only, Whisper on every turn,
    # yes/no answers included.
    engine = DoubleWhisper(text="Yes.")
    result = await second_pass(engine, pool).refine(
        heard("", seconds=1, mode="yes_no", recognised=False), "en"
    )
    assert result.outcome == "whisper" and result.heard.text == "Yes."
    assert result.heard.recognised
    silent = await second_pass(DoubleWhisper(text=""), pool).refine(
        heard("", recognised=False), "en"
    )
    # Tried and heard nothing: "I did not catch that", not "English is not understood".
    assert silent.heard.text == "" and silent.heard.recognised


async def test_off_when_disabled_or_without_audio(pool: RecognitionPool) -> None:
    engine = DoubleWhisper()
    off = await second_pass(engine, pool, enabled=False).refine(heard(), "ko")
    assert off.outcome == "off" and off.heard.engine == "vosk"
    no_audio = Heard("텍스트", 0.9, "free", time.monotonic())
    assert (await second_pass(engine, pool).refine(no_audio, "ko")).outcome == "off"
    assert engine.calls == []


def test_phrases_compare_without_spaces_punctuation_or_case() -> None:
    assert compact(" 기초 연금! ") == compact("기초연금") == "기초연금"
    assert compact("Yes.") == "yes"


def test_the_budget_grows_with_the_length_of_the_turn(pool: RecognitionPool) -> None:
    passes = second_pass(DoubleWhisper(), pool, budget_ms=1200, budget_per_second_ms=200)
    short, long = heard(seconds=2, ended_ago=0.0), heard(seconds=10, ended_ago=0.0)
    assert passes.deadline(short) - short.speech_ended_at == pytest.approx(1.6)
    assert passes.deadline(long) - long.speech_ended_at == pytest.approx(3.2)


def paused(turn: int, seconds: int = 3, mode: str = "free") -> TurnPaused:
    return TurnPaused(
        mode=mode,  # type: ignore[arg-type]
        speech_ended_at=time.monotonic(),
        audio=SECOND_OF_AUDIO * seconds,
        turn=turn,
    )


async def test_whisper_starts_on_the_pause_and_the_finished_turn_reuses_it(
    pool: RecognitionPool,
) -> None:
    engine = DoubleWhisper(delay=0.2)
    ended: list[int] = []
    refiner = TurnRefiner(second_pass(engine, pool), end_turn=ended.append)
    refiner.paused(paused(1), "ko")
    await asyncio.sleep(0.05)
    assert len(engine.calls) == 1 and ended == []  # decoding while the commit is awaited
    result = await refiner.refine(replace(heard(), turn=1), "ko")
    assert result.outcome == "whisper" and len(engine.calls) == 1  # not decoded twice


async def test_a_caller_who_goes_on_after_the_pause_is_decoded_whole(
    pool: RecognitionPool,
) -> None:
    engine = DoubleWhisper()
    busy = await occupied(pool, 0.3)
    refiner = TurnRefiner(second_pass(engine, pool), end_turn=lambda turn: None)
    refiner.paused(paused(1, seconds=2), "ko")  # waits behind the busy thread
    refiner.resumed(1)  # the caller went on: that start is dropped unrun
    await busy
    result = await refiner.refine(replace(heard(seconds=5), turn=1), "ko")
    assert result.outcome == "whisper"
    assert engine.calls == [(len(SECOND_OF_AUDIO) * 5, "ko")]  # only the whole turn


async def test_an_instant_phrase_or_a_yes_ends_the_turn_on_its_pause(pool: RecognitionPool) -> None:
    engine = DoubleWhisper()
    busy = await occupied(pool, 0.3)
    ended: list[int] = []
    refiner = TurnRefiner(
        second_pass(engine, pool), end_turn=ended.append, instant=lambda: {"기초연금"}
    )
    # A yes/no turn ends on its pause; a short turn once Vosk's words are in, and what
    # Whisper was given on the pause meanwhile is dropped unrun.
    refiner.paused(paused(1, seconds=1, mode="yes_no"), "ko")
    refiner.paused(paused(2, seconds=1), "ko")
    assert ended == [1]
    refiner.pause_heard(PauseHeard(text="기초 연금", turn=2))
    assert ended == [1, 2]
    # Words that are no instant phrase, or that came after the caller went on, end nothing.
    refiner.paused(paused(3, seconds=1), "ko")
    refiner.pause_heard(PauseHeard(text="기초 연금 신청", turn=3))
    refiner.paused(paused(4, seconds=1), "ko")
    refiner.resumed(4)
    refiner.pause_heard(PauseHeard(text="기초 연금", turn=4))
    assert ended == [1, 2]
    refiner.close()
    await busy
    await asyncio.sleep(0.05)
    assert engine.calls == []  # everything started was dropped before a thread got to it
    # Without the second pass every pause is the end of the turn, as before it existed.
    plain = TurnRefiner(second_pass(engine, pool, enabled=False), end_turn=ended.append)
    plain.paused(paused(5), "ko")
    assert ended == [1, 2, 5] and engine.calls == []


async def test_a_turn_found_instant_after_its_commit_drops_what_its_pause_started(
    pool: RecognitionPool,
) -> None:
    """Recognition behind: the turn committed before Vosk's words were in; the finished
    turn is instant, and Whisper's start on its pause is not left running for nothing."""
    engine = DoubleWhisper()
    busy = await occupied(pool, 0.3)
    refiner = TurnRefiner(
        second_pass(engine, pool), end_turn=lambda turn: None, instant=lambda: {"기초연금"}
    )
    refiner.paused(paused(1, seconds=1), "ko")
    result = await refiner.refine(replace(heard("기초 연금", seconds=1), turn=1), "ko")
    assert result.outcome == "instant"
    await busy
    await asyncio.sleep(0.05)
    assert engine.calls == []


async def test_a_short_turn_is_given_to_whisper_only_once_its_words_are_no_instant_phrase(
    pool: RecognitionPool,
) -> None:
    """A "네" or a menu word costs no Whisper decode: a short turn waits for streaming
    Vosk's words at its pause, and only other words start the second pass."""
    engine = DoubleWhisper()
    ended: list[int] = []
    refiner = TurnRefiner(
        second_pass(engine, pool), end_turn=ended.append, instant=lambda: {"기초연금"}
    )
    refiner.paused(paused(1, seconds=1), "ko")
    await asyncio.sleep(0.05)
    assert engine.calls == []
    refiner.pause_heard(PauseHeard(text="기초 연금 신청", turn=1))
    await asyncio.sleep(0.05)
    assert len(engine.calls) == 1 and ended == []
    result = await refiner.refine(replace(heard("기초 연금 신청", seconds=1), turn=1), "ko")
    assert result.outcome == "whisper" and len(engine.calls) == 1  # not decoded twice
