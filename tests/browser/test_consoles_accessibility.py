"""Every console page, in its states, checked by axe (WCAG 2.2 A/AA) in real Chromium.

Against the shared real stack: the sign-in page; the staff desk before a visit, with a
visit open and the assistant's answer in it, and after texting the summary form is
shown; the admin page with its figures and charts drawn, and an account's form open
(an account created and another's working hours changed in the page). (The interpreter
console's states are checked in test_callback.py and test_appointment.py.)
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.consoles import create_account, sign_in
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa


def test_sign_in_staff_desk_and_admin_pages_are_accessible(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    password = secrets.token_urlsafe(18)
    staff, admin = f"desk.{secrets.token_hex(3)}", f"admin.{secrets.token_hex(3)}"
    create_account(stack, staff, password, "--name", "박주무관", "--role", "staff")
    create_account(stack, admin, password, "--name", "관리자", "--role", "admin")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(stack.gateway.url + "/login")
        expect(page.get_by_label("아이디")).to_be_visible()
        assert_accessible(page, "login page")

        sign_in(page, stack, "/staff", staff, password)
        expect(page.locator("#start")).to_be_visible()
        assert_accessible(page, "staff desk, no visit")
        page.locator("#method-spoken").check()
        page.locator("#consent").check()
        page.get_by_role("button", name="상담 시작 · Start").click()
        expect(page.locator("#visit")).to_be_visible()
        page.get_by_label(re.compile("시민이 한 말")).fill("기초연금 신청하고 싶어요")
        page.get_by_role("button", name="보내기 · Send", exact=True).click()
        expect(page.locator("#transcript li.bot").first).to_be_visible(timeout=30_000)
        assert_accessible(page, "staff desk, a visit with an answer")
        # The tools around the visit, each opened: outcome, earlier conversations, hand-over.
        for panel in ("결과 기록", "이전 상담 찾기", "다른 직원에게 넘기기"):
            page.get_by_text(panel, exact=False).first.click()
        page.locator("#outcome-follow-up").check()
        page.locator("#earlier-phone").fill("010-7391-0264")  # used by no other test
        page.locator("#earlier-consent").check()
        page.get_by_role("button", name="찾기 · Look up").click()
        expect(page.locator("#earlier-none")).to_be_visible()
        assert_accessible(page, "staff desk, the visit's tools open")
        page.get_by_role("button", name="로그아웃 · Sign out").click()
        expect(page).to_have_url(re.compile(r"/login"))

        sign_in(page, stack, "/admin", admin, password)
        expect(page.locator("#status")).to_contain_text("불러왔습니다")
        assert_accessible(page, "admin page, figures drawn")

        # Accounts in the page: a new interpreter, then the desk's working hours.
        newcomer = f"tong.{secrets.token_hex(3)}"
        page.get_by_text("새 계정 만들기").click()
        page.locator("#new-username").fill(newcomer)
        page.locator("#new-name").fill("새통역")
        page.locator("#new-region").fill("jongno")
        page.locator("#new-password").fill(secrets.token_urlsafe(18))
        page.get_by_role("button", name="만들기 · Create").click()
        expect(page.locator("#accounts-saved")).to_contain_text(newcomer)
        expect(page.locator("#accounts-body")).to_contain_text("새통역")
        page.get_by_role("button", name=f"바꾸기 · Edit: {staff}").click()
        expect(page.locator("#account-edit")).to_be_visible()
        expect(page.locator("#edit-work")).to_be_visible()
        assert_accessible(page, "admin page, an account's form open")
        page.locator("#edit-hours").fill("08:30-17:30")
        page.locator("#edit-capacity").fill("2")
        page.get_by_role("button", name="저장 · Save").click()
        expect(page.locator("#accounts-saved")).to_contain_text(staff)
        expect(page.locator("#account-edit")).to_be_hidden()
    finally:
        context.close()
