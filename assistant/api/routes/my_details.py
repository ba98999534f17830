"""A person's own details on the console: working hours, what they take, languages,
their own phone.

``PUT /api/console/details`` replaces them at once (audited as ``console.details``); the
queue uses them straight away (on duty or not, the estimates citizens are told, and
who may take what). Plain 422s for hours, skills, languages or a number it cannot read.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from assistant.api.auth import InterpreterSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.console import InterpreterOut, interpreter_out
from assistant.api.schemas import refusals
from assistant.foreign_detect import FOREIGN_LANGUAGES
from assistant.handoff.phone_numbers import read_number
from assistant.handoff.records import SKILL_KSL, SKILL_PERSON, parse_work_hours
from assistant.profiles.records import LANGUAGES as FULL_SERVICE_LANGUAGES

router = APIRouter(prefix="/api/console", tags=["console"], responses=refusals(401, 403, 413, 422))
page_router = APIRouter(include_in_schema=False)

SKILLS = (SKILL_KSL, SKILL_PERSON)
# The languages a person works in: Sotong's two, and the foreign residents' languages a
# request can be routed by (assistant/foreign.py).
STAFF_LANGUAGES = (*FULL_SERVICE_LANGUAGES, *FOREIGN_LANGUAGES)


class DetailsIn(BaseModel):
    """Everything at once, as the console's form sends it."""

    work_hours: str | None = Field(None, max_length=20, description='"09:00-18:00" or none')
    skills: list[str] = Field(min_length=1, max_length=len(SKILLS))
    languages: list[str] = Field(min_length=1, max_length=len(STAFF_LANGUAGES))
    phone: str | None = Field(None, max_length=40)


@dataclass(frozen=True)
class WorkDetails:
    """``DetailsIn`` read: Seoul minutes (None: no fixed hours), skills, languages, E.164."""

    hours: tuple[int, int] | None
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    phone: str | None


def read_details(body: DetailsIn) -> WorkDetails:
    """What the form says, checked; a 422 in plain words for what cannot be read."""
    try:
        hours = parse_work_hours(body.work_hours) if body.work_hours else None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    unknown = [s for s in body.skills if s not in SKILLS]
    if unknown:
        raise HTTPException(422, f"skills are {' and '.join(SKILLS)}")
    strange = [lang for lang in body.languages if lang not in STAFF_LANGUAGES]
    if strange:
        raise HTTPException(422, f"languages are {', '.join(STAFF_LANGUAGES)}")
    phone = None
    if body.phone and body.phone.strip():
        phone = read_number(body.phone)
        if phone is None:
            raise HTTPException(422, "a phone number looks like 010-1234-5678")
    return WorkDetails(
        hours=hours,
        skills=tuple(dict.fromkeys(body.skills)),
        languages=tuple(dict.fromkeys(body.languages)),
        phone=phone,
    )


@router.put("/details", response_model=InterpreterOut)
async def set_details(
    body: DetailsIn, session: InterpreterSession, services: ServicesDep
) -> InterpreterOut:
    """Set the caller's own hours, skills, languages and phone (audited)."""
    details = read_details(body)
    await services.handoff.set_own_details(
        session.account,
        hours=details.hours,
        skills=details.skills,
        languages=details.languages,
        phone=details.phone,
    )
    return await interpreter_out(services, session.account)
