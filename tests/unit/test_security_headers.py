"""Security headers on every page, API pages off and /metrics closed in production
(review L8; issue 16). The whole gateway runs in process; no Rasa is needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from assistant.api.headers import CONTENT_SECURITY_POLICY
from assistant.app import create_app
from assistant.config import Settings


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "development",
        "var_dir": tmp_path,
        "voice_preload": False,
        "rasa_url": "http://127.0.0.1:9",
        "pending_retry_seconds": 3600,
    }
    return Settings(**{**values, **extra})


def _production(tmp_path: Path, **extra: Any) -> Settings:
    return _settings(
        tmp_path,
        env="production",
        twilio_account_sid="AC" + "3f9a1c7e" * 4,
        twilio_auth_token="b61e0c4d9f2a47e3a8c5d1f0e9b7a263",
        twilio_phone_number="+827012345678",
        public_url="https://sotong.example.kr",
        rasa_token="r8VxQ2pL6mZt",
        actions_token="a4NwK9sD3fHj",
        secret_key="k7Gq2Zx9Lp4Rt8Wm",
        **extra,
    )


def test_every_page_and_answer_carries_the_security_headers(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path))) as client:
        for response in (
            client.get("/"),
            client.get("/login"),
            client.get("/healthz"),
            client.post("/api/webchat/sessions", json={}),
            client.get("/api/webchat/sessions/" + "0" * 32 + "/messages"),  # a 404
        ):
            headers = response.headers
            assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in headers  # not https here
        # The video page keeps its own policy (the camera is allowed there).
        video = client.get("/video/1?t=0.x")
        assert "camera=(self)" in video.headers["permissions-policy"]
        # FastAPI's API pages load Swagger UI from a CDN: no CSP there (off in production).
        assert client.get("/docs").status_code == 200
        assert "content-security-policy" not in client.get("/docs").headers
        assert client.get("/metrics").status_code == 200  # open outside production


def test_production_turns_the_api_pages_off_and_closes_metrics(tmp_path: Path) -> None:
    with TestClient(create_app(_production(tmp_path))) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
            assert client.get(path).status_code == 404, path
        assert client.get("/").headers["strict-transport-security"] == "max-age=31536000"


def test_metrics_ask_for_the_operators_token(tmp_path: Path) -> None:
    settings = _production(tmp_path, metrics_token="m3TrIcS-9f2c7a")
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.get("/metrics", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer m3TrIcS-9f2c7a"}
        answered = client.get("/metrics", headers=right)
        assert answered.status_code == 200 and "sotong_" in answered.text
