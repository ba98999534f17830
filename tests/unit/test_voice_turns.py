"""Turn-taking: where speech starts and where a caller's turn ends."""

from __future__ import annotations

import math

from voice.turns import TurnDetector, TurnEvent, TurnSettings

SILENT = -math.inf
VOICE = -20.0


def feed(detector: TurnDetector, level: float, frames: int) -> list[tuple[int, TurnEvent]]:
    events = []
    for i in range(frames):
        event = detector.feed(level)
        if event is not None:
            events.append((i, event))
    return events


def test_speech_starts_after_a_few_voiced_frames_and_ends_after_the_pause() -> None:
    detector = TurnDetector(TurnSettings(end_of_turn_ms=300))
    assert feed(detector, SILENT, 50) == []
    assert feed(detector, VOICE, 20) == [(3, TurnEvent.SPEECH_STARTED)]
    # 300 ms = 15 frames of quiet end the turn, not one frame earlier.
    assert feed(detector, SILENT, 15) == [(14, TurnEvent.SPEECH_ENDED)]
    assert not detector.was_noise()
    assert detector.speech_ms == (20 + 15) * 20


def test_a_short_pause_inside_a_sentence_does_not_end_the_turn() -> None:
    detector = TurnDetector(TurnSettings(end_of_turn_ms=300))
    feed(detector, VOICE, 10)
    assert feed(detector, SILENT, 10) == []
    assert feed(detector, VOICE, 10) == []
    assert detector.in_speech


def test_a_click_is_noise_not_a_turn() -> None:
    detector = TurnDetector(TurnSettings(end_of_turn_ms=300, min_speech_ms=120))
    feed(detector, SILENT, 10)
    assert feed(detector, VOICE, 2) == []  # too short to start speech at all
    feed(detector, SILENT, 20)
    events = feed(detector, VOICE, 5) + feed(detector, SILENT, 20)
    assert [e for _, e in events] == [TurnEvent.SPEECH_STARTED, TurnEvent.SPEECH_ENDED]
    assert detector.was_noise()  # 100 ms of voice


def test_slow_callers_get_longer_pauses() -> None:
    settings = TurnSettings(end_of_turn_ms=300, slow_factor=2.5)
    assert settings.silence_frames == 15
    settings.slow = True
    assert settings.silence_frames == 38  # 750 ms
    detector = TurnDetector(settings)
    feed(detector, VOICE, 10)
    assert feed(detector, SILENT, 37) == []
    assert feed(detector, SILENT, 1) == [(0, TurnEvent.SPEECH_ENDED)]


def test_steady_line_noise_is_not_speech_but_speech_over_it_is() -> None:
    detector = TurnDetector(TurnSettings())
    assert feed(detector, -55.0, 200) == []  # a quiet line hiss
    assert feed(detector, -25.0, 10)[0][1] is TurnEvent.SPEECH_STARTED


def test_a_turn_that_never_pauses_is_ended_anyway() -> None:
    detector = TurnDetector(TurnSettings(max_turn_ms=1000))
    events = feed(detector, VOICE, 52)
    assert [e for _, e in events] == [TurnEvent.SPEECH_STARTED, TurnEvent.SPEECH_ENDED]


def test_a_pause_is_committed_later_and_voice_before_that_resumes_the_turn() -> None:
    detector = TurnDetector(TurnSettings(end_of_turn_ms=300, commit_ms=600))
    feed(detector, VOICE, 10)
    assert feed(detector, SILENT, 20) == [(14, TurnEvent.SPEECH_PAUSED)]
    assert detector.in_speech and detector.paused
    # A click in the pause (fewer voiced frames than start a turn) does not resume it.
    assert feed(detector, VOICE, 2) == []
    assert feed(detector, VOICE, 3) == [(1, TurnEvent.SPEECH_RESUMED)]
    assert not detector.paused
    # The next pause: paused at 300 ms, committed at 600 ms.
    assert feed(detector, SILENT, 30) == [
        (14, TurnEvent.SPEECH_PAUSED),
        (29, TurnEvent.SPEECH_ENDED),
    ]
    assert not detector.in_speech


def test_the_listener_may_end_a_paused_turn_at_once() -> None:
    detector = TurnDetector(TurnSettings(end_of_turn_ms=300, commit_ms=600))
    feed(detector, VOICE, 10)
    feed(detector, SILENT, 15)
    assert detector.paused
    assert detector.end_now() is TurnEvent.SPEECH_ENDED
    assert not detector.in_speech and not detector.paused
    assert feed(detector, SILENT, 20) == []  # nothing more from that turn


def test_slow_callers_get_the_commit_longer_too() -> None:
    settings = TurnSettings(end_of_turn_ms=300, commit_ms=600, slow=True, slow_factor=2.5)
    assert (settings.silence_frames, settings.commit_frames) == (38, 75)


def test_a_short_turn_pauses_sooner_a_long_one_does_not() -> None:
    settings = TurnSettings(end_of_turn_ms=300, commit_ms=600, quick_pause_ms=200)
    assert settings.quick_pause_frames == 10
    short = TurnDetector(settings)
    feed(short, VOICE, 25)  # half a second: a "네"
    assert feed(short, SILENT, 10) == [(9, TurnEvent.SPEECH_PAUSED)]
    long = TurnDetector(settings)
    feed(long, VOICE, 100)  # two seconds: a sentence, which only pauses at 300 ms
    assert feed(long, SILENT, 15) == [(14, TurnEvent.SPEECH_PAUSED)]
    # Slow callers get the quick pause longer too, never longer than the normal one.
    settings.slow = True
    assert settings.quick_pause_frames == 25
    assert TurnSettings(end_of_turn_ms=100, quick_pause_ms=200).quick_pause_frames == 5
