"""Every reminder text, rendered for every service with a deadline, for the
plain-language lint (assistant/plain_language.py).

Its own module: it needs both the texts and the menu, and the menu needs the texts.
"""

from __future__ import annotations

import datetime as dt

from assistant.catalog import Catalog
from assistant.language import Language
from assistant.reminders.menu import menu_text, reminder_choices
from assistant.reminders.schedule import SEOUL, deadline_services
from assistant.reminders.texts import (
    ask_date_text,
    cancelled_text,
    choice_not_understood_text,
    date_not_understood_text,
    passed_text,
    reminder_body,
    scheduled_text,
)


def all_texts(catalog: Catalog) -> list[tuple[str, str, str, bool]]:
    """Every text, rendered for every service with a deadline: (key, language, text,
    is_sms) where ``is_sms`` marks a reminder SMS (two segments at most)."""
    # A long weekday-name month in the future keeps the samples at their longest.
    due = dt.date(2026, 12, 30)
    send_at = (
        dt.datetime(2026, 12, 27, 9, tzinfo=SEOUL),
        dt.datetime(2026, 12, 30, 9, tzinfo=SEOUL),
    )
    out: list[tuple[str, str, str, bool]] = []
    languages: tuple[Language, ...] = ("ko", "en")
    choices = reminder_choices(catalog)
    for lang in languages:
        out.append(("menu", lang, menu_text(choices, lang), False))
        out.append(("date_not_understood", lang, date_not_understood_text(lang), False))
        out.append(("choice_not_understood", lang, choice_not_understood_text(lang), False))
        for count in (0, 2):
            out.append((f"cancelled[{count}]", lang, cancelled_text(count, lang), False))
        for service in deadline_services(catalog):
            sid = service.id
            for days_left in (3, 1, 0):
                body = reminder_body(service, due, days_left, lang)
                out.append((f"reminder[{sid},{days_left}]", lang, body, True))
            out.append((f"ask_date[{sid}]", lang, ask_date_text(service, lang), False))
            for times in (send_at, send_at[1:], ()):
                text = scheduled_text(service, due, times, lang)
                out.append((f"scheduled[{sid},{len(times)}]", lang, text, False))
            out.append((f"passed[{sid}]", lang, passed_text(service, due, lang), False))
    return out
