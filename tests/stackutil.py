"""Start real gateway and Rasa processes for integration tests and benchmarks."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import httpx

from assistant.config import PROJECT_DIR
from assistant.stack import RasaServer, default_tracker_url, free_port
from voice.whisper_model import default_whisper_dir

if TYPE_CHECKING:
    from assistant.store import Turn

T = TypeVar("T")

# The Twilio account of the shared test stack (not a real one).
TWILIO_AUTH_TOKEN = "7a1c0e9f3b5d42e8a6c4f2b0d8e6a4c2"
TWILIO_ACCOUNT_SID = "AC" + "5ad0" * 8
TWILIO_PHONE_NUMBER = "+827012345678"
PUBLIC_URL = "https://sotong.test"
# Signs the stack's links, so a test can make one the gateway accepts.
SIGNING_KEY = "test-stack-links-2b7f9c4e1d8a6035"


@dataclass
class GatewayProcess:
    """`sotong serve` in its own process, as deployed."""

    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(PROJECT_DIR / ".venv" / "bin" / "sotong"), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _wait_for(self, path: str, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gateway exited; see {self.log_path}")
            try:
                if httpx.get(f"{self.url}{path}", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"gateway not {what} after {timeout}s; see {self.log_path}")

    def wait_alive(self, timeout: float = 60.0) -> None:
        self._wait_for("/healthz", timeout, "alive")

    def wait_ready(self, timeout: float = 180.0) -> None:
        self._wait_for("/readyz", timeout, "ready")

    def kill(self) -> None:
        """``kill -9``: what a crash looks like (nothing is flushed or answered)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()


@dataclass
class Stack:
    """A gateway and the Rasa server it talks to (and which calls its actions)."""

    gateway: GatewayProcess
    rasa: RasaServer
    var_dir: Path

    def stop(self) -> None:
        self.gateway.stop()
        self.rasa.stop()

    @contextlib.contextmanager
    def rasa_paused(self) -> Iterator[None]:
        """Rasa stops answering (SIGSTOP) but keeps its connections, like a hung server."""
        assert self.rasa.process is not None
        os.killpg(self.rasa.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.rasa.process.pid, signal.SIGCONT)

    def sms_conversation(self, phone: str) -> str:
        """The id of the SMS conversation of ``phone`` in the stack's store (SQLite)."""

        async def find(store: Any) -> str:
            conversation = await store.latest_conversation("sms", phone)
            assert conversation is not None, f"no SMS conversation of {phone}"
            return str(conversation.id)

        return self._read_store(find)

    def transcripts(self, conversation_ids: list[str]) -> dict[str, list[Turn]]:
        """The turns of each conversation, as the gateway stored them (SQLite)."""

        async def read(store: Any) -> dict[str, list[Turn]]:
            return {cid: await store.transcript(cid) for cid in conversation_ids}

        return self._read_store(read)

    def transcript(self, conversation_id: str) -> list[Turn]:
        """The turns of one conversation, as the gateway stored them (SQLite)."""
        return self.transcripts([conversation_id])[conversation_id]

    def tracker_events(self, conversation_id: str, include: str = "ALL") -> list[dict[str, Any]]:
        """Rasa's tracker events of a conversation, through Rasa's own HTTP API
        (``include``: Rasa's ``include_events``, ``ALL`` or ``AFTER_RESTART``)."""
        response = httpx.get(
            f"{self.rasa.url}/conversations/{conversation_id}/tracker",
            params={"token": self.rasa.auth_token, "include_events": include},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["events"]
        return events

    def _read_store(self, read: Callable[[Any], Awaitable[T]]) -> T:
        import asyncio

        from assistant.config import to_async_url
        from assistant.store import SqlConversationStore

        async def run() -> T:
            url = to_async_url(f"sqlite:///{self.var_dir / 'sotong.db'}")
            store = SqlConversationStore.from_url(url)
            try:
                return await read(store)
            finally:
                await store.close()

        return asyncio.run(run())


def build_stack(model: Path, var_dir: Path, extra_env: dict[str, str] | None = None) -> Stack:
    """Configure (not start) a gateway + Rasa pair on free ports, storing under var_dir."""
    var_dir.mkdir(parents=True, exist_ok=True)
    gateway_port, rasa_port = free_port(), free_port()
    rasa_token, actions_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    env = dict(os.environ)
    env.update(
        {
            "SOTONG_ENV": "development",
            "SOTONG_VAR_DIR": str(var_dir),
            "SOTONG_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "SOTONG_RASA_TOKEN": rasa_token,
            "SOTONG_ACTIONS_TOKEN": actions_token,
            "SOTONG_PENDING_RETRY_SECONDS": "1",
            "SOTONG_VOICE_PRELOAD": "true",
            # Twilio webhooks signed with these are accepted (tests sign with the SDK);
            # the outbox never reaches Twilio's cloud with them.
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "TWILIO_PHONE_NUMBER": TWILIO_PHONE_NUMBER,
            "SOTONG_PUBLIC_URL": PUBLIC_URL,
            "SOTONG_SECRET_KEY": SIGNING_KEY,
            # Every test and bench citizen comes from 127.0.0.1: the per-address abuse
            # limits would stop the suite, not an abuser (tests/unit/test_ratelimit.py
            # covers them), nor may a test walking a whole screening at machine speed
            # hit the per-session one.
            "SOTONG_LIMIT_SESSIONS": "100000/minute",
            "SOTONG_LIMIT_MESSAGES": "100000/minute",
            "SOTONG_LIMIT_SESSION_MESSAGES": "100000/minute",
            "SOTONG_LIMIT_SPEECH": "100000/minute",
            "SOTONG_LIMIT_SOCKETS": "100000/minute",
            # The same for requests for a person per source, and the queue's size (the
            # limits are tests/unit/test_handoff_service.py's).
            "SOTONG_LIMIT_LOGIN": "100000/minute",
            "SOTONG_LIMIT_LOGIN_ALL": "100000/minute",
            "SOTONG_HANDOFF_PER_SOURCE_HOUR": "100000",
            "SOTONG_HANDOFF_QUEUE_CAP": "100000",
            "SOTONG_TWILIO_API_URL": "http://127.0.0.1:9",
            **(extra_env or {}),
        }
    )
    # The stack stores under a temporary var_dir, but hears with the Whisper model that
    # `sotong models prepare` assembled in the project's var/, as `make run` does.
    whisper = default_whisper_dir(PROJECT_DIR / "var")
    if "SOTONG_WHISPER_MODEL" not in env and (whisper / "model.bin").is_file():
        env["SOTONG_WHISPER_MODEL"] = str(whisper)
    gateway = GatewayProcess(port=gateway_port, env=env, log_path=var_dir / "gateway.log")
    rasa = RasaServer(
        model=model,
        port=rasa_port,
        actions_url=f"http://127.0.0.1:{gateway_port}/webhooks/rasa/actions",
        actions_token=actions_token,
        auth_token=rasa_token,
        tracker_url=default_tracker_url(var_dir),
        log_path=var_dir / "rasa.log",
    )
    return Stack(gateway=gateway, rasa=rasa, var_dir=var_dir)


@contextlib.contextmanager
def running_stack(
    model: Path, var_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """A gateway + Rasa pair, started and ready; stopped on leaving."""
    with started(build_stack(model, var_dir, extra_env)) as stack:
        yield stack


@contextlib.contextmanager
def started(stack: Stack) -> Iterator[Stack]:
    """Start a stack ``build_stack`` configured (and a test perhaps rewired), wait until
    it is ready; stop it on leaving."""
    stack.gateway.start()
    stack.rasa.start()
    try:
        stack.gateway.wait_alive()
        stack.rasa.wait_ready()
        stack.gateway.wait_ready()
        yield stack
    finally:
        stack.stop()


def hand_moved_clock_env(var_dir: Path) -> dict[str, str]:
    """Extra environment for a gateway whose clock a test moves by hand (``move_clock``):
    tests/shifted_clock/sitecustomize.py, which reads ``SOTONG_CLOCK_FILE`` on SIGUSR1.
    Rasa keeps the real time (its interpreter has no time-machine): our time rules live
    in the gateway."""
    shifter = str(PROJECT_DIR / "tests" / "shifted_clock")
    path = os.environ.get("PYTHONPATH", "")
    paths = [p for p in path.split(os.pathsep) if p]
    return {
        "SOTONG_CLOCK_FILE": str(var_dir / "clock-offset"),
        "PYTHONPATH": os.pathsep.join([shifter, *[p for p in paths if p != shifter]]),
    }


def move_clock(stack: Stack, to: float) -> None:
    """Move the gateway's wall clock to Unix time ``to`` (in this process's time, which a
    shifted-clock run shares) and wait until its responses' Date header says so."""
    from email.utils import parsedate_to_datetime

    assert stack.gateway.process is not None, "the gateway is not running"
    # The gateway's time is this process's plus the file's offset.
    Path(stack.gateway.env["SOTONG_CLOCK_FILE"]).write_text(str(to - time.time()))
    os.kill(stack.gateway.process.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stamp = httpx.get(f"{stack.gateway.url}/healthz", timeout=5).headers.get("date")
        if stamp and abs(parsedate_to_datetime(stamp).timestamp() - to) < 5:
            return
        time.sleep(0.2)
    raise AssertionError("the gateway's clock did not move (is SOTONG_CLOCK_FILE set?)")
