"""One WebSocket connection's loops (assistant/api/sockets.py)."""

from __future__ import annotations

import asyncio

import structlog.testing

from assistant.api.sockets import run_until_first_ends


async def test_the_first_loop_to_end_stops_the_others_and_an_error_is_logged() -> None:
    """Review L13: a loop's unexpected error was dropped without a trace."""
    stopped = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            stopped.set()

    async def broken() -> None:
        raise ValueError("bad frame handling")

    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(run_until_first_ends(forever(), broken()), 5)
    assert stopped.is_set()
    assert [(e["event"], e["error"]) for e in logs] == [
        ("socket.loop_failed", "ValueError: bad frame handling")
    ]


async def test_a_client_leaving_is_no_error() -> None:
    async def leaves() -> None:
        return

    async def forever() -> None:
        await asyncio.sleep(3600)

    with structlog.testing.capture_logs() as logs:
        await asyncio.wait_for(run_until_first_ends(leaves(), forever()), 5)
    assert logs == []
