"""The admin view: figures of the handoff service, and the console accounts.

Admins see numbers and accounts, never a citizen's conversation: nothing here returns
a transcript, an address or a password hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse

from assistant.accounts import Account, Role, WebSession
from assistant.api.auth import AdminSession, page_guard
from assistant.api.deps import ServicesDep
from assistant.api.schemas import AccountOut, account_out, refusals
from assistant.handoff.stats import Containment, HandoffFigures, Satisfaction, handoff_figures
from assistant.store.base import utcnow
from consoles import STATIC_DIR

MAX_DAYS = 366

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=refusals(401, 403, 422))
page_router = APIRouter(include_in_schema=False)

AdminPage = Annotated[WebSession, Depends(page_guard(Role.ADMIN))]


class AdminAccountOut(AccountOut):
    """A console account as the admin view lists it (no password hash, ever)."""

    active: bool
    created_at: str


def admin_account_out(account: Account) -> AdminAccountOut:
    """What the admin page shows of ``account``."""
    return AdminAccountOut(
        **account_out(account).model_dump(),
        active=account.active,
        created_at=account.created_at.isoformat(),
    )


def _containment(figures: Containment) -> dict[str, Any]:
    return {
        "channel": figures.channel,
        "conversations": figures.conversations,
        "with_handoff": figures.with_handoff,
        "contained": figures.contained,
        "share": figures.share,
    }


def _satisfaction(figures: list[Satisfaction]) -> list[dict[str, Any]]:
    return [
        {
            "key": f.key,
            "requests": f.requests,
            "resolved": f.resolved,
            "answered": f.answered,
            "helpful": f.helpful,
            "resolution_share": f.resolution_share,
            "helpful_share": f.helpful_share,
        }
        for f in figures
    ]


def figures_json(figures: HandoffFigures) -> dict[str, Any]:
    """The figures as the admin page reads them (seconds as numbers, days as ISO dates)."""
    return {
        "since": figures.since.isoformat(),
        "until": figures.until.isoformat(),
        "requests": figures.requests,
        "by_state": figures.by_state,
        "abandoned": figures.abandoned,
        "expired": figures.expired,
        "resolved": figures.resolved,
        "handed_back": figures.handed_back,
        "wait": {
            "accepted": figures.wait.accepted,
            "p50_seconds": figures.wait.p50_seconds,
            "p90_seconds": figures.wait.p90_seconds,
        },
        "interpreters": [
            {
                "id": person.interpreter_id,
                "name": person.name,
                "accepted": person.accepted,
                "resolved": person.resolved,
                "handed_back": person.handed_back,
                "open": person.open,
            }
            for person in figures.interpreters
        ],
        "days": [
            {
                "day": day.day.isoformat(),
                "requests": day.requests,
                "median_wait_seconds": day.median_wait_seconds,
            }
            for day in figures.days
        ],
        "containment": _containment(figures.containment),
        "containment_by_channel": [_containment(c) for c in figures.containment_by_channel],
        "satisfaction_by_channel": _satisfaction(figures.satisfaction_by_channel),
        "satisfaction_by_service": _satisfaction(figures.satisfaction_by_service),
        "satisfaction_by_centre": _satisfaction(figures.satisfaction_by_centre),
    }


@router.get("/figures")
async def figures(
    _: AdminSession,
    services: ServicesDep,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30,
) -> dict[str, Any]:
    """Handoff figures of the last ``days`` days (up to now)."""
    until = utcnow()
    found = await handoff_figures(services.engine, until - dt.timedelta(days=days), until)
    return figures_json(found)


@router.get("/accounts", response_model=list[AdminAccountOut])
async def accounts(_: AdminSession, services: ServicesDep) -> list[AdminAccountOut]:
    """Every console account, by username."""
    return [admin_account_out(account) for account in await services.accounts.list_accounts()]


@page_router.get("/admin")
async def admin_page(_: AdminPage) -> FileResponse:
    """The admin view."""
    return FileResponse(STATIC_DIR / "admin.html", media_type="text/html; charset=utf-8")
