from __future__ import annotations

import json

import pytest
import structlog

from assistant.logs import configure_logging
from assistant.privacy import RRN_MASK, contains_rrn, log_reference, mask_rrn


@pytest.mark.parametrize(
    "text",
    [
        "900101-1234567",
        "내 번호 9001011234567 입니다",
        "주민번호는 900101 - 2234567",
        "foreigner 851231-5234567",
        "000229-3123456",
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
