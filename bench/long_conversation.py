"""Long-conversation benchmark: does a turn cost more the longer the conversation is?

Starts its own Rasa server and gateway (or uses --url), then holds several web chat
conversations of ``--turns`` messages each, one conversation at a time (so nothing but
the conversation's length changes), cycling through the Korean/English mix of
``bench/text_turns.py``. It prints, for chosen turn numbers (the 1st, 20th and 100th by
default), the p50 over the conversations of that turn's latency, and of the five turns
around it (steadier on a busy machine), and each one's ratio to the first.

What grows with a conversation: Rasa's SQL tracker store reads back every event of the
current session each turn (a session ends only after ``session_expiration_time``
minutes of silence), rebuilds the tracker from them, and sends them all to the custom
actions with every action call.

    .venv/bin/python bench/long_conversation.py [--conversations 5] [--turns 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.training import ensure_model
from bench.text_turns import MESSAGES, percentile
from tests.stackutil import running_stack

# Turns around a marked one that count towards its windowed figure (n-2 … n+2).
WINDOW = 2


async def one_conversation(
    client: httpx.AsyncClient, worker: int, turns: int
) -> tuple[list[float], int]:
    """The latency of each turn of one conversation (seconds), and how many failed."""
    language = MESSAGES[worker % len(MESSAGES)][0]
    session = await client.post("/api/webchat/sessions", json={"language": language})
    session_id = session.json()["session_id"]
    latencies: list[float] = []
    failures = 0
    for i in range(turns):
        _, text = MESSAGES[(worker + i) % len(MESSAGES)]
        started = time.perf_counter()
        response = await client.post(
            f"/api/webchat/sessions/{session_id}/messages", json={"text": text}
        )
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or response.json()["degraded"]:
            failures += 1
    return latencies, failures


def window(latencies: list[float], turn: int) -> list[float]:
    """The latencies of the turns around ``turn`` (1-based), within the conversation."""
    low = max(0, turn - 1 - WINDOW)
    return latencies[low : turn + WINDOW]


async def run(url: str, conversations: int, turns: int, marks: list[int]) -> None:
    marks = [m for m in marks if 1 <= m <= turns]
    runs: list[list[float]] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        # Warm Rasa and the actions on a short conversation, not measured.
        await one_conversation(client, conversations, 5)
        for worker in range(conversations):
            latencies, failed = await one_conversation(client, worker, turns)
            runs.append(latencies)
            failures += failed

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{conversations} conversations of {turns} turns, one at a time, {failures} failed")
    first: tuple[float, float] | None = None
    for mark in marks:
        single = statistics.median(r[mark - 1] for r in runs)
        around = percentile([v for r in runs for v in window(r, mark)], 50)
        if first is None:
            first = (single, around)
        print(
            f"turn {mark:4}: p50 {single * 1000:5.0f} ms ({single / first[0]:.2f}×)"
            f"   turns {max(1, mark - WINDOW)}–{min(turns, mark + WINDOW)}:"
            f" p50 {around * 1000:5.0f} ms ({around / first[1]:.2f}×)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use a running gateway instead of starting one")
    parser.add_argument("--conversations", type=int, default=5)
    parser.add_argument("--turns", type=int, default=100, help="messages per conversation")
    parser.add_argument(
        "--mark", type=int, action="append", help="turn numbers to report (default 1, 20, 100)"
    )
    args = parser.parse_args()
    marks = args.mark or [1, 20, 100]
    if args.url:
        asyncio.run(run(args.url, args.conversations, args.turns, marks))
        return
    model = ensure_model(echo=lambda line: print(f"[bench] {line}"))
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(model, Path(tmp)) as stack:
            asyncio.run(run(stack.gateway.url, args.conversations, args.turns, marks))


if __name__ == "__main__":
    main()
