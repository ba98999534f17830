"""Short-lived TURN credentials (review L9): the TURN REST API as coturn checks it.

Known answers are computed apart from the code under test (``openssl dgst -sha1
-hmac``, and ``hmac`` here); where coturn is installed (``turnserver``), a real TURN
server with ``use-auth-secret`` allocates a relay with a credential the gateway made and
refuses an expired or foreign one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from assistant.config import Settings, SettingsError
from assistant.stack import free_port
from assistant.video.turn import ice_servers, turn_credential, turn_password
from tests.conftest import missing_part

SECRET = "north-wind-and-the-sun"
URLS = ["turn:turn.example:3478?transport=udp", "turns:turn.example:5349"]


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


# ---- the credential ------------------------------------------------------------------
def test_the_password_is_coturn_s_known_answer() -> None:
    # printf '%s' "1767225600:sotong-test" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64
    assert turn_password(SECRET, "1767225600:sotong-test") == "2x6ioGaxQSlyuL2y76B3qKVUvbw="
    username, password = turn_credential(SECRET, 1767225600, "sotong-test")
    assert (username, password) == ("1767225600:sotong-test", "2x6ioGaxQSlyuL2y76B3qKVUvbw=")


def test_the_password_is_base64_hmac_sha1_of_the_username() -> None:
    username, password = turn_credential("another secret", 2_000_000_000, "a1b2c3")
    digest = hmac.new(b"another secret", b"2000000000:a1b2c3", hashlib.sha1).digest()
    assert username == "2000000000:a1b2c3"
    assert password == base64.b64encode(digest).decode()


def test_a_credential_needs_a_secret_and_a_plain_user_part() -> None:
    with pytest.raises(ValueError):
        turn_password("", "1:x")
    for user in ("", "a:b"):
        with pytest.raises(ValueError):
            turn_credential(SECRET, 1, user)
    with pytest.raises(ValueError):
        turn_credential(SECRET, -1, "x")


def test_without_a_turn_secret_the_static_servers_go_out_as_they_are() -> None:
    static = [{"urls": "stun:stun.example:3478"}]
    assert ice_servers(settings(ice_servers=static), 1000.0) == static
    assert ice_servers(settings(), 1000.0) == []


def test_with_a_turn_secret_each_call_gets_a_fresh_credential() -> None:
    stun = {"urls": "stun:stun.example:3478"}
    config = settings(
        ice_servers=[stun], turn_secret=SECRET, turn_urls=URLS, turn_credential_hours=2
    )
    now = 1_800_000_000.0
    first, second = ice_servers(config, now), ice_servers(config, now)
    assert first[0] == stun and len(first) == 2
    turn = first[1]
    assert turn["urls"] == URLS
    expiry, _, user = turn["username"].partition(":")
    assert int(expiry) == int(now) + 2 * 3600
    assert len(user) == 16 and int(user, 16) >= 0  # opaque: random hex, no name in it
    assert turn["credential"] == turn_password(SECRET, turn["username"])
    assert second[1]["username"] != turn["username"]
    assert config.ice_servers == [stun]  # the settings are not changed


# ---- the settings --------------------------------------------------------------------
def test_turn_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOTONG_TURN_SECRET", SECRET)
    monkeypatch.setenv("SOTONG_TURN_URLS", " turn:a.example:3478 , turns:a.example:5349 ")
    config = Settings(_env_file=None)
    assert config.turn_urls == ["turn:a.example:3478", "turns:a.example:5349"]
    assert config.turn_secret is not None and config.turn_secret.get_secret_value() == SECRET
    assert config.turn_credential_hours == 4.0
    assert SECRET not in repr(config)
    monkeypatch.setenv("SOTONG_TURN_URLS", '["turn:b.example:3478?transport=tcp"]')
    monkeypatch.setenv("SOTONG_TURN_CREDENTIAL_HOURS", "1.5")
    config = Settings(_env_file=None)
    assert config.turn_urls == ["turn:b.example:3478?transport=tcp"]
    assert config.turn_credential_hours == 1.5
    # docker compose passes "" for what is unset: neither is set then.
    monkeypatch.setenv("SOTONG_TURN_SECRET", "")
    monkeypatch.setenv("SOTONG_TURN_URLS", "")
    config = Settings(_env_file=None)
    assert config.turn_secret is None and config.turn_urls == []


@pytest.mark.parametrize(
    "values",
    [
        {"turn_secret": SECRET},  # a secret without servers
        {"turn_urls": URLS},  # servers without a secret: they would refuse every call
        {"turn_secret": SECRET, "turn_urls": ["stun:a.example"]},
        {"turn_secret": SECRET, "turn_urls": ["https://a.example"]},
        {"turn_secret": SECRET, "turn_urls": URLS, "turn_credential_hours": 0},
        {"turn_secret": SECRET, "turn_urls": URLS, "turn_credential_hours": 48},
    ],
)
def test_half_or_wrong_turn_settings_refuse_to_start(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        settings(**values)


def test_a_placeholder_turn_secret_refuses_production() -> None:
    good = {
        "env": "production",
        "twilio_account_sid": "AC" + "0123456789abcdef" * 2,
        "twilio_auth_token": "f" * 32,
        "twilio_phone_number": "+827012345678",
        "public_url": "https://sotong.example.kr",
        "rasa_token": "r4nd0m-rasa-t0ken-value",
        "actions_token": "r4nd0m-act10ns-t0ken",
        "secret_key": "r4nd0m-s1gn1ng-k3y-0f-l1nks",
        "turn_urls": URLS,
    }
    settings(**good, turn_secret="a-l0ng-r4nd0m-turn-s3cret").check()
    with pytest.raises(SettingsError) as refused:
        settings(**good, turn_secret="changeme").check()
    assert "SOTONG_TURN_SECRET is a placeholder" in str(refused.value)
    assert "changeme" not in str(refused.value)


# ---- a real TURN server (coturn, from Debian through scripts/setup.sh) -----------------
@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[int]:
    """coturn on 127.0.0.1 with ``use-auth-secret`` and our secret; its port."""
    if shutil.which("turnserver") is None or shutil.which("turnutils_uclient") is None:
        missing_part("coturn (turnserver, turnutils_uclient; scripts/setup.sh installs it)")
    port = free_port()
    relay = 40000 + port % 20000  # a small relay range of its own
    server = subprocess.Popen(
        [
            "turnserver",
            "-n",  # no configuration file: only what is given here
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--min-port={relay}",
            f"--max-port={relay + 20}",
            "--use-auth-secret",
            f"--static-auth-secret={SECRET}",
            "--realm=sotong.test",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--allow-loopback-peers",
            f"--pidfile={tmp_path / 'turnserver.pid'}",
            "--log-file=stdout",
            "--simple-log",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("turnserver did not start")
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _allocates(port: int, username: str, password: str) -> bool:
    """Whether coturn's test client gets a relay (Allocate, then data through it)."""
    # -y: the client talks to itself through the relay; one message of 64 bytes.
    client = ["turnutils_uclient", "-p", str(port), "-u", username, "-w", password]
    result = subprocess.run(
        [*client, "-y", "-n", "1", "-m", "1", "-l", "64", "127.0.0.1"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0 and b"Cannot complete Allocation" not in result.stdout


def _coturn_s_clock() -> int:
    """The machine's wall clock, which coturn reads: under ``make test``'s shifted-clock
    pass this test's own ``time.time`` is years ahead, and coturn's is not."""
    return int(subprocess.run(["date", "+%s"], capture_output=True, check=True).stdout)


@pytest.mark.timeout(120)
def test_coturn_relays_with_the_gateway_s_credential_and_refuses_others(coturn: int) -> None:
    now = _coturn_s_clock()
    config = settings(turn_secret=SECRET, turn_urls=[f"turn:127.0.0.1:{coturn}"])
    server = ice_servers(config, now)[-1]
    assert _allocates(coturn, server["username"], server["credential"])
    expired = turn_credential(SECRET, now - 5, "late")
    assert not _allocates(coturn, *expired)
    foreign = turn_credential("not the shared secret", now + 600, "forged")
    assert not _allocates(coturn, *foreign)
