"""Run by tests/integration/test_rasa_event_types.py in Rasa's Python 3.10 environment,
from nlu/: ``rasa_cli.remember_event_types`` answers every event type name as Rasa's
own lookup does, including the default, "topic" and an unknown name."""

from __future__ import annotations

import rasa_cli
from rasa.shared.core import events
from rasa.shared.utils.common import all_subclasses


def main() -> None:
    names = sorted({cls.type_name for cls in all_subclasses(events.Event)})
    assert len(names) > 15, names  # user, bot, action, slot, session_started, …
    before = {name: events.Event.resolve_by_type(name) for name in names}
    rasa_cli.remember_event_types()
    assert events.Event.resolve_by_type.__module__ == "rasa_cli"  # the lookup was replaced
    for _ in range(2):  # the first answers are remembered, the second come from memory
        assert {name: events.Event.resolve_by_type(name) for name in names} == before
    assert events.Event.resolve_by_type("topic") is None
    assert events.Event.resolve_by_type("nope", events.UserUttered) is events.UserUttered
    try:
        events.Event.resolve_by_type("nope")
    except ValueError as exc:
        assert "Unknown event name 'nope'" in str(exc)
    else:
        raise AssertionError("an unknown event name must still be an error")
    # A tracker still rebuilds from its events.
    tracker = events.Event.resolve_by_type("user")("등본", {"name": "greet"})
    restored = events.Event.from_parameters(tracker.as_dict())
    assert isinstance(restored, events.UserUttered) and restored.text == "등본"
    print("ok", len(names))


if __name__ == "__main__":
    main()
