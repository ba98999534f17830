"""Rasa's own checks stay green: `rasa data validate` and `rasa test` on the stories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from assistant.training import NLU_DIR, rasa_environment, rasa_executable

pytestmark = pytest.mark.rasa


def _rasa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(rasa_executable()), *args],
        cwd=NLU_DIR,
        env=rasa_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_rasa_data_validate() -> None:
    result = _rasa("data", "validate", "--domain", "domain", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_rasa_test_stories(rasa_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = _rasa(
        "test", "core", "--model", str(rasa_model), "--stories", "tests", "--out", str(out)
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = (out / "failed_test_stories.yml").read_text(encoding="utf-8")
    assert "None of the test stories failed" in failed, failed
