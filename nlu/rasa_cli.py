"""Rasa's own command line (``rasa run …``), without an import nothing here uses.

TensorFlow 2.12 requires jax, so pip installs it, but only TensorFlow Lite's converter
uses it, behind ``try: from jax import … except ImportError``. Importing TensorFlow
therefore loads jax and jaxlib anyway: measured on the Rasa server, about 105 MB of
resident memory and a second of start-up, for nothing the server or training runs.
Marking the module absent makes that import fail exactly as if jax were not installed.

    .venv-rasa/bin/python nlu/rasa_cli.py run --enable-api …

``rasa run`` takes its API token only as ``--auth-token``; on a command line any local
user can read it in ``/proc/<pid>/cmdline`` (review L11). So the token comes in the
environment (``SOTONG_RASA_TOKEN``, readable by the same user only) and is added to the
arguments here, inside the process, where ``/proc`` does not show it.
"""

import os
import sys

TOKEN_VARIABLE = "SOTONG_RASA_TOKEN"  # noqa: S105 (a variable name, not a token)


def _with_token(argv: list[str]) -> list[str]:
    """``argv`` plus ``--auth-token=…`` from the environment, for ``run``, unless given."""
    token = os.environ.get(TOKEN_VARIABLE, "")
    if len(argv) < 2 or argv[1] != "run" or not token.strip():
        return argv
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in argv):
        return argv
    # One argument with "=": a random token may begin with "-" (argparse would read it
    # as another option).
    return [*argv, f"--auth-token={token}"]


def remember_event_types() -> None:
    """Make Rasa's lookup of an event's class by its type name a dictionary lookup.

    Rasa rebuilds the tracker from every stored event of the session on every turn, and
    for each event ``Event.resolve_by_type`` walks every subclass of ``Event`` again
    (recursively, asking ``inspect.isabstract`` of each): 20 % of the server's CPU once
    conversations are long (py-spy, issue 19). The classes are all imported before the
    server takes a message, so the first answer for a name is the answer for good; a
    name that is not found is not remembered and goes to Rasa's own lookup each time.
    """
    from rasa.shared.core import events

    lookup = events.Event.resolve_by_type
    known: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = known.get(type_name)
        if found is not None:
            return found
        found = lookup(type_name, default)  # Rasa's own answer, default or error
        if found is not None and getattr(found, "type_name", None) == type_name:
            known[type_name] = found
        return found

    events.Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


# None in sys.modules is Python's documented way to make ``import jax`` raise ImportError.
sys.modules.setdefault("jax", None)  # type: ignore[arg-type]

if __name__ == "__main__":
    from rasa.__main__ import main  # after the line above that hides jax

    remember_event_types()
    if sys.argv[1:2] == ["run"]:
        # The server's prediction history, built once per event (issue 19); training
        # and `rasa test` keep Rasa's own (the same answers, checked by a test).
        # An action call carries the recent turns' events, not the whole session's.
        import action_window
        import incremental_states

        incremental_states.install()
        action_window.install()
        print("sotong: Rasa's prediction history is built once per event", file=sys.stderr)
        print(f"sotong: actions get the last {action_window.RECENT_TURNS} turns", file=sys.stderr)
    sys.argv = _with_token(sys.argv)
    sys.exit(main())
