"""The staff desk console and the admin view against the real gateway app.

The whole gateway runs in process (lifespan, SQLite store, accounts, handoff service,
routes). Rasa is not reachable (nothing listens on its port): a citizen's message is
then kept and answered later, which is all the desk needs here; where a test needs the
assistant's full answer about a service, it is stored as the dialogue would store it.

What it proves: nothing starts without consent, every desk action is audited (a
message by its length only), a staff member sees only the visits they started (404 for
another's, never 403), an interpreter's reply lands in the desk's transcript, the
walk-in's request goes to the desk's region, the printed summary names the services of
the visit with what to bring and holds nothing the citizen said, and the admin view
gives figures and accounts to admins only, without password hashes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import escape
from pathlib import Path
from typing import Any

import pytest

from assistant.accounts import Role
from assistant.actions.services import describe_service
from assistant.handoff import QueueState
from assistant.plain_language import Text, lint
from assistant.store import Button, TurnDirection
from consoles.summary import sentences, summary_texts
from tests.consoles import PASSWORD, RRN, ConsoleApp, Person, running, settings_on

CONSENT = {"language": "ko", "consent": True, "consent_method": "signed"}


class Desk(ConsoleApp):
    async def person(
        self,
        username: str,
        role: Role = Role.STAFF,
        centre: str | None = "종로구 청운효자동 행정복지센터",
        region: str | None = "jongno",
    ) -> Person:
        return await self.sign_in(username, role, centre=centre, region=region)

    async def visit(self, staff: Person, **body: Any) -> str:
        response = await staff.post("/api/staff/sessions", {**CONSENT, **body})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def actions(self, conversation_id: str) -> list[str]:
        entries = await self.services.accounts.audit_log(conversation_id=conversation_id)
        return [entry.action for entry in reversed(entries)]  # oldest first


@pytest.fixture(params=["sqlite", "postgresql"])
async def desk(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Desk]:
    """The gateway on SQLite and then on PostgreSQL."""
    async with running(Desk, tmp_path, settings_on(request, tmp_path)) as desk:
        yield desk


# ---- consent and the start of a visit -------------------------------------------------
async def test_a_visit_needs_the_citizens_consent(desk: Desk) -> None:
    staff = await desk.person("desk-kim")
    for body in (
        {"language": "ko", "consent": False, "consent_method": "spoken"},
        {"language": "ko", "consent_method": "spoken"},
    ):
        response = await staff.post("/api/staff/sessions", body)
        assert response.status_code == 422
        assert response.json()["detail"] == "consent is required"
    no_method = await staff.post("/api/staff/sessions", {"language": "ko", "consent": True})
    assert no_method.status_code == 422
    bad_need = await staff.post("/api/staff/sessions", {**CONSENT, "accessibility": {"x": True}})
    assert bad_need.status_code == 422
    # Nothing was started or written down.
    assert await desk.services.accounts.audit_log(actor_id=staff.account.id) == []
    assert (await staff.get("/api/staff/sessions")).json() == []


async def test_a_visit_starts_on_the_desk_channel_with_its_consent_audited(desk: Desk) -> None:
    staff = await desk.person("desk-kim")
    response = await staff.post(
        "/api/staff/sessions",
        {**CONSENT, "language": "en", "accessibility": {"deaf": True, "low_vision": False}},
    )
    assert response.status_code == 201, response.text
    visit = response.json()
    assert visit["language"] == "en" and visit["consent_method"] == "signed"
    assert visit["accessibility"] == {"deaf": True}
    conversation = await desk.services.store.get_conversation(visit["id"])
    assert conversation is not None
    assert (conversation.channel, conversation.address) == ("desk", "desk:desk-kim")
    assert (conversation.language, conversation.accessibility) == ("en", {"deaf": True})
    [entry] = await desk.services.accounts.audit_log(conversation_id=visit["id"])
    assert (entry.action, entry.actor_username, entry.role) == (
        "walkin.start",
        "desk-kim",
        Role.STAFF,
    )
    assert entry.detail["consent"] is True and entry.detail["consent_method"] == "signed"
    assert entry.detail["language"] == "en" and entry.detail["accessibility"] == {"deaf": True}
    listed = (await staff.get("/api/staff/sessions")).json()
    assert [v["id"] for v in listed] == [visit["id"]]


async def test_only_signed_in_staff_with_the_csrf_token_use_the_desk(desk: Desk) -> None:
    interpreter = await desk.person("interp-lee", Role.INTERPRETER)
    admin = await desk.person("admin-park", Role.ADMIN)
    staff = await desk.person("desk-kim")
    for other in (interpreter, admin):
        assert (await other.post("/api/staff/sessions", CONSENT)).status_code == 403
        assert (await other.get("/api/staff/sessions")).status_code == 403
    anonymous = desk.client()
    assert (await anonymous.get("/api/staff/sessions")).status_code == 401
    no_csrf = await staff.http.post("/api/staff/sessions", json=CONSENT)
    assert no_csrf.status_code == 403
    assert await desk.services.accounts.audit_log(action="walkin.start") == []


# ---- a staff member's own visits ------------------------------------------------------
async def test_another_staff_members_visit_answers_404(desk: Desk) -> None:
    kim = await desk.person("desk-kim")
    choi = await desk.person("desk-choi")
    visit = await desk.visit(kim)
    webchat = await desk.services.core.start("webchat", address="web", language="ko")
    for target in (visit, webchat.id, "0" * 32):
        answers = [
            await choi.get(f"/api/staff/sessions/{target}"),
            await choi.post(f"/api/staff/sessions/{target}/messages", {"text": "안녕하세요"}),
            await choi.post(f"/api/staff/sessions/{target}/interpreter"),
            await choi.get(f"/api/staff/sessions/{target}/audit"),
            await choi.get(f"/staff/sessions/{target}/summary"),
        ]
        assert [r.status_code for r in answers] == [404] * 5
    assert (await choi.get("/api/staff/sessions")).json() == []
    # Nothing Choi tried reached the visit or its audit log.
    assert await desk.services.store.transcript(visit) == []
    assert await desk.actions(visit) == ["walkin.start"]
    assert await desk.services.handoff.status(visit) is None


# ---- the conversation at the desk -----------------------------------------------------
async def test_a_message_is_kept_and_audited_by_its_length_only(desk: Desk) -> None:
    staff = await desk.person("desk-kim")
    visit = await desk.visit(staff)
    text = f"기초연금 신청하고 싶어요. 주민번호 {RRN}"
    response = await staff.post(f"/api/staff/sessions/{visit}/messages", {"text": text})
    assert response.status_code == 200, response.text
    turn = response.json()
    assert turn["degraded"] is True  # the assistant is down: kept, answered later
    assert turn["messages"] and turn["messages"][0]["sender"] == "bot"

    transcript = (await staff.get(f"/api/staff/sessions/{visit}")).json()
    citizen = [m for m in transcript["messages"] if m["sender"] == "citizen"]
    assert len(citizen) == 1 and "기초연금" in citizen[0]["text"]
    assert RRN not in str(transcript) and "1234567" not in str(transcript)
    later = (await staff.get(f"/api/staff/sessions/{visit}?after={citizen[0]['id']}")).json()
    assert [m["sender"] for m in later["messages"]] == ["bot"]  # polling from the last id

    [entry] = await desk.services.accounts.audit_log(conversation_id=visit, action="walkin.message")
    assert entry.detail == {"length": len(text), "button": False, "handoff": None}
    assert await desk.actions(visit) == ["walkin.start", "walkin.message"]
    empty = await staff.post(f"/api/staff/sessions/{visit}/messages", {"text": "   "})
    assert empty.status_code == 422


async def offer_pension(desk: Desk, visit: str) -> None:
    """The assistant offered the basic pension as a choice (a button's payload counts
    only when it was offered, review L6; the dialogue is down in these tests)."""
    offered = (Button("기초연금", "/service_basic_pension"),)
    await desk.services.store.set_last_buttons(visit, offered)


async def test_the_interpreter_joins_the_visit_in_the_desks_region(desk: Desk) -> None:
    staff = await desk.person("desk-kim", region="jongno")
    interpreter = await desk.person("interp-lee", Role.INTERPRETER, centre=None, region=None)
    visit = await desk.visit(staff, accessibility={"deaf": True})
    await offer_pension(desk, visit)
    await staff.post(
        f"/api/staff/sessions/{visit}/messages",
        {"text": "기초연금", "payload": "/service_basic_pension"},
    )

    response = await staff.post(f"/api/staff/sessions/{visit}/interpreter")
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["state"] == "waiting" and status["skill"] == "ksl"
    entry = await desk.services.handoff.queue.get(status["request_id"])
    assert entry is not None
    assert (entry.reason, entry.channel, entry.region) == ("sign_language", "desk", "jongno")
    assert entry.service == "basic_pension"  # what the visit is about, for the interpreter
    assert entry.requested_by == "desk-kim"
    again = (await staff.post(f"/api/staff/sessions/{visit}/interpreter")).json()
    assert again["request_id"] == status["request_id"]  # one open request, not two
    shown = (await staff.get(f"/api/staff/sessions/{visit}")).json()
    assert shown["handoff"]["request_id"] == status["request_id"]

    await desk.services.handoff.set_availability(interpreter.account, True)
    assert await desk.services.handoff.accept(interpreter.account, entry.id) is not None
    sent = await desk.services.handoff.send_to_citizen(
        interpreter.account, entry.id, "안녕하세요, 수어 통역사입니다."
    )
    assert sent is not None and sent.direction is TurnDirection.OUTBOUND
    shown = (await staff.get(f"/api/staff/sessions/{visit}")).json()
    person = [m for m in shown["messages"] if m["sender"] == "person"]
    assert [m["text"] for m in person] == ["안녕하세요, 수어 통역사입니다."]
    assert person[0]["author"] == "person:interp-lee"
    assert shown["handoff"]["state"] == QueueState.IN_SESSION.value

    actions = await desk.actions(visit)
    desk_actions = [a for a in actions if a.startswith("walkin.")]
    assert desk_actions == [
        "walkin.start",
        "walkin.message",
        "walkin.interpreter",
        "walkin.interpreter",  # asked twice: both written down
    ]
    assert "handoff.accept" in actions  # the interpreter's actions are in the same log
    audit = (await staff.get(f"/api/staff/sessions/{visit}/audit")).json()
    assert [a["action"] for a in audit] == list(reversed(actions))  # newest first
    assert {a["actor"] for a in audit} == {"desk-kim", "interp-lee"}


# ---- the printed summary --------------------------------------------------------------
async def test_the_summary_names_the_visits_services_and_nothing_the_citizen_said(
    desk: Desk,
) -> None:
    staff = await desk.person("desk-kim")
    visit = await desk.visit(staff, accessibility={"deaf": True})
    catalog = desk.services.catalog
    pension, allowance = catalog.get("basic_pension"), catalog.get("disability_allowance")
    assert pension is not None and allowance is not None
    said = f"장애수당이랑 기초연금 궁금해요 {RRN}"
    # A chosen button names one service; the assistant's full answer names the other.
    await offer_pension(desk, visit)
    await staff.post(
        f"/api/staff/sessions/{visit}/messages",
        {"text": said, "payload": "/service_basic_pension"},
    )
    await desk.services.store.record_outbound(
        visit, text=describe_service(allowance, "ko"), language="ko"
    )
    await staff.post(f"/api/staff/sessions/{visit}/interpreter")

    response = await staff.get(f"/staff/sessions/{visit}/summary")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    for service in (pension, allowance):
        assert service.name.ko in page and service.name.en in page
        assert service.documents.ko[0] in page  # what to bring
        assert service.accessibility is not None  # both entries have a note
        assert escape(sentences(service.accessibility.ko)[0]) in page  # help if needed
    assert page.index(pension.name.ko) < page.index(allowance.name.ko)  # in the order said
    assert "종로구 청운효자동 행정복지센터" in page and "이름 desk-kim" in page
    assert "수어 통역사를 기다리고 있습니다." in page  # the interpreter request's state
    assert "107" in page  # a deaf citizen is told about the relay centre
    assert 'id="print-summary"' in page and "summary.css" in page
    assert said not in page and "1234567" not in page and visit not in page
    [entry] = await desk.services.accounts.audit_log(conversation_id=visit, action="walkin.summary")
    assert entry.detail == {"services": ["basic_pension", "disability_allowance"]}


async def test_the_summary_is_texted_to_the_citizen_s_mobile(desk: Desk) -> None:
    staff = await desk.person("desk-kim")
    visit = await desk.visit(staff)
    await offer_pension(desk, visit)
    await staff.post(
        f"/api/staff/sessions/{visit}/messages",
        {"text": f"기초연금요 {RRN}", "payload": "/service_basic_pension"},
    )
    pension = desk.services.catalog.get("basic_pension")
    assert pension is not None

    for wrong, says in (("12345", "010-1234-5678"), ("02-123-4567", "mobile")):
        refused = await staff.post(f"/api/staff/sessions/{visit}/text-summary", {"phone": wrong})
        assert refused.status_code == 422 and says in refused.json()["detail"]
    sent = await staff.post(f"/api/staff/sessions/{visit}/text-summary", {"phone": "010 2222 3333"})
    assert sent.status_code == 200, sent.text
    assert sent.json()["to"] == "010-2222-3333" and sent.json()["messages"] >= 1
    texts = await desk.services.outbox.store.messages("+821022223333")
    body = "".join(m.body for m in texts)
    assert body.startswith("[소통] 오늘 상담한 내용") and pension.name.ko in body
    assert pension.short.ko.split(".")[0] in body and "110" in body
    assert pension.accessibility is not None
    assert sentences(pension.accessibility.ko)[0] in body  # the texts split at a space
    assert "1234567" not in body and "기초연금요" not in body  # nothing the citizen said
    [entry] = await desk.services.accounts.audit_log(
        conversation_id=visit, action="walkin.summary_texted"
    )
    assert entry.detail["services"] == ["basic_pension"]
    other = await desk.person("desk-lee")
    refused = await other.post(
        f"/api/staff/sessions/{visit}/text-summary", {"phone": "010-2222-3333"}
    )
    assert refused.status_code == 404


async def test_pages_need_a_staff_sign_in(desk: Desk) -> None:
    staff = await desk.person("desk-kim")
    interpreter = await desk.person("interp-lee", Role.INTERPRETER)
    visit = await desk.visit(staff)
    anonymous = desk.client()
    for path in ("/staff", f"/staff/sessions/{visit}/summary"):
        redirect = await anonymous.get(path)
        assert redirect.status_code == 303
        assert redirect.headers["location"].startswith("/login?next=%2Fstaff")
        assert (await interpreter.get(path)).status_code == 403
    page = await staff.get("/staff")
    assert page.status_code == 200 and "/static/consoles/staff.js" in page.text
    assert (await staff.get("/static/consoles/staff.js")).status_code == 200


# ---- the admin view -------------------------------------------------------------------
async def test_admin_figures_count_the_desk_and_the_web(desk: Desk) -> None:
    admin = await desk.person("admin-park", Role.ADMIN, centre=None, region=None)
    staff = await desk.person("desk-kim")
    visit = await desk.visit(staff)
    await staff.post(f"/api/staff/sessions/{visit}/interpreter")
    await desk.services.core.start("webchat", address="web", language="ko")

    response = await admin.get("/api/admin/figures", params={"days": 7})
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["requests"] == 1 and figures["by_state"]["waiting"] == 1
    assert figures["wait"] == {"accepted": 0, "p50_seconds": None, "p90_seconds": None}
    assert len(figures["days"]) in (7, 8)  # every Seoul day the 7 × 24 hours touch
    assert figures["containment"]["conversations"] == 2
    assert figures["containment"]["with_handoff"] == 1
    assert figures["containment"]["share"] == 0.5
    by_channel = {c["channel"]: c["share"] for c in figures["containment_by_channel"]}
    assert by_channel == {"desk": 0.0, "webchat": 1.0}
    (desk_helped,) = figures["satisfaction_by_channel"]  # the walk-in's request
    assert desk_helped == {
        "key": "desk",
        "requests": 1,
        "resolved": 0,
        "answered": 0,
        "helpful": 0,
        "resolution_share": 0.0,
        "helpful_share": None,
    }
    assert [s["key"] for s in figures["satisfaction_by_centre"]] == ["jongno"]
    for days in (0, 367):
        assert (await admin.get("/api/admin/figures", params={"days": days})).status_code == 422
    assert (await staff.get("/api/admin/figures")).status_code == 403
    assert (await desk.client().get("/api/admin/figures")).status_code == 401


async def test_admin_accounts_list_no_hashes_and_admin_pages(desk: Desk) -> None:
    admin = await desk.person("admin-park", Role.ADMIN, centre=None, region=None)
    staff = await desk.person("desk-kim")
    response = await admin.get("/api/admin/accounts")
    assert response.status_code == 200
    listed = response.json()
    assert [a["username"] for a in listed] == ["admin-park", "desk-kim"]
    assert set(listed[0]) == {
        "username",
        "name",
        "role",
        "centre",
        "region",
        "active",
        "created_at",
    }
    assert "argon2" not in response.text and PASSWORD not in response.text
    assert (await staff.get("/api/admin/accounts")).status_code == 403
    page = await admin.get("/admin")
    assert page.status_code == 200 and "/static/consoles/admin.js" in page.text
    assert (await staff.get("/admin")).status_code == 403
    assert (await desk.client().get("/admin")).status_code == 303


def test_the_summarys_own_sentences_are_plain_language() -> None:
    texts = summary_texts()
    assert len(texts) > 20
    findings = lint(Text(source, text) for source, text in texts)
    assert findings == [], "\n".join(map(str, findings))
