"""The life events a citizen can choose reminders for, as a numbered SMS menu, and the
words that start and stop reminders."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from assistant.catalog import Catalog, Service
from assistant.language import Language, keyword_form
from assistant.reminders.schedule import deadline_services
from assistant.reminders.texts import CANCEL_WORD, SETUP_WORD, menu_heading

# Whole messages (after normalising) that start a reminder set-up or stop every reminder.
# Not "STOP" or "CANCEL": those are opt-out keywords that stop every message.
SETUP_WORDS: Final[tuple[str, ...]] = (
    SETUP_WORD.ko,
    "알림신청",
    "알림 신청",
    "기한 알림",
    "기한알림",
    SETUP_WORD.en,
    "REMINDER",
    "REMIND ME",
)
CANCEL_WORDS: Final[tuple[str, ...]] = (
    CANCEL_WORD.ko,
    "알림 취소",
    "알림끄기",
    "알림 끄기",
    "알림그만",
    "알림 그만",
    CANCEL_WORD.en,
    "REMINDER OFF",
    "NO REMINDERS",
)


_SETUP: Final = frozenset(keyword_form(w) for w in SETUP_WORDS)
_CANCEL: Final = frozenset(keyword_form(w) for w in CANCEL_WORDS)


def is_setup_request(text: str) -> bool:
    """True when the whole message asks to set up a reminder ("알림", "REMINDERS")."""
    return keyword_form(text) in _SETUP


def is_cancel_request(text: str) -> bool:
    """True when the whole message asks to stop every reminder ("알림취소")."""
    return keyword_form(text) in _CANCEL


@dataclass(frozen=True)
class ReminderChoice:
    """One numbered line of the menu."""

    number: int
    service: Service

    def label(self, language: Language) -> str:
        """The service's name in ``language``."""
        return self.service.name.get(language)


def reminder_choices(catalog: Catalog) -> tuple[ReminderChoice, ...]:
    """Every service with a deadline, numbered from 1 (stable: ordered by service id)."""
    return tuple(
        ReminderChoice(number, service)
        for number, service in enumerate(deadline_services(catalog), start=1)
    )


def menu_text(choices: tuple[ReminderChoice, ...], language: Language) -> str:
    """The numbered menu, one life event a line, for SMS."""
    lines = [menu_heading(language)]
    lines += [f"{choice.number}. {choice.label(language)}" for choice in choices]
    return "\n".join(lines)


_NUMBER = re.compile(r"(\d{1,2})(?:번|\.)?")


def pick_choice(choices: tuple[ReminderChoice, ...], text: str) -> ReminderChoice | None:
    """The choice a reply means: its number ("2", "2번") or a name or alias it contains.

    None when the reply matches nothing, or more than one choice by name.
    """
    norm = keyword_form(text)
    if not norm:
        return None
    digits = _NUMBER.fullmatch(unicodedata.normalize("NFKC", text).strip().casefold())
    if digits:
        number = int(digits.group(1))
        return next((c for c in choices if c.number == number), None)
    matches = [c for c in choices if any(alias in norm for alias in _aliases(c.service))]
    return matches[0] if len(matches) == 1 else None


def _aliases(service: Service) -> set[str]:
    words = [service.name.ko, service.name.en, *service.aliases.ko, *service.aliases.en]
    return {a for a in (keyword_form(w) for w in words) if len(a) >= 2}
