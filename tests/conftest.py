"""Shared fixtures: the trained model, one real Rasa + gateway stack per session, and
PostgreSQL for the store contract suite."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stackutil import Stack, running_stack

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Apps made in this process (unit tests make many) load the speech model only when a
# call needs it; the real stack below preloads it like production (see stackutil).
os.environ.setdefault("SOTONG_VOICE_PRELOAD", "false")
POSTGRES_URL = os.environ.get(
    "SOTONG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SOTONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def missing_part(what: str) -> None:
    """Skip loudly on a developer's machine; fail in CI, which must have every part."""
    message = f"MISSING PART — {what}"
    if IN_CI:
        pytest.fail(message + " (CI must provide it)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """A model trained on the current NLU data (cached by fingerprint)."""
    from assistant.training import TrainingError, ensure_model

    try:
        return ensure_model(echo=lambda line: print(f"[rasa-model] {line}"))
    except TrainingError as exc:
        missing_part(f"Rasa 3.6 environment or training: {exc}")
        raise


@pytest.fixture(scope="session")
def stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A real Rasa 3.6 server and a real gateway, started once for the session."""
    with running_stack(rasa_model, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    """PostgreSQL's URL, checked to answer."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        missing_part(f"PostgreSQL at {POSTGRES_URL} ({exc.__class__.__name__})")
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis's URL (a database of its own for the tests), checked to answer."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        missing_part(f"Redis at {REDIS_URL} ({exc.__class__.__name__})")
    return REDIS_URL


@pytest.fixture
def postgres_schema_url(postgres_base_url: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    import psycopg

    schema = f"sotong_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres_base_url else "?"
    try:
        yield f"{postgres_base_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(postgres_base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
async def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database for one test, on SQLite and then on PostgreSQL: the one
    parametrisation every store contract suite runs under."""
    from assistant.config import to_async_url
    from assistant.store.migrate import upgrade

    if request.param == "sqlite":
        url = to_async_url(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = to_async_url(request.getfixturevalue("postgres_schema_url"))
    await asyncio.to_thread(upgrade, url)
    return url
