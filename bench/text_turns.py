"""Text-turn benchmark: web chat API → gateway → Rasa (+ custom actions) → reply.

Starts its own Rasa server and gateway on free ports (or uses --url), then sends a mix of
Korean and English civil-service messages at a fixed concurrency and prints latency
percentiles and throughput.

    .venv/bin/python bench/text_turns.py [--concurrency 8] [--messages 400] [--url URL]
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
from tests.stackutil import running_stack

MESSAGES = [
    ("ko", "안녕하세요"),
    ("ko", "등본 떼려고요"),
    ("ko", "전입신고 어떻게 해요"),
    ("ko", "기초연금 신청하고 싶어요"),
    ("ko", "다시 말해 주세요"),
    ("en", "how do I register a disability"),
    ("en", "birth report"),
    ("ko", "감사합니다"),
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run(url: str, concurrency: int, total: int, warmup: int) -> None:
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def conversation(worker: int, count: int, record: bool) -> None:
            nonlocal failures
            language = MESSAGES[worker % len(MESSAGES)][0]
            session = await client.post("/api/webchat/sessions", json={"language": language})
            session_id = session.json()["session_id"]
            for i in range(count):
                _, text = MESSAGES[(worker + i) % len(MESSAGES)]
                started = time.perf_counter()
                response = await client.post(
                    f"/api/webchat/sessions/{session_id}/messages", json={"text": text}
                )
                elapsed = time.perf_counter() - started
                if response.status_code != 200 or response.json()["degraded"]:
                    failures += 1
                elif record:
                    latencies.append(elapsed)

        await asyncio.gather(*(conversation(w, warmup, False) for w in range(concurrency)))
        per_worker = max(1, total // concurrency)
        started = time.perf_counter()
        await asyncio.gather(*(conversation(w, per_worker, True) for w in range(concurrency)))
        wall = time.perf_counter() - started

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"concurrency {concurrency}, {len(latencies)} turns measured, {failures} failed")
    print(f"p50 {percentile(latencies, 50) * 1000:.0f} ms")
    print(f"p95 {percentile(latencies, 95) * 1000:.0f} ms")
    print(f"mean {statistics.mean(latencies) * 1000:.0f} ms")
    print(f"throughput {len(latencies) / wall:.1f} messages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use a running gateway instead of starting one")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured turns per worker")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.concurrency, args.messages, args.warmup))
        return
    model = ensure_model(echo=lambda line: print(f"[bench] {line}"))
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(model, Path(tmp)) as stack:
            asyncio.run(run(stack.gateway.url, args.concurrency, args.messages, args.warmup))


if __name__ == "__main__":
    main()
