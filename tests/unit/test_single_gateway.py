"""Exactly one gateway process per database (review M3): a second one refuses to start,
loudly; the first one's crash (``kill -9``) never blocks its restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    assert "replicas" not in gateway.get("deploy", {})
