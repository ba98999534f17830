"""URLs under the gateway's public URL (``SOTONG_PUBLIC_URL``), built in one place:
the links citizens are sent and the URLs Twilio calls back (and signs)."""

from __future__ import annotations

from assistant.config import Settings


def public_link(settings: Settings, path: str, query: str = "") -> str | None:
    """``path`` (and ``query``) under the public URL; None when no public URL is set."""
    if not settings.public_url:
        return None
    url = settings.public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url
