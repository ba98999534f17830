"""Which services the dialogue answers about for one parsed message.

The rules (``nlu/data/rules.yml`` and the generated ``catalog_rules.yml``) send each
intent to one action. The actions decide with the functions here, and the evaluation
(``assistant/nlu_eval.py``) scores a message by the same functions, so the figure is
what a citizen actually gets; a test checks that this table matches the rules.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.actions.services import services_in_message
from assistant.catalog import Catalog
from assistant.catalog.nlu_export import service_for_intent

SIGN_LANGUAGE_SERVICE = "sign_language_relay"

# Action of the rules for the intents that can end in a service answer.
ANSWER_ACTION = "action_answer_service"
CHOICES_ACTION = "action_offer_choices"
HANDOFF_ACTION = "action_request_handoff"
CHOICES_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
HANDOFF_INTENT = "request_human"
ASK_SERVICE_INTENT = "ask_service"

# "sign" alone would catch "signature" and "sign up".
_SIGN_LANGUAGE = re.compile(r"수어|수화|sign[\s-]*language|\bsigning\b|\bksl\b", re.IGNORECASE)


def asks_for_sign_language(text: str) -> bool:
    """True when a message asks for sign language (interpreting, relay, a signer)."""
    return _SIGN_LANGUAGE.search(text) is not None


def action_for_intent(intent: str | None) -> str | None:
    """The action the rules run for ``intent``, where it can lead to a service answer."""
    if intent == ASK_SERVICE_INTENT or service_for_intent(intent):
        return ANSWER_ACTION
    if intent in CHOICES_INTENTS:
        return CHOICES_ACTION
    if intent == HANDOFF_INTENT:
        return HANDOFF_ACTION
    return None


# A hesitation offers the services above this confidence, at most this many.
CLARIFY_MIN_CONFIDENCE = 0.1
CLARIFY_MAX_CANDIDATES = 3


def clarification_candidates(parse: dict[str, Any], catalog: Catalog) -> list[str]:
    """Services a hesitant parse may have meant, most likely first (offered as choices)."""
    found: list[str] = []
    for entry in parse.get("intent_ranking") or []:
        service_id = service_for_intent(entry.get("name"))
        confidence = float(entry.get("confidence") or 0.0)
        if service_id and catalog.get(service_id) and confidence >= CLARIFY_MIN_CONFIDENCE:
            found.append(service_id)
    return found[:CLARIFY_MAX_CANDIDATES]


def answered_services(parse: dict[str, Any], catalog: Catalog) -> list[str]:
    """Service ids the dialogue answers about for ``parse``, first answered first.

    - a service intent (or "ask_service"): the named or classified services;
    - a hesitation (fallback, out of scope): the services named in the message are
      answered straight away; without a name the citizen is asked to choose (none);
    - a request for a person: the handoff, and for sign language also the interpreting
      and 107 relay service, so a deaf citizen learns about it while waiting;
    - anything else (greetings, packages, screening): no single service.
    """
    action = action_for_intent((parse.get("intent") or {}).get("name"))
    if action in (ANSWER_ACTION, CHOICES_ACTION):
        # A hesitation carries no classified service, so only names are left.
        return services_in_message(parse, catalog)
    if action == HANDOFF_ACTION and asks_for_sign_language(str(parse.get("text") or "")):
        return [SIGN_LANGUAGE_SERVICE] if catalog.get(SIGN_LANGUAGE_SERVICE) else []
    return []
