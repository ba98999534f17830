"""Twilio's Messaging wire format, and nothing else: the webhook's form fields in, TwiML out.

Twilio POSTs an incoming SMS as ``application/x-www-form-urlencoded`` fields
(https://www.twilio.com/docs/messaging/guides/webhook-request): ``MessageSid``,
``AccountSid``, ``MessagingServiceSid``, ``From``, ``To``, ``Body``, ``NumMedia``,
``NumSegments``, ``MediaContentType{N}``/``MediaUrl{N}``, geographic fields such as
``FromCountry``, and with Advanced Opt-Out ``OptOutType``. The adapter sees only the
typed ``InboundSms``; the answer goes back as TwiML built with the SDK's
``MessagingResponse``, one ``<Message>`` per SMS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from twilio.twiml.messaging_response import MessagingResponse

TWIML_MEDIA_TYPE: Final = "application/xml"

# Twilio sids: two letters (SM/MM for messages, AC for accounts) and 32 hex digits.
_SID: Final = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_MAX_ADDRESS: Final = 64
_MAX_MEDIA: Final = 10  # Twilio allows at most 10 media items in one message


class MalformedSms(ValueError):
    """The form is not an incoming-message webhook; ``fields`` names what is wrong.

    The message never quotes field values: they may hold a citizen's text.
    """

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = tuple(fields)
        super().__init__("malformed Twilio SMS webhook: " + ", ".join(self.fields))


@dataclass(frozen=True)
class Media:
    """One picture or file attached to the message (MMS)."""

    content_type: str
    url: str


@dataclass(frozen=True)
class InboundSms:
    """One incoming SMS as Twilio reported it."""

    message_sid: str
    from_number: str
    to_number: str
    body: str
    account_sid: str | None = None
    messaging_service_sid: str | None = None
    num_segments: int = 1
    media: tuple[Media, ...] = ()
    from_country: str | None = None
    opt_out_type: str | None = None  # STOP, START or HELP when Advanced Opt-Out matched

    @property
    def num_media(self) -> int:
        """How many media items came with the message."""
        return len(self.media)


def _text(form: Mapping[str, object], name: str, problems: list[str]) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):  # a file part: Twilio never sends one
        problems.append(name)
        return None
    return value


def _count(form: Mapping[str, object], name: str, default: int, problems: list[str]) -> int:
    raw = _text(form, name, problems)
    if raw is None or raw == "":
        return default
    # ASCII digits only: "²".isdigit() is true but int() refuses it (found by the
    # property tests; it was a ValueError, not a refusal).
    if not (raw.isascii() and raw.isdigit()):
        problems.append(name)
        return default
    return int(raw)


def parse_inbound(form: Mapping[str, object]) -> InboundSms:
    """The typed message of a verified webhook form; MalformedSms if it is not one.

    ``From`` and ``MessageSid`` are required (without them no answer can be addressed or
    made idempotent); ``Body`` may be empty (a picture alone).
    """
    problems: list[str] = []
    sid = (_text(form, "MessageSid", problems) or "").strip()
    if not _SID.match(sid):
        problems.append("MessageSid")
    sender = (_text(form, "From", problems) or "").strip()
    if not sender or len(sender) > _MAX_ADDRESS:
        problems.append("From")
    to = (_text(form, "To", problems) or "").strip()
    if len(to) > _MAX_ADDRESS:
        problems.append("To")
    account_sid = (_text(form, "AccountSid", problems) or "").strip() or None
    if account_sid is not None and not _SID.match(account_sid):
        problems.append("AccountSid")
    body = _text(form, "Body", problems) or ""
    num_media = _count(form, "NumMedia", 0, problems)
    if num_media > _MAX_MEDIA:
        problems.append("NumMedia")
        num_media = 0
    media = []
    for index in range(num_media):
        url = _text(form, f"MediaUrl{index}", problems) or ""
        content_type = _text(form, f"MediaContentType{index}", problems) or ""
        media.append(Media(content_type=content_type, url=url))
    num_segments = _count(form, "NumSegments", 1, problems)
    if problems:
        raise MalformedSms(dict.fromkeys(problems))
    return InboundSms(
        message_sid=sid,
        from_number=sender,
        to_number=to,
        body=body,
        account_sid=account_sid,
        messaging_service_sid=(_text(form, "MessagingServiceSid", problems) or None),
        num_segments=num_segments,
        media=tuple(media),
        from_country=(_text(form, "FromCountry", problems) or None),
        opt_out_type=(_text(form, "OptOutType", problems) or None),
    )


def twiml(messages: Iterable[str]) -> str:
    """TwiML that sends each text as one SMS; an empty ``<Response/>`` for none."""
    response = MessagingResponse()
    for text in messages:
        response.message(text)
    return str(response)


@dataclass(frozen=True)
class StatusReport:
    """One status callback as Twilio sent it."""

    message_sid: str
    status: str
    error_code: str | None = None


def parse_status(form: Mapping[str, object]) -> StatusReport | None:
    """The report in a verified status-callback form, or None if it is not one."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not isinstance(sid, str) or not isinstance(status, str):
        return None
    # Blank once stripped is no report (a sid of spaces was one; found by the property
    # tests).
    sid, status = sid.strip(), status.strip()
    if not sid or not status:
        return None
    code = form.get("ErrorCode")
    return StatusReport(
        message_sid=sid,
        status=status.lower(),
        error_code=code.strip() or None if isinstance(code, str) else None,
    )
