"""Korean words reach the featurizers (nlu/components/hangul_whitespace_tokenizer.py).

Rasa 3.6's WhitespaceTokenizer takes every Hangul word for an emoji and drops it; the
tokenizer in the pipeline keeps them, with their spans, and still drops emoji."""

from __future__ import annotations

import json

import pytest

from tests.rasa_python import run_in_rasa

pytestmark = pytest.mark.rasa

MIXED = "15년 주민등록초본은 어디서 떼요?"
KOREAN = "등본 어디서 떼요"
WITH_EMOJI = "기초연금 신청 👍🏽 🇰🇷 감사합니다 😀"


@pytest.fixture(scope="module")
def tokens() -> dict[str, dict[str, list[list]]]:
    result = run_in_rasa("hangul_tokenizer_check.py", MIXED, KOREAN, WITH_EMOJI)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def words(found: list[list]) -> list[str]:
    return [text for text, _, _ in found]


def test_rasa_s_own_tokenizer_loses_korean_words(tokens: dict) -> None:
    # Why the pipeline has its own tokenizer: with a number in the message only the
    # number is left; with none, the whole message is one token.
    rasa = tokens["WhitespaceTokenizer"]
    assert words(rasa[MIXED]) == ["15년"]
    assert words(rasa[KOREAN]) == [KOREAN]


def test_every_korean_word_is_a_token_with_its_place(tokens: dict) -> None:
    ours = tokens["HangulWhitespaceTokenizer"]
    assert words(ours[MIXED]) == ["15년", "주민등록초본은", "어디서", "떼요"]
    assert words(ours[KOREAN]) == ["등본", "어디서", "떼요"]
    for text, start, end in ours[MIXED]:
        assert MIXED[start:end] == text


def test_emoji_are_still_dropped(tokens: dict) -> None:
    assert words(tokens["HangulWhitespaceTokenizer"][WITH_EMOJI]) == [
        "기초연금",
        "신청",
        "감사합니다",
    ]
