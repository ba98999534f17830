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

A test may also move a gateway's clock **by hand** while it runs: it starts the
gateway with this directory on ``PYTHONPATH`` and ``SOTONG_CLOCK_FILE`` naming a file,
writes the total offset it wants (seconds, on top of any shift above) into that file,
and sends the process SIGUSR1 (``tests.stackutil.move_clock``). The handler runs in the
main thread, where the event loop runs, so no timer sees half a change.
"""

from __future__ import annotations

import os
import sys
import time

_offset = os.environ.get("SOTONG_SHIFT_CLOCK_BY")
_clock_file = os.environ.get("SOTONG_CLOCK_FILE")
if _offset or _clock_file:
    try:
        import time_machine
    except ImportError:
        sys.stderr.write(f"[shifted-clock] {sys.executable}: no time-machine, real time\n")
    else:
        _coordinates = time_machine.travel(time.time() + float(_offset or 0), tick=True).start()
        if _clock_file:
            import signal

            _moved = [0.0]  # the hand-set offset applied so far

            def _move(signum: int, frame: object) -> None:
                with open(_clock_file) as handle:  # type: ignore[arg-type]
                    wanted = float(handle.read().strip() or 0)
                _coordinates.shift(wanted - _moved[0])
                _moved[0] = wanted

            signal.signal(signal.SIGUSR1, _move)
