"""The gateway's background loops, watched, so ``/readyz`` can tell a dead one (review L13).

Every loop catches what one round hits and goes on; a loop that ended anyway (a bug, a
cancellation it should not have had) stops kept messages from being answered, or texts
from going out, with nothing else to show for it. ``/readyz`` reports each by name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

RUNNING = "running"


class BackgroundLoops:
    """Named loop tasks of one process."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def start(self, name: str, loop: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``loop`` as a task watched under ``name``."""
        return self.watch(name, asyncio.create_task(loop, name=name))

    def watch(self, name: str, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        """Watch a task some other part started (the outbox's worker, reminders); a
        task watched under the same name before is cancelled (a restarted loop)."""
        previous = self._tasks.get(name)
        if previous is not None and previous is not task:
            previous.cancel()
        self._tasks[name] = task
        return task

    def status(self) -> dict[str, str]:
        """Each loop's state: "running", "ended" or "failed: <exception class>"."""
        return {name: _state(task) for name, task in self._tasks.items()}

    @property
    def all_running(self) -> bool:
        """Whether no watched loop has ended."""
        return all(not task.done() for task in self._tasks.values())

    async def cancel(self, *names: str) -> None:
        """Cancel the named loops and wait for them to end."""
        for name in names:
            task = self._tasks.get(name)
            if task is None:
                continue
            if task.done():  # ended already; /readyz has shown how
                if not task.cancelled():
                    task.exception()  # retrieved: no "never retrieved" warning
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _state(task: asyncio.Task[Any]) -> str:
    if not task.done():
        return RUNNING
    if task.cancelled():
        return "ended"
    exc = task.exception()
    return f"failed: {exc.__class__.__name__}" if exc is not None else "ended"
