"""Which code a benchmark measured: the commit, and whether the working tree differed
from it (figures in README name both)."""

from __future__ import annotations

import subprocess
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def commit() -> str:
    """The short commit hash, with " (uncommitted changes)" when the tree differs; "?"
    outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=PROJECT_DIR, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "?"
    return f"{head} (uncommitted changes)" if git("status", "--porcelain") else head
