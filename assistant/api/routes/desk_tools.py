"""What a desk officer does around a walk-in visit, besides the conversation itself.

- **Hand it to a colleague** (``POST …/hand-over``): another active staff member has
  the visit from then on (its transcript, summary, interpreter status), with a note
  for them; the one who handed it no longer sees it. Audited as "walkin.handed".
- **Record the outcome** (``POST …/outcome``): applied today, referred elsewhere, or a
  follow-up date. A follow-up date becomes a text reminder when the citizen agrees and
  gives a mobile number: the reminder service's own (the day before and on the day,
  09:00 Seoul; "알림취소" stops it, as for every reminder). Audited as "walkin.outcome"
  without the number.
- **Find the citizen's earlier conversations** (``POST …/earlier``) by their phone
  number, only with their consent given at the desk: each conversation's channel and
  dates, the services it was about and what became of its requests for a person — no
  transcript. Audited as "walkin.earlier" with how many were found, never the number.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from assistant.accounts import Role
from assistant.api.auth import StaffSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.staff import (
    DESK_CHANNEL,
    WALKIN_HANDED,
    SessionId,
    owned,
)
from assistant.api.schemas import refusals
from assistant.catalog.discussed import services_discussed
from assistant.catalog.schema import Language as CatalogLanguage
from assistant.handoff.phone_numbers import can_text, national, read_number
from assistant.handoff.records import SEOUL
from assistant.privacy import mask_rrn
from assistant.services import Services
from assistant.store.base import utcnow

router = APIRouter(prefix="/api/staff", tags=["staff"], responses=refusals(401, 403, 404, 422))
page_router = APIRouter(include_in_schema=False)

WALKIN_OUTCOME = "walkin.outcome"
WALKIN_EARLIER = "walkin.earlier"
CONSENT_NEEDED = "the citizen must agree before their earlier conversations are looked up"
FOLLOW_UP_HOUR = 9  # reminders go out at 09:00 in Seoul
MAX_FOLLOW_UP_DAYS = 366


class ColleagueOut(BaseModel):
    username: str
    name: str
    centre: str | None


class HandOverIn(BaseModel):
    to: str = Field(min_length=3, max_length=64)
    note: str | None = Field(None, max_length=1000)  # for the colleague, never the citizen


class OutcomeIn(BaseModel):
    outcome: Literal["applied", "referred", "follow_up"]
    referred_to: str | None = Field(None, max_length=200)  # an office or agency's name
    follow_up_on: dt.date | None = None
    service: str | None = Field(None, max_length=64)  # one of the visit's services
    # Given with the citizen's consent to a reminder of the follow-up date, by text.
    remind_phone: str | None = Field(None, max_length=40)


class OutcomeOut(BaseModel):
    outcome: str
    follow_up_on: str | None = None
    reminders: int = 0  # texts scheduled
    to: str | None = None  # the number as people write it, to read back


class EarlierIn(BaseModel):
    phone: str = Field(min_length=1, max_length=40)
    consent: bool = False  # the citizen agreed here, at the desk


class RequestOut(BaseModel):
    state: str
    outcome: str | None
    created_at: str


class EarlierConversationOut(BaseModel):
    channel: str
    started_at: str
    last_at: str
    services: list[str]  # their names in the visit's language
    requests: list[RequestOut]


# ---- hand-over ------------------------------------------------------------------------
@router.get("/colleagues", response_model=list[ColleagueOut])
async def colleagues(session: StaffSession, services: ServicesDep) -> list[ColleagueOut]:
    """Active staff members a visit may be handed to (everyone but the caller)."""
    return [
        ColleagueOut(username=a.username, name=a.name, centre=a.centre)
        for a in await services.accounts.list_accounts()
        if a.active and a.role is Role.STAFF and a.username != session.account.username
    ]


@router.post("/sessions/{session_id}/hand-over", response_model=ColleagueOut)
async def hand_over(
    session_id: SessionId, body: HandOverIn, session: StaffSession, services: ServicesDep
) -> ColleagueOut:
    """Hand the visit to a colleague, with a note for them (audited)."""
    await owned(services, session, session_id)
    colleague = await services.accounts.by_username(body.to)
    if (
        colleague is None
        or not colleague.active
        or colleague.role is not Role.STAFF
        or colleague.username == session.account.username
    ):
        raise HTTPException(422, "hand it to another active staff member")
    note = mask_rrn(body.note.strip()) if body.note and body.note.strip() else None
    await services.accounts.record_audit(
        session.account, WALKIN_HANDED, session_id, {"to": colleague.username, "note": note}
    )
    return ColleagueOut(username=colleague.username, name=colleague.name, centre=colleague.centre)


# ---- outcome ----------------------------------------------------------------------------
def _reminder_times(day: dt.date, now: dt.datetime) -> list[dt.datetime]:
    """09:00 Seoul the day before and on the day, those still ahead."""
    times = [
        dt.datetime.combine(day - dt.timedelta(days=before), dt.time(FOLLOW_UP_HOUR), SEOUL)
        for before in (1, 0)
    ]
    return [t.astimezone(dt.UTC) for t in times if t > now]


@router.post("/sessions/{session_id}/outcome", response_model=OutcomeOut)
async def record_outcome(
    session_id: SessionId, body: OutcomeIn, session: StaffSession, services: ServicesDep
) -> OutcomeOut:
    """What came of the visit; a follow-up date may become a text reminder (audited)."""
    await owned(services, session, session_id)
    conversation = await services.store.get_conversation(session_id)
    if conversation is None or conversation.channel != DESK_CHANNEL:
        raise HTTPException(404, "no such walk-in session")
    now = utcnow()
    today = now.astimezone(SEOUL).date()
    if body.outcome == "follow_up":
        day = body.follow_up_on
        if day is None or not today < day <= today + dt.timedelta(days=MAX_FOLLOW_UP_DAYS):
            raise HTTPException(422, "a follow-up date is after today and within a year")
    elif body.follow_up_on is not None or body.remind_phone:
        raise HTTPException(422, "a date and a reminder go with a follow-up only")
    if body.outcome == "referred" and not (body.referred_to and body.referred_to.strip()):
        raise HTTPException(422, "say where the citizen was referred to")
    number = None
    scheduled = 0
    if body.remind_phone and body.remind_phone.strip():
        number = read_number(body.remind_phone)
        if number is None:
            raise HTTPException(422, "a phone number looks like 010-1234-5678")
        if not can_text(number):
            raise HTTPException(422, "only a mobile phone can get a text: give a mobile number")
        service_id = await _service_for_reminder(services, session_id, body.service)
        assert body.follow_up_on is not None
        reminders = await services.reminders.store.schedule(
            number,
            service_id,
            event_date=today,
            due_date=body.follow_up_on,
            send_at=_reminder_times(body.follow_up_on, now),
            language=conversation.language,
        )
        scheduled = len(reminders)
    await services.accounts.record_audit(
        session.account,
        WALKIN_OUTCOME,
        session_id,
        {
            "outcome": body.outcome,
            "referred_to": mask_rrn(body.referred_to.strip()) if body.referred_to else None,
            "follow_up_on": body.follow_up_on.isoformat() if body.follow_up_on else None,
            "reminders": scheduled,
        },
    )
    return OutcomeOut(
        outcome=body.outcome,
        follow_up_on=body.follow_up_on.isoformat() if body.follow_up_on else None,
        reminders=scheduled,
        to=national(number) if number else None,
    )


async def _service_for_reminder(services: Services, session_id: str, wanted: str | None) -> str:
    """The service a follow-up reminder names: the one asked for, if the visit was
    about it, else the visit's first; 422 if the visit was about none."""
    turns = await services.store.transcript(session_id)
    requests = await services.store.handoff_requests(session_id)
    discussed = [s.id for s in services_discussed(turns, requests, services.catalog)]
    if wanted is not None and wanted not in discussed:
        raise HTTPException(422, "the reminder's service must be one this visit was about")
    if not discussed:
        raise HTTPException(
            422, "a reminder names a service: ask the assistant about it in this visit first"
        )
    return wanted or discussed[0]


# ---- earlier conversations -----------------------------------------------------------------
@router.post("/sessions/{session_id}/earlier", response_model=list[EarlierConversationOut])
async def earlier_conversations(
    session_id: SessionId, body: EarlierIn, session: StaffSession, services: ServicesDep
) -> list[EarlierConversationOut]:
    """The citizen's earlier conversations of their phone number (with their consent,
    audited): what each was about and what became of it, newest first."""
    await owned(services, session, session_id)
    if not body.consent:
        raise HTTPException(422, CONSENT_NEEDED)
    number = read_number(body.phone)
    if number is None:
        raise HTTPException(422, "a phone number looks like 010-1234-5678")
    visit = await services.store.get_conversation(session_id)
    language: CatalogLanguage = "en" if visit is not None and visit.language == "en" else "ko"
    found: list[EarlierConversationOut] = []
    for conversation_id in await services.store.conversations_of_address(number):
        conversation = await services.store.get_conversation(conversation_id)
        if conversation is None:
            continue
        turns = await services.store.transcript(conversation_id)
        requests = await services.store.handoff_requests(conversation_id)
        ended = await services.handoff.queue.ended_for([conversation_id])
        open_request = await services.handoff.active(conversation_id)
        shown = [*ended, *([open_request] if open_request else [])]
        found.append(
            EarlierConversationOut(
                channel=conversation.channel,
                started_at=conversation.created_at.isoformat(),
                last_at=conversation.updated_at.isoformat(),
                services=[
                    s.name.get(language)
                    for s in services_discussed(turns, requests, services.catalog)
                ],
                requests=[
                    RequestOut(
                        state=e.state.value, outcome=e.outcome, created_at=e.created_at.isoformat()
                    )
                    for e in shown
                ],
            )
        )
    found.sort(key=lambda c: c.last_at, reverse=True)
    await services.accounts.record_audit(
        session.account, WALKIN_EARLIER, session_id, {"consent": True, "found": len(found)}
    )
    return found
