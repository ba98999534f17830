"""Abuse benchmark: every anonymous route flooded from one address while a citizen at
another chats on the web and texts; prints what the floods got back and the citizen's
latencies (goal: p95 ≤ 1 s on web chat and SMS).

Starts its own Rasa server and gateway with the production limits, on free ports.

    .venv/bin/python bench/abuse.py [--seconds 60] [--workers 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.training import ensure_model
from bench.provenance import commit
from tests.abuse_flood import PRODUCTION_LIMITS, run_floods
from tests.stackutil import running_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=3, help="clients per flooded route")
    args = parser.parse_args()
    model = ensure_model(echo=lambda line: print(f"[rasa-model] {line}"))
    env = {**PRODUCTION_LIMITS, "SOTONG_VOICE_PRELOAD": "false"}
    with (
        tempfile.TemporaryDirectory() as var_dir,
        running_stack(model, Path(var_dir), extra_env=env) as stack,
    ):
        result = asyncio.run(run_floods(stack.gateway.url, args.seconds, args.workers))
    print(
        f"abuse: {args.seconds:.0f} s, {args.workers} clients per flooded route; "
        f"commit {commit()}; {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(result.report())
    web, sms = result.p(result.citizen_web_ms, 95), result.p(result.citizen_sms_ms, 95)
    met = web <= 1000 and sms <= 1000 and result.citizen_unanswered == 0
    print(f"goal (citizen p95 <= 1 s, nothing unanswered): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
