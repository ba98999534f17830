"""Life-event packages and Public Service Map screenings, through the real stack."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from assistant.catalog import load_catalog
from tests.integration.conftest import Citizen, texts
from tests.stackutil import Stack

pytestmark = pytest.mark.rasa

CATALOG = load_catalog()


def _name(service_id: str, language: str = "ko") -> str:
    return CATALOG.services[service_id].name.get(language)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("package_id", "message"),
    [
        ("moving", "이사했는데 뭘 해야 하는지 다 알려 주세요"),
        ("birth", "아기가 태어났는데 이제 뭐부터 해야 해요"),
        ("death", "어머니가 돌아가셨는데 이제 어떤 절차가 있어요"),
        ("turning_65", "올해 65세가 됐는데 신청할 거 있나요"),
        ("new_disability", "사고로 장애가 생겼어요 이제 뭘 해야 하나요"),
    ],
)
def test_each_package_checklist_then_a_step(
    gateway: httpx.Client, package_id: str, message: str
) -> None:
    package = CATALOG.packages[package_id]
    citizen = Citizen(gateway)
    checklist = citizen.say(message)
    body = texts(checklist)
    assert f"[{package.name.ko}]" in body, body
    for number, step in enumerate(package.steps, 1):
        assert f"{number}. {_name(step.service)}" in body
    # "1" picks the first step from the quick replies and answers it in full.
    first = package.steps[0].service
    assert f"[{_name(first)}]" in texts(citizen.say("1"))


def test_birth_checklist_in_english_has_the_deadline(gateway: httpx.Client) -> None:
    citizen = Citizen(gateway, language="en")
    body = texts(citizen.say("we just had a baby, what do we have to do"))
    assert f"[{CATALOG.packages['birth'].name.en}]" in body
    assert "within 1 month" in body


def _answer_the_elderly_screening(citizen: Citizen) -> str:
    """Answer the elderly screening's questions after its first (72, low income, lives
    alone, no to the last two); the result."""
    assert "생활이 어려우신가요" in texts(citizen.say("일흔두 살이세요"))
    assert "혼자 사시나요" in texts(citizen.say("네"))
    citizen.say("네 혼자 사세요")
    citizen.say("아니요")
    return texts(citizen.say("아니요"))


def test_elderly_screening_in_words(citizen: Citizen) -> None:
    first = texts(citizen.say("우리 어머니가 받을 수 있는 노인 복지 찾아 주세요"))
    assert "연세" in first
    assert "혼자" not in first  # one question at a time
    result = _answer_the_elderly_screening(citizen)
    for service in ("basic_pension", "elderly_care_service", "welfare_consultation"):
        assert _name(service) in result, result
    assert _name("senior_jobs") not in result  # said no to work
    assert "담당 기관" in result


def test_elderly_screening_in_english_with_digits_and_not_sure(gateway: httpx.Client) -> None:
    citizen = Citizen(gateway, language="en")
    assert "How old" in texts(citizen.say("what benefits can my elderly father get"))
    citizen.say("81")
    citizen.say("not sure")
    citizen.say("no")
    citizen.say("yes")
    result = texts(citizen.say("no"))
    assert _name("basic_pension", "en") in result
    assert "check the conditions" in result  # income unknown
    assert _name("long_term_care", "en") in result


def test_screening_asks_again_when_it_cannot_read_the_answer(citizen: Citizen) -> None:
    citizen.say("노인 복지 찾아 주세요")
    retry = texts(citizen.say("음 그게요"))
    assert "숫자" in retry and "연세" in retry  # the same question, with an example
    assert "생활이 어려우신가요" in texts(citizen.say("예순여덟"))


def test_disability_screening_skips_severity_when_not_registered(citizen: Citizen) -> None:
    citizen.say("장애인이 받을 수 있는 서비스 찾아 주세요")
    citizen.say("아니요")  # not registered
    nxt = texts(citizen.say("35"))
    assert "심한 장애" not in nxt and "생활이 어려우신가요" in nxt
    citizen.say("네")
    citizen.say("네")
    result = texts(citizen.say("네"))
    assert "1. " + _name("disability_registration") in result
    assert _name("disability_activity_support") in result
    assert _name("sign_language_relay") in result


def test_mothers_screening_with_an_unreported_birth(citizen: Citizen) -> None:
    citizen.say("아기 엄마가 받을 수 있는 지원 찾아 주세요")
    citizen.say("네")
    citizen.say("석 달 됐어요")
    citizen.say("아직 안 했어요")
    result = texts(citizen.say("아니요"))
    assert "1. " + _name("birth_report") in result
    for service in ("first_meeting_voucher", "parent_benefit", "child_allowance"):
        assert _name(service) in result


def test_mothers_screening_before_the_birth(citizen: Citizen) -> None:
    citizen.say("임신 중인데 받을 수 있는 혜택 찾아 주세요")
    assert "출생신고를 하셨나요" not in texts(citizen.say("아니요"))
    result = texts(citizen.say("아니요"))
    assert "태어나면" in result and _name("childbirth_one_stop") in result


def test_a_person_can_be_asked_for_in_the_middle(citizen: Citizen, stack: Stack) -> None:
    citizen.say("장애인 혜택 찾기")
    assert "사람 상담을 요청했습니다" in texts(citizen.say("상담원 연결해 주세요"))
    with sqlite3.connect(stack.var_dir / "sotong.db") as db:
        requests = db.execute(
            "SELECT count(*) FROM handoff_requests WHERE conversation_id = ?",
            (citizen.session_id,),
        ).fetchone()[0]
    assert requests == 1
    # The screening is over: the next message is understood on its own.
    assert f"[{_name('resident_registration_copy')}]" in texts(citizen.say("등본 떼려고요"))


# ---- after a long conversation (issue 19: actions get the last 10 turns' events) --------
def _chatter(citizen: Citizen, turns: int) -> None:
    for number in range(turns):
        citizen.say("전입신고 어떻게 해요" if number % 2 else "기초연금 알려 주세요")


def test_a_screening_after_a_long_conversation(citizen: Citizen) -> None:
    _chatter(citizen, 12)
    assert "연세" in texts(citizen.say("우리 어머니가 받을 수 있는 노인 복지 찾아 주세요"))
    # Answers that cannot be read make the form run past the ten turns actions see.
    for _ in range(10):
        assert "연세" in texts(citizen.say("음 그게요"))
    result = _answer_the_elderly_screening(citizen)
    assert _name("basic_pension") in result and "담당 기관" in result, result


def test_repeat_after_a_long_conversation(citizen: Citizen) -> None:
    _chatter(citizen, 14)
    answer = texts(citizen.say("출생신고 어떻게 해요"))
    assert f"[{_name('birth_report')}]" in answer, answer
    assert texts(citizen.say("다시")) == answer
