"""Moves this Python process's wall clock when ``SOTONG_SHIFT_CLOCK_BY`` is set.

``scripts/shifted-clock.sh`` puts this directory on ``PYTHONPATH``, so every Python
interpreter of a run imports it at start-up: pytest and every gateway it starts. The
variable holds an offset in seconds, computed once by the script, so every process
lands on the same instant however late it starts, and the clock keeps ticking from
there. Only the wall clock moves (``time.time``, ``datetime.now``, ``date.today``, …,
through time-machine); the monotonic clock stays real, so timeouts and timers keep real
durations.

Why not libfaketime: Debian's 0.9.10 breaks Python 3.11's ``time.sleep`` (it hands the
kernel a negative absolute deadline: wolfcw/libfaketime#426), and this tree is mostly
Python. Rasa's interpreter has no time-machine and keeps the real time, as PostgreSQL
and Chromium do: our time rules live in the gateway, not in them.
"""

from __future__ import annotations

import os
import sys
import time

_offset = os.environ.get("SOTONG_SHIFT_CLOCK_BY")
if _offset:
    try:
        import time_machine
    except ImportError:
        sys.stderr.write(f"[shifted-clock] {sys.executable}: no time-machine, real time\n")
    else:
        time_machine.travel(time.time() + float(_offset), tick=True).start()
