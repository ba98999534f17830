"""The desk's tools around a walk-in visit (assistant/api/routes/desk_tools.py), against
the real gateway app in process (tests/consoles.py; Rasa unreachable, as in
test_staff_console.py): hand a visit to a colleague, record its outcome with an opt-in
follow-up reminder, find the citizen's earlier conversations with their consent."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.accounts import Role
from assistant.handoff.records import SEOUL
from assistant.store.base import utcnow
from tests.consoles import RRN, Person, running, settings_on
from tests.unit.test_staff_console import Desk, offer_pension

MOBILE = "+821022223333"


@pytest.fixture(params=["sqlite", "postgresql"])
async def desk(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Desk]:
    """The gateway on SQLite and then on PostgreSQL."""
    async with running(Desk, tmp_path, settings_on(request, tmp_path)) as app:
        yield app


async def _pension_visit(desk: Desk, staff: Person) -> str:
    visit = await desk.visit(staff)
    await offer_pension(desk, visit)
    sent = await staff.post(
        f"/api/staff/sessions/{visit}/messages",
        {"text": "기초연금", "payload": "/service_basic_pension"},
    )
    assert sent.status_code == 200, sent.text
    return visit


async def test_a_visit_is_handed_to_a_colleague_with_a_note(desk: Desk) -> None:
    kim = await desk.person("desk-kim")
    lee = await desk.person("desk-lee")
    await desk.person("admin-park", Role.ADMIN, centre=None, region=None)
    visit = await desk.visit(kim)
    listed = await kim.get("/api/staff/colleagues")
    assert [c["username"] for c in listed.json()] == ["desk-lee"]  # staff only, not self
    for wrong in ("admin-park", "desk-kim", "nobody"):
        refused = await kim.post(f"/api/staff/sessions/{visit}/hand-over", {"to": wrong})
        assert refused.status_code == 422
    handed = await kim.post(
        f"/api/staff/sessions/{visit}/hand-over",
        {"to": "desk-lee", "note": f"등본 발급 도와주세요. 번호 {RRN}"},
    )
    assert handed.status_code == 200, handed.text
    # The visit is Lee's now: Kim no longer sees it, Lee does, with the note.
    assert (await kim.get(f"/api/staff/sessions/{visit}")).status_code == 404
    assert [v["id"] for v in (await kim.get("/api/staff/sessions")).json()] == []
    [mine] = (await lee.get("/api/staff/sessions")).json()
    assert mine["id"] == visit and mine["handed_by"] == "desk-kim"
    assert mine["note"].startswith("등본 발급 도와주세요") and "1234567" not in mine["note"]
    said = await lee.post(f"/api/staff/sessions/{visit}/messages", {"text": "안녕하세요"})
    assert said.status_code == 200
    assert (await lee.get(f"/api/staff/sessions/{visit}/audit")).status_code == 200
    # And back again.
    assert (await lee.post(f"/api/staff/sessions/{visit}/hand-over", {"to": "desk-kim"})).is_success
    assert (await lee.get(f"/api/staff/sessions/{visit}")).status_code == 404
    assert [v["id"] for v in (await kim.get("/api/staff/sessions")).json()] == [visit]


async def test_outcomes_and_a_follow_up_becomes_an_opt_in_reminder(desk: Desk) -> None:
    kim = await desk.person("desk-kim")
    visit = await _pension_visit(desk, kim)
    path = f"/api/staff/sessions/{visit}/outcome"
    assert (await kim.post(path, {"outcome": "applied"})).json()["outcome"] == "applied"
    assert (await kim.post(path, {"outcome": "referred"})).status_code == 422
    referred = await kim.post(path, {"outcome": "referred", "referred_to": "국민연금공단 종로지사"})
    assert referred.status_code == 200
    assert (await kim.post(path, {"outcome": "follow_up"})).status_code == 422
    today = utcnow().astimezone(SEOUL).date()
    assert (
        await kim.post(path, {"outcome": "follow_up", "follow_up_on": today.isoformat()})
    ).status_code == 422
    assert (
        await kim.post(path, {"outcome": "applied", "remind_phone": "010-2222-3333"})
    ).status_code == 422
    later = today + dt.timedelta(days=7)
    landline = await kim.post(
        path,
        {"outcome": "follow_up", "follow_up_on": later.isoformat(), "remind_phone": "02-123-4567"},
    )
    assert landline.status_code == 422 and "mobile" in landline.json()["detail"]
    # Without a number: recorded, nothing scheduled.
    plain = await kim.post(path, {"outcome": "follow_up", "follow_up_on": later.isoformat()})
    assert plain.json() == {
        "outcome": "follow_up",
        "follow_up_on": later.isoformat(),
        "reminders": 0,
        "to": None,
    }
    reminded = await kim.post(
        path,
        {
            "outcome": "follow_up",
            "follow_up_on": later.isoformat(),
            "remind_phone": "010 2222 3333",
        },
    )
    assert reminded.status_code == 200, reminded.text
    assert reminded.json()["reminders"] == 2 and reminded.json()["to"] == "010-2222-3333"
    scheduled = await desk.services.reminders.store.reminders(MOBILE)
    assert [(r.service_id, r.due_date) for r in scheduled] == [("basic_pension", later)] * 2
    assert [r.send_at.astimezone(SEOUL).time() for r in scheduled] == [dt.time(9, 0)] * 2
    assert [r.send_at.astimezone(SEOUL).date() for r in scheduled] == [
        later - dt.timedelta(days=1),
        later,
    ]
    entries = await desk.services.accounts.audit_log(conversation_id=visit, action="walkin.outcome")
    assert [e.detail["outcome"] for e in reversed(entries)] == [
        "applied",
        "referred",
        "follow_up",
        "follow_up",
    ]
    assert "2222" not in repr([e.detail for e in entries])  # never the number
    wrong_service = await kim.post(
        path,
        {
            "outcome": "follow_up",
            "follow_up_on": later.isoformat(),
            "remind_phone": "010 2222 3333",
            "service": "death_report",
        },
    )
    assert wrong_service.status_code == 422


async def test_a_follow_up_reminder_needs_a_service_from_the_visit(desk: Desk) -> None:
    kim = await desk.person("desk-kim")
    visit = await desk.visit(kim)
    later = utcnow().astimezone(SEOUL).date() + dt.timedelta(days=3)
    refused = await kim.post(
        f"/api/staff/sessions/{visit}/outcome",
        {"outcome": "follow_up", "follow_up_on": later.isoformat(), "remind_phone": MOBILE},
    )
    assert refused.status_code == 422 and "service" in refused.json()["detail"]


async def test_earlier_conversations_by_number_only_with_consent(desk: Desk) -> None:
    kim = await desk.person("desk-kim")
    visit = await desk.visit(kim)
    core = desk.services.core
    sms = await core.start("sms", address=MOBILE, language="ko")
    await desk.services.store.request_handoff(sms.id, "person", "basic_pension", "sms", "ko", {})
    await core.start("sms", address="+821099998888", language="ko")  # someone else
    path = f"/api/staff/sessions/{visit}/earlier"
    refused = await kim.post(path, {"phone": "010-2222-3333"})
    assert refused.status_code == 422 and "agree" in refused.json()["detail"]
    assert (await kim.post(path, {"phone": "12", "consent": True})).status_code == 422
    found = await kim.post(path, {"phone": "010-2222-3333", "consent": True})
    assert found.status_code == 200, found.text
    [earlier] = found.json()
    assert earlier["channel"] == "sms" and earlier["services"] == ["기초연금"]
    assert [r["state"] for r in earlier["requests"]] == ["waiting"]
    [entry] = await desk.services.accounts.audit_log(conversation_id=visit, action="walkin.earlier")
    assert entry.detail == {"consent": True, "found": 1}
    other = await desk.person("desk-lee")
    assert (await other.post(path, {"phone": "010-2222-3333", "consent": True})).status_code == 404


async def test_only_staff_use_the_desk_tools(desk: Desk) -> None:
    kim = await desk.person("desk-kim")
    visit = await desk.visit(kim)
    interpreter = await desk.sign_in("sueo", Role.INTERPRETER)
    for path, body in (
        (f"/api/staff/sessions/{visit}/hand-over", {"to": "desk-kim"}),
        (f"/api/staff/sessions/{visit}/outcome", {"outcome": "applied"}),
        (f"/api/staff/sessions/{visit}/earlier", {"phone": MOBILE, "consent": True}),
    ):
        assert (await interpreter.post(path, body)).status_code == 403
