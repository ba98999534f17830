"""What the phone line itself says: the menu, reprompts, confirmations, handoff.

Everything else a caller hears is the dialogue's answer, the same as on every channel.
Short sentences, one instruction each, the key named every time: callers may be
elderly, may not hear well, and cannot scroll back. ``{placeholders}`` are filled by
``prompt``; ``sotong lint`` checks these texts like every other citizen-facing text.
"""

from __future__ import annotations

from assistant.language import Language

_PROMPTS: dict[str, dict[Language, str]] = {
    "welcome": {
        "ko": "안녕하세요. 민원 안내 소통입니다.",
        "en": "Hello. This is Sotong, the public service helper.",
    },
    "menu": {
        "ko": (
            "말씀하시거나 번호를 누르세요. {options}. "
            "0번은 상담원이나 수어 통역입니다. "
            "별표는 뒤로, 우물 정은 다시 듣기, 8번은 천천히 듣기입니다."
        ),
        "en": (
            "Say what you need, or press a number. {options}. "
            "0 for a person or sign language. Star to go back. Hash to repeat. "
            "8 to hear it slowly."
        ),
    },
    "submenu": {
        "ko": "{title}입니다. {options}. 뒤로 가시려면 별표를 누르세요.",
        "en": "{title}. {options}. Press star to go back.",
    },
    "more_choices": {"ko": "다른 선택", "en": "more choices"},
    "number_keys": {
        "ko": "숫자로 말씀하시거나 번호를 눌러 주세요. 다 누르시면 잠시 기다려 주세요.",
        "en": "Say the number, or type it on the keypad. Then wait a moment.",
    },
    "english_offer": {
        "ko": "For English, press 7.",
        "en": "한국어는 7번을 누르세요.",
    },
    "english_unavailable": {
        "ko": "",
        "en": (
            "Sorry, this line cannot understand spoken English yet. "
            "Please use the keypad. Or press 6, and we will text you a link to chat in English."
        ),
    },
    "option": {"ko": "{number}번 {title}", "en": "{number} for {title}"},
    "choices": {
        "ko": "번호를 눌러 고르셔도 됩니다. {options}.",
        "en": "You can also press a number. {options}.",
    },
    "after_answer": {
        "ko": "더 궁금한 것이 있으면 말씀해 주세요. 처음 메뉴는 9번입니다.",
        "en": "If you have another question, say it now. Press 9 for the menu.",
    },
    "slower": {
        "ko": "네, 천천히 말씀드릴게요. 말씀하실 때도 천천히 하셔도 됩니다.",
        "en": "Yes, I will speak more slowly. Take your time when you speak, too.",
    },
    "confirm": {
        "ko": "'{heard}'라고 하셨나요? 맞으면 '네', 아니면 '아니요'라고 해 주세요. "
        "1번은 네, 2번은 아니요입니다.",
        "en": "Did you say '{heard}'? Say yes or no. Press 1 for yes, 2 for no.",
    },
    # Said when the answer is slow to come: short, because the answer waits behind it.
    "one_moment": {"ko": "네.", "en": "Okay."},
    "confirm_again": {
        "ko": "'네' 또는 '아니요'로 답해 주세요. 1번은 네, 2번은 아니요입니다.",
        "en": "Please answer yes or no. Press 1 for yes, 2 for no.",
    },
    "not_heard": {
        "ko": "잘 듣지 못했어요. 다시 말씀해 주시거나 번호를 눌러 주세요.",
        "en": "Sorry, I did not catch that. Please say it again, or press a number.",
    },
    "try_keys": {
        "ko": "말씀을 알아듣기 어려워요. 번호를 눌러 주세요. {options}. 0번은 상담원입니다.",
        "en": "I am having trouble understanding. Please press a number. {options}. "
        "Press 0 for a person.",
    },
    "trouble": {
        "ko": "죄송합니다. 잠깐 문제가 생겼어요. 다시 말씀해 주시거나 번호를 눌러 주세요.",
        "en": "Sorry, something went wrong. Please say it again, or press a number.",
    },
    "silence": {
        "ko": "말씀이 없으셔서 다시 안내해 드릴게요.",
        "en": "I did not hear anything. Here it is again.",
    },
    "offer_text": {
        "ko": (
            "전화로 말씀하시기 어려우시면 도와드릴게요. "
            "1번을 누르시면 안내 링크를 문자로 보내 드립니다. "
            "2번을 누르시면 상담원이 다시 전화드립니다."
        ),
        "en": (
            "If talking on the phone is hard, we can help another way. "
            "Press 1 and we will text you a link. "
            "Press 2 and a person will call you back."
        ),
    },
    "person_menu": {
        "ko": (
            "상담원과 바로 통화하시려면 1번을 누르세요. "
            "수어 통역이 필요하시면 2번을 누르세요. 링크를 문자로 보내 드립니다. "
            "돌아가시려면 별표를 누르세요."
        ),
        "en": (
            "Press 1 to talk to a person now. "
            "Press 2 for sign language help. We will text you a link. "
            "Press star to go back."
        ),
    },
    "transferring": {
        "ko": "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요.",
        "en": "I am connecting you to a person. Please wait.",
    },
    "no_transfer": {
        "ko": (
            "지금은 전화로 바로 연결해 드릴 수 없어요. "
            "2번을 누르시면 상담원이 다시 전화드립니다. "
            "급하시면 110번 정부민원안내콜센터로 전화해 주세요."
        ),
        "en": (
            "I cannot connect you by phone right now. "
            "Press 2 and a person will call you back. "
            "If it is urgent, call 110, the government help line."
        ),
    },
    "link_sent": {
        "ko": "문자를 보냈어요. 링크를 누르시면 이 대화를 이어서 하실 수 있어요.",
        "en": "We sent you a text. Open the link to go on with this conversation.",
    },
    "sign_link_sent": {
        "ko": (
            "수어 통역을 요청했어요. 문자로 링크를 보냈어요. "
            "링크에서 이 대화를 이어 가며 통역사를 기다리실 수 있어요. "
            "107 손말이음센터 영상전화도 언제든 쓰실 수 있어요."
        ),
        "en": (
            "I asked for a sign language interpreter and texted you a link. "
            "Open it to go on with this conversation while you wait. "
            "You can also video call 107, the sign language relay service, any time."
        ),
    },
    "link_failed": {
        "ko": "죄송해요. 지금은 문자를 보낼 수 없어요. 2번을 누르시면 상담원이 다시 전화드립니다.",
        "en": "Sorry, I cannot send a text right now. Press 2 and a person will call you back.",
    },
    # The caller's number may not be texted from a call (review L10: not a mobile
    # number, or past its texts for the day).
    "link_refused": {
        "ko": (
            "죄송해요. 이 번호로는 문자를 보낼 수 없어요. "
            "2번을 누르시면 상담원이 다시 전화드립니다."
        ),
        "en": (
            "Sorry, I cannot send a text to this number. Press 2 and a person will call you back."
        ),
    },
    "callback_this_number": {
        "ko": (
            "지금 거신 번호, 끝자리 {last_four}번으로 다시 전화드릴까요? "
            "맞으면 1번, 다른 번호로 받으시려면 2번을 누르세요."
        ),
        "en": (
            "Shall we call you back on the number you are calling from, ending {last_four}? "
            "Press 1 for yes. Press 2 for another number."
        ),
    },
    "callback_key_number": {
        "ko": "전화받으실 번호를 누르시고, 마지막에 우물 정을 눌러 주세요.",
        "en": "Type the number we should call, then press hash.",
    },
    "callback_bad_number": {
        "ko": "전화번호가 맞지 않아요. 처음부터 다시 눌러 주세요.",
        "en": "That is not a phone number. Please type it again from the start.",
    },
    "callback_booked_to": {
        "ko": "상담원이 끝자리 {last_four}번으로 다시 전화드릴게요. 전화를 끊으셔도 됩니다.",
        "en": "A person will call you back on the number ending {last_four}. You can hang up now.",
    },
    "transfer_failed_callback": {
        "ko": (
            "담당자와 연결되지 않았습니다. 담당자가 끝자리 {last_four}번으로 "
            "다시 전화드리겠습니다. 전화를 끊으셔도 됩니다."
        ),
        "en": (
            "Nobody could take the call. A person will call you back on the number "
            "ending {last_four}. You can hang up now."
        ),
    },
    "transfer_failed": {
        "ko": "담당자와 연결되지 않았습니다. 죄송합니다. 잠시 후 다시 전화해 주세요.",
        "en": "Sorry, nobody could take the call. Please call again later.",
    },
    "callback_refused": {
        "ko": (
            "죄송해요. 지금은 기다리는 분이 너무 많아 전화 예약을 받을 수 없어요. "
            "잠시 후 다시 전화 주세요. 수어 통역은 107번에서 언제나 받을 수 있어요."
        ),
        "en": (
            "Sorry, too many people are waiting to book a call back now. Please call again "
            "later. Sign language relay is always on 107."
        ),
    },
    "goodbye": {
        "ko": "전화 주셔서 고맙습니다. 언제든 다시 전화 주세요.",
        "en": "Thank you for calling. Call again any time.",
    },
    "line_unavailable": {
        "ko": (
            "죄송합니다. 지금은 전화 안내를 할 수 없습니다. "
            "잠시 후 다시 걸어 주시거나 110번 정부민원안내콜센터로 전화해 주세요."
        ),
        "en": (
            "Sorry, this line cannot help right now. "
            "Please call again later, or call 110, the government help line."
        ),
    },
    "line_busy": {
        "ko": (
            "죄송합니다. 지금은 전화가 많아 연결할 수 없습니다. "
            "곧 문자로 안내를 보내 드릴게요. 문자로 물어보셔도 바로 답해 드립니다."
        ),
        "en": (
            "Sorry, all our lines are busy. We will send you a text message now. "
            "You can also ask us by text."
        ),
    },
    # The same, when no text may go to the caller's number (review L10).
    "line_busy_no_text": {
        "ko": (
            "죄송합니다. 지금은 전화가 많아 연결할 수 없습니다. "
            "잠시 후 다시 걸어 주세요. 문자로 물어보셔도 바로 답해 드립니다."
        ),
        "en": (
            "Sorry, all our lines are busy. Please call again later. You can also ask us by text."
        ),
    },
    # Texted to a caller the busy line could not take (review M10).
    "sms_line_busy": {
        "ko": (
            "소통 민원 도우미입니다. 방금은 전화가 많아 연결하지 못했습니다. "
            "궁금한 민원을 이 번호로 문자로 보내시면 바로 답해 드립니다. 다시 전화 주셔도 됩니다."
        ),
        "en": (
            "This is Sotong. Our lines were busy when you called. Text your question to "
            "this number and we answer at once, or call again."
        ),
    },
    "sms_continue": {
        "ko": "소통 안내를 이어서 보시려면 이 링크를 누르세요: {link}",
        "en": "To go on with Sotong, open this link: {link}",
    },
    "sms_sign_language": {
        "ko": (
            "소통: 수어 통역을 요청하셨어요. 통역사를 기다리며 여기서 대화를 이어 가세요.\n"
            "{link}\n107 손말이음센터(영상전화)도 이용하실 수 있어요."
        ),
        "en": (
            "Sotong: you asked for a sign language interpreter. Wait for them and go on here.\n"
            "{link}\nYou can also video call 107, the relay service."
        ),
    },
}


def prompt(key: str, language: Language, **values: object) -> str:
    """The text of ``key`` in ``language`` with its placeholders filled."""
    return _PROMPTS[key][language].format(**values)


def all_prompts() -> list[tuple[str, str, str]]:
    """(key, language, text) of every prompt, for the plain-language check."""
    return [
        (key, language, text)
        for key, texts in _PROMPTS.items()
        for language, text in texts.items()
        if text
    ]
