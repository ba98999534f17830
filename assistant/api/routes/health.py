"""Liveness, readiness and metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from assistant.api.deps import ServicesDep
from assistant.api.schemas import refusals
from assistant.rasa_client import RasaUnavailable
from assistant.store import StoreError

router = APIRouter(tags=["health"])

# How long each readiness check may take.
CHECK_SECONDS = 3.0


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


class ReadyOut(BaseModel):
    """Whether every part is up ("ready" / "not ready") and what each one said."""

    status: str
    checks: dict[str, Any]


@router.get(
    "/readyz",
    summary="Rasa has loaded its model, the store answers, speech models are loaded",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Some part is not ready"}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    # Each check is bounded: a hung database or dialogue makes "not ready" within
    # seconds, never a probe that hangs with it (review M12).
    try:
        status = await asyncio.wait_for(services.rasa.status(), CHECK_SECONDS)
        checks["rasa"] = "ok" if status.model_loaded else "no model loaded"
        ready &= status.model_loaded
    except RasaUnavailable as exc:
        checks["rasa"] = f"unavailable: {exc}"
        ready = False
    except TimeoutError:
        checks["rasa"] = f"no answer within {CHECK_SECONDS:g} s"
        ready = False
    try:
        await asyncio.wait_for(services.store.ping(), CHECK_SECONDS)
        checks["store"] = "ok"
    except StoreError as exc:
        checks["store"] = str(exc)
        ready = False
    except TimeoutError:
        checks["store"] = f"no answer within {CHECK_SECONDS:g} s"
        ready = False
    checks["catalog"] = f"{len(services.catalog)} services"
    # Phone calls need the Korean speech model in memory (it loads in the background).
    checks["voice"] = services.voice.status
    ready &= services.voice.ready
    # A loop that ended leaves kept messages unanswered or texts unsent (review L13).
    checks["loops"] = services.loops.status()
    ready &= services.loops.all_running
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The metrics"},
        **refusals(401, 404),
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics: with ``SOTONG_METRICS_TOKEN`` set, only for ``Authorization:
    Bearer <token>`` (else 401); without one, open outside production, 404 in it."""
    settings = services.settings
    token = settings.metrics_token
    if token is None:
        if settings.env == "production":
            raise HTTPException(404, "Not Found")
    else:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise HTTPException(
                401, "metrics need the operator's token", {"WWW-Authenticate": "Bearer"}
            )
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
