"""A person calls a citizen back: the console's call-back routes.

``GET …/callback`` shows the request's call-back (the number masked, each try and when
the next one is due); ``POST …/callback/reveal`` gives the holder the whole number and
``POST …/callback/call`` rings the holder's own phone and then the citizen — both
audited (``assistant.handoff.callback_calls``). A request not held by the caller is
404, as everywhere on the console; a call that cannot be placed now is 409 with the
reason in plain words.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from assistant.api.auth import InterpreterSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.console import NOT_FOUND, RequestId
from assistant.api.schemas import refusals
from assistant.handoff.callback_calls import CallbackRefused

router = APIRouter(
    prefix="/api/console/requests/{request_id}/callback",
    tags=["console"],
    responses=refusals(401, 403, 404, 409, 413, 422),
)
page_router = APIRouter(include_in_schema=False)

# Why a call cannot be placed, as the console shows it.
REFUSALS = {
    "not_held": NOT_FOUND,
    "no_number": "the citizen has not given a number to call yet",
    "no_own_phone": "your own phone number is not set: ask an administrator to add it",
    "no_service_number": "the service has no Twilio number to call from (TWILIO_PHONE_NUMBER)",
    "call_in_progress": "a call to this citizen is still going on",
    "no_tries_left": "every try has been used: close the request with a note",
    "twilio_refused": "the call could not be placed; try again in a moment",
}


class AttemptOut(BaseModel):
    id: int
    person: str
    started_at: str
    outcome: str | None
    retry_at: str | None


class CallbackOut(BaseModel):
    """A request's call-back as the console shows it (the number masked)."""

    contact: str | None
    state: str | None
    number_masked: str | None
    can_text: bool
    next_try_at: str | None
    tries_left: int
    attempts: list[AttemptOut]


class NumberOut(BaseModel):
    number: str


@router.get("", response_model=CallbackOut)
async def callback_view(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> CallbackOut:
    """The call-back of a request the caller holds (404 if none, or not theirs)."""
    entry = await services.handoff.holding(session.account, request_id)
    view = await services.callbacks.view(entry) if entry is not None else None
    if view is None:
        raise HTTPException(404, NOT_FOUND)
    return CallbackOut.model_validate(view.as_json())


@router.post("/reveal", response_model=NumberOut)
async def reveal_number(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> NumberOut:
    """The whole number, for the holder (written to the audit log)."""
    number = await services.callbacks.reveal(session.account, request_id)
    if number is None:
        raise HTTPException(404, NOT_FOUND)
    return NumberOut(number=number)


@router.post("/call", response_model=AttemptOut, status_code=202)
async def call_back(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> AttemptOut:
    """Ring the holder's own phone, then the citizen; the try, whose outcome follows
    (202: Twilio reports it later). 409 says why a call cannot be placed now."""
    try:
        attempt = await services.callbacks.call(session.account, request_id)
    except CallbackRefused as refused:
        status = 404 if refused.reason == "not_held" else 409
        raise HTTPException(status, REFUSALS.get(refused.reason, refused.reason)) from None
    return AttemptOut(
        id=attempt.id,
        person=attempt.person,
        started_at=attempt.started_at.isoformat(),
        outcome=attempt.outcome.value if attempt.outcome else None,
        retry_at=attempt.retry_at.isoformat() if attempt.retry_at else None,
    )
