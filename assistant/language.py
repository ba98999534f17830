"""Language of a message: explicit switches first, then the script it is written in.

Korean is the default; English is chosen when a message is written in Latin letters
with no Hangul. Button payloads and digits never change the language.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["ko", "en"]
DEFAULT_LANGUAGE: Language = "ko"

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")
_PUNCT = re.compile(r"[^\w\s]")

_TO_ENGLISH_KO = re.compile(r"^(영어|잉글리시)(로|요)?")
_TO_KOREAN_KO = re.compile(r"^(한국어|한국말|한글|우리말)(로|요)?")
_MAX_SWITCH_WORDS = 6


def _normalise(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def explicit_switch(text: str) -> Language | None:
    """The language a citizen asks for ("English please", "한국어로"), or None."""
    norm = _normalise(text)
    if not norm:
        return None
    words = norm.split()
    if _TO_ENGLISH_KO.match(norm):
        return "en"
    if _TO_KOREAN_KO.match(norm):
        return "ko"
    if len(words) <= _MAX_SWITCH_WORDS:
        if "english" in words:
            return "en"
        if "korean" in words:
            return "ko"
    return None


def script_language(text: str) -> Language | None:
    """Korean if the text holds Hangul; English if it is Latin letters only; else None."""
    if _HANGUL.search(text):
        return "ko"
    if len(_LATIN.findall(text)) >= 2:
        return "en"
    return None


def keyword_form(text: str) -> str:
    """The form a one-word command is compared in ("중지", "STOP!", "ＳＴＯＰ", "수신 거부"):
    NFKC (full-width → ASCII), casefolded, without punctuation, symbols, spaces, control
    or format characters (zero-width joiners)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PSZC")


def as_language(value: str | None) -> Language:
    """A stored language code as a Language: English if it says so, else Korean."""
    return "en" if value == "en" else "ko"


def choose_language(text: str, current: Language) -> Language:
    """The language for this turn: an explicit switch, else the script, else ``current``."""
    return explicit_switch(text) or script_language(text) or current
