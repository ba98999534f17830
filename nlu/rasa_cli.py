"""Rasa's own command line (``rasa run …``), without an import nothing here uses.

TensorFlow 2.12 requires jax, so pip installs it, but only TensorFlow Lite's converter
uses it, behind ``try: from jax import … except ImportError``. Importing TensorFlow
therefore loads jax and jaxlib anyway: measured on the Rasa server, about 105 MB of
resident memory and a second of start-up, for nothing the server or training runs.
Marking the module absent makes that import fail exactly as if jax were not installed.

    .venv-rasa/bin/python nlu/rasa_cli.py run --enable-api …
"""

import sys

# None in sys.modules is Python's documented way to make ``import jax`` raise ImportError.
sys.modules.setdefault("jax", None)  # type: ignore[arg-type]

from rasa.__main__ import main  # noqa: E402 - must come after the line above

if __name__ == "__main__":
    sys.exit(main())
