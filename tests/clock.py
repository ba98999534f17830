"""A clock tests move by hand; stores and services take it as their ``clock``."""

from __future__ import annotations

import datetime as dt


class ManualClock:
    """Timezone-aware "now" that changes only when the test says so."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        """Move on by ``seconds`` (or any ``timedelta`` keywords: ``days=2``)."""
        self.now += dt.timedelta(seconds=seconds, **delta)
