"""Readiness follows Rasa; when Rasa dies the citizen is answered plainly, the message is
kept, and it is answered (pushed over the WebSocket) once Rasa is back."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.integration.conftest import Citizen, texts
from tests.stackutil import build_stack

pytestmark = pytest.mark.rasa


def _status_of(db: Path, turn_id: int) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status FROM turns WHERE id = ?", (turn_id,)).fetchone()[0]


def test_readiness_outage_and_recovery(rasa_model: Path, tmp_path: Path) -> None:
    stack = build_stack(rasa_model, tmp_path / "lifecycle")
    stack.gateway.start()
    try:
        stack.gateway.wait_alive()
        with httpx.Client(base_url=stack.gateway.url, timeout=30) as client:
            # No Rasa yet: alive but not ready.
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503

            stack.rasa.start()
            # Rasa is loading its model (about 20 s): still not ready.
            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503, not_ready.text
            stack.rasa.wait_ready()
            # Started through nlu/rasa_cli.py: TensorFlow's optional jax import (about
            # 105 MB) is skipped, so no part of jax is in the server's memory.
            assert stack.rasa.process is not None
            assert "jaxlib" not in Path(f"/proc/{stack.rasa.process.pid}/maps").read_text()
            stack.gateway.wait_ready(timeout=30)
            ready = client.get("/readyz").json()
            assert ready["checks"] == {
                "rasa": "ok",
                "store": "ok",
                "catalog": ready["checks"]["catalog"],
                "voice": "ok",  # the Korean speech model is in memory
                "loops": dict.fromkeys(
                    ("kept-messages", "housekeeping", "handoff-upkeep", "outbox", "reminders"),
                    "running",
                ),
            }

            citizen = Citizen(client)
            assert not citizen.say("안녕하세요")["degraded"]

            ws_url = stack.gateway.url.replace("http://", "ws://")
            with connect(f"{ws_url}/api/webchat/sessions/{citizen.session_id}/ws") as socket:
                stack.rasa.kill()
                kept = citizen.say("등본 떼려고요")
                assert kept["degraded"]
                assert "받아 두었습니다" in texts(kept) and "110" in texts(kept)
                db = stack.var_dir / "sotong.db"
                assert _status_of(db, kept["inbound_id"]) == "pending"
                assert client.get("/readyz").status_code == 503

                stack.rasa.start()
                stack.rasa.wait_ready()
                pushed = json.loads(socket.recv(timeout=60))
                assert pushed["type"] == "message"
                assert "[주민등록표 등본·초본 발급]" in pushed["message"]["text"]
                assert _status_of(db, kept["inbound_id"]) == "answered"
            deadline = time.monotonic() + 10
            while client.get("/readyz").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert client.get("/readyz").status_code == 200
            # The transcript holds the kept message, the apology and the later answer.
            transcript = citizen.transcript()
            assert any("[주민등록표 등본·초본 발급]" in m["text"] for m in transcript)
    finally:
        stack.stop()
