"""A person's appointments on the console: their day, and the citizen who did not come.

``GET /api/console/day`` lists the appointments (video calls, call-backs, texts) booked
with the signed-in person on a day in Seoul (today unless ``?date=`` says), or booked
with nobody and theirs to take, with what became of each. ``POST
/api/console/requests/{id}/no-show`` ends a video appointment they hold whose citizen
did not come (audited; the citizen is told they may ask again).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from assistant.api.auth import InterpreterSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.console import DoneOut, RequestId, ServiceOut
from assistant.api.schemas import refusals
from assistant.handoff.records import SEOUL, QueueEntry
from assistant.services import Services
from assistant.store.base import utcnow

router = APIRouter(prefix="/api/console", tags=["console"], responses=refusals(401, 403, 409, 422))
page_router = APIRouter(include_in_schema=False)

NOT_DUE = "this is not a video appointment of yours whose time has come"


class AppointmentOut(BaseModel):
    """One appointment of the day, as the console lists it."""

    id: int
    at: str  # ISO time (UTC offset)
    contact: str  # "video", "callback" or "text"
    state: str
    outcome: str | None
    service: ServiceOut | None
    language: str
    booked_with_me: bool
    held_by_me: bool


class DayOut(BaseModel):
    date: str  # YYYY-MM-DD, Seoul
    appointments: list[AppointmentOut]


class NoShowIn(BaseModel):
    notes: str | None = Field(None, max_length=4000)  # for the team, never the citizen


def _appointment(services: Services, entry: QueueEntry, username: str) -> AppointmentOut:
    service = services.catalog.get(entry.service) if entry.service else None
    assert entry.scheduled_for is not None
    return AppointmentOut(
        id=entry.id,
        at=entry.scheduled_for.isoformat(),
        contact=entry.contact or "video",
        state=entry.state.value,
        outcome=entry.outcome,
        service=ServiceOut(id=service.id, ko=service.name.ko, en=service.name.en)
        if service is not None
        else None,
        language=entry.language,
        booked_with_me=entry.booked_with == username,
        held_by_me=entry.accepted_by == username,
    )


@router.get("/day", response_model=DayOut)
async def my_day(
    session: InterpreterSession,
    services: ServicesDep,
    date: Annotated[dt.date | None, Query(description="YYYY-MM-DD in Seoul; today")] = None,
) -> DayOut:
    """The caller's appointments on a day, earliest first."""
    day = date or utcnow().astimezone(SEOUL).date()
    found = await services.handoff.day_for(session.account, day)
    username = session.account.username
    return DayOut(
        date=day.isoformat(), appointments=[_appointment(services, e, username) for e in found]
    )


@router.post("/requests/{request_id}/no-show", response_model=DoneOut)
async def no_show(
    request_id: RequestId, body: NoShowIn, session: InterpreterSession, services: ServicesDep
) -> DoneOut:
    """The citizen did not come to the video appointment the caller holds."""
    notes = body.notes.strip() if body.notes else None
    if not await services.handoff.no_show(session.account, request_id, notes or None):
        raise HTTPException(409, NOT_DUE)
    services.video.end(request_id)
    return DoneOut()
