"""The scaled deployment for tests/scale: two gateways and two Rasa servers behind
nginx, on PostgreSQL and Redis, started once for the package. Every part is real and on this
machine (CI's too); a missing one is said loudly (``missing_part``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import browser, chromium_extra_args  # noqa: F401 - fixtures
from tests.conftest import missing_part
from tests.scale.farm import Farm, build_farm, fresh_databases, nginx_binary, running_farm
from tests.stackutil import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
from tests.twilio_double import TwilioDouble


@pytest.fixture(scope="package")
def twilio() -> Iterator[TwilioDouble]:
    """Twilio's REST API on 127.0.0.1 for both gateways: every text sent lands here."""
    with TwilioDouble(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN) as double:
        yield double


@pytest.fixture(scope="package")
def farm(
    rasa_model: Path,
    postgres_base_url: str,
    redis_url: str,
    twilio: TwilioDouble,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Farm]:
    nginx = nginx_binary()
    if nginx is None:
        missing_part("nginx (Debian's nginx-light, installed by scripts/setup.sh)")
    assert nginx is not None
    name = f"sotong_scale_{uuid.uuid4().hex[:10]}"
    with fresh_databases(postgres_base_url, name, f"{name}_rasa") as (store, tracker):
        farm = build_farm(
            rasa_model,
            tmp_path_factory.mktemp("farm"),
            database_url=store,
            tracker_url=tracker,
            redis_url=redis_url,
            nginx=nginx,
            extra_env={
                "SOTONG_TWILIO_API_URL": twilio.url,
                "SOTONG_OUTBOX_POLL_SECONDS": "0.5",
                "SOTONG_REMINDER_INTERVAL_SECONDS": "1",
                # One number texts 50 times a minute here; the per-number limit (10) is
                # tests/unit's, as the stack's web limits are (tests/stackutil.py).
                "SOTONG_SMS_RATE_PER_MINUTE": "100000",
            },
        )
        with running_farm(farm) as running:
            yield running
