"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.handoff_world import World, handoff_world


@pytest.fixture
async def world(migrated_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The handoff world (tests/handoff_world.py) on a fresh SQLite database and then
    on a fresh PostgreSQL schema (``migrated_url``)."""
    async for built in handoff_world(tmp_path, migrated_url):
        yield built
