"""Scaled-mode benchmark (issue 18): web chat turns through nginx with one and with two
gateway + Rasa pairs on PostgreSQL and Redis, and the CPU each component spends per
message.

For each farm size it starts the whole deployment (tests/scale/farm.py: `sotong serve`,
`rasa run` with the PostgreSQL tracker store and Redis lock store, Debian's nginx),
warms it, then sends web chat messages from ``--concurrency`` citizens for
``--seconds`` and prints throughput, p50/p95 latency, and CPU milliseconds per message
for the gateways, the Rasa servers, nginx, PostgreSQL and Redis (from /proc: user +
system time of each component's processes over the measured window).

    .venv/bin/python bench/scale.py [--concurrency 8] [--seconds 60] [--pairs 1 2]

Needs PostgreSQL (SOTONG_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1/test)
and Redis (SOTONG_TEST_REDIS_URL) as on the development and CI machines.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.training import ensure_model
from bench.provenance import commit
from tests.scale.farm import (
    Farm,
    build_farm,
    fresh_databases,
    nginx_binary,
    running_farm,
)
from tests.twilio_double import TwilioDouble

MESSAGES = [
    "안녕하세요",
    "등본 떼려고요",
    "전입신고 어떻게 해요",
    "기초연금 신청하고 싶어요",
    "장애인 등록 하려면요",
    "여권 발급",
    "감사합니다",
]
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def _tree(pids: Iterable[int]) -> set[int]:
    """The processes and all their descendants."""
    found = set(pids)
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    frontier = list(found)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _named(name: str) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time of ``pids`` (live ones; children reaped are not counted)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def components(farm: Farm) -> dict[str, set[int]]:
    """Which processes make up each component now."""

    def pids(processes: Iterable[subprocess.Popen[bytes] | None]) -> set[int]:
        return _tree(p.pid for p in processes if p is not None)

    return {
        "gateways": pids(g.process for g in farm.gateways),
        "rasa": pids(r.process for r in farm.rasas),
        "nginx": pids([farm.nginx.process]),
        # Shared with anything else running here: measure on a quiet machine.
        "postgresql": _named("postgres"),
        "redis": _named("redis-server"),
    }


async def load(url: str, concurrency: int, seconds: float) -> tuple[list[float], int]:
    """Closed-loop web chat turns for ``seconds``; (latencies of answered turns, failures)."""
    latencies: list[float] = []
    failures = 0
    stop_at = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def citizen(worker: int) -> None:
            nonlocal failures
            session = await client.post("/api/webchat/sessions", json={"language": "ko"})
            session_id = session.json()["session_id"]
            turn = 0
            while time.monotonic() < stop_at:
                text = MESSAGES[(worker + turn) % len(MESSAGES)]
                started = time.perf_counter()
                response = await client.post(
                    f"/api/webchat/sessions/{session_id}/messages", json={"text": text}
                )
                if response.status_code != 200 or response.json()["degraded"]:
                    failures += 1
                else:
                    latencies.append(time.perf_counter() - started)
                turn += 1

        await asyncio.gather(*(citizen(w) for w in range(concurrency)))
    return latencies, failures


def measure(farm: Farm, concurrency: int, seconds: float) -> None:
    asyncio.run(load(farm.nginx.url, concurrency, 10))  # warm: models, pools, caches
    parts = components(farm)
    before = {name: cpu_seconds(pids) for name, pids in parts.items()}
    started = time.perf_counter()
    latencies, failures = asyncio.run(load(farm.nginx.url, concurrency, seconds))
    wall = time.perf_counter() - started
    spent = {name: cpu_seconds(pids) - before[name] for name, pids in parts.items()}
    count = len(latencies)
    pairs = len(farm.gateways)
    print(f"\n== {pairs} gateway + Rasa pair{'s' if pairs > 1 else ''} behind nginx ==")
    print(f"concurrency {concurrency}, {seconds:.0f} s: {count} turns answered, {failures} failed")
    print(f"throughput {count / wall:.1f} messages/s")
    p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
    print(f"p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(
        "CPU per message (ms): "
        + ", ".join(f"{name} {value / max(count, 1) * 1000:.1f}" for name, value in spent.items())
    )
    total = sum(spent.values())
    print(
        f"all components {total / max(count, 1) * 1000:.1f} ms a message; "
        f"{total / wall:.2f} of {os.cpu_count()} cores busy"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pairs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    nginx = nginx_binary()
    if nginx is None:
        sys.exit("nginx is missing (scripts/setup.sh installs Debian's nginx-light)")
    postgres = os.environ.get(
        "SOTONG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    redis = os.environ.get("SOTONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, commit {commit()}"
    )
    model = ensure_model(echo=lambda line: print(f"[bench] {line}"))
    with TwilioDouble() as twilio:
        for pairs in args.pairs:
            name = f"sotong_bench_{uuid.uuid4().hex[:10]}"
            with (
                tempfile.TemporaryDirectory() as tmp,
                fresh_databases(postgres, name, f"{name}_rasa") as (store, tracker),
            ):
                farm = build_farm(
                    model,
                    Path(tmp),
                    database_url=store,
                    tracker_url=tracker,
                    redis_url=redis,
                    nginx=nginx,
                    extra_env={
                        "SOTONG_TWILIO_API_URL": twilio.url,
                        # A text benchmark: no speech models in memory or CPU.
                        "SOTONG_VOICE_PRELOAD": "false",
                    },
                    pairs=pairs,
                )
                with running_farm(farm):
                    measure(farm, args.concurrency, args.seconds)


if __name__ == "__main__":
    main()
