"""Twilio request signatures: every Twilio webhook is checked before anything reads it.

Twilio signs the URL it called plus the POSTed form fields with the account's auth token
(``X-Twilio-Signature``). Behind a proxy that rewrites scheme or host, the URL the
gateway sees is not the one Twilio signed, so the check always uses the configured
public URL (``SOTONG_PUBLIC_URL``) plus the request's path and query.

A Media Stream's WebSocket handshake is signed the same way over the ``wss://`` URL
Twilio connected to, with no parameters (a GET has no form, and Twilio drops query
strings from ``<Stream>`` URLs): see ``websocket_signature_ok``. That signature is
therefore the same on every handshake, and whoever sees one can open sockets: nothing on
our side can change what Twilio signs. What a socket may then do rests on the ``start``
token (channels/voice/adapter.py: our key, a few minutes, one stream per live call;
review L1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import structlog
from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from assistant.api.deps import ServicesDep
from assistant.config import Settings
from assistant.links import public_link

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


def signed_url(settings: Settings, path: str, query: str = "") -> str | None:
    """The URL Twilio calls (and signs) for ``path``, or None when no public URL is set."""
    return public_link(settings, path, query)


_WEBSOCKET_SCHEMES = {"https": "wss", "http": "ws", "wss": "wss", "ws": "ws"}


def public_websocket_url(public_url: str, path: str) -> str:
    """The ``wss://`` URL of ``path`` under ``public_url`` (``http`` → ``ws`` locally).

    The one builder of it: the TwiML that names the stream and the check of the
    handshake's signature must agree to the character. Twilio drops query strings from
    stream URLs, so any query or fragment of ``public_url`` is left out; ValueError if
    ``public_url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(public_url.strip())
    if parts.scheme not in _WEBSOCKET_SCHEMES or not parts.netloc:
        raise ValueError("the public URL must be an absolute http(s) URL")
    full_path = parts.path.rstrip("/") + path
    return urlunsplit((_WEBSOCKET_SCHEMES[parts.scheme], parts.netloc, full_path, "", ""))


def websocket_signed_url(settings: Settings, path: str) -> str | None:
    """The ``wss://`` URL Twilio connects to (and signs) for ``path``; None without a
    usable public URL."""
    if not settings.public_url:
        return None
    try:
        return public_websocket_url(settings.public_url, path)
    except ValueError:
        return None


def websocket_signature_ok(settings: Settings, headers: Mapping[str, str], path: str) -> bool:
    """Whether a Media Stream handshake's ``X-Twilio-Signature`` is Twilio's.

    Twilio signs the ``wss://`` URL of the ``<Stream>`` (``SOTONG_PUBLIC_URL`` with
    https → wss, plus ``path``) with no parameters. ``path`` is the request's path only:
    Twilio never sends a query on a stream URL. ``headers`` may be Starlette's headers or
    any mapping (looked up case-insensitively). False when the auth token or public URL
    is unset: no handshake can then be proven to come from Twilio.
    """
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    url = websocket_signed_url(settings, path)
    wanted = SIGNATURE_HEADER.lower()
    signature = next((value for key, value in headers.items() if key.lower() == wanted), "")
    if not token or url is None or not signature:
        return False
    return bool(RequestValidator(token).validate(url, {}, signature))


async def verified_twilio_form(request: Request, services: ServicesDep) -> FormData:
    """The request's form fields, once its Twilio signature is proven; else 403."""
    settings = services.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    url = signed_url(settings, request.url.path, request.url.query)
    if not token or url is None:
        # Without both, no request can be proven to come from Twilio: refuse them all.
        log.error("twilio.not_configured", path=request.url.path)
        raise HTTPException(status_code=403, detail="Twilio webhooks are not configured")
    signature = request.headers.get(SIGNATURE_HEADER)
    # Twilio posts application/x-www-form-urlencoded: every value a string. A multipart
    # body with a file would reach the validator as an UploadFile and fail it with a
    # TypeError (a 500; review L2), so anything else is refused first.
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        services.metrics.rejected_webhooks.labels("twilio", "content_type").inc()
        raise HTTPException(
            status_code=415, detail="Twilio posts application/x-www-form-urlencoded"
        )
    form = await request.form()
    if not signature or not RequestValidator(token).validate(url, form, signature):
        services.metrics.rejected_webhooks.labels("twilio", "signature").inc()
        log.warning("twilio.bad_signature", path=request.url.path, signed=bool(signature))
        raise HTTPException(status_code=403, detail="invalid Twilio signature")
    return form


TwilioForm = Annotated[FormData, Depends(verified_twilio_form)]


def form_value(form: Mapping[str, object], name: str, limit: int = 64) -> str | None:
    """A field of Twilio's form, stripped; None when missing, blank or over ``limit``
    characters (Twilio's sids and statuses are short: a long value is not Twilio's)."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= limit else None
