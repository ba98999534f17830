from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.logs import configure_logging
from assistant.privacy import RRN_MASK, contains_rrn, log_reference, mask_rrn, mask_rrn_after


@pytest.mark.parametrize(
    "text",
    [
        "900101-1234567",
        "내 번호 9001011234567 입니다",
        "주민번호는 900101 - 2234567",
        "foreigner 851231-5234567",
        "000229-3123456",
        # Korean after the number: a particle, whose syllables are digits when read out.
        "900101-1234567이에요",
        "번호 9001011234567이요",
    ],
)
def test_masks_resident_registration_numbers(text: str) -> None:
    masked = mask_rrn(text)
    assert RRN_MASK in masked
    assert not contains_rrn(masked)
    assert "234567" not in masked and "123456" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "010-1234-5678",  # a phone number
        "01012345678",
        "991399-1234567",  # month 13: not a date
        "12345678901234",  # longer number
        "신청일 2026-11-23",
    ],
)
def test_leaves_other_numbers(text: str) -> None:
    assert mask_rrn(text) == text


def test_logs_never_carry_a_number(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_output=True)
    structlog.get_logger("t").info("citizen.said", text="번호 900101-1234567")
    err = capsys.readouterr().err
    line = next(row for row in err.splitlines() if "citizen.said" in row)
    assert "1234567" not in line
    assert json.loads(line)["text"] == f"번호 {RRN_MASK}"


def test_logs_show_conversation_ids_only_as_references(capsys: pytest.CaptureFixture[str]) -> None:
    # A web chat session id opens its conversation: no log line may carry it.
    session = "0123456789abcdef0123456789abcdef"
    configure_logging(json_output=True)
    structlog.get_logger("t").info("conversation.started", conversation_id=session)
    structlog.get_logger("t").warning("push.dropped", session_id=session)
    err = capsys.readouterr().err
    lines = [json.loads(row) for row in err.splitlines() if row.startswith("{")]
    assert session not in err
    assert lines[-2]["conversation_id"] == lines[-1]["session_id"] == log_reference(session)
    assert log_reference(session) != log_reference(session[::-1])


def test_a_value_cannot_forge_a_key_value_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Review L5 feared that a username typed at sign-in with a line break writes a
    second, forged line in the key-value format. structlog's ConsoleRenderer writes such
    a value as its repr (quoted, the break as \\n), so no line can be forged; this test
    keeps it so."""
    configure_logging(json_output=False)
    forged = "kim\n2026-01-01T00:00:00Z [error    ] forged line"
    structlog.get_logger("t").info("console.login_failed", username=forged)
    err = capsys.readouterr().err
    lines = [row for row in err.splitlines() if row.strip()]
    assert not any(row.startswith("2026-01-01T00:00:00Z") for row in lines)
    assert any("username='kim\\n2026-01-01" in row for row in lines)
    configure_logging(json_output=True)  # as the other tests expect


# ---- however it is typed (review M11), checked by hypothesis ---------------------------
_SEPARATORS = ["-", "", " ", " - ", "−", "－", "–", "—", ".", "_", "/", "‐"]
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


@st.composite
def resident_numbers(draw: st.DrawFn) -> str:
    """A valid-looking number: YYMMDD, gender/century digit 1–8, six more digits."""
    day = draw(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2026, 12, 31)))
    gender = draw(st.integers(1, 8))
    rest = draw(st.text("0123456789", min_size=6, max_size=6))
    return f"{day:%y%m%d}{gender}{rest}"


@st.composite
def typed(draw: st.DrawFn, digits: str) -> str:
    """``digits`` as a citizen (or a keyboard) might type them."""
    out: list[str] = []
    for i, ch in enumerate(digits):
        if draw(st.booleans()):
            ch = chr(ord("０") + int(ch))  # full-width
        out.append(ch)
        if i == 5:
            out.append(draw(st.sampled_from(_SEPARATORS)))
        elif i < 12 and draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([" ", *_INVISIBLE])))
    return "".join(out)


_AROUND = st.text(st.sampled_from("제 주민번호는 입니다 요. abc,!?\n"), max_size=20)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), number=resident_numbers(), before=_AROUND, after=_AROUND)
def test_a_number_is_masked_however_it_is_typed(
    data: st.DataObject, number: str, before: str, after: str
) -> None:
    text = before + data.draw(typed(number)) + after
    masked = mask_rrn(text)
    assert RRN_MASK in masked
    assert not contains_rrn(masked)
    # Nothing around it is touched.
    assert masked.startswith(before) and masked.endswith(after)


@settings(max_examples=200, deadline=None)
@given(
    middle=st.text("0123456789", min_size=4, max_size=4),
    last=st.text("0123456789", min_size=4, max_size=4),
    separator=st.sampled_from(["-", " ", "", "."]),
)
def test_phone_numbers_are_never_masked(middle: str, last: str, separator: str) -> None:
    for phone in (f"010{separator}{middle}{separator}{last}", f"+82 10 {middle} {last}"):
        assert mask_rrn(f"연락처 {phone} 입니다") == f"연락처 {phone} 입니다"


@pytest.mark.parametrize(
    "text",
    [
        "900101−1234567",
        "９００１０１－１２３４５６７",
        "900101\u200b-1234567",
        "900101.1234567",
        "9 0 0 1 0 1 - 1 2 3 4 5 6 7",
    ],
)
def test_the_reviews_examples_are_masked(text: str) -> None:
    assert mask_rrn("제 주민번호는 " + text) == "제 주민번호는 " + RRN_MASK


# ---- read out in Hangul, as speech recognition writes a spoken number (review M11) ------
_SPOKEN = {
    "0": ["공", "영"], "1": ["일"], "2": ["이"], "3": ["삼"], "4": ["사"],
    "5": ["오"], "6": ["육", "륙"], "7": ["칠"], "8": ["팔"], "9": ["구"],
}  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.data(), number=resident_numbers(), before=_AROUND, after=_AROUND)
def test_a_number_read_out_in_hangul_is_masked(
    data: st.DataObject, number: str, before: str, after: str
) -> None:
    spoken: list[str] = []
    for i, digit in enumerate(number):
        spoken.append(data.draw(st.sampled_from(_SPOKEN[digit])))
        if i == 5:
            spoken.append(data.draw(st.sampled_from([" ", "", "-", " - "])))
        elif i < 12 and data.draw(st.integers(0, 4)) == 0:
            spoken.append(" ")
    text = before + "".join(spoken) + after
    masked = mask_rrn(text)
    assert RRN_MASK in masked and not contains_rrn(masked)
    assert masked.startswith(before) and masked.endswith(after)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("제 주민번호는 구공공일공일 일이삼사오육칠 입니다", f"제 주민번호는 {RRN_MASK} 입니다"),
        ("팔오일이삼일 이이삼사오육칠", RRN_MASK),
        # Ordinary words made of the same syllables, and a phone number read out.
        ("이사 일이 있어서 오일 동안 구청에 갑니다", None),
        ("삼일절 이일 오후 일이삼사오", None),
        ("공일공 일이삼사 오육칠팔", None),
        ("구구구구구구구구구구구구구", None),  # thirteen digits, but no date
        # A particle or a word of digit syllables beside it does not hide it.
        ("구공공일공일 일이삼사오육칠이에요", f"{RRN_MASK}이에요"),
        ("번호가 이 구공공일공일 일이삼사오육칠", f"번호가 이 {RRN_MASK}"),
    ],
)
def test_hangul_digits_mask_a_number_and_nothing_else(text: str, expected: str | None) -> None:
    assert mask_rrn(text) == (expected if expected is not None else text)


# ---- split over two messages (review M11) ------------------------------------------------
@pytest.mark.parametrize(
    ("previous", "text", "expected"),
    [
        ("제 주민번호는 900101", "1234567 이에요", "******* 이에요"),
        ("900101-", "2234567", "*******"),
        ("９００１０１", " ２２３４５６７", " *******"),
        # Not a number's two halves: no date before, a longer number, no gender digit.
        ("안녕하세요", "1234567", "1234567"),
        ("901399", "1234567", "1234567"),  # month 13
        ("900101", "12345678", "12345678"),
        ("900101", "9234567", "9234567"),
        ("전화 010-1234-5678", "1234567", "1234567"),
        (None, "1234567", "1234567"),
    ],
)
def test_a_number_split_over_two_messages_is_masked(
    previous: str | None, text: str, expected: str
) -> None:
    assert mask_rrn_after(previous, text) == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data(), number=resident_numbers(), after=_AROUND)
def test_the_back_half_after_a_date_is_masked_however_typed(
    data: st.DataObject, number: str, after: str
) -> None:
    typed_number = data.draw(typed(number))
    # Split right before the seventh digit (after the date and its separator).
    seventh = [i for i, ch in enumerate(typed_number) if ch.isdigit()][6]
    front, back = typed_number[:seventh], typed_number[seventh:]
    masked = mask_rrn_after("주민번호 " + front, back + after)
    assert masked.endswith(after)
    assert not any(ch.isdigit() for ch in masked[: len(masked) - len(after)]), masked


@pytest.mark.parametrize("json_output", [True, False])
def test_a_traceback_is_logged_without_locals_and_masked(
    json_output: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(json_output=json_output)

    def send(body: str) -> None:
        raise ValueError(f"could not send {body}")

    try:
        secret_local = "전화 010-1234-5678"  # noqa: F841 - a local no traceback may show
        send("주민번호 900101-1234567")
    except ValueError:
        structlog.get_logger("t").exception("outbox.failed", note={"text": "900101-1234567"})
    err = capsys.readouterr().err
    assert "Traceback" in err and "could not send" in err
    assert "1234567" not in err and "010-1234-5678" not in err
    if json_output:
        line = json.loads(next(row for row in err.splitlines() if "outbox.failed" in row))
        assert "ValueError" in line["exception"] and line["note"] == {"text": RRN_MASK}


async def test_database_errors_never_carry_the_values(tmp_path: Path) -> None:
    from sqlalchemy import text

    from assistant.config import to_async_url
    from assistant.store.sql import create_engine

    engine = create_engine(to_async_url(f"sqlite:///{tmp_path / 'x.db'}"))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT NOT NULL UNIQUE)"))
            await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "010-1234-5678"})
            with pytest.raises(Exception) as failed:
                await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "010-1234-5678"})
    finally:
        await engine.dispose()
    assert "UNIQUE" in str(failed.value) and "010-1234-5678" not in str(failed.value)
