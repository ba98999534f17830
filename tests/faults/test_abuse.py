"""Abuse: floods of every anonymous route get 429 (or 403 unsigned), while a citizen at
another address keeps being answered on the web chat and by SMS (issue 16's proof).

The stack keeps the production limits (tests/abuse_flood.PRODUCTION_LIMITS). This test
asserts only the refusals and that the citizen is answered; the citizen's latencies
during the floods are a benchmark's (bench/abuse.py prints them; README, Benchmarks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.abuse_flood import PRODUCTION_LIMITS, run_floods
from tests.stackutil import Stack, running_stack

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def abuse_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {**PRODUCTION_LIMITS, "SOTONG_VOICE_PRELOAD": "false"}
    with running_stack(rasa_model, tmp_path_factory.mktemp("abuse"), extra_env=env) as stack:
        yield stack


def test_floods_are_refused_and_a_citizen_elsewhere_is_answered(abuse_stack: Stack) -> None:
    result = asyncio.run(run_floods(abuse_stack.gateway.url, seconds=20))
    print(f"[abuse]\n{result.report()}")
    for route in ("webchat.session", "webchat.message", "webchat.speech", "console.login"):
        assert result.statuses[route][429] > 0, (route, result.statuses[route])
        assert result.retry_after_seen.get(route), route
        assert result.statuses[route][500] == 0
    assert set(result.statuses["twilio.sms unsigned"]) == {403}
    assert result.socket_closes[4429] > 0, result.socket_closes  # past the frame budget
    assert result.citizen_web_ms and result.citizen_sms_ms
    assert result.citizen_unanswered == 0
