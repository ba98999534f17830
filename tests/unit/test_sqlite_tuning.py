"""SQLite as the embedded stack runs it: the gateway's connections and Rasa's tracker file
(issue 19: WAL everywhere; every commit still reaches the disk)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from assistant.config import to_async_url
from assistant.stack import prepare_sqlite_tracker
from assistant.store.sql import create_engine


async def test_every_gateway_connection_gets_the_pragmas(tmp_path: Path) -> None:
    engine = create_engine(to_async_url(f"sqlite:///{tmp_path / 'g.db'}"), query_timeout=2.5)
    try:
        async with engine.connect() as conn:
            values = [
                (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            ]
    finally:
        await engine.dispose()
    # synchronous 2 is FULL: an acknowledged message survives a power cut.
    assert values == ["wal", 2, 1, 2500]


def test_rasa_tracker_file_is_put_in_wal_before_rasa_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "rasa-tracker.db"
    with sqlite3.connect(path) as db:  # an existing store in the default journal mode
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
    prepare_sqlite_tracker(f"sqlite:///{path}")
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT count(*) FROM events").fetchone() == (0,)
    finally:
        db.close()


def test_a_new_rasa_tracker_file_starts_in_wal(tmp_path: Path) -> None:
    path = tmp_path / "rasa-tracker.db"
    prepare_sqlite_tracker(f"sqlite:///{path}")
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


@pytest.mark.parametrize(
    "url", ["postgresql://rasa@127.0.0.1:9/rasa", "sqlite://", "sqlite:///:memory:"]
)
def test_other_tracker_stores_are_left_alone(url: str) -> None:
    prepare_sqlite_tracker(url)  # no connection attempted, nothing raised


def test_a_missing_folder_is_left_for_rasa_to_report(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "rasa-tracker.db"
    prepare_sqlite_tracker(f"sqlite:///{path}")
    assert not path.parent.exists()
