"""nlu/action_window.py sends an action the events of the last ten user turns (issue
19); the call must otherwise be Rasa's own, checked in Rasa's environment. The actions
after long conversations: tests/integration/test_packages_and_screening.py."""

from __future__ import annotations

import pytest

from tests.rasa_python import run_in_rasa

pytestmark = pytest.mark.rasa


def test_an_action_call_is_rasas_with_the_recent_events() -> None:
    result = run_in_rasa("action_window_check.py")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    ok, calls = result.stdout.split()[-2:]
    assert ok == "ok" and int(calls) == 24, result.stdout
