"""The reminders offer: the word to send on SMS, the number to text elsewhere, and a
plain "not here" where this deployment has no SMS number (issue 20, item 4)."""

from __future__ import annotations

import pytest

from assistant.actions.offers import reminders_offer
from assistant.plain_language import CARRIER_WORDS


@pytest.mark.parametrize("language", ["ko", "en"])
def test_on_sms_the_word_to_send_and_no_number(language: str) -> None:
    text = reminders_offer(language, "sms", "+827012345678")  # type: ignore[arg-type]
    assert ("'알림'" if language == "ko" else "Reply REMINDERS") in text
    assert "070" not in text


@pytest.mark.parametrize("channel", ["webchat", "voice", None])
def test_elsewhere_the_number_to_text_as_people_write_it(channel: str | None) -> None:
    assert "070-1234-5678에 '알림'" in reminders_offer("ko", channel, "+827012345678")
    assert "text REMINDERS to 070-1234-5678" in reminders_offer("en", channel, "+827012345678")


def test_without_an_sms_number_it_says_so_and_sends_nobody_looking() -> None:
    assert "아직 문자를 보낼 수 없습니다" in reminders_offer("ko", "webchat", None)
    english = reminders_offer("en", "voice", None)
    assert "not set up here" in english and "text REMINDERS" not in english


def test_the_word_is_not_a_carrier_keyword() -> None:
    assert "REMINDERS" not in CARRIER_WORDS
