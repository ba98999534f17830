"""People on the consoles in the browser tests: accounts made with the admin command,
and signing in through the real login page."""

from __future__ import annotations

import re
import subprocess
from typing import Any

from assistant.config import PROJECT_DIR
from tests.stackutil import Stack


def create_account(stack: Stack, username: str, password: str, *options: str) -> None:
    """``sotong accounts create`` on the stack's own database (same SOTONG_VAR_DIR);
    ``options`` are its flags (``--name``, ``--role``, ``--phone``…)."""
    subprocess.run(
        [
            str(PROJECT_DIR / ".venv" / "bin" / "sotong"),
            "accounts",
            "create",
            "--username",
            username,
            *options,
        ],
        env={**stack.gateway.env, "SOTONG_NEW_PASSWORD": password},
        check=True,
        capture_output=True,
        timeout=120,
    )


def sign_in(page: Any, stack: Stack, path: str, username: str, password: str) -> None:
    """Open a console page: sent to the login page first, signed in, sent back."""
    from playwright.sync_api import expect

    page.goto(stack.gateway.url + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("아이디").fill(username)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_role("button", name="로그인").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def become_available_and_accept(console: Any, accept: Any) -> None:
    """Tick "available" on the interpreter console and take a request at once, as a
    quick interpreter does.

    The server's answer to the availability change is held back until ``accept`` (a
    queue's accept button) has been clicked. The console must wait for that answer
    before it sends the accept: the server would otherwise see the accept first and
    refuse it (not available). A CI run caught that race; this makes it happen every
    time rather than sometimes.
    """
    held: list[Any] = []
    accepts_sent: list[str] = []

    def hold(route: Any) -> None:
        held.append(route)

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/accept"):
            accepts_sent.append(request.url)

    console.route("**/api/console/availability", hold)
    console.on("request", on_request)
    try:
        with console.expect_request("**/api/console/availability"):
            console.locator("#available").check()
        accept.click()
        # A window in which a console that does not wait would send its accept.
        console.wait_for_timeout(300)
        assert held, "the availability change never reached the network"
        assert not accepts_sent, f"accepted before availability was answered: {accepts_sent}"
        held[0].continue_()
    finally:
        console.remove_listener("request", on_request)
        console.unroute("**/api/console/availability")
