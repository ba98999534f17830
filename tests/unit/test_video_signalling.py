"""Video calls: signed join links, the signalling hub, and the page and socket routes.

The hub is exercised directly (plain asyncio); the routes on a small app whose handoff
service and account store are stand-ins that answer like the real ones.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.accounts import Account, Role, WebSession
from assistant.api.auth import SESSION_COOKIE
from assistant.config import Settings
from assistant.handoff.records import QueueEntry, QueueState
from assistant.video.signalling import (
    CLOSE_ENDED,
    CLOSE_REPLACED,
    CLOSE_TOO_SLOW,
    MAX_FRAME_BYTES,
    MAX_SDP_BYTES,
    REPLACED_REASON,
    Close,
    SignallingConnection,
    SignallingHub,
)
from assistant.video.tokens import check_join_token, join_path, join_token
from channels import video
from tests.clock import ManualClock

KEY = b"k" * 32
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


# ---------------------------------------------------------------- tokens


def token_of(path: str) -> str:
    return path.split("?t=", 1)[1]


def test_a_join_link_opens_its_request_until_it_expires() -> None:
    path = join_path(KEY, 42, NOW)
    assert path.startswith("/video/42?t=")
    token = token_of(path)
    assert check_join_token(KEY, 42, token, NOW)
    assert check_join_token(KEY, 42, token, NOW + dt.timedelta(hours=3, minutes=59))
    assert not check_join_token(KEY, 42, token, NOW + dt.timedelta(hours=4))
    assert not check_join_token(KEY, 42, token, NOW + dt.timedelta(days=2))


def test_a_join_link_is_url_safe_and_carries_its_expiry() -> None:
    expires = int((NOW + dt.timedelta(minutes=5)).timestamp())
    token = join_token(KEY, 7, expires)
    assert token.split(".")[0] == str(expires)
    assert all(c.isalnum() or c in "-_." for c in token)
    short = token_of(join_path(KEY, 7, NOW, ttl=dt.timedelta(minutes=5)))
    assert short == token


def test_a_join_link_does_not_open_another_request_or_with_another_key() -> None:
    token = token_of(join_path(KEY, 42, NOW))
    assert not check_join_token(KEY, 43, token, NOW)
    assert not check_join_token(b"other key" * 4, 42, token, NOW)
    assert not check_join_token(b"", 42, token, NOW)


def test_a_tampered_join_link_is_refused() -> None:
    token = token_of(join_path(KEY, 42, NOW))
    expiry, mac = token.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    stretched = f"{int(expiry) + 86400}.{mac}"
    for bad in (f"{expiry}.{flipped}", stretched, "", None, "garbage", f"{expiry}.", token + "x"):
        assert not check_join_token(KEY, 42, bad, NOW), bad


def test_tokens_refuse_an_empty_key_and_a_naive_time() -> None:
    with pytest.raises(ValueError):
        join_token(b"", 1, 10)
    with pytest.raises(ValueError):
        join_path(KEY, 1, dt.datetime(2026, 3, 2, 9, 30))
    with pytest.raises(ValueError):
        check_join_token(KEY, 1, "1.x", dt.datetime(2026, 3, 2, 9, 30))


# ---------------------------------------------------------------- hub


async def drain(connection: SignallingConnection) -> list[dict[str, Any] | Close]:
    out: list[dict[str, Any] | Close] = []
    while True:
        try:
            item = await asyncio.wait_for(connection.next(), 0.01)
        except TimeoutError:
            return out
        out.append(item)
        if isinstance(item, Close):
            return out


async def test_both_sides_hear_of_each_other_after_their_greeting() -> None:
    hub = SignallingHub()
    person = hub.join(5, "person", greeting={"type": "welcome", "role": "person"})
    assert await drain(person) == [{"type": "welcome", "role": "person"}]
    citizen = hub.join(5, "citizen", greeting={"type": "welcome", "role": "citizen"})
    assert await drain(citizen) == [
        {"type": "welcome", "role": "citizen"},
        {"type": "peer-joined", "role": "person"},
    ]
    assert await drain(person) == [{"type": "peer-joined", "role": "citizen"}]
    assert hub.present(5) == {"person", "citizen"}
    assert hub.present(6) == frozenset()


async def test_well_formed_messages_are_relayed_to_the_other_side_only() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    other_room = hub.join(2, "citizen")
    await drain(person), await drain(citizen)

    assert hub.receive(person, json.dumps({"type": "offer", "sdp": SDP}))
    assert hub.receive(citizen, json.dumps({"type": "answer", "sdp": SDP}))
    assert hub.receive(citizen, json.dumps({"type": "candidate", "candidate": CANDIDATE}))
    end_of_candidates = {"candidate": "", "sdpMid": "0", "sdpMLineIndex": None}
    assert hub.receive(person, json.dumps({"type": "candidate", "candidate": end_of_candidates}))
    assert hub.receive(person, json.dumps({"type": "bye"}))

    assert await drain(citizen) == [
        {"type": "offer", "sdp": SDP},
        {"type": "candidate", "candidate": end_of_candidates},
        {"type": "bye"},
    ]
    assert await drain(person) == [
        {"type": "answer", "sdp": SDP},
        {"type": "candidate", "candidate": CANDIDATE},
    ]
    assert await drain(other_room) == []
    assert hub.relayed == 5
    assert not hub.dropped


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not_json"),
        ("[1, 2]", "not_object"),
        (json.dumps({"type": "chat", "text": "hi"}), "unknown_type"),
        (json.dumps({"sdp": SDP}), "unknown_type"),
        (json.dumps({"type": "offer"}), "bad_sdp"),
        (json.dumps({"type": "offer", "sdp": ""}), "bad_sdp"),
        (json.dumps({"type": "offer", "sdp": {"x": 1}}), "bad_sdp"),
        (json.dumps({"type": "answer", "sdp": SDP, "extra": "<script>"}), "bad_sdp"),
        (json.dumps({"type": "offer", "sdp": "a" * (MAX_SDP_BYTES + 1)}), "sdp_too_large"),
        # 11,000 Korean characters are 33,000 bytes: the limit is in bytes.
        (json.dumps({"type": "offer", "sdp": "가" * 11_000}, ensure_ascii=False), "sdp_too_large"),
        (json.dumps({"type": "candidate", "candidate": "candidate:1"}), "bad_candidate"),
        (json.dumps({"type": "candidate", "candidate": {"sdpMid": "0"}}), "bad_candidate"),
        (json.dumps({"type": "candidate", "candidate": {"candidate": "c"}}), "bad_candidate"),
        (
            json.dumps({"type": "candidate", "candidate": {**CANDIDATE, "sdpMLineIndex": True}}),
            "bad_candidate",
        ),
        (
            json.dumps({"type": "candidate", "candidate": {**CANDIDATE, "sdpMLineIndex": -1}}),
            "bad_candidate",
        ),
        (
            json.dumps({"type": "candidate", "candidate": {**CANDIDATE, "candidate": 5}}),
            "bad_candidate",
        ),
        (
            json.dumps({"type": "candidate", "candidate": {**CANDIDATE, "evil": "x"}}),
            "bad_candidate",
        ),
        (
            json.dumps({"type": "candidate", "candidate": {**CANDIDATE, "candidate": "c" * 5000}}),
            "bad_candidate",
        ),
        (json.dumps({"type": "bye", "reason": "x"}), "bad_bye"),
        (" " * (MAX_FRAME_BYTES + 1), "too_large"),
        (b"\x00\x01", "binary"),
    ],
)
async def test_malformed_messages_are_dropped_and_counted(frame: str | bytes, reason: str) -> None:
    told: list[str] = []
    hub = SignallingHub(on_drop=told.append)  # the gateway counts them in /metrics
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)
    assert not hub.receive(person, frame)
    assert hub.dropped == {reason: 1}
    assert told == [reason]
    assert person.drops == 1
    assert await drain(citizen) == []
    assert hub.relayed == 0
    # The connection stays usable.
    assert hub.receive(person, json.dumps({"type": "bye"}))


async def test_a_ping_gets_a_pong_and_is_not_relayed() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)
    assert not hub.receive(citizen, '{"type": "ping"}')
    assert await drain(citizen) == [{"type": "pong"}]
    assert await drain(person) == []
    assert not hub.dropped


async def test_messages_before_the_other_side_joins_are_not_kept() -> None:
    hub = SignallingHub()
    person = hub.join(1, "person")
    assert not hub.receive(person, json.dumps({"type": "offer", "sdp": SDP}))
    assert hub.dropped == {"no_peer": 1}
    citizen = hub.join(1, "citizen")
    # The newcomer hears only that the person is there; both then negotiate afresh.
    assert await drain(citizen) == [{"type": "peer-joined", "role": "person"}]


async def test_a_new_connection_of_a_role_replaces_the_old_one() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)

    again = hub.join(1, "citizen", greeting={"type": "welcome"})
    assert await drain(citizen) == [Close(CLOSE_REPLACED, REPLACED_REASON)]
    assert citizen.closed is not None
    assert await drain(again) == [{"type": "welcome"}, {"type": "peer-joined", "role": "person"}]
    # The person is told the citizen's place was taken (review L9), then negotiates.
    assert await drain(person) == [
        {"type": "peer-replaced", "role": "citizen"},
        {"type": "peer-joined", "role": "citizen"},
    ]

    # The old socket's late messages and its leaving change nothing.
    assert not hub.receive(citizen, json.dumps({"type": "bye"}))
    assert hub.dropped == {"not_joined": 1}
    hub.leave(citizen)
    assert await drain(person) == []
    assert hub.present(1) == {"person", "citizen"}
    assert hub.receive(person, json.dumps({"type": "offer", "sdp": SDP}))
    assert await drain(again) == [{"type": "offer", "sdp": SDP}]


async def test_a_replaced_socket_is_told_it_was_opened_elsewhere_and_the_other_side_too() -> None:
    """Review L9: a forwarded link that takes the citizen's place is not silent."""
    hub = SignallingHub()
    citizen = hub.join(4, "citizen")
    await drain(citizen)
    alone = hub.join(4, "citizen")  # nobody on the other side: nothing more to tell
    assert await drain(citizen) == [Close(CLOSE_REPLACED, REPLACED_REASON)]
    assert "opened elsewhere" in REPLACED_REASON and len(REPLACED_REASON.encode()) <= 123
    person = hub.join(4, "person")
    await drain(person), await drain(alone)
    again = hub.join(4, "person")  # the person's console in a second tab
    assert await drain(person) == [Close(CLOSE_REPLACED, REPLACED_REASON)]
    assert await drain(alone) == [
        {"type": "peer-replaced", "role": "person"},
        {"type": "peer-joined", "role": "person"},
    ]
    assert await drain(again) == [{"type": "peer-joined", "role": "citizen"}]


async def test_the_gateway_can_close_one_side() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(6, "person"), hub.join(6, "citizen")
    await drain(person), await drain(citizen)
    hub.close(person, Close(4401, "signed out"))
    assert await drain(person) == [Close(4401, "signed out")]
    hub.leave(person)  # what the route does once the socket is closed
    assert await drain(citizen) == [{"type": "peer-left", "role": "person"}]


async def test_leaving_tells_the_other_side_and_empties_the_room() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)
    hub.leave(citizen)
    assert await drain(person) == [{"type": "peer-left", "role": "citizen"}]
    assert hub.present(1) == {"person"}
    hub.leave(person)
    assert hub.rooms == 0
    assert not hub.receive(person, json.dumps({"type": "bye"}))


async def test_ending_a_call_closes_both_sides_after_what_they_were_sent() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)
    hub.receive(person, json.dumps({"type": "bye"}))
    assert hub.end(1)
    assert not hub.end(1)
    assert await drain(citizen) == [{"type": "bye"}, Close(CLOSE_ENDED, "the call has ended")]
    assert await drain(person) == [Close(CLOSE_ENDED, "the call has ended")]
    assert hub.rooms == 0


async def test_a_socket_that_does_not_keep_up_is_closed() -> None:
    hub = SignallingHub(queue_size=3)
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)
    offer = json.dumps({"type": "offer", "sdp": SDP})
    assert [hub.receive(person, offer) for _ in range(4)] == [True, True, True, False]
    assert await drain(citizen) == [Close(CLOSE_TOO_SLOW, "too far behind")]
    assert hub.dropped == {"peer_closed": 1}


async def test_next_waits_for_a_message() -> None:
    hub = SignallingHub()
    person, citizen = hub.join(1, "person"), hub.join(1, "citizen")
    await drain(person), await drain(citizen)
    waiting = asyncio.create_task(citizen.next())
    await asyncio.sleep(0)
    assert not waiting.done()
    hub.receive(person, json.dumps({"type": "bye"}))
    assert await asyncio.wait_for(waiting, 1) == {"type": "bye"}


def test_unknown_roles_cannot_join() -> None:
    with pytest.raises(ValueError):
        SignallingHub().join(1, "admin")


# ---------------------------------------------------------------- routes

ICE = [{"urls": "turn:turn.example:3478", "username": "u", "credential": "c"}]


@dataclass
class FakeQueue:
    entries: dict[int, QueueEntry] = field(default_factory=dict)

    async def get(self, request_id: int) -> QueueEntry | None:
        return self.entries.get(request_id)


@dataclass
class FakeHandoff:
    """Answers ``holds`` from who accepted the entry, as the real service does."""

    queue: FakeQueue = field(default_factory=FakeQueue)

    async def holds(self, account: Account, request_id: int) -> bool:
        entry = await self.queue.get(request_id)
        return entry is not None and entry.accepted_by == account.username


@dataclass
class FakeAccounts:
    """Like the real store: no session for a signed-out token or a disabled account."""

    sessions: dict[str, WebSession] = field(default_factory=dict)

    async def session(self, token: str | None) -> WebSession | None:
        found = self.sessions.get(token or "")
        return found if found is not None and found.account.active else None


def entry(request_id: int, state: QueueState, accepted_by: str | None) -> QueueEntry:
    return QueueEntry(
        id=request_id,
        conversation_id="c" * 32,
        reason="sign_language",
        service=None,
        channel="webchat",
        language="ko",
        state=state,
        skill="ksl",
        created_at=NOW,
        accepted_by=accepted_by,
    )


def web_session(username: str, role: Role) -> WebSession:
    account = Account(
        id=1,
        username=username,
        name=username.title(),
        role=role,
        centre=None,
        region=None,
        active=True,
        created_at=NOW,
    )
    return WebSession(token=f"tok-{username}", csrf_token="csrf", account=account, expires_at=NOW)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The join links' clock, moved by hand: the page and the sockets check links at NOW."""
    clock = ManualClock(NOW)
    monkeypatch.setattr(video, "_now", clock)
    return clock


@pytest.fixture
def app(clock: ManualClock) -> FastAPI:
    handoff = FakeHandoff()
    handoff.queue.entries = {
        1: entry(1, QueueState.ACCEPTED, "mina"),
        2: entry(2, QueueState.RESOLVED, "mina"),
        3: entry(3, QueueState.IN_SESSION, "jun"),
    }
    accounts = FakeAccounts(
        {
            s.token: s
            for s in (
                web_session("mina", Role.INTERPRETER),
                web_session("jun", Role.STAFF),
                web_session("root", Role.ADMIN),
            )
        }
    )
    app = FastAPI()
    app.include_router(video.router)
    app.include_router(video.page_router)
    app.state.services = SimpleNamespace(
        signing_key=KEY,
        video=SignallingHub(),
        handoff=handoff,
        accounts=accounts,
        settings=Settings(_env_file=None, ice_servers=ICE),
    )
    return app


def test_the_join_page_opens_with_a_good_link(app: FastAPI) -> None:
    client = TestClient(app)
    response = client.get(join_path(KEY, 1, NOW))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/static/video/video.js" in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


# Links checked at NOW by the hand-moved clock: the same at any date, and the same test
# ids in every pytest-xdist worker.
BAD_LINKS = {
    "no token": "/video/1",
    "nonsense": "/video/1?t=nonsense",
    "another request": join_path(KEY, 3, NOW).replace("/video/3", "/video/1"),
    "expired": join_path(KEY, 1, NOW - dt.timedelta(hours=5)),
    "another key": join_path(b"another key", 1, NOW),
}


@pytest.mark.parametrize("bad", BAD_LINKS)
def test_a_bad_or_expired_link_gets_a_plain_refusal(app: FastAPI, bad: str) -> None:
    response = TestClient(app).get(BAD_LINKS[bad])
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "이 링크로는 통화에 들어갈 수 없습니다" in response.text
    assert "This link cannot open the call" in response.text
    assert "107 손말이음센터" in response.text
    assert response.headers["cache-control"] == "no-store"


def test_the_link_of_a_finished_request_says_the_call_is_over(app: FastAPI) -> None:
    response = TestClient(app).get(join_path(KEY, 2, NOW))
    assert response.status_code == 410
    assert "이 통화는 끝났습니다" in response.text
    assert "This call has ended" in response.text


def close_code(client: TestClient, url: str, **kwargs: Any) -> int:
    with pytest.raises(WebSocketDisconnect) as refused:
        with client.websocket_connect(url, **kwargs) as socket:
            socket.receive_json()
    return refused.value.code


def ws_url(request_id: int, role: str, token: str | None = None) -> str:
    url = f"/api/video/{request_id}/ws?role={role}"
    return url + (f"&t={token}" if token else "")


def test_the_citizen_needs_a_good_link_to_signal(app: FastAPI) -> None:
    client = TestClient(app)
    good = token_of(join_path(KEY, 1, NOW))
    assert close_code(client, ws_url(1, "citizen")) == 4403
    assert close_code(client, ws_url(1, "citizen", good[:-2] + "AA")) == 4403
    assert close_code(client, ws_url(3, "citizen", good)) == 4403
    assert close_code(client, ws_url(1, "admin", good)) == 4403
    finished = token_of(join_path(KEY, 2, NOW))
    assert close_code(client, ws_url(2, "citizen", finished)) == 4404


def test_the_person_needs_a_session_a_same_site_origin_and_the_request(app: FastAPI) -> None:
    client = TestClient(app)
    origin = {"origin": "http://testserver"}
    assert close_code(client, ws_url(1, "person"), headers=origin) == 4401
    client.cookies.set(SESSION_COOKIE, "tok-mina")
    # A page on another site cannot use the interpreter's cookie.
    evil = {"origin": "https://evil.example"}
    assert close_code(client, ws_url(1, "person"), headers=evil) == 4401
    assert close_code(client, ws_url(1, "person")) == 4401  # no Origin at all
    assert close_code(client, ws_url(3, "person"), headers=origin) == 4403  # jun holds it
    assert close_code(client, ws_url(2, "person"), headers=origin) == 4404  # over
    client.cookies.set(SESSION_COOKIE, "tok-root")
    assert close_code(client, ws_url(1, "person"), headers=origin) == 4401  # an admin


def test_person_and_citizen_meet_and_signal_through_the_gateway(app: FastAPI) -> None:
    token = token_of(join_path(KEY, 1, NOW))
    hub: SignallingHub = app.state.services.video
    person_headers = {"origin": "http://testserver", "cookie": f"{SESSION_COOKIE}=tok-mina"}

    # One client, entered: both sockets on one event loop, as in the gateway. Two
    # clients (or one not entered) run each socket on its own loop in its own thread,
    # and the hub's asyncio.Event, set from the other thread, then sometimes never
    # wakes the reader (this test hung about one run in twenty that way).
    with (
        TestClient(app) as client,
        client.websocket_connect(ws_url(1, "person"), headers=person_headers) as person,
    ):
        assert person.receive_json() == {
            "type": "welcome",
            "role": "person",
            "polite": False,
            "ice_servers": ICE,
        }
        with client.websocket_connect(ws_url(1, "citizen", token)) as citizen:
            welcome = citizen.receive_json()
            assert welcome["polite"] is True and welcome["ice_servers"] == ICE
            assert citizen.receive_json() == {"type": "peer-joined", "role": "person"}
            assert person.receive_json() == {"type": "peer-joined", "role": "citizen"}

            person.send_text(json.dumps({"type": "offer", "sdp": SDP}))
            assert citizen.receive_json() == {"type": "offer", "sdp": SDP}
            citizen.send_text(json.dumps({"type": "candidate", "candidate": CANDIDATE}))
            assert person.receive_json() == {"type": "candidate", "candidate": CANDIDATE}
            citizen.send_text("<not json>")
            citizen.send_bytes(b"\x00")
            citizen.send_text('{"type": "ping"}')
            assert citizen.receive_json() == {"type": "pong"}
            assert hub.dropped == {"not_json": 1, "binary": 1}

            # The citizen reloads (or someone else opens the link): the new socket
            # replaces the old one, which is told why; the person is told too.
            with client.websocket_connect(ws_url(1, "citizen", token)) as again:
                assert again.receive_json()["type"] == "welcome"
                assert again.receive_json() == {"type": "peer-joined", "role": "person"}
                assert person.receive_json() == {"type": "peer-replaced", "role": "citizen"}
                assert person.receive_json() == {"type": "peer-joined", "role": "citizen"}
                with pytest.raises(WebSocketDisconnect) as replaced:
                    citizen.receive_json()
                assert replaced.value.code == CLOSE_REPLACED
                assert replaced.value.reason == REPLACED_REASON
            assert person.receive_json() == {"type": "peer-left", "role": "citizen"}

        # The handoff is closed: the gateway ends the call.
        hub.end(1)
        with pytest.raises(WebSocketDisconnect) as ended:
            person.receive_json()
        assert ended.value.code == CLOSE_ENDED
    assert hub.rooms == 0


# ---------------------------------------------------------------- review L9 on the routes

TURN_SECRET = "north-wind-and-the-sun"
TURN_URLS = ["turn:turn.example:3478?transport=udp", "turns:turn.example:5349"]
STUN = [{"urls": "stun:stun.example:3478"}]


def test_each_socket_gets_its_own_short_lived_turn_credential(app: FastAPI) -> None:
    """With SOTONG_TURN_SECRET no long-lived TURN account goes to the browsers: each
    welcome carries a username ``<expiry>:<opaque id>`` and its HMAC-SHA1 password."""
    app.state.services.settings = Settings(
        _env_file=None, ice_servers=STUN, turn_secret=TURN_SECRET, turn_urls=TURN_URLS
    )
    token = token_of(join_path(KEY, 1, NOW))
    person_headers = {"origin": "http://testserver", "cookie": f"{SESSION_COOKIE}=tok-mina"}
    with TestClient(app) as client:
        welcomes = []
        with client.websocket_connect(ws_url(1, "person"), headers=person_headers) as person:
            welcomes.append(person.receive_json())
            with client.websocket_connect(ws_url(1, "citizen", token)) as citizen:
                welcomes.append(citizen.receive_json())
    usernames = set()
    for welcome in welcomes:
        stun, turn = welcome["ice_servers"]
        assert stun == STUN[0]
        assert turn["urls"] == TURN_URLS
        expiry, _, user = turn["username"].partition(":")
        assert abs(int(expiry) - (time.time() + 4 * 3600)) < 60  # SOTONG_TURN_CREDENTIAL_HOURS
        assert len(user) >= 16 and "mina" not in user
        expected = hmac.new(TURN_SECRET.encode(), turn["username"].encode(), hashlib.sha1)
        assert turn["credential"] == base64.b64encode(expected.digest()).decode()
        usernames.add(turn["username"])
    assert len(usernames) == 2


@pytest.mark.timeout(30)  # without the re-check the close never comes
@pytest.mark.parametrize("ending", ["sign_out", "disable", "no_longer_holds"])
def test_the_person_s_socket_closes_soon_after_they_are_gone(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    """Review L9: the person's session is checked while the call lasts, not only when
    the socket opens; the citizen hears that the person left."""
    monkeypatch.setattr(video, "SESSION_RECHECK_SECONDS", 0.05)
    services = app.state.services
    token = token_of(join_path(KEY, 1, NOW))
    person_headers = {"origin": "http://testserver", "cookie": f"{SESSION_COOKIE}=tok-mina"}
    with (
        TestClient(app) as client,
        client.websocket_connect(ws_url(1, "person"), headers=person_headers) as person,
        client.websocket_connect(ws_url(1, "citizen", token)) as citizen,
    ):
        assert person.receive_json()["type"] == "welcome"
        assert citizen.receive_json()["type"] == "welcome"
        assert citizen.receive_json() == {"type": "peer-joined", "role": "person"}
        assert person.receive_json() == {"type": "peer-joined", "role": "citizen"}
        time.sleep(0.2)  # a few checks pass while the session holds
        person.send_text('{"type": "ping"}')
        assert person.receive_json() == {"type": "pong"}

        if ending == "sign_out":
            del services.accounts.sessions["tok-mina"]
        elif ending == "disable":
            live = services.accounts.sessions["tok-mina"]
            disabled = dataclasses.replace(live.account, active=False)
            services.accounts.sessions["tok-mina"] = dataclasses.replace(live, account=disabled)
        else:
            services.handoff.queue.entries[1] = entry(1, QueueState.ACCEPTED, "jun")
        with pytest.raises(WebSocketDisconnect) as closed:
            person.receive_json()
        if ending == "no_longer_holds":
            assert (closed.value.code, closed.value.reason) == (
                4403,
                "no longer holds this request",
            )
        else:
            assert (closed.value.code, closed.value.reason) == (4401, "signed out")
        assert citizen.receive_json() == {"type": "peer-left", "role": "person"}
