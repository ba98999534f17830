"""The phone line's dialogue, driven alone: keys, speech, silence in; speech and actions out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from assistant.catalog import load_catalog
from assistant.language import Language
from voice.call_dialogue import (
    HANDOFF_PAYLOAD,
    CallDialogue,
    DialogueReply,
    State,
    menu_from_catalog,
)
from voice.listener import Heard, RecognitionMode

ANSWER = DialogueReply(texts=("주민등록등본은 정부24에서 뗄 수 있어요.",))


@dataclass
class FakeActions:
    replies: list[DialogueReply] = field(default_factory=list)
    asked: list[tuple[str, str | None, bool]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    transfer_ok: bool = True
    link_ok: bool = True

    async def ask(
        self, text: str, payload: str | None, sign_language: bool = False
    ) -> DialogueReply:
        self.asked.append((text, payload, sign_language))
        return self.replies.pop(0) if self.replies else ANSWER

    async def set_language(self, language: Language) -> None:
        self.done.append(f"language:{language}")

    async def text_link(self, sign_language: bool) -> bool:
        self.done.append(f"link:{'sign' if sign_language else 'continue'}")
        return self.link_ok

    async def request_callback(self) -> None:
        self.done.append("callback")

    async def transfer(self) -> bool:
        self.done.append("transfer")
        return self.transfer_ok

    async def remember_slow(self) -> None:
        self.done.append("remember_slow")

    async def hang_up(self) -> None:
        self.done.append("hang_up")


@dataclass
class FakeOutput:
    said: list[list[str]] = field(default_factory=list)
    modes: list[RecognitionMode] = field(default_factory=list)
    slow: bool = False
    speech_for: dict[str, bool] = field(default_factory=lambda: {"ko": True, "en": False})
    pending: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def say(self, texts: Sequence[str], language: Language, slow: bool) -> None:
        self.said.append(list(texts))

    def listen_for(self, mode: RecognitionMode) -> None:
        self.modes.append(mode)

    def set_slow(self, slow: bool) -> None:
        self.slow = slow

    async def switch_language(self, language: Language) -> bool:
        return self.speech_for[language]

    def after_playback(self, action: Callable[[], Awaitable[None]]) -> None:
        self.pending.append(action)

    async def play_out(self) -> None:
        actions, self.pending = self.pending, []
        for action in actions:
            await action()

    @property
    def last(self) -> str:
        return " ".join(self.said[-1])


@pytest.fixture
def parts() -> tuple[CallDialogue, FakeActions, FakeOutput]:
    actions, out = FakeActions(), FakeOutput()
    menu = menu_from_catalog(load_catalog())
    return CallDialogue(menu=menu, actions=actions, out=out), actions, out


def heard(text: str, confidence: float = 0.95, recognised: bool = True) -> Heard:
    return Heard(
        text=text, confidence=confidence, mode="free", speech_ended_at=0.0, recognised=recognised
    )


async def test_greeting_reads_the_keypad_menu(parts) -> None:
    dialogue, _, out = parts
    await dialogue.begin()
    menu = " ".join(out.said[0])  # numbers as they are said: "일 번", not "1번"
    assert "일 번 주민등록" in menu and "영 번은 상담원" in menu and "우물 정은 천천히" in menu
    assert out.said[1] == ["For English, press 7."]  # said in the other language's voice
    assert len(dialogue.menu) == 5


async def test_a_menu_digit_asks_for_that_service(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_key("1")
    assert actions.asked == [
        (dialogue.menu[0].titles["ko"], "/service_resident_registration_copy", False)
    ]
    assert "정부이사" in out.last and "처음 메뉴는 구 번" in out.last
    assert dialogue.turns == 1


async def test_choices_after_an_answer_are_read_and_chosen_by_digit(parts) -> None:
    dialogue, actions, out = parts
    actions.replies = [
        DialogueReply(texts=("어느 것인가요?",), choices=("기초연금", "장애인 등록"))
    ]
    await dialogue.on_heard(heard("연금"))
    assert dialogue.state is State.CHOICES
    assert "일 번 기초연금, 이 번 장애인 등록" in out.last
    await dialogue.on_key("2")
    assert actions.asked[-1] == ("2", None, False)  # the core maps "2" to the button
    assert dialogue.state is State.MENU


async def test_unsure_speech_is_confirmed_with_yes_no_before_acting(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_heard(heard("등본 떼고 싶어요", confidence=0.4))
    assert dialogue.state is State.CONFIRM and out.modes == ["yes_no"]
    assert "'등본 떼고 싶어요'라고 하셨나요?" in out.last and actions.asked == []
    await dialogue.on_heard(heard("네", confidence=1.0))
    assert actions.asked == [("등본 떼고 싶어요", None, False)]
    assert out.modes == ["yes_no", "free"]


async def test_a_no_to_the_confirmation_asks_again_and_does_nothing(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_heard(heard("무엇", confidence=0.3))
    await dialogue.on_key("2")  # 2 = 아니요
    assert actions.asked == [] and out.modes == ["yes_no", "free"]
    assert "다시 말씀해" in out.last
    assert dialogue.state is State.MENU


async def test_an_unclear_answer_to_the_confirmation_asks_for_yes_or_no(parts) -> None:
    dialogue, _, out = parts
    await dialogue.on_heard(heard("무엇", confidence=0.3))
    await dialogue.on_heard(heard(""))
    assert "'네' 또는 '아니요'" in out.last
    await dialogue.on_heard(heard(""))
    assert "번호를 눌러 주세요" in out.last  # twice unclear: keys first
    assert dialogue.state is State.MENU and out.modes[-1] == "free"


async def test_speech_that_is_not_understood_twice_turns_to_the_keypad(parts) -> None:
    dialogue, _, out = parts
    await dialogue.on_heard(heard(""))
    assert "잘 듣지 못했어요" in out.last
    await dialogue.on_heard(heard(""))
    assert "번호를 눌러 주세요. 일 번 주민등록" in out.last


async def test_star_repeats_and_hash_slows_down(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_key("1")
    answer = out.said[-1]
    await dialogue.on_key("*")
    assert out.said[-1] == answer
    await dialogue.on_key("#")
    assert dialogue.slow and out.slow and "remember_slow" in actions.done
    assert out.said[-2][0].startswith("네, 천천히") and out.said[-1] == answer


async def test_saying_slowly_slows_down(parts) -> None:
    dialogue, actions, _out = parts
    await dialogue.on_heard(heard("천천히 말해 주세요"))
    assert dialogue.slow and actions.asked == []


async def test_zero_then_one_asks_for_a_person_and_transfers_after_the_message(parts) -> None:
    dialogue, actions, out = parts
    actions.replies = [DialogueReply(texts=("사람 상담을 요청했습니다.",), handoff="person")]
    await dialogue.on_key("0")
    assert dialogue.state is State.PERSON and "수어 통역이 필요하시면 이 번" in out.last
    await dialogue.on_key("1")
    assert actions.asked == [("상담원", HANDOFF_PAYLOAD, False)]
    assert "연결해 드릴게요" in out.last and "transfer" not in actions.done
    await out.play_out()  # the caller heard "connecting you"
    assert actions.done == ["transfer"] and dialogue.state is State.ENDING


async def test_without_a_transfer_number_a_call_back_is_offered(parts) -> None:
    dialogue, actions, out = parts
    actions.transfer_ok = False
    actions.replies = [DialogueReply(texts=("…",), handoff="person")]
    await dialogue.on_key("0")
    await dialogue.on_key("1")
    await out.play_out()
    assert dialogue.state is State.OFFER and "일일공" in out.last  # 110, digit by digit
    await dialogue.on_key("2")
    assert "callback" in actions.done and "다시 전화드릴게요" in out.last
    await out.play_out()
    assert actions.done[-1] == "hang_up"


async def test_sign_language_help_texts_a_link(parts) -> None:
    dialogue, actions, out = parts
    actions.replies = [DialogueReply(texts=("…",), handoff="sign_language")]
    await dialogue.on_key("0")
    await dialogue.on_key("2")
    assert actions.asked == [("수어 통역", HANDOFF_PAYLOAD, True)]
    assert actions.done == ["link:sign"] and "일공칠 손말이음센터" in out.last
    assert dialogue.handoff == "sign_language"


async def test_silence_twice_reprompts_then_offers_text_then_says_goodbye(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.begin()
    menu = out.said[-2]
    await dialogue.on_silence()
    assert out.said[-1] == ["말씀이 없으셔서 다시 안내해 드릴게요.", *menu]
    await dialogue.on_silence()
    assert out.said[-1][1:] == menu
    await dialogue.on_silence()
    assert dialogue.state is State.OFFER and "문자로 보내" in out.last
    await dialogue.on_silence()
    assert "고맙습니다" in out.last and actions.done == []
    await out.play_out()
    assert actions.done == ["hang_up"]


async def test_the_offer_texts_a_link(parts) -> None:
    dialogue, actions, out = parts
    for _ in range(3):
        await dialogue.on_silence()
    await dialogue.on_key("1")
    assert actions.done == ["link:continue"] and "문자를 보냈어요" in out.last


async def test_english_without_a_model_says_so_and_keeps_the_keypad(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_key("7")
    assert actions.done == ["language:en"] and dialogue.language == "en"
    assert "cannot understand spoken English" in out.last and "0 for a person" in out.last
    await dialogue.on_heard(heard("", recognised=False))
    assert "press 6" in out.last
    await dialogue.on_key("1")
    assert actions.asked[-1][1] == "/service_resident_registration_copy"
    assert actions.asked[-1][0] == dialogue.menu[0].titles["en"]


async def test_another_key_leaves_the_yes_no_question_and_listens_freely_again(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_heard(heard("무엇", confidence=0.3))
    assert out.modes == ["yes_no"]
    await dialogue.on_key("9")
    assert dialogue.state is State.MENU and out.modes == ["yes_no", "free"]
    assert actions.asked == [] and "일 번 주민등록등본" in out.last


async def test_a_yes_no_grammar_sentence_is_not_a_yes(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_heard(heard("무엇", confidence=0.3))
    await dialogue.on_heard(heard("네 싫어요", confidence=0.93))  # a grammar forced a sentence
    assert actions.asked == [] and dialogue.state is State.CONFIRM
    assert "'네' 또는 '아니요'" in out.last


async def test_a_failed_step_is_said_not_left_silent(parts) -> None:
    dialogue, _, out = parts
    await dialogue.on_heard(heard("무엇", confidence=0.3))
    await dialogue.on_failure()
    assert "문제가 생겼어요" in out.last
    assert dialogue.state is State.MENU and out.modes == ["yes_no", "free"]


async def test_star_goes_back_from_the_person_menu(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_key("0")
    await dialogue.on_key("*")
    assert dialogue.state is State.MENU and "일 번 주민등록등본" in out.last
    assert actions.asked == []
