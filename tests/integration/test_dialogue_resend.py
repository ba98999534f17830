"""A message whose request to Rasa timed out is processed once (review L7), against a
real Rasa 3.6 server and the real gateway process.

Rasa is stopped (SIGSTOP) past the gateway's timeout while a citizen's message is on its
way, then continued (SIGCONT). The gateway keeps the message and answers it later; Rasa
may meanwhile have finished the request it was given. Either way its tracker must hold
the message once, and the citizen must get one answer: the same one a citizen asking the
same in a fresh conversation gets.

Between the gateway and Rasa runs a small TCP proxy. Passing the gateway's hang-up on,
it is a plain connection: Rasa (Sanic) drops the request when it sees the hang-up.
Holding it, it is a proxy or load balancer that does not pass a client's abort on (nginx
with ``proxy_ignore_client_abort on``): Rasa finishes the turn and saves it, and the
gateway must find it in the tracker instead of sending the message again.

A second proxy carries Rasa's calls to the actions (the gateway): made slow, Rasa is
still in the middle of the turn when the gateway asks about it. Only a read that waits
for the conversation's lock in Rasa sees the turn then (``RasaClient.answered_turn``);
a plain ``GET …/tracker`` answers "not there" and the message goes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.store import TurnDirection
from assistant.texts import say
from tests.stackutil import Stack, build_stack, started

pytestmark = pytest.mark.rasa

QUESTION = "기초연금 신청하고 싶어요"
RASA_TIMEOUT = 3.0  # the gateway's, short so a pause past it stays short
KEPT = say("dialogue_unavailable", "ko")


class TcpProxy:
    """TCP proxy to a local port. ``hold``: a client's hang-up is not passed on, the
    request stays open and its answer is read and dropped. ``delay``: seconds each
    chunk a client sends waits before it goes on."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hold = False
        self.delay = 0.0
        # Strong references: asyncio keeps a task only weakly, and a stream's protocol
        # its reader only weakly, so once the client's side is gone the garbage
        # collector would close a held request's socket (a hang-up after all).
        self._serving: set[asyncio.Task[Any]] = set()
        self._streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        rasa_r, rasa_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        task.add_done_callback(self._serving.discard)
        self._streams.append((rasa_r, rasa_w))

        async def to_rasa() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await client_r.read(65536):
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    rasa_w.write(data)
                    await rasa_w.drain()
            if not self.hold:
                rasa_w.close()  # the hang-up, passed on

        async def to_client() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await rasa_r.read(65536):
                    if client_w.is_closing():
                        continue  # the client is gone: read the answer, drop it
                    client_w.write(data)
                    with contextlib.suppress(ConnectionError):
                        await client_w.drain()
            client_w.close()
            rasa_w.close()

        await asyncio.gather(to_rasa(), to_client())


@dataclass
class Proxied:
    stack: Stack
    to_rasa: TcpProxy  # the gateway's requests to Rasa
    to_actions: TcpProxy  # Rasa's calls to the actions


@pytest.fixture(scope="module")
def proxied(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxied]:
    stack = build_stack(
        rasa_model,
        tmp_path_factory.mktemp("resend"),
        {"SOTONG_RASA_TIMEOUT_SECONDS": str(RASA_TIMEOUT), "SOTONG_VOICE_PRELOAD": "false"},
    )
    with TcpProxy(stack.rasa.port) as to_rasa, TcpProxy(stack.gateway.port) as to_actions:
        stack.gateway.env["SOTONG_RASA_URL"] = f"http://127.0.0.1:{to_rasa.port}"
        stack.rasa.actions_url = stack.rasa.actions_url.replace(
            f":{stack.gateway.port}/", f":{to_actions.port}/"
        )
        with started(stack):
            yield Proxied(stack, to_rasa, to_actions)


def _answer(stack: Stack, conversation_id: str, inbound_id: int, wait: float = 60) -> list[str]:
    """The replies to the inbound turn other than "kept for later", once there are any."""
    deadline = time.monotonic() + wait
    while True:
        turns = stack.transcript(conversation_id)
        replies = [
            t.text
            for t in turns
            if t.direction is TurnDirection.OUTBOUND and t.reply_to == inbound_id
        ]
        answer = [r for r in replies if r != KEPT]
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


@pytest.mark.parametrize("fault", ["hang-up-passed-on", "hang-up-held", "slow-actions"])
def test_a_message_that_timed_out_is_processed_once(proxied: Proxied, fault: str) -> None:
    stack = proxied.stack
    with httpx.Client(base_url=stack.gateway.url, timeout=60) as gateway:

        def session() -> str:
            response = gateway.post("/api/webchat/sessions", json={"language": "ko"})
            assert response.status_code == 201, response.text
            return str(response.json()["session_id"])

        def say_(sid: str, text: str) -> dict[str, Any]:
            response = gateway.post(f"/api/webchat/sessions/{sid}/messages", json={"text": text})
            assert response.status_code == 200, response.text
            return dict(response.json())

        # What the dialogue answers this question when nothing goes wrong.
        fresh = session()
        expected = [m["text"] for m in say_(fresh, QUESTION)["messages"]]
        assert expected and KEPT not in expected

        citizen = session()
        assert not say_(citizen, "안녕하세요")["degraded"]  # its tracker exists
        proxied.to_rasa.hold = fault != "hang-up-passed-on"
        try:
            if fault == "slow-actions":
                # Rasa waits on its actions past the gateway's timeout; the turn ends
                # a moment after the gateway kept the message.
                proxied.to_actions.delay = RASA_TIMEOUT + 2
                kept = say_(citizen, QUESTION)
                proxied.to_actions.delay = 0
            else:
                with stack.rasa_paused():
                    started = time.monotonic()
                    kept = say_(citizen, QUESTION)
                    assert time.monotonic() - started >= RASA_TIMEOUT
                    time.sleep(0.5)
            assert kept["degraded"] and [m["text"] for m in kept["messages"]] == [KEPT]
            answer = _answer(stack, citizen, kept["inbound_id"])
            time.sleep(RASA_TIMEOUT + 2)  # a second delivery, if any, would be in by now
        finally:
            proxied.to_rasa.hold = False
            proxied.to_actions.delay = 0

    # One answer, the dialogue's usual one, each message of it once.
    assert answer == expected, answer
    assert all(n == 1 for n in Counter(answer).values())
    events = stack.tracker_events(citizen)
    users = [e for e in events if e["event"] == "user" and e.get("text") == QUESTION]
    assert len(users) == 1, [e.get("event") for e in events]
    assert users[0]["metadata"]["sotong_turn_id"] == kept["inbound_id"]
    print(
        f"[resend] {fault}: tracker has the message once; "
        f"checks in it: {sum(1 for e in events if e['event'] == 'agent')}"
    )
