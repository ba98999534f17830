"""Language of a message: explicit switches first, then the script it is written in.

Korean is the default; English is chosen when a message is written in Latin letters
with no Hangul. Button payloads and digits never change the language.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from assistant.foreign_detect import detect_foreign

Language = Literal["ko", "en"]
DEFAULT_LANGUAGE: Language = "ko"

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")
_PUNCT = re.compile(r"[^\w\s]")

# A switch names the language and says nothing else but "in it, please": a message
# with anything more ("영어로 된 등본이 필요해요", "Korean driver's licence") is about
# something else, and its language is the script's (issue 20).
_LANGUAGE_WORDS_KO: dict[str, Language] = {
    "영어": "en",
    "잉글리시": "en",
    "한국어": "ko",
    "한국말": "ko",
    "한글": "ko",
    "우리말": "ko",
}
_PARTICLES_KO = ("으로요", "로요", "으로", "로", "요", "는", "은", "도", "가", "이")
# Beginnings of the words that may follow: say / speak / talk / change / answer /
# please / can you. Not "된" (영어로 된 = written in English), not a noun.
_SWITCH_WORDS_KO = (
    "해",
    "하",
    "말",
    "대화",
    "얘기",
    "이야기",
    "바꿔",
    "바꾸",
    "변경",
    "안내",
    "알려",
    "설명",
    "답",
    "대답",
    "써",
    "주세",
    "줘",
    "주실",
    "주시",
    "부탁",
    "좀",
    "가능",
    "돼",
    "되나",
    "되요",
    "됩니",
    "할",
    "수",
    "있",
    "줄",
    "알아",
    "아세",
    "아시",
    "요",
)
_SWITCH_WORDS_EN = frozenset(
    "please pls plz in to into speak speaking talk switch change use answer reply write "
    "can could would you we i me do does let s lets like want prefer language only "
    "now from here on the a be is it ok okay yes mode version of".split()
)
_LANGUAGE_WORDS_EN: dict[str, Language] = {"english": "en", "korean": "ko"}
_MAX_SWITCH_WORDS = 6


def _normalise(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.casefold()).split())


def _korean_switch(words: list[str]) -> Language | None:
    first = words[0]
    for word, language in _LANGUAGE_WORDS_KO.items():
        if first.startswith(word) and first[len(word) :] in ("", *_PARTICLES_KO):
            rest = words[1:]
            if all(w.startswith(_SWITCH_WORDS_KO) for w in rest):
                return language
    return None


def _english_switch(words: list[str]) -> Language | None:
    named = {_LANGUAGE_WORDS_EN[w] for w in words if w in _LANGUAGE_WORDS_EN}
    others = [w for w in words if w not in _LANGUAGE_WORDS_EN]
    if len(named) == 1 and all(w in _SWITCH_WORDS_EN for w in others):
        return named.pop()
    return None


def explicit_switch(text: str) -> Language | None:
    """The language a citizen asks for ("English please", "한국어로"), or None when the
    message is about anything more than the language it should be in."""
    words = _normalise(text).split()
    if not words or len(words) > _MAX_SWITCH_WORDS:
        return None
    return _korean_switch(words) or _english_switch(words)


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
    """The language for this turn: an explicit switch, else the script, else ``current``.

    A message in a foreign resident's language (Vietnamese is Latin letters too) keeps
    ``current``: it is answered in its own language (assistant/foreign.py), and Korean
    or English stays what the citizen was using or picks."""
    switch = explicit_switch(text)
    if switch is not None:
        return switch
    if detect_foreign(text) is not None:
        return current
    return script_language(text) or current
