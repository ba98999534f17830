"""Two gateways and two Rasa servers behind nginx, on PostgreSQL and Redis: the scaled
mode of issue 18, started as deployed (``sotong serve``, ``rasa run``, Debian's nginx
with deploy/nginx/sotong.conf) on free ports of this machine."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import httpx
import psycopg

from assistant.config import PROJECT_DIR
from assistant.stack import RasaServer
from tests.stackutil import GatewayProcess, build_stack, free_port

NGINX_CONFIG = PROJECT_DIR / "deploy" / "nginx" / "sotong.conf"


def nginx_binary() -> str | None:
    """Debian's nginx (scripts/apt-packages.txt), or None."""
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


@dataclass
class Nginx:
    """nginx with the project's file, its upstreams and port changed."""

    binary: str
    upstreams: list[int]
    prefix: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        text = NGINX_CONFIG.read_text(encoding="utf-8")
        # The file's two upstream lines stand for the gateways: one line per gateway.
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;"
            for port in self.upstreams
        )
        lines = [line for line in text.splitlines() if "server 127.0.0.1:800" not in line]
        text = "\n".join(lines).replace("        least_conn;", "        least_conn;\n" + servers, 1)
        text = text.replace("listen 8080;", f"listen 127.0.0.1:{self.port};")
        self.prefix.mkdir(parents=True, exist_ok=True)
        config = self.prefix / "sotong.conf"
        config.write_text(text, encoding="utf-8")
        self._log = open(self.prefix / "nginx.log", "ab")
        self.process = subprocess.Popen(
            [self.binary, "-p", str(self.prefix), "-c", str(config), "-g", "daemon off;"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{self.url}/healthz", timeout=1)
                return
            time.sleep(0.1)
        raise TimeoutError(f"nginx did not answer; see {self.prefix / 'nginx.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()


def _database_url(base: str, name: str) -> str:
    """``base`` (a libpq URL) with another database name."""
    head, _, tail = base.partition("?")
    return head.rsplit("/", 1)[0] + f"/{name}" + (f"?{tail}" if tail else "")


@contextlib.contextmanager
def fresh_databases(base_url: str, *names: str) -> Iterator[list[str]]:
    """New PostgreSQL databases for one farm, dropped afterwards (Rasa's tracker store
    wants a database of its own, not a schema)."""
    with psycopg.connect(base_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [_database_url(base_url, name) for name in names]
    finally:
        with psycopg.connect(base_url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Farm:
    """The scaled deployment: ``gateways[0]`` is A, ``gateways[1]`` B."""

    gateways: list[GatewayProcess]
    rasas: list[RasaServer]
    nginx: Nginx
    database_url: str  # the gateways' store
    tracker_url: str  # Rasa's
    redis_url: str
    var_dir: Path

    @property
    def a(self) -> GatewayProcess:
        return self.gateways[0]

    @property
    def b(self) -> GatewayProcess:
        return self.gateways[1]

    def restart_gateway(self, gateway: GatewayProcess) -> None:
        """Start a killed gateway again on its port; wait until it is ready."""
        gateway.start()
        gateway.wait_ready()

    def restart_rasa(self, rasa: RasaServer) -> None:
        rasa.start()
        rasa.wait_ready()

    def stop(self) -> None:
        self.nginx.stop()
        for gateway in self.gateways:
            gateway.stop()
        for rasa in self.rasas:
            rasa.stop()


def build_farm(
    model: Path,
    var_dir: Path,
    *,
    database_url: str,
    tracker_url: str,
    redis_url: str,
    nginx: str,
    extra_env: dict[str, str],
    pairs: int = 2,
) -> Farm:
    """Configure (not start) ``pairs`` gateways and as many Rasa servers, nginx in front."""
    gateway_ports = [free_port() for _ in range(pairs)]
    nginx_process = Nginx(nginx, gateway_ports, var_dir / "nginx")
    rasa_ports = [free_port() for _ in range(pairs)]
    rasa_token, actions_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    env = {
        "SOTONG_DATABASE_URL": database_url,
        "SOTONG_REDIS_URL": redis_url,
        "SOTONG_RASA_URLS": ",".join(f"http://127.0.0.1:{p}" for p in rasa_ports),
        "SOTONG_RASA_TRACKER_URL": tracker_url,
        "SOTONG_RASA_TOKEN": rasa_token,
        "SOTONG_ACTIONS_TOKEN": actions_token,
        **extra_env,
    }
    gateways = []
    for n, port in enumerate(gateway_ports):
        stack = build_stack(model, var_dir / f"gateway-{n + 1}", extra_env=env)
        gateway = stack.gateway
        gateway.port = port
        gateways.append(gateway)
    rasas = [
        RasaServer(
            model=model,
            port=port,
            # Rasa calls the custom actions through the balancer, as deployed.
            actions_url=f"{nginx_process.url}/webhooks/rasa/actions",
            actions_token=actions_token,
            auth_token=rasa_token,
            tracker_url=tracker_url,
            log_path=var_dir / f"rasa-{n + 1}.log",
            lock_redis_url=redis_url,
        )
        for n, port in enumerate(rasa_ports)
    ]
    return Farm(gateways, rasas, nginx_process, database_url, tracker_url, redis_url, var_dir)


@contextlib.contextmanager
def running_farm(farm: Farm) -> Iterator[Farm]:
    """Start everything, wait until every gateway is ready; stop on leaving."""
    try:
        for rasa in farm.rasas:
            rasa.start()
        farm.a.start()
        farm.a.wait_alive()  # the first migrates the new database; the others find it current
        for gateway in farm.gateways[1:]:
            gateway.start()
        farm.nginx.start()
        for rasa in farm.rasas:
            rasa.wait_ready()
        for gateway in farm.gateways:
            gateway.wait_ready()
        yield farm
    finally:
        farm.stop()


def as_stack(gateway: GatewayProcess) -> Any:
    """What the browser tests' helpers (tests/browser/consoles.py) read of a stack: its
    gateway (URL and environment)."""
    return SimpleNamespace(gateway=gateway)


def kill_rasa(rasa: RasaServer) -> None:
    """``kill -9`` of a Rasa server (its whole process group)."""
    if rasa.process is not None and rasa.process.poll() is None:
        os.killpg(rasa.process.pid, signal.SIGKILL)
        rasa.process.wait()
