"""nlu/incremental_states.py builds Rasa's prediction history once per event (issue 19);
its answers must be Rasa's own on every prefix of every story, rule and test story,
checked in Rasa's environment against Rasa's original methods."""

from __future__ import annotations

import pytest

from tests.rasa_python import run_in_rasa

pytestmark = pytest.mark.rasa


def test_the_history_is_rasas_own_at_every_event() -> None:
    result = run_in_rasa("incremental_states_check.py")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    ok, trackers, comparisons = result.stdout.split()[-3:]
    assert ok == "ok" and int(trackers) > 50 and int(comparisons) > 1000, result.stdout
