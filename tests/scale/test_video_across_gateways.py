"""Issue 18's proof (b): a citizen on gateway A asks for an interpreter; the console on
gateway B gets the request live, accepts and starts a video call whose signalling
crosses gateways (the citizen's socket on A, the console's on B, through Redis): two
Chromium pages decode each other's video (Chromium's fake camera).

In its own module: Playwright's sync API keeps an event loop of its own while the
browser lives, which the asynchronous tests of test_scaled_mode.py cannot share. The
farm is the package's (tests/scale/conftest.py).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pytest

from tests.browser.consoles import create_account, sign_in
from tests.scale.farm import Farm, as_stack
from tests.stackutil import PUBLIC_URL

pytestmark = pytest.mark.rasa

JOIN_LINK = re.compile(r"https?://[^\s]+/video/\d+\?t=[A-Za-z0-9_.-]+")

MEDIA_STATS = """async () => {
  const call = window.sotongCall;
  if (!call || !call.pc) return {frames: 0, width: 0};
  let frames = 0;
  (await call.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      frames = Math.max(frames, s.framesDecoded || 0);
    }
  });
  return {frames, width: call.remoteVideo.videoWidth};
}"""


@pytest.fixture(scope="module")
def chromium_extra_args() -> list[str]:
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def test_b_an_interpreter_on_b_takes_a_citizen_on_a_and_they_see_each_other(
    browser: Any, farm: Farm
) -> None:
    from playwright.sync_api import expect

    username, password = f"scale.b.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    create_account(
        as_stack(farm.b), username, password, "--name", "이통역", "--role", "interpreter"
    )
    citizen_context, interpreter_context = browser.new_context(), browser.new_context()
    try:
        # The interpreter is at work on B before the request comes.
        console = interpreter_context.new_page()
        sign_in(console, as_stack(farm.b), "/interpreter", username, password)
        console.locator("#available").check()
        accept = console.get_by_role("button", name=re.compile("^수락 · Accept")).first
        # The citizen asks on A; the console on B shows it live (a push through Redis).
        chat = citizen_context.new_page()
        chat.goto(farm.a.url + "/")
        chat.get_by_label("메시지").fill("수어 통역 요청")
        chat.get_by_label("메시지").press("Enter")
        expect(accept).to_be_visible(timeout=20_000)
        accept.click()
        expect(console.locator("#session")).to_be_visible()
        console.get_by_role("button", name="영상 통화 시작 · Start video").click()
        log = chat.get_by_role("log")
        expect(log).to_contain_text("영상 통화 링크입니다", timeout=20_000)
        found = JOIN_LINK.search(log.inner_text())
        assert found is not None, log.inner_text()
        # The citizen's page and its signalling socket are on A, the console's on B.
        chat.goto(found.group(0).replace(PUBLIC_URL, farm.a.url))
        chat.get_by_role("button", name=re.compile("통화 시작")).click()
        deadline = time.monotonic() + 45
        seen: dict[str, Any] = {}
        while time.monotonic() < deadline:
            seen = {
                name: page.evaluate(MEDIA_STATS) for name, page in (("a", chat), ("b", console))
            }
            if all(s["frames"] > 0 and s["width"] > 0 for s in seen.values()):
                break
            time.sleep(0.25)
        else:
            raise AssertionError(f"no video both ways across gateways: {seen}")
        expect(console.locator("#call-state")).to_contain_text("연결되었습니다")
        chat.get_by_role("button", name=re.compile("통화 끝내기")).click()
        expect(console.locator("#call-state")).to_contain_text("시민이 통화를 끊었습니다")
    finally:
        citizen_context.close()
        interpreter_context.close()
