"""A sign-language video call, end to end in real browsers against the real stack.

A citizen asks for an interpreter in the web chat (real Rasa); an interpreter, created
with the admin command, signs in, takes the request on the console and starts video;
the citizen opens the link they were sent. Both Chromium pages must then decode the
other side's video (Chromium's fake camera), signalled through the gateway only; again
after the citizen's page reloads; and a hang-up ends the call on both sides. Then the
citizen ends the session from the chat, and the interpreter's console lets it go.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import pytest

from tests.browser.consoles import become_available_and_accept, create_account, sign_in
from tests.stackutil import PUBLIC_URL, Stack

pytestmark = pytest.mark.rasa

JOIN_LINK = re.compile(r"https?://[^\s]+/video/\d+\?t=[A-Za-z0-9_.-]+")

# Both sides' view of the call: decoded frames of the other's video, and its size.
MEDIA_STATS = """async () => {
  const call = window.sotongCall;
  if (!call || !call.pc) return {frames: 0, width: 0, state: call ? call.state : null};
  let frames = 0;
  (await call.pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      frames = Math.max(frames, s.framesDecoded || 0);
    }
  });
  return {frames, width: call.remoteVideo.videoWidth, state: call.state};
}"""


@pytest.fixture(scope="module")
def chromium_extra_args() -> list[str]:
    # A camera and microphone that need no hardware and no permission prompt.
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def create_interpreter(stack: Stack, username: str, password: str) -> None:
    """An interpreter account, made with the admin command."""
    create_account(stack, username, password, "--name", "김수어", "--role", "interpreter")


def wait_for_media(pages: dict[str, Any], timeout: float = 45.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] = {}
    while time.monotonic() < deadline:
        seen = {name: page.evaluate(MEDIA_STATS) for name, page in pages.items()}
        if all(s["frames"] > 0 and s["width"] > 0 for s in seen.values()):
            return seen
        time.sleep(0.25)
    raise AssertionError(f"no video both ways after {timeout}s: {seen}")


def test_an_interpreter_and_a_citizen_see_each_other(browser: Any, stack: Stack) -> None:
    from playwright.sync_api import expect

    started = time.monotonic()
    username, password = f"sueo.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    create_interpreter(stack, username, password)

    citizen_context = browser.new_context()
    interpreter_context = browser.new_context()
    refused: list[str] = []
    try:
        # The citizen asks for an interpreter in the web chat.
        chat = citizen_context.new_page()
        chat.on("console", lambda m: refused.append(m.text) if "Refused" in m.text else None)
        chat.goto(stack.gateway.url + "/")
        log = chat.get_by_role("log")
        message = chat.get_by_label("메시지")
        message.fill("수어 통역 요청")
        message.press("Enter")
        expect(log.locator("li.bot").first).to_be_visible()

        # The interpreter signs in, becomes available and takes the request.
        console = interpreter_context.new_page()
        sign_in(console, stack, "/interpreter", username, password)
        # The session's stack may still hold other tests' requests (a desk's call for an
        # interpreter); the queue lists the longest-waiting first, so this citizen's,
        # made a moment ago, is the last.
        become_available_and_accept(
            console, console.get_by_role("button", name=re.compile("^수락 · Accept")).last
        )
        expect(console.locator("#session")).to_be_visible()
        console.get_by_role("button", name="영상 통화 시작 · Start video").click()
        expect(console.locator("#call-state")).to_contain_text("기다립니다")

        # The link reaches the citizen's chat; they open it (on this gateway, not the
        # public URL the stack is configured with) and start the call.
        expect(log).to_contain_text("영상 통화 링크입니다")
        found = JOIN_LINK.search(log.inner_text())
        assert found is not None, log.inner_text()
        link = found.group(0).replace(PUBLIC_URL, stack.gateway.url)
        chat.goto(link)
        expect(chat.get_by_role("heading", level=1)).to_contain_text("수어 통역 영상 통화")
        chat.get_by_role("button", name=re.compile("통화 시작")).click()

        stats = wait_for_media({"interpreter": console, "citizen": chat})
        connected = time.monotonic()
        expect(chat.get_by_role("status")).to_contain_text("연결되었습니다")
        expect(console.locator("#call-state")).to_contain_text("연결되었습니다")
        assert not [r for r in refused if "Content Security Policy" in r], refused

        # The citizen's page reloads (a phone that slept, a tap on refresh): the call
        # is negotiated afresh on both sides.
        chat.reload()
        chat.get_by_role("button", name=re.compile("통화 시작")).click()
        wait_for_media({"interpreter": console, "citizen": chat})
        expect(console.locator("#call-state")).to_contain_text("연결되었습니다")

        # The citizen hangs up: both sides end, and the camera is released.
        chat.get_by_role("button", name=re.compile("통화 끝내기")).click()
        expect(chat.get_by_role("heading", name=re.compile("통화가 끝났습니다"))).to_be_visible()
        expect(console.locator("#call-state")).to_contain_text("시민이 통화를 끊었습니다")
        assert chat.evaluate("window.sotongCall.localStream") is None

        # Back in the chat the citizen can always leave the session themselves (review
        # M4): the banner's button ends it, the bot answers again, the console is told.
        chat.goto(stack.gateway.url + "/")
        banner = chat.locator("#handoff")
        expect(banner).to_contain_text("상담사와 대화 중입니다")
        banner.get_by_role("button", name="상담 끝내기").click()
        expect(chat.get_by_role("log")).to_contain_text("사람 상담을 끝냈습니다")
        expect(banner).to_be_hidden()
        expect(console.locator("#session")).to_be_hidden()
        print(
            f"[video] media both ways {connected - started:.1f}s after the account was made; "
            f"whole test {time.monotonic() - started:.1f}s; {stats}"
        )
    finally:
        citizen_context.close()
        interpreter_context.close()
