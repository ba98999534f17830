"""The citizen profile record and its validation (phone format, accessibility keys)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from assistant.language import Language

# What a profile may say about a citizen's needs, and nothing else: a profile that
# accepted any key would slowly collect data nobody consented to.
ACCESSIBILITY_KEYS: Final[tuple[str, ...]] = (
    "deaf",
    "hard_of_hearing",
    "low_vision",
    "short_messages",
    "easy_words",
    "slow_speech",  # on the phone: slower speech and longer pauses (issue 5)
)
LANGUAGES: Final[tuple[Language, ...]] = ("ko", "en")

_E164 = re.compile(r"\+[1-9]\d{6,14}")


class ProfileError(ValueError):
    """A profile value is invalid; the message says which and why."""


@dataclass(frozen=True)
class CitizenProfile:
    """What a citizen agreed Sotong may remember about them, keyed by phone number.

    ``accessibility`` always holds every key of ``ACCESSIBILITY_KEYS`` (False unless
    the citizen said otherwise), so readers never guess what a missing key means.
    """

    phone: str
    language: Language
    consented_at: dt.datetime
    updated_at: dt.datetime
    accessibility: dict[str, bool] = field(default_factory=dict)
    reminders_opt_in: bool = False

    def needs(self) -> list[str]:
        """The accessibility needs that are set, in ``ACCESSIBILITY_KEYS`` order."""
        return [key for key in ACCESSIBILITY_KEYS if self.accessibility.get(key)]


def check_phone(phone: str) -> str:
    """``phone`` if it is an E.164 number (``+`` and 7–15 digits); else ProfileError."""
    if not isinstance(phone, str) or not _E164.fullmatch(phone):
        raise ProfileError(
            "phone must be an E.164 number: '+', the country code and the number, "
            "digits only (e.g. +821012345678)"
        )
    return phone


def check_language(language: str) -> Language:
    """``language`` if it is one Sotong speaks; else ProfileError."""
    if language == "ko":
        return "ko"
    if language == "en":
        return "en"
    raise ProfileError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")


def check_accessibility(flags: Mapping[str, bool]) -> dict[str, bool]:
    """The given flags, checked: known keys only, True or False only."""
    unknown = sorted(set(flags) - set(ACCESSIBILITY_KEYS))
    if unknown:
        raise ProfileError(
            f"unknown accessibility keys {unknown}; known keys are {list(ACCESSIBILITY_KEYS)}"
        )
    not_bool = sorted(key for key, value in flags.items() if not isinstance(value, bool))
    if not_bool:
        raise ProfileError(f"accessibility values must be true or false: {not_bool}")
    return dict(flags)


def full_accessibility(flags: Mapping[str, bool]) -> dict[str, bool]:
    """Every known key, False unless ``flags`` (already checked) sets it."""
    return {key: bool(flags.get(key, False)) for key in ACCESSIBILITY_KEYS}
