"""Run by tests/integration/test_action_window.py in Rasa's Python 3.10 environment, from
nlu/: the action call ``action_window`` builds is Rasa 3.6's own but for the events,
which are those of the last ``RECENT_TURNS`` user turns (all of a shorter session).

Prints "ok <calls>" on success; a difference is an AssertionError.
"""

from __future__ import annotations

import action_window
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

RASAS_OWN = RemoteAction._action_call_format


def conversation(domain: Domain, turns: int) -> DialogueStateTracker:
    tracker = DialogueStateTracker("check", domain.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    for number in range(turns):
        tracker.update(UserUttered(f"message {number}", {"name": "greet", "confidence": 1.0}))
        tracker.update(SlotSet("language", "en" if number % 2 else "ko"))
        if number == turns - 3:
            tracker.update(ActionExecuted("screening_elderly_form"))
            tracker.update(ActiveLoop("screening_elderly_form"))
        tracker.update(ActionExecuted("utter_greet"))
        tracker.update(BotUttered(f"answer {number}"))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def main() -> None:
    domain = Domain.load("domain")
    action_window.install()
    calls = 0
    for selective in (True, False):
        endpoint = EndpointConfig("http://actions.test", enable_selective_domain=selective)
        for name in ("action_answer_service", "validate_screening_elderly_form"):
            action = RemoteAction(name, endpoint)
            for turns in (0, 3, 9, 10, 11, 40):
                tracker = conversation(domain, turns)
                ours = action._action_call_format(tracker, domain)
                rasas = RASAS_OWN(action, tracker, domain)
                events = ours["tracker"].pop("events")
                everything = rasas["tracker"].pop("events")
                assert ours == rasas, (name, selective, turns)  # all but the events
                users = [e for e in everything if e["event"] == "user"]
                if len(users) < action_window.RECENT_TURNS:
                    assert events == everything, turns
                else:
                    first = users[-action_window.RECENT_TURNS]
                    assert events == everything[everything.index(first) :], turns
                    assert sum(e["event"] == "user" for e in events) == 10
                calls += 1
    print("ok", calls)


if __name__ == "__main__":
    main()
