"""A local HTTP double of Twilio's REST API for messages, speaking Twilio's wire format.

A real server (uvicorn + Starlette in a background thread, on a free port) so the real
Twilio SDK, pointed at it with ``SOTONG_TWILIO_API_URL``, makes real HTTP requests:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with form fields ``To``,
  ``From``, ``Body``, ``StatusCallback``; HTTP basic auth ``AccountSid:AuthToken``
  (401 with Twilio's error JSON, code 20003, if wrong); answers 201 with Twilio's JSON
  message resource (``sid`` "SM" + 32 hex, ``status`` "queued", …).
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`` (the SDK's
  ``client.calls(sid).update(twiml=…, url=…, status=…)``), same auth; recorded in
  ``call_updates`` and answered 200 with Twilio's JSON call resource. It redirects a live
  call (new TwiML, e.g. ``<Dial>`` for a transfer) or ends it (``Status=completed``).
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (the SDK's
  ``client.calls.create(to=…, from_=…, twiml=…, status_callback=…)``), same auth; recorded
  in ``created_calls`` and answered 201 with the call resource (``sid`` "CA" + 32 hex,
  ``status`` "queued"); 400 with 21603/21604/21205 when ``From``/``To``/TwiML is missing.
  ``post_call_status(call, status)`` then plays Twilio's status callback of that call,
  and ``post_dial_action(call, dial_status)`` the ``<Dial action>`` callback named in its
  TwiML (what Twilio posts when the dialled leg ends: ``DialCallStatus`` completed,
  busy, no-answer, failed, canceled), both signed like Twilio's.
- ``fail_next(n, status, code)`` makes the next ``n`` requests fail (500/503/429, or a
  400 with a Twilio error code such as 21610 or 21211), ``hang_next`` makes them slow;
  ``stop()`` makes it unreachable and ``start()`` brings it back on the same port.
- ``status_callback(...)`` builds, and ``post_status(...)`` sends, a status callback
  signed the way Twilio signs it (``RequestValidator.compute_signature`` over the public
  callback URL and the form), so the gateway's webhook is tested with real signatures.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from channels.sms.segments import segment_count
from tests.stackutil import free_port

API_VERSION = "2010-04-01"

# Twilio's messages for the error codes tests use (https://www.twilio.com/docs/api/errors).
ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    21205: "Url parameter is required.",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
}


def new_account_sid() -> str:
    """An account sid of Twilio's shape: "AC" and 32 hex digits."""
    return "AC" + uuid.uuid4().hex


def _message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def _post(
    base_url: str, path: str, form: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    return httpx.post(base_url.rstrip("/") + path, data=form, headers=headers, timeout=10)


def _call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def _rfc2822(when: float) -> str:
    # Twilio's REST API writes dates as RFC 2822, e.g. "Thu, 30 Jul 2015 20:12:31 +0000".
    return email.utils.formatdate(when, usegmt=False).replace("-0000", "+0000")


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the double accepted (answered 201)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    form: dict[str, str]


@dataclass(frozen=True)
class CallUpdate:
    """One accepted update of a live call (answered 200)."""

    call_sid: str
    twiml: str | None
    url: str | None
    status: str | None
    form: dict[str, str]


@dataclass(frozen=True)
class CreatedCall:
    """One outbound call the double accepted (answered 201)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    twiml: str | None
    url: str | None
    status_callback: str | None
    status_callback_events: tuple[str, ...]
    form: dict[str, str]

    @property
    def dial_action(self) -> str | None:
        """The ``action`` URL of the ``<Dial>`` in the call's TwiML, if any."""
        if not self.twiml:
            return None
        dial = ET.fromstring(self.twiml).find("Dial")
        return dial.get("action") if dial is not None else None

    @property
    def dialled(self) -> str | None:
        """The number the ``<Dial>`` rings (its text, or its ``<Number>``)."""
        if not self.twiml:
            return None
        dial = ET.fromstring(self.twiml).find("Dial")
        if dial is None:
            return None
        number = dial.find("Number")
        return (number.text if number is not None else dial.text or "").strip() or None


# Twilio's Calls update accepts only these two statuses (Status=canceled|completed).
CALL_UPDATE_STATUSES = frozenset({"canceled", "completed"})


@dataclass(frozen=True)
class PlannedFailure:
    status: int
    code: int | None
    message: str
    delay_seconds: float = 0.0  # answer this late (a client with a shorter timeout gives up)


@dataclass
class TwilioDouble:
    """Twilio's Messages API on 127.0.0.1; ``url`` goes in SOTONG_TWILIO_API_URL."""

    account_sid: str = field(default_factory=new_account_sid)
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    port: int = field(default_factory=free_port)
    received: list[ReceivedMessage] = field(default_factory=list)
    requests: int = 0  # every POST to Messages.json, refused or not
    call_updates: list[CallUpdate] = field(default_factory=list)
    created_calls: list[CreatedCall] = field(default_factory=list)
    _failures: deque[PlannedFailure] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- control -----------------------------------------------------------------------
    def hang_next(self, count: int, seconds: float) -> None:
        """The next ``count`` requests are answered (with a 503) only after ``seconds``."""
        with self._lock:
            self._failures.extend(
                PlannedFailure(503, None, "Service Unavailable", seconds) for _ in range(count)
            )

    def fail_next(self, count: int, status: int = 500, code: int | None = None) -> None:
        """The next ``count`` requests get ``status`` (with Twilio error ``code``) instead."""
        if code is None and status < 500:
            code = 20429 if status == 429 else None
        message = ERROR_MESSAGES.get(code or 0, "Internal Server Error")
        with self._lock:
            self._failures.extend(PlannedFailure(status, code, message) for _ in range(count))

    def start(self) -> TwilioDouble:
        """Serve (again) on ``port``; returns once the port accepts connections."""
        if self._thread is not None:
            return self
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="twilio-double", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"Twilio double did not start on port {self.port}")
            time.sleep(0.01)
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving: the SDK then gets "connection refused", as when Twilio is down."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> TwilioDouble:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ---- status callbacks --------------------------------------------------------------
    def status_callback(
        self, message: ReceivedMessage, status: str, *, error_code: int | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """(path and query, form, headers) of Twilio's status callback for ``message``,
        signed over the callback URL the message was sent with (the public URL)."""
        if not message.status_callback:
            raise ValueError(f"message {message.sid} was sent without a StatusCallback")
        form = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_,
            "MessageSid": message.sid,
            "MessageStatus": status,
            "SmsSid": message.sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        signature = RequestValidator(self.auth_token).compute_signature(
            message.status_callback, form
        )
        parts = urlsplit(message.status_callback)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return path, form, {"X-Twilio-Signature": signature}

    def post_status(
        self,
        message: ReceivedMessage,
        status: str,
        *,
        base_url: str,
        error_code: int | None = None,
    ) -> httpx.Response:
        """POST the signed status callback to the gateway listening at ``base_url``."""
        path, form, headers = self.status_callback(message, status, error_code=error_code)
        return httpx.post(base_url.rstrip("/") + path, data=form, headers=headers, timeout=10)

    def call_status_request(
        self, call: CreatedCall, status: str, *, duration: int = 0
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """(path and query, form, headers) of Twilio's status callback of an outbound
        call (``CallStatus``: initiated, ringing, in-progress, completed, busy,
        no-answer, failed, canceled), signed over the public callback URL."""
        if not call.status_callback:
            raise ValueError(f"call {call.sid} was made without a StatusCallback")
        form = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "CallbackSource": "call-progress-events",
            "Timestamp": _rfc2822(time.time()),
        }
        if status == "completed":
            form["CallDuration"] = str(duration)
        return self._signed(call.status_callback, form)

    def dial_action_request(
        self, call: CreatedCall, dial_status: str, *, duration: int = 0
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """(path and query, form, headers) of the ``<Dial action>`` callback of the
        call's TwiML: the dialled leg ended with ``dial_status``."""
        action = call.dial_action
        if not action:
            raise ValueError(f"call {call.sid} has no <Dial action> in its TwiML")
        form = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "DialCallSid": _call_sid(),
            "DialCallStatus": dial_status,
            "DialCallDuration": str(duration),
        }
        return self._signed(action, form)

    def post_call_status(
        self, call: CreatedCall, status: str, *, base_url: str, duration: int = 0
    ) -> httpx.Response:
        """POST the call's status callback to the gateway listening at ``base_url``."""
        return _post(base_url, *self.call_status_request(call, status, duration=duration))

    def post_dial_action(
        self, call: CreatedCall, dial_status: str, *, base_url: str, duration: int = 0
    ) -> httpx.Response:
        """POST the ``<Dial action>`` callback to the gateway at ``base_url``; the
        answer is TwiML for the rest of the call."""
        return _post(base_url, *self.dial_action_request(call, dial_status, duration=duration))

    def _signed(self, url: str, form: dict[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return path, form, {"X-Twilio-Signature": signature}

    # ---- the API -----------------------------------------------------------------------
    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json",
                    self._create_message,
                    methods=["POST"],
                ),
                Route(
                    f"/{API_VERSION}/Accounts/{{account_sid}}/Calls.json",
                    self._create_call,
                    methods=["POST"],
                ),
                Route(
                    f"/{API_VERSION}/Accounts/{{account_sid}}/Calls/{{call_sid}}.json",
                    self._update_call,
                    methods=["POST"],
                ),
            ]
        )

    @staticmethod
    def _error(status: int, code: int | None, message: str) -> JSONResponse:
        # Twilio's legacy error shape, which the SDK turns into TwilioRestException.
        body: dict[str, Any] = {"code": code, "message": message, "status": status}
        if code is not None:
            body["more_info"] = f"https://www.twilio.com/docs/errors/{code}"
        return JSONResponse(body, status_code=status)

    def _authorised(self, request: Request, account_sid: str) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (
            secrets.compare_digest(user, self.account_sid)
            and secrets.compare_digest(password, self.auth_token)
            and account_sid == self.account_sid
        )

    async def _create_message(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        with self._lock:
            self.requests += 1
        if not self._authorised(request, account_sid):
            return self._error(401, 20003, ERROR_MESSAGES[20003])
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            if failure.delay_seconds:
                await asyncio.sleep(failure.delay_seconds)
            return self._error(failure.status, failure.code, failure.message)
        form = {key: str(value) for key, value in (await request.form()).items()}
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return self._error(400, 21604, ERROR_MESSAGES[21604])
        if not body:
            return self._error(400, 21602, ERROR_MESSAGES[21602])
        sid = _message_sid()
        now = _rfc2822(time.time())
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
        with self._lock:
            self.received.append(
                ReceivedMessage(
                    sid=sid,
                    account_sid=account_sid,
                    to=to,
                    from_=sender,
                    body=body,
                    status_callback=form.get("StatusCallback"),
                    form=form,
                )
            )
        return JSONResponse(
            {
                "account_sid": account_sid,
                "api_version": API_VERSION,
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": str(segment_count(body)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
                "to": to,
                "uri": uri,
            },
            status_code=201,
        )

    async def _create_call(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        if not self._authorised(request, account_sid):
            return self._error(401, 20003, ERROR_MESSAGES[20003])
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            if failure.delay_seconds:
                await asyncio.sleep(failure.delay_seconds)
            return self._error(failure.status, failure.code, failure.message)
        data = await request.form()
        form = {key: str(value) for key, value in data.items()}
        to, sender = form.get("To", ""), form.get("From", "")
        twiml, url = form.get("Twiml"), form.get("Url")
        if not to:
            return self._error(400, 21604, ERROR_MESSAGES[21604])
        if not sender:
            return self._error(400, 21603, ERROR_MESSAGES[21603])
        if twiml is None and url is None:
            return self._error(400, 21205, ERROR_MESSAGES[21205])
        sid = _call_sid()
        with self._lock:
            self.created_calls.append(
                CreatedCall(
                    sid=sid,
                    account_sid=account_sid,
                    to=to,
                    from_=sender,
                    twiml=twiml,
                    url=url,
                    status_callback=form.get("StatusCallback"),
                    # The SDK repeats the field once per event.
                    status_callback_events=tuple(
                        str(v) for v in data.getlist("StatusCallbackEvent")
                    ),
                    form=form,
                )
            )
        now = _rfc2822(time.time())
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}.json"
        return JSONResponse(
            {
                "account_sid": account_sid,
                "api_version": API_VERSION,
                "date_created": now,
                "date_updated": now,
                "direction": "outbound-api",
                "from": sender,
                "parent_call_sid": None,
                "sid": sid,
                "status": "queued",
                "to": to,
                "uri": uri,
            },
            status_code=201,
        )

    async def _update_call(self, request: Request) -> Response:
        account_sid = request.path_params["account_sid"]
        call_sid = request.path_params["call_sid"]
        if not self._authorised(request, account_sid):
            return self._error(401, 20003, ERROR_MESSAGES[20003])
        form = {key: str(value) for key, value in (await request.form()).items()}
        twiml, url, status = form.get("Twiml"), form.get("Url"), form.get("Status")
        if status is not None and status not in CALL_UPDATE_STATUSES:
            return self._error(400, None, "Status must be canceled or completed")
        if twiml is None and url is None and status is None:
            return self._error(400, 21205, ERROR_MESSAGES[21205])
        with self._lock:
            self.call_updates.append(
                CallUpdate(call_sid=call_sid, twiml=twiml, url=url, status=status, form=form)
            )
        now = _rfc2822(time.time())
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{call_sid}.json"
        base = uri.removesuffix(".json")
        return JSONResponse(
            {
                "account_sid": account_sid,
                "annotation": None,
                "answered_by": None,
                "api_version": API_VERSION,
                "caller_name": None,
                "date_created": now,
                "date_updated": now,
                "direction": "inbound",
                "duration": None,
                "end_time": None,
                "forwarded_from": None,
                "from": "",
                "from_formatted": "",
                "group_sid": None,
                "parent_call_sid": None,
                "phone_number_sid": None,
                "price": None,
                "price_unit": "USD",
                "queue_time": "0",
                "sid": call_sid,
                "start_time": now,
                "status": status or "in-progress",
                "subresource_uris": {
                    "notifications": f"{base}/Notifications.json",
                    "recordings": f"{base}/Recordings.json",
                    "payments": f"{base}/Payments.json",
                    "events": f"{base}/Events.json",
                    "siprec": f"{base}/Siprec.json",
                    "streams": f"{base}/Streams.json",
                    "transcriptions": f"{base}/Transcriptions.json",
                    "user_defined_message_subscriptions": (
                        f"{base}/UserDefinedMessageSubscriptions.json"
                    ),
                    "user_defined_messages": f"{base}/UserDefinedMessages.json",
                },
                "to": "",
                "to_formatted": "",
                "trunk_sid": None,
                "uri": uri,
            },
            status_code=200,
        )
