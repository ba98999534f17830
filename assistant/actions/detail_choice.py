"""The one choice after a short answer on SMS and the phone: the full answer ("자세히").

Its own module: the short answers (services.py) offer it and the detail action
(details.py) answers it, and the second uses the first's answers.
"""

from __future__ import annotations

import json
from typing import Final

from assistant.catalog import Service
from assistant.catalog.schema import Language

DETAIL_INTENT: Final = "ask_detail"

_TITLES: Final[dict[str, dict[Language, str]]] = {
    "sms": {"ko": "자세히 보기", "en": "Details"},
    "voice": {"ko": "자세히 듣기", "en": "Hear the details"},
}


def detail_payload(service_id: str, section: str | None = None) -> str:
    """The payload of a "details" choice (one section's, with ``section``)."""
    entities = {"service": service_id} | ({"section": section} if section else {})
    return f"/{DETAIL_INTENT}{json.dumps(entities, separators=(',', ':'))}"


def detail_button(service: Service, channel: str, language: Language) -> dict[str, str]:
    """The choice after a short answer: read on SMS, heard on the phone."""
    title = _TITLES.get(channel, _TITLES["sms"])[language]
    return {"title": title, "payload": detail_payload(service.id)}
