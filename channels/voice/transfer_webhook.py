"""``POST /webhooks/twilio/voice/transfer/{request_id}``: a transfer's ``<Dial>`` ended.

Twilio posts the ``<Dial action>`` (signed) when the community centre's leg of a
transferred call ends, and runs the TwiML answered. ``DialCallStatus`` completed: the
officer took the call, so the caller's queue request is resolved ("transferred", the
summary as its notes) and the call ends. Anything else (busy, no-answer, failed,
canceled): nobody took it, so a call-back is booked on the caller's number and the
caller hears so (Twilio's ``<Say>``: our own speech left the call with the stream);
without a usable caller ID they are asked to call again.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Response
from fastapi import Path as PathParam

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.api.twilio_auth import TwilioForm, form_value
from assistant.handoff.phone_numbers import is_phone_number, last_four
from assistant.handoff.service import HandoffRefused
from assistant.language import as_language
from channels.voice import twiml
from channels.voice.transfer import TRANSFER_PATH, transfer_summary
from voice.prompts import prompt

log = structlog.get_logger(__name__)

RequestId = Annotated[int, PathParam(ge=1, le=2**62)]
router = APIRouter(tags=["voice"], responses=refusals(400, 403, 413, 415, 422))


@router.post(
    TRANSFER_PATH + "/{request_id}",
    response_class=Response,
    summary="Twilio <Dial action> of a transferred call (signed)",
)
async def transfer_ended(
    request_id: RequestId, form: TwilioForm, services: ServicesDep
) -> Response:
    dial_status = form_value(form, "DialCallStatus", 32)
    caller = form_value(form, "From") or ""
    handoff = services.handoff
    entry = await handoff.queue.get(request_id)
    conversation = await services.store.get_conversation(entry.conversation_id) if entry else None
    language = as_language(entry.language if entry else "ko")
    if dial_status in ("completed", "answered"):
        if entry is not None:
            notes = await transfer_summary(services.store, services.catalog, entry, caller)
            await handoff.transferred(request_id, notes)
        log.info("voice.transfer_connected", request_id=request_id)
        return _xml(twiml.hang_up())
    log.warning("voice.transfer_not_taken", request_id=request_id, status=dial_status)
    if entry is None or conversation is None or not is_phone_number(caller):
        return _xml(twiml.say_and_hang_up(prompt("transfer_failed", language), language))
    try:
        await handoff.book_callback(conversation, caller, language, origin=caller)
    except HandoffRefused:
        return _xml(twiml.say_and_hang_up(prompt("transfer_failed", language), language))
    spoken = " ".join(last_four(caller))
    text = prompt("transfer_failed_callback", language, last_four=spoken)
    return _xml(twiml.say_and_hang_up(text, language))


def _xml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")
