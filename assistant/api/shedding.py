"""Shed anonymous web load first when the gateway is saturated (review H5).

The abuse limits count per address and per session; many addresses at once (a botnet,
or a real rush after a news story) can still fill the process. Then the requests that
cost a citizen most to lose must go on: Twilio's webhooks (an SMS or a call gives no
second chance; Twilio does not retry a failed messaging webhook), the consoles of the
people answering, health checks and the dialogue's action calls. So the anonymous web
routes — the web chat and its speech — get their own share of in-flight requests; past
it they answer 503 with ``Retry-After`` and a plain sentence (the page keeps the message
and sends it again), while everything else runs up to the process-wide limit uvicorn
enforces (``limit_concurrency``, set a little above, as the last resort).
"""

from __future__ import annotations

import json

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

# What counts as anonymous web load (by path prefix).
WEB_PREFIXES = ("/api/webchat/",)
RETRY_AFTER_SECONDS = 5
DETAIL = (
    "지금 이용하는 분이 많습니다. 잠시 뒤에 다시 보내 주세요. 보내신 글은 화면에 남아 있습니다. "
    "Many people are using the service right now. Please send again in a moment; "
    "your message is still on the screen."
)


class WebLoadShedder:
    """503 for web chat requests past ``web_limit`` in flight; other routes pass."""

    def __init__(self, app: ASGIApp, web_limit: int) -> None:
        self.app = app
        self.web_limit = web_limit
        self.web_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WEB_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self.web_in_flight >= self.web_limit:
            log.warning("load.web_shed", in_flight=self.web_in_flight)
            await _unavailable(send)
            return
        self.web_in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.web_in_flight -= 1


async def _unavailable(send: Send) -> None:
    body = json.dumps({"detail": DETAIL}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
