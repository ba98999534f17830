"""Which catalog services a conversation was about (desk summaries, continuation links)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from assistant.catalog.loader import Catalog
from assistant.catalog.nlu_export import service_for_intent
from assistant.catalog.schema import LANGUAGES, Service
from assistant.store import HandoffRequest, Turn, TurnDirection

# The bot's full answer about a service starts with its name in brackets
# (``assistant.actions.services.describe_service``).
_ANSWER_HEADING = re.compile(r"^\[(?P<name>[^\]\n]+)\]")


def services_discussed(
    transcript: Iterable[Turn], requests: Iterable[HandoffRequest], catalog: Catalog
) -> list[Service]:
    """The catalog services a conversation was about, in the order they came up.

    Three clues, all exact: a button the citizen chose ("/service_<id>"), a full answer
    the bot gave (it starts with "[<name>]"), and the service a handoff request names.
    Service names merely mentioned in the chat do not count: menus name many services.
    """
    by_name = {
        service.name.get(language): service.id for service in catalog for language in LANGUAGES
    }
    found: list[str] = []
    for turn in transcript:
        if turn.direction is TurnDirection.INBOUND and turn.payload:
            service_id = service_for_intent(turn.payload.removeprefix("/").split("{", 1)[0])
            if service_id:
                found.append(service_id)
        elif turn.direction is TurnDirection.OUTBOUND and turn.author is None:
            heading = _ANSWER_HEADING.match(turn.text)
            if heading and heading["name"] in by_name:
                found.append(by_name[heading["name"]])
    found.extend(request.service for request in requests if request.service)
    return [
        service
        for service_id in dict.fromkeys(found)
        if (service := catalog.get(service_id)) is not None
    ]
