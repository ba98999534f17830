"""A bounded pool for the accurate recogniser: calls first, and nothing decoded too late.

Whisper decodes a turn in a fraction of its length, but two cores cannot decode every
turn of every call at once. So its jobs wait in one queue served by a fixed number of
threads, ordered by priority (a caller on the line before a web upload, which can wait
a second longer) and then by arrival. A job carries a deadline: one still waiting when
its deadline passes is dropped unrun, because its caller has already been answered from
Vosk's result (the budget in ``voice.second_pass``). A job already decoding runs to its
end; its thread is then free for the next one.

The threads may run ``nice``: on Linux niceness is per thread and inherited by the
threads a thread starts, so loading the engine from the pool (as ``VoiceEngines`` does)
puts its own compute threads at the same niceness. Streaming recognition, the dialogue
and the event loop then take the cores first, and on a busy line the accurate pass is
what slows down — which its budget turns into a confirmed Vosk answer, not a stall.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from enum import IntEnum
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Priority(IntEnum):
    """Lower runs first."""

    CALL = 0
    WEB = 1


class Expired(Exception):
    """The job's deadline passed before a thread could start it: it was not run."""


class RecognitionPool:
    """``workers`` threads running jobs by (priority, arrival); see the module docstring."""

    def __init__(self, workers: int, name: str = "sotong-accurate-asr", nice: int = 0) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._nice = nice
        self._jobs: list[tuple[int, int, float, Callable[[], Any], Future[Any]]] = []
        self._order = itertools.count()
        self._ready = threading.Condition()
        self._closed = False
        self.expired = 0
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def waiting(self) -> int:
        """Jobs not started yet."""
        with self._ready:
            return len(self._jobs)

    def submit(
        self, fn: Callable[[], T], *, priority: Priority, deadline: float | None = None
    ) -> Future[T]:
        """Queue ``fn``; its future fails with :class:`Expired` if ``deadline`` (a
        ``time.monotonic()`` instant) passes before it starts."""
        future: Future[T] = Future()
        with self._ready:
            if self._closed:
                raise RuntimeError("the recognition pool is closed")
            heapq.heappush(
                self._jobs,
                (int(priority), next(self._order), deadline or float("inf"), fn, future),
            )
            self._ready.notify()
        return future

    async def run(
        self, fn: Callable[[], T], *, priority: Priority, deadline: float | None = None
    ) -> T:
        """:meth:`submit` and await the result (cancelling the wait leaves the job be)."""
        return await asyncio.wrap_future(self.submit(fn, priority=priority, deadline=deadline))

    def _serve(self) -> None:
        if self._nice:
            _lower_priority(self._nice)
        while True:
            with self._ready:
                while not self._jobs and not self._closed:
                    self._ready.wait()
                if not self._jobs:
                    return
                _priority, _order, deadline, fn, future = heapq.heappop(self._jobs)
            if not future.set_running_or_notify_cancel():
                continue
            if time.monotonic() > deadline:
                self.expired += 1
                future.set_exception(Expired())
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the awaiting side, never lost
                future.set_exception(exc)

    def close(self) -> None:
        """Stop taking jobs; what is queued is dropped, what runs finishes."""
        with self._ready:
            self._closed = True
            dropped, self._jobs = self._jobs, []
            self._ready.notify_all()
        for *_rest, future in dropped:
            future.cancel()


def _lower_priority(nice: int) -> None:
    """This thread (and the threads it starts) at niceness ``nice`` (Linux only: elsewhere
    ``setpriority`` would lower the whole process)."""
    if not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        # Only ever lower: a gateway started niced (or a test run at nice 19) keeps its
        # niceness; as root setpriority would otherwise raise these threads above it.
        if os.getpriority(os.PRIO_PROCESS, thread) < nice:
            os.setpriority(os.PRIO_PROCESS, thread, nice)
    except OSError as exc:  # e.g. a container that forbids it: run at normal priority
        log.warning("voice.pool_nice_failed", nice=nice, error=str(exc))
