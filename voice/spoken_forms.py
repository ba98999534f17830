"""Rewrite a written reply the way a person would say it, before it goes to speech.

Text written for the screen or SMS does not survive a speech synthesiser: "02-2100-1234"
becomes "two thousand one hundred…", "30,000원" loses its unit, a URL is spelled out
letter by letter, and markdown stars, bullets and emoji are read aloud or garble the
prosody. ``for_speech`` turns such text into what a civil servant would say on the
phone, in Korean or English:

- phone numbers digit by digit in their groups, with a short pause (a comma) between
  groups ("02-2100-1234" → "공이, 이일공공, 일이삼사"), and the short hotlines (110, 129,
  107 …) as digits too, as everybody says them;
- dates ("2026-11-23", "2026.11.23", "11월 23일") in full ("이천이십육년 십일월 이십삼일",
  "23 November 2026"); times ("09:00" → "아홉 시"); amounts ("30,000원" → "삼만 원",
  "30,000 won" → "thirty thousand won"); percentages; Korean numbers before a counter
  in the form the counter takes ("24시간" → "스물네 시간", "65세" → "육십오 세");
- URLs are not read out: the sentence says "누리집" / "the website" instead and the
  reply ends with an offer to text the address;
- markdown, bullets and emoji go; numbered options "1. x" become "1번, x".

This is the reverse of ``assistant/spoken_answers.py`` (which reads what citizens say).
Hand-written for the same reason: no maintained library reads Korean numbers aloud.
Pure functions, no state.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Final

__all__ = ["URL_NOTICE", "english_number", "for_speech", "native_korean", "sino_korean"]

URL_NOTICE: Final = {
    "ko": "인터넷 주소는 문자로 보내 드릴 수 있어요.",
    "en": "We can text you the web address.",
}
_URL_STANDIN: Final = {"ko": "누리집", "en": "the website"}

# ---- number words -----------------------------------------------------------------------
_SINO_DIGITS: Final = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
# Telephone digits: zero is "공", never "영".
_PHONE_DIGITS_KO: Final = ("공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
_DIGITS_EN: Final = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SINO_SMALL_UNITS: Final = ((1000, "천"), (100, "백"), (10, "십"))
_SINO_BIG_UNITS: Final = ("", "만", "억", "조", "경")
# Native Korean numbers, in the form they take before a counter (한 살, 스무 명).
_NATIVE_UNITS: Final = ("", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉")
_NATIVE_TENS: Final = ("", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔")
_EN_SMALL: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS: Final = (
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
)  # fmt: skip
_EN_SCALES: Final = (
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (1000, "thousand"),
)
_MONTHS_EN: Final = (
    "", "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS_KO: Final = "월화수목금토일"


def sino_korean(number: int) -> str:
    """``number`` in Sino-Korean words: 1234500 → "백이십삼만 사천오백", 0 → "영".

    A leading one is silent before 십, 백, 천 and 만 ("만 원", not "일만 원"), as
    people say it; groups of four digits (만, 억, 조) are separated by a space.
    """
    if number < 0:
        return "마이너스 " + sino_korean(-number)
    if number == 0:
        return _SINO_DIGITS[0]
    groups: list[str] = []
    index = 0
    while number:
        number, group = divmod(number, 10000)
        if group:
            words = _sino_group(group)
            unit = _SINO_BIG_UNITS[index]
            if unit == "만" and group == 1:
                words = ""  # "만", not "일만"
            groups.append(words + unit)
        index += 1
    return " ".join(reversed(groups))


def _sino_group(number: int) -> str:
    words = ""
    for value, unit in _SINO_SMALL_UNITS:
        digit, number = divmod(number, value)
        if digit:
            words += ("" if digit == 1 else _SINO_DIGITS[digit]) + unit
    if number:
        words += _SINO_DIGITS[number]
    return words


def native_korean(number: int) -> str | None:
    """``number`` (1–99) in native Korean as used before a counter (24 → "스물네");
    None outside that range, where Korean switches to Sino-Korean numbers."""
    if not 1 <= number <= 99:
        return None
    tens, units = divmod(number, 10)
    if number == 20:
        return "스무"
    return _NATIVE_TENS[tens] + _NATIVE_UNITS[units]


def english_number(number: int) -> str:
    """``number`` in English words: 1234500 → "one million two hundred thirty-four
    thousand five hundred"."""
    if number < 0:
        return "minus " + english_number(-number)
    if number < 20:
        return _EN_SMALL[number]
    if number < 100:
        tens, units = divmod(number, 10)
        return _EN_TENS[tens] + (f"-{_EN_SMALL[units]}" if units else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_EN_SMALL[hundreds]} hundred" + (f" {english_number(rest)}" if rest else "")
    for value, name in _EN_SCALES:
        if number >= value:
            head, rest = divmod(number, value)
            return f"{english_number(head)} {name}" + (f" {english_number(rest)}" if rest else "")
    raise AssertionError("unreachable")  # pragma: no cover


def _digits(digits: str, language: str) -> str:
    """Digits one by one: "0404" → "공사공사" / "zero four zero four"."""
    if language == "ko":
        return "".join(_PHONE_DIGITS_KO[int(d)] for d in digits if d.isdigit())
    return " ".join(_DIGITS_EN[int(d)] for d in digits if d.isdigit())


def _decimal_words(raw: str, language: str) -> str:
    """A plain number, possibly with thousands commas and a decimal part."""
    whole, _, fraction = raw.replace(",", "").partition(".")
    if language == "ko":
        words = sino_korean(int(whole))
        spoken = "".join(_SINO_DIGITS[int(d)] for d in fraction)
        return f"{words} 점 {spoken}" if fraction else words
    words = english_number(int(whole))
    spoken = " ".join(_DIGITS_EN[int(d)] for d in fraction)
    return f"{words} point {spoken}" if fraction else words


# ---- counters (Korean) ------------------------------------------------------------------
# Counters read with native numbers up to 99 ("세 시", "두 장"); every other counter,
# and native ones above 99, takes Sino-Korean numbers. Longest first ("시간" before "시").
_NATIVE_COUNTERS: Final = (
    "시간", "번째", "군데", "가지", "마리", "켤레", "시", "개", "명", "살", "장", "달", "곳",
    "권", "잔", "통", "벌",
)  # fmt: skip
_SINO_COUNTERS: Final = (
    "개월", "주일", "주년", "학년", "퍼센트", "주", "일", "월", "년", "세", "원", "분", "초",
    "번", "층", "호", "급", "종", "회", "차", "배", "위", "인", "박", "등", "kg", "km", "cm",
)  # fmt: skip
_COUNTER_RE: Final = re.compile(
    "|".join(sorted((*_NATIVE_COUNTERS, *_SINO_COUNTERS), key=len, reverse=True))
)
# Syllables after which a glued number is still a quantity ("제1종", "약3주", "총5명"),
# not part of a name such as "정부24" or "자동차365", which is read digit by digit.
_QUANTITY_PREFIXES: Final = frozenset("제약총매각단연월만및와과")

_EN_UNITS_RE: Final = re.compile(
    r"\s*(?:%|percent|per cent|days?|weeks?|months?|years?|hours?|minutes?|seconds?|"
    r"won|krw|people|persons?|times|km|kg|cm|m|st|nd|rd|th)\b",
    re.IGNORECASE,
)

# Hotlines Koreans read digit by digit ("일일구", "일이구"), with no area code.
_HOTLINES: Final = frozenset(
    {
        "107", "110", "111", "112", "113", "114", "117", "118", "119", "120", "122", "125",
        "127", "128", "129", "131", "132", "182", "1301", "1330", "1332", "1345", "1355",
        "1366", "1377", "1388", "1393", "1398", "1399", "1644",
    }
)  # fmt: skip

# ---- patterns ---------------------------------------------------------------------------
_FULLWIDTH: Final = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_CIRCLED: Final = {chr(0x2460 + i): f"{i + 1}. " for i in range(20)}  # ① … ⑳
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]"
_URL = re.compile(
    rf"(?:https?://|www\.){_URL_CHARS}+"
    r"|(?<![@\w.])(?:[a-z0-9-]+\.)+(?:go\.kr|or\.kr|co\.kr|ac\.kr|kr|com|net|org|gov|info)"
    rf"(?:/{_URL_CHARS}*)?(?![A-Za-z0-9-])",
    re.IGNORECASE,
)
_URL_TAIL = re.compile(r"[.,;:!?'\"]+$")
_BULLET = re.compile(r"^\s*(?:[-*+](?=\s)|[•·▪▫◦‣○●■□◆◇▶▷►→※✓✔☞])\s*")
_OPTION = re.compile(r"^\s*(\d{1,2})[.)]\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_QUOTE = re.compile(r"^\s*>+\s?")
_RULE = re.compile(r"^\s*(?:[-*_=]\s*){3,}$")
_EMPHASIS = re.compile(r"(\*\*|__|~~)(.+?)\1|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`{1,3}([^`]*)`{1,3}")

_PHONE = re.compile(
    r"(?<![\w+])(?:\+(?P<cc>\d{1,3})[\s.-]?(?:\(0\))?(?P<area_i>\d{1,2})"
    r"|(?P<area>0\d{1,2})|\((?P<area_p>0\d{1,2})\))"
    r"[\s.-]*(?P<mid>\d{3,4})[\s.-](?P<last>\d{4})(?!\d)"
    r"|(?<![\w-])(?P<rep>1[5-9]\d\d)-(?P<rep_last>\d{4})(?![\d-])"
)
_ISO_DATE = re.compile(
    r"(?<![\d.])(?P<y>(?:19|20)\d\d)\s*(?P<sep>[-./])\s*(?P<m>\d{1,2})\s*(?P=sep)\s*(?P<d>\d{1,2})"
    r"(?!\d)(?:\s*\((?P<w>[월화수목금토일])\))?"
)
_KO_DATE = re.compile(
    r"(?<!\d)(?:(?P<y>\d{4})\s*년\s*)?(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일"
    r"(?:\s*\((?P<w>[월화수목금토일])\))?"
)
_KO_DAY_WEEKDAY = re.compile(r"(?<!\d)(\d{1,2})\s*일\s*\(([월화수목금토일])\)")
_TIME = re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-4])\s*:\s*(?P<m>[0-5]\d)(?![\d:])")
# "11/20" is a date in Korean writing (month/day); "1/2" is a half. Small fractions win.
_SLASH = re.compile(r"(?<![\d/.])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])")
_RATIO = re.compile(r"(?<![\d:])(\d{1,2})\s*:\s*(\d{1,2})(?![\d:])")
_RANGE = re.compile(r"(?<=\d)\s*[~∼〜]\s*(?=\d)")
_KO_AMOUNT = re.compile(
    r"(?:₩\s*(?P<won>\d[\d,]*(?:\.\d+)?)(?:\s*원)?)"
    r"|(?<![\d.,])(?P<parts>(?:\d[\d,]*(?:\.\d+)?\s*(?:조|억|천만|백만|만|천)\s*)*"
    r"\d[\d,]*(?:\.\d+)?(?:\s*(?:조|억|천만|백만|만|천))?)\s*원"
)
_EN_AMOUNT = re.compile(
    r"(?:₩|\bKRW)\s*(?P<a>\d[\d,]*(?:\.\d+)?)(?:\s*(?:won|KRW)\b)?"
    r"|(?P<b>\d[\d,]*(?:\.\d+)?)\s*(?:won\b|KRW\b|원)",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(?<![\d.,])(\d[\d,]*(?:\.\d+)?)\s*(?:%|퍼센트|프로)")
_NUMBER = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|(?<![\d.,])\d+(?:\.\d+)?")
_BIG_UNIT_VALUES: Final = {
    "조": 10**12, "억": 10**8, "천만": 10**7, "백만": 10**6, "만": 10**4, "천": 1000,
}  # fmt: skip
_BIG_UNIT_RE: Final = re.compile(r"(천만|백만|조|억|만|천)")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_END_PUNCT = tuple(".?!。…:")


def for_speech(text: str, language: str) -> str:
    """``text`` rewritten to be spoken in ``language`` ("ko" or "en"; others as "en").

    The result is one line: paragraphs and list items become sentences, so the
    synthesiser pauses between them.
    """
    lang = "ko" if language == "ko" else "en"
    text = unicodedata.normalize("NFC", text).translate(_FULLWIDTH)
    text = "".join(_CIRCLED.get(ch, ch) for ch in text)
    text, had_url = _drop_urls(text, lang)
    text = _strip_markup(text, lang)
    text = _drop_emoji(text)
    text = _RANGE.sub("에서 " if lang == "ko" else " to ", text)
    text = _ISO_DATE.sub(lambda m: _date(m, lang), text)
    if lang == "ko":
        text = _KO_DATE.sub(_ko_date, text)
        text = _KO_DAY_WEEKDAY.sub(lambda m: f"{sino_korean(int(m[1]))}일 {m[2]}요일", text)
    text = _PHONE.sub(lambda m: _phone(m, lang), text)
    text = _TIME.sub(lambda m: _time(m, lang), text)
    text = _SLASH.sub(lambda m: _slash(m, lang), text)
    if lang == "ko":
        text = _RATIO.sub(lambda m: f"{sino_korean(int(m[1]))} 대 {sino_korean(int(m[2]))}", text)
    if lang == "ko":
        text = _KO_AMOUNT.sub(_ko_amount, text)
    else:
        text = _EN_AMOUNT.sub(_en_amount, text)
    text = _PERCENT.sub(
        lambda m: _decimal_words(m.group(1), lang) + (" 퍼센트" if lang == "ko" else " percent"),
        text,
    )
    text = _NUMBER.sub(lambda m: _number(m, lang), text)
    text = re.sub(r"\s*[~∼〜]+", "", text)  # a tilde left is decoration ("감사합니다~")
    if had_url:
        text = _join_sentence(text, URL_NOTICE[lang])
    return _tidy(text)


# ---- steps ------------------------------------------------------------------------------
def _drop_urls(text: str, lang: str) -> tuple[str, bool]:
    found = False

    def link(match: re.Match[str]) -> str:
        nonlocal found
        found = True
        return match.group(1)

    def url(match: re.Match[str]) -> str:
        nonlocal found
        found = True
        tail = _URL_TAIL.search(match.group(0))  # sentence punctuation after the URL stays
        return _URL_STANDIN[lang] + (tail.group(0) if tail else "")

    text = _MD_LINK.sub(link, text)
    # A URL in brackets after the name of the site ("복지로(www.bokjiro.go.kr)") just goes.
    text, count = re.subn(rf"\s*[(\[<]\s*(?:{_URL.pattern})\s*[)\]>]", "", text, flags=re.I)
    found = found or count > 0
    text = _URL.sub(url, text)
    return text, found


def _strip_markup(text: str, lang: str) -> str:
    sentences: list[str] = []
    for raw_line in text.splitlines():
        line = _CODE.sub(r"\1", raw_line)
        if _RULE.match(line):
            continue
        line = _HEADING.sub("", line)
        line = _QUOTE.sub("", line)
        option = _OPTION.match(line)
        if option:
            number = option.group(1)
            label = f"{number}번, " if lang == "ko" else f"Number {number}, "
            line = label + line[option.end() :]
        else:
            line = _BULLET.sub("", line)
        line = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or "", line)
        line = line.replace("*", "").replace("#", " ").strip()
        if line:
            sentences.append(line)
    last = len(sentences) - 1
    return " ".join(
        line if index == last or line.endswith(_END_PUNCT) else line + "."
        for index, line in enumerate(sentences)
    )


def _drop_emoji(text: str) -> str:
    kept: list[str] = []
    for ch in text:
        code = ord(ch)
        if 0xFE00 <= code <= 0xFE0F or code in (0x200D, 0x20E3) or 0x1F3FB <= code <= 0x1F3FF:
            continue  # variation selectors, joiners, skin tones
        if unicodedata.category(ch) in ("So", "Cs", "Co") and ch not in "°℃":
            continue
        if 0x2190 <= code <= 0x21FF or 0x27F0 <= code <= 0x27FF or 0x2900 <= code <= 0x297F:
            kept.append(", ")  # an arrow between two things is a pause
            continue
        kept.append(ch)
    text = "".join(kept)
    # "출생·사망", "신분증/여권": a pause, not a symbol to read.
    return re.sub(r"(?<=[^\d\s])\s*[·ㆍ/]\s*(?=[^\d\s])", ", ", text)


def _weekday(name: str | None, lang: str) -> str:
    if not name:
        return ""
    return f" {name}요일" if lang == "ko" else ""


def _ko_month(month: int) -> str:
    # Six and ten drop a sound in month names: 유월, 시월.
    return {6: "유월", 10: "시월"}.get(month, sino_korean(month) + "월")


def _date_words(year: int | None, month: int, day: int, lang: str) -> str:
    if lang == "ko":
        head = f"{sino_korean(year)}년 " if year is not None else ""
        return f"{head}{_ko_month(month)} {sino_korean(day)}일"
    tail = f" {year}" if year is not None else ""
    return f"{day} {_MONTHS_EN[month]}{tail}"


def _date(match: re.Match[str], lang: str) -> str:
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    return _date_words(year, month, day, lang) + _weekday(match["w"], lang)


def _ko_date(match: re.Match[str]) -> str:
    month, day = int(match["m"]), int(match["d"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group(0)
    year = int(match["y"]) if match["y"] else None
    return _date_words(year, month, day, "ko") + _weekday(match["w"], "ko")


def _phone(match: re.Match[str], lang: str) -> str:
    if match["rep"]:
        groups = [match["rep"], match["rep_last"]]
    else:
        area = match["area_i"] or match["area_p"] or match["area"]
        groups = [match["cc"], area, match["mid"], match["last"]]
    words = ", ".join(_digits(group, lang) for group in groups if group)
    if match["cc"]:
        words = ("플러스 " if lang == "ko" else "plus ") + words
    return words


def _time(match: re.Match[str], lang: str) -> str:
    hour, minute = int(match["h"]), int(match["m"])
    if lang == "ko":
        if hour in (0, 24):
            words = "밤 열두 시"
        elif hour > 12:
            words = f"오후 {native_korean(hour - 12)} 시"
        else:
            words = f"{native_korean(hour)} 시"
        return words + (f" {sino_korean(minute)} 분" if minute else "")
    if hour == 12 and minute == 0:
        return "twelve noon"
    if hour in (0, 24) and minute == 0:
        return "midnight"
    suffix = "a.m." if hour % 24 < 12 else "p.m."
    twelve = hour % 12 or 12
    if minute == 0:
        return f"{english_number(twelve)} {suffix}"
    spoken_minute = english_number(minute) if minute >= 10 else f"oh {english_number(minute)}"
    return f"{english_number(twelve)} {spoken_minute} {suffix}"


def _slash(match: re.Match[str], lang: str) -> str:
    top, bottom = int(match[1]), int(match[2])
    if 0 < top < bottom <= 10:
        if lang == "ko":
            return f"{sino_korean(bottom)}분의 {sino_korean(top)}"
        return f"{english_number(top)} over {english_number(bottom)}"
    if 1 <= top <= 12 and 1 <= bottom <= 31:
        return _date_words(None, top, bottom, lang)
    return match.group(0)


def _amount_value(raw: str) -> int | None:
    """The value of "1억 2천만", "5만", "30,000", "1.5만" (None if not a whole number)."""
    total = Decimal(0)
    position = 0
    try:
        for match in re.finditer(r"(\d[\d,]*(?:\.\d+)?)\s*(천만|백만|조|억|만|천)?", raw):
            if raw[position : match.start()].strip():
                return None
            unit = _BIG_UNIT_VALUES.get(match.group(2) or "", 1)
            total += Decimal(match.group(1).replace(",", "")) * unit
            position = match.end()
    except InvalidOperation:
        return None
    if raw[position:].strip() or total != total.to_integral_value():
        return None
    return int(total)


def _ko_amount(match: re.Match[str]) -> str:
    raw = match["won"] or match["parts"]
    value = _amount_value(raw)
    if value is None:
        return _decimal_words(raw, "ko") + " 원" if re.fullmatch(r"[\d,.]+", raw) else match[0]
    return sino_korean(value) + " 원"


def _en_amount(match: re.Match[str]) -> str:
    raw = match["a"] or match["b"]
    return _decimal_words(raw, "en") + " won"


def _number(match: re.Match[str], lang: str) -> str:
    raw = match.group(0)
    source = match.string
    before = source[: match.start()]
    after = source[match.end() :]
    plain = raw.replace(",", "")
    if lang == "en":
        if plain in _HOTLINES and not _EN_UNITS_RE.match(after):
            return _digits(plain, "en")
        return raw  # English synthesis reads plain numbers well
    gap = len(after) - len(after.lstrip(" "))
    counter = _COUNTER_RE.match(after[gap:]) if gap <= 1 else None
    big = _BIG_UNIT_RE.match(after)
    if plain in _HOTLINES and (counter is None or counter.group(0) == "번") and not big:
        return _digits(plain, "ko")
    prev = before[-1:] if before else ""
    if prev.isalpha() and prev not in _QUANTITY_PREFIXES and counter is None and not big:
        return _digits(plain, "ko")  # part of a name: "정부24" → "정부이사"
    if plain.startswith("0") and len(plain) > 1 and "." not in plain:
        return _digits(plain, "ko")  # an identifier, not a quantity ("010")
    if big and "." not in plain:
        value = int(plain) * _BIG_UNIT_VALUES[big.group(1)]
        # The unit itself stays in the text; say the number before it ("5만" → "오만").
        words = sino_korean(value)
        return words[: -len(big.group(1))] if words.endswith(big.group(1)) else words
    if counter is None:
        return _decimal_words(raw, "ko")
    name = counter.group(0)
    if "." not in plain:
        number = int(plain)
        if name == "월" and 1 <= number <= 12:
            return _ko_month(number)[:-1]
        if name == "년" and 1000 <= number:
            return sino_korean(number)  # a year: "이천이십오년"
        if name in _NATIVE_COUNTERS:
            native = native_korean(number)
            if native is not None:
                return native + " "
    return _decimal_words(raw, "ko") + " "


def _join_sentence(text: str, sentence: str) -> str:
    text = text.rstrip()
    if not text:
        return sentence
    if not text.endswith(_END_PUNCT):
        text += "."
    return f"{text} {sentence}"


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = re.sub(r"\s+([,.?!:;)\]])", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r",\s*,+", ",", text)
    text = re.sub(r"([.?!])\s*[.,]+", r"\1", text)
    text = re.sub(r"^[\s,.;:]+", "", text)
    return _SPACES.sub(" ", text).strip()
