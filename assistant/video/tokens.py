"""Signed join links for the citizen's side of a video call.

The citizen has no account: the link they are sent is the capability. A token is
``<expiry>.<mac>``: the expiry (Unix seconds) in clear, so it is checked without a
lookup, and an HMAC-SHA256 over the request id and that expiry, so it opens one
request's call only and cannot be stretched. Nothing is stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re

DEFAULT_TTL = dt.timedelta(hours=4)
# The key may sign other links too: a label keeps a MAC made for another purpose from
# ever passing as a video join token.
_PURPOSE = b"sotong.video.join.v1"
_TOKEN = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{43})$")


def _mac(key: bytes, request_id: int, expires_at: int) -> str:
    message = b"%s:%d:%d" % (_PURPOSE, request_id, expires_at)
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def join_token(key: bytes, request_id: int, expires_at: int) -> str:
    """A URL-safe token that opens request ``request_id``'s call until ``expires_at``.

    ``expires_at`` is Unix time in seconds. An empty key is refused: it would make
    every token forgeable.
    """
    if not key:
        raise ValueError("the signing key is empty")
    if request_id < 0 or expires_at < 0:
        raise ValueError("request id and expiry must not be negative")
    return f"{expires_at}.{_mac(key, request_id, expires_at)}"


def check_join_token(key: bytes, request_id: int, token: str | None, now: dt.datetime) -> bool:
    """Whether ``token`` was made with ``key`` for ``request_id`` and is unexpired at ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not key or not token:
        return False
    match = _TOKEN.match(token)
    if match is None:
        return False
    expires_at = int(match.group(1))
    if now.timestamp() >= expires_at:
        return False
    return hmac.compare_digest(match.group(2), _mac(key, request_id, expires_at))


def join_path(
    key: bytes, request_id: int, now: dt.datetime, ttl: dt.timedelta = DEFAULT_TTL
) -> str:
    """The path of the citizen's join page: ``/video/<id>?t=<token>``, valid for ``ttl``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    expires_at = int((now + ttl).timestamp())
    return f"/video/{request_id}?t={join_token(key, request_id, expires_at)}"
