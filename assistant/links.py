"""Links the gateway sends citizens, built in one place from the public URL."""

from __future__ import annotations

from urllib.parse import urlencode

from assistant.config import Settings


def continue_link(settings: Settings, conversation_id: str) -> str | None:
    """The web chat, opened on ``conversation_id`` (None without a public URL).

    The conversation id is the capability: only the citizen it was texted to has it.
    """
    if not settings.public_url:
        return None
    return f"{settings.public_url.rstrip('/')}/?{urlencode({'session': conversation_id})}"
