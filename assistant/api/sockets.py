"""Running the loops of one WebSocket connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from fastapi import WebSocketDisconnect


async def run_until_first_ends(*coroutines: Coroutine[Any, Any, Any]) -> None:
    """Run ``coroutines`` as tasks until one of them ends, then cancel the others.

    Typically a writer and a reader of one socket: when the client leaves or the server
    closes, the other loop must stop too. Every task is awaited before this returns,
    and what they end with (cancelled, the client gone, an error) is dropped: the
    connection is over either way.
    """
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await task
