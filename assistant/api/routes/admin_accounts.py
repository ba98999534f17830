"""Accounts managed on the admin page, as the ``sotong accounts`` command does.

- ``POST /api/admin/accounts``: a new account with a first password the admin hands
  over (the person changes it with ``sotong accounts password``);
- ``PUT /api/admin/accounts/{username}``: name, centre, region, enabled or not (an
  admin cannot disable themselves: someone must be left to undo it);
- ``GET``/``PUT /api/admin/accounts/{username}/work``: the working hours, requests
  taken, languages, phone and capacity of an interpreter or staff member.

Every change is audited under the admin who made it ("admin.account_create",
"admin.account_update", "admin.details"), never with a password. Disabling ends the
account's sessions at once; sessions it held go back in line with the next upkeep.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from assistant.accounts import Account, AccountError, AccountExists, Role
from assistant.api.auth import AdminSession
from assistant.api.deps import ServicesDep
from assistant.api.routes.admin import AdminAccountOut, admin_account_out
from assistant.api.routes.console import InterpreterOut, interpreter_out
from assistant.api.routes.my_details import DetailsIn, read_details
from assistant.api.schemas import refusals
from assistant.services import Services

router = APIRouter(
    prefix="/api/admin/accounts", tags=["admin"], responses=refusals(401, 403, 404, 422)
)
page_router = APIRouter(include_in_schema=False)

NO_SUCH_ACCOUNT = "no such account"
NOT_YOURSELF = "you cannot disable your own account"
NO_QUEUE = "an admin account takes no requests: it has no working details"


class NewAccountIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    name: str = Field(min_length=1, max_length=128)
    role: Role
    centre: str | None = Field(None, max_length=128)
    region: str | None = Field(None, max_length=64)
    password: str = Field(min_length=12, max_length=1024, description="the first password")


class AccountIn(BaseModel):
    """Everything the page's form holds, at once."""

    name: str = Field(min_length=1, max_length=128)
    centre: str | None = Field(None, max_length=128)
    region: str | None = Field(None, max_length=64)
    active: bool


class WorkIn(DetailsIn):
    capacity: int = Field(1, ge=0, le=10, description="sessions held at once; 0: none")


async def _account(services: Services, username: str) -> Account:
    account = await services.accounts.by_username(username)
    if account is None:
        raise HTTPException(404, NO_SUCH_ACCOUNT)
    return account


@router.post("", response_model=AdminAccountOut, status_code=201, responses=refusals(409))
async def create_account(
    body: NewAccountIn, session: AdminSession, services: ServicesDep, response: Response
) -> AdminAccountOut:
    """Create a console account (audited, without the password)."""
    try:
        account = await services.accounts.create(
            body.username, body.password, body.name, body.role, body.centre, body.region
        )
    except AccountExists:
        raise HTTPException(409, "this username is taken") from None
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    await services.accounts.record_audit(
        session.account,
        "admin.account_create",
        None,
        {"username": account.username, "role": account.role.value},
    )
    response.headers["Location"] = f"/api/admin/accounts/{account.username}"
    return admin_account_out(account)


@router.put("/{username}", response_model=AdminAccountOut)
async def update_account(
    username: str, body: AccountIn, session: AdminSession, services: ServicesDep
) -> AdminAccountOut:
    """Change an account's name, centre and region, or enable or disable it (audited)."""
    before = await _account(services, username)
    if not body.active and before.username == session.account.username:
        raise HTTPException(422, NOT_YOURSELF)
    try:
        account = await services.accounts.set_profile(
            username, name=body.name, centre=body.centre, region=body.region
        )
    except AccountError as exc:
        raise HTTPException(422, str(exc)) from None
    if body.active != before.active:
        account = await services.accounts.set_active(username, body.active)
    changed = [
        field
        for field in ("name", "centre", "region", "active")
        if getattr(before, field) != getattr(account, field)
    ]
    await services.accounts.record_audit(
        session.account, "admin.account_update", None, {"username": username, "changed": changed}
    )
    await services.handoff.account_changed(account, active=account.active)
    return admin_account_out(account)


@router.get("/{username}/work", response_model=InterpreterOut)
async def work_details(username: str, _: AdminSession, services: ServicesDep) -> InterpreterOut:
    """An interpreter's or staff member's working details."""
    account = await _account(services, username)
    if account.role is Role.ADMIN:
        raise HTTPException(404, NO_QUEUE)
    return await interpreter_out(services, account)


@router.put("/{username}/work", response_model=InterpreterOut)
async def set_work_details(
    username: str, body: WorkIn, session: AdminSession, services: ServicesDep
) -> InterpreterOut:
    """Set an interpreter's or staff member's hours, requests taken, languages, phone
    and capacity (audited)."""
    account = await _account(services, username)
    if account.role is Role.ADMIN:
        raise HTTPException(404, NO_QUEUE)
    details = read_details(body)
    await services.handoff.set_work_details(
        session.account,
        account,
        hours=details.hours,
        skills=details.skills,
        languages=details.languages,
        phone=details.phone,
        capacity=body.capacity,
    )
    return await interpreter_out(services, account)
