"""SMS webhook benchmark: signed Twilio webhooks at a fixed rate → TwiML answers.

Starts its own Rasa server and gateway on free ports (the real stack, SQLite), then
POSTs Twilio's exact Messaging webhook form, signed with the SDK's RequestValidator, at
a fixed arrival rate (open loop: a slow answer does not slow the arrivals, as with
Twilio), and prints latency percentiles per kind of message:

- ``dialogue``: a question answered by Rasa and the custom actions, paged to SMS size;
- ``keyword``: HELP/도움말, answered by the gateway alone (signature, idempotency claim,
  rate limit, keyword, stored answer) — the channel's own overhead.

Each simulated citizen has its own number, so the per-number rate limit is not hit.

    .venv/bin/python bench/sms_webhook.py [--rate 4] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.training import ensure_model
from tests.stackutil import running_stack
from tests.twilio_wire import SMS_PATH, signed, sms_form

DIALOGUE = ["등본 떼려고요", "전입신고 어떻게 해요", "기초연금 신청하고 싶어요", "birth report"]
KEYWORDS = ["도움말", "HELP"]
KEYWORD_SHARE = 4  # every fourth message is a keyword


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


async def run(url: str, rate: float, seconds: float) -> None:
    latencies: dict[str, list[float]] = {"dialogue": [], "keyword": []}
    failures = 0
    numbers = (f"+8210{n:08d}" for n in itertools.count(10_000_000))
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(index: int) -> None:
            nonlocal failures
            kind = "keyword" if index % KEYWORD_SHARE == 0 else "dialogue"
            texts = KEYWORDS if kind == "keyword" else DIALOGUE
            form = sms_form(next(numbers), texts[index % len(texts)])
            started = time.perf_counter()
            response = await client.post(SMS_PATH, data=form, headers=signed(form))
            elapsed = time.perf_counter() - started
            if response.status_code != 200 or b"<Message>" not in response.content:
                failures += 1
            else:
                latencies[kind].append(elapsed)

        # Warm up Rasa and the actions before measuring.
        await asyncio.gather(*(one(i) for i in range(1, 9)))
        latencies = {"dialogue": [], "keyword": []}
        total = int(rate * seconds)
        tasks = []
        started = time.perf_counter()
        for index in range(total):
            # Open loop: each message leaves at its scheduled time.
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"rate {rate:g} webhooks/s for {seconds:g} s: {total} sent in {wall:.0f} s")
    print(f"{failures} failed")
    for kind, values in latencies.items():
        if not values:
            continue
        print(
            f"{kind:8} n={len(values):4}  p50 {percentile(values, 50) * 1000:.0f} ms"
            f"  p99 {percentile(values, 99) * 1000:.0f} ms  max {max(values) * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=4.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    model = ensure_model(echo=lambda line: print(f"[bench] {line}"))
    with tempfile.TemporaryDirectory() as tmp:
        with running_stack(model, Path(tmp)) as stack:
            asyncio.run(run(stack.gateway.url, args.rate, args.seconds))


if __name__ == "__main__":
    main()
