"""``for_speech``: replies rewritten the way a person says them on the phone."""

from __future__ import annotations

import re

import pytest

from assistant.catalog import load_catalog
from voice.spoken_forms import URL_NOTICE, english_number, for_speech, native_korean, sino_korean

KO_NOTICE = URL_NOTICE["ko"]
EN_NOTICE = URL_NOTICE["en"]


# ---- number words ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "영"),
        (1, "일"),
        (10, "십"),
        (11, "십일"),
        (20, "이십"),
        (65, "육십오"),
        (100, "백"),
        (110, "백십"),
        (1000, "천"),
        (1355, "천삼백오십오"),
        (2026, "이천이십육"),
        (10000, "만"),
        (11000, "만 천"),
        (30000, "삼만"),
        (300000, "삼십만"),
        (1234500, "백이십삼만 사천오백"),
        (100000000, "일억"),
        (120000000, "일억 이천만"),
        (100010000, "일억 만"),
    ],
)
def test_sino_korean(number: int, words: str) -> None:
    assert sino_korean(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [(1, "한"), (2, "두"), (3, "세"), (4, "네"), (10, "열"), (12, "열두"), (20, "스무"),
     (21, "스물한"), (24, "스물네"), (99, "아흔아홉")],
)  # fmt: skip
def test_native_korean(number: int, words: str) -> None:
    assert native_korean(number) == words


def test_native_korean_only_up_to_ninety_nine() -> None:
    assert native_korean(0) is None and native_korean(100) is None


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (42, "forty-two"),
        (100, "one hundred"),
        (30000, "thirty thousand"),
        (1234500, "one million two hundred thirty-four thousand five hundred"),
        (2_000_000_000, "two billion"),
    ],
)
def test_english_number(number: int, words: str) -> None:
    assert english_number(number) == words


# ---- Korean ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # phone numbers: digit by digit, a pause between groups, zero is 공
        ("02-2100-1234", "공이, 이일공공, 일이삼사"),
        ("02-2100-1234로 전화하세요.", "공이, 이일공공, 일이삼사로 전화하세요."),
        ("010-1234-5678", "공일공, 일이삼사, 오육칠팔"),
        ("031.123.4567", "공삼일, 일이삼, 사오육칠"),
        ("(02) 2100-1234", "공이, 이일공공, 일이삼사"),
        ("+82-2-3210-0404로", "플러스 팔이, 이, 삼이일공, 공사공사로"),
        ("1588-1234", "일오팔팔, 일이삼사"),
        ("문의는 1577-1000입니다.", "문의는 일오칠칠, 일공공공입니다."),
        # hotlines, also before particles and 번
        ("국번 없이 129나 1355입니다.", "국번 없이 일이구나 일삼오오입니다."),
        ("110에 전화하세요.", "일일공에 전화하세요."),
        ("107 손말이음센터", "일공칠 손말이음센터"),
        ("112와 119", "일일이와 일일구"),
        ("110번으로", "일일공번으로"),
        # dates
        ("2026-11-23", "이천이십육년 십일월 이십삼일"),
        ("2026.11.23", "이천이십육년 십일월 이십삼일"),
        ("2026/11/23", "이천이십육년 십일월 이십삼일"),
        ("2026. 11. 23.", "이천이십육년 십일월 이십삼일."),
        ("11월 23일", "십일월 이십삼일"),
        ("2026년 11월 23일까지", "이천이십육년 십일월 이십삼일까지"),
        ("6월 10일", "유월 십일"),
        ("10월 1일", "시월 일일"),
        ("11월 20일(금)에", "십일월 이십일 금요일에"),
        ("2026-11-20(금)", "이천이십육년 십일월 이십일 금요일"),
        ("20일(화)", "이십일 화요일"),
        ("11/20", "십일월 이십일"),
        ("2026-13-45", "이천이십육-십삼-사십오"),  # not a date: numbers as they are
        # amounts
        ("30,000원", "삼만 원"),
        ("1,234,500원", "백이십삼만 사천오백 원"),
        ("1,000원입니다.", "천 원입니다."),
        ("500원", "오백 원"),
        ("30000원", "삼만 원"),
        ("5만 원", "오만 원"),
        ("30만원", "삼십만 원"),
        ("1억 2천만 원", "일억 이천만 원"),
        ("1.5만 원", "만 오천 원"),
        ("₩30,000", "삼만 원"),
        ("수수료 5,000원을", "수수료 오천 원을"),
        # times
        ("09:00", "아홉 시"),
        ("9:30", "아홉 시 삼십 분"),
        ("12:00", "열두 시"),
        ("13:00", "오후 한 시"),
        ("18:30", "오후 여섯 시 삼십 분"),
        ("00:00", "밤 열두 시"),
        ("09:00~18:00", "아홉 시에서 오후 여섯 시"),
        ("오전 9시부터 오후 6시까지", "오전 아홉 시부터 오후 여섯 시까지"),
        ("10시부터 1시까지", "열 시부터 한 시까지"),
        # percentages
        ("5%", "오 퍼센트"),
        ("12.5%", "십이 점 오 퍼센트"),
        ("50 %를", "오십 퍼센트를"),
        # counters: native or Sino-Korean as the counter wants
        ("65세 이상", "육십오 세 이상"),
        ("만 65세", "만 육십오 세"),
        ("0세와 1세", "영 세와 일 세"),
        ("24시간", "스물네 시간"),
        ("30분", "삼십 분"),
        ("6개월", "육 개월"),
        ("14일 안에", "십사 일 안에"),
        ("사진 1장과 2장", "사진 한 장과 두 장"),
        ("20명", "스무 명"),
        ("100명", "백 명"),
        ("3개", "세 개"),
        ("2년", "이 년"),
        ("2025년에는", "이천이십오년에는"),
        ("1종 면허", "일 종 면허"),
        ("제1종", "제일 종"),
        ("3급입니다.", "삼 급입니다."),
        ("2~3주", "이에서 삼 주"),
        ("5만 명", "오만 명"),
        # numbers as parts of names, decimals, identifiers
        ("정부24에서", "정부이사에서"),
        ("자동차365", "자동차삼육오"),
        ("3.5배", "삼 점 오 배"),
        ("65", "육십오"),
        ("1:1 상담", "일 대 일 상담"),
        ("1/2 감면", "이분의 일 감면"),
    ],
)
def test_korean(text: str, spoken: str) -> None:
    assert for_speech(text, "ko") == spoken


def test_korean_numbered_options_and_bullets() -> None:
    text = "어느 것을 원하세요?\n1. 기초연금\n2. 장애인연금\n3) 상담원"
    assert for_speech(text, "ko") == (
        "어느 것을 원하세요? 일 번, 기초연금. 이 번, 장애인연금. 삼 번, 상담원"
    )
    assert for_speech("① 신분증\n② 통장 사본", "ko") == "일 번, 신분증. 이 번, 통장 사본"
    bullets = "준비물:\n- 신분증\n• 통장 사본\n* 신청서\n※ 무료입니다."
    assert for_speech(bullets, "ko") == "준비물: 신분증. 통장 사본. 신청서. 무료입니다."


def test_markdown_and_emoji_go() -> None:
    assert for_speech("**중요** 신분증을 가져오세요 😀👍🏽", "ko") == "중요 신분증을 가져오세요"
    assert (
        for_speech("# 기초연금\n_안내_ `129` 입니다 ✅", "ko") == "기초연금. _안내_ 일이구 입니다"
    )
    assert for_speech("> 인용\n---\n끝 ❤️", "ko") == "인용. 끝"
    assert for_speech("*기울임* 과 ~~취소~~", "ko") == "기울임 과 취소"
    assert for_speech("출생·사망 신고", "ko") == "출생, 사망 신고"
    assert for_speech("신분증/여권", "ko") == "신분증, 여권"
    assert for_speech("신청 → 심사 → 결과", "ko") == "신청, 심사, 결과"
    assert for_speech("감사합니다~", "ko") == "감사합니다"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("https://www.gov.kr 에서 신청하세요.", f"누리집 에서 신청하세요. {KO_NOTICE}"),
        ("www.gov.kr에서 신청하세요.", f"누리집에서 신청하세요. {KO_NOTICE}"),
        ("복지로(www.bokjiro.go.kr)에서 신청", f"복지로에서 신청. {KO_NOTICE}"),
        (
            "[복지로](https://www.bokjiro.go.kr)에서 신청하세요.",
            f"복지로에서 신청하세요. {KO_NOTICE}",
        ),
        (
            "bokjiro.go.kr 누리집과 https://www.gov.kr/portal?id=1",
            f"누리집 누리집과 누리집. {KO_NOTICE}",
        ),
        ("주소: https://www.gov.kr", f"주소: 누리집. {KO_NOTICE}"),
    ],
)
def test_korean_urls_are_not_read(text: str, spoken: str) -> None:
    assert for_speech(text, "ko") == spoken


def test_no_url_no_notice_and_plain_text_untouched() -> None:
    plain = "주민센터에 가서 신청하세요. 무료입니다."
    assert for_speech(plain, "ko") == plain
    assert for_speech("", "ko") == ""
    assert for_speech("   \n  ", "en") == ""
    assert for_speech("Gov24 is free.", "en") == "Gov24 is free."


# ---- English ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Call 02-2100-1234.", "Call zero two, two one zero zero, one two three four."),
        ("Call 129 or 1355.", "Call one two nine or one three five five."),
        ("The 107 relay centre", "The one zero seven relay centre"),
        ("1588-1234", "one five eight eight, one two three four"),
        ("+82-2-3210-0404", "plus eight two, two, three two one zero, zero four zero four"),
        ("2026-11-23", "23 November 2026"),
        ("by 2026.11.23.", "by 23 November 2026."),
        ("on 11/20", "on 20 November"),
        ("30,000 won", "thirty thousand won"),
        ("KRW 1,234,500", "one million two hundred thirty-four thousand five hundred won"),
        ("₩5,000", "five thousand won"),
        ("a 5,000 won fee", "a five thousand won fee"),
        ("30,000원", "thirty thousand won"),
        ("09:00", "nine a.m."),
        ("14:30", "two thirty p.m."),
        ("9:05", "nine oh five a.m."),
        ("12:00", "twelve noon"),
        ("00:00", "midnight"),
        ("09:00~18:00", "nine a.m. to six p.m."),
        ("5%", "five percent"),
        ("12.5 %", "twelve point five percent"),
        ("2~3 weeks", "2 to 3 weeks"),
        ("It takes 14 days.", "It takes 14 days."),
        ("people aged 65 or over", "people aged 65 or over"),
        ("within 120 days", "within 120 days"),
    ],
)
def test_english(text: str, spoken: str) -> None:
    assert for_speech(text, "en") == spoken


def test_english_lists_markup_and_urls() -> None:
    text = "Which one?\n1. Basic pension\n2. Disability pension"
    assert (
        for_speech(text, "en") == "Which one? Number 1, Basic pension. Number 2, Disability pension"
    )
    assert for_speech("- ID card\n- Bankbook copy", "en") == "ID card. Bankbook copy"
    assert for_speech("**Note**: bring ID 😀", "en") == "Note: bring ID"
    assert for_speech("Visit https://www.gov.kr/portal for more.", "en") == (
        f"Visit the website for more. {EN_NOTICE}"
    )
    assert for_speech("Apply at bokjiro.go.kr.", "en") == f"Apply at the website. {EN_NOTICE}"
    assert for_speech("Bokjiro (www.bokjiro.go.kr)", "en") == f"Bokjiro. {EN_NOTICE}"


def test_other_languages_are_spoken_as_english() -> None:
    assert for_speech("Call 129.", "fr") == "Call one two nine."


def test_email_addresses_are_not_mistaken_for_web_addresses() -> None:
    assert for_speech("help@example.com", "en") == "help@example.com"


# ---- the real texts ----------------------------------------------------------------------
def _catalog_texts() -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for service in load_catalog():
        fields = (
            service.summary,
            service.short,
            service.fee,
            service.how_to_apply,
            service.processing_time,
            service.who_can_apply,
            service.accessibility,
        )
        for field in fields:
            if field is not None:
                texts += [("ko", field.ko), ("en", field.en)]
        # The cost as the phone says it: the fee, then each amount with its year.
        texts += [("ko", service.cost("ko")), ("en", service.cost("en"))]
    return texts


def test_every_catalog_text_can_be_spoken() -> None:
    texts = _catalog_texts()
    assert len(texts) > 300
    for language, text in texts:
        spoken = for_speech(text, language)
        assert spoken, text
        assert "http" not in spoken and "www." not in spoken and "*" not in spoken
        if language == "ko":
            # Korean speech never meets a digit: every number is in words.
            assert not re.search(r"\d", spoken), (text, spoken)
        else:
            assert not re.search(r"\d\s*(?:%|won\b)", spoken), (text, spoken)
            # Hotlines are said digit by digit.
            assert not re.search(r"\b(?:107|110|112|119|129|182|1355)\b", spoken), (text, spoken)


def test_catalog_examples_read_naturally() -> None:
    written = "기초연금은 65세 이상인 분이 받습니다. 문의는 129나 1355입니다."
    assert for_speech(written, "ko") == (
        "기초연금은 육십오 세 이상인 분이 받습니다. 문의는 일이구나 일삼오오입니다."
    )
    written = "사진 1장과 수수료 5,000원을 가지고 오세요. 보통 2~3주 걸립니다."
    assert for_speech(written, "ko") == (
        "사진 한 장과 수수료 오천 원을 가지고 오세요. 보통 이에서 삼 주 걸립니다."
    )
