"""Foreign residents' languages (assistant/foreign.py): what is detected, what is not,
and the texts each language gets.

The sentences are what a foreign resident might write to a civil-service line, written
for these tests in each language; the short ones are greetings and thanks, which are
exactly what must not be guessed at when the script does not settle it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.config import Settings
from assistant.foreign import (
    chosen_language,
    foreign_choices,
    foreign_text,
    foreign_texts,
    person_choice,
)
from assistant.foreign_detect import FOREIGN_LANGUAGES, detect_foreign
from assistant.messages import OutgoingMessage
from assistant.texts import say
from channels.sms.segments import SmsBudget, paginate, segment_count

SENTENCES: dict[str, list[str]] = {
    "zh": [
        "我需要办理外国人登录证",
        "请问在哪里可以领取居住证明？",
        "我想知道怎么申请儿童补贴",
        "你好",  # two Han characters settle it
        "谢谢",
    ],
    "vi": [
        "Tôi cần giấy chứng nhận cư trú",
        "Làm thế nào để đăng ký tạm trú?",
        "Con tôi mới sinh, tôi phải làm giấy tờ gì?",
        "cảm ơn",  # ả and ơ: only Vietnamese writes them
    ],
    "ja": [
        "住民票が必要です",
        "外国人登録はどこでできますか",
        "こんにちは",
        "ありがとう",
    ],
    "th": [
        "ฉันต้องการใบรับรองถิ่นที่อยู่",
        "สวัสดี",
        "ขอบคุณครับ",
    ],
    "ru": [
        "Мне нужна справка о регистрации",
        "Как получить пособие на ребёнка?",
        "Я переехал и хочу сообщить новый адрес",
    ],
    "mn": [
        "Надад оршин суугаа газрын лавлагаа хэрэгтэй байна",
        "Сайн байна уу",
        "Хүүхдийн мөнгө яаж авах вэ",
    ],
    "uz": [
        "Menga yashash joyi haqida maʼlumotnoma kerak",
        "Assalomu alaykum",
        "Bolalar uchun nafaqani qanday olsam boʻladi?",
        "Менга маълумотнома керак",
    ],
    "tl": [
        "Kailangan ko ng sertipiko ng paninirahan",
        "Magandang araw po",
        "Paano ako makakakuha ng tulong para sa aking anak?",
    ],
    "ne": [
        "मलाई बसोबास प्रमाणपत्र चाहिन्छ",
        "नमस्ते",
        "मेरो बच्चाको लागि भत्ता कसरी पाउने?",
    ],
}

# One or two words, digits, keywords and Korean or English of any length: none of
# them may turn a conversation to another language.
NOT_FOREIGN = [
    "네",
    "ok",
    "OK",
    "1",
    "2",
    "hi",
    "yes",
    "no",
    "thanks",
    "STOP",
    "HELP",
    "MORE",
    "help me please",
    "English please",
    "한국어로",
    "영어로 된 등본이 필요해요",
    "등본 please",
    "passport",
    "спасибо",  # Russian or Mongolian or Uzbek: too short to tell
    "salamat po",  # Filipino, or Malay/Indonesian
    "rahmat",  # Uzbek, or Malay
    "Xin chào",  # the à is French too
    "",
    "   ",
    "😀👍",
]


def _held_out_utterances() -> dict[str, list[str]]:
    """Every utterance of the service evaluation and test sets (nlu/tests/), by language:
    citizens' Korean and foreign residents' simple English, written by others."""
    root = Path(__file__).resolve().parents[2]
    found: dict[str, list[str]] = {"ko": [], "en": []}
    for name in ("service_eval.yml", "service_test.yml"):
        data = yaml.safe_load((root / "nlu" / "tests" / name).read_text("utf-8"))
        for example in data["examples"]:
            found[example["language"]].append(example["text"])
    return found


@pytest.mark.parametrize(
    ("language", "text"), [(lang, text) for lang, texts in SENTENCES.items() for text in texts]
)
def test_each_language_is_recognised(language: str, text: str) -> None:
    assert detect_foreign(text) == language


@pytest.mark.parametrize("text", NOT_FOREIGN)
def test_short_korean_and_english_messages_are_not_foreign(text: str) -> None:
    assert detect_foreign(text) is None


def test_no_held_out_korean_or_english_utterance_is_taken_for_a_foreign_one() -> None:
    utterances = _held_out_utterances()
    assert len(utterances["en"]) >= 300 and len(utterances["ko"]) >= 1000
    misread = {
        text: detect_foreign(text)
        for texts in utterances.values()
        for text in texts
        if detect_foreign(text)
    }
    assert misread == {}


def test_hindi_is_not_answered_in_nepali_when_the_detector_is_sure() -> None:
    assert detect_foreign("मुझे अपने बच्चे के लिए भत्ता चाहिए, कृपया मदद करें") is None


def test_every_language_has_its_texts_naming_both_helplines() -> None:
    texts = foreign_texts()
    assert set(texts) == set(FOREIGN_LANGUAGES)
    for language, entry in texts.items():
        assert {"name", "help", "person", "waiting"} <= set(entry), language
        assert "1345" in entry["help"] and "1577-1366" in entry["help"], language
        assert "1345" in entry["waiting"], language
        # The Korean names of the certificates that exist in English, to show at a desk.
        assert "주민등록표 등본" in entry["help"] and "가족관계증명서" in entry["help"]
        # Its own language, not Korean or English, is what the citizen reads.
        assert detect_foreign(entry["waiting"]) == language, language


def test_the_help_and_its_choices_fit_one_sms_page() -> None:
    settings = Settings(_env_file=None)
    budget = SmsBudget(settings.sms_segments_per_message, settings.sms_messages_per_page)
    for language in FOREIGN_LANGUAGES:
        answer = OutgoingMessage(foreign_text(language, "help"), foreign_choices(language))
        pages = paginate(answer.as_plain_text(), budget, say("sms_more_hint", "ko"))
        assert len(pages) == 1, (language, [segment_count(m) for m in pages[0]])


def test_choices_are_a_person_who_speaks_it_korean_and_english() -> None:
    person, korean, english = foreign_choices("vi")
    assert person.title == "Nhân viên nói tiếng Việt"
    assert person_choice(person.payload) == "vi"
    assert (korean.title, chosen_language(korean.payload)) == ("한국어", "ko")
    assert (english.title, chosen_language(english.payload)) == ("English", "en")
    assert person_choice("sotong:foreign:person:fr") is None
    assert chosen_language("sotong:foreign:language:vi") is None
    assert person_choice(None) is None and chosen_language("/greet") is None
