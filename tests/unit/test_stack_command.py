"""The Rasa server's API token never appears on its command line (review L11): it goes
in the environment and nlu/rasa_cli.py adds it inside the process, whole, whatever it
starts with."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from assistant.stack import RasaServer
from assistant.training import NLU_DIR, rasa_command

TOKEN = "-Zk3v9Qe_4pXwT1aB2cD3e"  # secrets.token_urlsafe can begin with "-"


def _rasa_cli() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rasa_cli", NLU_DIR / "rasa_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_token_is_in_the_environment_not_on_the_command_line(tmp_path: Path) -> None:
    server = RasaServer(
        model=tmp_path / "model.tar.gz",
        port=5005,
        actions_url="http://127.0.0.1:9/actions",
        tracker_url="sqlite:///tracker.db",
        log_path=tmp_path / "rasa.log",
        auth_token=TOKEN,
    )
    assert not any(TOKEN in part for part in server.command())
    assert server.environment()["SOTONG_RASA_TOKEN"] == TOKEN


def test_rasa_cli_adds_the_token_whole_to_run_only(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _rasa_cli()
    monkeypatch.setenv("SOTONG_RASA_TOKEN", TOKEN)
    argv = cli._with_token(["rasa_cli.py", "run", "--enable-api", "--port", "5005"])
    # Rasa reads it with argparse; "--auth-token", "-Zk…" would be refused as a missing value.
    parser = argparse.ArgumentParser()
    parser.add_argument("-t", "--auth-token")
    options, _ = parser.parse_known_args(argv[2:])
    assert options.auth_token == TOKEN
    given = ["rasa_cli.py", "run", "--auth-token=other"]
    assert cli._with_token(given) == given  # an explicit one wins
    train = ["rasa_cli.py", "train", "--domain", "domain"]
    assert cli._with_token(train) == train
    monkeypatch.delenv("SOTONG_RASA_TOKEN")
    assert cli._with_token(["rasa_cli.py", "run"]) == ["rasa_cli.py", "run"]


def test_rasa_reads_its_lock_store_from_the_endpoints(tmp_path: Path) -> None:
    """Issue 18 point 7: one server keeps its conversation locks in memory; with the
    gateways' Redis, Rasa's own RedisLockStore (read by Rasa's code from
    nlu/endpoints.yml, as `rasa run` does), apart from the gateway's keys."""
    script = (
        "import sys\n"
        "from rasa.core.utils import read_endpoints_from_path\n"
        "from rasa.core.lock_store import LockStore\n"
        "store = LockStore.create(read_endpoints_from_path('endpoints.yml').lock_store)\n"
        "red = getattr(store, 'red', None)\n"
        "kwargs = red.connection_pool.connection_kwargs if red else {}\n"
        "print(type(store).__name__, kwargs.get('host'), kwargs.get('port'), kwargs.get('db'),"
        " getattr(store, 'key_prefix', None))\n"
    )
    seen = []
    for redis_url in (None, "redis://127.0.0.1:6379/3"):
        server = RasaServer(
            model=tmp_path / "model.tar.gz",
            port=5005,
            actions_url="http://127.0.0.1:9/actions",
            tracker_url="sqlite:///tracker.db",
            log_path=tmp_path / "rasa.log",
            lock_redis_url=redis_url,
        )
        python = rasa_command()[0]
        done = subprocess.run(
            [python, "-c", script],
            cwd=NLU_DIR,
            env=server.environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        seen.append(done.stdout.strip().splitlines()[-1])
    assert seen[0].startswith("InMemoryLockStore")
    assert seen[1] == "RedisLockStore 127.0.0.1 6379 3 sotongrasa:lock:"
