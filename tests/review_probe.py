"""The security review's shared reproduction helpers (``probe.py``, section 3 of
``../shared/reviews/security-2026-12.md``), ported to httpx and websockets for
tests/integration/test_review_reproductions.py.

They behave as the review's standard-library versions do: ``call`` answers
``(status, body bytes)`` whatever the status, ``session`` opens a web chat, ``say``
posts a message, ``twilio_post`` signs a form as Twilio does, ``sms`` posts an SMS
whose MessageSid is ``SM`` and ``n`` padded to 32 digits, and ``WS`` is a WebSocket
with ``status``, ``send`` and ``recv`` (``(opcode, payload)``). Two things differ, so
they can run against a test stack rather than the review's ``127.0.0.1:8000``:

- a ``Probe`` is bound to a gateway URL, the stack's Twilio credentials and public URL
  (what the gateway checks signatures against), and a client address: every request
  carries it as ``X-Forwarded-For``, which the gateway trusts from its loopback proxy as
  behind nginx, so each reproduction is its own "attacker" for the per-address limits;
- ``WS`` also reports how the server closed the socket (``close_code``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.stackutil import PUBLIC_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER

MEDIA_PATH = "/webhooks/twilio/media"


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature``: HMAC-SHA1 over the URL and the sorted fields."""
    s = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), s.encode(), hashlib.sha1).digest()).decode()


def ws_url(http_url: str) -> str:
    """The ws:// (wss://) form of an http:// (https://) URL."""
    scheme, sep, rest = http_url.partition("://")
    return {"https": "wss", "http": "ws"}.get(scheme, scheme) + sep + rest


class Probe:
    """The review's ``probe.py`` against one gateway, as one client address."""

    def __init__(
        self,
        base_url: str,
        address: str,
        *,
        public_url: str = PUBLIC_URL,
        auth_token: str = TWILIO_AUTH_TOKEN,
        account_sid: str = TWILIO_ACCOUNT_SID,
        to_number: str = TWILIO_PHONE_NUMBER,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.address = address
        self.public_url = public_url.rstrip("/")
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.to_number = to_number
        self.http = httpx.Client(
            base_url=self.base_url, headers={"X-Forwarded-For": address}, timeout=120
        )
        # The handshake signature Twilio sends on every Media Stream of this number.
        self.media_sig = twilio_signature(auth_token, ws_url(self.public_url) + MEDIA_PATH, {})

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- HTTP ------------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        timeout: float = 120,
    ) -> tuple[int, bytes]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        response = self.http.request(method, path, content=data, headers=h, timeout=timeout)
        return response.status_code, response.content

    def response(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """``call``, but the whole response (for its headers)."""
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        return self.http.request(method, path, content=data, headers=h)

    def session(self, lang: str = "ko") -> str:
        status, body = self.call("POST", "/api/webchat/sessions", {"language": lang})
        assert status == 201, (status, body[:300])
        return str(json.loads(body)["session_id"])

    def say(
        self,
        sid: str,
        text: str,
        payload: str | None = None,
        cid: str | None = None,
        timeout: float = 120,
    ) -> tuple[int, bytes]:
        return self.call(
            "POST",
            f"/api/webchat/sessions/{sid}/messages",
            {"text": text, "payload": payload, "client_message_id": cid},
            timeout=timeout,
        )

    # ---- Twilio's webhooks -----------------------------------------------------------
    def twilio_signature(self, path: str, params: dict[str, str]) -> str:
        return twilio_signature(self.auth_token, self.public_url + path, params)

    def twilio_post(
        self, path: str, params: dict[str, str], timeout: float = 120
    ) -> tuple[int, bytes]:
        response = self.http.post(
            path,
            data=params,
            headers={"X-Twilio-Signature": self.twilio_signature(path, params)},
            timeout=timeout,
        )
        return response.status_code, response.content

    def sms(
        self, body: str, n: int, frm: str = "+821012345678", timeout: float = 120
    ) -> tuple[int, bytes]:
        return self.twilio_post(
            "/webhooks/twilio/sms",
            {
                "MessageSid": "SM" + str(n).rjust(32, "0"),
                "AccountSid": self.account_sid,
                "From": frm,
                "To": self.to_number,
                "Body": body,
                "NumMedia": "0",
            },
            timeout,
        )

    def incoming_call(self, call_sid: str, frm: str, **extra: str) -> tuple[int, bytes]:
        """The voice webhook, as Twilio posts it when ``frm`` calls."""
        return self.twilio_post(
            "/webhooks/twilio/voice",
            {
                "CallSid": call_sid,
                "From": frm,
                "To": self.to_number,
                "AccountSid": self.account_sid,
                **extra,
            },
        )

    # ---- sockets ---------------------------------------------------------------------
    def ws(self, path: str, headers: dict[str, str] | None = None) -> WS:
        return WS(
            ws_url(self.base_url) + path, {"X-Forwarded-For": self.address, **(headers or {})}
        )


class WS:
    """A WebSocket to the gateway: ``status`` is the handshake's status line, ``send``
    sends a text (or, for bytes, binary) frame, ``recv`` answers ``(opcode, payload)``
    (1 text, 2 binary, 8 close with the code and reason as payload)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.close_code: int | None = None
        self.close_reason = ""
        self.conn: ClientConnection | None = None
        try:
            self.conn = ws_connect(
                url, additional_headers=headers or {}, open_timeout=15, max_size=None
            )
        except InvalidStatus as refused:
            self.status = f"HTTP/1.1 {refused.response.status_code}"
            return
        self.status = "HTTP/1.1 101"

    def send(self, data: str | bytes) -> None:
        assert self.conn is not None, self.status
        self.conn.send(data)

    def recv(self, timeout: float | None = 30) -> tuple[int, bytes]:
        assert self.conn is not None, self.status
        try:
            message = self.conn.recv(timeout=timeout)
        except ConnectionClosed as closed:
            received = closed.rcvd
            self.close_code = received.code if received else None
            self.close_reason = received.reason if received else ""
            payload = (self.close_code or 0).to_bytes(2, "big") + self.close_reason.encode()
            return 8, payload
        if isinstance(message, str):
            return 1, message.encode()
        return 2, bytes(message)

    def recv_json(self, timeout: float | None = 30) -> dict[str, Any] | None:
        """The next text frame as JSON; None once the socket is closed."""
        opcode, payload = self.recv(timeout)
        if opcode == 8:
            return None
        value: dict[str, Any] = json.loads(payload)
        return value

    def wait_closed(self, timeout: float = 30) -> int | None:
        """Read (and drop) frames until the server closes; its close code."""
        assert self.conn is not None, self.status
        while True:
            opcode, _ = self.recv(timeout)
            if opcode == 8:
                return self.close_code

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
