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


# None in sys.modules is Python's documented way to make ``import jax`` raise ImportError.
sys.modules.setdefault("jax", None)  # type: ignore[arg-type]

if __name__ == "__main__":
    from rasa.__main__ import main  # after the line above that hides jax

    sys.argv = _with_token(sys.argv)
    sys.exit(main())
