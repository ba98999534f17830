"""SMS encoding, segment counts and paging (3GPP TS 23.038 / 23.040)."""

from __future__ import annotations

import pytest

from channels.sms.segments import SmsBudget, encoding_of, paginate, segment_count

KO_HINT = "더 보려면 '더보기'라고 답장하세요"
EN_HINT = "Reply MORE for the rest"
EMOJI = "\U0001f600"

KO_SENTENCES = (
    "전입신고는 이사한 날부터 14일 안에 해야 합니다. "
    "새로 사는 곳의 주민센터에 가시거나 정부24 누리집에서 신청하실 수 있어요. "
    "신분증을 꼭 가져오세요. 세대주가 아닌 분은 세대주의 확인이 필요합니다. "
    "궁금한 점은 110번으로 전화해 주세요."
)


def _step(number: int) -> str:
    """An English sentence of exactly 50 characters."""
    sentence = f"Step {number:02d}: bring your ID card to the centre by noon."
    assert len(sentence) == 50
    return sentence


def _check_pages(pages: list[list[str]], budget: SmsBudget, hint: str) -> None:
    """The invariants every paging must keep."""
    for number, page in enumerate(pages):
        assert 1 <= len(page) <= budget.messages_per_page
        for message in page:
            assert message and message == message.strip()
            assert segment_count(message) <= budget.segments_per_message
        last_page = number == len(pages) - 1
        assert page[-1].endswith(f"\n{hint}") is not last_page
        for message in page[:-1]:
            assert not message.endswith(hint)


def _words(pages: list[list[str]], hint: str) -> list[str]:
    """All words sent, in order, without the hints."""
    words: list[str] = []
    for number, page in enumerate(pages):
        for index, message in enumerate(page):
            if number < len(pages) - 1 and index == len(page) - 1:
                message = message.removesuffix(f"\n{hint}")
            words.extend(message.split())
    return words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "GSM-7"),
        ("Hello, world! 100% @home", "GSM-7"),
        ("{[€]}\\^~|\f", "GSM-7"),  # the extension table
        ("Café à l'école, Ørsted, Ñoño, Müller", "GSM-7"),
        ("ç", "UCS-2"),  # only capital Ç is in the default alphabet
        ("á", "UCS-2"),
        ("\x1b", "UCS-2"),  # the escape is not a character of the alphabet
        ("안녕하세요", "UCS-2"),
        ("Bring your 신분증 please", "UCS-2"),
        ("a" * 200 + "가", "UCS-2"),
        (EMOJI, "UCS-2"),
    ],
)
def test_encoding_of(text: str, expected: str) -> None:
    assert encoding_of(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a", 1),
        # GSM-7: 160 in one SMS, then 153 per segment
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        # extension characters take two septets
        ("a" * 158 + "€", 1),
        ("a" * 159 + "€", 2),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("a" * 158 + "\f", 1),
        ("a" * 159 + "\f", 2),
        # an escape pair straddling the 153 boundary moves to the next segment
        ("a" * 153 + "€" + "a" * 151, 2),
        ("a" * 152 + "€" + "a" * 152, 3),
        # UCS-2: 70 in one SMS, then 67 per segment
        ("가" * 70, 1),
        ("가" * 71, 2),
        ("가" * 134, 2),
        ("가" * 135, 3),
        # one Korean character makes English text UCS-2
        ("a" * 69 + "가", 1),
        ("a" * 70 + "가", 2),
        ("a" * 159 + "가", 3),
        # an emoji outside the BMP is a surrogate pair: two units, never split
        (EMOJI * 35, 1),
        ("a" + EMOJI * 35, 2),
        ("a" * 67 + EMOJI + "a" * 65, 2),
        ("a" * 66 + EMOJI + "a" * 66, 3),
    ],
)
def test_segment_count(text: str, expected: int) -> None:
    assert segment_count(text) == expected


def test_short_reply_is_one_message_with_edges_stripped() -> None:
    assert paginate("  \n Hello.\n\n ", SmsBudget(), EN_HINT) == [["Hello."]]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t "])
def test_empty_reply_gives_no_pages(text: str) -> None:
    assert paginate(text, SmsBudget(), EN_HINT) == []


def test_korean_300_characters_without_spaces_splits_exactly() -> None:
    # 2 segments of UCS-2 = 134 units; the hint line takes 1 + 19 of them.
    pages = paginate("가" * 300, SmsBudget(), KO_HINT)
    assert pages == [["가" * 134, "가" * 114 + "\n" + KO_HINT], ["가" * 52]]
    _check_pages(pages, SmsBudget(), KO_HINT)


def test_korean_300_characters_split_at_sentence_ends() -> None:
    text = " ".join([KO_SENTENCES] * 3)[:300].rstrip()
    assert len(text) == 300
    budget = SmsBudget()
    pages = paginate(text, budget, KO_HINT)
    _check_pages(pages, budget, KO_HINT)
    assert [len(page) for page in pages] == [2, 1]
    assert all(encoding_of(m) == "UCS-2" for page in pages for m in page)
    first, second = pages[0]
    # Four sentences are 112 characters; the fifth would make 135 > 134.
    assert first == KO_SENTENCES.split(" 궁금한")[0] and len(first) == 112
    assert second.removesuffix("\n" + KO_HINT).endswith("가져오세요.")
    assert _words(pages, KO_HINT) == text.split()


def test_each_message_has_its_own_encoding() -> None:
    korean = "주민등록등본은 가까운 주민센터나 정부24 누리집에서 받을 수 있습니다."
    english = " ".join(["You can also get it from a kiosk at the station."] * 3)
    assert len(korean) <= 70 < len(english) <= 160
    pages = paginate(f"{korean}\n\n{english}", SmsBudget(1, 3), EN_HINT)
    assert pages == [[korean, english]]
    assert [encoding_of(m) for m in pages[0]] == ["UCS-2", "GSM-7"]


def test_english_reply_with_korean_hint_counts_the_hint_as_ucs2() -> None:
    text = " ".join(_step(n) for n in range(1, 15))
    budget = SmsBudget()
    pages = paginate(text, budget, KO_HINT)
    _check_pages(pages, budget, KO_HINT)
    first, with_hint = pages[0]
    # GSM-7 room (306 septets): 6 sentences. UCS-2 room (134 - 20 for the hint): 2.
    assert first == " ".join(_step(n) for n in range(1, 7))
    assert encoding_of(first) == "GSM-7" and segment_count(first) == 2
    assert with_hint == " ".join(_step(n) for n in (7, 8)) + "\n" + KO_HINT
    assert encoding_of(with_hint) == "UCS-2" and segment_count(with_hint) == 2
    assert pages[1] == [" ".join(_step(n) for n in range(9, 15))]
    assert encoding_of(pages[1][0]) == "GSM-7"


def test_every_page_but_the_last_ends_with_the_hint() -> None:
    text = " ".join(_step(n) for n in range(1, 15))
    budget = SmsBudget(segments_per_message=1, messages_per_page=2)
    pages = paginate(text, budget, EN_HINT)
    # 160 septets hold 3 sentences; with the hint line (24) only 2.
    assert [[m.count("Step") for m in page] for page in pages] == [[3, 2], [3, 2], [3, 1]]
    assert pages[0][1] == f"{_step(4)} {_step(5)}\n{EN_HINT}"
    assert pages[1][1] == f"{_step(9)} {_step(10)}\n{EN_HINT}"
    assert pages[2] == [f"{_step(11)} {_step(12)} {_step(13)}", _step(14)]
    _check_pages(pages, budget, EN_HINT)
    assert _words(pages, EN_HINT) == text.split()


def test_emoji_surrogate_pairs_are_never_split() -> None:
    budget = SmsBudget(segments_per_message=1)
    assert paginate(EMOJI * 50, budget, EN_HINT) == [[EMOJI * 35, EMOJI * 15]]
    # "a" + 35 emoji would be 71 units: the 35th emoji goes to the next message whole.
    assert paginate("a" + EMOJI * 50, budget, EN_HINT) == [["a" + EMOJI * 34, EMOJI * 16]]


def test_escape_pair_is_not_split_at_the_153_boundary() -> None:
    # 306 septets, but the pair would straddle segments 1 and 2, so only 305 fit.
    pages = paginate("a" * 152 + "€" + "a" * 153, SmsBudget(), EN_HINT)
    assert pages == [["a" * 152 + "€" + "a" * 151, "aa"]]
    assert paginate("a" * 159 + "€" + "a" * 10, SmsBudget(1), EN_HINT) == [
        ["a" * 159, "€" + "a" * 10]
    ]


def test_prefers_paragraph_breaks() -> None:
    first = f"{_step(1)} {_step(2)}"
    second = f"{_step(3)} Closed on holidays."  # a sentence end at 153 would fit too
    pages = paginate(f"{first}\n\n{second}", SmsBudget(1), EN_HINT)
    assert pages == [[first, second]]


def test_an_early_paragraph_break_does_not_waste_a_message() -> None:
    text = "Dear citizen,\n\n" + " ".join(_step(n) for n in range(1, 5))
    pages = paginate(text, SmsBudget(1), EN_HINT)
    assert pages == [[f"Dear citizen,\n\n{_step(1)} {_step(2)}", f"{_step(3)} {_step(4)}"]]


def test_splits_at_spaces_then_inside_words() -> None:
    budget = SmsBudget(1)
    assert paginate("word " * 40, budget, EN_HINT) == [
        [" ".join(["word"] * 32), " ".join(["word"] * 8)]
    ]
    assert paginate("x" * 200, budget, EN_HINT) == [["x" * 160, "x" * 40]]


@pytest.mark.parametrize("budget", [SmsBudget(), SmsBudget(1, 1), SmsBudget(1, 2), SmsBudget(3, 1)])
@pytest.mark.parametrize("hint", [EN_HINT, KO_HINT])
def test_rejoining_messages_gives_back_the_words(budget: SmsBudget, hint: str) -> None:
    english = "\n\n".join(
        " ".join(_step(n) for n in range(start, start + 4)) for start in (1, 5, 9)
    )
    text = f"{KO_SENTENCES}\n\n{english}\n{KO_SENTENCES} Call 110 {EMOJI} {{now}} €5."
    pages = paginate(text, budget, hint)
    _check_pages(pages, budget, hint)
    assert _words(pages, hint) == text.split()


def test_the_longest_hint_that_fits_still_makes_progress() -> None:
    hint = "가" * 67  # with "\n" and one emoji: exactly 70 units
    pages = paginate("가" * 80, SmsBudget(1, 1), hint)
    assert pages == [["가가\n" + hint]] * 5 + [["가" * 70]]


@pytest.mark.parametrize(("segments", "messages"), [(0, 2), (2, 0), (-1, 1)])
def test_impossible_budget(segments: int, messages: int) -> None:
    with pytest.raises(ValueError, match="budget"):
        SmsBudget(segments, messages)


@pytest.mark.parametrize(
    ("budget", "hint"),
    [
        (SmsBudget(), ""),
        (SmsBudget(), " \n "),
        (SmsBudget(1, 1), "가" * 68),
        (SmsBudget(1, 2), "x" * 68),  # fits English text, but no Korean character
        (SmsBudget(2, 2), "가" * 132),
        (SmsBudget(2, 2), "x" * 304),
    ],
)
def test_hint_that_leaves_no_room_is_refused(budget: SmsBudget, hint: str) -> None:
    with pytest.raises(ValueError, match="more_hint"):
        paginate("Hello.", budget, hint)


@pytest.mark.parametrize("base", ["https://sotong.kr", "https://" + "minwon-" * 12 + "example.kr"])
def test_a_link_first_and_alone_is_never_cut(base: str) -> None:
    # The SMS "자세히" answer starts with its web link (channels/sms/adapter.py): alone,
    # ASCII fits 153 a segment, so even a long public URL stays whole in one message.
    link = f"{base}/?continue=" + "A" * 43 + "." + "B" * 43
    text = (
        f"{link}\n\n함께 보낸 링크를 누르면 이 답을 웹에서 한 번에 봅니다.\n\n"
        + "기초연금 안내. " * 40
    )
    first = paginate(text, SmsBudget(2, 2), "더 보려면 '더보기'라고 보내 주세요.")[0]
    assert first[0] == link and encoding_of(first[0]) == "GSM-7"
    assert segment_count(first[0]) <= 2
