"""Run by tests/integration/test_incremental_states.py in Rasa's Python 3.10
environment, from nlu/: ``incremental_states`` answers exactly as Rasa's own
``applied_events`` and ``states_for_tracker_history`` do, on every prefix of every
story and rule of the project (and of its test stories), grown one event at a time on
the same tracker as Rasa grows a conversation, plus hand-written event sequences with
reverts, restarts, new sessions and a loop first seen late.

Prints "ok <trackers> <comparisons>" on success; a difference is an AssertionError.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import incremental_states
import rasa.core.training
from rasa.shared.core import constants
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

RASA_APPLIED = DialogueStateTracker.applied_events
RASA_STATES = Domain.states_for_tracker_history


@contextlib.contextmanager
def rasas_own() -> Iterator[None]:
    """Rasa's original methods for the duration (the reference answers)."""
    DialogueStateTracker.applied_events = RASA_APPLIED  # type: ignore[method-assign]
    Domain.states_for_tracker_history = RASA_STATES  # type: ignore[method-assign]
    try:
        yield
    finally:
        incremental_states.install()


def arguments(domain: Domain) -> list[dict[str, Any]]:
    """The argument combinations the policies use, and a rule-only set to strip."""
    loops = [name for name in domain.form_names][:1]
    slots = [slot.name for slot in domain.slots if slot.influence_conversation][:2]
    rule_only = {constants.RULE_ONLY_SLOTS: slots, constants.RULE_ONLY_LOOPS: loops}
    return [
        {},
        {"omit_unset_slots": True},
        {"ignore_rule_only_turns": True, "rule_only_data": rule_only},
        {"ignore_rule_only_turns": True, "rule_only_data": None},
    ]


def as_callers_do(states: list[Any]) -> None:
    """Edit the answer in place, as Rasa's featurizer does to the last state
    (``_choose_last_user_input``) and more: a kept state shared with an answer would
    show up in the next comparison."""
    for state in states[-2:]:
        if state.get(constants.USER):
            state[constants.USER].pop("text", None)
            state[constants.USER].pop("intent", None)


def compare(events: list[Event], domain: Domain) -> int:
    """Grow one tracker event by event; after each, compare with Rasa's answers on a
    tracker rebuilt from the same events. The number of comparisons."""
    grown = DialogueStateTracker("check", domain.slots)
    count = 0
    combos = arguments(domain)
    for number, event in enumerate(events, start=1):
        grown.update(event)
        reference = DialogueStateTracker("check", domain.slots)
        for earlier in events[:number]:
            reference.update(earlier)
        with rasas_own():
            expected_applied = [id(e) for e in reference.applied_events()]
            expected = [domain.states_for_tracker_history(reference, **a) for a in combos]
        assert [id(e) for e in grown.applied_events()] == expected_applied, number
        for combo, want in zip(combos, expected, strict=True):
            got = domain.states_for_tracker_history(grown, **combo)
            assert got == want, (number, combo, got[-3:], want[-3:])
            as_callers_do(got)
            count += 1
        # A copied tracker starts afresh and answers the same.
        if number % 7 == 0:
            copied = copy.deepcopy(grown)
            assert domain.states_for_tracker_history(copied, **combos[0]) == expected[0]
    return count


def user(intent: str) -> UserUttered:
    return UserUttered(intent, {"name": intent, "confidence": 1.0})


def by_hand(domain: Domain) -> list[list[Event]]:
    """Event sequences the stories do not have."""
    form = domain.form_names[0]
    listen = ActionExecuted(constants.ACTION_LISTEN_NAME)
    return [
        # A loop first seen late: its earlier execution counts differently from then on.
        [
            listen,
            user("greet"),
            ActionExecuted(form),
            listen,
            user("greet"),
            ActionExecuted(form),
            ActiveLoop(form),
            SlotSet("requested_slot", "x"),
            listen,
            user("greet"),
            ActionExecuted(form),
            ActiveLoop(None),
            listen,
        ],
        # Reverts of an action and of a user message.
        [
            listen,
            user("greet"),
            ActionExecuted("utter_greet"),
            ActionReverted(),
            ActionExecuted("utter_help"),
            listen,
            user("help"),
            UserUtteranceReverted(),
            listen,
            user("thank"),
            ActionExecuted("utter_greet"),
            listen,
        ],
        # A restart and a new session in the middle.
        [
            listen,
            user("greet"),
            ActionExecuted("utter_greet"),
            BotUttered("hi"),
            listen,
            Restarted(),
            listen,
            user("help"),
            ActionExecuted("action_session_start"),
            SessionStarted(),
            SlotSet("language", "en"),
            listen,
            user("greet"),
            ActionExecuted("utter_greet"),
            listen,
        ],
        # Turns predicted by rules (hidden from the ML policies' history), in and out
        # of a loop.
        [
            listen,
            user("greet"),
            ActionExecuted("utter_greet", hide_rule_turn=True),
            listen,
            user("help"),
            ActionExecuted("utter_help"),
            listen,
            user("greet"),
            ActionExecuted(form, hide_rule_turn=True),
            ActiveLoop(form),
            ActionExecuted(constants.ACTION_LISTEN_NAME, hide_rule_turn=True),
            user("greet"),
            ActionExecuted(form, hide_rule_turn=True),
            ActiveLoop(None),
            ActionExecuted("utter_greet", hide_rule_turn=True),
            listen,
            user("thank"),
            ActionExecuted("utter_greet"),
            listen,
        ],
        # A loop's unhappy path and happy path executions.
        [
            listen,
            user("greet"),
            ActionExecuted(form),
            ActiveLoop(form),
            listen,
            user("help"),
            ActionExecuted("utter_help"),
            ActionExecuted(form),
            listen,
            user("greet"),
            ActionExecuted(form),
            ActionExecuted(form),
            ActiveLoop(None),
            ActionExecuted("utter_greet"),
            listen,
        ],
    ]


def replaced_events(domain: Domain) -> int:
    """A tracker whose events are replaced by others of the same length (no Rasa
    route does it; the kept work must not be reused for them)."""
    listen = ActionExecuted(constants.ACTION_LISTEN_NAME)
    first = [listen, user("greet"), ActionExecuted("utter_greet"), listen]
    second = [listen, user("help"), ActionExecuted("utter_help"), listen]
    tracker = DialogueStateTracker("check", domain.slots)
    for event in first:
        tracker.update(event)
    domain.states_for_tracker_history(tracker)
    reference = DialogueStateTracker("check", domain.slots)
    for event in second:
        reference.update(event)
    tracker.events = reference.events.copy()
    with rasas_own():
        expected_applied = [id(e) for e in reference.applied_events()]
        expected = domain.states_for_tracker_history(reference)
    assert [id(e) for e in tracker.applied_events()] == expected_applied
    assert domain.states_for_tracker_history(tracker) == expected
    return 1


def main() -> None:
    domain = Domain.load("domain")
    incremental_states.install()
    trackers = 0
    comparisons = 0
    for resource in ("data", *sorted(str(p) for p in Path("tests").glob("test_*.yml"))):
        with rasas_own():
            loaded = rasa.core.training.load_data(resource, domain, augmentation_factor=0)
        for tracker in loaded:
            comparisons += compare(list(tracker.events), domain)
            trackers += 1
    for events in by_hand(domain):
        comparisons += compare(events, domain)
        trackers += 1
    comparisons += replaced_events(domain)
    assert trackers > 50, trackers
    print("ok", trackers, comparisons)


if __name__ == "__main__":
    main()
    sys.exit(0)
