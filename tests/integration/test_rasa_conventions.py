"""Rasa's own checks stay green: `rasa data validate` and `rasa test` on the stories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from assistant.training import NLU_DIR, rasa_environment, rasa_executable
from tests.stackutil import Stack

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


def _story_turns() -> list[tuple[str, str, str]]:
    """(story file, user text, labelled intent) of every test story turn."""
    import yaml

    turns = []
    for path in sorted((NLU_DIR / "tests").glob("test_*.yml")):
        for story in yaml.safe_load(path.read_text(encoding="utf-8"))["stories"]:
            for step in story["steps"]:
                if "user" in step:
                    turns.append((path.name, step["user"].strip(), step["intent"]))
    return turns


def test_story_texts_are_understood_as_labelled(stack: Stack) -> None:
    # `rasa test core` replays the labelled intents; this checks the model reads each
    # citizen's words in the stories the way the story says.
    import httpx

    wrong = []
    for source, text, intent in _story_turns():
        parse = httpx.post(
            f"{stack.rasa.url}/model/parse",
            params={"token": stack.rasa.auth_token},
            json={"text": text},
            timeout=30,
        ).json()
        predicted = parse["intent"]["name"]
        if predicted != intent:
            wrong.append(f"{source}: {text!r} is {predicted}, labelled {intent}")
    assert len(_story_turns()) > 60
    assert not wrong, "\n".join(wrong)
