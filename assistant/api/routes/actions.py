"""The custom-action webhook Rasa calls (rasa-sdk's protocol, served by the gateway).

Served here rather than by rasa-sdk's own Sanic server so the actions share the
gateway's catalog and settings, and one process fewer runs on a small machine. Error
statuses mirror rasa-sdk's endpoint: 400 rejection, 404 unknown action, 449 domain
missing, 500 a failing action.
"""

from __future__ import annotations

import hmac
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.services import Services

router = APIRouter(prefix="/webhooks/rasa", tags=["rasa"])


class ActionErrorOut(BaseModel):
    """A refusal in the Rasa action server's own shape (Rasa reads it)."""

    error: str
    action_name: str | None = None


def _rasa_refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    why = {
        400: "Not an action call",
        403: "Wrong or missing token",
        404: "No such action",
        449: "The action needs the domain (Rasa sends it again)",
    }
    return {code: {"model": ActionErrorOut, "description": why[code]} for code in codes}


log = structlog.get_logger(__name__)


@router.post(
    "/actions",
    summary="Run a custom action for Rasa",
    responses={**_rasa_refusals(400, 403, 404, 449), **refusals(413)},
)
async def run_action(request: Request, services: ServicesDep) -> JSONResponse:
    if not _token_ok(request, services):
        return JSONResponse({"error": "invalid token"}, status_code=403)
    try:
        action_call: Any = await request.json()
    except ValueError:
        return JSONResponse({"error": "Invalid body request"}, status_code=400)
    if not isinstance(action_call, dict):
        return JSONResponse({"error": "Invalid body request"}, status_code=400)
    # Rasa sends its domain only to the actions that ask for it (enable_selective_domain
    # in nlu/endpoints.yml: 22 kB less JSON both ways on every other call, issue 19).
    # rasa-sdk then expects a digest of a domain it saw before, which Rasa 3.6 never
    # sends, and refuses (449, which Rasa 3.6 does not retry); our other actions never
    # read the domain, so they are given an empty one.
    action_call.setdefault("domain", {})
    try:
        result = await services.executor.run(action_call)
    except ActionExecutionRejection as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 400)
    except ActionNotFoundException as exc:
        log.error("action.not_found", action=exc.action_name)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 404)
    except ActionMissingDomainException as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, 449)
    except Exception as exc:
        log.exception("action.failed", action=action_call.get("next_action"))
        return JSONResponse({"error": exc.__class__.__name__}, status_code=500)
    return JSONResponse(result.model_dump() if result else None)


@router.get(
    "/actions",
    summary="List the registered custom actions",
    responses=_rasa_refusals(403),
    response_model=None,
)
async def list_actions(
    request: Request, services: ServicesDep
) -> list[dict[str, str]] | JSONResponse:
    if not _token_ok(request, services):
        return JSONResponse({"error": "invalid token"}, status_code=403)
    return [item.model_dump() for item in services.executor.list_actions()]


def _token_ok(request: Request, services: Services) -> bool:
    """The request carries the actions token (Rasa's endpoint URL has it), or none is
    set (development). Compared as bytes: a non-ASCII token is a refusal, not a
    TypeError (review L3)."""
    expected = services.settings.actions_token
    if expected is None:
        return True
    given = request.query_params.get("token", "")
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())
