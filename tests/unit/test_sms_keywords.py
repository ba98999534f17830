"""SMS keywords in both languages: only a message that is exactly a keyword counts."""

from __future__ import annotations

import pytest

from assistant.language import keyword_form as normalise
from channels.sms.keywords import Keyword, match_keyword


@pytest.mark.parametrize(
    ("body", "keyword", "language"),
    [
        ("STOP", Keyword.STOP, "en"),
        ("stop", Keyword.STOP, "en"),
        ("  Stop.  ", Keyword.STOP, "en"),
        ("ＳＴＯＰ", Keyword.STOP, "en"),  # full-width forms from a Korean keyboard
        ("StopAll", Keyword.STOP, "en"),
        ("unsubscribe!", Keyword.STOP, "en"),
        ("cancel", Keyword.STOP, "en"),
        ("END", Keyword.STOP, "en"),
        ("quit", Keyword.STOP, "en"),
        ("중지", Keyword.STOP, "ko"),
        ("중지!!", Keyword.STOP, "ko"),
        ("[중지]", Keyword.STOP, "ko"),
        ("수신거부", Keyword.STOP, "ko"),
        ("수신 거부", Keyword.STOP, "ko"),
        ("START", Keyword.START, "en"),
        ("unstop", Keyword.START, "en"),
        ("시작", Keyword.START, "ko"),
        ("수신동의", Keyword.START, "ko"),
        ("HELP", Keyword.HELP, "en"),
        ("help?", Keyword.HELP, "en"),
        ("info", Keyword.HELP, "en"),
        ("도움말", Keyword.HELP, "ko"),
        ("도움", Keyword.HELP, "ko"),
        ("MORE", Keyword.MORE, "en"),
        ("more", Keyword.MORE, "en"),
        ("더보기", Keyword.MORE, "ko"),
        ("더 보기", Keyword.MORE, "ko"),
        ("다음", Keyword.MORE, "ko"),
        ("\u200b다음\u200b", Keyword.MORE, "ko"),  # zero-width spaces
        ("저장", Keyword.SAVE, "ko"),
        ("내 정보 저장", Keyword.SAVE, "ko"),
        ("save", Keyword.SAVE, "en"),
        ("삭제", Keyword.FORGET, "ko"),
        ("Forget me", Keyword.FORGET, "en"),
    ],
)
def test_keywords_in_both_languages(body: str, keyword: Keyword, language: str) -> None:
    match = match_keyword(body)
    assert match is not None
    assert (match.keyword, match.language) == (keyword, language)


@pytest.mark.parametrize(
    "body",
    [
        "등본 발급 중지하고 싶어요",
        "please stop the reminders for my mother",
        "stop it",
        "시작하려면 어떻게 해요",
        "도움이 필요해요",
        "yes",  # an ordinary answer unless the number opted out
        "",
        "중지중지",
    ],
)
def test_keywords_only_alone(body: str) -> None:
    assert match_keyword(body) is None


def test_stop_this_is_not_an_opt_out() -> None:
    # "그만" ends a question in a conversation; it must not silence the number.
    assert match_keyword("그만") is None


def test_normalise_folds_width_case_space_and_punctuation() -> None:
    assert normalise(" Ｓｔｏｐ ! ") == "stop"
    assert normalise("수신 거부.") == "수신거부"


def test_twilio_answers_its_english_words_only() -> None:
    stop = match_keyword("STOP")
    assert stop is not None and stop.provider_answered
    korean = match_keyword("중지")
    assert korean is not None and not korean.provider_answered
    help_ = match_keyword("HELP")
    assert help_ is not None and not help_.provider_answered  # we answer HELP ourselves
    unfiltered = match_keyword("STOP", provider_keywords=False)
    assert unfiltered is not None and not unfiltered.provider_answered


def test_twilio_opt_out_type_wins() -> None:
    match = match_keyword("그만요", opt_out_type="STOP")  # the operator's own keyword
    assert match is not None and match.keyword is Keyword.STOP and match.provider_answered
    help_ = match_keyword("도움말", opt_out_type="help")
    assert help_ is not None and help_.keyword is Keyword.HELP and help_.provider_answered


def test_yes_opts_in_only_an_opted_out_number() -> None:
    assert match_keyword("Yes") is None
    match = match_keyword("Yes", opted_out=True)
    assert match is not None and match.keyword is Keyword.START and match.provider_answered
