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
    by_name = _ids_by_name(catalog)
    found: list[str] = []
    for turn in transcript:
        if turn.direction is TurnDirection.INBOUND and turn.payload:
            service_id = service_for_intent(turn.payload.removeprefix("/").split("{", 1)[0])
            if service_id:
                found.append(service_id)
        elif answered := _full_answer_of(turn, by_name):
            found.append(answered)
    found.extend(request.service for request in requests if request.service)
    return [
        service
        for service_id in dict.fromkeys(found)
        if (service := catalog.get(service_id)) is not None
    ]


def last_full_answer(transcript: Iterable[Turn], catalog: Catalog) -> Service | None:
    """The service of the bot's most recent full answer (an SMS "자세히"), if any."""
    by_name = _ids_by_name(catalog)
    for turn in reversed(list(transcript)):
        if answered := _full_answer_of(turn, by_name):
            return catalog.get(answered)
    return None


def _ids_by_name(catalog: Catalog) -> dict[str, str]:
    """Service ids by their names in every language."""
    return {service.name.get(lang): service.id for service in catalog for lang in LANGUAGES}


def _full_answer_of(turn: Turn, ids_by_name: dict[str, str]) -> str | None:
    """The service id of ``turn`` when it is the bot's full answer about one."""
    if turn.direction is not TurnDirection.OUTBOUND or turn.author is not None:
        return None
    heading = _ANSWER_HEADING.match(turn.text)
    return ids_by_name.get(heading["name"]) if heading else None
