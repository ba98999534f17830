"""Sending one SMS through Twilio's REST API with the official SDK.

The SDK is blocking (``requests``), so every call runs in a worker thread. Errors come
back as one ``SendError`` whose ``outcome`` tells the worker what to do:

- ``TRANSIENT``: network errors, timeouts, HTTP 429 and 5xx, and HTTP 401 (credentials
  being rotated must not lose messages) — retry later;
- ``PERMANENT``: any other 4xx (invalid number 21211, …) — mark failed;
- ``UNSUBSCRIBED``: Twilio error 21610, the recipient sent STOP to the carrier — never
  retry, mark suppressed, and tell whoever keeps opt-outs.

``SOTONG_TWILIO_API_URL`` points the SDK somewhere other than https://api.twilio.com
(a local double in tests) through the SDK's own extension point, a custom HTTP client.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from assistant.config import Settings

TWILIO_API_URL = "https://api.twilio.com"
UNSUBSCRIBED_CODE = "21610"

# The SDK logs every request and response (URL, headers) at INFO; the gateway's root
# logger is at INFO. Requests carry the account in the URL and nothing useful to us.
_sdk_logger = logging.getLogger("twilio.http_client")
_sdk_logger.setLevel(logging.WARNING)


class SendOutcome(StrEnum):
    """What a failed send means for the message."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    UNSUBSCRIBED = "unsubscribed"


class SendError(Exception):
    """Twilio did not accept a message. Never carries the message body."""

    def __init__(
        self,
        outcome: SendOutcome,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.code = code
        self.status = status


class SmsSender(Protocol):
    """Sends one SMS; returns the provider's message id or raises ``SendError``."""

    async def send(self, to: str, body: str, *, status_callback: str | None) -> str: ...


class RebasedHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending what it would send to Twilio's cloud to ``base_url``."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_sdk_logger)
        self.base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API_URL):
            url = self.base_url + url.removeprefix(TWILIO_API_URL)
        return super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def classify(exc: BaseException) -> SendError:
    """Turn whatever the SDK raised into a ``SendError`` with the right outcome."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status = int(exc.status)
        # Without a Twilio code in the answer, the SDK repeats the HTTP status as the code.
        code = str(exc.code) if exc.code is not None and exc.code != status else None
        detail = f"HTTP {status}" + (f", Twilio error {code}" if code else "")
        if code == UNSUBSCRIBED_CODE:
            return SendError(SendOutcome.UNSUBSCRIBED, detail, code=code, status=status)
        if status == 429 or status >= 500 or status == 401:
            return SendError(SendOutcome.TRANSIENT, detail, code=code, status=status)
        return SendError(SendOutcome.PERMANENT, detail, code=code, status=status)
    if isinstance(exc, requests.Timeout):
        return SendError(SendOutcome.TRANSIENT, "timed out")
    if isinstance(exc, requests.RequestException):
        return SendError(SendOutcome.TRANSIENT, f"network error ({exc.__class__.__name__})")
    # Anything else (an unreadable answer, …): retrying is the safe choice.
    return SendError(SendOutcome.TRANSIENT, f"unexpected {exc.__class__.__name__}")


@dataclass(frozen=True)
class TwilioCredentials:
    """What sending needs; all three come from the environment."""

    account_sid: str
    auth_token: str
    from_number: str


def missing_twilio_settings(settings: Settings) -> list[str]:
    """Names of the unset settings without which nothing can be sent."""
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    values = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": token,
        "TWILIO_PHONE_NUMBER": settings.twilio_phone_number,
    }
    return [name for name, value in values.items() if not (value or "").strip()]


def twilio_credentials(settings: Settings) -> TwilioCredentials | None:
    """The account, token and number of the settings; None when any is missing."""
    if missing_twilio_settings(settings):
        return None
    assert settings.twilio_auth_token is not None  # checked just above
    return TwilioCredentials(
        account_sid=(settings.twilio_account_sid or "").strip(),
        auth_token=settings.twilio_auth_token.get_secret_value().strip(),
        from_number=(settings.twilio_phone_number or "").strip(),
    )


def rest_client(
    credentials: TwilioCredentials, *, api_url: str | None, timeout_seconds: float
) -> Client:
    """The SDK's client for ``credentials``, sending to ``api_url`` (Twilio's cloud if None)."""
    return Client(
        credentials.account_sid,
        credentials.auth_token,
        http_client=RebasedHttpClient(api_url or TWILIO_API_URL, timeout=timeout_seconds),
    )


def twilio_rest_client(settings: Settings) -> Client | None:
    """Twilio's REST client for these settings, or None when they are incomplete."""
    credentials = twilio_credentials(settings)
    if credentials is None:
        return None
    return rest_client(
        credentials,
        api_url=settings.twilio_api_url,
        timeout_seconds=settings.twilio_timeout_seconds,
    )


class TwilioSmsSender:
    """``SmsSender`` over Twilio's Messages API (``client.messages.create``)."""

    def __init__(
        self,
        credentials: TwilioCredentials,
        *,
        api_url: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._from = credentials.from_number
        self._client = rest_client(credentials, api_url=api_url, timeout_seconds=timeout_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSmsSender | None:
        """A sender, or None when the Twilio settings are missing (development)."""
        credentials = twilio_credentials(settings)
        if credentials is None:
            return None
        return cls(
            credentials,
            api_url=settings.twilio_api_url,
            timeout_seconds=settings.twilio_timeout_seconds,
        )

    def _create(self, to: str, body: str, status_callback: str | None) -> str:
        try:
            if status_callback:
                message = self._client.messages.create(
                    to=to, from_=self._from, body=body, status_callback=status_callback
                )
            else:
                message = self._client.messages.create(to=to, from_=self._from, body=body)
        except (TwilioException, requests.RequestException) as exc:
            raise classify(exc) from exc
        except ValueError as exc:  # an answer that is not JSON
            raise classify(exc) from exc
        if not message.sid:
            raise SendError(SendOutcome.TRANSIENT, "Twilio's answer carried no MessageSid")
        return str(message.sid)

    async def send(self, to: str, body: str, *, status_callback: str | None) -> str:
        """Send one SMS off the event loop; returns its MessageSid."""
        return await asyncio.to_thread(self._create, to, body, status_callback)
