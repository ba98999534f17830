"""Security headers on every HTTP response (review L8; issue 16).

A pure ASGI middleware that adds what a response did not set itself (the video page
sets its own policy): a Content-Security-Policy that loads everything
from the gateway only and forbids framing, ``Referrer-Policy: no-referrer`` (pages hold
capabilities in their addresses), ``X-Content-Type-Options: nosniff``, and HSTS when
the public address is https. FastAPI's own API pages (``/docs``, ``/redoc``) load
Swagger UI from a CDN, so they get no CSP; production turns them off.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_API_PAGES = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the security headers a response lacks."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.headers = {
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            # The interpreter's console starts video calls: camera and microphone here.
            "Permissions-Policy": "camera=(self), microphone=(self), geolocation=()",
        }
        if https:
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api_page = scope["path"].startswith(_API_PAGES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                if not api_page:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            await send(message)

        await self.app(scope, receive, with_headers)
