"""Start and stop the Rasa server as a child process (used by `sotong run` and tests)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import structlog
from sqlalchemy.engine import make_url

from assistant.config import PROJECT_DIR
from assistant.training import NLU_DIR, rasa_command, rasa_environment

log = structlog.get_logger(__name__)


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, so Rasa is never orphaned."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def tracker_store_env(tracker_url: str) -> dict[str, str]:
    """The SOTONG_RASA_TRACKER_* variables nlu/endpoints.yml reads."""
    dialect = tracker_url.split(":", 1)[0].split("+", 1)[0]
    if dialect == "postgres":
        dialect = "postgresql"
    database = tracker_url.rsplit("/", 1)[-1]
    return {
        "SOTONG_RASA_TRACKER_DIALECT": dialect,
        "SOTONG_RASA_TRACKER_URL": tracker_url,
        "SOTONG_RASA_TRACKER_DB": database,
    }


# Rasa's own lock keys (its RedisLockStore wants an alphanumeric prefix): apart from the
# gateway's ``sotong:…`` keys in the same Redis.
RASA_LOCK_PREFIX = "sotongrasa"


def lock_store_env(redis_url: str | None) -> dict[str, str]:
    """The SOTONG_RASA_LOCK_* variables nlu/endpoints.yml reads: Rasa's lock store, in
    memory for one server, on Redis when several share one tracker store (issue 18
    point 7: a conversation's turns are then taken one at a time whichever server gets
    them)."""
    if not redis_url:
        return {
            "SOTONG_RASA_LOCK_STORE": "in_memory",
            "SOTONG_RASA_LOCK_HOST": "localhost",
            "SOTONG_RASA_LOCK_PORT": "6379",
            "SOTONG_RASA_LOCK_DB": "0",
            "SOTONG_RASA_LOCK_PASSWORD": "",
            "SOTONG_RASA_LOCK_PREFIX": RASA_LOCK_PREFIX,
        }
    url = urllib.parse.urlsplit(redis_url)
    return {
        "SOTONG_RASA_LOCK_STORE": "redis",
        "SOTONG_RASA_LOCK_HOST": url.hostname or "localhost",
        "SOTONG_RASA_LOCK_PORT": str(url.port or 6379),
        "SOTONG_RASA_LOCK_DB": url.path.strip("/") or "0",
        "SOTONG_RASA_LOCK_PASSWORD": urllib.parse.unquote(url.password or ""),
        "SOTONG_RASA_LOCK_PREFIX": RASA_LOCK_PREFIX,
    }


def prepare_sqlite_tracker(tracker_url: str) -> None:
    """Put Rasa's SQLite tracker store file in WAL mode before Rasa opens it (nothing
    for another database).

    Rasa opens SQLite with its default rollback journal: every save of a tracker
    creates, syncs and deletes a journal file (about 6 ms a commit on the development
    machine, against about 1 ms in WAL), on Rasa's event loop, once a turn; and a
    reader blocks the writer. WAL is a property of the file, so setting it once here is
    enough, and Rasa's SQLAlchemy connections work with it unchanged (the gateway's
    tracker eraser opens the same file in WAL too, ``assistant/trackers.py``). A file
    another process holds cannot change mode: Rasa then runs as before, and we say so.
    """
    url = make_url(tracker_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if not path.is_absolute():
        path = NLU_DIR / path  # Rasa's working directory
    if not path.parent.is_dir():
        return  # Rasa will say so itself
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=5.0)) as db:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    except sqlite3.Error as exc:
        log.warning("rasa.tracker_journal_unchanged", error=str(exc))
        return
    if str(mode).lower() != "wal":
        log.warning("rasa.tracker_journal_unchanged", mode=mode)


def free_port() -> int:
    """A local TCP port nobody listens on right now (for a server about to start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def default_tracker_url(var_dir: Path) -> str:
    """Rasa's own SQLite tracker store file, beside the gateway's."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir / 'rasa-tracker.db'}"


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a process log, so a failure in CI shows its cause."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(log unreadable: {error})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class RasaServer:
    """One `rasa run --enable-api` process."""

    model: Path
    port: int
    actions_url: str
    tracker_url: str
    log_path: Path
    auth_token: str | None = None
    actions_token: str | None = None
    host: str = "127.0.0.1"
    lock_redis_url: str | None = None  # several servers: Rasa's lock store on Redis
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://{self.host}:{self.port}"

    def command(self) -> list[str]:
        """The command line."""
        command = [
            *rasa_command(),
            "run",
            "--enable-api",
            "--model",
            str(self.model),
            "--endpoints",
            str(NLU_DIR / "endpoints.yml"),
            "--credentials",
            str(NLU_DIR / "credentials.yml"),
            "--interface",
            self.host,
            "--port",
            str(self.port),
        ]
        # The API token is not here: a command line is readable by every local user
        # (review L11). nlu/rasa_cli.py adds it from the environment (``environment``).
        return command

    def environment(self) -> dict[str, str]:
        """Environment with the endpoints' variables."""
        actions_url = self.actions_url
        if self.actions_token:
            # Rasa's action endpoint passes no custom headers; the token rides in the URL.
            actions_url += ("&" if "?" in actions_url else "?") + f"token={self.actions_token}"
        secrets = {"SOTONG_RASA_TOKEN": self.auth_token} if self.auth_token else {}
        return rasa_environment(
            {
                "SOTONG_ACTIONS_URL": actions_url,
                **tracker_store_env(self.tracker_url),
                **lock_store_env(self.lock_redis_url),
                **secrets,
            }
        )

    def start(self) -> None:
        """Launch the process (returns at once; the model loads in the background)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        prepare_sqlite_tracker(self.tracker_url)
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed command, no shell
            self.command(),
            cwd=NLU_DIR,
            env=self.environment(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Block until /status reports a loaded model; raise if it dies or times out."""
        deadline = time.monotonic() + timeout
        params = {"token": self.auth_token} if self.auth_token else {}
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"Rasa exited with {self.process.returncode}; the end of {self.log_path}:\n"
                    + log_tail(self.log_path)
                )
            try:
                response = httpx.get(f"{self.url}/status", params=params, timeout=2.0)
                if response.status_code == 200 and response.json().get("model_file"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(
            f"Rasa not ready after {timeout:.0f}s; the end of {self.log_path}:\n"
            + log_tail(self.log_path)
        )

    def kill(self) -> None:
        """Kill at once (what a crash looks like to the gateway)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, grace: float = 10.0) -> None:
        """Stop politely, then by force."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def var_log(name: str) -> Path:
    """A log file under var/log."""
    return PROJECT_DIR / "var" / "log" / name
