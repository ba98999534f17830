"""Every wait on the database is bounded (review M12): a statement past its time, a
server that accepts and never answers, a readiness probe over a hung store."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from assistant.config import to_async_url
from assistant.store.outage import is_outage
from assistant.store.sql import create_engine


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung host)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


async def test_postgres_connect_gives_up_on_a_silent_host(silent_server: int) -> None:
    engine = create_engine(
        f"postgresql+psycopg://sotong@127.0.0.1:{silent_server}/sotong", connect_timeout=1
    )
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError) as raised:
            # The outer bound only keeps a regression from hanging the suite.
            async with asyncio.timeout(30), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 5
    assert is_outage(raised.value)


async def test_postgres_statement_past_its_time_is_cancelled(postgres_base_url: str) -> None:
    engine = create_engine(to_async_url(postgres_base_url), query_timeout=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError) as raised:
            async with asyncio.timeout(30), engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(10)"))
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 5
    assert is_outage(raised.value)


async def test_postgres_url_options_are_kept_beside_the_timeout(postgres_schema_url: str) -> None:
    # The contract suites isolate themselves with ``options=-csearch_path=…`` in the URL.
    engine = create_engine(to_async_url(postgres_schema_url), query_timeout=2)
    try:
        async with engine.connect() as conn:
            timeout = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
            path = (await conn.execute(text("SHOW search_path"))).scalar_one()
    finally:
        await engine.dispose()
    assert timeout == "2s"
    assert path.startswith("sotong_test_")
