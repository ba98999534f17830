"""The answer when the database is out (review M12): 503 in plain words, never a 500.

The web chat page keeps a message it could not send and sends it again, so a short
outage loses nothing there; the SMS webhook keeps the message itself
(``channels.sms.spool``)."""

from __future__ import annotations

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 15
DETAIL = (
    "잠시 기록이 되지 않아 메시지를 받지 못했습니다. 1분쯤 뒤에 다시 보내 주세요. "
    "We could not record your message just now. Please send it again in a minute."
)


async def store_outage_handler(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for every outage type (``assistant.store.outage.OUTAGES``)."""
    log.error("store.outage", path=request.url.path, error=exc.__class__.__name__)
    return JSONResponse(
        {"detail": DETAIL}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )
