"""Real recorded speech for the recognition tests: where it is, or a loud skip.

The Korean tuning set (``ko-zeroth-dev``: 59 clips of read Korean from Zeroth-Korean,
CC BY 4.0 — "Zeroth-Korean, Lucas Jo and Wonkyum Lee (Atlas Guide Inc.), CC BY 4.0")
lives outside the repository, in the workplace's ``shared/speech/``: next to the
checkout, or where ``SOTONG_SPEECH_DIR`` says.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistant.config import PROJECT_DIR
from tests.conftest import missing_part


def speech_dir() -> Path | None:
    """The folder holding the speech sets, if there is one."""
    candidates = [
        os.environ.get("SOTONG_SPEECH_DIR"),
        str(PROJECT_DIR.parent / "shared" / "speech"),
        "/work/shared/speech",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "ko-zeroth-dev" / "transcripts.tsv").is_file():
            return Path(candidate)
    return None


def korean_dev_manifest() -> Path:
    """The Korean tuning set's manifest; skips loudly (fails in CI) without it."""
    found = speech_dir()
    if found is None:
        missing_part("real Korean speech: shared/speech/ko-zeroth-dev (or SOTONG_SPEECH_DIR)")
        raise AssertionError("unreachable")
    return found / "ko-zeroth-dev" / "transcripts.tsv"
