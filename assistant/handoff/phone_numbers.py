"""Phone numbers a person calls or texts a citizen back on.

Read with ``phonenumbers`` (Google's libphonenumber metadata, Apache-2.0), not a
hand-written pattern: it knows which Korean numbers exist (010 mobiles, 02 and the other
area codes, 070 internet phones), reads them written with dashes, spaces, full-width
digits or ``+82``, and tells a mobile (which can take a text) from a landline.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

DEFAULT_REGION = "KR"
# Types a text can reach (a Korean 070 internet phone usually cannot).
_TEXTABLE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def read_number(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The one valid phone number in ``text`` in E.164 form (``+821012345678``), or None
    when there is none or more than one (which would be a guess)."""
    found = {
        phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
        for match in phonenumbers.PhoneNumberMatcher(text, region)
        if phonenumbers.is_valid_number(match.number)
    }
    if not found:
        # A bare run of digits (as a keypad gives them) is not "text with a number in it"
        # for the matcher's leniency rules; parse it whole.
        digits = "".join(ch for ch in text if ch.isdigit() or ch == "+")
        number = _parse(digits, region)
        return number if number and digits == text.strip() else None
    return found.pop() if len(found) == 1 else None


def _parse(text: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def is_phone_number(address: str) -> bool:
    """Whether a conversation's address is a valid phone number (SMS and calls; not a
    web chat session or a withheld caller ID such as ``anonymous``)."""
    return address.startswith("+") and _parse(address, DEFAULT_REGION) == address


def can_text(number: str) -> bool:
    """Whether ``number`` (E.164) is a mobile, which can take a text message."""
    try:
        parsed = phonenumbers.parse(number, None)
    except NumberParseException:
        return False
    return phonenumbers.number_type(parsed) in _TEXTABLE


def national(number: str) -> str:
    """``number`` (E.164) as people in its country write it: ``010-1234-5678``."""
    try:
        parsed = phonenumbers.parse(number, None)
    except NumberParseException:
        return number
    if parsed.country_code == phonenumbers.country_code_for_region(DEFAULT_REGION):
        return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)


def masked(number: str) -> str:
    """``number`` as consoles show it before "reveal": the first group (the mobile or
    area prefix, or the country code) and the last four digits, the rest hidden:
    ``010-****-5678``."""
    written = national(number)
    digits = sum(ch.isdigit() for ch in written)
    first_group = len(re.match(r"\D*(\d*)", written).group(1))  # type: ignore[union-attr]
    out, seen = [], 0
    for ch in written:
        if ch.isdigit():
            seen += 1
            out.append("*" if first_group < seen <= digits - 4 else ch)
        else:
            out.append(ch)
    return "".join(out)


def last_four(number: str) -> str:
    """The last four digits, as a caller hears them read back."""
    return "".join(ch for ch in number if ch.isdigit())[-4:]
