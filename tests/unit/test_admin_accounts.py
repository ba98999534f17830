"""Accounts managed on the admin page (/api/admin/accounts…), against the real gateway
app in process (tests/consoles.py): create, change, disable, working details, each
audited under the admin and never with a password; only admins may."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistant.accounts import Role
from tests.consoles import PASSWORD, ConsoleApp, running, settings_on

NEW_PASSWORD = "a-first-password-for-lee"


@pytest.fixture(params=["sqlite", "postgresql"])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ConsoleApp]:
    """The gateway on SQLite and then on PostgreSQL."""
    async with running(ConsoleApp, tmp_path, settings_on(request, tmp_path)) as console:
        yield console


async def _audit(app: ConsoleApp, action: str) -> list[dict[str, object]]:
    """The details of ``action`` in the audit log, oldest first."""
    entries = reversed(await app.services.accounts.audit_log())
    return [e.detail for e in entries if e.action == action]


async def test_an_admin_creates_an_account_that_can_sign_in(app: ConsoleApp) -> None:
    admin = await app.sign_in("admin-park", Role.ADMIN)
    body = {
        "username": "lee.tong",
        "name": "이통역",
        "role": "interpreter",
        "centre": "종로구 수어통역센터",
        "region": "jongno",
        "password": NEW_PASSWORD,
    }
    created = await admin.post("/api/admin/accounts", body)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/admin/accounts/lee.tong"
    assert created.json()["active"] is True and created.json()["region"] == "jongno"
    assert await app.services.accounts.authenticate("lee.tong", NEW_PASSWORD) is not None
    again = await admin.post("/api/admin/accounts", body)
    assert again.status_code == 409
    weak = await admin.post("/api/admin/accounts", {**body, "username": "kim", "password": "short"})
    assert weak.status_code == 422
    odd = await admin.post(
        "/api/admin/accounts", {**body, "username": "Kim Won", "password": NEW_PASSWORD}
    )
    assert odd.status_code == 422 and "username" in odd.text
    assert await _audit(app, "admin.account_create") == [
        {"username": "lee.tong", "role": "interpreter"}
    ]
    log = await app.services.accounts.audit_log()
    assert NEW_PASSWORD not in repr(log)


async def test_only_admins_manage_accounts(app: ConsoleApp) -> None:
    staff = await app.sign_in("desk-kim", Role.STAFF)
    interpreter = await app.sign_in("sueo-lee", Role.INTERPRETER)
    for person in (staff, interpreter):
        refused = await person.post(
            "/api/admin/accounts",
            {"username": "x.y", "name": "x", "role": "admin", "password": NEW_PASSWORD},
        )
        assert refused.status_code == 403
        changed = await person.put(
            "/api/admin/accounts/desk-kim",
            {"name": "x", "centre": None, "region": None, "active": True},
        )
        assert changed.status_code == 403
    assert (await app.client().get("/api/admin/accounts/desk-kim/work")).status_code == 401


async def test_changing_an_account_moves_its_requests_and_disabling_signs_it_out(
    app: ConsoleApp,
) -> None:
    admin = await app.sign_in("admin-park", Role.ADMIN)
    interpreter = await app.sign_in("sueo-lee", Role.INTERPRETER, region="jongno")
    assert (await interpreter.post("/api/console/availability", {"available": True})).is_success
    moved = await admin.put(
        "/api/admin/accounts/sueo-lee",
        {"name": "이수어", "centre": "마포구 센터", "region": "mapo", "active": True},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["name"], moved.json()["region"]) == ("이수어", "mapo")
    person = await app.services.handoff.queue.get_interpreter("sueo-lee")
    assert person is not None and (person.name, person.region) == ("이수어", "mapo")
    assert person.available

    off = await admin.put(
        "/api/admin/accounts/sueo-lee",
        {"name": "이수어", "centre": "마포구 센터", "region": "mapo", "active": False},
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert (await interpreter.get("/api/console/me")).status_code == 401  # signed out
    person = await app.services.handoff.queue.get_interpreter("sueo-lee")
    assert person is not None and not person.available  # counts in no estimate now
    assert await _audit(app, "admin.account_update") == [
        {"username": "sueo-lee", "changed": ["name", "centre", "region"]},
        {"username": "sueo-lee", "changed": ["active"]},
    ]

    self_off = await admin.put(
        "/api/admin/accounts/admin-park",
        {"name": "박관리", "centre": None, "region": None, "active": False},
    )
    assert self_off.status_code == 422 and "your own account" in self_off.json()["detail"]
    missing = await admin.put(
        "/api/admin/accounts/nobody",
        {"name": "x", "centre": None, "region": None, "active": True},
    )
    assert missing.status_code == 404


async def test_an_admin_sets_working_details(app: ConsoleApp) -> None:
    admin = await app.sign_in("admin-park", Role.ADMIN)
    await app.sign_in("desk-kim", Role.STAFF)
    path = "/api/admin/accounts/desk-kim/work"
    first = await admin.get(path)
    assert first.status_code == 200 and first.json()["skills"] == ["person"]
    body = {
        "work_hours": "08:30-17:30",
        "skills": ["person", "ksl"],
        "languages": ["ko", "en"],
        "phone": "010-5555-1234",
        "capacity": 3,
    }
    saved = await admin.put(path, body)
    assert saved.status_code == 200, saved.text
    details = saved.json()
    assert details["work_hours"] == "08:30-17:30" and details["capacity"] == 3
    assert details["skills"] == ["person", "ksl"] and details["languages"] == ["ko", "en"]
    assert details["phone"] == "010-5555-1234"
    assert (await admin.get(path)).json() == details
    for wrong in ({"work_hours": "9시"}, {"skills": ["cooking"]}, {"capacity": 11}):
        assert (await admin.put(path, {**body, **wrong})).status_code == 422
    assert (await admin.get("/api/admin/accounts/admin-park/work")).status_code == 404
    [audited] = await _audit(app, "admin.details")
    assert audited["of"] == "desk-kim" and audited["capacity"] == 3
    assert audited["phone"] is True  # whether one is set, never the number
    assert PASSWORD not in repr(audited)
