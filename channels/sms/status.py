"""``POST /webhooks/twilio/sms/status``: Twilio's delivery reports for outbox messages.

Twilio POSTs a signed form each time a message it accepted changes state
(https://www.twilio.com/docs/messaging/guides/track-outbound-message-status):
``MessageSid``, ``MessageStatus`` (accepted, queued, sending, sent, delivered,
undelivered, failed, read), ``ErrorCode`` on failures, plus ``AccountSid``, ``From``,
``To``…. The outbox adds ``?outbox_id=<id>`` to the callback URL so a report that
overtakes the worker still finds its message. The answer is always an empty 204 for a
signed request, known sid or not: Twilio has nothing to do with anything else.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request, Response

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.api.twilio_auth import TwilioForm
from assistant.outbox.records import TWILIO_STATUSES
from assistant.outbox.service import STATUS_ID_PARAM, STATUS_PATH
from channels.sms.wire import parse_status

log = structlog.get_logger(__name__)

router = APIRouter(tags=["sms"], responses=refusals(400, 403, 413, 415, 422))


def _outbox_id(request: Request) -> int | None:
    raw = request.query_params.get(STATUS_ID_PARAM, "")
    return int(raw) if raw.isdigit() else None


@router.post(
    STATUS_PATH,
    status_code=204,
    response_class=Response,
    summary="Twilio message status callback (signed) for outbox SMS",
)
async def sms_status(request: Request, form: TwilioForm, services: ServicesDep) -> Response:
    report = parse_status(form)
    metrics = services.metrics
    if report is None:
        log.warning("sms_status.malformed", fields=sorted(form.keys()))
        return Response(status_code=204)
    message = await services.outbox.store.apply_provider_status(
        report.message_sid,
        report.status,
        error_code=report.error_code,
        message_id=_outbox_id(request),
    )
    label = report.status if report.status in TWILIO_STATUSES else "other"
    metrics.outbox_status_reports.labels(label, str(message is not None).lower()).inc()
    if message is None:
        log.warning("sms_status.unknown", sid=report.message_sid, status=report.status)
    else:
        log.info(
            "sms_status.applied",
            id=message.id,
            sid=report.message_sid,
            reported=report.status,
            status=message.status.value,
            error_code=report.error_code,
        )
    return Response(status_code=204)
