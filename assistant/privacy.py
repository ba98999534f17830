"""Personal data that must never be stored or logged in clear.

A resident registration number (주민등록번호, also the foreign resident number) is
YYMMDD-GNNNNNN. It is masked before a message is stored, logged or sent to Rasa.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Characters a number may be written with besides ASCII: full-width digits (the IME's
# wide mode), every dash and the separators people type (review M11), spaces, and
# invisible format characters (zero-width space, joiners, BOM) that would split a match.
_DASHES = "-‐‑‒–—―−－﹣﹘.·_/"
_FULL_WIDTH_ZERO = ord("０")
# Digits read out one by one in Sino-Korean, as speech recognition writes them ("구공공일
# 공일 일이삼…": Vosk's Korean model spells numbers so; review M11). Only a run of
# thirteen of them that also makes a valid date and gender digit is masked, so the
# words these syllables form in ordinary text ("일이", "이사", "오일") are left alone.
_HANGUL_DIGITS = {
    "공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4",
    "오": "5", "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9",
}  # fmt: skip
# Six digits, a separator, seven digits (each digit may be followed by one space); the
# date and the gender digit are checked afterwards, so phone numbers and other 13-digit
# runs that are no date are left alone. Digits on either side rule out longer numbers.
_CANDIDATE = re.compile(r"(?<!\d)(?:\d ?){5}\d\s*[-]?\s*(?:\d ?){6}\d(?! ?\d)")
_DATE_AND_GENDER = re.compile(r"^\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[1-8]\d{6}$")
RRN_MASK = "******-*******"


def _skeleton(text: str) -> tuple[str, list[int]]:
    """``text`` with digits made ASCII, dashes made "-", white space made " " and
    format characters dropped, and where each of its characters came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cf":
            continue
        if "０" <= ch <= "９":
            ch = chr(ord("0") + ord(ch) - _FULL_WIDTH_ZERO)
        elif ch in _DASHES:
            ch = "-"
        elif ch.isspace():
            ch = " "
        out.append(ch)
        where.append(i)
    return "".join(out), where


def _spans(text: str) -> list[tuple[int, int]]:
    """Where in ``text`` resident registration numbers are: (start, end) pairs, in order."""
    skeleton, where = _skeleton(text)
    spans: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(skeleton):
        digits = "".join(ch for ch in match.group() if ch.isdigit())
        if _DATE_AND_GENDER.match(digits):
            spans.append((where[match.start()], where[match.end() - 1] + 1))
    return sorted(spans + _hangul_spans(text))


# Between two digits read out: a space, a dash, an invisible character, a few at most.
_HANGUL_GAP = 3


def _hangul_spans(text: str) -> list[tuple[int, int]]:
    """Resident numbers read out in Hangul digits: every run of digit syllables (spaces
    and dashes allowed between them) is searched for thirteen in a row that make a valid
    date and gender digit — a particle or a word of the same syllables on either side
    ("…육칠이에요", "이 구공공…") does not hide one."""
    spans: list[tuple[int, int]] = []
    digits: list[str] = []
    places: list[int] = []

    def search() -> None:
        i = 0
        while i + 13 <= len(digits):
            if _DATE_AND_GENDER.match("".join(digits[i : i + 13])):
                spans.append((places[i], places[i + 12] + 1))
                i += 13
            else:
                i += 1

    gap = 0
    for i, ch in enumerate(text):
        if ch in _HANGUL_DIGITS:
            digits.append(_HANGUL_DIGITS[ch])
            places.append(i)
            gap = 0
        elif (
            digits
            and gap < _HANGUL_GAP
            and (ch.isspace() or ch in _DASHES or unicodedata.category(ch) == "Cf")
        ):
            gap += 1
        else:
            search()
            digits, places, gap = [], [], 0
    search()
    return spans


def mask_rrn(text: str) -> str:
    """Replace every resident registration number in ``text`` with a mask, however it
    was typed or heard: full-width digits, any dash, spaces between digits, invisible
    characters, digits read out in Hangul ("구공공일공일 일이삼사오육칠")."""
    spans = _spans(text)
    for start, end in reversed(spans):
        text = text[:start] + RRN_MASK + text[end:]
    return text


# A birth date (YYMMDD, maybe a dash) that ends one message, and seven digits led by the
# gender digit that begin the next: a number split over two messages (review M11).
_DATE_AT_END = re.compile(r"(?<!\d)(?<!\d )(?:\d ?){5}\d\s*-?\s*$")
_BACK_AT_START = re.compile(r"^\s*-?\s*[1-8] ?(?:\d ?){5}\d(?! ?\d)")
_VALID_DATE = re.compile(r"^\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$")


def mask_rrn_after(previous: str | None, text: str) -> str:
    """``text`` masked as ``mask_rrn`` does, and also its first seven digits when the
    citizen's ``previous`` message ended with a birth date: the back half of a number
    sent in two messages (each half alone is no resident number; the two are)."""
    text = mask_rrn(text)
    if not previous:
        return text
    before, _ = _skeleton(previous)
    date = _DATE_AT_END.search(before)
    if date is None or not _VALID_DATE.match("".join(c for c in date.group() if c.isdigit())):
        return text
    skeleton, where = _skeleton(text)
    back = _BACK_AT_START.match(skeleton)
    if back is None:
        return text
    digits = [i for i, ch in enumerate(back.group()) if ch.isdigit()]
    start, end = where[back.start() + digits[0]], where[back.start() + digits[-1]] + 1
    return text[:start] + RRN_MASK.split("-")[1] + text[end:]


def contains_rrn(text: str) -> bool:
    """Whether ``text`` holds something shaped like a resident registration number."""
    return bool(_spans(text))


def phone_tail(phone: str | None) -> str:
    """A phone number as logs may show it: its last four digits only."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"…{digits[-4:]}" if len(digits) >= 4 else "…"


def log_reference(secret_id: str) -> str:
    """What logs show of an id that is also a bearer credential (a web chat session id
    opens that conversation): a short hash. Operators find a conversation's lines by
    computing the reference of the id they hold; a log reader cannot go the other way."""
    return "ref-" + hashlib.sha256(secret_id.encode("utf-8")).hexdigest()[:12]
