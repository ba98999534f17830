"""Read yes/no and number answers the way citizens give them, typed or spoken.

A screening question accepts "네", "예", "응", "맞아요", "yes", "yep"; "아니요", "아뇨",
"no"; numbers in digits ("72", "72세") or in words, Korean native ("일흔두 살",
"예순다섯"), Sino-Korean ("칠십이 세", "육십오") or English ("seventy-two"). Voice
recognition and SMS both produce these forms, so the same reader serves every channel.

Hand-written rather than a library: the number-word libraries on PyPI (text2num,
word2number) do not read Korean, and the English part is a few lines.
"""

from __future__ import annotations

import re
import unicodedata

# Longer phrases are tried before their prefixes ("아니요" before "아니").
_NO_KO = (
    "아니요", "아니오", "아니에요", "아니예요", "아닙니다", "아니", "아뇨", "아녀", "안 ", "않",
    "못 ", "없어요", "없습니다", "없음", "없다", "안했", "아직", "싫어요",
)  # fmt: skip
_YES_KO = (
    "맞아요", "맞습니다", "맞아", "그래요", "그렇습니다", "그래", "좋아요", "있어요", "있습니다",
    "있음", "했어요", "했습니다", "해요", "돼요", "됐어요", "살아요", "받아요", "넵", "넹",
)  # fmt: skip
# One-syllable yeses start many other words (예순, 네 살, 응급): only these endings may follow.
_YES_KO_SHORT = ("네", "예", "응", "ㅇㅇ")
_SHORT_ENDINGS = ("", "요", "네", "예", "엡", "ㅎ", "ㅋ", "ㅇ", "~", "^", "엉")
_DONT_KNOW = ("모르", "몰라", "글쎄", "잘 몰", "don't know", "dont know", "not sure", "no idea")
_NO_EN = ("no", "nope", "nah", "not", "never", "don't", "dont", "haven't", "havent", "none")
_YES_EN = ("yes", "yeah", "yep", "yup", "sure", "correct", "right", "ok", "okay", "i do", "i have")

# Korean native numbers, with the forms used before a counter (한 살, 두 달, 스무 살).
_NATIVE_TENS = {
    "열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50,
    "예순": 60, "일흔": 70, "여든": 80, "아흔": 90,
}  # fmt: skip
_NATIVE_UNITS = {
    "하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "석": 3, "넷": 4, "네": 4, "넉": 4,
    "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9,
}  # fmt: skip
_SINO_DIGITS = {
    "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "륙": 6, "칠": 7, "팔": 8, "구": 9,
}  # fmt: skip
_EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "a": 1, "an": 1,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip

_NATIVE_TENS_RE = "|".join(sorted(_NATIVE_TENS, key=len, reverse=True))
_NATIVE_UNITS_RE = "|".join(sorted(_NATIVE_UNITS, key=len, reverse=True))
_NATIVE_RE = re.compile(rf"(?:({_NATIVE_TENS_RE})\s?)?({_NATIVE_UNITS_RE})?")
_SINO_RE = re.compile(
    r"(?:([이삼사오육륙칠팔구])?(백))?\s?(?:([이삼사오육륙칠팔구])?(십))?\s?([일이삼사오육륙칠팔구])?"
)
_DIGITS_RE = re.compile(r"\d+(?:[.,]\d+)?")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).strip().casefold()
    # Punctuation goes, but not a decimal point or comma between digits ("3.5").
    return re.sub(r"(?<!\d)[.,]|[.,](?!\d)|[!?~…。]+", " ", text).strip()


def _starts_with_word(text: str, words: tuple[str, ...]) -> bool:
    # Korean attaches endings ("네요", "아니요ㅠ"), so a Korean word only has to start the
    # answer; an English one must be a whole word ("no" is not "nothing").
    for word in words:
        if text.startswith(word):
            rest = text[len(word) :]
            if not rest or not (word.isascii() and rest[0].isalnum()):
                return True
    return False


def _starts_with_short_yes(text: str) -> bool:
    for word in _YES_KO_SHORT:
        if text.startswith(word):
            rest = text[len(word) :].split(" ", 1)[0]
            if _has_counter(text, len(word)):
                return False  # "네 살" is four years old, not yes
            if rest in _SHORT_ENDINGS or set(rest) <= set("".join(_SHORT_ENDINGS)):
                return True
    return False


def is_dont_know(text: str) -> bool:
    """The citizen does not know the answer ("잘 모르겠어요", "not sure")."""
    normalised = _normalise(text)
    return any(phrase in normalised for phrase in _DONT_KNOW)


def parse_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the answer is neither.

    "No" wins over "yes" when both appear ("네 아니요" is a correction), and the whole
    answer is searched so "음... 아니요" and "well, yes" count.
    """
    normalised = _normalise(text)
    if not normalised or is_dont_know(normalised):
        return None
    words = normalised.split()
    # Each word start, with a trailing space so "안 " matches a lone 안 at the end too.
    starts = [" ".join(words[i:]) + " " for i in range(len(words))]
    if any(_starts_with_word(s, _NO_KO) or _starts_with_word(s.strip(), _NO_EN) for s in starts):
        return False
    for s in (s.strip() for s in starts):
        if _starts_with_word(s, _YES_KO) or _starts_with_short_yes(s):
            return True
        if _starts_with_word(s, _YES_EN):
            return True
    return None


# Forms that only count before a counter (한 살, 네 달); alone they are other words
# ("네" is yes, "한국", "세금").
_PREFIX_FORMS = ("한", "두", "세", "석", "네", "넉")


def _native(text: str) -> int | None:
    for match in _NATIVE_RE.finditer(text):
        tens, units = match.group(1), match.group(2)
        if tens or units:
            if not tens and units in _PREFIX_FORMS and not _has_counter(text, match.end()):
                continue
            if match.start() > 0 and "가" <= text[match.start() - 1] <= "힣":
                continue  # inside a word (e.g. "어한"): not a number
            return _NATIVE_TENS.get(tens or "", 0) + _NATIVE_UNITS.get(units or "", 0)
    return None


def _has_counter(text: str, end: int) -> bool:
    return bool(re.match(r"\s?(살|달|개월|세|돌|주|년|명|시간)", text[end:]))


def _sino(text: str) -> int | None:
    for match in _SINO_RE.finditer(text):
        hundreds_digit, hundred, tens_digit, ten, unit = match.groups()
        if not (hundred or ten):
            continue  # a lone 일/이/사… is too often an ordinary syllable
        value = 0
        if hundred:
            value += 100 * (_SINO_DIGITS[hundreds_digit] if hundreds_digit else 1)
        if ten:
            value += 10 * (_SINO_DIGITS[tens_digit] if tens_digit else 1)
        if unit:
            value += _SINO_DIGITS[unit]
        return value
    return None


def _english(text: str) -> int | None:
    words = re.findall(r"[a-z]+", text.replace("-", " "))
    value, found = 0, False
    for word in words:
        if word in _EN_TENS:
            value, found = value + _EN_TENS[word], True
        elif word in _EN_UNITS and word not in ("a", "an"):
            value, found = value + _EN_UNITS[word], True
        elif word == "hundred" and found:
            value *= 100
        elif found:
            break
    return value if found else None


def parse_number(text: str) -> float | None:
    """The first number in an answer, from digits or from Korean or English words."""
    normalised = _normalise(text)
    digits = _DIGITS_RE.search(normalised)
    if digits:
        return float(digits.group().replace(",", "."))
    for reader in (_native, _sino, _english):
        value = reader(normalised)
        if value is not None:
            return float(value)
    return None


_YEAR_UNITS = re.compile(r"(살|년|돌|세|year|yr)")
_WEEK_UNITS = re.compile(r"(주|week)")
_DAY_UNITS = re.compile(r"(일|날|day)")


def parse_age_in_months(text: str) -> float | None:
    """A baby's age in months: "3개월", "석 달", "두 돌", "1년", "6 weeks", "백일"."""
    normalised = _normalise(text)
    if "백일" in normalised.replace(" ", "") or "백 일" in normalised:
        return 100 / 30
    if re.search(r"(갓|방금|막|어제|오늘)\s?(태어|낳)", normalised) or "newborn" in normalised:
        return 0.0
    value = parse_number(normalised)
    if value is None and re.search(r"\ban? (year|month|week)", normalised):
        value = 1.0
    if value is None:
        return None
    number_end = _number_end(normalised)
    after = normalised[number_end:]
    if _YEAR_UNITS.match(after.strip()):
        return value * 12
    if _WEEK_UNITS.match(after.strip()):
        return value / 4.345
    if _DAY_UNITS.match(after.strip()):
        return value / 30.44
    return value


def _number_end(text: str) -> int:
    digits = _DIGITS_RE.search(text)
    if digits:
        return digits.end()
    for pattern in (_NATIVE_RE, _SINO_RE):
        for match in pattern.finditer(text):
            if match.group(0).strip():
                return match.end()
    words = list(re.finditer(r"[a-z]+", text))
    number_words = [w for w in words if w.group() in _EN_UNITS or w.group() in _EN_TENS]
    return number_words[-1].end() if number_words else len(text)
