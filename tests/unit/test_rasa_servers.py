"""Several Rasa servers behind one gateway (assistant/rasa_client.py, issue 18 point 7).

Two servers answer Rasa's REST channel as JSON over HTTP (httpx.MockTransport speaking
its wire format); a hand-moved monotonic clock. Conversations spread over both and stay
on theirs; a server that refuses connections is skipped (its conversations move, and it
is left alone for a while, then tried again); a server that took a turn and then timed
out is not replaced by another (it may have processed the turn).
"""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest

from assistant.config import Settings
from assistant.rasa_client import RasaClient, RasaUnavailable

A, B = "http://rasa-a.test", "http://rasa-b.test"


class Servers:
    """Both servers: which took which sender, and which are refusing or stalling."""

    def __init__(self) -> None:
        self.took: list[tuple[str, str]] = []  # (server, sender)
        self.refusing: set[str] = set()
        self.stalling: set[str] = set()

    def handle(self, request: httpx.Request) -> httpx.Response:
        server = f"{request.url.scheme}://{request.url.host}"
        if server in self.refusing:
            raise httpx.ConnectError("connection refused", request=request)
        if server in self.stalling:
            raise httpx.ReadTimeout("read timed out", request=request)
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": f"{server}.tar.gz"})
        sender = json.loads(request.content)["sender"]
        self.took.append((server, sender))
        return httpx.Response(200, json=[{"text": f"{server} answers {sender}"}])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def servers() -> Servers:
    return Servers()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(servers: Servers, clock: Clock) -> RasaClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(servers.handle))
    return RasaClient([A, B], http, down_seconds=30.0, clock=clock)


async def test_conversations_spread_over_both_and_stay_on_theirs(
    client: RasaClient, servers: Servers
) -> None:
    senders = [f"conversation-{n}" for n in range(60)]
    for sender in senders * 2:
        await client.send_message(sender, "안녕하세요", {})
    by_sender: dict[str, set[str]] = {}
    for server, sender in servers.took:
        by_sender.setdefault(sender, set()).add(server)
    assert all(len(taken) == 1 for taken in by_sender.values())  # each stays put
    spread = Counter(next(iter(taken)) for taken in by_sender.values())
    assert spread[A] > 15 and spread[B] > 15  # both take a fair share


async def test_a_refusing_server_is_skipped_then_tried_again(
    client: RasaClient, servers: Servers, clock: Clock
) -> None:
    on_a = next(s for s in (f"c{n}" for n in range(50)) if client.servers_for(s)[0] == A)
    servers.refusing.add(A)
    answer = await client.send_message(on_a, "안녕하세요", {})
    assert answer[0].text == f"{B} answers {on_a}"  # it never reached A: B took it
    servers.took.clear()
    await client.send_message(on_a, "또요", {})
    assert servers.took == [(B, on_a)]  # A is left alone while marked down
    servers.refusing.clear()
    clock.now += 31  # after down_seconds A is first again for its conversations
    servers.took.clear()
    await client.send_message(on_a, "다시", {})
    assert servers.took == [(A, on_a)]


async def test_a_turn_a_server_took_is_not_sent_to_another(
    client: RasaClient, servers: Servers
) -> None:
    on_a = next(s for s in (f"c{n}" for n in range(50)) if client.servers_for(s)[0] == A)
    servers.stalling.add(A)
    with pytest.raises(RasaUnavailable, match="ReadTimeout"):
        await client.send_message(on_a, "안녕하세요", {})
    assert servers.took == []  # B never got it: the kept-message path asks A later


async def test_all_refusing_is_rasa_unavailable_and_status_asks_the_next(
    client: RasaClient, servers: Servers
) -> None:
    servers.refusing.add(A)
    assert (await client.status()).model_file == f"{B}.tar.gz"
    servers.refusing.add(B)
    with pytest.raises(RasaUnavailable, match="ConnectError"):
        await client.send_message("c1", "안녕하세요", {})


def test_settings_list_the_servers() -> None:
    one = Settings(_env_file=None, rasa_url="http://127.0.0.1:5005")
    assert one.rasa_servers == ["http://127.0.0.1:5005"]
    many = Settings(_env_file=None, rasa_urls=f"{A}, {B},")
    assert many.rasa_servers == [A, B]
