"""``POST /webhooks/twilio/voice/status``: Twilio's call status callbacks.

Twilio POSTs a signed form when a call changes state, if the number (or the call) has a
StatusCallback (https://www.twilio.com/docs/voice/twiml#callstatus-values and
https://www.twilio.com/docs/usage/webhooks/voice-webhooks): ``CallSid``,
``CallStatus`` (queued, ringing, in-progress, completed, busy, failed, no-answer,
canceled), ``From``, ``To``, ``AccountSid``, ``Direction``, on a final status
``CallDuration`` (seconds), and with StatusCallbackEvent ``Timestamp`` (RFC 2822),
``SequenceNumber`` and ``CallbackSource``. The status goes to the call store
(``services.calls``), which keeps it forward-only and idempotent; a CallSid it has not
seen is recorded anyway, as a callback may overtake the media stream. A signed request
always gets an empty 204: Twilio has nothing to do with anything else.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, Response

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.api.twilio_auth import TwilioForm, form_value
from assistant.calls import CallStatus, parse_call_status
from assistant.privacy import phone_tail

log = structlog.get_logger(__name__)

STATUS_PATH = "/webhooks/twilio/voice/status"
_MAX_SID = 64
_MAX_ADDRESS = 64

router = APIRouter(tags=["voice"], responses=refusals(400, 403, 413, 415, 422))


@dataclass(frozen=True)
class CallStatusReport:
    """One call status callback, typed."""

    call_sid: str
    status: CallStatus
    caller: str | None = None
    called: str | None = None
    duration_seconds: int | None = None
    at: dt.datetime | None = None  # Twilio's Timestamp, when it sent one
    sequence: int | None = None


def _timestamp(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    # RFC 2822 "-0000" means "UTC, source unknown" and parses naive.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _whole(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() else None


def parse_call_status_form(form: Mapping[str, object]) -> CallStatusReport | None:
    """The status callback's fields, or None when CallSid or CallStatus is unusable."""
    call_sid = form_value(form, "CallSid", _MAX_SID)
    raw_status = form_value(form, "CallStatus", 32)
    status = parse_call_status(raw_status) if raw_status else None
    if call_sid is None or status is None:
        return None
    return CallStatusReport(
        call_sid=call_sid,
        status=status,
        caller=form_value(form, "From", _MAX_ADDRESS),
        called=form_value(form, "To", _MAX_ADDRESS),
        duration_seconds=_whole(form_value(form, "CallDuration", 12)),
        at=_timestamp(form_value(form, "Timestamp", 64)),
        sequence=_whole(form_value(form, "SequenceNumber", 12)),
    )


@router.post(
    STATUS_PATH,
    status_code=204,
    response_class=Response,
    summary="Twilio call status callback (signed)",
)
async def voice_status(form: TwilioForm, services: ServicesDep) -> Response:
    report = parse_call_status_form(form)
    if report is None:
        # Never the values: From/To are phone numbers.
        log.warning("voice_status.malformed", fields=sorted(form.keys()))
        return Response(status_code=204)
    record = await services.calls.status_update(
        report.call_sid,
        report.status,
        report.duration_seconds,
        report.at,
        caller=report.caller,
        called=report.called,
    )
    log.info(
        "voice_status.applied",
        call_sid=report.call_sid,
        caller=phone_tail(report.caller),
        reported=report.status.value,
        status=record.status.value if record else None,
        duration=report.duration_seconds,
        sequence=report.sequence,
    )
    return Response(status_code=204)
