"""Which gateways may share a database (review M3, issue 18 point 6): without Redis (or
on SQLite) a second one refuses to start, loudly, and the first one's crash (``kill -9``)
never blocks its restart; with Redis and PostgreSQL any number run, registered with a
heartbeat, and an embedded gateway cannot join them (nor they it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from assistant.app import create_app
from assistant.config import Settings, to_async_url
from assistant.store.single import AnotherGateway, GatewayGuard


def _settings(var_dir: Path, **extra: object) -> Settings:
    return Settings(
        _env_file=None,
        env="development",
        var_dir=var_dir,
        rasa_url="http://127.0.0.1:9",
        voice_preload=False,
        **extra,  # type: ignore[arg-type]
    )


async def test_a_second_gateway_on_the_same_database_refuses_to_start(tmp_path: Path) -> None:
    first, second = create_app(_settings(tmp_path)), create_app(_settings(tmp_path))
    async with first.router.lifespan_context(first):
        with pytest.raises(AnotherGateway, match="exactly one"):
            async with second.router.lifespan_context(second):
                pytest.fail("two gateways ran on one database")
    # The first has stopped: the next one starts.
    async with second.router.lifespan_context(second):
        pass


async def test_gateways_on_different_databases_both_run(tmp_path: Path) -> None:
    first = create_app(_settings(tmp_path / "a"))
    second = create_app(_settings(tmp_path / "b"))
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        pass


def test_a_killed_gateway_does_not_block_its_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sotong.db'}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from assistant.store.single import GatewayGuard; "
            f"guard = GatewayGuard.acquire({url!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(AnotherGateway):
            GatewayGuard.acquire(url)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        time.sleep(0.1)
        GatewayGuard.acquire(url).release()
    finally:
        holder.kill()
        holder.wait()


def test_postgres_one_gateway_per_schema(postgres_schema_url: str, postgres_base_url: str) -> None:
    url = to_async_url(postgres_schema_url)
    first = GatewayGuard.acquire(url)
    try:
        with pytest.raises(AnotherGateway):
            GatewayGuard.acquire(url)
        # Another schema is another deployment.
        other = GatewayGuard.acquire(to_async_url(postgres_base_url))
        other.release()
    finally:
        first.release()
    GatewayGuard.acquire(url).release()


def test_scaled_gateways_share_a_database_and_exclude_an_embedded_one(
    postgres_schema_url: str,
) -> None:
    url = to_async_url(postgres_schema_url)
    first, second = GatewayGuard.acquire(url, scaled=True), GatewayGuard.acquire(url, scaled=True)
    try:
        with pytest.raises(AnotherGateway, match="same SOTONG_REDIS_URL and a PostgreSQL"):
            GatewayGuard.acquire(url)  # started without the Redis URL by mistake
    finally:
        first.release()
        second.release()
    embedded = GatewayGuard.acquire(url)
    try:
        with pytest.raises(AnotherGateway, match="without SOTONG_REDIS_URL already runs"):
            GatewayGuard.acquire(url, scaled=True)
    finally:
        embedded.release()


def test_there_is_no_scaled_mode_on_sqlite(tmp_path: Path) -> None:
    settings = _settings(tmp_path, redis_url="redis://127.0.0.1:6379/0")
    assert not settings.scaled  # Redis or not, SQLite is one gateway's
    with pytest.raises(ValueError, match="PostgreSQL"):
        GatewayGuard.acquire(settings.resolved_database_url, scaled=True)


def test_scaled_gateways_need_one_secret_key_even_in_development(tmp_path: Path) -> None:
    scaled = _settings(
        tmp_path,
        redis_url="redis://127.0.0.1:6379/0",
        database_url="postgresql://sotong@127.0.0.1/sotong",
    )
    assert scaled.scaled
    assert any("SOTONG_SECRET_KEY" in problem for problem in scaled.problems())
    keyed = scaled.model_copy(update={"secret_key": SecretStr("k" * 32)})
    assert keyed.problems() == []


async def test_two_scaled_gateway_apps_run_on_one_database_and_see_each_other(
    tmp_path: Path, postgres_schema_url: str, redis_url: str
) -> None:
    def scaled(name: str, **extra: object) -> FastAPI:
        return create_app(
            _settings(
                tmp_path / name,
                database_url=postgres_schema_url,
                secret_key="k" * 32,
                **extra,
            )
        )

    first, second = scaled("a", redis_url=redis_url), scaled("b", redis_url=redis_url)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        one, other = first.state.services.gateways, second.state.services.gateways
        assert one is not None and other is not None and one.id != other.id
        assert {one.id, other.id} <= {g.id for g in await one.alive()}
        with pytest.raises(AnotherGateway, match="same SOTONG_REDIS_URL"):
            embedded = scaled("c")  # the same database, no Redis
            async with embedded.router.lifespan_context(embedded):
                pytest.fail("an embedded gateway joined scaled ones")
    assert one.id not in {g.id for g in await other.alive()}  # left at a clean stop


def test_two_migrations_at_once_do_not_race(postgres_schema_url: str) -> None:
    # Two replicas (or a job and a gateway) migrating one fresh schema together: without
    # the lock both create the same tables and one fails.
    from concurrent.futures import ThreadPoolExecutor

    from assistant.store.migrate import upgrade

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: upgrade(postgres_schema_url), range(2)))
    assert results == [None, None]


def test_compose_migrates_once_before_the_gateway() -> None:
    import yaml

    compose = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text(encoding="utf-8")
    )
    services = compose["services"]
    assert services["migrate"]["command"] == ["sotong", "db", "upgrade"]
    gateway = services["gateway"]
    assert gateway["environment"]["SOTONG_AUTO_MIGRATE"] == "false"
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Several replicas are the scaled mode: every one on Redis and PostgreSQL.
    assert gateway["environment"]["SOTONG_REDIS_URL"].startswith("redis://")
    assert gateway["environment"]["SOTONG_DATABASE_URL"].startswith("postgresql://")
