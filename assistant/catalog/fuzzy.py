"""Catalog names found in a message despite spacing errors and small typos.

Rasa's lookup table matches a service's names exactly. Citizens write "차 명의변경" for
"차 명의 변경", "주민등록쯩" for "주민등록증"; speech recognition drops or adds spaces.
Here names and message are compared without spaces, Korean decomposed into jamo
(Unicode NFD), so one wrong consonant or vowel costs one letter of about ten, not a
whole syllable. Short names are left to the exact lookup: "등본" would otherwise be
found in "… 등 본인이 …". English names are left to the exact lookup too: without
spaces, English words run into each other ("the people" holds "epeople").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

# Similarity (0–100, rapidfuzz's indel ratio over the best-aligned part of the message).
# One wrong jamo in a name of four syllables scores ~91, two score ~83.
MIN_SCORE = 90.0
MIN_HANGUL_SYLLABLES = 3

_NOT_A_LETTER = re.compile(r"[\W_]+", re.UNICODE)
_HANGUL_SYLLABLE = re.compile(r"[가-힣]")


def normalise(text: str) -> str:
    """Lower case, no spaces or punctuation, Hangul syllables split into jamo."""
    return unicodedata.normalize("NFD", _NOT_A_LETTER.sub("", text.casefold()))


@dataclass(frozen=True)
class _Name:
    service_id: str
    key: str  # normalised


@dataclass(frozen=True)
class NameMatch:
    """A service whose name was found, how closely, and how long that name is."""

    service_id: str
    score: float
    length: int


class NameMatcher:
    """Finds the one service a message names, tolerating spacing and small typos."""

    def __init__(self, names: Iterable[tuple[str, str]], min_score: float = MIN_SCORE) -> None:
        """``names`` are (service id, a name citizens use) pairs."""
        self._min_score = min_score
        self._names = [
            _Name(service_id, normalise(name))
            for service_id, name in dict.fromkeys(names)
            if _long_enough(name)  # Korean names of three syllables or more
        ]

    def matches(self, text: str) -> list[NameMatch]:
        """Every service with a name close enough to part of ``text``, best first."""
        message = normalise(text)
        best: dict[str, NameMatch] = {}
        for name in self._names:
            if len(name.key) > len(message):
                continue  # a message shorter than a name cannot contain it
            score = fuzz.partial_ratio(name.key, message, score_cutoff=self._min_score)
            if not score:
                continue
            found = NameMatch(name.service_id, score, len(name.key))
            current = best.get(name.service_id)
            if current is None or (found.score, found.length) > (current.score, current.length):
                best[name.service_id] = found
        return sorted(best.values(), key=lambda m: (m.score, m.length), reverse=True)

    def best(self, text: str) -> str | None:
        """The service ``text`` names, or None when none does or two fit equally well."""
        found = self.matches(text)
        if not found:
            return None
        if len(found) > 1 and (found[1].score, found[1].length) == (
            found[0].score,
            found[0].length,
        ):
            return None
        return found[0].service_id


def _long_enough(name: str) -> bool:
    return len(_HANGUL_SYLLABLE.findall(name)) >= MIN_HANGUL_SYLLABLES
