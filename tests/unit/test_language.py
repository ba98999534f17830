from __future__ import annotations

import pytest

from assistant.language import choose_language, explicit_switch, script_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("English please", "en"),
        ("Can you speak English?", "en"),
        ("switch to English", "en"),
        ("영어로 해주세요", "en"),
        ("영어로", "en"),
        ("한국어로", "ko"),
        ("한국말로 해 주세요", "ko"),
        ("Korean please", "ko"),
        ("우리말로 해주세요", "ko"),
        ("등본 떼려고요", None),
        ("I need to renew my passport and want to know if an English document is ok", None),
        ("영어로 말해 주세요", "en"),
        ("영어로 바꿔 주세요", "en"),
        ("영어요", "en"),
        ("영어 돼요?", "en"),
        ("영어 할 줄 아세요", "en"),
        ("영어로 좀 부탁해요", "en"),
        ("한국어 할 수 있어요?", "ko"),
        ("Let's speak Korean", "ko"),
        ("Do you speak Korean?", "ko"),
        ("in korean please", "ko"),
        # About something in a language, not a request to change (issue 20):
        ("영어로 된 등본이 필요해요", None),
        ("영어로 된 서류", None),
        ("영어 등본", None),
        ("영어 증명서 떼려면", None),
        ("한국어로 된 안내문", None),
        ("Korean driver's license", None),
        ("english resident registration copy", None),
        ("I need a Korean certificate", None),
    ],
)
def test_explicit_switch(text: str, expected: str | None) -> None:
    assert explicit_switch(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("등본", "ko"),
        ("등본 please", "ko"),  # mixed: Hangul wins, Korean first
        ("birth report", "en"),
        ("hi", "en"),
        ("1", None),
        ("?", None),
        ("😀", None),
    ],
)
def test_script_language(text: str, expected: str | None) -> None:
    assert script_language(text) == expected


def test_choose_language_keeps_current_when_undecided() -> None:
    assert choose_language("2", "en") == "en"
    assert choose_language("2", "ko") == "ko"
    assert choose_language("영어로 해주세요", "ko") == "en"  # explicit beats script
    assert choose_language("Korean please", "en") == "ko"


def test_a_request_for_an_english_document_keeps_a_korean_conversation() -> None:
    # Issue 20: this asked for the English certificate, and got the conversation
    # switched to English and the ordinary copy.
    assert choose_language("영어로 된 등본이 필요해요", "ko") == "ko"
    assert choose_language("Korean driver's license", "en") == "en"


@pytest.mark.parametrize("current", ["ko", "en"])
def test_a_foreign_resident_s_message_keeps_the_conversation_s_language(current: str) -> None:
    # Vietnamese and Filipino are Latin letters: before issue 20 they turned it English.
    for text in ("Tôi cần giấy chứng nhận cư trú", "Kailangan ko ng sertipiko ng paninirahan"):
        assert choose_language(text, current) == current  # type: ignore[arg-type]
    assert choose_language("English please", "ko") == "en"  # asking still switches
