"""/readyz answers within seconds whatever hangs (review M12), and says when a
background loop has ended (review L13)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from assistant.app import create_app
from assistant.config import Settings
from assistant.services import Services


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        rasa_url="http://127.0.0.1:9",  # nothing listens: Rasa "unavailable" at once
        voice_preload=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def _readyz(app: FastAPI) -> tuple[float, httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        started = time.monotonic()
        response = await client.get("/readyz")
    return time.monotonic() - started, response


async def test_a_hung_store_makes_not_ready_within_seconds(app: FastAPI) -> None:
    services: Services = app.state.services

    async def hangs() -> None:
        await asyncio.sleep(3600)

    services.store.ping = hangs  # type: ignore[method-assign]
    elapsed, response = await _readyz(app)
    assert response.status_code == 503
    assert response.json()["checks"]["store"] == "no answer within 3 s"
    assert elapsed < 6


async def test_every_background_loop_is_reported_and_a_dead_one_is_not_ready(
    app: FastAPI,
) -> None:
    services: Services = app.state.services
    _, response = await _readyz(app)
    loops = response.json()["checks"]["loops"]
    assert set(loops) == {"kept-messages", "housekeeping", "handoff-upkeep", "outbox", "reminders"}
    assert set(loops.values()) == {"running"}

    async def dies() -> None:
        raise RuntimeError("a bug")

    task = services.loops.start("kept-messages", dies())
    await asyncio.wait({task})
    _, response = await _readyz(app)
    assert response.status_code == 503
    assert response.json()["checks"]["loops"]["kept-messages"] == "failed: RuntimeError"
