"""The phone line's dialogue, driven alone: keys, speech, silence in; speech and actions out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace

import pytest

from assistant.catalog import load_catalog
from assistant.language import Language
from voice.call_dialogue import (
    HANDOFF_PAYLOAD,
    CallDialogue,
    DialogueReply,
    State,
)
from voice.listener import Heard, RecognitionMode
from voice.phone_menu import leaves, load_menu

MENU = load_menu(load_catalog())

ANSWER = DialogueReply(texts=("주민등록등본은 정부24에서 뗄 수 있어요.",))


@dataclass
class FakeActions:
    replies: list[DialogueReply] = field(default_factory=list)
    asked: list[tuple[str, str | None, bool]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    transfer_ok: bool = True
    link_ok: bool = True
    callback_ok: bool = True
    wants_number: bool = False  # the question just asked wants a number
    caller: str | None = "+821012345678"  # the caller ID (None: withheld)

    async def ask(
        self, text: str, payload: str | None, sign_language: bool = False
    ) -> DialogueReply:
        self.asked.append((text, payload, sign_language))
        return self.replies.pop(0) if self.replies else ANSWER

    async def expects_number(self) -> bool:
        return self.wants_number

    async def set_language(self, language: Language) -> None:
        self.done.append(f"language:{language}")

    async def text_link(self, sign_language: bool) -> bool:
        self.done.append(f"link:{'sign' if sign_language else 'continue'}")
        return self.link_ok

    async def caller_number(self) -> str | None:
        return self.caller

    async def request_callback(self, number: str) -> bool:
        self.done.append(f"callback:{number}")
        return self.callback_ok

    async def transfer(self) -> bool:
        self.done.append("transfer")
        return self.transfer_ok

    async def remember_slow(self) -> None:
        self.done.append("remember_slow")

    async def hang_up(self) -> None:
        self.done.append("hang_up")


@dataclass
class FakeOutput:
    said: list[list[str]] = field(default_factory=list)  # utterances, in order
    since_input: int = 0  # where the utterances after the caller's last input begin
    modes: list[RecognitionMode] = field(default_factory=list)
    slow: bool = False
    speech_for: dict[str, bool] = field(default_factory=lambda: {"ko": True, "en": False})
    pending: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    paused: tuple[float, Callable[[], Awaitable[None]]] | None = None

    async def say(
        self, texts: Sequence[str], language: Language, slow: bool, continues: bool = False
    ) -> None:
        self.said.append(list(texts))

    def listen_for(self, mode: RecognitionMode) -> None:
        self.modes.append(mode)

    def set_slow(self, slow: bool) -> None:
        self.slow = slow

    async def switch_language(self, language: Language) -> bool:
        return self.speech_for[language]

    def after_playback(self, action: Callable[[], Awaitable[None]]) -> None:
        self.pending.append(action)

    def after_pause(self, seconds: float, action: Callable[[], Awaitable[None]] | None) -> None:
        self.paused = (seconds, action) if action is not None else None

    async def pause_passes(self) -> None:
        assert self.paused is not None
        _seconds, action = self.paused
        self.paused = None
        await action()

    async def play_out(self) -> None:
        actions, self.pending = self.pending, []
        for action in actions:
            await action()

    @property
    def reply(self) -> list[str]:
        """Everything said back to the caller's last input (an answer may be said in
        more than one utterance: its first part starts playing while the rest is known)."""
        return [text for said in self.said[self.since_input :] for text in said]

    @property
    def last(self) -> str:
        return " ".join(self.reply)


@dataclass
class Dialogue(CallDialogue):
    """The dialogue, telling the output where each of the caller's inputs begins."""

    async def begin(self) -> None:
        self._input()
        await super().begin()

    async def on_key(self, digit: str) -> None:
        self._input()
        await super().on_key(digit)

    async def on_heard(self, heard: Heard) -> None:
        self._input()
        await super().on_heard(heard)

    async def on_silence(self) -> None:
        self._input()
        await super().on_silence()

    def _input(self) -> None:
        assert isinstance(self.out, FakeOutput)
        self.out.since_input = len(self.out.said)


@pytest.fixture
def parts() -> tuple[CallDialogue, FakeActions, FakeOutput]:
    actions, out = FakeActions(), FakeOutput()
    return Dialogue(menu=MENU, actions=actions, out=out), actions, out


def heard(text: str, confidence: float = 0.95, recognised: bool = True) -> Heard:
    return Heard(
        text=text, confidence=confidence, mode="free", speech_ended_at=0.0, recognised=recognised
    )


async def test_greeting_reads_the_keypad_menu(parts) -> None:
    dialogue, _, out = parts
    await dialogue.begin()
    menu = " ".join(out.said[0])  # numbers as they are said: "일 번", not "1번"
    assert "일 번 서류와 증명서" in menu and "오 번 나에게 맞는 안내" in menu
    assert "영 번은 상담원" in menu
    assert "별표는 뒤로" in menu and "우물 정은 다시 듣기" in menu and "팔 번은 천천히" in menu
    assert out.said[1] == ["For English, press 7."]  # said in the other language's voice
    assert len(dialogue.menu) == 5


async def test_menu_digits_open_submenus_down_to_a_service(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_key("1")
    assert out.last.startswith("서류와 증명서입니다. 일 번 주민등록")
    assert "뒤로 가시려면 별표" in out.last and actions.asked == []
    await dialogue.on_key("1")
    assert out.last.startswith("주민등록입니다. 일 번 등본과 초본, 이 번 주민등록증 재발급")
    await dialogue.on_key("1")
    assert actions.asked == [("등본과 초본", "/service_resident_registration_copy", False)]
    assert "정부이사" in out.last and "처음 메뉴는 구 번" in out.last
    assert dialogue.turns == 1


async def test_star_goes_back_a_level_and_nine_to_the_first_menu(parts) -> None:
    dialogue, _, out = parts
    for key in "12":
        await dialogue.on_key(key)
    assert out.last.startswith("가족과 인감입니다")
    await dialogue.on_key("*")
    assert out.last.startswith("서류와 증명서입니다")
    await dialogue.on_key("*")
    assert "일 번 서류와 증명서" in out.last and dialogue.level == MENU
    await dialogue.on_key("*")  # at the top: the first menu again
    assert "일 번 서류와 증명서" in out.last
    for key in "31":
        await dialogue.on_key(key)
    await dialogue.on_key("9")
    assert dialogue.level == MENU and "일 번 서류와 증명서" in out.last


@pytest.mark.parametrize(("keys", "node"), list(leaves(MENU)), ids=lambda v: str(v)[:40])
async def test_every_leaf_of_the_tree_is_reached_by_keypad(
    keys: str, node: object, parts: tuple[CallDialogue, FakeActions, FakeOutput]
) -> None:
    dialogue, actions, _ = parts
    for key in keys:
        await dialogue.on_key(key)
    assert len(actions.asked) == 1
    assert actions.asked[0][1] == node.payload  # type: ignore[attr-defined]


def test_the_tree_reaches_every_service_the_checklists_and_the_screenings() -> None:
    reached = {node.payload for _keys, node in leaves(MENU)}
    catalog = load_catalog()
    assert {f"/service_{s.id}" for s in catalog} <= reached
    assert {f"/package_{p}" for p in catalog.packages} <= reached
    assert {"/screen_elderly", "/screen_disabled", "/screen_mothers_newborns"} <= reached
    assert all(len(keys) <= 3 for keys, _node in leaves(MENU))


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


async def test_whisper_is_trusted_on_its_own_scale_and_confirmed_only_when_asked(parts) -> None:
    dialogue, actions, out = parts
    # Whisper's token probabilities run lower than Vosk's word confidences: 0.6 from
    # Whisper is acted on (the second pass decided it was sure), not confirmed.
    sure = replace(heard("기초연금 신청하고 싶어요", confidence=0.6), engine="whisper")
    await dialogue.on_heard(sure)
    assert actions.asked == [("기초연금 신청하고 싶어요", None, False)]
    assert out.modes == []
    # Over budget, or Whisper unsure: confirmed whatever the confidence says.
    forced = replace(heard("등본 떼고 싶어요", confidence=0.99), confirm=True)
    await dialogue.on_heard(forced)
    assert dialogue.state is State.CONFIRM and out.modes == ["yes_no"]
    assert "'등본 떼고 싶어요'라고 하셨나요?" in out.last


def test_the_phrases_vosk_may_decide_alone_follow_the_menu_and_the_choices(parts) -> None:
    dialogue, _, _ = parts
    phrases = dialogue.instant_phrases()
    assert {"서류와 증명서", "복지와 수당", "네", "아니요", "다시", "천천히", "삼번"} <= phrases
    assert "장애인 연금" not in phrases
    dialogue.choices = ("장애인 연금", "기초연금")
    assert "장애인 연금" in dialogue.instant_phrases()


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
    assert "번호를 눌러 주세요. 일 번 서류와 증명서" in out.last


async def test_hash_repeats_and_eight_slows_down(parts) -> None:
    dialogue, actions, out = parts
    for key in "111":
        await dialogue.on_key(key)
    answer = out.reply  # the answer, then what the caller may do next
    assert len(answer) == 2
    await dialogue.on_key("#")
    assert out.said[-1] == answer
    await dialogue.on_key("8")
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
    # The caller ID is read back (its last four digits, one by one) and confirmed first.
    assert dialogue.state is State.CALLBACK_NUMBER and "끝자리 오 육 칠 팔 번" in out.last
    assert not any(done.startswith("callback") for done in actions.done)
    await dialogue.on_key("1")
    assert "callback:+821012345678" in actions.done and "다시 전화드릴게요" in out.last
    await out.play_out()
    assert actions.done[-1] == "hang_up"


async def _offered_a_call_back(
    dialogue: CallDialogue, actions: FakeActions, out: FakeOutput
) -> None:
    actions.transfer_ok = False
    actions.replies = [DialogueReply(texts=("…",), handoff="person")]
    await dialogue.on_key("0")
    await dialogue.on_key("1")
    await out.play_out()
    await dialogue.on_key("2")


async def test_a_caller_keys_another_number_for_the_call_back(parts) -> None:
    dialogue, actions, out = parts
    await _offered_a_call_back(dialogue, actions, out)
    await dialogue.on_key("2")  # another number
    assert dialogue.state is State.CALLBACK_DIGITS and "우물 정" in out.last
    for digit in "0212":
        await dialogue.on_key(digit)
    await dialogue.on_key("#")  # too short to be a number
    assert "번호가 맞지 않아요" in out.last and dialogue.state is State.CALLBACK_DIGITS
    for digit in "01055554444#":
        await dialogue.on_key(digit)
    assert "callback:+821055554444" in actions.done
    assert "끝자리 사 사 사 사 번으로 다시 전화드릴게요" in out.last


async def test_a_withheld_number_is_keyed_and_wrong_numbers_end_at_the_offer(parts) -> None:
    dialogue, actions, out = parts
    actions.caller = None  # caller ID withheld
    await _offered_a_call_back(dialogue, actions, out)
    assert dialogue.state is State.CALLBACK_DIGITS and "우물 정" in out.last
    for _ in range(3):
        await dialogue.on_key("1")
        await dialogue.on_key("#")
    assert dialogue.state is State.OFFER and "이 번을 누르시면 상담원이" in out.last
    assert not any(done.startswith("callback") for done in actions.done)


async def test_yes_said_aloud_confirms_the_caller_id(parts) -> None:
    dialogue, actions, out = parts
    await _offered_a_call_back(dialogue, actions, out)
    await dialogue.on_heard(heard("네"))
    assert "callback:+821012345678" in actions.done


async def test_a_call_back_that_was_not_taken_is_never_promised(parts) -> None:
    dialogue, actions, out = parts
    actions.transfer_ok = False
    actions.callback_ok = False  # the request queue is full (review H2)
    actions.replies = [DialogueReply(texts=("…",), handoff="person")]
    await dialogue.on_key("0")
    await dialogue.on_key("1")
    await out.play_out()
    await dialogue.on_key("2")
    await dialogue.on_key("1")  # this number
    assert "다시 전화드릴게요" not in out.last
    assert "전화 예약을 받을 수 없어요" in out.last and "일공칠번" in out.last  # 107, spoken
    assert dialogue.handoff != "callback"
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
    for key in "111":
        await dialogue.on_key(key)
    assert actions.asked[-1] == ("registration copy", "/service_resident_registration_copy", False)


async def test_another_key_leaves_the_yes_no_question_and_listens_freely_again(parts) -> None:
    dialogue, actions, out = parts
    await dialogue.on_heard(heard("무엇", confidence=0.3))
    assert out.modes == ["yes_no"]
    await dialogue.on_key("9")
    assert dialogue.state is State.MENU and out.modes == ["yes_no", "free"]
    assert actions.asked == [] and "일 번 서류와 증명서" in out.last


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
    assert dialogue.state is State.MENU and "일 번 서류와 증명서" in out.last
    assert actions.asked == []


async def test_more_than_five_choices_are_heard_four_at_a_time(parts) -> None:
    dialogue, actions, out = parts
    titles = ("전입", "등본", "확정일자", "우편", "자동차", "학교", "건강보험")
    actions.replies = [DialogueReply(texts=("고르세요.",), choices=titles)]
    await dialogue.on_heard(heard("이사했어요"))
    assert "사 번 우편, 오 번 다른 선택" in out.last and "자동차" not in out.last
    await dialogue.on_key("5")
    assert "일 번 자동차, 이 번 학교, 삼 번 건강보험" in out.last
    await dialogue.on_key("2")
    assert actions.asked[-1] == ("6", None, False)  # the sixth quick reply of the answer


async def test_screening_questions_by_keypad_one_yes_two_no_three_not_sure(parts) -> None:
    dialogue, actions, out = parts
    question = DialogueReply(texts=("혼자 사세요?",), choices=("네", "아니요", "모르겠어요"))
    actions.replies = [question, question, question]
    for key in "524":  # for you → services for older people; then the first question
        await dialogue.on_key(key)
    assert actions.asked == [("어르신 서비스 찾기", "/screen_elderly", False)]
    assert "일 번 네, 이 번 아니요, 삼 번 모르겠어요" in out.last
    await dialogue.on_key("3")
    assert actions.asked[-1] == ("3", None, False)


async def test_a_number_the_question_asks_for_is_typed_and_ends_with_a_pause(parts) -> None:
    dialogue, actions, out = parts
    actions.replies = [DialogueReply(texts=("나이가 어떻게 되세요?",))]
    actions.wants_number = True
    await dialogue.on_heard(heard("어르신 서비스 찾아 주세요"))
    # The question is spoken first; the keypad hint follows once Rasa said what it wants.
    assert out.said[-2] == ["나이가 어떻게 되세요?"]
    assert dialogue.state is State.NUMBER and "번호를 눌러 주세요" in out.last
    for key in "70":  # 0 is a digit here, not "a person"
        await dialogue.on_key(key)
    assert out.paused is not None and out.paused[0] == 2.0 and actions.asked[-1][0] != "70"
    await out.pause_passes()
    assert actions.asked[-1] == ("70", None, False)
    # Star clears what was typed.
    actions.replies = [DialogueReply(texts=("아기는 몇 개월이에요?",))]
    await dialogue.on_heard(heard("다시 할게요 처음부터"))
    await dialogue.on_key("1")
    await dialogue.on_key("*")
    assert out.paused is None and dialogue._digits == ""
