"""nlu/cached_tracker_store.py keeps recent conversations' trackers (issue 19); what it
hands out must be what Rasa's own SQL store reads back, on SQLite and PostgreSQL,
through other servers' turns, erasure, half-done turns and new sessions. Checked in
Rasa's environment against Rasa's own store on the same database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rasa_python import run_in_rasa

pytestmark = pytest.mark.rasa


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_kept_trackers_are_what_rasa_reads_back(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'trackers.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    result = run_in_rasa("cached_tracker_store_check.py", url)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    ok, hits, misses = result.stdout.split()[-3:]
    assert ok == "ok" and int(hits) >= 10 and int(misses) > 0, result.stdout
