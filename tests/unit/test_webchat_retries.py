"""A retried web chat message (the same ``client_message_id``) is never answered with
nothing (review M1): kept while the dialogue is down, the retry hears the same plain
apology. The gateway runs in process; Rasa's address refuses at once."""

from __future__ import annotations

from pathlib import Path

import httpx

from assistant.app import create_app
from assistant.config import Settings
from assistant.texts import say


async def test_a_retry_of_a_kept_message_hears_the_apology_again(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        env="development",
        var_dir=tmp_path,
        voice_preload=False,
        rasa_url="http://127.0.0.1:9",  # down
        pending_retry_seconds=3600,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            session = (await client.post("/api/webchat/sessions", json={})).json()["session_id"]
            body = {"text": "등본 떼려고요", "client_message_id": "w-retry-1"}
            url = f"/api/webchat/sessions/{session}/messages"
            first = (await client.post(url, json=body)).json()
            again = (await client.post(url, json=body)).json()
    assert first["degraded"] and again["degraded"] and again["duplicate"]
    assert [m["text"] for m in again["messages"]] == [say("dialogue_unavailable", "ko")]
    assert again["inbound_id"] == first["inbound_id"]
