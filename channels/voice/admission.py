"""How many calls the line takes at once (review M10).

Every call costs a recogniser (55–110 MB) and a share of two cores; past the measured
limit every caller's answers slow down and the gateway, which also serves SMS and the
web, runs out of memory. So the line takes ``SOTONG_VOICE_MAX_CALLS`` at once and
answers the next caller with a short spoken "busy" and a text, never silence.

A call counts from the moment its webhook is answered (its media stream opens a moment
later) until its stream ends; one whose stream never opens stops counting after
``pending_seconds``. Twilio retrying the webhook of a call already taken is the same
call. The count is this process's: the gateway runs as one process (README, Settings).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class CallAdmission:
    """Counts the calls on the line and decides whether one more is taken."""

    def __init__(
        self,
        max_calls: int,
        *,
        pending_seconds: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.max_calls = max_calls
        self._pending_seconds = pending_seconds
        self._clock = clock
        self._pending: dict[str, float] = {}  # call sid → when its webhook was answered
        self._live: set[str] = set()

    @property
    def active(self) -> int:
        """Calls taken now: streaming, or answered and about to stream."""
        self._forget_stale()
        return len(self._live) + len(self._pending)

    def admit(self, call_sid: str) -> bool:
        """Take the call if there is room (or it was taken already); False: busy."""
        self._forget_stale()
        if call_sid in self._live or call_sid in self._pending:
            return True
        if len(self._live) + len(self._pending) >= self.max_calls:
            return False
        self._pending[call_sid] = self._clock()
        return True

    def started(self, call_sid: str) -> None:
        """The call's media stream began (it counts until ``ended``)."""
        self._pending.pop(call_sid, None)
        self._live.add(call_sid)

    def ended(self, call_sid: str) -> None:
        """The call's media stream ended: its place is free."""
        self._pending.pop(call_sid, None)
        self._live.discard(call_sid)

    def _forget_stale(self) -> None:
        oldest = self._clock() - self._pending_seconds
        for call_sid in [sid for sid, at in self._pending.items() if at < oldest]:
            del self._pending[call_sid]
