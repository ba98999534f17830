"""Rasa's dialogue-state history computed once per event, not once per event per prediction.

Before each prediction, Rasa's rule and memoization policies ask for the states of the
whole conversation session (``Domain.states_for_tracker_history``): Rasa lists the
tracker's applied events (``DialogueStateTracker.applied_events``, a pass over every
event), replays them one by one into a fresh tracker and builds a state at every
action. A turn asks for it three to six times, so a turn cost grew with every earlier
turn: in conversations of 50 to 150 turns these two were 40 % of the Rasa server's CPU
(py-spy, issue 19), and the 100th turn took 1.8 times as long as the first.

Here both remember how far they got, on the tracker itself, and carry on from there
when the tracker has only grown since:

- ``applied_events`` keeps its result and the loop names it was computed with; it
  continues with the new events if the tracker's events still begin with the very
  objects it went through, and none of the new ones activates a loop not seen before
  (Rasa treats earlier executions of a loop's action by the loop names of the whole
  session).
- ``states_for_tracker_history`` keeps, for each combination of its arguments, the
  states built so far, the replayed tracker and the two values Rasa's loop carries;
  it continues if the applied events still begin with the very objects it replayed
  (a revert removes applied events, a restart or a new session clears them: then it
  starts again). The state after the last event (the one Rasa's generator yields at
  the end) is built fresh on every call and never kept: the next event may change it.

Checking that an earlier list begins a new one compares object ids, a pass in C over
the list: far cheaper than Rasa's replay, which builds a state at every action.

What is returned is what Rasa would return (a test compares both on every prefix of
every story and rule, ``tests/integration/rasa_env/incremental_states_check.py``);
kept states are handed out as copies, because callers edit the last one in place.
Copying trackers (``init_copy``, ``travel_back_in_time``, ``deepcopy``) starts afresh.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core import constants
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

_CACHE = "_sotong_incremental"


class _Memory(dict):  # type: ignore[type-arg]
    """What a tracker remembers; a copied tracker gets an empty one (it starts afresh)."""

    def __copy__(self) -> _Memory:
        return _Memory()

    def __deepcopy__(self, memo: dict[int, Any]) -> _Memory:
        return _Memory()

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (_Memory, ())


def _memory(tracker: DialogueStateTracker) -> _Memory:
    memory = tracker.__dict__.get(_CACHE)
    if memory is None:
        memory = tracker.__dict__[_CACHE] = _Memory()
    return memory


# ---- applied events ---------------------------------------------------------------------
@dataclass
class _Applied:
    loop_names: set[str] = field(default_factory=set)
    applied: list[Event] = field(default_factory=list)
    seen: list[Event] = field(default_factory=list)  # the tracker's events gone through
    seen_ids: list[int] = field(default_factory=list)  # their ids (``seen`` keeps them)


def _loop_names(events: Any) -> set[str]:
    return {e.name for e in events if isinstance(e, ActiveLoop) and e.name}


def _begins_with(events: Any, ids: list[int]) -> bool:
    """Whether ``events`` begin with the objects of these ids (kept alive by the
    caller), in order: the work done for them still holds."""
    return len(events) >= len(ids) and list(map(id, itertools.islice(events, len(ids)))) == ids


def applied_events(self: DialogueStateTracker) -> list[Event]:
    """Rasa's ``DialogueStateTracker.applied_events``, continued from the last call."""
    memory = _memory(self)
    progress: _Applied | None = memory.get("applied")
    events = self.events
    if progress is None or not _begins_with(events, progress.seen_ids):
        progress = _Applied()
    new = list(itertools.islice(events, len(progress.seen), None))
    if not _loop_names(new) <= progress.loop_names:
        # A loop seen for the first time changes how its earlier executions count.
        progress = _Applied()
        new = list(events)
    if not progress.seen:
        progress.loop_names = _loop_names(new)
    applied = progress.applied
    # Rasa's loop (rasa/shared/core/trackers.py, applied_events), event by event.
    for event in new:
        if isinstance(event, (Restarted, SessionStarted)):
            applied = []
        elif isinstance(event, ActionReverted):
            self._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            self._undo_till_previous(UserUttered, applied)
            self._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in progress.loop_names
            and not self._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            self._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)
    progress.applied = applied
    progress.seen += new
    progress.seen_ids += map(id, new)
    memory["applied"] = progress
    return list(applied)


# ---- states -----------------------------------------------------------------------------
@dataclass
class _States:
    prior: DialogueStateTracker  # the replayed tracker, after the ``seen`` events
    states: list[State] = field(default_factory=list)
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False
    seen: list[Event] = field(default_factory=list)  # the applied events replayed
    seen_ids: list[int] = field(default_factory=list)


def _frozen(rule_only_data: dict[str, Any] | None) -> Any:
    if not rule_only_data:
        return None
    return tuple(sorted((key, tuple(value)) for key, value in rule_only_data.items()))


def _copy(state: State) -> State:
    return {kind: dict(sub_state) for kind, sub_state in state.items()}  # type: ignore[misc]


def _state_at(
    domain: Domain,
    progress: _States,
    hide_rule_turn: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
    keep: bool,
) -> State | None:
    """Rasa's loop body (``Domain.states_for_tracker_history``) at one yielded tracker;
    the state, or None for a hidden turn. ``keep``: move the carried values on."""
    tracker = progress.prior
    last_ml_action_sub_state = progress.last_ml_action_sub_state
    turn_was_hidden = progress.turn_was_hidden
    state: State | None = None
    if ignore_rule_only_turns:
        if not turn_was_hidden:
            last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
        if not tracker.followup_action and not (
            tracker.latest_action_name == tracker.active_loop_name
        ):
            turn_was_hidden = hide_rule_turn
    if not (ignore_rule_only_turns and turn_was_hidden):
        state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if progress.states:
                domain._substitute_rule_only_user_input(state, progress.states[-1])
            if last_ml_action_sub_state:
                state[constants.PREVIOUS_ACTION] = last_ml_action_sub_state
        state = domain._clean_state(state)
    if keep:
        progress.last_ml_action_sub_state = last_ml_action_sub_state
        progress.turn_was_hidden = turn_was_hidden
        if state is not None:
            progress.states.append(state)
    return state


def states_for_tracker_history(
    self: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """Rasa's ``Domain.states_for_tracker_history``, continued from the last call."""
    applied = tracker.applied_events()
    memory = _memory(tracker)
    key = ("states", id(self), omit_unset_slots, ignore_rule_only_turns, _frozen(rule_only_data))
    progress: _States | None = memory.get(key)
    if progress is None or not _begins_with(applied, progress.seen_ids):
        progress = _States(prior=tracker.init_copy())
    arguments = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    new = applied[len(progress.seen) :]
    for event in new:
        if isinstance(event, ActionExecuted):
            _state_at(self, progress, event.hide_rule_turn, *arguments, keep=True)
        progress.prior.update(event)
    progress.seen += new
    progress.seen_ids += map(id, new)
    memory[key] = progress
    states = [_copy(state) for state in progress.states]
    final = _state_at(self, progress, False, *arguments, keep=False)
    if final is not None:
        # A copy too: Rasa may have given it the last kept state's user sub-state.
        states.append(_copy(final))
    return states


def install() -> None:
    """Replace Rasa's two methods with the incremental ones (the Rasa server only)."""
    DialogueStateTracker.applied_events = applied_events  # type: ignore[method-assign]
    Domain.states_for_tracker_history = states_for_tracker_history  # type: ignore[method-assign]
