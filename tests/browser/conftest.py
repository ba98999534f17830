"""Real Chromium (Debian's package, driven by Playwright) for the browser tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import missing_part
from tests.stackutil import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from tests.twilio_double import TwilioDouble

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: stop Chromium from calling home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium_extra_args() -> list[str]:
    """Flags a test module adds to CHROMIUM_ARGS; override it in the module."""
    return []


@pytest.fixture(scope="module")
def browser(chromium_extra_args: list[str]) -> Iterator[Any]:
    """One headless Chromium per test module."""
    chromium = shutil.which("chromium")
    if chromium is None:
        missing_part("Debian's chromium (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS + chromium_extra_args
        )
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioDouble]:
    """The local Twilio double for one module's stack (it records texts and calls)."""
    with TwilioDouble(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN) as double:
        yield double
