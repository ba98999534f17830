"""Answers for foreign residents writing in a language Sotong does not serve fully
(issue 20, item 6).

Korean and English are Sotong's full-service languages: the dialogue, the catalog and
every text exist in both. A message plainly written in one of ``FOREIGN_LANGUAGES``
(assistant/foreign_detect.py) gets a short answer in that language
(``assistant/data/foreign_languages.yaml``): that Sotong answers in Korean and English,
the numbers that help in it (1345, Danuri 1577-1366), which certificates exist in which
language, and three choices: a person who speaks it (the handoff queue routes by
language), Korean, English.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from assistant.foreign_detect import FOREIGN_LANGUAGES, ForeignLanguage
from assistant.language import Language
from assistant.store.records import Button

# The reason a person is asked for (the queue and the consoles show it).
FOREIGN_LANGUAGE_REASON = "foreign_language"
# What the dialogue gets when Korean or English is picked (nlu/data/rules.yml confirms it).
SWITCH_LANGUAGE_PAYLOAD = "/switch_language"
# The gateway's own payloads: never sent to the dialogue.
_PERSON_PREFIX = "sotong:foreign:person:"
_LANGUAGE_PREFIX = "sotong:foreign:language:"
_FULL_SERVICE: Final[dict[Language, str]] = {"ko": "한국어", "en": "English"}

_DATA = Path(__file__).resolve().parent / "data" / "foreign_languages.yaml"


def foreign_choices(language: ForeignLanguage) -> tuple[Button, ...]:
    """The choices under a foreign-language answer: a person who speaks it, Korean,
    English (each language's name in itself)."""
    person = Button(foreign_text(language, "person"), _PERSON_PREFIX + language)
    others = tuple(Button(name, _LANGUAGE_PREFIX + code) for code, name in _FULL_SERVICE.items())
    return (person, *others)


def person_choice(payload: str | None) -> ForeignLanguage | None:
    """The language of the person picked with ``payload``, if it is that choice."""
    if payload is None or not payload.startswith(_PERSON_PREFIX):
        return None
    code = payload.removeprefix(_PERSON_PREFIX)
    return next((language for language in FOREIGN_LANGUAGES if language == code), None)


def chosen_language(payload: str | None) -> Language | None:
    """Korean or English, if ``payload`` picks one of them after a foreign answer."""
    if payload is None or not payload.startswith(_LANGUAGE_PREFIX):
        return None
    code = payload.removeprefix(_LANGUAGE_PREFIX)
    return next((language for language in _FULL_SERVICE if language == code), None)


@cache
def foreign_texts() -> dict[ForeignLanguage, dict[str, str]]:
    """Each foreign language's texts: ``name`` (its own name), ``help``, ``person`` (the
    button), ``waiting`` (said when a person who speaks it is asked for)."""
    raw: dict[str, Any] = yaml.safe_load(_DATA.read_text(encoding="utf-8"))
    languages: dict[str, dict[str, str]] = raw["languages"]
    missing = set(FOREIGN_LANGUAGES) - set(languages)
    if missing:
        raise ValueError(f"{_DATA.name}: no texts for {sorted(missing)}")
    return {code: languages[code] for code in FOREIGN_LANGUAGES}


def foreign_text(language: ForeignLanguage, key: Literal["help", "person", "waiting"]) -> str:
    """One of ``language``'s texts."""
    return foreign_texts()[language][key]
