"""Service identification on the held-out evaluation set, through the real Rasa model."""

from __future__ import annotations

import asyncio

import pytest

from assistant.catalog import load_catalog
from assistant.nlu_eval import EVAL_FILE, evaluate, load_examples
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa

# Regression floors, under what the current model measures on the 702 utterances (93.3 %
# Korean, 96.4 % English; README has the figures). The target for both languages is
# 95 %: Korean is under it since 23 services joined (94.6 % on the 370 Korean utterances
# of the earlier 37 services, 89.9 % on the 138 of the new ones). The linear classifier
# trains deterministically, so these move only with the data.
FLOOR = {"ko": 0.925, "en": 0.955}


def test_evaluation_set_is_held_out_and_balanced() -> None:
    examples = load_examples()
    catalog = load_catalog()
    assert len(examples) >= 700
    korean = sum(e.language == "ko" for e in examples)
    assert korean / len(examples) >= 0.6
    assert {e.service for e in examples} == set(catalog.services)
    training = "".join(
        p.read_text(encoding="utf-8") for p in EVAL_FILE.parents[1].glob("data/*.yml")
    )
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
    assert not leaked, f"evaluation utterances found in training data: {leaked[:5]}"


def test_service_identification_accuracy(stack: Stack) -> None:
    report = asyncio.run(
        evaluate(stack.rasa.url, load_catalog(), load_examples(), stack.rasa.auth_token)
    )
    print(report.render())
    for language, floor in FLOOR.items():
        assert report.by_language[language] >= floor, report.render()
