"""Every response and catalog text is plain language; the lint catches long sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.plain_language import (
    Text,
    lint,
    lint_everything,
    lint_text,
    response_texts,
    sentences,
    sms_segments,
)


def test_everything_sotong_says_passes() -> None:
    findings = lint_everything()
    assert findings == [], "\n".join(map(str, findings))


def test_a_long_korean_sentence_fails() -> None:
    long_sentence = (
        "기초연금은 만 65세 이상이고 대한민국 국적을 가지고 국내에 거주하는 어르신 가운데 "
        "가구의 소득인정액이 선정기준액 이하인 분에게 지급되는 연금입니다."
    )
    findings = lint_text(Text("test.ko", long_sentence))
    assert len(findings) == 1 and "Korean sentence of" in findings[0].problem


def test_a_long_english_sentence_fails() -> None:
    long_sentence = (
        "The basic pension is paid every month to residents who are aged sixty-five or over "
        "and whose recognised household income falls below the annually announced threshold."
    )
    findings = lint_text(Text("test.en", long_sentence))
    assert len(findings) == 1 and "English sentence of" in findings[0].problem


def test_a_response_with_a_long_sentence_in_the_domain_fails(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text(
        'responses:\n  utter_x:\n    - text: "'
        + "이 문장은 쉬운 말 검사가 실제로 긴 문장을 찾아내는지 "
        + "확인하려고 일부러 아주 길게 늘여서 쓴 문장입니다."
        + '"\n',
        encoding="utf-8",
    )
    findings = lint(response_texts(domain))
    assert [f.source for f in findings] == ["domain/utter_x[0]"]


@pytest.mark.parametrize(
    ("sentence", "refused"),
    [
        ("To cancel, send CANCEL.", True),  # an opt-out from every text, not a cancel
        ("To cancel, reply STOP.", True),
        ("Reply YES or NO.", True),
        ("For details, text 'info'.", True),
        ("To cancel, send CANCEL REQUEST.", False),
        ("To stop, reply STOP.", False),
        ("To get them again, reply START.", False),
        ("For help, send HELP.", False),
    ],
)
def test_a_text_asking_for_a_carrier_word_in_another_meaning_fails(
    sentence: str, refused: bool
) -> None:
    findings = lint_text(Text("test.en", sentence))
    assert bool(findings) is refused, findings
    assert all("carriers reserve" in f.problem for f in findings)


def test_short_forms_must_fit_the_sms_budget() -> None:
    short = "짧은 문장입니다. " * 20
    findings = lint_text(Text("catalog/x.short.ko", short, max_segments=2))
    assert any("SMS segments" in f.problem for f in findings)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("가" * 70, 1),
        ("가" * 71, 2),
        ("가" * 134, 2),
        ("가" * 135, 3),
        ("Hello 안녕", 1),
        ("x" * 100 + "가", 2),  # one Hangul letter makes the whole message UCS-2
        ("{" * 80, 1),  # GSM-7 extended characters count twice
        ("{" * 81, 2),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_sentences_split_on_punctuation_and_lines() -> None:
    assert sentences("하나입니다. 둘입니다!\n셋") == ["하나입니다.", "둘입니다!", "셋"]
