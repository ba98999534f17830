"""Which numbers a phone call may make us text (security review L10).

A caller's ``From`` can be spoofed, so a text "back to the caller" goes wherever an
attacker points it; premium and international numbers cost the service for every
message (SMS pumping), two texts per call. So the texts a call triggers (the web chat
link of key 6 and of sign-language help, the "busy" text) go only:

- to Korean mobile numbers in E.164 (+82 10, 11, 16, 17, 18, 19 and 7–8 digits), and
- at most ``SOTONG_VOICE_SMS_PER_NUMBER_PER_DAY`` times to one number in a moving
  24 hours, counted by the shared rate limits (in Redis when ``SOTONG_REDIS_URL`` is
  set, so every gateway process counts the same texts).

A refusal changes nothing else in the call. It is logged with the number's last four
digits only; the count is kept under a hash of the number, not the number.
"""

from __future__ import annotations

import hashlib
import re

import structlog

from assistant.api.ratelimit import RateLimits
from assistant.privacy import phone_tail

log = structlog.get_logger(__name__)

# ASCII digits only: ``\d`` would take other scripts' digits too.
_KOREAN_MOBILE = re.compile(r"\+82(?:10|11|16|17|18|19)[0-9]{7,8}")


def is_korean_mobile(number: str) -> bool:
    """Whether ``number`` is a Korean mobile number in E.164 (``+821012345678``)."""
    return _KOREAN_MOBILE.fullmatch(number) is not None


def _limit_key(number: str) -> str:
    # The limiter's storage (Redis) need not hold phone numbers in clear.
    return hashlib.sha256(number.encode("utf-8")).hexdigest()[:24]


async def may_text(limits: RateLimits, number: str, purpose: str) -> bool:
    """Whether a call may text ``number`` now; when it may, the text is counted.

    ``purpose`` names the text in the log ("link", "line_busy"). Count only texts that
    would really go out: a text the outbox drops as a duplicate should not be asked for.
    """
    if not is_korean_mobile(number):
        log.warning(
            "voice.text_refused", to=phone_tail(number), purpose=purpose, reason="not_mobile"
        )
        return False
    wait = await limits.retry_after(limits.voice_texts, _limit_key(number))
    if wait:
        log.warning(
            "voice.text_refused",
            to=phone_tail(number),
            purpose=purpose,
            reason="daily_limit",
            retry_after=wait,
        )
        return False
    return True
