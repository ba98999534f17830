"""Personal data that must never be stored or logged in clear.

A resident registration number (주민등록번호, also the foreign resident number) is
YYMMDD-GNNNNNN. It is masked before a message is stored, logged or sent to Rasa.
"""

from __future__ import annotations

import hashlib
import re

# Date-shaped first half, 1–8 gender/century digit, optional hyphen or spaces. Digits on
# either side rule out longer numbers (accounts, phone numbers) of which it is a part.
_RRN = re.compile(
    r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    r"\s*[-‐‑–—]?\s*[1-8]\d{6}(?!\d)"
)
RRN_MASK = "******-*******"


def mask_rrn(text: str) -> str:
    """Replace every resident registration number in ``text`` with a mask."""
    return _RRN.sub(RRN_MASK, text)


def contains_rrn(text: str) -> bool:
    """Whether ``text`` holds something shaped like a resident registration number."""
    return _RRN.search(text) is not None


def phone_tail(phone: str | None) -> str:
    """A phone number as logs may show it: its last four digits only."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"…{digits[-4:]}" if len(digits) >= 4 else "…"


def log_reference(secret_id: str) -> str:
    """What logs show of an id that is also a bearer credential (a web chat session id
    opens that conversation): a short hash. Operators find a conversation's lines by
    computing the reference of the id they hold; a log reader cannot go the other way."""
    return "ref-" + hashlib.sha256(secret_id.encode("utf-8")).hexdigest()[:12]
