"""How a reply becomes SMS: encoding, segment counts, and pages that fit a budget.

The facts are 3GPP TS 23.038 / 23.040. A text goes as GSM-7 when every character is in
the GSM 03.38 default alphabet or its extension table (an extension character takes two
septets: the escape and the character); otherwise it goes as UCS-2, counted in UTF-16
code units, so a character outside the BMP (most emoji) takes two. One SMS holds 160
septets or 70 units. A concatenated message spends room on its header, leaving 153
septets or 67 units per segment, and an escape pair or a surrogate pair is never split
between segments. Korean forces UCS-2, even a single Hangul syllable in English text.

Everything here is pure: no I/O, no logging.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

import gsm0338

Encoding = Literal["GSM-7", "UCS-2"]

_ESCAPE: Final = 0x1B

# (one SMS, each segment of a concatenated SMS), in septets or UTF-16 units.
_LIMITS: Final[Mapping[Encoding, tuple[int, int]]] = MappingProxyType(
    {"GSM-7": (160, 153), "UCS-2": (70, 67)}
)

# A message is cut at a paragraph or sentence end only if that keeps at least this
# share of what would fit; cutting earlier would cost the citizen extra SMS.
_MIN_FILL: Final = 0.5

# Where a message may end (just after the match), best first: the end of a paragraph,
# then the end of a sentence or a line. ". " also covers Korean "다. " and "요. ".
_BREAKS: Final = (
    re.compile(r"\S(?=[^\S\n]*\n[^\S\n]*\n)"),
    re.compile(r"[.?!][\"'”’)\]]*(?=\s)|\S(?=[^\S\n]*\n)"),
)


def _gsm_septets() -> Mapping[str, int]:
    """Septets per character, read from the gsm0338 codec's tables (not copied by hand)."""
    codec = gsm0338.Codec()
    septets: dict[str, int] = {}
    for code in range(0x80):
        if code == _ESCAPE:  # the escape itself is not a character of the alphabet
            continue
        septets[codec.decode(bytes([code]))[0]] = 1
        try:
            extension = codec.decode(bytes([_ESCAPE, code]))[0]
        except UnicodeDecodeError:
            continue
        septets[extension] = 2
    return MappingProxyType(septets)


_GSM_SEPTETS: Final = _gsm_septets()


def encoding_of(text: str) -> Encoding:
    """The encoding an SMS of ``text`` is sent in: GSM-7 if the alphabet allows, else UCS-2."""
    return "GSM-7" if all(char in _GSM_SEPTETS for char in text) else "UCS-2"


def _costs(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [_GSM_SEPTETS[char] for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def segment_count(text: str) -> int:
    """How many SMS segments ``text`` takes (0 for an empty text).

    Concatenated segments are filled in order without splitting an escape pair or a
    surrogate pair, so a pair that would straddle a boundary moves to the next segment.
    """
    if not text:
        return 0
    encoding = encoding_of(text)
    single, per_segment = _LIMITS[encoding]
    costs = _costs(text, encoding)
    if sum(costs) <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:
            segments, used = segments + 1, 0
        used += cost
    return segments


@dataclass(frozen=True)
class SmsBudget:
    """How much one reply may send.

    One outbound SMS is at most ``segments_per_message`` segments (concatenated); one
    page of a reply is at most ``messages_per_page`` SMS. The rest waits until the
    citizen asks for more.
    """

    segments_per_message: int = 2
    messages_per_page: int = 2

    def __post_init__(self) -> None:
        if self.segments_per_message < 1 or self.messages_per_page < 1:
            raise ValueError(
                "an SMS budget needs at least 1 segment per message and 1 message per page, "
                f"got {self.segments_per_message} and {self.messages_per_page}"
            )


def _check_hint(hint: str, budget: SmsBudget) -> None:
    if not hint:
        raise ValueError("more_hint is empty; a citizen must be told how to get the rest")
    # The hint must leave room for at least one character of any text: the widest GSM-7
    # character (an escape pair) and the widest UCS-2 one (a surrogate pair).
    for widest in ("€", "\U0001f600"):
        if segment_count(f"{widest}\n{hint}") > budget.segments_per_message:
            raise ValueError(
                f"more_hint {hint!r} leaves no room for text in an SMS of "
                f"{budget.segments_per_message} segment(s)"
            )


def _furthest_fit(text: str, start: int, segments: int, suffix: str) -> int:
    """The largest end such that ``text[start:end]`` (right-stripped) + suffix fits."""
    # Every character takes at least one septet or unit, which bounds the search.
    low, high = start + 1, min(len(text), start + 160 * segments)
    while low < high:
        middle = (low + high + 1) // 2
        if segment_count(text[start:middle].rstrip() + suffix) <= segments:
            low = middle
        else:
            high = middle - 1
    return low


def _choose_cut(text: str, start: int, end: int) -> int:
    """Where a message starting at ``start`` that could run to ``end`` should stop."""
    floor = start + (end - start) * _MIN_FILL
    for pattern in _BREAKS:
        best = None
        # The lookaheads may need to see past ``end``, so search on and stop there.
        for match in pattern.finditer(text, start):
            if match.end() > end:
                break
            best = match.end()
        if best is not None and best >= floor:
            return best
    for cut in range(end, start, -1):
        if text[cut].isspace():
            return cut
    return end  # one word longer than a message: cut inside it


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def paginate(text: str, budget: SmsBudget, more_hint: str) -> list[list[str]]:
    """Split a reply into pages of SMS, each SMS within the budget in its own encoding.

    Messages end preferably at a paragraph break, then a sentence or line end, then a
    space, and only as a last resort inside a word (never inside a surrogate pair).
    Whitespace at the edges of messages is dropped and no message is empty. Every page
    but the last ends with ``more_hint`` as the final line of its last message, and that
    message still fits (a Korean hint makes an English message UCS-2).

    Raises ValueError if ``more_hint`` is blank or leaves no room for text in one message.
    An empty or blank text gives no pages.
    """
    hint = more_hint.strip()
    _check_hint(hint, budget)
    segments = budget.segments_per_message
    text = text.strip()
    pages: list[list[str]] = []
    position = 0
    while position < len(text):
        page: list[str] = []
        for index in range(budget.messages_per_page):
            end = _furthest_fit(text, position, segments, "")
            if end == len(text):
                page.append(text[position:])
                position = end
                break
            last = index == budget.messages_per_page - 1
            if last:
                end = _furthest_fit(text, position, segments, f"\n{hint}")
            cut = _choose_cut(text, position, end)
            body = text[position:cut].rstrip()
            page.append(f"{body}\n{hint}" if last else body)
            position = _skip_space(text, cut)
        pages.append(page)
    return pages
