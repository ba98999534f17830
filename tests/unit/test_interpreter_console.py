"""The interpreter console's API and page against the real gateway app.

The whole gateway runs in process (lifespan, SQLite store, accounts, handoff service,
push hub, routes, middleware). Rasa is not reachable (nothing listens on its port) and
is not needed: the citizen's requests are queued through the handoff service as the
dialogue would, and while a person holds a conversation the bot stays silent.

What it proves: who may see and change a request (another person's request answers
404, never 403; a request is taken once), that waiting requests show no transcript
and no address, that a person's message lands in the citizen's transcript marked
"person:<username>", that texts are masked, and that the live socket needs a signed-in
session from this site and passes on notifications only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.accounts import Role
from assistant.api.auth import CSRF_HEADER, SESSION_COOKIE
from assistant.app import create_app
from assistant.handoff import QueueState
from assistant.handoff.service import HANDOFF_QUEUE_TOPIC, person_topic
from assistant.messages import IncomingMessage
from assistant.services import Services
from assistant.store import Conversation, TurnDirection
from tests.consoles import (
    BASE,
    PASSWORD,
    RRN,
    ConsoleApp,
    Person,
    console_settings,
    running,
    settings_on,
)

ADDRESS = "서울시 종로구 세종대로 209"
SERVICE = "disability_allowance"
PHONE = "+821012345678"
NO_REFUSALS = {"last_hour": 0, "from_one_source": 0}


class Console(ConsoleApp):
    async def person(
        self, username: str, role: Role = Role.INTERPRETER, region: str | None = None
    ) -> Person:
        return await self.sign_in(username, role, region=region)

    async def available(
        self, username: str, role: Role = Role.INTERPRETER, region: str | None = None
    ) -> Person:
        person = await self.person(username, role, region)
        response = await person.post("/api/console/availability", {"available": True})
        assert response.status_code == 200, response.text
        assert response.json()["interpreter"]["available"] is True
        return person

    async def citizen(
        self,
        *,
        reason: str = "sign_language",
        region: str | None = None,
        channel: str = "webchat",
        address: str = "web",
    ) -> tuple[Conversation, int]:
        """A deaf citizen who gave their ID number and home address, then asked for a
        sign-language interpreter (on the web chat unless told)."""
        conversation = await self.services.core.start(
            channel, address=address, language="ko", accessibility={"deaf": True}
        )
        await self.services.store.record_inbound(
            conversation.id,
            text=f"주민번호 {RRN}, 주소는 {ADDRESS} 입니다",
            language="ko",
        )
        status = await self.services.handoff.request(
            conversation, reason=reason, service=SERVICE, language="ko", region=region
        )
        return conversation, status.request_id


@pytest.fixture(params=["sqlite", "postgresql"])
async def console(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Console]:
    """The gateway on SQLite and then on PostgreSQL."""
    async with running(Console, tmp_path, settings_on(request, tmp_path)) as console:
        yield console


# ---- the queue -----------------------------------------------------------------------
async def test_waiting_requests_show_no_transcript_and_no_address(console: Console) -> None:
    a = await console.available("interp-a")
    conversation, request_id = await console.citizen()
    texting, _ = await console.citizen(channel="sms", address=PHONE)
    response = await a.get("/api/console/queue")
    assert response.status_code == 200
    body = response.json()
    item, by_sms = body["waiting"]
    assert by_sms["channel"] == "sms"
    assert body["mine"] == []
    assert set(item) == {
        "id",
        "state",
        "reason",
        "skill",
        "service",
        "channel",
        "language",
        "accessibility",
        "region",
        "waiting_seconds",
        "offered_to_me",
        "same_source",  # a count, never the source itself
        "contact",
        "scheduled_for",
    }
    name = console.services.catalog.get(SERVICE)
    assert name is not None
    assert item["id"] == request_id and item["state"] == "waiting"
    assert item["reason"] == "sign_language" and item["skill"] == "ksl"
    assert item["service"] == {"id": SERVICE, "ko": name.name.ko, "en": name.name.en}
    assert item["channel"] == "webchat" and item["accessibility"] == {"deaf": True}
    assert item["offered_to_me"] is False and item["waiting_seconds"] >= 0
    # Nothing the citizen said, nor where they are, nor which conversation it is.
    raw = response.text
    for secret in (ADDRESS, "세종대로", "1234567", "주민번호", conversation.id, texting.id):
        assert secret not in raw
    assert "1012345678" not in raw  # the texting citizen's phone number


async def test_a_request_of_another_region_is_neither_shown_nor_taken(console: Console) -> None:
    seoul = await console.available("interp-seoul", region="seoul")
    _, busan = await console.citizen(region="busan")
    _, anywhere = await console.citizen()
    waiting = (await seoul.get("/api/console/queue")).json()["waiting"]
    assert [w["id"] for w in waiting] == [anywhere]
    # The queue itself would let them (skill and capacity fit): the route does not.
    response = await seoul.post(f"/api/console/requests/{busan}/accept")
    assert response.status_code == 409
    entry = await console.services.handoff.queue.get(busan)
    assert entry is not None and entry.state is QueueState.WAITING


# ---- who may see and change a request ------------------------------------------------
async def test_accept_gives_the_masked_transcript_and_a_second_accept_conflicts(
    console: Console,
) -> None:
    a = await console.available("interp-a")
    b = await console.available("interp-b")
    _, request_id = await console.citizen()

    response = await a.post(f"/api/console/requests/{request_id}/accept")
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["summary"]["id"] == request_id and detail["summary"]["state"] == "accepted"
    assert detail["conversation"]["channel"] == "webchat"
    assert detail["conversation"]["accessibility"] == {"deaf": True}
    citizen_lines = [t["text"] for t in detail["transcript"] if t["sender"] == "citizen"]
    assert any(ADDRESS in line for line in citizen_lines)  # the holder sees what was said
    assert RRN not in response.text and "1234567" not in response.text  # but masked
    # The catalog's entry of the service at hand, to read from while helping.
    service = console.services.catalog.get(SERVICE)
    assert service is not None
    entry_out = detail["service_entry"]
    assert (entry_out["id"], entry_out["name"]) == (SERVICE, service.name.ko)
    assert entry_out["documents"] == list(service.documents.ko)
    assert entry_out["how_to_apply"] == service.how_to_apply.ko
    # Where the facts come from, and who checked them when.
    assert entry_out["sources"] == [{"title": s.title, "url": s.url} for s in service.sources]
    assert entry_out["sources"] and entry_out["reviewed_by"] == service.reviewed_by
    # An update of the page (``after``) does not carry it again.
    update = await a.get(f"/api/console/requests/{request_id}?after=1")
    assert update.json()["service_entry"] is None

    again = await a.post(f"/api/console/requests/{request_id}/accept")
    other = await b.post(f"/api/console/requests/{request_id}/accept")
    assert (again.status_code, other.status_code) == (409, 409)
    assert again.json()["detail"] == "taken or not yours"
    entry = await console.services.handoff.queue.get(request_id)
    assert entry is not None and entry.accepted_by == "interp-a"

    # Accepted: out of everyone's waiting list, in A's own list.
    assert (await b.get("/api/console/queue")).json() == {
        "waiting": [],
        "mine": [],
        "refused": NO_REFUSALS,
    }
    mine = (await a.get("/api/console/queue")).json()["mine"]
    assert [m["id"] for m in mine] == [request_id]


async def test_another_persons_request_answers_404_like_one_that_does_not_exist(
    console: Console,
) -> None:
    a = await console.available("interp-a")
    b = await console.available("staff-b", Role.STAFF)
    _, request_id = await console.citizen(reason="person")
    assert (await a.post(f"/api/console/requests/{request_id}/accept")).status_code == 200

    missing = 999_999
    for target in (request_id, missing):
        base = f"/api/console/requests/{target}"
        answers = [
            await b.get(base),
            await b.post(f"{base}/messages", {"text": "안녕하세요"}),
            await b.post(f"{base}/video"),
            await b.post(f"{base}/close", {"notes": "x", "hand_back": False}),
            await b.post(f"{base}/decline"),
        ]
        assert [r.status_code for r in answers] == [404] * 5
        assert {r.json()["detail"] for r in answers} == {"no such request"}
    # Nothing B sent reached the citizen; the request is still A's.
    entry = await console.services.handoff.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.ACCEPTED
    assert entry.accepted_by == "interp-a"
    # A waiting request is not B's to read either, before anyone takes it.
    _, waiting_id = await console.citizen(reason="person")
    assert (await b.get(f"/api/console/requests/{waiting_id}")).status_code == 404


async def test_the_holders_messages_reach_the_citizen_marked_with_their_name(
    console: Console,
) -> None:
    a = await console.available("interp-a")
    conversation, request_id = await console.citizen()
    await a.post(f"/api/console/requests/{request_id}/accept")
    pushed = console.services.push.subscribe(conversation.id)

    response = await a.post(
        f"/api/console/requests/{request_id}/messages",
        {"text": f"안녕하세요, 수어 통역사입니다. 번호 {RRN}은 보내지 마세요."},
    )
    assert response.status_code == 200, response.text
    sent = response.json()
    assert sent["sender"] == "person" and sent["author"] == "person:interp-a"
    assert RRN not in sent["text"]

    transcript = await console.services.store.transcript(conversation.id)
    [mine] = [t for t in transcript if t.id == sent["id"]]
    assert mine.direction is TurnDirection.OUTBOUND
    assert mine.author == "person:interp-a"
    assert mine.text.startswith("안녕하세요, 수어 통역사입니다.") and RRN not in mine.text
    # Delivered live to the citizen's web chat.
    delivered = [pushed.get_nowait() for _ in range(pushed.qsize())]
    assert any(json.dumps(d, ensure_ascii=False).find("수어 통역사입니다") >= 0 for d in delivered)
    # The session started with the first message.
    entry = await console.services.handoff.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.IN_SESSION

    # The citizen answers: it reaches the holder (not the bot), and A's updates show it.
    opened = (await a.get(f"/api/console/requests/{request_id}")).json()
    last = max(t["id"] for t in opened["transcript"])
    person = console.services.push.subscribe(person_topic("interp-a"))
    await console.services.core.handle(
        IncomingMessage(conversation.id, "네 감사합니다", "webchat", payload=None)
    )
    told = [person.get_nowait() for _ in range(person.qsize())]
    assert any(d["type"] == "message" and d["request_id"] == request_id for d in told)
    update = (await a.get(f"/api/console/requests/{request_id}", params={"after": last})).json()
    assert [(t["sender"], t["text"]) for t in update["transcript"]] == [
        ("citizen", "네 감사합니다")
    ]


async def test_messages_are_checked(console: Console) -> None:
    a = await console.available("interp-a")
    _, request_id = await console.citizen()
    await a.post(f"/api/console/requests/{request_id}/accept")
    url = f"/api/console/requests/{request_id}/messages"
    assert (await a.post(url, {"text": ""})).status_code == 422
    assert (await a.post(url, {"text": "   "})).status_code == 422
    assert (await a.post(url, {"text": "가" * 1001})).status_code == 422
    assert (await a.post(url, {"text": "가" * 1000})).status_code == 200
    close = f"/api/console/requests/{request_id}/close"
    assert (await a.post(close, {"notes": "n" * 4001, "hand_back": False})).status_code == 422


async def test_offered_request_can_be_read_and_declined_by_that_person_only(
    console: Console,
) -> None:
    a = await console.available("interp-a")
    b = await console.available("interp-b")
    _, request_id = await console.citizen()
    assert await console.services.handoff.queue.offer(request_id, "interp-a")

    queue_a = (await a.get("/api/console/queue")).json()
    assert [w["offered_to_me"] for w in queue_a["waiting"]] == [True]
    assert [m["id"] for m in queue_a["mine"]] == [request_id]
    # Offered to A: B neither sees it waiting nor can take it.
    assert (await b.get("/api/console/queue")).json()["waiting"] == []
    assert (await b.post(f"/api/console/requests/{request_id}/accept")).status_code == 409
    # A may read it before deciding.
    detail = await a.get(f"/api/console/requests/{request_id}")
    assert detail.status_code == 200 and detail.json()["summary"]["state"] == "offered"

    assert (await b.post(f"/api/console/requests/{request_id}/decline")).status_code == 404
    assert (await a.post(f"/api/console/requests/{request_id}/decline")).status_code == 200
    assert (await a.get(f"/api/console/requests/{request_id}")).status_code == 404
    assert [w["id"] for w in (await b.get("/api/console/queue")).json()["waiting"]] == [request_id]


async def test_video_and_close_with_notes(console: Console) -> None:
    a = await console.available("interp-a")
    _, request_id = await console.citizen()
    await a.post(f"/api/console/requests/{request_id}/accept")

    video = await a.post(f"/api/console/requests/{request_id}/video")
    assert video.status_code == 200, video.text
    assert f"/video/{request_id}?t=" in video.json()["join_url"]

    closed = await a.post(
        f"/api/console/requests/{request_id}/close",
        {"notes": f"  장애인 수당 서류 안내함. 주민번호 {RRN}  ", "hand_back": False},
    )
    assert closed.status_code == 200, closed.text
    entry = await console.services.handoff.queue.get(request_id)
    assert entry is not None and entry.state is QueueState.RESOLVED
    assert entry.outcome == "resolved" and entry.notes is not None
    assert entry.notes.startswith("장애인 수당 서류 안내함.") and RRN not in entry.notes
    # Over: no longer readable, and closing twice does nothing.
    assert (await a.get(f"/api/console/requests/{request_id}")).status_code == 404
    again = await a.post(f"/api/console/requests/{request_id}/close", {"hand_back": True})
    assert again.status_code == 404
    assert (await a.get("/api/console/queue")).json()["mine"] == []


async def test_hand_back_ends_the_session_as_handed_back(console: Console) -> None:
    a = await console.available("staff-a", Role.STAFF)
    _, request_id = await console.citizen(reason="person")
    await a.post(f"/api/console/requests/{request_id}/accept")
    response = await a.post(f"/api/console/requests/{request_id}/close", {"hand_back": True})
    assert response.status_code == 200
    entry = await console.services.handoff.queue.get(request_id)
    assert entry is not None and entry.outcome == "handed_back" and entry.notes is None


async def test_opening_a_transcript_is_audited_once_not_on_every_update(
    console: Console,
) -> None:
    a = await console.available("interp-a")
    conversation, request_id = await console.citizen()
    await a.post(f"/api/console/requests/{request_id}/accept")
    await a.get(f"/api/console/requests/{request_id}")
    await a.get(f"/api/console/requests/{request_id}", params={"after": 1})
    log = await console.services.accounts.audit_log(conversation_id=conversation.id)
    actions = [e.action for e in log]
    assert actions.count("handoff.view") == 1
    assert "handoff.accept" in actions
    assert all(e.actor_username == "interp-a" for e in log)


async def test_reading_a_transcript_from_a_later_id_is_audited_too(console: Console) -> None:
    # Turn ids are global: after=1 returns the whole transcript (review M9).
    a = await console.available("interp-a")
    conversation, request_id = await console.citizen()
    await a.post(f"/api/console/requests/{request_id}/accept")
    read = await a.get(f"/api/console/requests/{request_id}", params={"after": 1})
    assert read.status_code == 200 and read.json()["transcript"]
    await a.get(f"/api/console/requests/{request_id}", params={"after": 2})
    log = await console.services.accounts.audit_log(conversation_id=conversation.id)
    views = [e for e in log if e.action == "handoff.view"]
    assert len(views) == 1 and views[0].actor_username == "interp-a"


# ---- who may use the console ---------------------------------------------------------
async def test_me_and_availability(console: Console) -> None:
    a = await console.person("interp-a")
    me = (await a.get("/api/console/me")).json()
    assert me["account"] == {
        "username": "interp-a",
        "name": "이름 interp-a",
        "role": "interpreter",
        "centre": None,
        "region": None,
    }
    assert me["interpreter"] == {
        "available": False,
        "skills": ["ksl", "person"],
        "capacity": 1,
        "on_duty": True,
        "languages": ["ko"],
        "work_hours": None,
        "phone": None,
    }
    on = await a.post("/api/console/availability", {"available": True})
    assert on.json()["interpreter"]["available"] is True
    staff = await console.person("staff-a", Role.STAFF)
    assert (await staff.get("/api/console/me")).json()["interpreter"]["skills"] == ["person"]


async def test_a_person_sets_their_own_hours_skills_languages_and_phone(
    console: Console,
) -> None:
    a = await console.person("interp-a")
    details = {
        "work_hours": "22:00-06:00",
        "skills": ["ksl"],
        "languages": ["ko", "en"],
        "phone": "010 5555 0000",
    }
    response = await a.put("/api/console/details", details)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["work_hours"], body["skills"], body["languages"], body["phone"]) == (
        "22:00-06:00",
        ["ksl"],
        ["ko", "en"],
        "010-5555-0000",
    )
    person = await console.services.handoff.queue.get_interpreter("interp-a")
    assert person is not None
    assert (person.work_start, person.work_end, person.phone) == (1320, 360, "+821055550000")
    audit = await console.services.accounts.audit_log(action="console.details")
    assert [e.actor_username for e in audit] == ["interp-a"]
    assert "5555" not in str(audit[0].detail)  # the number itself is not copied there

    cleared = await a.put(
        "/api/console/details", {"skills": ["person"], "languages": ["ko"], "phone": ""}
    )
    assert cleared.json()["work_hours"] is None and cleared.json()["phone"] is None
    for wrong, says in [
        ({**details, "work_hours": "9 to 6"}, "09:00-18:00"),
        ({**details, "skills": ["cooking"]}, "skills are"),
        ({**details, "languages": ["fr"]}, "languages are"),
        ({**details, "phone": "12345"}, "010-1234-5678"),
    ]:
        refused = await a.put("/api/console/details", wrong)
        assert refused.status_code == 422 and says in refused.text, wrong
    assert (await a.put("/api/console/details", {**details, "skills": []})).status_code == 422


async def test_sign_in_role_and_csrf_are_required(console: Console) -> None:
    a = await console.person("interp-a")
    admin = await console.person("admin-a", Role.ADMIN)
    anonymous = console.client()

    assert (await anonymous.get("/api/console/queue")).status_code == 401
    assert (await admin.get("/api/console/queue")).status_code == 403
    # A POST without the CSRF header is refused even with the cookie.
    no_csrf = await a.http.post("/api/console/availability", json={"available": True})
    assert no_csrf.status_code == 403
    wrong = await a.http.post(
        "/api/console/availability", json={"available": True}, headers={CSRF_HEADER: "x" * 43}
    )
    assert wrong.status_code == 403
    assert (await console.services.handoff.interpreter_for(a.account)).available is False
    # Signed out: the cookie no longer works.
    await console.services.accounts.end_session(a.token)
    assert (await a.get("/api/console/me")).status_code == 401


async def test_the_page_needs_an_interpreter_or_staff_session(console: Console) -> None:
    anonymous = console.client()
    redirect = await anonymous.get("/interpreter")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/login?next=%2Finterpreter"

    for username, role in (("interp-a", Role.INTERPRETER), ("staff-a", Role.STAFF)):
        person = await console.person(username, role)
        page = await person.get("/interpreter")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "/static/consoles/interpreter.js" in page.text and 'lang="ko"' in page.text
    admin = await console.person("admin-a", Role.ADMIN)
    assert (await admin.get("/interpreter")).status_code == 403
    for asset in ("interpreter.js", "console.css"):
        assert (await anonymous.get(f"/static/consoles/{asset}")).status_code == 200


async def test_staff_see_requests_refused_past_a_limit(console: Console) -> None:
    """A flood of requests for a person is visible on the console (review H2): how many
    were refused in the last hour and how many came from one source — never who."""
    a = await console.available("interp-a")
    assert (await a.get("/api/console/queue")).json()["refused"] == {
        "last_hour": 0,
        "from_one_source": 0,
    }
    queue = console.services.handoff.queue
    for _ in range(3):
        await queue.record_refusal("too_many", "webchat", "a" * 32)
    await queue.record_refusal("busy", "sms", "b" * 32)
    response = await a.get("/api/console/queue")
    assert response.json()["refused"] == {"last_hour": 4, "from_one_source": 3}
    assert "a" * 32 not in response.text


async def test_a_flood_from_one_source_is_dismissed_together_and_audited(
    console: Console,
) -> None:
    """Staff clear many waiting requests of one source at once (review H2); others stay."""
    a = await console.available("interp-a", region="seoul")
    flood = []
    for _ in range(3):
        conversation = await console.services.core.start("webchat", address="web", language="ko")
        status = await console.services.handoff.request(
            conversation, reason="person", service=None, language="ko", origin="203.0.113.9"
        )
        flood.append(status.request_id)
    _, other = await console.citizen()  # no source recorded: a separate citizen
    listed = {item["id"]: item for item in (await a.get("/api/console/queue")).json()["waiting"]}
    assert [listed[i]["same_source"] for i in flood] == [3, 3, 3]
    assert listed[other]["same_source"] == 1
    assert "203.0.113.9" not in str(listed)
    response = await a.post(f"/api/console/requests/{flood[1]}/dismiss-source", {})
    assert response.status_code == 200, response.text
    assert response.json() == {"dismissed": 3}
    waiting = (await a.get("/api/console/queue")).json()["waiting"]
    assert [item["id"] for item in waiting] == [other]
    for request_id in flood:
        entry = await console.services.handoff.queue.get(request_id)
        assert entry is not None and entry.state is QueueState.ABANDONED
        assert entry.outcome == "dismissed"
    audit = await console.services.accounts.audit_log(action="handoff.dismiss_source")
    assert [(e.actor_username, e.detail["dismissed"]) for e in audit] == [("interp-a", 3)]
    # A request without a recorded source is dismissed alone, never as a "source".
    assert (await a.post(f"/api/console/requests/{other}/dismiss-source", {})).status_code == 409
    assert (await a.post("/api/console/requests/999999/dismiss-source", {})).status_code == 404
    _, busan = await console.citizen(region="busan")  # not in a Seoul person's queue
    assert (await a.post(f"/api/console/requests/{busan}/dismiss-source", {})).status_code == 404


# ---- the live socket (Starlette's TestClient: it speaks WebSocket) -------------------
@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[TestClient, Services]]:
    app = create_app(console_settings(tmp_path))
    with TestClient(app, base_url=BASE) as client:
        yield client, app.state.services


def _sign_in(client: TestClient, services: Services, username: str, role: Role) -> str:
    async def make() -> str:
        account = await services.accounts.create(username, PASSWORD, username, role)
        return (await services.accounts.start_session(account)).token

    return client.portal.call(make)  # type: ignore[union-attr]


def _socket_headers(token: str | None, origin: str | None = BASE) -> dict[str, str]:
    headers = {}
    if token:
        headers["cookie"] = f"{SESSION_COOKIE}={token}"
    if origin:
        headers["origin"] = origin
    return headers


def _refused(client: TestClient, headers: dict[str, str]) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/api/console/ws", headers=headers) as ws,
    ):
        ws.receive_text()
    return closed.value.code


def test_the_socket_needs_a_session_from_this_site(
    live: tuple[TestClient, Services],
) -> None:
    client, services = live
    token = _sign_in(client, services, "interp-a", Role.INTERPRETER)
    admin = _sign_in(client, services, "admin-a", Role.ADMIN)
    assert _refused(client, _socket_headers(None)) == 4401
    assert _refused(client, _socket_headers("not-a-session")) == 4401
    assert _refused(client, _socket_headers(admin)) == 4401
    # Another site's page cannot use the console's cookie (cross-site WebSocket hijacking).
    assert _refused(client, _socket_headers(token, origin="https://evil.example")) == 4401
    assert _refused(client, _socket_headers(token, origin=None)) == 4401


def test_the_socket_forwards_notifications_only(live: tuple[TestClient, Services]) -> None:
    client, services = live
    token = _sign_in(client, services, "interp-a", Role.INTERPRETER)
    with client.websocket_connect("/api/console/ws", headers=_socket_headers(token)) as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "pong"
        # Whatever else is published on the topics stays in the server; extra fields
        # (a turn id, a text) are dropped from what is passed on.
        services.push.publish(HANDOFF_QUEUE_TOPIC, {"type": "secret", "text": "주소"})
        services.push.publish(
            person_topic("interp-a"), {"type": "message", "request_id": 7, "text": "주소"}
        )
        assert ws.receive_json() == {"type": "message", "request_id": 7}
        services.push.publish(person_topic("someone-else"), {"type": "message", "request_id": 8})
        services.push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed", "request_id": 9})
        assert ws.receive_json() == {"type": "changed", "request_id": 9}

        # Signing out ends the socket at its next ping.
        client.portal.call(services.accounts.end_session, token)  # type: ignore[union-attr]
        ws.send_text("ping")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 4401
    # Unsubscribed when the socket closed.
    assert services.push.publish(HANDOFF_QUEUE_TOPIC, {"type": "changed"}) == 0


def test_an_open_console_keeps_the_sessions_its_person_holds(
    live: tuple[TestClient, Services],
) -> None:
    """The socket's ping marks its person present: the sessions they hold do not time
    out back to the assistant while their console is open (review M4)."""
    client, services = live
    token = _sign_in(client, services, "interp-a", Role.INTERPRETER)

    async def held_request() -> int:
        account = await services.accounts.by_username("interp-a")
        assert account is not None
        await services.handoff.set_availability(account, True)
        conversation = await services.core.start("webchat", address="web", language="ko")
        status = await services.handoff.request(
            conversation, reason="sign_language", service=None, language="ko"
        )
        assert await services.handoff.accept(account, status.request_id) is not None
        return status.request_id

    async def last_seen(request_id: int) -> object:
        entry = await services.handoff.queue.get(request_id)
        assert entry is not None
        return entry.updated_at

    request_id = client.portal.call(held_request)  # type: ignore[union-attr]
    accepted = client.portal.call(last_seen, request_id)  # type: ignore[union-attr]
    with client.websocket_connect("/api/console/ws", headers=_socket_headers(token)) as ws:
        ws.send_text("ping")
        assert ws.receive_text() == "pong"
    seen = client.portal.call(last_seen, request_id)  # type: ignore[union-attr]
    assert seen > accepted  # type: ignore[operator]


async def test_a_session_is_passed_on_to_a_colleague_with_a_note(console: Console) -> None:
    a = await console.available("interp-a")
    b = await console.available("interp-b")
    await console.person("interp-c")  # signed in, not available: cannot take it
    conversation, request_id = await console.citizen()
    assert (await a.post(f"/api/console/requests/{request_id}/accept")).status_code == 200

    listed = await a.get(f"/api/console/requests/{request_id}/colleagues")
    assert [p["username"] for p in listed.json()] == ["interp-b"]
    assert (await b.get(f"/api/console/requests/{request_id}/colleagues")).status_code == 404
    refused = await a.post(
        f"/api/console/requests/{request_id}/pass-on", {"to": "interp-c", "note": "x"}
    )
    assert refused.status_code == 409

    note = f"서류는 안내했고 수어로 신청서 작성만 도와주세요. 주민번호 {RRN}"
    passed = await a.post(
        f"/api/console/requests/{request_id}/pass-on", {"to": "interp-b", "note": note}
    )
    assert passed.status_code == 200, passed.text
    assert (await a.get(f"/api/console/requests/{request_id}")).status_code == 404
    offered = (await b.get("/api/console/queue")).json()["mine"]
    assert [(m["id"], m["offered_to_me"]) for m in offered] == [(request_id, True)]
    taken = await b.post(f"/api/console/requests/{request_id}/accept")
    assert taken.status_code == 200, taken.text
    handed = taken.json()["notes"]
    assert handed is not None and handed.startswith("서류는 안내했고") and RRN not in handed
    told = [
        t.text
        for t in await console.services.store.transcript(conversation.id)
        if t.direction is TurnDirection.OUTBOUND
    ]
    assert "다른 담당자가 이어서 도와드립니다" in told[-2]  # then who joined
    audit = await console.services.accounts.audit_log(conversation.id, action="handoff.pass_on")
    assert [(e.actor_username, e.detail["to"]) for e in audit] == [("interp-a", "interp-b")]


async def test_earlier_notes_of_the_citizen_and_with_consent_of_their_number(
    console: Console,
) -> None:
    a = await console.available("interp-a")

    async def helped(channel: str, notes: str) -> tuple[Conversation, int]:
        conversation, request_id = await console.citizen(channel=channel, address=PHONE)
        assert (await a.post(f"/api/console/requests/{request_id}/accept")).is_success
        closed = await a.post(
            f"/api/console/requests/{request_id}/close", {"notes": notes, "hand_back": False}
        )
        assert closed.is_success
        return conversation, request_id

    call, _ = await helped("voice", "전화로 장애수당 서류를 안내함")
    sms, first = await helped("sms", f"문자로 신청서 작성 도움, 주민번호 {RRN}")
    status = await console.services.handoff.request(
        sms, reason="person", service=SERVICE, language="ko"
    )
    assert (await a.post(f"/api/console/requests/{status.request_id}/accept")).is_success
    url = f"/api/console/requests/{status.request_id}/history"

    # Without the citizen's consent: this conversation's earlier notes only.
    alone = (await a.get(url)).json()
    assert alone["consent"] is False and alone["conversations"] == []
    assert [r["id"] for r in alone["requests"]] == [first]
    assert alone["requests"][0]["notes"].startswith("문자로 신청서 작성 도움")
    assert RRN not in str(alone)

    # The number saved with consent ("저장"): its call, and that call's notes, too.
    await console.services.profiles.save_with_consent(PHONE, "ko")
    shared = (await a.get(url)).json()
    assert shared["consent"] is True
    assert [r["channel"] for r in shared["requests"]] == ["sms", "voice"]  # newest first
    assert shared["requests"][1]["notes"] == "전화로 장애수당 서류를 안내함"
    assert [c["channel"] for c in shared["conversations"]] == ["voice"]
    assert call.id not in str(shared)  # ids of other conversations are not handed out

    # The call's transcript, read through its handle (RRNs masked, the read audited).
    handle = shared["conversations"][0]["handle"]
    read = await a.get(f"{url}/{handle}")
    assert read.status_code == 200, read.text
    turns = read.json()
    assert turns[0]["sender"] == "citizen" and turns[0]["text"].startswith("주민번호 ")
    assert RRN not in str(turns) and ADDRESS in turns[0]["text"]
    [read_entry] = await console.services.accounts.audit_log(sms.id, action="handoff.history_read")
    assert read_entry.detail["read"] == call.id and read_entry.detail["turns"] == len(turns)
    assert (await a.get(f"{url}/{'0' * 32}")).status_code == 404
    assert (await a.get(f"{url}/{call.id}")).status_code == 404  # an id is no handle

    audit = await console.services.accounts.audit_log(sms.id, action="handoff.history")
    assert [e.detail["consent"] for e in audit] == [True, False]
    other = await console.available("interp-b")
    assert (await other.get(url)).status_code == 404
    assert (await other.get(f"{url}/{handle}")).status_code == 404
