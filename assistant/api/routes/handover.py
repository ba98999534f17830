"""Passing a session on: the holder hands a citizen to a colleague.

``GET …/colleagues`` lists who could take it now (available, on duty, with the
request's skill, region and language, and room for one more); ``POST …/pass-on``
offers it to one of them with a note for them (audited). A request the caller does not
hold is 404, as everywhere on the console; a colleague who cannot take it is 409.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from assistant.api.auth import InterpreterSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.console import NOT_FOUND, DoneOut, RequestId
from assistant.api.schemas import refusals

router = APIRouter(
    prefix="/api/console/requests/{request_id}",
    tags=["console"],
    responses=refusals(401, 403, 404, 409, 413, 422),
)
page_router = APIRouter(include_in_schema=False)

CANNOT_TAKE = "that colleague cannot take it now (not available, full, or another skill)"


class ColleagueOut(BaseModel):
    username: str
    name: str
    centre: str | None
    skills: list[str]
    languages: list[str]


class PassOnIn(BaseModel):
    to: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=4000)


@router.get("/colleagues", response_model=list[ColleagueOut])
async def colleagues(
    request_id: RequestId, session: InterpreterSession, services: ServicesDep
) -> list[ColleagueOut]:
    """Who could take over the caller's session now (404 unless they hold it)."""
    if not await services.handoff.holds(session.account, request_id):
        raise HTTPException(404, NOT_FOUND)
    people = await services.handoff.colleagues_for(session.account, request_id)
    return [
        ColleagueOut(
            username=p.id,
            name=p.name,
            centre=p.centre,
            skills=list(p.skills),
            languages=list(p.languages),
        )
        for p in people
    ]


@router.post("/pass-on", response_model=DoneOut)
async def pass_on(
    request_id: RequestId, body: PassOnIn, session: InterpreterSession, services: ServicesDep
) -> DoneOut:
    """Offer the caller's session to a colleague, with a note for them (audited)."""
    if not await services.handoff.holds(session.account, request_id):
        raise HTTPException(404, NOT_FOUND)
    note = body.note.strip() if body.note else None
    if not await services.handoff.pass_on(session.account, request_id, body.to, note):
        raise HTTPException(409, CANNOT_TAKE)
    services.video.end(request_id)  # a video call with the first person ends here
    return DoneOut()
