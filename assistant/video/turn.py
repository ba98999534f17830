"""Short-lived TURN credentials for video calls (review L9), by the TURN REST API.

The convention (draft-uberti-behave-turn-rest-00), which coturn implements with
``use-auth-secret`` and ``static-auth-secret=<secret>``: the gateway and the TURN server
share a secret; the username is ``<expiry unix time>:<anything>`` and the password is
``base64(HMAC-SHA1(secret, username))``. The TURN server recomputes the password from
the username and refuses a username whose time has passed, so nothing is stored and
every socket that joins a call gets its own credential, useless after a few hours,
instead of one long-lived TURN account given to everyone with a join link.

The part after the colon is opaque (random): it names no person or request in the TURN
server's logs; the gateway logs which request and role it was given to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

import structlog

from assistant.config import Settings

log = structlog.get_logger(__name__)


def turn_password(secret: str, username: str) -> str:
    """The password the TURN server expects for ``username``: base64(HMAC-SHA1)."""
    if not secret:
        raise ValueError("the TURN secret is empty")
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def turn_credential(secret: str, expires_at: int, user: str) -> tuple[str, str]:
    """``(username, credential)`` good until ``expires_at`` (Unix seconds) for ``user``."""
    if expires_at < 0:
        raise ValueError("the expiry must not be negative")
    if not user or ":" in user:
        raise ValueError("the user part is non-empty and has no colon")
    username = f"{expires_at}:{user}"
    return username, turn_password(secret, username)


def ice_servers(
    settings: Settings, now: float, *, request_id: int | None = None, role: str | None = None
) -> list[dict[str, Any]]:
    """The ``RTCIceServer`` list for one socket joining a call at ``now`` (Unix time).

    ``SOTONG_ICE_SERVERS`` as it is (STUN, or a TURN server of its own), then, when
    ``SOTONG_TURN_SECRET`` is set, the ``SOTONG_TURN_URLS`` with a fresh credential that
    expires ``SOTONG_TURN_CREDENTIAL_HOURS`` after ``now``.
    """
    servers = [dict(server) for server in settings.ice_servers]
    secret = settings.turn_secret.get_secret_value() if settings.turn_secret else ""
    if not secret or not settings.turn_urls:
        return servers
    expires_at = int(now + settings.turn_credential_hours * 3600)
    user = secrets.token_hex(8)
    username, credential = turn_credential(secret, expires_at, user)
    servers.append(
        {"urls": list(settings.turn_urls), "username": username, "credential": credential}
    )
    log.info(
        "video.turn_credential", request_id=request_id, role=role, user=user, expires_at=expires_at
    )
    return servers
