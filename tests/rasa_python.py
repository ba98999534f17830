"""Run a check script in Rasa's own Python 3.10 environment (``.venv-rasa``), from
``nlu/`` — where Rasa finds the custom components and ``nlu/rasa_cli.py`` — for tests
of code that only Rasa's environment can import."""

from __future__ import annotations

import subprocess
from pathlib import Path

from assistant.training import NLU_DIR, rasa_environment, rasa_executable

SCRIPTS = Path(__file__).parent / "integration" / "rasa_env"


def run_in_rasa(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``tests/integration/rasa_env/<script>`` with ``args``; its output as text,
    never raising."""
    return subprocess.run(
        [str(rasa_executable().with_name("python")), str(SCRIPTS / script), *args],
        cwd=NLU_DIR,
        env=rasa_environment({"PYTHONPATH": str(NLU_DIR)}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
