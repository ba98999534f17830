"""Service identification on the held-out sets, through the real Rasa model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from assistant.catalog import load_catalog
from assistant.nlu_eval import EVAL_FILE, TEST_FILE, evaluate, load_examples, prefix_changes
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa

# Regression floors, just under what the model measures (README, "Evaluation"): on the
# evaluation set 98.0 % Korean and 96.9 % English, on the test set 96.3 % and 96.7 %.
# The target is 95 % per language on each. The linear classifier trains
# deterministically, so these move only with the data or the pipeline.
FLOORS = {
    EVAL_FILE: {"ko": 0.975, "en": 0.96},
    TEST_FILE: {"ko": 0.955, "en": 0.96},
}
# Of the evaluation set's Korean messages, at most this share may get another answer
# when "1년 전부터 " and such are put in front (measured: 1 to 4 of 448; 177 to 260
# while Rasa's tokenizer dropped Korean words next to a number).
PREFIX_CHANGES_AT_MOST = 0.02


@pytest.mark.parametrize("path", [EVAL_FILE, TEST_FILE], ids=["evaluation", "test"])
def test_held_out_set_is_held_out_and_balanced(path: Path) -> None:
    examples = load_examples(path)
    catalog = load_catalog()
    assert len(examples) >= 700
    korean = sum(e.language == "ko" for e in examples)
    assert korean / len(examples) >= 0.6
    assert {e.service for e in examples} == set(catalog.services)
    training = "".join(p.read_text(encoding="utf-8") for p in path.parents[1].glob("data/*.yml"))
    # A bare catalog name ("등본") is in training by design: the catalog generates it and
    # the lookup table matches it. Anything else would be a leak.
    names = {
        name.casefold()
        for service in catalog
        for name in (service.name.ko, service.name.en, *service.aliases.ko, *service.aliases.en)
    }
    leaked = [
        e.text for e in examples if f"- {e.text}\n" in training and e.text.casefold() not in names
    ]
    assert not leaked, f"held-out utterances found in training data: {leaked[:5]}"


@pytest.mark.parametrize("path", [EVAL_FILE, TEST_FILE], ids=["evaluation", "test"])
def test_service_identification_accuracy(stack: Stack, path: Path) -> None:
    report = asyncio.run(
        evaluate(stack.rasa.url, load_catalog(), load_examples(path), stack.rasa.auth_token)
    )
    print(report.render())
    for language, floor in FLOORS[path].items():
        assert report.by_language[language] >= floor, report.render()


def test_a_neutral_time_phrase_does_not_change_the_answer(stack: Stack) -> None:
    korean = [e for e in load_examples(EVAL_FILE) if e.language == "ko" and e.style != "short"]
    changed = asyncio.run(
        prefix_changes(stack.rasa.url, load_catalog(), korean, token=stack.rasa.auth_token)
    )
    print(changed)
    for prefix, count in changed.items():
        assert count <= PREFIX_CHANGES_AT_MOST * len(korean), (prefix, count, len(korean))
