"""The contract between Rasa 3.6 and the gateway's current rasa-sdk action webhook.

Rasa 3.6.21 calls the gateway's action endpoint with its own wire format; a newer
rasa-sdk executes the actions. These tests watch Rasa's side (its tracker) to prove the
events and responses round-trip, so an SDK upgrade that breaks the protocol fails here.
"""

from __future__ import annotations

import importlib.metadata
import uuid
from pathlib import Path

import httpx
import pytest

from assistant.rasa_client import payload_with_context
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa


def _tracker(stack: Stack, sender: str) -> dict:
    response = httpx.get(
        f"{stack.rasa.url}/conversations/{sender}/tracker",
        params={"token": stack.rasa.auth_token},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def test_versions_on_each_side(stack: Stack) -> None:
    version = httpx.get(f"{stack.rasa.url}/version", timeout=5).json()
    assert version["version"] == "3.6.21"
    sdk = importlib.metadata.version("rasa-sdk")
    assert int(sdk.split(".")[1]) >= 10, f"gateway uses a current rasa-sdk, found {sdk}"


def test_custom_actions_round_trip(stack: Stack) -> None:
    sender = uuid.uuid4().hex
    replies = httpx.post(
        f"{stack.rasa.url}/webhooks/rest/webhook",
        json={
            "sender": sender,
            "message": "how do I apply for the basic pension",
            "metadata": {"language": "en", "channel": "webchat"},
        },
        timeout=30,
    ).json()
    # A response from the action (text built from the catalog) reaches the channel.
    assert any("[Basic pension]" in (r.get("text") or "") for r in replies), replies

    events = _tracker(stack, sender)["events"]
    slots = {
        (e["name"], e["value"])
        for e in events
        if e["event"] == "slot" and not isinstance(e["value"], dict | list)
    }
    # Rasa set the slots from the metadata (nlu/components/message_context.py's
    # entities, mapped in the domain), with no action call for them.
    assert ("language", "en") in slots and ("channel", "webchat") in slots
    # The SlotSet returned by action_answer_service was applied by Rasa.
    assert ("service", "basic_pension") in slots
    names = [e.get("name") for e in events if e["event"] == "action"]
    assert "action_answer_service" in names


def _slots(stack: Stack, sender: str) -> tuple[str, str]:
    slots = _tracker(stack, sender)["slots"]
    return slots["language"], slots["channel"]


def _send(stack: Stack, sender: str, message: str, metadata: dict[str, str]) -> str:
    replies = httpx.post(
        f"{stack.rasa.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": message, "metadata": metadata},
        timeout=30,
    ).json()
    return "\n".join(r.get("text") or "" for r in replies)


def test_language_and_channel_follow_every_message_and_payload(stack: Stack) -> None:
    # Issue 19: read from the metadata in Rasa's NLU pipeline, not by an action call.
    sender = uuid.uuid4().hex
    assert _send(stack, sender, "안녕하세요", {"language": "ko", "channel": "sms"}).startswith(
        "안녕하세요. 민원 도우미"
    )
    assert _slots(stack, sender) == ("ko", "sms")
    # The gateway decided English and the web for the next message.
    assert _send(stack, sender, "hello", {"language": "en", "channel": "webchat"}).startswith(
        "Hello. I am Sotong"
    )
    assert _slots(stack, sender) == ("en", "webchat")
    # Rasa reads a payload without the pipeline: alone, the metadata changes nothing…
    metadata = {"language": "ko", "channel": "voice"}
    assert _send(stack, sender, "/greet", metadata).startswith("Hello. I am Sotong")
    assert _slots(stack, sender) == ("en", "webchat")
    # …so the gateway puts the two into the payload, and the answer follows them.
    payload = payload_with_context("/greet", metadata)
    assert _send(stack, sender, payload, metadata).startswith("안녕하세요. 민원 도우미")
    assert _slots(stack, sender) == ("ko", "voice")
    # A message without them (a person handing back, Rasa's trigger_intent) keeps both.
    _send(stack, sender, "도움말", {})
    assert _slots(stack, sender) == ("ko", "voice")


def test_custom_payload_and_templated_response(stack: Stack) -> None:
    sender = uuid.uuid4().hex
    replies = httpx.post(
        f"{stack.rasa.url}/webhooks/rest/webhook",
        json={"sender": sender, "message": "상담원 연결해 주세요", "metadata": {"language": "ko"}},
        timeout=30,
    ).json()
    custom = [r["custom"] for r in replies if "custom" in r]
    assert custom and custom[0]["sotong_handoff"]["reason"] == "person"
    # `response=` in the SDK became Rasa's conditional response for the language slot.
    assert any("사람 상담을 요청했습니다" in (r.get("text") or "") for r in replies)


def test_action_webhook_refuses_a_wrong_token(stack: Stack) -> None:
    url = f"{stack.gateway.url}/webhooks/rasa/actions"
    body = {"next_action": "action_offer_choices", "tracker": {}, "domain": {}}
    assert httpx.post(url, json=body, timeout=5).status_code == 403
    assert httpx.post(url, params={"token": "wrong"}, json=body, timeout=5).status_code == 403
    # Review L3: a non-ASCII token is a refusal, not a 500; the list needs the token too.
    assert httpx.post(url, params={"token": "é"}, json=body, timeout=5).status_code == 403
    assert httpx.get(url, timeout=5).status_code == 403
    listed = httpx.get(url, params={"token": stack.rasa.actions_token}, timeout=5).json()
    assert {"name": "action_answer_service"} in listed


def test_unknown_action_is_404_like_rasa_sdk(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.gateway.url}/webhooks/rasa/actions",
        params={"token": stack.rasa.actions_token},
        json={"next_action": "action_nope", "tracker": {}, "domain": {}},
        timeout=5,
    )
    assert response.status_code == 404
    assert response.json()["action_name"] == "action_nope"


def test_gateway_log_holds_no_secret(stack: Stack) -> None:
    httpx.get(f"{stack.gateway.url}/readyz", timeout=10)  # calls Rasa with its token
    log = stack.gateway.log_path.read_text(encoding="utf-8", errors="replace")
    assert stack.rasa.auth_token and stack.rasa.auth_token not in log
    assert stack.rasa.actions_token and stack.rasa.actions_token not in log


def test_rasa_token_is_not_on_its_command_line_yet_guards_its_api(stack: Stack) -> None:
    # /proc/<pid>/cmdline is readable by every local user (review L11).
    assert stack.rasa.process is not None and stack.rasa.auth_token
    cmdline = Path(f"/proc/{stack.rasa.process.pid}/cmdline").read_bytes()
    assert b"run" in cmdline and stack.rasa.auth_token.encode() not in cmdline
    tracker = f"{stack.rasa.url}/conversations/nobody/tracker"
    assert httpx.get(tracker, timeout=10).status_code == 401
    token = {"token": stack.rasa.auth_token}
    assert httpx.get(tracker, params=token, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("channel", "language", "message", "expected"),
    [
        ("sms", "ko", "전입신고 어떻게 해요", "이사한 날부터 14일 안에 전입신고를 하세요."),
        ("voice", "en", "birth report", "Report your baby's birth within one month."),
        ("webchat", "ko", "전입신고 어떻게 해요", "[전입신고]"),
    ],
)
def test_answers_fit_the_channel(
    stack: Stack, channel: str, language: str, message: str, expected: str
) -> None:
    replies = httpx.post(
        f"{stack.rasa.url}/webhooks/rest/webhook",
        json={
            "sender": uuid.uuid4().hex,
            "message": message,
            "metadata": {"language": language, "channel": channel},
        },
        timeout=30,
    ).json()
    text = "\n".join(r.get("text") or "" for r in replies)
    assert text.startswith(expected), text
    if channel in {"sms", "voice"}:
        assert "\n" not in text  # one short message, not the full description


def test_an_action_call_without_the_domain_is_run(stack: Stack) -> None:
    # Rasa sends the domain only to the screening forms' validation actions
    # (enable_selective_domain); rasa-sdk alone would refuse the rest with 449, which
    # Rasa 3.6 does not retry (the round trip above fails without the gateway's fix).
    tracker = {
        "sender_id": uuid.uuid4().hex,
        "slots": {"language": "ko"},
        "latest_message": {"text": "hello", "metadata": {"language": "en"}},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    }
    response = httpx.post(
        f"{stack.gateway.url}/webhooks/rasa/actions",
        params={"token": stack.rasa.actions_token},
        json={"next_action": "action_start_over", "tracker": tracker},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    assert {"event": "slot", "name": "language", "value": "en"}.items() <= events[1].items()


def test_rasa_runs_with_the_projects_tracker_store_and_history(stack: Stack) -> None:
    # Rasa falls back to an in-memory tracker store, with only a warning, when a
    # configured store's class cannot be loaded: the server must say it has ours
    # (nlu/cached_tracker_store.py), the once-per-event history and the recent turns
    # in action calls (issue 19).
    assert stack.rasa.process is not None
    log = stack.rasa.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Tracker store: Rasa's SQL store, keeping 200 recent trackers" in log
    assert "prediction history is built once per event" in log
    assert "actions get the last 10 turns" in log
    assert "InMemoryTrackerStore" not in log
