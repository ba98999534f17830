"""The accurate recogniser's pool alone: priority, arrival order, deadlines, closing."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import pytest

from voice.recognition_pool import Expired, Priority, RecognitionPool


async def test_calls_go_before_web_uploads_and_each_kind_in_arrival_order() -> None:
    pool = RecognitionPool(1)
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocker = pool.run(gate.wait, priority=Priority.CALL)
        blocking = asyncio.ensure_future(blocker)
        await asyncio.sleep(0.05)  # the one thread is now busy
        jobs = [
            pool.run(lambda name=name: ran.append(name), priority=priority)
            for name, priority in (
                ("web-1", Priority.WEB),
                ("call-1", Priority.CALL),
                ("web-2", Priority.WEB),
                ("call-2", Priority.CALL),
            )
        ]
        futures = [asyncio.ensure_future(job) for job in jobs]
        await asyncio.sleep(0.05)
        assert pool.waiting == 4 and ran == []
        gate.set()
        await asyncio.gather(blocking, *futures)
        assert ran == ["call-1", "call-2", "web-1", "web-2"]
    finally:
        pool.close()


async def test_a_job_still_waiting_at_its_deadline_is_dropped_unrun() -> None:
    pool = RecognitionPool(1)
    gate = threading.Event()
    ran: list[str] = []
    try:
        blocking = asyncio.ensure_future(pool.run(gate.wait, priority=Priority.CALL))
        await asyncio.sleep(0.05)
        late = asyncio.ensure_future(
            pool.run(
                lambda: ran.append("late"),
                priority=Priority.CALL,
                deadline=time.monotonic() + 0.05,
            )
        )
        await asyncio.sleep(0.15)
        gate.set()
        await blocking
        with pytest.raises(Expired):
            await late
        assert ran == [] and pool.expired == 1
        # In time: it runs.
        assert await pool.run(lambda: "ok", priority=Priority.CALL, deadline=time.monotonic() + 5)
    finally:
        pool.close()


async def test_an_error_reaches_the_caller_and_the_thread_goes_on() -> None:
    pool = RecognitionPool(1)
    try:

        def broken() -> None:
            raise RuntimeError("decoder fault")

        with pytest.raises(RuntimeError, match="decoder fault"):
            await pool.run(broken, priority=Priority.CALL)
        assert await pool.run(lambda: 42, priority=Priority.WEB) == 42
    finally:
        pool.close()


async def test_closing_drops_waiting_jobs_and_refuses_new_ones() -> None:
    pool = RecognitionPool(1)
    gate = threading.Event()
    blocking = asyncio.ensure_future(pool.run(gate.wait, priority=Priority.CALL))
    await asyncio.sleep(0.05)
    waiting = asyncio.ensure_future(pool.run(lambda: "never", priority=Priority.WEB))
    await asyncio.sleep(0.05)
    pool.close()
    gate.set()
    assert await blocking is True  # what ran, finished
    with pytest.raises(asyncio.CancelledError):
        await waiting
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(lambda: None, priority=Priority.CALL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
async def test_nice_threads_and_the_threads_they_start_yield_the_cores() -> None:
    """Whisper's own compute threads are started by the pool's thread (it loads the
    model there): they must be as nice as it is, and the rest of the process not."""

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def started_thread_niceness() -> int:
        seen: list[int] = []
        worker = threading.Thread(target=lambda: seen.append(niceness()))
        worker.start()
        worker.join()
        return seen[0]

    base = niceness()
    pool = RecognitionPool(1, nice=5)
    try:
        assert await pool.run(niceness, priority=Priority.CALL) == max(base, 5)
        assert await pool.run(started_thread_niceness, priority=Priority.CALL) == max(base, 5)
        assert niceness() == base  # the event loop's thread is untouched
    finally:
        pool.close()
