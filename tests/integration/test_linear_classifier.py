"""Sotong's linear intent classifier (nlu/components/linear_classifier.py) inside Rasa:
trained, persisted and loaded by Rasa's own storage, and refusing a tampered model file."""

from __future__ import annotations

import json

import pytest

from tests.rasa_python import run_in_rasa

pytestmark = pytest.mark.rasa


@pytest.fixture(scope="module")
def outcome() -> dict:
    result = run_in_rasa("linear_classifier_check.py")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_intent_is_found_in_short_and_long_messages(outcome: dict) -> None:
    for probe in ("short", "long"):
        found = outcome["trained"][probe]
        assert found["intent"]["name"] == "service_basic_pension", found
        confidences = [entry["confidence"] for entry in found["ranking"]]
        assert confidences == sorted(confidences, reverse=True)
        assert abs(sum(confidences) - 1) < 1e-6  # every intent ranked (3 < ranking length)


def test_a_loaded_model_answers_as_the_trained_one(outcome: dict) -> None:
    assert outcome["loaded"] == outcome["trained"]


def test_a_model_file_with_foreign_types_is_refused(outcome: dict) -> None:
    # skops reports pathlib's type as untrusted; the component loads nothing and names
    # no intent, so Rasa's fallback answers instead of code from the file running.
    assert outcome["tampered"] == {"intent": {"name": None, "confidence": 0.0}, "ranking": []}
