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
