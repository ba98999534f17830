"""Running the loops of one WebSocket connection."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog
from fastapi import WebSocketDisconnect

log = structlog.get_logger(__name__)


async def run_until_first_ends(*coroutines: Coroutine[Any, Any, Any]) -> None:
    """Run ``coroutines`` as tasks until one of them ends, then cancel the others.

    Typically a writer and a reader of one socket: when the client leaves or the server
    closes, the other loop must stop too. Every task is awaited before this returns;
    cancellation and the client leaving are the normal ends, and any other error is
    logged (it was dropped silently; review L13) — the connection is over either way.
    """
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                pass  # cancelled here, the client gone, or sending on a closed socket
            except Exception as exc:
                log.warning("socket.loop_failed", error=f"{exc.__class__.__name__}: {exc}")
