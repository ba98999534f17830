"""Plain progress lines from Rasa's training output: which part is training, epochs, time left.

``rasa train`` writes a log line as each component starts ("Starting to train component
'DIETClassifier'.") and tqdm bars that redraw themselves with carriage returns ("Epochs:
45%|…| 36/80 [00:58<01:10, …]"). A person running ``make run`` wants neither the flood
nor a fixed guess; they want to know it is moving and how long is left. The time left
comes from the bar when there is one, and otherwise from the last training of the same
pipeline on this machine.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

_COMPONENT = re.compile(r"Starting to train component '(?P<name>[\w.]+)'")
# Rasa reuses a component trained before on the same input (its cache): such a training
# is quicker than one after a data change and says nothing of how long the next takes.
_RESTORED = re.compile(r"Restored component '[\w.]+' from cache")
# tqdm: "Epochs:  45%|████▌     | 36/80 [00:58<01:10, 1.61s/it, t_loss=…]"
_EPOCH = re.compile(
    r"^Epochs:\s+\d+%\|[^|]*\|\s*(?P<done>\d+)/(?P<total>\d+)\s+\[(?P<elapsed>[\d:]+)<(?P<left>[\d:?]+)"
)
# At most one epoch line in this many seconds (the last epoch is always told).
EPOCH_LINE_INTERVAL = 15.0


def split_output(chunks: Iterator[bytes]) -> Iterator[str]:
    """Lines of a byte stream in which tqdm redraws with ``\\r`` and logs end with ``\\n``."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in chunks:
        # A chunk may end inside a character (tqdm draws its bar with "▌").
        pending += decoder.decode(chunk)
        *lines, pending = re.split(r"[\r\n]", pending)
        yield from (line for line in lines if line.strip())
    if pending.strip():
        yield pending


def duration(seconds: float) -> str:
    """ "1 min 05 s", "40 s"."""
    whole = max(0, round(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _clock_seconds(text: str) -> float | None:
    """tqdm's "01:10" or "1:02:03" in seconds; None for "?"."""
    if "?" in text:
        return None
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return float(seconds)


class TrainingProgress:
    """Reads Rasa's output line by line and says, now and then, how training goes."""

    def __init__(
        self,
        echo: Callable[[str], None],
        expected_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._echo = echo
        self._expected = expected_seconds
        self._clock = clock
        self._started = clock()
        self._component: str | None = None
        self._epoch_told_at = float("-inf")
        self._bar_finished = False
        self.reused_parts = False

    def elapsed(self) -> float:
        """Seconds since training started."""
        return self._clock() - self._started

    def _overall(self) -> str:
        elapsed = self.elapsed()
        if self._expected is None:
            return f"{duration(elapsed)} so far"
        left = self._expected - elapsed
        if left <= 0:
            return f"{duration(elapsed)} so far, nearly done"
        return f"{duration(elapsed)} so far, about {duration(left)} left"

    def feed(self, line: str) -> None:
        """Take one line of Rasa's output."""
        if _RESTORED.search(line):
            self.reused_parts = True
            return
        if match := _COMPONENT.search(line):
            self._component = match["name"].rsplit(".", 1)[-1]
            self._epoch_told_at, self._bar_finished = float("-inf"), False
            self._echo(f"training {self._component} ({self._overall()})")
            return
        if match := _EPOCH.search(line.strip()):
            done, total = int(match["done"]), int(match["total"])
            now = self._clock()
            # tqdm draws the finished bar more than once; it is told once.
            if done == 0 or self._bar_finished:
                return
            if done < total and now - self._epoch_told_at < EPOCH_LINE_INTERVAL:
                return
            self._epoch_told_at, self._bar_finished = now, done == total
            name = self._component or "classifier"
            if done == total:
                self._echo(f"{name}: all {total} epochs done ({self._overall()})")
                return
            left = _clock_seconds(match["left"])
            tail = f", about {duration(left)} left in it" if left is not None else ""
            self._echo(f"{name} epoch {done} of {total}{tail}")


class TrainingTimes:
    """The last training's duration per pipeline on this machine, for the time-left estimate."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, float]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def last(self, pipeline: str) -> float | None:
        """Seconds the last training of ``pipeline`` took here, if known."""
        return self._read().get(pipeline)

    def record(self, pipeline: str, seconds: float) -> None:
        """Remember how long ``pipeline`` took."""
        data = self._read()
        data[pipeline] = round(seconds, 1)
        self._path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
