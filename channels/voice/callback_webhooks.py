"""Twilio's callbacks about a person's call-back call (signed, like every webhook).

``POST /webhooks/twilio/callbacks/{attempt}/dial`` is the ``<Dial action>``: the
citizen's leg ended with ``DialCallStatus``; the answer is TwiML for the person still on
the line. ``POST /webhooks/twilio/callbacks/{attempt}/status`` is the call's status
callback. What they mean is ``assistant.handoff.callback_calls``; this module only
reads Twilio's form. A form without ``CallSid`` or the status is logged and answered
as Twilio expects (an empty TwiML or 204), so Twilio does not retry it.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from twilio.twiml.voice_response import VoiceResponse

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.api.twilio_auth import TwilioForm, form_value
from assistant.handoff.callback_calls import CALLBACKS_PATH

log = structlog.get_logger(__name__)

AttemptId = Annotated[int, PathParam(ge=1, le=2**62)]
_MAX_SID = 64

router = APIRouter(tags=["voice"], responses=refusals(400, 403, 413, 415, 422))


@router.post(
    CALLBACKS_PATH + "/{attempt_id}/dial",
    response_class=Response,
    summary="Twilio <Dial action> of a call-back call (signed)",
)
async def dial_ended(attempt_id: AttemptId, form: TwilioForm, services: ServicesDep) -> Response:
    call_sid = form_value(form, "CallSid", _MAX_SID)
    dial_status = form_value(form, "DialCallStatus", 32)
    if call_sid is None or dial_status is None:
        log.warning("callback.dial_malformed", attempt=attempt_id, fields=sorted(form.keys()))
        twiml = str(VoiceResponse().hangup())
    else:
        twiml = await services.callbacks.dial_ended(attempt_id, call_sid, dial_status)
    return Response(content=twiml, media_type="application/xml")


@router.post(
    CALLBACKS_PATH + "/{attempt_id}/status",
    status_code=204,
    response_class=Response,
    summary="Twilio status callback of a call-back call (signed)",
)
async def call_status(attempt_id: AttemptId, form: TwilioForm, services: ServicesDep) -> Response:
    call_sid = form_value(form, "CallSid", _MAX_SID)
    call_status = form_value(form, "CallStatus", 32)
    if call_sid is None or call_status is None:
        log.warning("callback.status_malformed", attempt=attempt_id, fields=sorted(form.keys()))
    else:
        await services.callbacks.call_ended(attempt_id, call_sid, call_status)
    return Response(status_code=204)
