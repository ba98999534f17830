"""nlu/rasa_cli.py remembers Rasa's event classes by type name (issue 19); the answers
must be Rasa's own, checked in Rasa's environment."""

from __future__ import annotations

import pytest

from tests.rasa_python import run_in_rasa

pytestmark = pytest.mark.rasa


def test_remembered_event_types_answer_as_rasa_does() -> None:
    result = run_in_rasa("event_types_check.py")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.startswith("ok ")
