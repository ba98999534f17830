"""Carry a call's or an SMS conversation onto the web chat, by a texted link.

A web chat session id is a bearer credential, so the web chat API serves web chat
conversations only: a phone or SMS conversation is never opened by its id on the web.
A citizen who wants to go on in writing is texted a link instead; opening it starts a
**new** web chat conversation, linked to the old one, whose first message says where it
came from and which services were discussed (from the catalog, as the desk summary
does; no transcript is copied), then the catalog's full answer of the service the old
conversation answered in full last (an SMS "자세히" sends this link). The link

- is **signed**: ``<random>.<mac>``, an HMAC-SHA256 under the gateway's signing key and
  a purpose label over 32 random bytes, so a made-up or mangled link is refused before
  any database read;
- **expires** (``SOTONG_CONTINUE_LINK_HOURS``, 24 h) and **works once**: only its
  SHA-256 is stored, with the conversation, the expiry and when it was used (like console
  sign-in tokens: the table never holds a usable link);
- never holds a conversation id.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import structlog

from assistant.actions.services import describe_service
from assistant.catalog import Catalog
from assistant.catalog.discussed import last_full_answer, services_discussed
from assistant.config import Settings
from assistant.language import as_language
from assistant.links import public_link
from assistant.store import Conversation, ConversationStore
from assistant.texts import say

if TYPE_CHECKING:
    from assistant.services import Services

log = structlog.get_logger(__name__)

_PURPOSE = b"sotong.webchat.continue.v1"
LINK_SHAPE = r"^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$"
"""What a continuation token looks like (for request validation)."""
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$")


class ContinuationRefused(Exception):
    """The link is not one this gateway made, has expired, or was used already."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(key: bytes, nonce: str) -> str:
    return _b64(hmac.new(key, _PURPOSE + b":" + nonce.encode("ascii"), hashlib.sha256).digest())


def new_token(key: bytes) -> str:
    """A fresh signed token. An empty key is refused: it would make tokens forgeable."""
    if not key:
        raise ValueError("the signing key is empty")
    nonce = _b64(secrets.token_bytes(32))
    return f"{nonce}.{_mac(key, nonce)}"


def is_signed(key: bytes, token: str) -> bool:
    """Whether ``token`` was made by :func:`new_token` with ``key``."""
    match = _TOKEN.match(token)
    if not key or match is None:
        return False
    return hmac.compare_digest(match.group(2), _mac(key, match.group(1)))


def token_hash(token: str) -> str:
    """What the store keeps of a token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


async def offer(
    store: ConversationStore, settings: Settings, key: bytes, conversation_id: str
) -> str | None:
    """A link (to text the citizen) that continues ``conversation_id`` on the web chat;
    None when the gateway has no public URL to put in it."""
    if not settings.public_url:
        return None
    token = new_token(key)
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=settings.continue_link_hours)
    await store.add_continuation(token_hash(token), conversation_id, expires_at)
    return public_link(settings, "/", urlencode({"continue": token}))


@dataclass(frozen=True)
class Continued:
    """Where a used link led: the old conversation, the opening message for the new, and
    the full answer the old one gave last (an SMS "자세히" sends this link), if any."""

    source: Conversation
    opening: str
    answer: str | None = None


async def claim(
    store: ConversationStore, catalog: Catalog, key: bytes, token: str, language: str | None
) -> Continued:
    """Use ``token`` (once). Raises :class:`ContinuationRefused` if it cannot be used.

    ``language``: the page's choice; the old conversation's language otherwise."""
    if not is_signed(key, token):
        raise ContinuationRefused("not a link of this service")
    source_id = await store.claim_continuation(token_hash(token))
    source = await store.get_conversation(source_id) if source_id else None
    if source is None:
        raise ContinuationRefused("expired, already used, or its conversation erased")
    language = as_language(language or source.language)
    transcript = await store.transcript(source.id)
    discussed = services_discussed(transcript, await store.handoff_requests(source.id), catalog)
    answered = last_full_answer(transcript, catalog)
    origin = {"voice": "continued_from_voice", "sms": "continued_from_sms"}.get(
        source.channel, "continued_from_other"
    )
    lines = [say(origin, language)]
    if discussed:
        names = ", ".join(service.name.get(language) for service in discussed)
        lines.append(say("continued_services", language).format(services=names))
    lines.append(say("continued_ask", language))
    answer = describe_service(answered, language) if answered is not None else None
    return Continued(source=source, opening="\n".join(lines), answer=answer)


async def open_continuation(
    services: Services, token: str, *, channel: str, accessibility: dict[str, Any]
) -> Conversation:
    """Use ``token`` to open a new ``channel`` conversation carrying its conversation on:
    in that one's language and needs (``accessibility``, the page's settings, on top),
    starting with the opening message, and with its open request for a person, which
    moves along (an interpreter asked for on the phone joins here). Raises
    :class:`ContinuationRefused`."""
    continued = await claim(
        services.store, services.catalog, services.signing_key, token, language=None
    )
    source = continued.source
    conversation = await services.core.start(
        channel,
        address="web",
        language=as_language(source.language),
        accessibility={**source.accessibility, **accessibility},
    )
    await services.store.record_outbound(
        conversation.id, text=continued.opening, language=conversation.language
    )
    if continued.answer is not None:  # its own message: it starts with the service's name
        await services.store.record_outbound(
            conversation.id, text=continued.answer, language=conversation.language
        )
    await services.store.set_continued_as(token_hash(token), conversation.id)
    await services.handoff.follow(source.id, conversation)
    log.info("continuation.opened", from_channel=source.channel, channel=channel)
    return conversation
