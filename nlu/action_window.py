"""The conversation's recent turns, not all of it, in each call to the action server.

Rasa sends a custom action the whole tracker with every event of the session
(``RemoteAction._action_call_format``, ``EventVerbosity.ALL``). A session ends only
after an hour of silence, so at the 100th turn of a conversation each call carried
every event of those hundred turns, serialised by Rasa and parsed again by the
gateway: the largest part of what a turn still gained per earlier turn once the
tracker store and the prediction history stopped growing (py-spy, issue 19).

Sotong's actions read only the recent past from the events: ``action_repeat`` the
bot's previous turn, the screening forms' validation the latest user message
(rasa-sdk's ``slots_to_validate``), ``action_screening_result`` the form that just
ended (the latest action; ``assistant/actions/screening.py``). Everything else an
action reads — slots, the latest message, the active loop, the latest action — Rasa
sends beside the events and is unchanged here. So an action call carries the events
of the last ``RECENT_TURNS`` user turns (from the user event that began the oldest of
them), or all of them in a shorter conversation. ``tests/integration/test_action_window.py``
checks the call against Rasa's own; ``test_packages_and_screening.py`` the actions
after long conversations.
"""

from __future__ import annotations

from typing import Any

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

# Ten user turns: five times what the furthest-looking action (repeat) needs.
RECENT_TURNS = 10


def recent_events(tracker: DialogueStateTracker, turns: int = RECENT_TURNS) -> list[Event]:
    """The events from the ``turns``-th last user message on (all, if fewer)."""
    recent: list[Event] = []
    seen = 0
    for event in reversed(tracker.events):
        recent.append(event)
        if isinstance(event, UserUttered):
            seen += 1
            if seen == turns:
                break
    recent.reverse()
    return recent


def _action_call_format(self: RemoteAction, tracker: DialogueStateTracker, domain: Any) -> Any:
    """Rasa 3.6's ``RemoteAction._action_call_format`` with the recent events only (the
    rest as Rasa builds it; the test compares the two)."""
    state = tracker.current_state(EventVerbosity.NONE)  # no events: the dear part
    state["events"] = [event.as_dict() for event in recent_events(tracker)]
    call = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
        self.name()
    ):
        call["domain"] = domain.as_dict()
    return call


def install() -> None:
    """Make every remote action call carry the recent events only (the Rasa server)."""
    RemoteAction._action_call_format = _action_call_format  # type: ignore[method-assign]
