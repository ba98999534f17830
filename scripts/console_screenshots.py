"""Screenshots of each console for the README (docs/screenshots/*.png).

Starts a real stack (the trained Rasa model, a gateway on a temporary SQLite database),
makes a staff member, an interpreter and an admin with the admin command, puts a
citizen in the queue through the web chat, and photographs in Chromium: the
interpreter console holding the session, the staff desk with a visit, the admin page.
Nothing here is a test; run it by hand after a console changes:

    .venv/bin/python scripts/console_screenshots.py
"""

from __future__ import annotations

import re
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.training import ensure_model  # noqa: E402
from tests.browser.consoles import create_account, sign_in  # noqa: E402
from tests.stackutil import running_stack  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    model = ensure_model(echo=print)
    password = secrets.token_urlsafe(18)
    with (
        tempfile.TemporaryDirectory() as var,
        running_stack(model, Path(var), extra_env={"SOTONG_VOICE_PRELOAD": "false"}) as stack,
    ):
        create_account(stack, "kim.sueo", password, "--name", "김수어", "--role", "interpreter")
        create_account(stack, "park.desk", password, "--name", "박주무관", "--role", "staff")
        create_account(stack, "lee.admin", password, "--name", "이관리", "--role", "admin")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            citizen = browser.new_page(viewport=VIEWPORT)
            citizen.goto(stack.gateway.url + "/")
            message = citizen.get_by_label("메시지")
            message.fill("기초연금 신청하고 싶어요")
            message.press("Enter")
            expect(citizen.get_by_role("log").locator("li.bot").first).to_be_visible(timeout=30_000)
            message.fill("수어 통역 요청")
            message.press("Enter")

            console = browser.new_page(viewport=VIEWPORT)
            sign_in(console, stack, "/interpreter", "kim.sueo", password)
            console.locator("#available").check()
            console.get_by_role("button", name=re.compile("^수락 · Accept")).first.click()
            expect(console.locator("#session")).to_be_visible()
            console.screenshot(path=str(OUT / "interpreter-console.png"), full_page=True)

            desk = browser.new_page(viewport=VIEWPORT)
            sign_in(desk, stack, "/staff", "park.desk", password)
            desk.locator("#method-spoken").check()
            desk.locator("#consent").check()
            desk.get_by_role("button", name="상담 시작 · Start").click()
            desk.get_by_label(re.compile("시민이 한 말")).fill("기초연금 신청하고 싶어요")
            desk.get_by_role("button", name="보내기 · Send", exact=True).click()
            expect(desk.locator("#transcript li.bot").first).to_be_visible(timeout=30_000)
            desk.get_by_text("결과 기록").first.click()
            desk.screenshot(path=str(OUT / "staff-desk.png"), full_page=True)

            admin = browser.new_page(viewport=VIEWPORT)
            sign_in(admin, stack, "/admin", "lee.admin", password)
            expect(admin.locator("#status")).to_contain_text("불러왔습니다")
            admin.screenshot(path=str(OUT / "admin.png"), full_page=True)
            browser.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
