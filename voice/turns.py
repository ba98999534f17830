"""Turn-taking: when the caller starts speaking and when they have finished.

A frame-level detector over the caller's 20 ms frames. Energy against an adaptive noise
floor decides voice or not; a few voiced frames in a row start speech (a click or a
cough does not), and ``end_of_turn_ms`` of quiet pauses it — ``quick_pause_ms`` while
the turn is still short enough to be a "네" or a menu word, so that such an answer is
heard at once (the listener then ends the turn if it is one). A pause becomes the end of
the turn after ``commit_ms`` of quiet, or at once when the listener says so (a "네",
a menu word: nothing more is coming); voice before that resumes the same turn, so a
caller who stops to think mid-sentence is not cut in two. The wait between pause and
commit is not lost: the accurate recogniser starts on the pause (``voice.second_pass``).
With ``commit_ms`` not above ``end_of_turn_ms`` a pause ends the turn at once. Callers
who speak slowly get every pause longer (``slow``), set per caller.

Why energy and not a neural VAD: the line is narrowband telephone audio whose noise is
low and steady, the detector only has to find where speech is (Vosk decides what was
said), and it costs nothing next to recognition. Its thresholds are settings of one
dataclass, so a deployment can tune them per line.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

FRAME_MS = 20


class TurnEvent(StrEnum):
    """What one frame changed."""

    SPEECH_STARTED = "speech_started"
    SPEECH_PAUSED = "speech_paused"  # quiet for end_of_turn_ms: the turn may be over
    SPEECH_RESUMED = "speech_resumed"  # voice again before the commit: the same turn
    SPEECH_ENDED = "speech_ended"


@dataclass
class TurnSettings:
    """Per-caller turn-taking. ``slow`` multiplies every pause by ``slow_factor``."""

    end_of_turn_ms: int = 300
    commit_ms: int = 0  # 0 (or ≤ end_of_turn_ms): a pause is the end of the turn
    quick_pause_ms: int = 0  # 0: off; else the pause of a turn of ≤ quick_turn_ms voice
    quick_turn_ms: int = 1000
    slow_factor: float = 2.5
    slow: bool = False
    start_frames: int = 4  # 80 ms of voice in a row starts speech
    min_speech_ms: int = 120  # shorter bursts end as noise, not as a turn
    max_turn_ms: int = 20_000  # a turn this long is ended anyway
    voice_margin_db: float = 12.0  # above the noise floor counts as voice
    min_voice_dbfs: float = -45.0  # and never quieter than this

    @property
    def silence_frames(self) -> int:
        """Quiet frames that pause a turn."""
        factor = self.slow_factor if self.slow else 1.0
        return max(1, math.ceil(self.end_of_turn_ms * factor / FRAME_MS))

    @property
    def quick_pause_frames(self) -> int:
        """Quiet frames that pause a turn still short (0: no quicker pause)."""
        if not self.quick_pause_ms:
            return 0
        factor = self.slow_factor if self.slow else 1.0
        return min(self.silence_frames, max(1, math.ceil(self.quick_pause_ms * factor / FRAME_MS)))

    @property
    def commit_frames(self) -> int:
        """Quiet frames that end a paused turn for good."""
        factor = self.slow_factor if self.slow else 1.0
        return max(self.silence_frames, math.ceil(self.commit_ms * factor / FRAME_MS))


class TurnDetector:
    """Feed it each frame's level; it says when speech starts and when a turn ends.

    ``pre_roll`` frames before the start are kept by the caller of this class (the
    listener) so the first syllable reaches the recogniser; this class only counts.
    """

    def __init__(self, settings: TurnSettings) -> None:
        self.settings = settings
        self._noise_db = -70.0
        self._voiced_run = 0
        self._quiet_run = 0
        self._speech_frames = 0
        self.in_speech = False
        self.paused = False
        self._recent: deque[float] = deque(maxlen=50)

    def is_voice(self, level_db: float) -> bool:
        threshold = max(
            self._noise_db + self.settings.voice_margin_db, self.settings.min_voice_dbfs
        )
        return level_db >= threshold

    def _track_noise(self, level_db: float) -> None:
        # The floor follows the quiet between words slowly and never rises on speech.
        if not math.isfinite(level_db):
            return
        self._recent.append(level_db)
        floor = min(self._recent)
        self._noise_db = 0.95 * self._noise_db + 0.05 * floor

    def feed(self, level_db: float) -> TurnEvent | None:
        """One 20 ms frame's level in dBFS; returns what it changed, if anything."""
        voiced = self.is_voice(level_db)
        if not self.in_speech:
            self._track_noise(level_db)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self.settings.start_frames:
                self.in_speech = True
                self._speech_frames = self._voiced_run
                self._quiet_run = 0
                return TurnEvent.SPEECH_STARTED
            return None
        self._speech_frames += 1
        if voiced and self.paused:
            # Voice again before the commit: not a new turn but more of this one.
            self._voiced_run += 1
            if self._voiced_run < self.settings.start_frames:
                self._quiet_run += 1  # a click in the pause does not resume it
            else:
                self.paused = False
                self._quiet_run = 0
                return TurnEvent.SPEECH_RESUMED
        else:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            self._quiet_run = 0 if voiced else self._quiet_run + 1
        too_long = self._speech_frames * FRAME_MS >= self.settings.max_turn_ms
        if self._quiet_run >= self.settings.commit_frames or too_long:
            return self.end_now()
        if not self.paused and self._quiet_run >= self._pause_frames():
            self.paused = True
            self._voiced_run = 0
            return TurnEvent.SPEECH_PAUSED
        return None

    def _pause_frames(self) -> int:
        quick = self.settings.quick_pause_frames
        voiced_ms = (self._speech_frames - self._quiet_run) * FRAME_MS
        if quick and voiced_ms <= self.settings.quick_turn_ms:
            return quick
        return self.settings.silence_frames

    def end_now(self) -> TurnEvent:
        """End the current turn at once (the listener knows nothing more is coming)."""
        self.in_speech = False
        self.paused = False
        self._voiced_run = 0
        return TurnEvent.SPEECH_ENDED

    @property
    def speech_ms(self) -> int:
        """How long the current (or last) stretch of speech lasted, pauses included."""
        return self._speech_frames * FRAME_MS

    def was_noise(self) -> bool:
        """True when the speech that just ended was too short to be a turn."""
        voiced_ms = (self._speech_frames - self._quiet_run) * FRAME_MS
        return voiced_ms < self.settings.min_speech_ms
